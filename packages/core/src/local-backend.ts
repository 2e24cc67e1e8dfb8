import { availableParallelism } from 'node:os';
import type { SchedulerBackend, SchedulerBackendEvents } from './scheduler-backend.js';
import type { TaskOutcome, TaskSpec } from './task-spec.js';

/** The part of `@spark-mesos/executor`'s `TaskRunner` the local backend uses (contract §3). */
export interface LocalTaskRunner {
  readonly slots: number;
  run(task: TaskSpec, options?: { signal?: AbortSignal }): Promise<TaskOutcome>;
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
  let runner: LocalTaskRunner | undefined;
  let events: SchedulerBackendEvents | undefined;
  const running = new Map<string, AbortController>();
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
      for (const task of tasks) {
        const controller = new AbortController();
        running.set(task.taskId, controller);
        const started = Date.now();
        runner!
          .run(task, { signal: controller.signal })
          .catch(
            (error: Error): TaskOutcome => ({
              state: 'failed',
              error: { name: error.name, message: error.message, stack: error.stack },
              durationMs: Date.now() - started,
              outputTail: '',
            }),
          )
          .then((outcome) => {
            running.delete(task.taskId);
            events?.taskEnded(executorId, task.taskId, outcome);
          });
      }
    },
    kill(_executorId, taskId, reason) {
      if (options.interruptOnKill ?? true) running.get(taskId)?.abort(new Error(reason));
    },
    async stop() {
      for (const controller of running.values()) controller.abort(new Error('the SparkContext stopped'));
      events = undefined;
      await runner?.close();
    },
  };
}
