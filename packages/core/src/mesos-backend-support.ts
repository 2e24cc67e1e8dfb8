import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { type MesosCredentials, resolveMesosCredentials, type SparkConf } from '@spark-mesos/config';
import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';
import { createDriverEndpoint, type DriverEndpoint } from '@spark-mesos/executor/protocol';
import type { MasterDetector } from '@spark-mesos/master-url';
import {
  type CommandInfoURI,
  createOperatorClient,
  createSchedulerClient,
  type FrameworkInfo,
  isTerminalTaskState,
  type Label,
  type Offer,
  type OperatorClient,
  type SchedulerClient,
  type TaskState,
  type TaskStatus,
} from '@spark-mesos/mesos-client';
import {
  offerMatcherSettingsFrom,
  type ResolvedOfferMatcherSettings,
  resolveOfferMatcherSettings,
} from '@spark-mesos/offer-matcher';
import { buildExecutorContainer, type ExecutorContainer } from './mesos-container.js';
import { buildFrameworkInfo, parseMesosLabels } from './mesos-framework-info.js';

/** Where a Mesos backend reports what it does. */
export type MesosBackendLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** Warnings and errors to stderr, the rest dropped. */
export const STDERR_MESOS_BACKEND_LOG: MesosBackendLog = (level, message) => {
  if (level !== 'info') process.stderr.write(`spark-mesos: ${message}\n`);
};

/** Where the executor package comes from (contract §1–2): exactly one of the two. */
export type ExecutorSource = { executorUri: string } | { executorHome: string };

/** Options common to the coarse- and fine-grained Mesos backends. */
export interface MesosBackendOptions {
  /** The configuration (read for every `spark.*` key the backend honours). */
  conf: SparkConf;
  /**
   * The master: `mesos://host:5050`, `mesos+https://…`, `mesos://zk://…/mesos`, or a
   * {@link MasterDetector}.
   */
  master: string | MasterDetector;
  /** Where agents get the executor: `spark.executor.uri` (fetched and extracted) or `spark.mesos.executor.home`. */
  executor: ExecutorSource;
  /** The backend's name in messages. @default the master URL */
  name?: string;
  /**
   * The address the driver endpoint listens on.
   * @default `spark.driver.bindAddress`, else `spark.driver.host`, else '0.0.0.0'
   */
  bindHost?: string;
  /** The host executors dial. @default `spark.driver.host`, else this host's name */
  advertisedHost?: string;
  /** `defaultParallelism()` when `spark.default.parallelism` is not set. @default from the executors */
  defaultParallelism?: number;
  /** How long to wait for the first SUBSCRIBED before giving up. @default `spark.mesos.subscribeTimeout`, 30 s */
  subscribeTimeoutMs?: number;
  /** Resolved credentials (tests). @default from `spark.mesos.principal`/`secret` and their other forms */
  credentials?: MesosCredentials;
  /** Scheduler client options the backend does not set (encoding, timers, heartbeats…). @default {} */
  schedulerClient?: { heartbeatMissLimit?: number; encoding?: 'protobuf' | 'json' };
  /** Where the backend reports. @default warnings and errors to stderr */
  log?: MesosBackendLog;
  /** The clock (offer decisions and agent failures). @default Date.now */
  now?: () => number;
}

/** The settings both backends read once, at start. */
export interface MesosLaunchSettings {
  /** The offer matcher's settings (`spark.cores.max`, `spark.executor.*`, constraints, filters…). */
  readonly offerSettings: ResolvedOfferMatcherSettings;
  /** `spark.task.cpus`. @default 1 */
  readonly taskCpus: number;
  /** `spark.executor.memory` in MiB, without the overhead (the executor sizes its workers by it). @default 1024 */
  readonly executorMemoryMiB: number;
  /** `spark.mesos.executor.node`. @default 'node' */
  readonly node: string;
  /** `spark.mesos.executor.bundleNode`. @default false */
  readonly bundledNode: boolean;
  /** `spark.mesos.fetcherCache.enable`: URIs cached by the agents' fetcher. @default false */
  readonly useFetcherCache: boolean;
  /** `spark.mesos.uris`, comma-separated, each fetched into every executor's sandbox. @default [] */
  readonly extraUris: CommandInfoURI[];
  /** `spark.executorEnv.NAME` values, as the executors' environment. @default {} */
  readonly environment: Record<string, string>;
  /** `spark.mesos.task.labels`, on every Mesos task (and fine-grained executor). @default [] */
  readonly taskLabels: Label[];
  /** `spark.task.maxFailures`: the attempt whose failure quotes the sandbox stderr. @default 4 */
  readonly maxTaskFailures: number;
  /** `spark.mesos.coarse.shutdownTimeout` in ms. @default 10000 */
  readonly shutdownTimeoutMs: number;
  /** `spark.mesos.rejectOfferDuration` in seconds (offers of excluded hosts). @default 120 */
  readonly rejectOfferDurationSeconds: number;
  /**
   * The executors' Mesos container (image, network, secrets), from `spark.mesos.executor.docker.*`,
   * `spark.mesos.containerizer`, `spark.mesos.network.*` and `spark.mesos.executor.secret.*`.
   * @default no container, no secrets
   */
  readonly container: ExecutorContainer;
}

/**
 * Reads {@link MesosLaunchSettings} from the configuration.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for a malformed container or secret setting (see
 *   {@link buildExecutorContainer}), so a backend fails at start, before it accepts an offer.
 */
export function readMesosLaunchSettings(conf: SparkConf): MesosLaunchSettings {
  const offerSettings = resolveOfferMatcherSettings(offerMatcherSettingsFrom((key) => conf.getOption(key)));
  const useFetcherCache = conf.getBoolean('spark.mesos.fetcherCache.enable', false);
  // Spark's setupUris: comma-separated, trimmed, each cached when the fetcher cache is on.
  const extraUris: CommandInfoURI[] = (conf.getOption('spark.mesos.uris') ?? '')
    .split(',')
    .map((uri) => uri.trim())
    .filter((uri) => uri !== '')
    .map((uri) => ({ value: uri, cache: useFetcherCache }));
  const environment: Record<string, string> = {};
  for (const [key, value] of conf.getAll()) {
    if (key.startsWith('spark.executorEnv.') && key.length > 'spark.executorEnv.'.length) {
      environment[key.slice('spark.executorEnv.'.length)] = value;
    }
  }
  return {
    offerSettings,
    taskCpus: offerSettings.taskCpus,
    executorMemoryMiB: conf.getSizeAsMb('spark.executor.memory', '1g'),
    node: conf.getOption('spark.mesos.executor.node') ?? 'node',
    bundledNode: conf.getBoolean('spark.mesos.executor.bundleNode', false),
    useFetcherCache,
    extraUris,
    environment,
    taskLabels: parseMesosLabels('spark.mesos.task.labels', conf.getOption('spark.mesos.task.labels')),
    maxTaskFailures: conf.getInt('spark.task.maxFailures', 4),
    shutdownTimeoutMs: conf.getTimeAsMs('spark.mesos.coarse.shutdownTimeout', '10s'),
    rejectOfferDurationSeconds: offerSettings.rejectOfferDurationSeconds,
    container: buildExecutorContainer(conf),
  };
}

/**
 * Whether a task in `state` no longer runs (for us): Mesos' terminal states, and TASK_UNREACHABLE
 * too — the task may still run behind a partition, but the backend does not wait for it.
 */
export function isGoneState(state: TaskState): boolean {
  return isTerminalTaskState(state) || state === 'TASK_UNREACHABLE';
}

/** Whether `state` counts as a failure of the agent (Spark's `isMesosTaskFailed`: FAILED, LOST, plus ERROR). */
export function isFailureState(state: TaskState): boolean {
  return state === 'TASK_FAILED' || state === 'TASK_LOST' || state === 'TASK_ERROR';
}

/**
 * Whether Mesos never handed the task to an agent: its offers were gone when the ACCEPT arrived
 * (a rescind, a master failover), or the master dropped it. Nothing ran, nothing failed: no
 * agent or executor is to blame.
 */
export function neverLaunched(status: TaskStatus): boolean {
  return status.state === 'TASK_DROPPED' || status.reason === 'REASON_INVALID_OFFERS';
}

/**
 * A short random token (6 lowercase letters and digits) a backend puts in the ids it gives its
 * Mesos tasks and executors, new at every start. A driver restarted onto its framework ID
 * (`spark.mesos.driver.frameworkId` with `spark.mesos.driver.failoverTimeout`) finds the old
 * driver's tasks and executors still registered: plain counters would reuse their ids, and Mesos
 * refuses a task whose id a live task of the framework has (TASK_ERROR "Task has duplicate ID"),
 * or an ExecutorInfo that differs from a running executor's with the same id.
 *
 * @see https://github.com/apache/mesos/blob/1.11.0/src/master/validation.cpp (task id uniqueness, executor compatibility)
 */
export function createLaunchToken(): string {
  // 30 random bits in base 36: 1 in a billion that two starts share one.
  return (randomBytes(4).readUInt32BE(0) & 0x3fffffff).toString(36).padStart(6, '0');
}

/**
 * Whether a status update names a task of the framework that this backend did not launch and
 * that still runs: one the previous driver process of the same framework left (after SUBSCRIBED
 * the client's implicit reconciliation reports every task the master knows). It cannot serve
 * this driver (other driver address, other application secret) and holds resources: KILL it.
 * A task in a terminal state needs nothing.
 */
export function isLeftoverTask(status: TaskStatus, launchedHere: (taskId: string) => boolean): boolean {
  return !launchedHere(status.task_id.value) && !isTerminalTaskState(status.state);
}

/** Options of {@link createLeftoverReaper}. */
export interface LeftoverReaperOptions {
  /** The subscribed client (read at each use: the backend subscribes after making the reaper). */
  readonly client: () => Pick<SchedulerClient, 'kill' | 'shutdown'> | undefined;
  /** Whether this backend launched the Mesos task with this id. */
  readonly launchedTask: (taskId: string) => boolean;
  /** Whether this backend started the executor with this id. @default () => false (no custom executors) */
  readonly startedExecutor?: (executorId: string) => boolean;
  /** Where kills and shutdowns are reported (info) and failed calls (warn). */
  readonly log: MesosBackendLog;
}

/** Finds and stops what a previous driver process of the same framework left running. */
export interface LeftoverReaper {
  /**
   * A status update: when it names a task this backend did not launch and that still runs
   * ({@link isLeftoverTask}), KILLs it (once per task, again after a failed call) and returns
   * `true`; the backend has nothing else to do with the update.
   */
  update(status: TaskStatus): boolean;
  /**
   * An offer: every executor in its `executor_ids` (the framework's executors running on the
   * agent) that this backend did not start gets a SHUTDOWN (once per executor, again after a
   * failed call).
   */
  offer(offer: Offer): void;
}

/**
 * Creates a {@link LeftoverReaper}. A driver restarted onto its framework ID inherits the old
 * driver's tasks and executors: Mesos keeps them under the framework, and the old executors end
 * only when they notice their driver is gone (a coarse one after its reconnection timeout, a
 * fine one never). Spark leaves them; this stops them at once, so their resources come back.
 */
export function createLeftoverReaper(options: LeftoverReaperOptions): LeftoverReaper {
  const { log } = options;
  const killed = new Set<string>();
  const shutDown = new Set<string>();
  return {
    update(status) {
      if (!isLeftoverTask(status, options.launchedTask)) return false;
      const taskId = status.task_id.value;
      const client = options.client();
      if (killed.has(taskId) || client === undefined) return true;
      killed.add(taskId);
      const agentId = status.agent_id?.value;
      log(
        'info',
        `killing Mesos task ${taskId}${agentId === undefined ? '' : ` on agent ${agentId}`} (${status.state}): a previous driver of this framework launched it, and it cannot serve this one`,
      );
      client
        .kill({ task_id: { value: taskId }, ...(agentId === undefined ? {} : { agent_id: { value: agentId } }) })
        .catch((error: Error) => {
          killed.delete(taskId);
          log('warn', `KILL of the previous driver's task ${taskId} failed: ${error.message}`);
        });
      return true;
    },
    offer(offer) {
      const client = options.client();
      if (client === undefined) return;
      for (const { value: executorId } of offer.executor_ids ?? []) {
        const key = `${offer.agent_id.value} ${executorId}`;
        if (options.startedExecutor?.(executorId) === true || shutDown.has(key)) continue;
        shutDown.add(key);
        log(
          'info',
          `shutting down executor ${executorId} on agent ${offer.agent_id.value} (${offer.hostname}): a previous driver of this framework started it, and it cannot serve this one`,
        );
        client
          .shutdown({ executor_id: { value: executorId }, agent_id: { value: offer.agent_id.value } })
          .catch((error: Error) => {
            shutDown.delete(key);
            log('warn', `SHUTDOWN of the previous driver's executor ${executorId} failed: ${error.message}`);
          });
      }
    },
  };
}

/** A status for messages: `TASK_FAILED (REASON_CONTAINER_LAUNCH_FAILED): message`. */
export function describeStatus(status: TaskStatus): string {
  return `${status.state}${status.reason === undefined ? '' : ` (${status.reason})`}${
    status.message === undefined || status.message === '' ? '' : `: ${status.message}`
  }`;
}

/**
 * A FAILURE event's executor `status` in words. On POSIX agents it is the `waitpid` status
 * (exit code in bits 8–15, or the signal in bits 0–6); -1 or absent when the agent could not
 * tell (e.g. the container never started).
 *
 * @see https://github.com/apache/mesos/blob/1.11.0/include/mesos/v1/scheduler/scheduler.proto (Event.Failure)
 */
export function describeWaitStatus(status: number | undefined): string {
  if (status === undefined || status < 0) return 'ended (exit status unknown)';
  const signal = status & 0x7f;
  if (signal === 0) return `exited with code ${(status >> 8) & 0xff}`;
  const name = Object.entries(osConstants.signals).find(([, number]) => number === signal)?.[0];
  return `was killed by signal ${signal}${name === undefined ? '' : ` (${name})`}`;
}

/** A subscribed scheduler client and what it was subscribed with. */
export interface MesosSubscription {
  /** The subscribed client (SUBSCRIBED received). */
  readonly client: SchedulerClient;
  /** The FrameworkInfo it subscribed with. */
  readonly frameworkInfo: FrameworkInfo;
  /** The credentials it used (also for the operator reads of sandboxes). */
  readonly credentials: MesosCredentials;
}

function masterText(master: string | MasterDetector): string {
  return typeof master === 'string' ? master : 'the detected master';
}

/**
 * Builds the FrameworkInfo, resolves the credentials and subscribes, waiting at most the
 * subscribe timeout. Registers `listen` before subscribing, so no event is missed.
 *
 * @throws SparkMesosError `SM_ERR_MESOS_AUTHENTICATION` when the master refuses the credentials
 *   (or asks for some and none are set), `SM_ERR_MESOS_UNREACHABLE` when no subscription is made
 *   in time, or the client's error when the master refuses the framework.
 */
export async function subscribeToMesos(
  options: MesosBackendOptions,
  listen: (client: SchedulerClient) => void,
): Promise<MesosSubscription> {
  const { conf } = options;
  const log = options.log ?? STDERR_MESOS_BACKEND_LOG;
  const credentials = options.credentials ?? (await resolveMesosCredentials(conf));
  const frameworkInfo = buildFrameworkInfo(
    conf,
    credentials.principal === undefined ? {} : { principal: credentials.principal },
  );
  // Messages name the backend (its name masks a ZooKeeper password), not the raw URL.
  const shownMaster = options.name ?? masterText(options.master);
  let lastProblem: string | undefined;
  const client = createSchedulerClient({
    master: options.master,
    frameworkInfo,
    ...(credentials.principal === undefined
      ? {}
      : { auth: { principal: credentials.principal, secret: credentials.secret ?? '' } }),
    ...(options.schedulerClient?.encoding === undefined ? {} : { encoding: options.schedulerClient.encoding }),
    ...(options.schedulerClient?.heartbeatMissLimit === undefined
      ? {}
      : { heartbeatMissLimit: options.schedulerClient.heartbeatMissLimit }),
    logger: {
      info: (message) => log('info', message),
      warn: (message) => {
        lastProblem = message;
        log('warn', message);
      },
    },
  });
  listen(client);
  const timeoutMs = options.subscribeTimeoutMs ?? conf.getTimeAsMs('spark.mesos.subscribeTimeout', '30s');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new SparkMesosError(
          'SM_ERR_MESOS_UNREACHABLE',
          `Could not subscribe to the Mesos master ${shownMaster} within ${timeoutMs} ms${
            lastProblem === undefined ? '' : ` (last problem: ${lastProblem})`
          }; check spark.master and that the master is running and reachable from this host (spark.mesos.subscribeTimeout sets the wait)`,
          { cause: { master: shownMaster, lastProblem } },
        ),
      );
    }, timeoutMs);
  });
  try {
    await Promise.race([client.start(), timeout]);
  } catch (error) {
    await client.close().catch(() => {});
    if (isSparkMesosError(error, 'SM_ERR_MESOS_UNAUTHORIZED') || isSparkMesosError(error, 'SM_ERR_MESOS_FORBIDDEN')) {
      const who =
        credentials.principal === undefined
          ? 'no credentials were given'
          : `principal "${credentials.principal}" was refused`;
      throw new SparkMesosError(
        'SM_ERR_MESOS_AUTHENTICATION',
        `Mesos authentication refused by ${shownMaster}: ${who}; set spark.mesos.principal and spark.mesos.secret (or SPARK_MESOS_PRINCIPAL / SPARK_MESOS_SECRET, or their .file / _FILE forms) to credentials the master accepts`,
        { cause: error, details: { master: shownMaster, principal: credentials.principal } },
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return { client, frameworkInfo, credentials };
}

/** Reads the tails of sandbox files of the framework's tasks through the master's operator endpoints. */
export interface SandboxReader {
  /**
   * The last `bytes` of `file` (`stderr` by default) in the sandbox of task `taskId`, or a
   * sentence saying why it could not be read. Never throws.
   */
  tail(taskId: string, options?: { file?: string; bytes?: number }): Promise<string>;
}

/** A {@link SandboxReader} over the subscription's current leader. */
export function createSandboxReader(subscription: MesosSubscription): SandboxReader {
  let operator: OperatorClient | undefined;
  let operatorFor: string | undefined;
  const { principal, secret } = subscription.credentials;
  return {
    async tail(taskId, options = {}) {
      const file = options.file ?? 'stderr';
      try {
        const leader = subscription.client.leaderUrl;
        if (leader === undefined) return `(the ${file} of task ${taskId} cannot be read: no master is known)`;
        if (operator === undefined || operatorFor !== leader) {
          operator = createOperatorClient({
            master: new URL(leader).origin,
            timeoutMs: 5000,
            ...(principal === undefined ? {} : { authorization: { kind: 'basic', principal, secret: secret ?? '' } }),
          });
          operatorFor = leader;
        }
        const sandbox = await operator.locateTaskSandbox(taskId, subscription.client.frameworkId);
        const tail = await operator.readFileTail(
          sandbox.agentUrl,
          `${sandbox.directory}/${file}`,
          options.bytes ?? 4096,
        );
        return tail.data;
      } catch (error) {
        return `(the ${file} of task ${taskId} could not be read from its sandbox: ${(error as Error).message})`;
      }
    },
  };
}

/**
 * Text ready to append to an output tail: a header naming the task's sandbox, then the tail.
 * Kept short (the task scheduler quotes the last 2,000 characters of an output tail).
 */
export function sandboxTailSection(what: string, tail: string, maxCharacters = 1500): string {
  const trimmed = tail.length > maxCharacters ? tail.slice(-maxCharacters) : tail;
  return `\n--- tail of the stderr in the sandbox of ${what} ---\n${trimmed.replace(/\n$/, '')}\n`;
}

/**
 * The driver's end of the executor link, where `spark.driver.host` (or `bindHost`) says, on
 * `spark.driver.port` (0: a free one), advertising `spark.driver.host` (or `advertisedHost`).
 */
export function startDriverEndpoint(options: MesosBackendOptions, secret: Uint8Array): Promise<DriverEndpoint> {
  const { conf } = options;
  const log = options.log ?? STDERR_MESOS_BACKEND_LOG;
  const driverHost = conf.getOption('spark.driver.host');
  const advertisedHost = options.advertisedHost ?? driverHost;
  return createDriverEndpoint({
    secret,
    host: options.bindHost ?? conf.getOption('spark.driver.bindAddress') ?? driverHost ?? '0.0.0.0',
    port: conf.getInt('spark.driver.port', 0),
    ...(advertisedHost === undefined ? {} : { advertisedHost }),
    log: (level, message) => log(level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'info', message),
  });
}
