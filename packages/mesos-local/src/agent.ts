import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type Attribute,
  type CommandInfo,
  type ContainerInfo,
  type ExecutorCallSubscribe,
  type ExecutorEvent,
  type ExecutorInfo,
  type FrameworkInfo,
  formatStoutDuration,
  isTerminalTaskState,
  type Resource,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
  type TaskStatusReason,
} from '@spark-mesos/mesos-client';
import { createAgentHttpHandler } from './agent-http.js';
import { type CommandExit, type CommandTask, describeExit, startCommandTask, waitStatusOf } from './command-task.js';
import { type ContainerLaunchFailure, unsupportedContainer } from './container-support.js';
import { AgentFetcher, type AgentFetcherOptions } from './fetcher.js';
import { canSampleMemory, formatBytes, sampleGroupMemory } from './memory-usage.js';
import { ProcessHold } from './process-hold.js';
import { leaseProcessLauncher, type ProcessLauncherLease } from './process-launcher.js';
import { attributeValues, resourceQuantities } from './resources.js';

/**
 * An in-process Mesos agent: runs command tasks and custom executors as process groups in
 * sandboxes, serves the v1 executor API, and delivers status updates reliably (re-sent with the
 * same uuid until acknowledged, in order per task), as the agent's status update manager does.
 *
 * @see https://mesos.apache.org/documentation/latest/high-availability-framework-guide/
 * @see https://mesos.apache.org/documentation/latest/executor-http-api/
 * @module
 */

/** Where an agent reports to: the master. */
export interface AgentUplink {
  /** A status update of a task of framework `frameworkId` (possibly a re-send, same uuid). */
  statusUpdate(agentId: string, frameworkId: string, status: TaskStatus): void;
  /**
   * A custom executor ended (Mesos' ExitedExecutorMessage): its resources are free again.
   * `status` is its wait status (see {@link waitStatusOf}), -1 when unknown.
   */
  executorTerminated?(agentId: string, frameworkId: string, executorId: string, status: number): void;
  /** A MESSAGE call of an executor, for its scheduler (no delivery guarantee). */
  frameworkMessage?(agentId: string, frameworkId: string, executorId: string, data: Uint8Array): void;
}

/** Options of {@link LocalAgent}. */
export interface LocalAgentOptions {
  /** The agent id, `<masterId>-S<n>`. */
  readonly id: string;
  /** Total resources. */
  readonly resources: readonly Resource[];
  /** The port to listen on (a restarted agent comes back on its port, as Mesos' `--port`). @default 0, a free port */
  readonly port?: number;
  /** Attributes. @default [] */
  readonly attributes?: readonly Attribute[];
  /** The agent's work directory (sandboxes live below it). */
  readonly workDir: string;
  /** Where status updates go. */
  readonly uplink: AgentUplink;
  /**
   * The switch deciding whether the agent keeps the Node process alive: its HTTP server, its
   * connections and the processes it started (a cluster shares one). @default a switch of its own, on
   */
  readonly hold?: ProcessHold;
  /** Re-send period of an unacknowledged status update, in milliseconds. @default 10000 */
  readonly statusUpdateRetryMs?: number;
  /** The fetcher's cache directory, s3/hdfs fetchers, … @default cache in `<workDir>/fetch`, file/http/https only */
  readonly fetcher?: AgentFetcherOptions;
  /**
   * How long a custom executor has to SUBSCRIBE before it is killed and its tasks fail with
   * REASON_EXECUTOR_REGISTRATION_TIMEOUT (the agent's `--executor_registration_timeout`).
   * @default 60000
   */
  readonly executorRegistrationTimeoutMs?: number;
  /**
   * Time between SHUTDOWN and the kill of an executor's process group, unless its ExecutorInfo
   * has a `shutdown_grace_period` (the agent's `--executor_shutdown_grace_period`). @default 5000
   */
  readonly executorShutdownGracePeriodMs?: number;
  /**
   * `MESOS_RECOVERY_TIMEOUT` of checkpointing executors (the agent's `--recovery_timeout`): how
   * long such an executor keeps trying to reach a restarting agent before it exits.
   * @default 900000
   */
  readonly recoveryTimeoutMs?: number;
  /**
   * How long a checkpointing executor has to SUBSCRIBE again after the agent restarted before
   * it is killed and its tasks become TASK_GONE (TASK_LOST for frameworks that are not
   * PARTITION_AWARE) with REASON_EXECUTOR_REREGISTRATION_TIMEOUT (the agent's
   * `--executor_reregistration_timeout`); also the executors' `MESOS_SUBSCRIPTION_BACKOFF_MAX`.
   * @default 2000
   */
  readonly executorReregistrationTimeoutMs?: number;
  /** Period of HEARTBEAT events on executor subscriptions. @default 1800000 (30 minutes, as Mesos) */
  readonly executorHeartbeatIntervalMs?: number;
  /**
   * Period of the memory check: each container's process group whose resident memory exceeds
   * its `mem` (tasks and executor) is killed. 0 disables the check. @default 1000
   */
  readonly memoryCheckIntervalMs?: number;
  /**
   * Completed executors (with their completed tasks) kept in memory per framework, for `/state`
   * and `/files`; beyond it the oldest is dropped, its sandbox stays on disk (the agent's
   * `--max_completed_executors_per_framework`).
   * @default 150
   */
  readonly maxCompletedExecutorsPerFramework?: number;
  /**
   * Completed frameworks (those with no executor left) kept in memory; beyond it the oldest is
   * dropped, with its completed executors (Mesos' `MAX_COMPLETED_FRAMEWORKS`, a constant there).
   * @default 50
   */
  readonly maxCompletedFrameworks?: number;
}

/** Grace period between SIGTERM and SIGKILL when the task has no kill policy (Mesos' default). */
const DEFAULT_KILL_GRACE_MS = 3000;
/** Mesos' `DEFAULT_MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK` (src/slave/constants.hpp). */
const DEFAULT_MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK = 150;
/** Mesos' `MAX_COMPLETED_FRAMEWORKS` (src/slave/constants.hpp). */
const DEFAULT_MAX_COMPLETED_FRAMEWORKS = 50;
/**
 * Mesos' `MAX_COMPLETED_TASKS_PER_EXECUTOR`: completed tasks kept per executor (a custom
 * executor may run any number of tasks), the oldest dropped first.
 */
const MAX_COMPLETED_TASKS_PER_EXECUTOR = 200;
/** What Mesos adds to a command task for its command executor (`DEFAULT_EXECUTOR_MEM`). */
const COMMAND_EXECUTOR_MEM_MB = 32;

/** Whether a task state is terminal (Mesos' own set; undefined for a task not started yet). */
export function isTerminalState(state: TaskState | undefined): boolean {
  return state !== undefined && isTerminalTaskState(state);
}

/** 16 random bytes that are a version 4 UUID, which Mesos requires of status update uuids. */
export function randomUuidBytes(): Uint8Array {
  return new Uint8Array(Buffer.from(randomUUID().replaceAll('-', ''), 'hex'));
}

/** An executor's subscription stream, written by the agent (see ./executor-api.ts). */
export interface ExecutorConnection {
  /** Sends one event. */
  send(event: ExecutorEvent): void;
  /** Ends the stream. */
  end(): void;
}

/** Which executor a call names, as the executor API needs to know before handling it. */
export type ExecutorLookup = 'no-framework' | 'no-executor' | 'registering' | 'subscribed';

interface AgentTask {
  readonly info: TaskInfo;
  state: TaskState;
  // Not yet sent to the executor (it has not subscribed yet).
  queued: boolean;
  readonly statuses: TaskStatus[];
  // Updates not yet acknowledged: the head is in flight, the rest wait their turn.
  readonly pending: TaskStatus[];
  // Uuids of every update received, so that a re-sent one is recognised.
  readonly received: Set<string>;
  retryTimer: NodeJS.Timeout | undefined;
}

type ExecutorState = 'REGISTERING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED';

interface Termination {
  readonly state: TaskState;
  readonly reason: TaskStatusReason;
  readonly message: string;
}

interface AgentExecutor {
  readonly id: string;
  readonly frameworkId: string;
  // A command task's implicit executor: the task's command runs as the container's process.
  readonly commandTask: boolean;
  readonly info: ExecutorInfo | undefined;
  readonly containerId: string;
  readonly directory: string;
  // Whether its sandbox directory exists already (made before fetching URIs).
  sandboxCreated: boolean;
  state: ExecutorState;
  process: CommandTask | undefined;
  readonly tasks: Map<string, AgentTask>;
  readonly completedTasks: AgentTask[];
  connection: ExecutorConnection | undefined;
  killing: boolean;
  pendingTermination: Termination | undefined;
  readonly timers: Set<NodeJS.Timeout>;
  heartbeat: NodeJS.Timeout | undefined;
  // Recovered after an agent restart, not subscribed again yet.
  recovering: boolean;
}

interface AgentFramework {
  readonly id: string;
  info: FrameworkInfo;
  terminating: boolean;
  readonly executors: Map<string, AgentExecutor>;
  readonly completedExecutors: AgentExecutor[];
}

function hex(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? '' : Buffer.from(bytes).toString('hex');
}

function memMb(resources: readonly Resource[] | undefined): number {
  return (resources ?? [])
    .filter((resource) => resource.name === 'mem' && resource.type === 'SCALAR')
    .reduce((sum, resource) => sum + (resource.scalar?.value ?? 0), 0);
}

/** An in-process agent. Create with `new`, then {@link LocalAgent.start}. */
export class LocalAgent {
  /** The agent id. */
  readonly id: string;
  /** Total resources. */
  readonly resources: readonly Resource[];
  /** Attributes. */
  readonly attributes: readonly Attribute[];
  /** Its work directory. */
  readonly workDir: string;
  /** Host name (always the loopback address). */
  readonly hostname = '127.0.0.1';
  readonly #uplink: AgentUplink;
  readonly #retryMs: number;
  readonly #registrationTimeoutMs: number;
  readonly #shutdownGraceMs: number;
  readonly #recoveryTimeoutMs: number;
  readonly #reregistrationTimeoutMs: number;
  readonly #heartbeatMs: number;
  readonly #memoryCheckMs: number;
  readonly #maxCompletedExecutors: number;
  readonly #maxCompletedFrameworks: number;
  readonly #frameworks = new Map<string, AgentFramework>();
  readonly #completedFrameworks: AgentFramework[] = [];
  readonly #server: Server;
  readonly #fetcher: AgentFetcher;
  #memoryTimer: NodeJS.Timeout | undefined;
  #launcher: ProcessLauncherLease | undefined;
  readonly #hold: ProcessHold;
  #unwatchHold: (() => void) | undefined;
  // Containers' processes being started: each settles once its process belongs to its executor,
  // or, when the agent stopped meanwhile, has been killed and has exited.
  readonly #launches = new Set<Promise<unknown>>();
  #port: number;
  #stopped = false;
  readonly startTime = Date.now() / 1000;

  constructor(options: LocalAgentOptions) {
    this.id = options.id;
    this.resources = options.resources;
    this.attributes = options.attributes ?? [];
    this.workDir = options.workDir;
    this.#uplink = options.uplink;
    this.#port = options.port ?? 0;
    this.#retryMs = options.statusUpdateRetryMs ?? 10_000;
    this.#registrationTimeoutMs = options.executorRegistrationTimeoutMs ?? 60_000;
    this.#shutdownGraceMs = options.executorShutdownGracePeriodMs ?? 5_000;
    this.#recoveryTimeoutMs = options.recoveryTimeoutMs ?? 15 * 60_000;
    this.#reregistrationTimeoutMs = options.executorReregistrationTimeoutMs ?? 2_000;
    this.#heartbeatMs = options.executorHeartbeatIntervalMs ?? 30 * 60_000;
    this.#memoryCheckMs = options.memoryCheckIntervalMs ?? 1_000;
    this.#maxCompletedExecutors =
      options.maxCompletedExecutorsPerFramework ?? DEFAULT_MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK;
    this.#maxCompletedFrameworks = options.maxCompletedFrameworks ?? DEFAULT_MAX_COMPLETED_FRAMEWORKS;
    this.#server = createServer(createAgentHttpHandler(this));
    this.#fetcher = new AgentFetcher(options.workDir, options.fetcher);
    // libprocess never closes an idle connection, and Mesos' executor library takes the close of
    // its call connection for a lost agent (a non-checkpointing executor then shuts down).
    this.#server.keepAliveTimeout = 0;
    this.#hold = options.hold ?? new ProcessHold();
    this.#hold.addServer(this.#server);
  }

  /** Listens on 127.0.0.1 (its `port`, or a free one) and starts the memory check. */
  async start(): Promise<void> {
    mkdirSync(this.workDir, { recursive: true });
    if (this.#launcher === undefined) {
      const launcher = leaseProcessLauncher();
      this.#launcher = launcher;
      launcher.setReferenced(this.#hold.referenced);
      this.#unwatchHold = this.#hold.onChange((referenced) => launcher.setReferenced(referenced));
    }
    await this.#listen();
    if (this.#memoryCheckMs > 0 && (await canSampleMemory())) {
      let checking = false;
      this.#memoryTimer = setInterval(() => {
        if (checking) return;
        checking = true;
        void this.#checkMemory().finally(() => {
          checking = false;
        });
      }, this.#memoryCheckMs);
      this.#memoryTimer.unref();
    }
  }

  async #listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => reject(error);
      this.#server.once('error', failed);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', failed);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Whether {@link LocalAgent.stop} was called (the agent was killed). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Restarts the agent process in place, recovering what it had checkpointed, as a Mesos agent
   * with `--recover=reconnect` (test hook; the caller tells the master). Its HTTP server closes
   * (every executor stream is cut) and listens again on the same port. Containers of frameworks
   * without `checkpoint` are killed and forgotten, without status updates. Those of
   * checkpointing frameworks keep running with their tasks and unacknowledged updates (re-sent
   * by {@link LocalAgent.resendPendingUpdates} once the master has the agent back); a custom
   * executor must SUBSCRIBE again within the reregistration timeout, or it is killed and its
   * unfinished tasks become TASK_GONE (TASK_LOST unless PARTITION_AWARE) with
   * REASON_EXECUTOR_REREGISTRATION_TIMEOUT.
   *
   * @see https://mesos.apache.org/documentation/latest/agent-recovery/
   */
  async restart(): Promise<void> {
    if (this.#stopped) return;
    await Promise.all(this.#launches);
    const exits: Promise<unknown>[] = [];
    const forgotten: AgentFramework[] = [];
    const recovered: AgentExecutor[] = [];
    for (const framework of this.#frameworks.values()) {
      const checkpoint = framework.info.checkpoint === true;
      if (!checkpoint) {
        // Its executors exit unreported: the restarted agent knows nothing of them.
        framework.terminating = true;
        forgotten.push(framework);
      }
      for (const executor of framework.executors.values()) {
        this.#clearTimers(executor);
        for (const task of executor.tasks.values()) {
          clearInterval(task.retryTimer);
          task.retryTimer = undefined;
          if (!checkpoint) task.pending.length = 0;
        }
        const connection = executor.connection;
        executor.connection = undefined;
        connection?.end();
        const process = executor.process;
        if (!process || process.hasExited) continue;
        if (!checkpoint || executor.state === 'TERMINATING') {
          exits.push(process.exited);
          process.kill(0);
        } else if (!executor.commandTask) {
          // A command task's executor is the agent itself here: it needs no reregistration.
          executor.recovering = true;
          recovered.push(executor);
        }
      }
    }
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.all(exits);
    for (const framework of forgotten) {
      if (this.#frameworks.get(framework.id) === framework) this.#frameworks.delete(framework.id);
    }
    await this.#listen();
    for (const executor of recovered) {
      const framework = this.#frameworks.get(executor.frameworkId);
      if (framework) this.#awaitReregistration(framework, executor);
    }
  }

  // A framework the agent forgot in a restart (it did not checkpoint): what it still had in
  // flight (a fetch) must not start a container.
  #forgotten(framework: AgentFramework): boolean {
    return framework.terminating && this.#frameworks.get(framework.id) !== framework;
  }

  // Mesos' Slave::reregisterExecutorTimeout: a recovered executor that has not subscribed again
  // in time is destroyed; its tasks are gone, since nothing can tell what became of them.
  #awaitReregistration(framework: AgentFramework, executor: AgentExecutor): void {
    this.#timer(executor, this.#reregistrationTimeoutMs, () => {
      if (!executor.recovering || executor.state === 'TERMINATED') return;
      executor.recovering = false;
      executor.state = 'TERMINATING';
      const partitionAware = framework.info.capabilities?.some((capability) => capability.type === 'PARTITION_AWARE');
      executor.pendingTermination = {
        state: partitionAware ? 'TASK_GONE' : 'TASK_LOST',
        reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT',
        message: `Executor did not reregister within ${formatStoutDuration(this.#reregistrationTimeoutMs)}`,
      };
      executor.process?.kill(0);
    });
  }

  /**
   * Sends the head unacknowledged update of every task again (and keeps re-sending it), as the
   * status update manager does once a restarted agent has re-registered with the master.
   */
  resendPendingUpdates(): void {
    for (const framework of this.#frameworks.values()) {
      for (const executor of framework.executors.values()) {
        for (const task of executor.tasks.values()) if (task.pending.length > 0) this.#send(executor, task);
      }
    }
  }

  /** Its port. */
  get port(): number {
    return this.#port;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** libprocess pid, `slave(1)@127.0.0.1:<port>`. */
  get pid(): string {
    return `slave(1)@127.0.0.1:${this.#port}`;
  }

  /**
   * Launches a task of framework `framework` (its `id` set): a command task in a container of
   * its own, or a task of a custom executor (started when it is not running yet; the task goes
   * to it with LAUNCH once it has subscribed).
   */
  launchTask(framework: FrameworkInfo & { id: { value: string } }, task: TaskInfo): void {
    const agentFramework = this.#framework(framework);
    if (task.executor !== undefined) {
      this.#launchExecutorTask(agentFramework, task, task.executor);
      return;
    }
    const taskId = task.task_id.value;
    const executor = this.#newExecutor(agentFramework, taskId, undefined);
    const agentTask = this.#newTask(task, false);
    executor.tasks.set(taskId, agentTask);
    // Like Mesos' containerizer, the URIs are fetched before the command starts: the task stays
    // STAGING meanwhile, and a failed fetch fails the launch.
    const user = task.command?.user ?? framework.user;
    void this.#prepareContainer(executor, task.container, task.command?.uris, user).then((failure) => {
      if (
        this.#fetcher.stopped ||
        this.#forgotten(agentFramework) ||
        agentFramework.executors.get(taskId) !== executor
      ) {
        return;
      }
      if (executor.killing || failure !== undefined) {
        executor.state = 'TERMINATED';
        this.#agentUpdate(
          executor,
          agentTask,
          executor.killing ? 'TASK_KILLED' : failure!.state,
          executor.killing
            ? { reason: 'REASON_TASK_KILLED_DURING_LAUNCH' }
            : { message: failure!.message, reason: failure!.reason },
        );
        return;
      }
      this.#startCommand(agentFramework, executor, agentTask);
    });
  }

  // Before the launch, as Mesos' containerizer: whether the container can be created at all, then
  // the sandbox and the URIs. Resolves to undefined, or how the launch fails.
  async #prepareContainer(
    executor: AgentExecutor,
    container: ContainerInfo | undefined,
    uris: CommandInfo['uris'],
    user: string | undefined,
  ): Promise<ContainerLaunchFailure | undefined> {
    const unsupported = unsupportedContainer(container);
    if (unsupported !== undefined) return unsupported;
    const failure = await this.#prepareSandbox(executor, uris, user);
    return failure === undefined
      ? undefined
      : { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: failure };
  }

  // Before the launch: the sandbox directory and the URIs (off the event loop). Without URIs the
  // launcher creates the sandbox with the process, which saves a round through the event loop.
  // Resolves to undefined, or why the container cannot be launched.
  async #prepareSandbox(
    executor: AgentExecutor,
    uris: CommandInfo['uris'],
    user: string | undefined,
  ): Promise<string | undefined> {
    if (uris === undefined || uris.length === 0) return undefined;
    try {
      await mkdir(executor.directory, { recursive: true });
    } catch (error) {
      return `Failed to create the sandbox directory '${executor.directory}': ${(error as Error).message}`;
    }
    executor.sandboxCreated = true;
    return this.#fetcher.fetch(uris, executor.directory, executor.containerId, user);
  }

  // Starts a container's process through the launcher; `started` runs once it has a pid, unless
  // the agent stopped meanwhile (then it is killed, and the agent's stop() waits for its exit).
  // stop() also waits for what `started` returns: the exit of a process it killed at once.
  #launch(
    executor: AgentExecutor,
    command: CommandInfo,
    env: Record<string, string>,
    started: (process: CommandTask) => Promise<unknown> | undefined,
    failed: (error: Error) => void,
  ): void {
    const launcher = this.#launcher;
    if (launcher === undefined) {
      failed(new Error('the agent has not been started'));
      return;
    }
    const launch = startCommandTask(
      { command, sandbox: executor.directory, env, createSandbox: !executor.sandboxCreated },
      launcher,
    ).then(
      (process) => {
        if (this.#stopped) {
          process.kill(0);
          return process.exited;
        }
        return started(process);
      },
      (error: unknown) => {
        if (!this.#stopped) failed(error as Error);
      },
    );
    this.#launches.add(launch);
    void launch.finally(() => this.#launches.delete(launch));
  }

  #startCommand(agentFramework: AgentFramework, executor: AgentExecutor, agentTask: AgentTask): void {
    const task = agentTask.info;
    this.#launch(
      executor,
      task.command ?? { value: '' },
      this.#executorEnvironment(agentFramework, executor),
      (process) => {
        executor.process = process;
        if (agentFramework.executors.get(executor.id) !== executor) {
          // Its framework was removed while the process started: it goes, unreported.
          process.kill(0);
          return process.exited;
        }
        if (executor.killing) {
          // Killed while the process started: as a kill during the fetch, no TASK_STARTING.
          process.kill(0);
          void process.exited.then(() => {
            executor.state = 'TERMINATED';
            this.#clearTimers(executor);
            if (agentFramework.terminating) {
              if (!isTerminalState(agentTask.state)) agentTask.state = 'TASK_KILLED';
              this.#completeExecutor(agentFramework, executor);
              return;
            }
            this.#agentUpdate(executor, agentTask, 'TASK_KILLED', { reason: 'REASON_TASK_KILLED_DURING_LAUNCH' });
          });
          return undefined;
        }
        executor.state = 'RUNNING';
        const source = { source: 'SOURCE_EXECUTOR' } as const;
        this.#agentUpdate(executor, agentTask, 'TASK_STARTING', source);
        this.#agentUpdate(executor, agentTask, 'TASK_RUNNING', source);
        void process.exited.then((exit) => this.#commandExited(agentFramework, executor, agentTask, exit));
        return undefined;
      },
      (error) => {
        executor.state = 'TERMINATED';
        if (agentFramework.executors.get(executor.id) !== executor) return;
        // As Mesos' agent when the containerizer cannot launch: from the agent, not the executor.
        this.#agentUpdate(executor, agentTask, 'TASK_FAILED', {
          message: `Failed to launch container: ${error.message}`,
          reason: 'REASON_CONTAINER_LAUNCH_FAILED',
        });
      },
    );
  }

  /**
   * Kills a task. A command task: TASK_KILLING first when the framework understands it,
   * SIGTERM, SIGKILL after the task's kill policy grace period (3 s by default), then
   * TASK_KILLED. A task of a custom executor: a KILL event to the executor, or TASK_KILLED at
   * once when the executor has not received it yet.
   */
  killTask(frameworkId: string, taskId: string): void {
    const framework = this.#frameworks.get(frameworkId);
    const executor = this.#executorOfTask(framework, taskId);
    const task = executor?.tasks.get(taskId);
    if (!framework || !executor || !task || isTerminalState(task.state)) return;
    if (!executor.commandTask) {
      this.#killExecutorTask(framework, executor, task);
      return;
    }
    if (executor.killing) return;
    executor.killing = true;
    if (framework.info.capabilities?.some((capability) => capability.type === 'TASK_KILLING_STATE')) {
      this.#agentUpdate(executor, task, 'TASK_KILLING', { source: 'SOURCE_EXECUTOR' });
    }
    const nanos = task.info.kill_policy?.grace_period?.nanoseconds;
    executor.process?.kill(nanos === undefined ? DEFAULT_KILL_GRACE_MS : nanos / 1e6);
  }

  /** An acknowledgement of the update `uuid` of a task: the next update of that task may go. */
  acknowledge(frameworkId: string, taskId: string, uuid: Uint8Array): void {
    const framework = this.#frameworks.get(frameworkId);
    const executor = this.#executorOfTask(framework, taskId);
    const task = executor?.tasks.get(taskId);
    const head = task?.pending[0];
    if (!framework || !executor || !task || !head?.uuid || hex(head.uuid) !== hex(uuid)) return;
    task.pending.shift();
    clearInterval(task.retryTimer);
    task.retryTimer = undefined;
    if (task.pending.length > 0) this.#send(executor, task);
    else if (isTerminalState(task.state)) this.#completeTask(framework, executor, task);
  }

  /**
   * A scheduler's SHUTDOWN of one custom executor: it gets a SHUTDOWN event and its process
   * group is killed after its shutdown grace period; its unfinished tasks then end as when any
   * executor terminates. Unknown executors and command tasks' implicit executors are ignored.
   */
  shutdownExecutor(frameworkId: string, executorId: string): void {
    const framework = this.#frameworks.get(frameworkId);
    const executor = framework?.executors.get(executorId);
    if (!framework || !executor || executor.commandTask) return;
    this.#shutdownExecutor(framework, executor);
  }

  /**
   * Removes a framework: its pending updates are dropped; command tasks are killed; custom
   * executors get SHUTDOWN and their process groups are killed after the shutdown grace period.
   */
  shutdownFramework(frameworkId: string): void {
    const framework = this.#frameworks.get(frameworkId);
    if (!framework) return;
    framework.terminating = true;
    for (const executor of framework.executors.values()) {
      for (const task of executor.tasks.values()) {
        clearInterval(task.retryTimer);
        task.pending.length = 0;
      }
      if (executor.commandTask) {
        executor.killing = true;
        executor.process?.kill(DEFAULT_KILL_GRACE_MS);
        if (!executor.process || executor.process.hasExited) this.#completeExecutor(framework, executor);
      } else {
        this.#shutdownExecutor(framework, executor);
      }
    }
    this.#completeFramework(framework);
  }

  /** Kills every container (SIGKILL, whole process groups), waits for them, closes the server. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#memoryTimer);
    await this.#fetcher.stop();
    await Promise.all(this.#launches);
    const exits: Promise<unknown>[] = [];
    for (const framework of this.#frameworks.values()) {
      framework.terminating = true;
      for (const executor of framework.executors.values()) {
        this.#clearTimers(executor);
        for (const task of executor.tasks.values()) {
          clearInterval(task.retryTimer);
          task.pending.length = 0;
        }
        executor.connection?.end();
        executor.connection = undefined;
        if (executor.process && !executor.process.hasExited) {
          exits.push(executor.process.exited);
          executor.process.kill(0);
        }
      }
    }
    await Promise.all(exits);
    this.#unwatchHold?.();
    this.#unwatchHold = undefined;
    this.#launcher?.release();
    this.#launcher = undefined;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Which executor a call of the executor API names, and whether it has subscribed. */
  lookupExecutor(frameworkId: string, executorId: string): ExecutorLookup {
    const framework = this.#frameworks.get(frameworkId);
    if (!framework) return 'no-framework';
    const executor = framework.executors.get(executorId);
    if (!executor || executor.commandTask) return 'no-executor';
    return executor.state === 'REGISTERING' ? 'registering' : 'subscribed';
  }

  /**
   * SUBSCRIBE of an executor (first or again): the updates it lists as unacknowledged are
   * forwarded (those already received are only acknowledged), a task it was sent but does not
   * list is lost (TASK_DROPPED / TASK_LOST, as after an agent restart), then SUBSCRIBED and a
   * LAUNCH per queued task. A terminating executor gets SHUTDOWN instead.
   */
  subscribeExecutor(
    frameworkId: string,
    executorId: string,
    subscribe: ExecutorCallSubscribe,
    connection: ExecutorConnection,
  ): void {
    const framework = this.#frameworks.get(frameworkId);
    const executor = framework?.executors.get(executorId);
    if (!framework || !executor) {
      connection.end();
      return;
    }
    if (framework.terminating || executor.state === 'TERMINATING' || executor.state === 'TERMINATED') {
      connection.send({ type: 'SHUTDOWN' });
      connection.end();
      return;
    }
    // A retried or repeated SUBSCRIBE replaces the earlier stream.
    executor.connection?.end();
    executor.recovering = false;
    executor.state = 'RUNNING';
    executor.connection = connection;
    this.#clearTimers(executor);
    executor.heartbeat = setInterval(() => executor.connection?.send({ type: 'HEARTBEAT' }), this.#heartbeatMs);
    executor.heartbeat.unref();

    const acknowledgements: ExecutorEvent[] = [];
    for (const update of subscribe.unacknowledged_updates ?? []) {
      const acknowledged = this.#executorStatus(framework, executor, update.status);
      if (acknowledged) acknowledgements.push(acknowledged);
    }
    const known = new Set((subscribe.unacknowledged_tasks ?? []).map((task) => task.task_id.value));
    const partitionAware = framework.info.capabilities?.some((capability) => capability.type === 'PARTITION_AWARE');
    for (const task of executor.tasks.values()) {
      if (task.queued || task.state !== 'TASK_STAGING' || known.has(task.info.task_id.value)) continue;
      this.#agentUpdate(executor, task, partitionAware ? 'TASK_DROPPED' : 'TASK_LOST', {
        message: 'Task launched during agent restart',
        reason: 'REASON_AGENT_RESTARTED',
        // The task never reached the executor: Mesos adds no container status.
        containerStatus: false,
      });
    }
    const queued = [...executor.tasks.values()].filter((task) => task.queued);
    // Mesos' Executor::everSentTask: a task launched and live, or one the executor reported on.
    const everSentTask = [...executor.tasks.values(), ...executor.completedTasks].some(
      (task) =>
        (!task.queued && !isTerminalState(task.state)) ||
        task.statuses.some((status) => status.source === 'SOURCE_EXECUTOR'),
    );
    if (!everSentTask && queued.length === 0) {
      // Every task was killed before it could be delivered (MESOS-8411).
      this.#shutdownExecutor(framework, executor);
      return;
    }
    connection.send({
      type: 'SUBSCRIBED',
      subscribed: {
        executor_info: this.#executorInfoOf(executor),
        framework_info: framework.info,
        agent_info: this.#agentInfo(),
        container_id: { value: executor.containerId },
      },
    });
    for (const event of acknowledgements) connection.send(event);
    for (const task of queued) {
      task.queued = false;
      connection.send({ type: 'LAUNCH', launch: { task: task.info } });
    }
  }

  /** The subscription stream `connection` closed (the executor went away or dropped it). */
  executorDisconnected(frameworkId: string, executorId: string, connection: ExecutorConnection): void {
    const framework = this.#frameworks.get(frameworkId);
    const executor = framework?.executors.get(executorId);
    if (!framework || !executor || executor.connection !== connection) return;
    executor.connection = undefined;
    clearInterval(executor.heartbeat);
    if (executor.state !== 'RUNNING' || framework.info.checkpoint === true) return;
    // Without checkpointing Mesos' executor library shuts the executor down when it loses the
    // agent; the agent does it here too, unless it subscribes again within the grace period.
    this.#timer(executor, this.#gracePeriodOf(executor), () => {
      if (executor.connection !== undefined || executor.state !== 'RUNNING') return;
      executor.state = 'TERMINATING';
      executor.process?.kill(0);
    });
  }

  /**
   * UPDATE of an executor: the status is forwarded reliably (a re-sent uuid is not forwarded
   * twice) and ACKNOWLEDGED to the executor once the agent has it, as Mesos does.
   */
  executorUpdate(frameworkId: string, executorId: string, status: TaskStatus): void {
    const framework = this.#frameworks.get(frameworkId);
    const executor = framework?.executors.get(executorId);
    if (!framework || !executor) return;
    const acknowledged = this.#executorStatus(framework, executor, status);
    if (acknowledged) executor.connection?.send(acknowledged);
  }

  /** MESSAGE of an executor: passed to the master for its scheduler. */
  executorMessage(frameworkId: string, executorId: string, data: Uint8Array): void {
    this.#uplink.frameworkMessage?.(this.id, frameworkId, executorId, data);
  }

  /** A MESSAGE call of a scheduler for one of its executors: a MESSAGE event, if subscribed. */
  messageExecutor(frameworkId: string, executorId: string, data: Uint8Array): void {
    this.#frameworks
      .get(frameworkId)
      ?.executors.get(executorId)
      ?.connection?.send({ type: 'MESSAGE', message: { data } });
  }

  /** The sandbox of the latest run of executor `executorId` of `frameworkId`, if known. */
  sandboxOf(frameworkId: string, executorId: string): string | undefined {
    const framework = this.#frameworks.get(frameworkId) ?? this.#completedFrameworks.find((f) => f.id === frameworkId);
    const executors = [...(framework?.completedExecutors ?? []), ...(framework?.executors.values() ?? [])];
    return executors.filter((executor) => executor.id === executorId).at(-1)?.directory;
  }

  /** The JSON of `GET /state`, shaped as a Mesos 1.x agent's. */
  state(): Record<string, unknown> {
    const total = resourceQuantities(this.resources);
    return {
      version: '1.12.0',
      build_date: '',
      build_time: 0,
      build_user: '',
      start_time: this.startTime,
      id: this.id,
      pid: this.pid,
      hostname: this.hostname,
      capabilities: [],
      resources: total,
      reserved_resources: {},
      unreserved_resources: total,
      attributes: attributeValues(this.attributes),
      master_hostname: '127.0.0.1',
      flags: {
        work_dir: this.workDir,
        port: String(this.#port),
        executor_registration_timeout: formatStoutDuration(this.#registrationTimeoutMs),
        executor_shutdown_grace_period: formatStoutDuration(this.#shutdownGraceMs),
        // What `restart()` does (see the README's differences from Mesos).
        recover: 'reconnect',
        recovery_timeout: formatStoutDuration(this.#recoveryTimeoutMs),
        executor_reregistration_timeout: formatStoutDuration(this.#reregistrationTimeoutMs),
      },
      frameworks: [...this.#frameworks.values()]
        .filter((framework) => framework.executors.size > 0)
        .map((framework) => this.#frameworkJson(framework)),
      completed_frameworks: [
        ...this.#completedFrameworks,
        ...[...this.#frameworks.values()].filter((framework) => framework.executors.size === 0),
      ].map((framework) => this.#frameworkJson(framework)),
    };
  }

  #framework(info: FrameworkInfo & { id: { value: string } }): AgentFramework {
    const frameworkId = info.id.value;
    let framework = this.#frameworks.get(frameworkId);
    if (!framework) {
      const completed = this.#completedFrameworks.findIndex((candidate) => candidate.id === frameworkId);
      framework =
        completed >= 0
          ? (this.#completedFrameworks.splice(completed, 1)[0] as AgentFramework)
          : { id: frameworkId, info, terminating: false, executors: new Map(), completedExecutors: [] };
      framework.terminating = false;
      this.#frameworks.set(frameworkId, framework);
    }
    framework.info = info;
    return framework;
  }

  #newExecutor(framework: AgentFramework, executorId: string, info: ExecutorInfo | undefined): AgentExecutor {
    const containerId = randomUUID();
    // Created by #prepareSandbox or the launcher, off the event loop.
    const directory = join(this.workDir, 'frameworks', framework.id, 'executors', executorId, 'runs', containerId);
    const executor: AgentExecutor = {
      id: executorId,
      frameworkId: framework.id,
      commandTask: info === undefined,
      info,
      containerId,
      directory,
      sandboxCreated: false,
      state: 'REGISTERING',
      process: undefined,
      tasks: new Map(),
      completedTasks: [],
      connection: undefined,
      killing: false,
      pendingTermination: undefined,
      timers: new Set(),
      heartbeat: undefined,
      recovering: false,
    };
    framework.executors.set(executorId, executor);
    return executor;
  }

  #newTask(info: TaskInfo, queued: boolean): AgentTask {
    return {
      info,
      state: 'TASK_STAGING',
      queued,
      statuses: [],
      pending: [],
      received: new Set(),
      retryTimer: undefined,
    };
  }

  #launchExecutorTask(framework: AgentFramework, info: TaskInfo, executorInfo: ExecutorInfo): void {
    const executorId = executorInfo.executor_id.value;
    const taskId = info.task_id.value;
    let executor = framework.executors.get(executorId);
    if (executor && (executor.state === 'TERMINATING' || executor.state === 'TERMINATED')) {
      const task = this.#newTask(info, false);
      executor.tasks.set(taskId, task);
      this.#agentUpdate(executor, task, 'TASK_LOST', {
        message: 'Executor terminating',
        reason: 'REASON_EXECUTOR_TERMINATED',
      });
      return;
    }
    if (executor) {
      const task = this.#newTask(info, executor.state === 'REGISTERING');
      executor.tasks.set(taskId, task);
      if (!task.queued) executor.connection?.send({ type: 'LAUNCH', launch: { task: info } });
      return;
    }
    executor = this.#newExecutor(framework, executorId, { ...executorInfo, framework_id: { value: framework.id } });
    const task = this.#newTask(info, true);
    executor.tasks.set(taskId, task);
    const started = executor;
    const user = executorInfo.command?.user ?? framework.info.user;
    void this.#prepareContainer(started, executorInfo.container, executorInfo.command?.uris, user).then((failure) => {
      if (this.#fetcher.stopped || this.#forgotten(framework) || framework.executors.get(executorId) !== started)
        return;
      if (failure !== undefined) {
        started.pendingTermination = failure;
        this.#executorExited(framework, started, { code: null, signal: null });
      } else if (started.state === 'TERMINATING' || started.state === 'TERMINATED' || framework.terminating) {
        // Shut down (its tasks killed, its framework removed) while its URIs were fetched.
        this.#executorExited(framework, started, { code: null, signal: null });
      } else this.#startExecutor(framework, started, executorInfo);
    });
  }

  #startExecutor(framework: AgentFramework, started: AgentExecutor, executorInfo: ExecutorInfo): void {
    this.#launch(
      started,
      executorInfo.command ?? { value: '' },
      this.#executorEnvironment(framework, started),
      (process) => {
        started.process = process;
        void process.exited.then((exit) => this.#executorExited(framework, started, exit));
        if (started.state === 'TERMINATING' || started.state === 'TERMINATED' || framework.terminating) {
          // Shut down (its tasks killed, its framework removed) while its process started: a
          // subscribed executor got SHUTDOWN and has its grace period, as in #shutdownExecutor.
          this.#timer(started, started.connection ? this.#gracePeriodOf(started) : 0, () => process.kill(0));
          return undefined;
        }
        // Subscribed already (it can be quicker than the launcher's answer): no timeout to arm.
        if (started.state !== 'REGISTERING') return undefined;
        this.#timer(started, this.#registrationTimeoutMs, () => {
          if (started.state !== 'REGISTERING' || framework.terminating) return;
          started.state = 'TERMINATING';
          started.pendingTermination = {
            state: 'TASK_FAILED',
            reason: 'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
            message: `Executor did not register within ${formatStoutDuration(this.#registrationTimeoutMs)}`,
          };
          started.process?.kill(0);
        });
        return undefined;
      },
      (error) => {
        started.pendingTermination = {
          state: 'TASK_FAILED',
          reason: 'REASON_CONTAINER_LAUNCH_FAILED',
          message: `Failed to launch container: ${error.message}`,
        };
        this.#executorExited(framework, started, { code: null, signal: null });
      },
    );
  }

  #killExecutorTask(framework: AgentFramework, executor: AgentExecutor, task: AgentTask): void {
    if (executor.state === 'TERMINATING' || executor.state === 'TERMINATED') return;
    if (!task.queued) {
      executor.connection?.send({
        type: 'KILL',
        kill: { task_id: task.info.task_id, ...(task.info.kill_policy ? { kill_policy: task.info.kill_policy } : {}) },
      });
      return;
    }
    task.queued = false;
    this.#agentUpdate(executor, task, 'TASK_KILLED', {
      message: 'Killed before delivery to the executor',
      reason: 'REASON_TASK_KILLED_DURING_LAUNCH',
      containerStatus: false,
    });
    const anyLeft = [...executor.tasks.values()].some((candidate) => !isTerminalState(candidate.state));
    if (!anyLeft && executor.state === 'REGISTERING') this.#shutdownExecutor(framework, executor);
  }

  // SHUTDOWN to the executor, then its process group is killed after the grace period.
  #shutdownExecutor(framework: AgentFramework, executor: AgentExecutor): void {
    if (executor.state === 'TERMINATED') {
      if (framework.terminating) this.#completeExecutor(framework, executor);
      return;
    }
    if (executor.state === 'TERMINATING' && executor.process?.hasExited !== false) return;
    executor.state = 'TERMINATING';
    this.#clearTimers(executor);
    executor.connection?.send({ type: 'SHUTDOWN' });
    const process = executor.process;
    if (!process || process.hasExited) return;
    this.#timer(executor, this.#gracePeriodOf(executor), () => process.kill(0));
  }

  #gracePeriodOf(executor: AgentExecutor): number {
    const nanos = executor.info?.shutdown_grace_period?.nanoseconds;
    return nanos === undefined ? this.#shutdownGraceMs : nanos / 1e6;
  }

  #commandExited(framework: AgentFramework, executor: AgentExecutor, task: AgentTask, exit: CommandExit): void {
    executor.state = 'TERMINATED';
    this.#clearTimers(executor);
    if (framework.terminating) {
      if (!isTerminalState(task.state)) task.state = 'TASK_KILLED';
      this.#completeExecutor(framework, executor);
      return;
    }
    const message = describeExit(exit);
    const limit = executor.pendingTermination;
    if (limit) this.#agentUpdate(executor, task, limit.state, { message: limit.message, reason: limit.reason });
    else if (executor.killing) this.#agentUpdate(executor, task, 'TASK_KILLED', { message, source: 'SOURCE_EXECUTOR' });
    else if (exit.code === 0 && exit.signal === null) {
      this.#agentUpdate(executor, task, 'TASK_FINISHED', { message, source: 'SOURCE_EXECUTOR' });
    } else {
      this.#agentUpdate(executor, task, 'TASK_FAILED', {
        message,
        reason: 'REASON_COMMAND_EXECUTOR_FAILED',
        source: 'SOURCE_EXECUTOR',
      });
    }
  }

  // Mesos' Slave::executorTerminated: every task the executor left unfinished fails (or what the
  // termination says), from the agent; the master hears that the executor is gone.
  #executorExited(framework: AgentFramework, executor: AgentExecutor, exit: CommandExit): void {
    executor.state = 'TERMINATED';
    this.#clearTimers(executor);
    executor.connection?.end();
    executor.connection = undefined;
    if (!framework.terminating && !this.#stopped) {
      const termination = executor.pendingTermination;
      for (const task of executor.tasks.values()) {
        if (isTerminalState(task.state)) continue;
        task.queued = false;
        this.#agentUpdate(executor, task, termination?.state ?? 'TASK_FAILED', {
          message: termination?.message ?? 'Executor terminated',
          reason: termination?.reason ?? 'REASON_EXECUTOR_TERMINATED',
        });
      }
    }
    this.#uplink.executorTerminated?.(this.id, framework.id, executor.id, waitStatusOf(exit));
    const incomplete = [...executor.tasks.values()].some((task) => task.pending.length > 0);
    if (framework.terminating || !incomplete) this.#completeExecutor(framework, executor);
  }

  // An update from the executor (UPDATE, or listed again in a SUBSCRIBE). Returns the
  // ACKNOWLEDGED event for the executor, also for an update already received.
  #executorStatus(framework: AgentFramework, executor: AgentExecutor, status: TaskStatus): ExecutorEvent | undefined {
    const taskId = status.task_id.value;
    let task = executor.tasks.get(taskId);
    if (!task) {
      // Mesos forwards updates of tasks it does not know too (e.g. after their completion).
      task = this.#newTask({ name: '', task_id: status.task_id, agent_id: { value: this.id } }, false);
      executor.tasks.set(taskId, task);
    }
    const acknowledged: ExecutorEvent = {
      type: 'ACKNOWLEDGED',
      acknowledged: { task_id: status.task_id, uuid: status.uuid ?? new Uint8Array() },
    };
    if (task.received.has(hex(status.uuid))) return acknowledged;
    task.queued = false;
    if (framework.terminating) return acknowledged;
    this.#statusUpdate(executor, task, {
      ...status,
      agent_id: { value: this.id },
      executor_id: { value: executor.id },
      timestamp: status.timestamp ?? Date.now() / 1000,
      source: 'SOURCE_EXECUTOR',
      // The agent merges the container's status into the executor's, as Mesos' does.
      container_status: {
        ...this.#containerStatus(executor),
        ...status.container_status,
        network_infos: [
          ...(this.#containerStatus(executor).network_infos ?? []),
          ...(status.container_status?.network_infos ?? []),
        ],
      },
    });
    return acknowledged;
  }

  // An update the agent itself makes (source SOURCE_AGENT unless told otherwise).
  #agentUpdate(
    executor: AgentExecutor,
    task: AgentTask,
    state: TaskState,
    extra: {
      message?: string;
      reason?: TaskStatusReason;
      source?: TaskStatus['source'];
      containerStatus?: boolean;
    } = {},
  ): void {
    const status: TaskStatus = {
      task_id: { value: task.info.task_id.value },
      state,
      ...(extra.message === undefined ? {} : { message: extra.message }),
      source: extra.source ?? 'SOURCE_AGENT',
      ...(extra.reason === undefined ? {} : { reason: extra.reason }),
      agent_id: { value: this.id },
      executor_id: { value: executor.id },
      timestamp: Date.now() / 1000,
      uuid: randomUuidBytes(),
      ...(extra.containerStatus === false ? {} : { container_status: this.#containerStatus(executor) }),
    };
    this.#statusUpdate(executor, task, status);
  }

  #containerStatus(executor: AgentExecutor): NonNullable<TaskStatus['container_status']> {
    return {
      container_id: { value: executor.containerId },
      network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '127.0.0.1' }] }],
      ...(executor.process && executor.process.pid > 0 ? { executor_pid: executor.process.pid } : {}),
    };
  }

  #statusUpdate(executor: AgentExecutor, task: AgentTask, status: TaskStatus): void {
    task.received.add(hex(status.uuid));
    task.state = status.state;
    task.statuses.push(status);
    task.pending.push(status);
    if (task.pending.length === 1) this.#send(executor, task);
  }

  #send(executor: AgentExecutor, task: AgentTask): void {
    const head = task.pending[0];
    if (!head) return;
    const forward = (): void => this.#uplink.statusUpdate(this.id, executor.frameworkId, head);
    forward();
    clearInterval(task.retryTimer);
    task.retryTimer = setInterval(forward, this.#retryMs);
    task.retryTimer.unref();
  }

  #completeTask(framework: AgentFramework, executor: AgentExecutor, task: AgentTask): void {
    if (executor.tasks.get(task.info.task_id.value) !== task) return;
    executor.tasks.delete(task.info.task_id.value);
    this.#keepCompletedTasks(executor, [task]);
    if (executor.state === 'TERMINATED' && executor.tasks.size === 0) this.#completeExecutor(framework, executor);
  }

  #completeExecutor(framework: AgentFramework, executor: AgentExecutor): void {
    if (framework.executors.get(executor.id) !== executor) return;
    for (const task of executor.tasks.values()) clearInterval(task.retryTimer);
    this.#keepCompletedTasks(executor, [...executor.tasks.values()]);
    executor.tasks.clear();
    // Nothing reads the process of a completed executor: let its ChildProcess go.
    if (executor.process?.hasExited) executor.process = undefined;
    framework.executors.delete(executor.id);
    framework.completedExecutors.push(executor);
    // As Mesos' bounded buffer: the oldest completed executors leave memory (not the disk).
    if (framework.completedExecutors.length > this.#maxCompletedExecutors) {
      framework.completedExecutors.splice(0, framework.completedExecutors.length - this.#maxCompletedExecutors);
    }
    // Mesos' Slave::removeExecutor: a framework with no executor left is removed (completed).
    if (framework.executors.size === 0) this.#completeFramework(framework);
  }

  #keepCompletedTasks(executor: AgentExecutor, tasks: readonly AgentTask[]): void {
    executor.completedTasks.push(...tasks);
    if (executor.completedTasks.length > MAX_COMPLETED_TASKS_PER_EXECUTOR) {
      executor.completedTasks.splice(0, executor.completedTasks.length - MAX_COMPLETED_TASKS_PER_EXECUTOR);
    }
  }

  // Moves a framework without executors to the completed ones, of which the oldest beyond the
  // bound are dropped (their sandboxes stay on disk, as Mesos leaves them to its GC).
  #completeFramework(framework: AgentFramework): void {
    if (this.#frameworks.get(framework.id) !== framework || framework.executors.size > 0) return;
    this.#frameworks.delete(framework.id);
    this.#completedFrameworks.push(framework);
    if (this.#completedFrameworks.length > this.#maxCompletedFrameworks) {
      this.#completedFrameworks.splice(0, this.#completedFrameworks.length - this.#maxCompletedFrameworks);
    }
  }

  #executorOfTask(framework: AgentFramework | undefined, taskId: string): AgentExecutor | undefined {
    for (const executor of framework?.executors.values() ?? []) if (executor.tasks.has(taskId)) return executor;
    return undefined;
  }

  #timer(executor: AgentExecutor, ms: number, callback: () => void): void {
    const timer = setTimeout(() => {
      executor.timers.delete(timer);
      callback();
    }, ms);
    timer.unref();
    executor.timers.add(timer);
  }

  #clearTimers(executor: AgentExecutor): void {
    for (const timer of executor.timers) clearTimeout(timer);
    executor.timers.clear();
    clearInterval(executor.heartbeat);
    executor.heartbeat = undefined;
  }

  #executorInfoOf(executor: AgentExecutor): ExecutorInfo {
    return executor.info ?? { executor_id: { value: executor.id }, framework_id: { value: executor.frameworkId } };
  }

  #agentInfo() {
    return {
      hostname: this.hostname,
      port: this.#port,
      id: { value: this.id },
      resources: [...this.resources],
      ...(this.attributes.length > 0 ? { attributes: [...this.attributes] } : {}),
    };
  }

  // The environment Mesos' executorEnvironment() and containerizer give an executor (and, for
  // a command task, its command executor, whose command inherits it).
  #executorEnvironment(framework: AgentFramework, executor: AgentExecutor): Record<string, string> {
    const checkpoint = framework.info.checkpoint === true;
    return {
      LIBPROCESS_PORT: '0',
      MESOS_FRAMEWORK_ID: framework.id,
      MESOS_EXECUTOR_ID: executor.id,
      MESOS_DIRECTORY: executor.directory,
      MESOS_SANDBOX: executor.directory,
      MESOS_SLAVE_ID: this.id,
      MESOS_SLAVE_PID: this.pid,
      MESOS_AGENT_ENDPOINT: `127.0.0.1:${this.#port}`,
      MESOS_CHECKPOINT: checkpoint ? '1' : '0',
      MESOS_HTTP_COMMAND_EXECUTOR: '0',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: formatStoutDuration(this.#gracePeriodOf(executor)),
      ...(checkpoint
        ? {
            MESOS_RECOVERY_TIMEOUT: formatStoutDuration(this.#recoveryTimeoutMs),
            MESOS_SUBSCRIPTION_BACKOFF_MAX: formatStoutDuration(this.#reregistrationTimeoutMs),
          }
        : {}),
    };
  }

  // The cgroups memory isolator, coarsely: a container whose process group holds more resident
  // memory than its tasks' and executor's `mem` is destroyed, its tasks fail.
  async #checkMemory(): Promise<void> {
    const live = new Map<number, { framework: AgentFramework; executor: AgentExecutor; limitMb: number }>();
    for (const framework of this.#frameworks.values()) {
      for (const executor of framework.executors.values()) {
        const process = executor.process;
        if (!process || process.hasExited || process.pid <= 0 || executor.pendingTermination) continue;
        const tasks = [...executor.tasks.values()].filter((task) => !isTerminalState(task.state));
        const limitMb =
          (executor.commandTask ? COMMAND_EXECUTOR_MEM_MB : memMb(executor.info?.resources)) +
          tasks.reduce((sum, task) => sum + memMb(task.info.resources), 0);
        if (limitMb > 0) live.set(process.pid, { framework, executor, limitMb });
      }
    }
    const usage = await sampleGroupMemory(new Set(live.keys()));
    for (const [group, bytes] of usage) {
      const container = live.get(group);
      if (!container) continue;
      const limitBytes = Math.round(container.limitMb * 1024 * 1024);
      const { executor } = container;
      if (bytes <= limitBytes || executor.pendingTermination || executor.process?.hasExited !== false) continue;
      executor.pendingTermination = {
        state: 'TASK_FAILED',
        reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
        message: `Memory limit exceeded: Requested: ${formatBytes(limitBytes)} Maximum Used: ${formatBytes(bytes)}`,
      };
      if (executor.state !== 'TERMINATED') executor.state = 'TERMINATING';
      executor.process.kill(0);
    }
  }

  #frameworkJson(framework: AgentFramework): Record<string, unknown> {
    return {
      id: framework.id,
      name: framework.info.name,
      user: framework.info.user,
      failover_timeout: framework.info.failover_timeout ?? 0,
      checkpoint: framework.info.checkpoint ?? false,
      hostname: framework.info.hostname ?? '',
      roles: framework.info.roles ?? [framework.info.role ?? '*'],
      executors: [...framework.executors.values()].map((executor) => this.#executorJson(executor)),
      completed_executors: framework.completedExecutors.map((executor) => this.#executorJson(executor)),
    };
  }

  #taskJson(executor: AgentExecutor, task: AgentTask): Record<string, unknown> {
    return {
      id: task.info.task_id.value,
      name: task.info.name,
      framework_id: executor.frameworkId,
      // A command task's executor is implicit: Mesos reports an empty executor id here.
      executor_id: executor.commandTask ? '' : executor.id,
      slave_id: this.id,
      state: task.state,
      resources: resourceQuantities(task.info.resources ?? []),
      role: task.info.resources?.[0]?.allocation_info?.role ?? task.info.resources?.[0]?.role ?? '*',
      statuses: task.statuses.map((status) => ({
        state: status.state,
        timestamp: status.timestamp,
        container_status: status.container_status,
      })),
    };
  }

  // Never the command or its environment: secrets stay out of every endpoint.
  #executorJson(executor: AgentExecutor): Record<string, unknown> {
    const live = [...executor.tasks.values()];
    const tasks = live.filter((task) => !task.queued && !isTerminalState(task.state));
    const queued = live.filter((task) => task.queued && !isTerminalState(task.state));
    const completed = [...executor.completedTasks, ...live.filter((task) => isTerminalState(task.state))];
    const first = live[0] ?? executor.completedTasks[0];
    const resources = resourceQuantities([
      ...(executor.info?.resources ?? []),
      ...live.filter((task) => !isTerminalState(task.state)).flatMap((task) => task.info.resources ?? []),
    ]);
    const command = first?.info.command?.value ?? '';
    return {
      id: executor.id,
      name: executor.commandTask
        ? `Command Executor (Task: ${executor.id}) (Command: sh -c '${command.slice(0, 10)}...')`
        : (executor.info?.name ?? ''),
      source: executor.commandTask ? executor.id : (executor.info?.source ?? ''),
      container: executor.containerId,
      directory: executor.directory,
      resources,
      role: first?.info.resources?.[0]?.allocation_info?.role ?? first?.info.resources?.[0]?.role ?? '*',
      tasks: tasks.map((task) => this.#taskJson(executor, task)),
      queued_tasks: queued.map((task) => this.#taskJson(executor, task)),
      completed_tasks: completed.map((task) => this.#taskJson(executor, task)),
    };
  }
}
