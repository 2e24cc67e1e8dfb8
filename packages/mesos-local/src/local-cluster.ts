import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparkMesosError } from '@spark-mesos/errors';
import { LocalAgent } from './agent.js';
import { type AgentFetcherOptions, agentFetcherOptions } from './fetcher.js';
import { LocalMaster } from './master.js';
import { createMasterHttpHandler } from './master-http.js';
import { DEFAULT_AGENT_RESOURCES, parseAttributes, parseResources } from './resources.js';

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** Number of agents. @default 1 */
  readonly agents?: number;
  /** Resources of each agent, in Mesos' `--resources` syntax. @default 'cpus:4;mem:4096;disk:10000;ports:[31000-32000]' */
  readonly resources?: string;
  /** Attributes of each agent, in Mesos' `--attributes` syntax (`rack:r1;zone:a`). @default none */
  readonly attributes?: string;
  /** The master's port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Seconds between HEARTBEAT events. @default 15 */
  readonly heartbeatIntervalSeconds?: number;
  /** Milliseconds between allocation (offer) cycles. @default 1000 */
  readonly allocationIntervalMs?: number;
  /** Where sandboxes live. @default a new temporary directory, removed by `stop()` */
  readonly workDir?: string;
  /** Re-send period of an unacknowledged status update, in milliseconds. @default 10000 */
  readonly statusUpdateRetryMs?: number;
  /**
   * The agents' fetcher: `fetchers` for URI schemes beyond file/http/https (s3, hdfs, …), the cache
   * directory (each agent gets its own below it). @default file/http/https, cache in each agent's work dir
   */
  readonly fetcher?: AgentFetcherOptions;
  /**
   * How long a custom executor has to SUBSCRIBE before it is killed and its tasks fail with
   * REASON_EXECUTOR_REGISTRATION_TIMEOUT, in milliseconds. @default 60000 (Mesos' 1mins)
   */
  readonly executorRegistrationTimeoutMs?: number;
  /**
   * Time between SHUTDOWN and the kill of a custom executor's process group when its
   * ExecutorInfo has no `shutdown_grace_period`, in milliseconds. @default 5000 (Mesos' 5secs)
   */
  readonly executorShutdownGracePeriodMs?: number;
  /**
   * Period of the memory check of each container (its process group's resident memory against
   * its `mem`), in milliseconds; 0 disables it. @default 1000
   */
  readonly memoryCheckIntervalMs?: number;
}

/** An agent of a {@link LocalCluster}. */
export interface LocalClusterAgent {
  /** Agent id, `<masterId>-S<n>`. */
  readonly id: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
}

/** A running local cluster. */
export interface LocalCluster {
  /** `mesos://127.0.0.1:<port>`, for a scheduler client. */
  readonly masterUrl: string;
  /** `http://127.0.0.1:<port>`, for an operator client. */
  readonly httpUrl: string;
  /** The master id. */
  readonly masterId: string;
  /** The agents. */
  readonly agents: readonly LocalClusterAgent[];
  /** The work directory. */
  readonly workDir: string;
  /** Kills every task (whole process groups), closes every server and stream. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a Mesos master and `agents` agents in this process, speaking Mesos' v1 HTTP API on
 * 127.0.0.1: code that works against it works unchanged against a real Mesos 1.x master.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for a bad option, `SM_ERR_BAD_RESOURCES` /
 *   `SM_ERR_BAD_ATTRIBUTES` for unparsable resources or attributes
 * @example
 * const cluster = await startLocalCluster({ agents: 2 });
 * // createSchedulerClient({ master: cluster.masterUrl, ... })
 * await cluster.stop();
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const agentCount = options.agents ?? 1;
  if (!Number.isInteger(agentCount) || agentCount < 0) {
    throw new SparkMesosError('SM_ERR_BAD_CONFIG', `agents must be a whole number ≥ 0, got ${agentCount}.`, {
      cause: { agents: agentCount },
    });
  }
  const resources = parseResources(options.resources ?? DEFAULT_AGENT_RESOURCES);
  const attributes = options.attributes === undefined ? [] : parseAttributes(options.attributes);
  const ownWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'mesos-local-'));
  const masterId = randomUUID();
  const master = new LocalMaster({
    id: masterId,
    ...(options.heartbeatIntervalSeconds === undefined
      ? {}
      : { heartbeatIntervalSeconds: options.heartbeatIntervalSeconds }),
    ...(options.allocationIntervalMs === undefined ? {} : { allocationIntervalMs: options.allocationIntervalMs }),
  });
  const agents: LocalAgent[] = [];
  const server: Server = createServer(
    createMasterHttpHandler(master, (): number => (server.address() as AddressInfo | null)?.port ?? 0),
  );
  const stopAll = async (): Promise<void> => {
    master.stop();
    await Promise.all(agents.map((agent) => agent.stop()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (ownWorkDir) rmSync(workDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < agentCount; i++) {
      const id = `${masterId}-S${i}`;
      const agent = new LocalAgent({
        id,
        resources,
        attributes,
        workDir: join(workDir, 'agents', id),
        uplink: master,
        ...(options.statusUpdateRetryMs === undefined ? {} : { statusUpdateRetryMs: options.statusUpdateRetryMs }),
        ...(options.fetcher === undefined ? {} : { fetcher: agentFetcherOptions(options.fetcher, id) }),
        ...(options.executorRegistrationTimeoutMs === undefined
          ? {}
          : { executorRegistrationTimeoutMs: options.executorRegistrationTimeoutMs }),
        ...(options.executorShutdownGracePeriodMs === undefined
          ? {}
          : { executorShutdownGracePeriodMs: options.executorShutdownGracePeriodMs }),
        ...(options.memoryCheckIntervalMs === undefined
          ? {}
          : { memoryCheckIntervalMs: options.memoryCheckIntervalMs }),
      });
      agents.push(agent);
      await agent.start();
      master.addAgent(agent);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    await stopAll().catch(() => {});
    throw new SparkMesosError('SM_ERR_LOCAL_CLUSTER', `Cannot start the local cluster: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const port = (server.address() as AddressInfo).port;
  master.start(port);
  let stopping: Promise<void> | undefined;
  return {
    masterUrl: `mesos://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    masterId,
    agents: agents.map((agent) => ({ id: agent.id, url: agent.url })),
    workDir,
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}
