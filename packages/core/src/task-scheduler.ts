import { serialize } from 'node:v8';
import { SparkMesosError } from '@spark-mesos/errors';
import { HealthTracker, type HealthTrackerSettings } from './health-tracker.js';
import type { ExecutorDescription, SchedulerBackend, SchedulerBackendEvents } from './scheduler-backend.js';
import { describeTaskError } from './shippable-function.js';
import type { TaskFunctionSpec, TaskOutcome, TaskSpec } from './task-spec.js';

/** One task of a task set, before it has an id and an attempt. */
export interface TaskTemplate {
  /** The partition of the stage's dataset. */
  readonly partition: number;
  readonly function: TaskFunctionSpec;
  /** `v8.serialize(capturedValues)`, often shared by every task of the set. */
  readonly captured: Uint8Array;
  /** The partition's input: serialized already, or a value serialized when the task starts. */
  readonly input: Uint8Array | { readonly value: unknown };
}

/** The tasks of one stage attempt, run together. */
export interface TaskSetSubmission {
  readonly jobId: number;
  readonly stageId: number;
  readonly stageAttempt: number;
  readonly tasks: readonly TaskTemplate[];
}

/** Where a stage stands; reported on every change (for progress lines). */
export interface StageProgress {
  readonly jobId: number;
  readonly stageId: number;
  readonly stageAttempt: number;
  /** Tasks in the stage. */
  readonly totalTasks: number;
  /** Tasks finished successfully. */
  readonly finishedTasks: number;
  /** Task attempts running now. */
  readonly runningTasks: number;
  /** Failed task attempts so far. */
  readonly failedAttempts: number;
  readonly state: 'running' | 'succeeded' | 'failed';
}

/** Options of {@link TaskScheduler}. */
export interface TaskSchedulerOptions {
  /** Failures of one task before its job fails (`spark.task.maxFailures`). @default 4 */
  maxFailures?: number;
  /** Exclusion after failures. @default disabled */
  healthTracker?: HealthTrackerSettings;
  /** The clock exclusions expire by. @default Date.now */
  now?: () => number;
  /**
   * With exclusion on, how long a task set may wait while one of its tasks is excluded on every
   * executor there is, before it is aborted
   * (`spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout`). @default 120_000
   */
  unschedulableTaskSetTimeoutMs?: number;
  /** Called on every change of a stage's progress. @default none */
  onProgress?: (progress: StageProgress) => void;
}

/**
 * Task failures of the executor's runtime that every retry would repeat (Spark aborts at once on
 * a result it cannot serialize too).
 */
const DETERMINISTIC_FAILURE_CODES = new Set([
  'SM_ERR_TASK_BAD_SOURCE',
  'SM_ERR_TASK_BAD_PAYLOAD',
  'SM_ERR_TASK_RESULT_NOT_SERIALIZABLE',
]);

/** How many characters of a task's output a job failure quotes. */
const OUTPUT_TAIL_CHARACTERS = 2000;

interface ExecutorState {
  readonly description: ExecutorDescription;
  slots: number;
  readonly running: Set<string>;
}

interface RunningTask {
  readonly set: TaskSetManager;
  readonly index: number;
  readonly executorId: string;
  readonly attempt: number;
  readonly tid: number;
}

class TaskSetManager {
  /** First attempts, in partition order, taken from `nextFresh` on. */
  nextFresh = 0;
  /** Tasks to run again (few, so scanning them is cheap). */
  readonly retries: number[] = [];
  readonly attempts: number[];
  readonly failures: number[];
  readonly failedOn: Array<Map<string, number>>;
  readonly results: Array<Uint8Array | undefined>;
  readonly lastFailure: Array<string | undefined>;
  readonly running = new Set<string>();
  /** Set while a task of this set cannot run on any executor because of exclusions. */
  unschedulableTimer: NodeJS.Timeout | undefined;
  finished = 0;
  failedAttempts = 0;
  done = false;

  constructor(
    readonly submission: TaskSetSubmission,
    readonly resolve: (results: Uint8Array[]) => void,
    readonly reject: (error: Error) => void,
  ) {
    const count = submission.tasks.length;
    this.attempts = new Array<number>(count).fill(0);
    this.failures = new Array<number>(count).fill(0);
    this.failedOn = Array.from({ length: count }, () => new Map());
    this.results = new Array<Uint8Array | undefined>(count);
    this.lastFailure = new Array<string | undefined>(count);
  }

  get pendingCount(): number {
    return this.submission.tasks.length - this.nextFresh + this.retries.length;
  }

  get name(): string {
    return `stage ${this.submission.stageId}.${this.submission.stageAttempt}`;
  }
}

/**
 * Runs task sets on a {@link SchedulerBackend}: FIFO across task sets, tasks spread over the free
 * slots, failed tasks retried up to `maxFailures` times (avoiding the executors they failed on
 * when exclusion is enabled), tasks of a lost executor resubmitted, and a job failure that
 * quotes the task's error, stack and output tail.
 */
export class TaskScheduler {
  readonly #backend: SchedulerBackend;
  readonly #maxFailures: number;
  readonly #health: HealthTracker;
  readonly #now: () => number;
  readonly #unschedulableTimeoutMs: number;
  readonly #onProgress: ((progress: StageProgress) => void) | undefined;
  readonly #executors = new Map<string, ExecutorState>();
  readonly #sets: TaskSetManager[] = [];
  readonly #running = new Map<string, RunningTask>();
  #nextTid = 0;
  #stopped = false;
  #lastDemand = '';

  constructor(backend: SchedulerBackend, options: TaskSchedulerOptions = {}) {
    this.#backend = backend;
    this.#maxFailures = options.maxFailures ?? 4;
    this.#health = new HealthTracker(
      options.healthTracker ?? {
        enabled: false,
        maxTaskAttemptsPerExecutor: 1,
        maxFailedTasksPerExecutor: 2,
        maxFailedExecutorsPerNode: 2,
        timeoutMs: 3_600_000,
      },
    );
    this.#now = options.now ?? Date.now;
    this.#unschedulableTimeoutMs = options.unschedulableTaskSetTimeoutMs ?? 120_000;
    this.#onProgress = options.onProgress;
  }

  #report(set: TaskSetManager, state: StageProgress['state'] = 'running'): void {
    if (!this.#onProgress) return;
    const { jobId, stageId, stageAttempt, tasks } = set.submission;
    this.#onProgress({
      jobId,
      stageId,
      stageAttempt,
      totalTasks: tasks.length,
      finishedTasks: set.finished,
      runningTasks: set.running.size,
      failedAttempts: set.failedAttempts,
      state,
    });
  }

  /** The events object to hand to {@link SchedulerBackend.start}. */
  readonly events: SchedulerBackendEvents = {
    executorAdded: (executor) => {
      // A repeated announcement updates the executor; its running tasks stay accounted for.
      const running = this.#executors.get(executor.executorId)?.running ?? new Set<string>();
      this.#executors.set(executor.executorId, { description: executor, slots: executor.slots, running });
      this.#schedule();
    },
    executorSlotsChanged: (executorId, slots) => {
      const executor = this.#executors.get(executorId);
      if (!executor) return;
      executor.slots = slots;
      this.#schedule();
    },
    executorLost: (executorId, reason, options) => this.#executorLost(executorId, reason, options?.causedByApp ?? true),
    taskEnded: (executorId, taskId, outcome) => this.#taskEnded(executorId, taskId, outcome),
    backendFailed: (error) => {
      for (const set of [...this.#sets]) this.#abort(set, error);
    },
  };

  /** The executors known now. */
  executors(): ExecutorDescription[] {
    return [...this.#executors.values()].map((executor) => ({ ...executor.description, slots: executor.slots }));
  }

  /** Runs a task set; resolves with each task's serialized result, in task order. */
  submit(submission: TaskSetSubmission): Promise<Uint8Array[]> {
    if (this.#stopped) {
      return Promise.reject(
        new SparkMesosError('SM_ERR_CONTEXT_STOPPED', 'The SparkContext was stopped; create a new one to run jobs', {
          cause: null,
        }),
      );
    }
    if (submission.tasks.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#sets.push(new TaskSetManager(submission, resolve, reject));
      this.#schedule();
    });
  }

  /** Fails every running task set with `error` and refuses new ones. */
  stop(error: Error): void {
    this.#stopped = true;
    for (const set of [...this.#sets]) this.#abort(set, error);
  }

  /**
   * Fills free slots. `only` limits the round to one executor: when a task finished there and
   * nothing else changed, the other executors' free slots were already unfillable.
   */
  #schedule(only?: ExecutorState): void {
    const now = this.#now();
    const launchedFrom = new Set<TaskSetManager>();
    for (const executor of only === undefined ? this.#executors.values() : [only]) {
      const { executorId, host } = executor.description;
      if (!this.#health.isExecutorUsable(executorId, host, now)) continue;
      const batch: TaskSpec[] = [];
      while (executor.running.size < executor.slots) {
        const picked = this.#pickTask(executorId);
        if (!picked) break;
        batch.push(this.#startTask(picked.set, picked.index, executor));
        launchedFrom.add(picked.set);
      }
      if (batch.length > 0) this.#backend.launch(executorId, batch);
    }
    if (this.#onProgress) for (const set of launchedFrom) this.#report(set);
    if (this.#health.settings.enabled) this.#checkUnschedulable(now);
    this.#reportDemand();
  }

  /**
   * Spark's "cannot run anywhere due to node and executor excludeOnFailure": a task excluded on
   * every executor there is starts a timer; a new usable executor stops it, expiry aborts.
   */
  #checkUnschedulable(now: number): void {
    if (this.#executors.size === 0) return; // waiting for resources, not blocked by exclusion
    if (!this.#sets.some((set) => set.retries.length > 0 || set.unschedulableTimer !== undefined)) return;
    const usable = [...this.#executors.values()].filter((executor) =>
      this.#health.isExecutorUsable(executor.description.executorId, executor.description.host, now),
    );
    const limit = this.#health.settings.maxTaskAttemptsPerExecutor;
    for (const set of this.#sets) {
      const blocked = set.retries.find((index) =>
        usable.every((executor) => (set.failedOn[index]!.get(executor.description.executorId) ?? 0) >= limit),
      );
      if (blocked === undefined) {
        clearTimeout(set.unschedulableTimer);
        set.unschedulableTimer = undefined;
      } else if (set.unschedulableTimer === undefined) {
        set.unschedulableTimer = setTimeout(() => {
          const partition = set.submission.tasks[blocked]!.partition;
          this.#abort(
            set,
            this.#jobFailure(
              set,
              `Aborting ${set.name} because task ${partition} cannot run anywhere due to node and executor excludeOnFailure (waited ${this.#unschedulableTimeoutMs} ms for another executor). Most recent failure: ${set.lastFailure[blocked] ?? 'none recorded'}`,
              {},
            ),
          );
          this.#schedule();
        }, this.#unschedulableTimeoutMs);
        set.unschedulableTimer.unref();
      }
    }
  }

  #pickTask(executorId: string): { set: TaskSetManager; index: number } | undefined {
    const settings = this.#health.settings;
    for (const set of this.#sets) {
      for (let position = 0; position < set.retries.length; position++) {
        const index = set.retries[position]!;
        if (settings.enabled && (set.failedOn[index]!.get(executorId) ?? 0) >= settings.maxTaskAttemptsPerExecutor) {
          continue;
        }
        set.retries.splice(position, 1);
        return { set, index };
      }
      if (set.nextFresh < set.submission.tasks.length) return { set, index: set.nextFresh++ };
    }
    return undefined;
  }

  #startTask(set: TaskSetManager, index: number, executor: ExecutorState): TaskSpec {
    const template = set.submission.tasks[index]!;
    const tid = this.#nextTid++;
    const taskId = String(tid);
    const attempt = set.attempts[index]!;
    set.attempts[index] = attempt + 1;
    this.#running.set(taskId, { set, index, executorId: executor.description.executorId, attempt, tid });
    executor.running.add(taskId);
    set.running.add(taskId);
    return {
      taskId,
      stageId: set.submission.stageId,
      partition: template.partition,
      attempt,
      function: template.function,
      captured: template.captured,
      input: template.input instanceof Uint8Array ? template.input : serialize(template.input.value),
    };
  }

  #release(taskId: string): RunningTask | undefined {
    const running = this.#running.get(taskId);
    if (!running) return undefined;
    this.#running.delete(taskId);
    this.#executors.get(running.executorId)?.running.delete(taskId);
    running.set.running.delete(taskId);
    return running;
  }

  #taskEnded(executorId: string, taskId: string, outcome: TaskOutcome): void {
    const running = this.#release(taskId);
    if (!running) return; // a late outcome of a task already given up or resubmitted
    const { set, index } = running;
    if (set.done) {
      this.#schedule();
      return;
    }
    if (outcome.state === 'finished') {
      if (set.results[index] === undefined) {
        set.results[index] = outcome.result;
        set.finished++;
      }
      const executor = this.#executors.get(executorId);
      if (set.finished === set.submission.tasks.length) {
        this.#complete(set);
        this.#schedule();
      } else {
        this.#report(set);
        this.#schedule(executor);
      }
      return;
    }
    const host = this.#executors.get(executorId)?.description.host ?? 'unknown host';
    const error =
      outcome.state === 'failed'
        ? outcome.error
        : { name: 'TaskKilled', message: `the task was killed: ${outcome.reason}`, stack: undefined };
    const described = describeTaskError(error);
    const failure = this.#failureText(running, executorId, host, described.text, error.stack, outcome.outputTail);
    set.failures[index] = set.failures[index]! + 1;
    set.failedAttempts++;
    set.lastFailure[index] = failure;
    set.failedOn[index]!.set(executorId, (set.failedOn[index]!.get(executorId) ?? 0) + 1);
    this.#health.taskFailed(executorId, host, this.#now());
    const partition = set.submission.tasks[index]!.partition;
    if (described.driverVariable !== undefined) {
      // Deterministic: every retry would fail the same way, so fail now with the rule.
      this.#abort(
        set,
        this.#jobFailure(set, `Task ${partition} in ${set.name} used a driver-only variable: ${failure}`, {
          variable: described.driverVariable,
        }),
        'SM_ERR_DRIVER_VARIABLE',
      );
    } else if (outcome.state === 'failed' && DETERMINISTIC_FAILURE_CODES.has(outcome.error.code ?? '')) {
      this.#abort(
        set,
        this.#jobFailure(set, `Task ${partition} in ${set.name} failed in a way retrying cannot fix: ${failure}`, {
          taskErrorCode: outcome.error.code,
        }),
      );
    } else if (set.failures[index]! >= this.#maxFailures) {
      this.#abort(
        set,
        this.#jobFailure(
          set,
          `Task ${partition} in ${set.name} failed ${set.failures[index]} times, most recent failure: ${failure}`,
          {},
        ),
      );
    } else {
      set.retries.push(index);
    }
    this.#schedule();
  }

  #failureText(
    running: RunningTask,
    executorId: string,
    host: string,
    errorText: string,
    stack: string | undefined,
    outputTail: string,
  ): string {
    const partition = running.set.submission.tasks[running.index]!.partition;
    let text = `Lost task ${partition}.${running.attempt} in ${running.set.name} (TID ${running.tid}) (executor ${executorId} on ${host}): ${errorText}`;
    if (stack) {
      // The stack's first line repeats the message.
      const frames = stack.split('\n').filter((line) => line.trimStart().startsWith('at '));
      if (frames.length > 0) text += `\n${frames.join('\n')}`;
    }
    const tail = outputTail.length > OUTPUT_TAIL_CHARACTERS ? outputTail.slice(-OUTPUT_TAIL_CHARACTERS) : outputTail;
    if (tail.trim().length > 0) text += `\nOutput tail of the task:\n${tail.replace(/\n$/, '')}`;
    return text;
  }

  #jobFailure(set: TaskSetManager, text: string, details: Record<string, unknown>): { text: string; details: object } {
    return { text: `Job ${set.submission.jobId} aborted due to stage failure: ${text}`, details };
  }

  #executorLost(executorId: string, reason: string, causedByApp: boolean): void {
    const executor = this.#executors.get(executorId);
    if (!executor) return;
    this.#executors.delete(executorId);
    for (const taskId of [...executor.running]) {
      const running = this.#release(taskId);
      if (!running || running.set.done) continue;
      const { set, index } = running;
      if (causedByApp) {
        set.failures[index] = set.failures[index]! + 1;
        if (set.failures[index]! >= this.#maxFailures) {
          const partition = set.submission.tasks[index]!.partition;
          this.#abort(
            set,
            this.#jobFailure(
              set,
              `Task ${partition} in ${set.name} failed ${set.failures[index]} times, most recent failure: Lost task ${partition}.${running.attempt} in ${set.name} (TID ${running.tid}) (executor ${executorId} on ${executor.description.host}): the executor exited: ${reason}`,
              {},
            ),
          );
          continue;
        }
      }
      set.retries.push(index);
    }
    this.#schedule();
  }

  #complete(set: TaskSetManager): void {
    set.done = true;
    clearTimeout(set.unschedulableTimer);
    this.#sets.splice(this.#sets.indexOf(set), 1);
    this.#report(set, 'succeeded');
    set.resolve(set.results as Uint8Array[]);
  }

  #abort(set: TaskSetManager, failure: Error | { text: string; details: object }, code = 'SM_ERR_JOB_FAILED'): void {
    if (set.done) return;
    set.done = true;
    clearTimeout(set.unschedulableTimer);
    this.#sets.splice(this.#sets.indexOf(set), 1);
    // The killed tasks keep their slots until their outcome arrives, so a slot is never given
    // twice; that outcome is then dropped (the set is done).
    for (const taskId of set.running) {
      const running = this.#running.get(taskId);
      if (running) this.#backend.kill(running.executorId, taskId, `${set.name} was aborted`);
    }
    this.#report(set, 'failed');
    set.reject(
      failure instanceof Error
        ? failure
        : new SparkMesosError(code as `SM_ERR_${Uppercase<string>}`, failure.text, {
            cause: failure.details,
            details: { jobId: set.submission.jobId, stageId: set.submission.stageId, ...failure.details },
          }),
    );
  }

  #reportDemand(): void {
    if (!this.#backend.demandChanged) return;
    let pendingTasks = 0;
    for (const set of this.#sets) pendingTasks += set.pendingCount;
    const excludedHosts = this.#health.excludedHosts(this.#now());
    const key = `${pendingTasks}/${this.#running.size}/${[...excludedHosts].sort().join(',')}`;
    if (key === this.#lastDemand) return;
    this.#lastDemand = key;
    this.#backend.demandChanged({ pendingTasks, runningTasks: this.#running.size, excludedHosts });
  }
}
