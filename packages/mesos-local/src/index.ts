// @spark-mesos/mesos-local: a Mesos master and agents in this process, speaking Mesos' v1 HTTP API.

export { parseCredentials, readCredentialsFile } from './credentials.js';
export {
  type AgentFetcherOptions,
  createFetcherCache,
  DEFAULT_FETCHER_STALL_TIMEOUT_MS,
  type FetchedUri,
  type FetcherCache,
  type FetchUrisOptions,
  fetchUris,
  type UriFetcher,
} from './fetcher.js';
export {
  type LocalCluster,
  type LocalClusterAgent,
  type LocalClusterHooks,
  type LocalClusterMaster,
  type LocalClusterOptions,
  startLocalCluster,
} from './local-cluster.js';
export { MASTER_NODE_PREFIX, masterInfoJson } from './master-election.js';
export {
  type FrameworkCredential,
  type LeaderAddress,
  type MasterHttpOptions,
  SCHEDULER_AUTHENTICATION_REALM,
} from './master-http.js';
export {
  addResources,
  DEFAULT_AGENT_RESOURCES,
  parseAttributes,
  parseResources,
  resourceQuantities,
  subtractResources,
} from './resources.js';
