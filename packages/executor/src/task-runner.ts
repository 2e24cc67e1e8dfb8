import { Worker } from 'node:worker_threads';
import { SparkMesosError } from '@spark-mesos/errors';
import type { TaskOutcome, TaskSpec } from './task-spec.js';
import { TASK_WORKER_SOURCE } from './task-worker-source.js';

/** Options of {@link createTaskRunner}. */
export interface TaskRunnerOptions {
  /** How many tasks run at once, each in its own worker thread (an integer ≥ 1). */
  slots: number;
  /**
   * The old-generation heap limit of each worker, in MiB (`resourceLimits.maxOldGenerationSizeMb`).
   * A task that goes past it fails with `SM_ERR_TASK_OUT_OF_MEMORY` and its worker is replaced.
   * @default undefined (Node's default limit)
   */
  heapLimitMiB?: number;
  /**
   * The application directory (holding `package.json`) that `{ kind: 'module' }` tasks are
   * resolved from, with its own `node_modules`.
   * @default undefined (module tasks fail with `SM_ERR_TASK_MODULE_NOT_FOUND` unless absolute)
   */
  appDirectory?: string;
  /**
   * A task running longer than this is killed (its worker terminated and replaced) with the
   * reason "exceeded the task time limit". Per-run `timeoutMs` overrides it.
   * @default undefined (no limit)
   */
  taskTimeoutMs?: number;
  /**
   * How many characters of a task's stdout+stderr are kept and returned as `outputTail`.
   * @default 4096
   */
  outputTailChars?: number;
  /**
   * Where the workers' output goes (each line already starts with `[task <id>] `).
   * @default process.stdout
   */
  stdout?: NodeJS.WritableStream;
  /** Where the workers' stderr goes (lines prefixed as on stdout). @default process.stderr */
  stderr?: NodeJS.WritableStream;
  /**
   * The environment the workers see (a copy taken when each worker starts).
   * @default process.env at the time the worker starts
   */
  env?: Record<string, string | undefined>;
}

/** Options of one {@link TaskRunner.run}. */
export interface TaskRunOptions {
  /** Aborting kills the task: dropped if still queued, its worker terminated if running. */
  signal?: AbortSignal;
  /** Overrides {@link TaskRunnerOptions.taskTimeoutMs} for this task. */
  timeoutMs?: number;
}

/** Runs tasks in a fixed number of worker threads. */
export interface TaskRunner {
  /** How many tasks run at once. */
  readonly slots: number;
  /** Runs a task (queued while all slots are busy). Never rejects: every ending is an outcome. */
  run(task: TaskSpec, options?: TaskRunOptions): Promise<TaskOutcome>;
  /** How many tasks are running or queued. */
  readonly pending: number;
  /**
   * Kills a queued or running task by id; false when no such task is pending. A queued task is
   * dropped at once. A running one is stopped at once (its worker terminated and replaced), or,
   * with `graceMs`, first asked to stop (its `context.signal` aborts with `reason`) and stopped
   * only if it still runs when the grace period ends; a task that then throws is `killed` too,
   * one that returns is `finished`. A later call may only shorten the grace period.
   */
  kill(taskId: string, reason: string, options?: { graceMs?: number }): boolean;
  /** Kills queued and running tasks (outcome `killed`, reason "task runner closed") and stops the workers. */
  close(): Promise<void>;
}

/** How many characters of a task's output come back as its `outputTail` by default (4096). */
export const DEFAULT_OUTPUT_TAIL_CHARS = 4096;

interface QueuedTask {
  readonly task: TaskSpec;
  readonly resolve: (outcome: TaskOutcome) => void;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
  readonly queuedAt: number;
  onAbort: (() => void) | undefined;
  settled: boolean;
  /** A stop request with a grace period: when the worker is terminated, and why. */
  killTimer: NodeJS.Timeout | undefined;
  killDeadline: number;
  killReason: string | undefined;
  /** Its number in its worker (from 1), set when dispatched. */
  seq: number;
}

interface Slot {
  worker: Worker;
  /** Tasks sent to the worker and not reported yet, in order: the first one is running. */
  assigned: QueuedTask[];
  /** When the first of `assigned` started (as far as this thread can tell). */
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
  /** The worker's recent output as this process received it, for tasks whose worker died. */
  outputSeen: string;
  exited: boolean;
  /**
   * Shared with the worker: [0] the number of the task it runs (0: none), [1] the number of the
   * last task it finished, [2] a task the parent cancelled while it waited. Results come back in
   * batches, so this, not the results, says which task runs.
   */
  state: Int32Array;
  nextSeq: number;
}

interface WorkerDone {
  taskId: string;
  ok: boolean;
  /** Set when the task failed after it was asked to stop: the reason. */
  killed?: string;
  result?: Uint8Array;
  error?: { name: string; message: string; stack?: string; code?: string };
  durationMs: number;
  outputTail: string;
}

/**
 * The most tasks sent to one worker in one message. A chunk saves a thread round trip per task
 * when many small tasks are queued; tasks are dealt evenly, so a chunk is never more than the
 * worker's share of the queue.
 */
export const MAX_TASKS_PER_DISPATCH = 64;

// A chunk travels as plain fields plus one transferred buffer holding every task's input and
// captured bytes. Cloning many small Uint8Arrays (often views of one large frame buffer) costs
// far more per task than the task itself.
function packChunk(entries: readonly QueuedTask[]): [unknown, ArrayBuffer[]] {
  let total = 0;
  for (const { task } of entries) total += byteLength(task.input) + byteLength(task.captured);
  const bytes = new Uint8Array(total);
  let offset = 0;
  const put = (view: unknown): number => {
    if (!(view instanceof Uint8Array)) return -1;
    bytes.set(view, offset);
    offset += view.byteLength;
    return view.byteLength;
  };
  const tasks = entries.map(({ task, seq }) => ({
    taskId: task.taskId,
    stageId: task.stageId,
    partition: task.partition,
    attempt: task.attempt,
    seq,
    function: task.function,
    // Lengths, in order; -1 for a value that is not bytes (the worker reports a bad payload).
    inputBytes: put(task.input),
    capturedBytes: put(task.captured),
  }));
  return [{ type: 'run', tasks, bytes }, [bytes.buffer]];
}

function byteLength(view: unknown): number {
  return view instanceof Uint8Array ? view.byteLength : 0;
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  return 'the task was aborted';
}

function validate(options: TaskRunnerOptions): void {
  if (!Number.isInteger(options.slots) || options.slots < 1) {
    throw new SparkMesosError(
      'SM_ERR_BAD_TASK_RUNNER_OPTIONS',
      `task runner slots must be an integer ≥ 1, got ${String(options.slots)}; pass the executor's cores / spark.task.cpus`,
      { cause: { slots: options.slots } },
    );
  }
  if (options.heapLimitMiB !== undefined && !(options.heapLimitMiB >= 16)) {
    throw new SparkMesosError(
      'SM_ERR_BAD_TASK_RUNNER_OPTIONS',
      `task runner heapLimitMiB must be ≥ 16, got ${String(options.heapLimitMiB)}; give the executor more memory`,
      { cause: { heapLimitMiB: options.heapLimitMiB } },
    );
  }
}

// The lines of one task's output as seen by this process, without the prefix the worker adds.
function linesOf(text: string, taskId: string): string {
  const prefix = `[task ${taskId}] `;
  let out = '';
  for (const line of text.split(/(?<=\n)/)) if (line.startsWith(prefix)) out += line.slice(prefix.length);
  return out;
}

/**
 * Creates a pool of `slots` worker threads that run {@link TaskSpec}s: the function is called as
 * `fn(input, captured, context)` and its awaited value is `v8.serialize`d. A throw, a bad source,
 * an unknown module or export, or a result that cannot be serialized gives a `failed` outcome and
 * the worker keeps serving; a task that runs too long or is aborted is `killed` and a task that
 * exhausts the heap `failed`, and their worker is replaced. Workers start on first demand.
 *
 * Both the executor and the driver's `local[N]` backend run tasks through this.
 */
export function createTaskRunner(options: TaskRunnerOptions): TaskRunner {
  validate(options);
  const outputTailChars = options.outputTailChars ?? DEFAULT_OUTPUT_TAIL_CHARS;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const queue: QueuedTask[] = [];
  const slots: Slot[] = [];
  const idle: Slot[] = [];
  const byTaskId = new Map<string, QueuedTask>();
  let closed = false;
  let pumpScheduled = false;

  function settle(entry: QueuedTask, outcome: TaskOutcome): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.killTimer !== undefined) clearTimeout(entry.killTimer);
    if (byTaskId.get(entry.task.taskId) === entry) byTaskId.delete(entry.task.taskId);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    entry.resolve(outcome);
  }

  function tailOf(slot: Slot, taskId: string): string {
    const text = linesOf(slot.outputSeen, taskId);
    return text.length > outputTailChars ? text.slice(text.length - outputTailChars) : text;
  }

  function startWorker(): Slot {
    const sharedState = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
    const worker = new Worker(TASK_WORKER_SOURCE, {
      eval: true,
      stdout: true,
      stderr: true,
      env: options.env ?? { ...process.env },
      workerData: { appDirectory: options.appDirectory, outputTailChars, state: sharedState },
      ...(options.heapLimitMiB === undefined
        ? {}
        : { resourceLimits: { maxOldGenerationSizeMb: options.heapLimitMiB } }),
    });
    const slot: Slot = {
      worker,
      assigned: [],
      startedAt: 0,
      timer: undefined,
      outputSeen: '',
      exited: false,
      state: new Int32Array(sharedState),
      nextSeq: 1,
    };
    const keep = (chunk: Buffer, sink: NodeJS.WritableStream) => {
      sink.write(chunk);
      if (slot.assigned.length === 0) return;
      slot.outputSeen += chunk.toString('utf8');
      if (slot.outputSeen.length > outputTailChars * 8) {
        slot.outputSeen = slot.outputSeen.slice(slot.outputSeen.length - outputTailChars * 4);
      }
    };
    worker.stdout.on('data', (chunk: Buffer) => keep(chunk, stdout));
    worker.stderr.on('data', (chunk: Buffer) => keep(chunk, stderr));
    worker.on('message', (message: { type: 'done'; results: WorkerDone[] }) => {
      for (const result of message.results) onDone(slot, result);
      if (slot.assigned.length > 0) armTimeout(slot);
      else becomeIdle(slot);
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const entry = runningEntry(slot);
      if (entry === undefined) return;
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      settle(entry, {
        state: 'failed',
        error: outOfMemory
          ? {
              name: 'SparkMesosError',
              code: 'SM_ERR_TASK_OUT_OF_MEMORY',
              message: `task ${entry.task.taskId} ran out of memory: it went past the worker heap limit of ${String(options.heapLimitMiB ?? 'Node default')} MiB; give the executor more memory (spark.executor.memory) or split the partition`,
              ...(error.stack === undefined ? {} : { stack: error.stack }),
            }
          : {
              name: error.name,
              message: error.message,
              ...(error.stack === undefined ? {} : { stack: error.stack }),
              code: error.code ?? 'SM_ERR_TASK_WORKER_DIED',
            },
        durationMs: performance.now() - slot.startedAt,
        outputTail: tailOf(slot, entry.task.taskId),
      });
    });
    worker.on('exit', (code) => {
      slot.exited = true;
      const entry = runningEntry(slot);
      if (entry !== undefined) {
        settle(entry, {
          state: 'failed',
          error: {
            name: 'SparkMesosError',
            code: 'SM_ERR_TASK_WORKER_DIED',
            message: `the worker running task ${entry.task.taskId} exited with code ${code} (did the task call process.exit?)`,
          },
          durationMs: performance.now() - slot.startedAt,
          outputTail: tailOf(slot, entry.task.taskId),
        });
      }
      replace(slot);
    });
    slots.push(slot);
    return slot;
  }

  // Takes a dead or dying worker out of the pool; the tasks it had not started go back to the
  // front of the queue, in order, for another worker.
  function replace(slot: Slot): void {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    const unstarted = slot.assigned.filter((entry) => !entry.settled);
    slot.assigned = [];
    queue.unshift(...unstarted);
    const index = slots.indexOf(slot);
    if (index !== -1) slots.splice(index, 1);
    const idleIndex = idle.indexOf(slot);
    if (idleIndex !== -1) idle.splice(idleIndex, 1);
    pump();
  }

  // The task the worker runs now, if it is one of its assigned tasks.
  function runningEntry(slot: Slot): QueuedTask | undefined {
    const seq = Atomics.load(slot.state, 0);
    return seq === 0 ? undefined : slot.assigned.find((entry) => entry.seq === seq);
  }

  // Watches the time limit of the task the worker runs (or will run next). When the timer fires
  // for a task that has ended meanwhile, it starts over for the one running then.
  function armTimeout(slot: Slot): void {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    const finished = Atomics.load(slot.state, 1);
    const target = runningEntry(slot) ?? slot.assigned.find((entry) => entry.seq > finished && !entry.settled);
    if (target === undefined) return;
    slot.startedAt = performance.now();
    if (target.timeoutMs === undefined) return;
    const timeoutMs = target.timeoutMs;
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (!target.settled && Atomics.load(slot.state, 0) === target.seq) {
        kill(target, `task ${target.task.taskId} exceeded the task time limit of ${timeoutMs} ms and was stopped`);
      } else armTimeout(slot);
    }, timeoutMs);
  }

  function becomeIdle(slot: Slot): void {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.outputSeen = '';
    idle.push(slot);
    pump();
    // An idle pool must not keep the process alive (the driver's local[N] may simply end).
    if (slot.assigned.length === 0) slot.worker.unref();
  }

  function onDone(slot: Slot, message: WorkerDone): void {
    const index = slot.assigned.findIndex((entry) => entry.task.taskId === message.taskId);
    if (index === -1) return;
    // Tasks before it were settled already (killed while queued in the worker).
    const [entry] = slot.assigned.splice(0, index + 1).slice(-1) as [QueuedTask];
    const stopReason = message.killed ?? (message.ok ? undefined : entry.killReason);
    if (stopReason !== undefined) {
      settle(entry, {
        state: 'killed',
        reason: stopReason,
        durationMs: message.durationMs,
        outputTail: message.outputTail,
      });
    } else if (message.ok) {
      settle(entry, {
        state: 'finished',
        result: message.result as Uint8Array,
        durationMs: message.durationMs,
        outputTail: message.outputTail,
      });
    } else {
      settle(entry, {
        state: 'failed',
        error: message.error as { name: string; message: string },
        durationMs: message.durationMs,
        outputTail: message.outputTail,
      });
    }
  }

  function kill(entry: QueuedTask, reason: string, graceMs = 0): void {
    if (entry.settled) return;
    const slot = slots.find((candidate) => candidate.assigned.includes(entry));
    if (slot === undefined) {
      const index = queue.indexOf(entry);
      if (index !== -1) queue.splice(index, 1);
      settle(entry, { state: 'killed', reason, durationMs: performance.now() - entry.queuedAt, outputTail: '' });
      return;
    }
    // Finished already: its result is on its way and stands.
    if (entry.seq <= Atomics.load(slot.state, 1)) return;
    if (Atomics.load(slot.state, 0) !== entry.seq) {
      // Waiting in the worker: mark it so the worker skips it, then check it did not just start.
      Atomics.store(slot.state, 2, entry.seq);
      if (Atomics.load(slot.state, 0) !== entry.seq) {
        settle(entry, { state: 'killed', reason, durationMs: performance.now() - entry.queuedAt, outputTail: '' });
        slot.worker.postMessage({ type: 'cancel', taskId: entry.task.taskId, reason });
        return;
      }
    }
    if (graceMs > 0) {
      // Ask first (context.signal aborts); terminate only if it is still running at the deadline.
      const deadline = performance.now() + graceMs;
      if (entry.killTimer !== undefined && deadline >= entry.killDeadline) return;
      if (entry.killTimer !== undefined) clearTimeout(entry.killTimer);
      if (entry.killReason === undefined) {
        entry.killReason = reason;
        slot.worker.postMessage({ type: 'cancel', taskId: entry.task.taskId, reason });
      }
      entry.killDeadline = deadline;
      entry.killTimer = setTimeout(() => kill(entry, entry.killReason ?? reason), graceMs);
      return;
    }
    settle(entry, {
      state: 'killed',
      reason,
      durationMs: performance.now() - slot.startedAt,
      outputTail: tailOf(slot, entry.task.taskId),
    });
    // Terminating is the only way to stop a synchronous loop. The worker's other tasks go back
    // to the queue — those it finished but had not reported yet run again — and the exit
    // handler starts a new worker.
    const rest = slot.assigned.filter((other) => other !== entry && !other.settled);
    slot.assigned = [];
    queue.unshift(...rest);
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    void slot.worker.terminate();
    pump();
  }

  function dispatch(slot: Slot, entries: QueuedTask[]): void {
    const wasIdle = slot.assigned.length === 0;
    for (const entry of entries) {
      entry.seq = slot.nextSeq;
      slot.nextSeq += 1;
    }
    slot.assigned.push(...entries);
    if (wasIdle) {
      slot.outputSeen = '';
      armTimeout(slot);
    }
    slot.worker.ref();
    slot.worker.postMessage(...packChunk(entries));
  }

  function pump(): void {
    while (!closed && queue.length > 0) {
      let slot = idle.pop();
      if (slot === undefined) {
        if (slots.length >= options.slots) return;
        slot = startWorker();
      }
      const share = Math.ceil(queue.length / options.slots);
      const count = Math.max(1, Math.min(MAX_TASKS_PER_DISPATCH, share));
      dispatch(slot, queue.splice(0, count));
    }
  }

  return {
    slots: options.slots,
    get pending() {
      return (
        queue.length + slots.reduce((sum, slot) => sum + slot.assigned.filter((entry) => !entry.settled).length, 0)
      );
    },
    run(task, runOptions = {}) {
      return new Promise<TaskOutcome>((resolve) => {
        const entry: QueuedTask = {
          task,
          resolve,
          signal: runOptions.signal,
          timeoutMs: runOptions.timeoutMs ?? options.taskTimeoutMs,
          queuedAt: performance.now(),
          onAbort: undefined,
          settled: false,
          killTimer: undefined,
          killDeadline: Number.POSITIVE_INFINITY,
          killReason: undefined,
          seq: 0,
        };
        if (closed) {
          settle(entry, { state: 'killed', reason: 'task runner closed', durationMs: 0, outputTail: '' });
          return;
        }
        const signal = runOptions.signal;
        if (signal !== undefined) {
          if (signal.aborted) {
            settle(entry, { state: 'killed', reason: abortReason(signal), durationMs: 0, outputTail: '' });
            return;
          }
          entry.onAbort = () => kill(entry, abortReason(signal));
          signal.addEventListener('abort', entry.onAbort, { once: true });
        }
        byTaskId.set(task.taskId, entry);
        queue.push(entry);
        // Deal tasks run in the same tick together: they can share a dispatch.
        if (!pumpScheduled) {
          pumpScheduled = true;
          queueMicrotask(() => {
            pumpScheduled = false;
            pump();
          });
        }
      });
    },
    kill(taskId, reason, killOptions = {}) {
      const entry = byTaskId.get(taskId);
      if (entry === undefined) return false;
      kill(entry, reason, killOptions.graceMs ?? 0);
      return true;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const entry of queue.splice(0)) {
        settle(entry, { state: 'killed', reason: 'task runner closed', durationMs: 0, outputTail: '' });
      }
      const all = slots.splice(0);
      idle.length = 0;
      await Promise.all(
        all.map(async (slot) => {
          if (slot.timer !== undefined) clearTimeout(slot.timer);
          slot.assigned.forEach((entry, index) => {
            settle(entry, {
              state: 'killed',
              reason: 'task runner closed',
              durationMs: performance.now() - (index === 0 ? slot.startedAt : entry.queuedAt),
              outputTail: index === 0 ? tailOf(slot, entry.task.taskId) : '',
            });
          });
          slot.assigned = [];
          if (!slot.exited) await slot.worker.terminate();
        }),
      );
    },
  };
}
