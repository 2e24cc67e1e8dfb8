import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparkMesosError } from '@spark-mesos/errors';
import type { MasterAddress, MasterDetector } from '@spark-mesos/master-url';
import { LocalAgent } from './agent.js';
import { type AgentFetcherOptions, agentFetcherOptions } from './fetcher.js';
import { LocalMaster } from './master.js';
import { type MasterRegistration, parseZooKeeperUrl, registerMaster, watchLeader } from './master-election.js';
import { createMasterHttpHandler, type FrameworkCredential } from './master-http.js';
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
  /**
   * Framework authentication (Mesos' `--authenticate_http_frameworks` with `basic` and
   * `--credentials`): scheduler API calls must carry `Authorization: Basic` with one of these.
   * @default undefined (no authentication)
   */
  readonly credentials?: readonly FrameworkCredential[];
  /**
   * Mesos' `--zk`, e.g. `zk://127.0.0.1:2181/mesos`: every master registers there and the
   * elected one serves; `masterUrl` is then `mesos://zk://…`. @default undefined (no ZooKeeper)
   */
  readonly zookeeper?: string;
  /**
   * Number of masters: HTTP front-ends of one shared master state, each on its own port
   * (`port`, `port + 1`… or free ones), of which the ZooKeeper-elected one serves. More than one
   * needs `zookeeper`. @default 1
   */
  readonly masters?: number;
  /** ZooKeeper session timeout of each master, in milliseconds. @default 10000 */
  readonly zookeeperSessionTimeoutMs?: number;
}

/** A master (HTTP front-end) of a {@link LocalCluster}. */
export interface LocalClusterMaster {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Its port. */
  readonly port: number;
  /** Its ZooKeeper node (`/mesos/json.info_0000000000`), when registered there. */
  readonly zookeeperNode: string | undefined;
  /** Whether it is the elected master (always true without ZooKeeper). */
  leading(): boolean;
  /**
   * Stops this master as if its process were killed: its ZooKeeper session closes (its node
   * vanishes and the next master is elected) and its connections drop. The shared state
   * (frameworks, tasks, agents) lives on for the new leader. Idempotent.
   */
  stop(): Promise<void>;
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
  /** `mesos://127.0.0.1:<port>`, or `mesos://zk://…` with `zookeeper`, for a scheduler client. */
  readonly masterUrl: string;
  /** `http://127.0.0.1:<port>` of the first master, for an operator client. */
  readonly httpUrl: string;
  /** The master id. */
  readonly masterId: string;
  /** The agents. */
  readonly agents: readonly LocalClusterAgent[];
  /** The masters, in registration order (the first is elected first). */
  readonly masters: readonly LocalClusterMaster[];
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
  const masterCount = options.masters ?? 1;
  const zookeeper = options.zookeeper === undefined ? undefined : parseZooKeeperUrl(options.zookeeper);
  if (!Number.isInteger(masterCount) || masterCount < 1 || (masterCount > 1 && zookeeper === undefined)) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `masters must be a whole number ≥ 1, and more than 1 needs zookeeper (zk://host:port/path), got masters ${masterCount}.`,
      { cause: { masters: masterCount, zookeeper: options.zookeeper } },
    );
  }
  const fronts = Array.from({ length: masterCount }, () => new MasterFront());
  let leader: MasterAddress | undefined;
  // The front-end the shared state serves as (0 until the cluster has started).
  let masterPort = 0;
  let detector: MasterDetector | undefined;
  const leaderOf = (front: MasterFront): 'self' | MasterAddress | undefined =>
    zookeeper === undefined || (leader !== undefined && leader.port === front.port) ? 'self' : leader;
  for (const front of fronts) {
    front.server = createServer(
      createMasterHttpHandler(master, {
        port: () => front.port,
        leader: () => {
          const elected = leaderOf(front);
          return elected === undefined || elected === 'self'
            ? elected
            : { hostname: elected.hostname ?? elected.host, port: elected.port };
        },
        detached: () => front.stopped,
        ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      }),
    );
    // Never close idle connections, as libprocess: Mesos' C++ scheduler library keeps one open
    // for its calls and takes its loss for a lost master.
    front.server.keepAliveTimeout = 0;
  }
  const stopAll = async (): Promise<void> => {
    master.stop();
    await detector?.close().catch(() => {});
    await Promise.all(agents.map((agent) => agent.stop()));
    await Promise.all(fronts.map((front) => front.stop()));
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
    for (const [index, front] of fronts.entries()) {
      const port = options.port === undefined || options.port === 0 ? 0 : options.port + index;
      await front.listen(port);
    }
    if (zookeeper !== undefined) {
      const sessionTimeoutMs = options.zookeeperSessionTimeoutMs ?? 10_000;
      // In order, so the first master has the lowest sequence and is elected first.
      for (const front of fronts) {
        const info = { ...master.masterInfo(), port: front.port, pid: `master@127.0.0.1:${front.port}` };
        front.registration = await registerMaster({
          zookeeper,
          masterInfo: { ...info, address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: front.port } },
          sessionTimeoutMs,
        });
      }
      const elected = watchLeader(
        zookeeper,
        (address) => {
          leader = address;
          // The shared state follows the newly elected front-end (see LocalMaster.failover).
          if (address !== undefined && masterPort !== 0 && address.port !== masterPort) {
            masterPort = address.port;
            master.failover({ port: address.port });
          }
        },
        sessionTimeoutMs,
      );
      detector = elected;
      leader = await elected.detect();
    }
  } catch (error) {
    await stopAll().catch(() => {});
    throw new SparkMesosError('SM_ERR_LOCAL_CLUSTER', `Cannot start the local cluster: ${(error as Error).message}`, {
      cause: error,
    });
  }
  masterPort = leader?.port ?? (fronts[0] as MasterFront).port;
  master.start(masterPort);
  const port = (fronts[0] as MasterFront).port;
  let stopping: Promise<void> | undefined;
  return {
    masterUrl: options.zookeeper === undefined ? `mesos://127.0.0.1:${port}` : `mesos://${options.zookeeper}`,
    httpUrl: `http://127.0.0.1:${port}`,
    masterId,
    agents: agents.map((agent) => ({ id: agent.id, url: agent.url })),
    masters: fronts.map((front) => ({
      url: `http://127.0.0.1:${front.port}`,
      port: front.port,
      zookeeperNode: front.registration?.node,
      leading: () => leaderOf(front) === 'self',
      stop: () => front.stop(),
    })),
    workDir,
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}

/** One master HTTP front-end: its server and ZooKeeper registration. */
class MasterFront {
  server: Server | undefined;
  registration: MasterRegistration | undefined;
  stopped = false;
  #stopping: Promise<void> | undefined;

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const server = this.server as Server;
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.#stopping ??= (async () => {
      await this.registration?.withdraw();
      const server = this.server;
      if (server?.listening) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    })();
    return this.#stopping;
  }
}
