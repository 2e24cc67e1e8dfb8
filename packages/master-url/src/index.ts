export type { MasterDetectorOptions } from './create-master-detector.js';
export { createMasterDetector } from './create-master-detector.js';
export type { FormatMasterUrlOptions } from './format-master-url.js';
export { formatMasterUrl } from './format-master-url.js';
export type { MaskedMasterUrl } from './mask-master-url.js';
export { maskMasterUrl } from './mask-master-url.js';
export type {
  DetectOptions,
  LeaderListener,
  Logger,
  MasterAddress,
  MasterDetector,
} from './master-detector.js';
export { defaultLogger } from './master-detector.js';
export { ipFromMasterInfo, parseMasterInfo } from './master-info.js';
export type {
  LocalClusterMasterUrl,
  LocalMasterUrl,
  MasterScheme,
  MasterUrl,
  MesosMasterUrl,
  StaticMaster,
  ZooKeeperDigestAuth,
  ZooKeeperMaster,
  ZooKeeperServer,
} from './master-url.js';
export { DEFAULT_MESOS_PORT, DEFAULT_ZOOKEEPER_PORT } from './master-url.js';
export { ACCEPTED_MASTER_URL_FORMS, parseMasterUrl } from './parse-master-url.js';
export type { Contender, ContenderLabel } from './select-leader.js';
export { parseContender, selectLeader } from './select-leader.js';
export { createStaticDetector } from './static-detector.js';
export type {
  CreateZooKeeperClient,
  ZooKeeperClientOptions,
  ZooKeeperDetectorOptions,
} from './zookeeper-detector.js';
export { createZooKeeperDetector } from './zookeeper-detector.js';
