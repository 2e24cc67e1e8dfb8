import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Attribute, FrameworkInfo, Resource, TaskInfo, TaskState, TaskStatus } from '@spark-mesos/mesos-client';
import { createAgentHttpHandler } from './agent-http.js';
import { type CommandTask, describeExit, startCommandTask } from './command-task.js';
import { AgentFetcher, type AgentFetcherOptions } from './fetcher.js';
import { attributeValues, resourceQuantities } from './resources.js';

/**
 * An in-process Mesos agent: runs command tasks as child processes in sandboxes, and delivers
 * their status updates reliably (re-sent with the same uuid until acknowledged, in order per
 * task), as the agent's status update manager does.
 *
 * @see https://mesos.apache.org/documentation/latest/high-availability-framework-guide/
 * @module
 */

/** Where an agent sends status updates: the master. */
export interface AgentUplink {
  /** A status update of a task of framework `frameworkId` (possibly a re-send, same uuid). */
  statusUpdate(agentId: string, frameworkId: string, status: TaskStatus): void;
}

/** Options of {@link LocalAgent}. */
export interface LocalAgentOptions {
  /** The agent id, `<masterId>-S<n>`. */
  readonly id: string;
  /** Total resources. */
  readonly resources: readonly Resource[];
  /** Attributes. @default [] */
  readonly attributes?: readonly Attribute[];
  /** The agent's work directory (sandboxes live below it). */
  readonly workDir: string;
  /** Where status updates go. */
  readonly uplink: AgentUplink;
  /** Re-send period of an unacknowledged status update, in milliseconds. @default 10000 */
  readonly statusUpdateRetryMs?: number;
  /** The fetcher's cache directory, s3/hdfs fetchers, … @default cache in `<workDir>/fetch`, file/http/https only */
  readonly fetcher?: AgentFetcherOptions;
}

/** Grace period between SIGTERM and SIGKILL when the task has no kill policy (Mesos' default). */
const DEFAULT_KILL_GRACE_MS = 3000;

const TERMINAL: ReadonlySet<TaskState> = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
]);

/** Whether a task state is terminal. */
export function isTerminalState(state: TaskState | undefined): boolean {
  return state !== undefined && TERMINAL.has(state);
}

interface AgentExecutor {
  readonly id: string;
  readonly frameworkId: string;
  readonly task: TaskInfo;
  readonly runId: string;
  readonly directory: string;
  state: TaskState;
  readonly statuses: TaskStatus[];
  process: CommandTask | undefined;
  // Updates not yet acknowledged: the head is in flight, the rest wait their turn.
  readonly pending: TaskStatus[];
  retryTimer: NodeJS.Timeout | undefined;
  killing: boolean;
}

interface AgentFramework {
  readonly id: string;
  readonly info: FrameworkInfo;
  readonly executors: Map<string, AgentExecutor>;
  readonly completedExecutors: AgentExecutor[];
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
  readonly #frameworks = new Map<string, AgentFramework>();
  readonly #completedFrameworks: AgentFramework[] = [];
  readonly #server: Server;
  readonly #fetcher: AgentFetcher;
  #port = 0;
  readonly startTime = Date.now() / 1000;

  constructor(options: LocalAgentOptions) {
    this.id = options.id;
    this.resources = options.resources;
    this.attributes = options.attributes ?? [];
    this.workDir = options.workDir;
    this.#uplink = options.uplink;
    this.#retryMs = options.statusUpdateRetryMs ?? 10_000;
    this.#server = createServer(createAgentHttpHandler(this));
    this.#fetcher = new AgentFetcher(options.workDir, options.fetcher);
  }

  /** Listens on 127.0.0.1 (a free port). */
  async start(): Promise<void> {
    mkdirSync(this.workDir, { recursive: true });
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
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

  /** Launches a command task of framework `framework` (its `id` set). */
  launchTask(framework: FrameworkInfo & { id: { value: string } }, task: TaskInfo): void {
    const frameworkId = framework.id.value;
    let agentFramework = this.#frameworks.get(frameworkId);
    if (!agentFramework) {
      const completed = this.#completedFrameworks.findIndex((candidate) => candidate.id === frameworkId);
      agentFramework =
        completed >= 0
          ? (this.#completedFrameworks.splice(completed, 1)[0] as AgentFramework)
          : { id: frameworkId, info: framework, executors: new Map(), completedExecutors: [] };
      this.#frameworks.set(frameworkId, agentFramework);
    }
    const taskId = task.task_id.value;
    const runId = randomUUID();
    const directory = join(this.workDir, 'frameworks', frameworkId, 'executors', taskId, 'runs', runId);
    mkdirSync(directory, { recursive: true });
    const executor: AgentExecutor = {
      id: taskId,
      frameworkId,
      task,
      runId,
      directory,
      state: 'TASK_STAGING',
      statuses: [],
      process: undefined,
      pending: [],
      retryTimer: undefined,
      killing: false,
    };
    agentFramework.executors.set(taskId, executor);
    // Like Mesos' containerizer, the URIs are fetched before the command starts: the task stays
    // STAGING meanwhile, and a failed fetch fails the launch.
    const user = task.command?.user ?? framework.user;
    void this.#fetcher.fetch(task.command?.uris, directory, runId, user).then((failure) => {
      if (this.#fetcher.stopped || agentFramework.executors.get(taskId) !== executor) return;
      if (executor.killing) {
        this.#update(executor, 'TASK_KILLED', { reason: 'REASON_TASK_KILLED_DURING_LAUNCH', source: 'SOURCE_AGENT' });
      } else if (failure !== undefined) {
        this.#update(executor, 'TASK_FAILED', {
          message: failure,
          reason: 'REASON_CONTAINER_LAUNCH_FAILED',
          source: 'SOURCE_AGENT',
        });
      } else this.#startCommand(executor);
    });
  }

  #startCommand(executor: AgentExecutor): void {
    const { task, directory, frameworkId, id: taskId } = executor;
    try {
      executor.process = startCommandTask({
        command: task.command ?? { value: '' },
        sandbox: directory,
        env: {
          MESOS_SANDBOX: directory,
          MESOS_DIRECTORY: directory,
          MESOS_TASK_ID: taskId,
          MESOS_FRAMEWORK_ID: frameworkId,
          MESOS_EXECUTOR_ID: taskId,
          MESOS_AGENT_ID: this.id,
          MESOS_AGENT_ENDPOINT: `127.0.0.1:${this.#port}`,
        },
      });
    } catch (error) {
      this.#update(executor, 'TASK_FAILED', { message: `Failed to launch: ${(error as Error).message}` });
      return;
    }
    this.#update(executor, 'TASK_STARTING');
    this.#update(executor, 'TASK_RUNNING');
    const running = executor.process;
    void running.exited.then((exit) => {
      executor.process = undefined;
      const message = describeExit(exit);
      if (executor.killing) this.#update(executor, 'TASK_KILLED', { message });
      else if (exit.code === 0 && exit.signal === null) this.#update(executor, 'TASK_FINISHED', { message });
      else this.#update(executor, 'TASK_FAILED', { message, reason: 'REASON_COMMAND_EXECUTOR_FAILED' });
    });
  }

  /**
   * Kills a task: TASK_KILLING first when the framework understands it, SIGTERM, SIGKILL after
   * the task's kill policy grace period (3 s by default), then TASK_KILLED.
   */
  killTask(frameworkId: string, taskId: string): void {
    const executor = this.#frameworks.get(frameworkId)?.executors.get(taskId);
    if (!executor || executor.killing || isTerminalState(executor.state)) return;
    executor.killing = true;
    const framework = this.#frameworks.get(frameworkId);
    if (framework?.info.capabilities?.some((capability) => capability.type === 'TASK_KILLING_STATE')) {
      this.#update(executor, 'TASK_KILLING');
    }
    const nanos = executor.task.kill_policy?.grace_period?.nanoseconds;
    executor.process?.kill(nanos === undefined ? DEFAULT_KILL_GRACE_MS : nanos / 1e6);
  }

  /** An acknowledgement of the update `uuid` of a task: the next update of that task may go. */
  acknowledge(frameworkId: string, taskId: string, uuid: Uint8Array): void {
    const framework = this.#frameworks.get(frameworkId);
    const executor = framework?.executors.get(taskId);
    const head = executor?.pending[0];
    if (!framework || !executor || !head?.uuid || !Buffer.from(head.uuid).equals(Buffer.from(uuid))) return;
    executor.pending.shift();
    clearInterval(executor.retryTimer);
    executor.retryTimer = undefined;
    if (executor.pending.length > 0) this.#send(executor);
    else if (isTerminalState(executor.state)) this.#complete(framework, executor);
  }

  /** Kills every task of a framework and forgets its pending updates (framework removed). */
  shutdownFramework(frameworkId: string): void {
    const framework = this.#frameworks.get(frameworkId);
    if (!framework) return;
    for (const executor of framework.executors.values()) {
      clearInterval(executor.retryTimer);
      executor.pending.length = 0;
      executor.killing = true;
      executor.process?.kill(DEFAULT_KILL_GRACE_MS);
      if (!executor.process) this.#complete(framework, executor);
      else
        void executor.process.exited.then(() => {
          executor.state = 'TASK_KILLED';
          this.#complete(framework, executor);
        });
    }
  }

  /** Kills every task (SIGKILL, whole process groups), waits for them, closes the server. */
  async stop(): Promise<void> {
    await this.#fetcher.stop();
    const exits: Promise<unknown>[] = [];
    for (const framework of this.#frameworks.values()) {
      for (const executor of framework.executors.values()) {
        clearInterval(executor.retryTimer);
        executor.pending.length = 0;
        if (executor.process) {
          exits.push(executor.process.exited);
          executor.process.kill(0);
        }
      }
    }
    await Promise.all(exits);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The sandbox of the latest run of executor `executorId` of `frameworkId`, if known. */
  sandboxOf(frameworkId: string, executorId: string): string | undefined {
    const framework = this.#frameworks.get(frameworkId) ?? this.#completedFrameworks.find((f) => f.id === frameworkId);
    const executors = [...(framework?.executors.values() ?? []), ...(framework?.completedExecutors ?? [])];
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
      flags: { work_dir: this.workDir, port: String(this.#port) },
      frameworks: [...this.#frameworks.values()]
        .filter((framework) => framework.executors.size > 0)
        .map((framework) => this.#frameworkJson(framework)),
      completed_frameworks: [
        ...this.#completedFrameworks,
        ...[...this.#frameworks.values()].filter((framework) => framework.executors.size === 0),
      ].map((framework) => this.#frameworkJson(framework)),
    };
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

  #executorJson(executor: AgentExecutor): Record<string, unknown> {
    const resources = resourceQuantities(executor.task.resources ?? []);
    const task = {
      id: executor.id,
      name: executor.task.name,
      framework_id: executor.frameworkId,
      // A command task's executor is implicit: Mesos reports an empty executor id here.
      executor_id: '',
      slave_id: this.id,
      state: executor.state,
      resources,
      role: executor.task.resources?.[0]?.allocation_info?.role ?? executor.task.resources?.[0]?.role ?? '*',
      statuses: executor.statuses.map((status) => ({
        state: status.state,
        timestamp: status.timestamp,
        container_status: status.container_status,
      })),
    };
    const done = isTerminalState(executor.state);
    return {
      id: executor.id,
      name: `Command Executor (Task: ${executor.id}) (Command: sh -c '${(executor.task.command?.value ?? '').slice(0, 10)}...')`,
      source: executor.id,
      container: executor.runId,
      directory: executor.directory,
      resources,
      role: task.role,
      tasks: done ? [] : [task],
      queued_tasks: [],
      completed_tasks: done ? [task] : [],
    };
  }

  #update(executor: AgentExecutor, state: TaskState, extra: Partial<TaskStatus> = {}): void {
    const status: TaskStatus = {
      task_id: { value: executor.id },
      state,
      ...(extra.message === undefined ? {} : { message: extra.message }),
      source: extra.source ?? 'SOURCE_EXECUTOR',
      ...(extra.reason === undefined ? {} : { reason: extra.reason }),
      agent_id: { value: this.id },
      executor_id: { value: executor.id },
      timestamp: Date.now() / 1000,
      uuid: new Uint8Array(randomBytes(16)),
      container_status: {
        container_id: { value: executor.runId },
        network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '127.0.0.1' }] }],
        ...(executor.process && executor.process.pid > 0 ? { executor_pid: executor.process.pid } : {}),
      },
    };
    executor.state = state;
    executor.statuses.push(status);
    executor.pending.push(status);
    if (executor.pending.length === 1) this.#send(executor);
  }

  #send(executor: AgentExecutor): void {
    const head = executor.pending[0];
    if (!head) return;
    const forward = (): void => this.#uplink.statusUpdate(this.id, executor.frameworkId, head);
    forward();
    clearInterval(executor.retryTimer);
    executor.retryTimer = setInterval(forward, this.#retryMs);
    executor.retryTimer.unref();
  }

  #complete(framework: AgentFramework, executor: AgentExecutor): void {
    if (framework.executors.get(executor.id) !== executor) return;
    framework.executors.delete(executor.id);
    framework.completedExecutors.push(executor);
  }
}
