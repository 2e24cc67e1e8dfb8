import { Worker } from 'node:worker_threads';
import { SparkMesosError } from '@spark-mesos/errors';
import type { TaskOutcome, TaskSpec } from './task-spec.js';

type TaskError = Extract<TaskOutcome, { state: 'failed' }>['error'];

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
  /**
   * Like {@link TaskRunner.run}, but calls `onOutcome(outcome, task)` once with the outcome
   * instead of resolving a promise — no promise or closure per task, for callers that run many
   * small tasks (the coarse executor). `onOutcome` should not throw (a throw is rethrown on a
   * later microtask, as an uncaught error).
   */
  submit(task: TaskSpec, onOutcome: (outcome: TaskOutcome, task: TaskSpec) => void, options?: TaskRunOptions): void;
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

/** What a worker posts: output lines (already prefixed) or a batch of results. */
type WorkerMessage =
  | { readonly type: 'output'; readonly stream: 'stdout' | 'stderr'; readonly text: string }
  | { readonly type: 'done'; readonly bytes: Uint8Array };

interface QueuedTask {
  readonly task: TaskSpec;
  readonly onOutcome: (outcome: TaskOutcome, task: TaskSpec) => void;
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
  /** The error a worker reported before it ran any task (it could not start). */
  startupError: Error | undefined;
  /** The worker's recent output as this process received it, for tasks whose worker died. */
  outputSeen: string;
  exited: boolean;
  /**
   * Set when the parent terminates the worker (a kill): it is out of the pool at once, gets no
   * more tasks, and what it still reports is dropped — its unfinished tasks were requeued.
   */
  terminating: boolean;
  /**
   * Shared with the worker: [0] the number of the task it runs (0: none), [1] the number of the
   * last task it finished, and from [2] a ring of {@link CANCEL_RING} cells where a task the
   * parent cancelled while it waited has its number at `2 + seq % CANCEL_RING`. Results come back
   * in batches, so this, not the results, says which task runs.
   */
  state: Int32Array;
  nextSeq: number;
}

/** The kinds of a worker's result (1 is failed: the error as JSON). */
const RESULT_FINISHED = 0;
const RESULT_KILLED = 2;
/**
 * A batch of results travels back as one transferred buffer: a u32 count, then per result a
 * u32 seq, a u8 kind (finished, failed, killed), 3 bytes of padding, f64 durationMs, u32 output
 * tail bytes, u32 payload bytes, the output tail (UTF-8) and the payload: the result's
 * `v8.serialize` bytes, the error as JSON, or the kill reason (UTF-8).
 */
const RESULT_HEADER_BYTES = 24;

/**
 * The most tasks sent to one worker in one message. A chunk saves a thread round trip per task
 * when many small tasks are queued; tasks are dealt evenly, so a chunk is never more than the
 * worker's share of the queue.
 */
export const MAX_TASKS_PER_DISPATCH = 256;

/**
 * Cells of the shared cancel ring. A worker holds at most {@link MAX_TASKS_PER_DISPATCH} tasks
 * (it is sent a chunk only when idle), so the numbers of its waiting tasks never share a cell,
 * and two kills of waiting tasks never overwrite each other's mark.
 */
const CANCEL_RING = 2 * MAX_TASKS_PER_DISPATCH;

// Workers in a row that may exit before running any task before the queued tasks fail.
const MAX_FAILED_STARTS = 3;

// A chunk travels as one transferred buffer plus the distinct function descriptors of its tasks
// (usually one): structured-cloning an object per task cost the executor's main thread more
// than the task itself. Layout (little-endian), after a u32 task count, per task:
//   u32 seq, u32 function index, u32 taskId bytes, i32 input bytes, i32 captured bytes
//   (-1: not bytes, the worker reports a bad payload; -2: the same bytes as the previous task's),
//   f64 stageId, f64 partition, f64 attempt, then the taskId (UTF-8), input and captured bytes.
const TASK_HEADER_BYTES = 5 * 4 + 3 * 8;

function packChunk(
  entries: readonly QueuedTask[],
): [{ type: 'run'; functions: unknown[]; bytes: Uint8Array }, ArrayBuffer[]] {
  let total = 4;
  let previousCaptured: unknown;
  for (const { task } of entries) {
    total += TASK_HEADER_BYTES + task.taskId.length * 3 + byteLength(task.input);
    if (task.captured !== previousCaptured) total += byteLength(task.captured);
    previousCaptured = task.captured;
  }
  const bytes = Buffer.allocUnsafeSlow(total);
  const functions: unknown[] = [];
  let lastFunction: unknown;
  let functionIndex = -1;
  let offset = bytes.writeUInt32LE(entries.length, 0);
  previousCaptured = undefined;
  for (const { task, seq } of entries) {
    if (task.function !== lastFunction) {
      lastFunction = task.function;
      functionIndex = functions.indexOf(task.function);
      if (functionIndex === -1) functionIndex = functions.push(task.function) - 1;
    }
    const header = offset;
    offset += TASK_HEADER_BYTES;
    const idBytes = bytes.write(task.taskId, offset, 'utf8');
    offset += idBytes;
    const input = task.input as unknown;
    let inputBytes = -1;
    if (input instanceof Uint8Array) {
      bytes.set(input, offset);
      offset += input.byteLength;
      inputBytes = input.byteLength;
    }
    const captured = task.captured as unknown;
    let capturedBytes = -1;
    if (captured === previousCaptured && captured instanceof Uint8Array) capturedBytes = -2;
    else if (captured instanceof Uint8Array) {
      bytes.set(captured, offset);
      offset += captured.byteLength;
      capturedBytes = captured.byteLength;
    }
    previousCaptured = captured;
    bytes.writeUInt32LE(seq, header);
    bytes.writeUInt32LE(functionIndex, header + 4);
    bytes.writeUInt32LE(idBytes, header + 8);
    bytes.writeInt32LE(inputBytes, header + 12);
    bytes.writeInt32LE(capturedBytes, header + 16);
    bytes.writeDoubleLE(task.stageId, header + 20);
    bytes.writeDoubleLE(task.partition, header + 28);
    bytes.writeDoubleLE(task.attempt, header + 36);
  }
  return [{ type: 'run', functions, bytes: bytes.subarray(0, offset) }, [bytes.buffer as ArrayBuffer]];
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
  /** Workers terminated by a kill that have not exited yet (close waits for them). */
  const dying = new Set<Slot>();
  let closed = false;
  let pumpScheduled = false;
  /** Workers in a row that exited before running any task. */
  let failedStarts = 0;

  function settle(entry: QueuedTask, outcome: TaskOutcome): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.killTimer !== undefined) clearTimeout(entry.killTimer);
    if (byTaskId.get(entry.task.taskId) === entry) byTaskId.delete(entry.task.taskId);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    try {
      entry.onOutcome(outcome, entry.task);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  function tailOf(slot: Slot, taskId: string): string {
    const text = linesOf(slot.outputSeen, taskId);
    return text.length > outputTailChars ? text.slice(text.length - outputTailChars) : text;
  }

  function startWorker(): Slot {
    const sharedState = new SharedArrayBuffer((2 + CANCEL_RING) * Int32Array.BYTES_PER_ELEMENT);
    const worker = new Worker(TASK_WORKER_SOURCE, {
      eval: true,
      // Output arrives as messages (see the worker source); these keep Node from piping the
      // worker's own streams to ours.
      stdout: true,
      stderr: true,
      env: options.env ?? { ...process.env },
      workerData: {
        appDirectory: options.appDirectory,
        outputTailChars,
        state: sharedState,
        cancelRing: CANCEL_RING,
        resultBatch: MAX_TASKS_PER_DISPATCH / 2,
      },
      ...(options.heapLimitMiB === undefined
        ? {}
        : { resourceLimits: { maxOldGenerationSizeMb: options.heapLimitMiB } }),
    });
    const slot: Slot = {
      worker,
      assigned: [],
      startedAt: 0,
      timer: undefined,
      startupError: undefined,
      outputSeen: '',
      exited: false,
      terminating: false,
      state: new Int32Array(sharedState),
      nextSeq: 1,
    };
    const keep = (text: string, sink: NodeJS.WritableStream) => {
      sink.write(text);
      if (slot.assigned.length === 0) return;
      slot.outputSeen += text;
      if (slot.outputSeen.length > outputTailChars * 8) {
        slot.outputSeen = slot.outputSeen.slice(slot.outputSeen.length - outputTailChars * 4);
      }
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'output') {
        keep(message.text, message.stream === 'stdout' ? stdout : stderr);
        return;
      }
      // A worker being terminated must not come back as idle: the next task would be dealt to a
      // thread that is about to die. Its late results belong to a killed task (settled already)
      // or to tasks that were requeued and run again elsewhere.
      if (slot.terminating) return;
      failedStarts = 0;
      onDone(slot, message.bytes);
      if (slot.assigned.length > 0) armTimeout(slot);
      else becomeIdle(slot);
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const entry = runningEntry(slot);
      if (entry === undefined) {
        slot.startupError ??= error;
        return;
      }
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
      dying.delete(slot);
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
      // A worker that exits before running anything cannot start (a bad Node option it
      // inherited, a crashed thread): starting another one at once would loop forever, busy.
      const neverRan = !slot.terminating && Atomics.load(slot.state, 0) === 0 && Atomics.load(slot.state, 1) === 0;
      failedStarts = neverRan ? failedStarts + 1 : 0;
      if (failedStarts < MAX_FAILED_STARTS) {
        replace(slot);
        return;
      }
      failedStarts = 0;
      const cause = slot.startupError?.message ?? `exit code ${code}`;
      replace(slot, {
        name: 'SparkMesosError',
        code: 'SM_ERR_TASK_WORKER_DIED',
        message: `task worker threads exit before running any task (${MAX_FAILED_STARTS} in a row): ${cause}; check the Node options this process runs with (its worker threads inherit them)`,
        ...(slot.startupError?.stack === undefined ? {} : { stack: slot.startupError.stack }),
      });
    });
    slots.push(slot);
    return slot;
  }

  // Takes a dead or dying worker out of the pool; the tasks it had not started go back to the
  // front of the queue, in order, for another worker — or, given `failure`, every queued task
  // fails with it (workers cannot start).
  function replace(slot: Slot, failure?: TaskError): void {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    const unstarted = slot.assigned.filter((entry) => !entry.settled);
    slot.assigned = [];
    queue.unshift(...unstarted);
    if (failure !== undefined) {
      for (const entry of queue.splice(0)) {
        settle(entry, { state: 'failed', error: failure, durationMs: 0, outputTail: '' });
      }
    }
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

  // The results of a batch, in the order the worker ran them (see RESULT_HEADER_BYTES). A
  // finished task's result is a view of the transferred buffer, not a copy.
  function onDone(slot: Slot, view: Uint8Array): void {
    const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    const count = bytes.readUInt32LE(0);
    let offset = 4;
    for (let index = 0; index < count; index += 1) {
      const seq = bytes.readUInt32LE(offset);
      const kind = bytes[offset + 4];
      const durationMs = bytes.readDoubleLE(offset + 8);
      const tailBytes = bytes.readUInt32LE(offset + 16);
      const payloadBytes = bytes.readUInt32LE(offset + 20);
      offset += RESULT_HEADER_BYTES;
      const outputTail = tailBytes === 0 ? '' : bytes.toString('utf8', offset, offset + tailBytes);
      offset += tailBytes;
      const payloadAt = offset;
      offset += payloadBytes;
      // Tasks before it were settled already (killed while waiting in the worker).
      let position = 0;
      while (position < slot.assigned.length && (slot.assigned[position] as QueuedTask).seq !== seq) position += 1;
      if (position === slot.assigned.length) continue;
      const entry = slot.assigned[position] as QueuedTask;
      if (position === 0) slot.assigned.shift();
      else slot.assigned.splice(0, position + 1);
      if (entry.settled) continue;
      if (kind === RESULT_FINISHED) {
        // Also when it was asked to stop (a grace period) and returned: its result stands.
        settle(entry, {
          state: 'finished',
          result: new Uint8Array(bytes.buffer, bytes.byteOffset + payloadAt, payloadBytes),
          durationMs,
          outputTail,
        });
      } else if (kind === RESULT_KILLED || entry.killReason !== undefined) {
        // A task skipped by the worker carries its own mark ("cancelled"); the parent's reason wins.
        settle(entry, {
          state: 'killed',
          reason: entry.killReason ?? bytes.toString('utf8', payloadAt, payloadAt + payloadBytes),
          durationMs,
          outputTail,
        });
      } else {
        settle(entry, {
          state: 'failed',
          error: JSON.parse(bytes.toString('utf8', payloadAt, payloadAt + payloadBytes)) as TaskError,
          durationMs,
          outputTail,
        });
      }
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
      // The worker stores the task it starts, then reads the mark; this side stores the mark,
      // then reads the task running (sequentially consistent atomics): either the worker sees
      // the mark, or this side sees the task running, or the task ran and finished in between.
      // A skipped task has its mark negated before it counts as finished, which tells the two
      // apart. So a task reported killed here never ran.
      const cell = 2 + (entry.seq % CANCEL_RING);
      Atomics.store(slot.state, cell, entry.seq);
      if (Atomics.load(slot.state, 0) !== entry.seq) {
        if (entry.seq <= Atomics.load(slot.state, 1) && Atomics.load(slot.state, cell) !== -entry.seq) return;
        settle(entry, { state: 'killed', reason, durationMs: performance.now() - entry.queuedAt, outputTail: '' });
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
    // Terminating is the only way to stop a synchronous loop. The worker leaves the pool now
    // (a new one may start at once), its other tasks go back to the queue — those it finished
    // but had not reported yet run again — and nothing it still sends is taken.
    slot.terminating = true;
    dying.add(slot);
    const rest = slot.assigned.filter((other) => other !== entry && !other.settled);
    slot.assigned = [];
    queue.unshift(...rest);
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    const index = slots.indexOf(slot);
    if (index !== -1) slots.splice(index, 1);
    const idleIndex = idle.indexOf(slot);
    if (idleIndex !== -1) idle.splice(idleIndex, 1);
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

  function submit(
    task: TaskSpec,
    onOutcome: (outcome: TaskOutcome, task: TaskSpec) => void,
    runOptions: TaskRunOptions = {},
  ): void {
    const entry: QueuedTask = {
      task,
      onOutcome,
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
    // Deal tasks submitted in the same tick together: they can share a dispatch.
    if (!pumpScheduled) {
      pumpScheduled = true;
      queueMicrotask(pumpSoon);
    }
  }

  function pumpSoon(): void {
    pumpScheduled = false;
    pump();
  }

  return {
    slots: options.slots,
    get pending() {
      return (
        queue.length + slots.reduce((sum, slot) => sum + slot.assigned.filter((entry) => !entry.settled).length, 0)
      );
    },
    run(task, runOptions) {
      return new Promise<TaskOutcome>((resolve) => submit(task, resolve, runOptions));
    },
    submit,
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
      await Promise.all([...dying].map((slot) => slot.worker.terminate()));
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
