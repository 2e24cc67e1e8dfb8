import type { TaskOutcome, TaskSpec } from './task-spec.js';

/** An executor as the task scheduler sees it: where it runs and how many tasks it takes at once. */
export interface ExecutorDescription {
  /** Unique for the application's lifetime (never reused after a loss). */
  readonly executorId: string;
  /** The host (agent hostname) it runs on; exclusion of a host applies to every executor on it. */
  readonly host: string;
  /** The Mesos agent id, when there is one. */
  readonly agentId?: string;
  /** How many tasks it runs at once (cores / `spark.task.cpus`). */
  readonly slots: number;
}

/**
 * How a backend reports to the task scheduler. Calls may come at any time after
 * {@link SchedulerBackend.start} was called, from any callback of the backend.
 */
export interface SchedulerBackendEvents {
  /** An executor can take tasks. */
  executorAdded(executor: ExecutorDescription): void;
  /**
   * The executor's capacity changed (a fine-grained backend grows an executor when it accepts
   * an offer on its agent, and shrinks it when it gives resources back).
   */
  executorSlotsChanged(executorId: string, slots: number): void;
  /**
   * The executor is gone. Its running tasks are resubmitted elsewhere; they count as a failure of
   * the task only when `causedByApp` is true (Spark's `ExecutorLostFailure.exitCausedByApp`).
   */
  executorLost(executorId: string, reason: string, options?: { causedByApp?: boolean }): void;
  /** A task launched with {@link SchedulerBackend.launch} ended. */
  taskEnded(executorId: string, taskId: string, outcome: TaskOutcome): void;
  /** No task can run (e.g. executors cannot be started): the running jobs fail with `error`. */
  backendFailed?(error: Error): void;
}

/** What the task scheduler currently wants, for backends that acquire resources on demand. */
export interface SchedulerDemand {
  /** Tasks waiting for a slot. */
  readonly pendingTasks: number;
  /** Tasks running. */
  readonly runningTasks: number;
  /** Hosts excluded after repeated failures: a Mesos backend declines their offers. */
  readonly excludedHosts: ReadonlySet<string>;
}

/**
 * Runs tasks somewhere: worker threads of the driver (`local[N]`) or executors on Mesos agents.
 *
 * There are no resource offers at this level: the backend says which executors exist and how
 * many slots each has, the task scheduler decides which task runs where and calls
 * {@link launch}, and the backend reports outcomes and losses. A Mesos backend turns
 * {@link demandChanged} into REVIVE/SUPPRESS and sizes what it accepts with the offer matcher:
 *
 * - coarse-grained: executors launched from accepted offers register through the executor
 *   package's driver endpoint; each registration is an {@link SchedulerBackendEvents.executorAdded}
 *   with `slots = cores / spark.task.cpus`; `launch` becomes `endpoint.launch`, outcomes and
 *   losses come from the endpoint's events (and Mesos status updates of the executor's task);
 * - fine-grained: pending demand drives `planOffers` with fine-grained demand; each accepted
 *   offer grows the agent's executor (`executorAdded` the first time, then
 *   `executorSlotsChanged`), `launch` turns each task into a Mesos TaskInfo on the resources
 *   accepted for it, and slots go back to zero when their tasks end.
 *
 * Two guarantees the fine-grained backend relies on: while tasks are pending, the task scheduler
 * calls {@link SchedulerBackend.launch} synchronously from within `executorAdded` /
 * `executorSlotsChanged` (so the backend knows, before it answers the offer, which tasks go on
 * the resources it just announced, and can decline the rest and lower the slots again); and it
 * fills slots again from within `taskEnded`, so a backend whose slot disappears with the task
 * lowers the slots first, then reports the outcome.
 */
export interface SchedulerBackend {
  /** A short name for messages, e.g. `local[2]`. */
  readonly name: string;
  /** Starts the backend; events flow to `events` from now on. Resolves once it can take tasks. */
  start(events: SchedulerBackendEvents): Promise<void>;
  /** The default number of partitions when `spark.default.parallelism` is not set. */
  defaultParallelism(): number;
  /** Whether the task scheduler should exclude executors and hosts after failures by default. */
  readonly excludeOnFailureByDefault: boolean;
  /** Runs tasks on an executor that reported free slots for them. */
  launch(executorId: string, tasks: readonly TaskSpec[]): void;
  /** Asks an executor to kill a task (its outcome still arrives through `taskEnded`). */
  kill(executorId: string, taskId: string, reason: string): void;
  /** Called whenever the task scheduler's demand changes. @default ignored */
  demandChanged?(demand: SchedulerDemand): void;
  /** Stops every executor and releases resources. */
  stop(): Promise<void>;
  /**
   * No job runs: the backend's handles (connections, servers, timers, child processes) stop
   * keeping the Node process alive, as `socket.unref()`, while it keeps serving (offers are
   * still declined, losses still reported) as long as something else keeps the process
   * running. So a program that never calls `sc.stop()` ends when its own work does; the
   * context then stops at `beforeExit`. @default nothing to unref
   */
  unref?(): void;
  /** A job starts, or the context stops: the backend's handles keep the process alive again. @default nothing to ref */
  ref?(): void;
}
