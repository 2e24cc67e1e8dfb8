import { availableParallelism } from 'node:os';
import type { SchedulerBackend, SchedulerBackendEvents } from './scheduler-backend.js';
import type { TaskOutcome, TaskSpec } from './task-spec.js';

/** The part of `@spark-mesos/executor`'s `TaskRunner` the local backend uses (contract §3). */
export interface LocalTaskRunner {
  readonly slots: number;
  run(task: TaskSpec, options?: { signal?: AbortSignal }): Promise<TaskOutcome>;
  /**
   * Like `run`, with a callback instead of a promise. When the runner has it (and `kill`), the
   * backend uses it: no promise, closure or `AbortController` per task.
   * @default undefined (`run` with an `AbortSignal` per task)
   */
  submit?(task: TaskSpec, onOutcome: (outcome: TaskOutcome, task: TaskSpec) => void): void;
  /** Kills a queued or running task by id; false when no such task is pending. @default undefined */
  kill?(taskId: string, reason: string): boolean;
  close(): Promise<void>;
}

/** Options of {@link createLocalBackend}. */
export interface LocalBackendOptions {
  /** Worker threads, or `'*'` for one per logical CPU (`os.availableParallelism()`). */
  threads: number | '*';
  /** Makes the task runner (the executor package's `createTaskRunner`). */
  createTaskRunner: (options: { slots: number }) => LocalTaskRunner;
  /** The name shown in messages. @default `local[N]` */
  name?: string;
  /**
   * Whether `kill` (a task of an aborted job) stops the task at once: dropped if still queued,
   * its worker terminated and replaced if running, so its slot is free again. With `false` the
   * task runs to its end and its result is dropped, as in Spark without
   * `spark.job.interruptOnCancel`, and its slot stays taken until then.
   * @default true
   */
  interruptOnKill?: boolean;
}

/** The executor id of the driver process's worker threads, as Spark names it. */
export const LOCAL_EXECUTOR_ID = 'driver';

/**
 * `local`, `local[N]` and `local[*]`: one executor, the driver process itself, whose slots are
 * worker threads of the executor package's task runner.
 */
export function createLocalBackend(options: LocalBackendOptions): SchedulerBackend {
  const threads = options.threads === '*' ? availableParallelism() : options.threads;
  const name = options.name ?? `local[${options.threads}]`;
  const interruptOnKill = options.interruptOnKill ?? true;
  let runner: LocalTaskRunner | undefined;
  let events: SchedulerBackendEvents | undefined;
  /** With a runner without `submit`: the tasks launched and not ended, each with its signal. */
  const running = new Map<string, AbortController>();
  /** With a runner with `submit`: the tasks launched and not ended. */
  const submitted = new Set<string>();
  /**
   * Set while this backend calls the runner: an outcome the runner settles at once (a queued task
   * killed, a closed runner) is reported on a later microtask, as `run`'s promise did, never from
   * within the task scheduler's own `launch` or `kill` call.
   */
  let callingRunner = false;
  // One callback for every task (the runner hands the task back), so a task costs no closure.
  const onOutcome = (outcome: TaskOutcome, task: TaskSpec): void => {
    if (callingRunner) {
      queueMicrotask(() => onOutcome(outcome, task));
      return;
    }
    submitted.delete(task.taskId);
    events?.taskEnded(LOCAL_EXECUTOR_ID, task.taskId, outcome);
  };
  const failedOutcome = (error: Error, started: number): TaskOutcome => ({
    state: 'failed',
    error: { name: error.name, message: error.message, stack: error.stack },
    durationMs: Date.now() - started,
    outputTail: '',
  });

  function runWithSignal(executorId: string, task: TaskSpec): void {
    const controller = new AbortController();
    running.set(task.taskId, controller);
    const started = Date.now();
    runner!
      .run(task, { signal: controller.signal })
      .catch((error: Error) => failedOutcome(error, started))
      .then((outcome) => {
        running.delete(task.taskId);
        events?.taskEnded(executorId, task.taskId, outcome);
      });
  }

  return {
    name,
    excludeOnFailureByDefault: false,
    defaultParallelism: () => threads,
    async start(backendEvents) {
      events = backendEvents;
      runner = options.createTaskRunner({ slots: threads });
      events.executorAdded({ executorId: LOCAL_EXECUTOR_ID, host: 'localhost', slots: threads });
    },
    launch(executorId, tasks) {
      const taskRunner = runner!;
      if (taskRunner.submit === undefined || taskRunner.kill === undefined) {
        for (const task of tasks) runWithSignal(executorId, task);
        return;
      }
      callingRunner = true;
      try {
        for (const task of tasks) {
          submitted.add(task.taskId);
          try {
            taskRunner.submit(task, onOutcome);
          } catch (error) {
            // The executor's runner never throws here; a custom one may: reported as `run`'s rejection was.
            onOutcome(failedOutcome(error as Error, Date.now()), task);
          }
        }
      } finally {
        callingRunner = false;
      }
    },
    kill(_executorId, taskId, reason) {
      if (!interruptOnKill) return;
      if (!submitted.has(taskId)) {
        running.get(taskId)?.abort(new Error(reason));
        return;
      }
      callingRunner = true;
      try {
        runner?.kill?.(taskId, reason);
      } finally {
        callingRunner = false;
      }
    },
    async stop() {
      // Outcomes of the tasks stopped here are not reported (the scheduler has stopped).
      events = undefined;
      for (const controller of running.values()) controller.abort(new Error('the SparkContext stopped'));
      for (const taskId of [...submitted]) runner?.kill?.(taskId, 'the SparkContext stopped');
      await runner?.close();
    },
  };
}
