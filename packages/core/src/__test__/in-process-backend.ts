import { deserialize, serialize } from 'node:v8';
import type { SchedulerBackend, SchedulerBackendEvents, SchedulerDemand } from '../scheduler-backend.js';
import type { TaskOutcome, TaskSpec } from '../task-spec.js';

/**
 * A test double of a backend: it runs each TaskSpec in this thread the way the executor's task
 * runner does (evaluate the source, `fn(input, captured, context)`, `v8.serialize` the value),
 * with hooks to fail tasks and lose executors. Never shipped; `local[N]` uses the real runner.
 */
export interface InProcessBackend extends SchedulerBackend {
  /** Every task launched, in order, with the executor it went to. */
  readonly launched: Array<{ executorId: string; task: TaskSpec }>;
  /** Demand reports received. */
  readonly demands: SchedulerDemand[];
  /** Kills asked for. */
  readonly kills: string[];
  /** The events object given to start. */
  events(): SchedulerBackendEvents;
}

export interface InProcessBackendOptions {
  /** Executors to announce at start. @default one executor "exec-0" on "host-0" with 2 slots */
  executors?: Array<{ executorId: string; host: string; slots: number }>;
  /** Called before a task runs; return an outcome to use instead of running it, or 'hold' to never answer. */
  intercept?: (executorId: string, task: TaskSpec) => TaskOutcome | 'hold' | undefined;
  excludeOnFailureByDefault?: boolean;
}

export function createInProcessBackend(options: InProcessBackendOptions = {}): InProcessBackend {
  const executors = options.executors ?? [{ executorId: 'exec-0', host: 'host-0', slots: 2 }];
  let events: SchedulerBackendEvents | undefined;
  const launched: InProcessBackend['launched'] = [];
  const demands: SchedulerDemand[] = [];
  const kills: string[] = [];
  return {
    name: 'in-process test backend',
    excludeOnFailureByDefault: options.excludeOnFailureByDefault ?? false,
    launched,
    demands,
    kills,
    events: () => events!,
    defaultParallelism: () => executors.reduce((sum, executor) => sum + executor.slots, 0),
    async start(backendEvents) {
      events = backendEvents;
      for (const executor of executors) events.executorAdded(executor);
    },
    launch(executorId, tasks) {
      for (const task of tasks) {
        launched.push({ executorId, task });
        const intercepted = options.intercept?.(executorId, task);
        if (intercepted === 'hold') continue;
        const outcome = intercepted !== undefined ? Promise.resolve(intercepted) : runTask(task);
        // Asynchronous, as a real runner answers.
        void outcome.then((result) => setImmediate(() => events?.taskEnded(executorId, task.taskId, result)));
      }
    },
    kill(_executorId, taskId) {
      kills.push(taskId);
    },
    demandChanged(demand) {
      demands.push(demand);
    },
    async stop() {
      events = undefined;
    },
  };
}

/** Runs a task the way contract §3 describes. */
export async function runTask(task: TaskSpec): Promise<TaskOutcome> {
  const started = Date.now();
  try {
    if (task.function.kind !== 'source') throw new Error('module functions are not supported by the test backend');
    const fn = new Function(`"use strict"; return (${task.function.source}\n);`)() as (
      input: unknown,
      captured: unknown,
      context: unknown,
    ) => unknown;
    const value = await fn(deserialize(task.input), deserialize(task.captured), {
      taskId: task.taskId,
      stageId: task.stageId,
      partition: task.partition,
      attempt: task.attempt,
    });
    return { state: 'finished', result: serialize(value), durationMs: Date.now() - started, outputTail: '' };
  } catch (error) {
    const { name, message, stack } = error as Error;
    return { state: 'failed', error: { name, message, stack }, durationMs: Date.now() - started, outputTail: '' };
  }
}
