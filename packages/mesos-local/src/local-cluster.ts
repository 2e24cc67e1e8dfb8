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
import { ProcessHold } from './process-hold.js';
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
  /** Removed frameworks kept in `/master/state` (Mesos' `--max_completed_frameworks`). @default 50 */
  readonly maxCompletedFrameworks?: number;
  /** Finished tasks kept per framework (Mesos' `--max_completed_tasks_per_framework`). @default 1000 */
  readonly maxCompletedTasksPerFramework?: number;
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
   * How long a checkpointing framework's executor has to SUBSCRIBE again after its agent
   * restarted (`hooks.restartAgent`), also its `MESOS_SUBSCRIPTION_BACKOFF_MAX` (the agent's
   * `--executor_reregistration_timeout`).
   * @default 2000
   */
  readonly executorReregistrationTimeoutMs?: number;
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

/**
 * Test hooks: faults a real cluster has, on demand. They act on the processes and connections,
 * never on the wire format: what a scheduler sees is what it would see from a real Mesos master
 * in the same situation.
 */
export interface LocalClusterHooks {
  /**
   * Kills agent `agentId`: its task processes die (SIGKILL, whole process groups, no status
   * updates) and its HTTP server closes. The master sees the agent disconnect, as Mesos does:
   * its offers are rescinded (RESCIND) first, then the tasks of frameworks that do not
   * checkpoint become TASK_LOST (REASON_AGENT_DISCONNECTED); tasks of checkpointing frameworks
   * stay until {@link LocalClusterHooks.restartAgent} or
   * {@link LocalClusterHooks.setAgentReachable}. No-op for a killed agent.
   *
   * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for an unknown agent id
   */
  killAgent(agentId: string): Promise<void>;
  /**
   * Restarts agent `agentId` with the same id, resources, work directory and port; it is
   * offered again. A running agent restarts as Mesos' does with `--recover=reconnect`: the
   * containers of frameworks without `checkpoint` are killed (their tasks were TASK_LOST when
   * the agent disconnected), those of checkpointing frameworks keep running and their
   * unacknowledged updates are re-sent; each of their custom executors must SUBSCRIBE again
   * within `executorReregistrationTimeoutMs` (its unacknowledged tasks and updates listed), or
   * it is killed and its unfinished tasks become TASK_GONE (TASK_LOST unless PARTITION_AWARE),
   * REASON_EXECUTOR_REREGISTRATION_TIMEOUT. A killed agent ({@link LocalClusterHooks.killAgent})
   * comes back empty. Tasks the master still has on it that the agent does not report become
   * TASK_DROPPED (PARTITION_AWARE frameworks) or TASK_LOST ("Reconciliation: task unknown to
   * the agent"), as when Mesos reconciles a re-registering agent that lost them.
   *
   * @see https://mesos.apache.org/documentation/latest/agent-recovery/
   *
   * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for an unknown agent id
   */
  restartAgent(agentId: string): Promise<void>;
  /**
   * Partitions agent `agentId` from the master (`false`) or heals the partition (`true`). Its
   * tasks keep running. Unreachable, as when Mesos' health checks of the agent time out (at
   * once here, not after 75 s): offers rescinded, no new ones, its tasks TASK_UNREACHABLE for
   * PARTITION_AWARE frameworks and TASK_LOST for the others (REASON_AGENT_REMOVED), and its
   * status updates held by the agent. Reachable again, as on re-registration: the tasks it
   * still runs belong to their frameworks again (reconciliation reports them) and its held
   * updates are re-sent (every `statusUpdateRetryMs`).
   *
   * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for an unknown agent id
   */
  setAgentReachable(agentId: string, reachable: boolean): void;
  /**
   * Fails the master over: every scheduler event stream is cut (no ERROR event, no final
   * chunk), the master gets a new id and `elected_time`, outstanding offers are forgotten.
   * Frameworks re-subscribe with their id and keep their tasks. As in Mesos, the new master
   * runs no `failover_timeout` for a framework that never comes back (it stays, disconnected,
   * `recovered` in `/master/state`), and forgets which frameworks were removed. With
   * `zookeeper`, this fails the state over in place (the same master keeps leading); to fail
   * over through ZooKeeper, stop the leading master: `cluster.masters[i].stop()`.
   */
  failoverMaster(): void;
  /** Stops sending HEARTBEAT events on every stream (streams stay open) until {@link LocalClusterHooks.resumeHeartbeats}. */
  pauseHeartbeats(): void;
  /** Sends HEARTBEAT events again. */
  resumeHeartbeats(): void;
  /**
   * Cuts the event streams of framework `frameworkId` (every framework's when omitted) as a
   * network failure would: the socket is destroyed, no ERROR event, no final chunk. The
   * framework is disconnected; its `failover_timeout` runs.
   *
   * @returns how many streams were cut
   */
  dropSchedulerConnections(frameworkId?: string): number;
  /** Delays every master response and every event by `ms` milliseconds (0 for none), in order. */
  setLatency(ms: number): void;
}

/** A running local cluster. */
export interface LocalCluster {
  /** `mesos://127.0.0.1:<port>`, or `mesos://zk://…` with `zookeeper`, for a scheduler client. */
  readonly masterUrl: string;
  /** `http://127.0.0.1:<port>` of the first master, for an operator client. */
  readonly httpUrl: string;
  /** The master id (a new one after `hooks.failoverMaster()`). */
  readonly masterId: string;
  /** The agents (a restarted agent keeps its `url`). */
  readonly agents: readonly LocalClusterAgent[];
  /** The masters, in registration order (the first is elected first). */
  readonly masters: readonly LocalClusterMaster[];
  /** The work directory. */
  readonly workDir: string;
  /** Faults on demand, for tests. */
  readonly hooks: LocalClusterHooks;
  /** Kills every task (whole process groups), closes every server and stream. Idempotent. */
  stop(): Promise<void>;
  /**
   * Makes the cluster keep the Node process alive again (the default), after
   * {@link LocalCluster.unref}.
   */
  ref(): void;
  /**
   * Stops the cluster from keeping the Node process alive, as `server.unref()`: its HTTP
   * servers and their connections, the master's allocation and heartbeat timers, and the
   * processes its agents started no longer count (they keep running and serving while
   * something else keeps the process alive). For a program that embeds a cluster and must end
   * when its own work does (a driver's `local-cluster[…]` between jobs). Not covered: the
   * ZooKeeper sessions of `zookeeper` masters.
   */
  unref(): void;
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
  const hold = new ProcessHold();
  const master = new LocalMaster({
    id: masterId,
    hold,
    ...(options.heartbeatIntervalSeconds === undefined
      ? {}
      : { heartbeatIntervalSeconds: options.heartbeatIntervalSeconds }),
    ...(options.allocationIntervalMs === undefined ? {} : { allocationIntervalMs: options.allocationIntervalMs }),
    ...(options.maxCompletedFrameworks === undefined ? {} : { maxCompletedFrameworks: options.maxCompletedFrameworks }),
    ...(options.maxCompletedTasksPerFramework === undefined
      ? {}
      : { maxCompletedTasksPerFramework: options.maxCompletedTasksPerFramework }),
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
  // Each master front-end has its own id, as each Mesos master process has; the first one's is
  // the state's until a failover elects another.
  const fronts = Array.from(
    { length: masterCount },
    (_, index) => new MasterFront(index === 0 ? masterId : randomUUID()),
  );
  let leader: MasterAddress | undefined;
  // The front-end the shared state serves as (0 until the cluster has started).
  let masterPort = 0;
  let detector: MasterDetector | undefined;
  const leaderOf = (front: MasterFront): 'self' | MasterAddress | undefined =>
    zookeeper === undefined || (leader !== undefined && leader.port === front.port) ? 'self' : leader;
  for (const front of fronts) {
    const handler = createMasterHttpHandler(master, {
      port: () => front.port,
      leader: () => {
        const elected = leaderOf(front);
        return elected === undefined || elected === 'self'
          ? elected
          : { hostname: elected.hostname ?? elected.host, port: elected.port };
      },
      detached: () => front.stopped,
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    });
    front.server = createServer((request, response) => {
      const latencyMs = master.latencyMs;
      if (latencyMs > 0) setTimeout(() => handler(request, response), latencyMs);
      else handler(request, response);
    });
    // Never close idle connections, as libprocess: Mesos' C++ scheduler library keeps one open
    // for its calls and takes its loss for a lost master.
    front.server.keepAliveTimeout = 0;
    hold.addServer(front.server);
  }
  const createAgent = (id: string, port?: number): LocalAgent =>
    new LocalAgent({
      id,
      ...(port === undefined ? {} : { port }),
      resources,
      attributes,
      workDir: join(workDir, 'agents', id),
      uplink: master,
      hold,
      ...(options.statusUpdateRetryMs === undefined ? {} : { statusUpdateRetryMs: options.statusUpdateRetryMs }),
      ...(options.fetcher === undefined ? {} : { fetcher: agentFetcherOptions(options.fetcher, id) }),
      ...(options.executorRegistrationTimeoutMs === undefined
        ? {}
        : { executorRegistrationTimeoutMs: options.executorRegistrationTimeoutMs }),
      ...(options.executorReregistrationTimeoutMs === undefined
        ? {}
        : { executorReregistrationTimeoutMs: options.executorReregistrationTimeoutMs }),
      ...(options.executorShutdownGracePeriodMs === undefined
        ? {}
        : { executorShutdownGracePeriodMs: options.executorShutdownGracePeriodMs }),
      ...(options.memoryCheckIntervalMs === undefined ? {} : { memoryCheckIntervalMs: options.memoryCheckIntervalMs }),
    });
  const stopAll = async (): Promise<void> => {
    master.stop();
    await detector?.close().catch(() => {});
    await Promise.all(agents.map((agent) => agent.stop()));
    await Promise.all(fronts.map((front) => front.stop()));
    if (ownWorkDir) rmSync(workDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < agentCount; i++) {
      const agent = createAgent(`${masterId}-S${i}`);
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
        front.registration = await registerMaster({
          zookeeper,
          masterInfo: {
            ...master.masterInfo(),
            id: front.id,
            port: front.port,
            pid: `master@127.0.0.1:${front.port}`,
            address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: front.port },
          },
          sessionTimeoutMs,
        });
      }
      const watcher = watchLeader(
        zookeeper,
        (address) => {
          leader = address;
          const elected = fronts.find((front) => address !== undefined && front.port === address.port);
          if (elected === undefined || masterPort === 0 || elected.port === masterPort) return;
          // The shared state follows the newly elected front-end, with its id (see
          // LocalMaster.failover); streams still open on another front-end are cut, as the
          // connections to a dead master break.
          masterPort = elected.port;
          master.failover({ id: elected.id, port: elected.port });
        },
        sessionTimeoutMs,
      );
      detector = watcher;
      leader = await watcher.detect();
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
  const agentIndex = (agentId: string): number => {
    const index = agents.findIndex((agent) => agent.id === agentId);
    if (index < 0) {
      throw new SparkMesosError(
        'SM_ERR_BAD_CONFIG',
        `No agent "${agentId}" in this cluster: use one of cluster.agents' ids (${agents.map((a) => a.id).join(', ')}).`,
        { cause: { agentId } },
      );
    }
    return index;
  };
  const killAgent = async (agentId: string): Promise<void> => {
    const agent = agents[agentIndex(agentId)] as LocalAgent;
    if (master.agentConnection(agentId) === 'disconnected') return;
    // The master first, so that what the dying agent still reports reaches nobody.
    master.agentDisconnected(agentId);
    await agent.stop();
  };
  const hooks: LocalClusterHooks = {
    killAgent,
    async restartAgent(agentId) {
      const index = agentIndex(agentId);
      const current = agents[index] as LocalAgent;
      if (!current.stopped) {
        // Mesos' --recover=reconnect: the master sees the agent's connection break, then the
        // agent re-registers with what it recovered and re-sends its unacknowledged updates.
        master.agentDisconnected(agentId);
        await current.restart();
        master.agentRestarted(current);
        current.resendPendingUpdates();
        return;
      }
      const agent = createAgent(agentId, current.port);
      await agent.start();
      agents[index] = agent;
      master.agentRestarted(agent);
    },
    setAgentReachable(agentId, reachable) {
      agentIndex(agentId);
      if (reachable) master.agentReachable(agentId);
      else master.agentUnreachable(agentId);
    },
    failoverMaster() {
      master.failover();
    },
    pauseHeartbeats() {
      master.setHeartbeatsPaused(true);
    },
    resumeHeartbeats() {
      master.setHeartbeatsPaused(false);
    },
    dropSchedulerConnections(frameworkId) {
      return master.dropSubscriptions(frameworkId);
    },
    setLatency(ms) {
      if (!Number.isFinite(ms) || ms < 0) {
        throw new SparkMesosError('SM_ERR_BAD_CONFIG', `The latency must be a number of milliseconds ≥ 0, got ${ms}.`, {
          cause: { ms },
        });
      }
      master.setLatency(ms);
    },
  };
  return {
    masterUrl: options.zookeeper === undefined ? `mesos://127.0.0.1:${port}` : `mesos://${options.zookeeper}`,
    httpUrl: `http://127.0.0.1:${port}`,
    get masterId() {
      return master.id;
    },
    get agents() {
      return agents.map((agent) => ({ id: agent.id, url: agent.url }));
    },
    masters: fronts.map((front) => ({
      url: `http://127.0.0.1:${front.port}`,
      port: front.port,
      zookeeperNode: front.registration?.node,
      leading: () => leaderOf(front) === 'self',
      stop: () => front.stop(),
    })),
    workDir,
    hooks,
    stop() {
      // What the stop waits for (processes exiting, servers closing) keeps the process alive.
      hold.set(true);
      stopping ??= stopAll();
      return stopping;
    },
    ref() {
      hold.set(true);
    },
    unref() {
      hold.set(false);
    },
  };
}

/** One master HTTP front-end: its server and ZooKeeper registration. */
class MasterFront {
  server: Server | undefined;
  readonly id: string;
  registration: MasterRegistration | undefined;
  stopped = false;
  #stopping: Promise<void> | undefined;

  constructor(id: string) {
    this.id = id;
  }

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
