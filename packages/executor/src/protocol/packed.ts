import type { TaskFunctionSpec, TaskOutcome, TaskSpec } from '../task-spec.js';

// Task batches and finished outcomes travel column-wise: one string array of task ids, typed
// arrays of numbers and one byte array holding every task's bytes. `v8.serialize` handles each
// typed array through a JavaScript callback, so two or three per message instead of two per task
// (and fewer objects to build and collect) is what the executor's main thread saves per task.

/** A batch of tasks as the `launch` message carries it. */
export interface PackedTasks {
  /** The task ids, in order. */
  taskIds: string[];
  /** stageId, partition, attempt of each task, three numbers each. */
  numbers: Float64Array;
  /** The distinct function descriptors of the batch (usually one per stage). */
  functions: TaskFunctionSpec[];
  /** Each task's index into `functions`. */
  functionIndex: Uint32Array;
  /** Each task's input then captured bytes, back to back. */
  bytes: Uint8Array;
  /**
   * Each task's input and captured byte lengths, two numbers each: -1 for a value that is not
   * bytes (the runner fails that task with a bad payload), -2 for captured bytes that are the
   * same object as the previous task's (sent once).
   */
  lengths: Int32Array;
}

/** Finished outcomes as the `outcomes` message carries them. */
export interface PackedFinished {
  /** The task ids, in order. */
  taskIds: string[];
  /** Each task's durationMs. */
  durations: Float64Array;
  /** Each task's output tail. */
  outputTails: string[];
  /** Each task's result bytes, back to back. */
  results: Uint8Array;
  /** Each task's result byte length. */
  resultLengths: Uint32Array;
}

const NOT_BYTES = -1;
const SAME_AS_PREVIOUS = -2;

/** Packs a batch of tasks for the `launch` message. */
export function packTasks(tasks: readonly TaskSpec[]): PackedTasks {
  const count = tasks.length;
  const taskIds = new Array<string>(count);
  const numbers = new Float64Array(count * 3);
  const functions: TaskFunctionSpec[] = [];
  const functionIndex = new Uint32Array(count);
  const lengths = new Int32Array(count * 2);
  let total = 0;
  let previousCaptured: unknown;
  for (const task of tasks) {
    total += byteLength(task.input);
    if (task.captured !== previousCaptured) total += byteLength(task.captured);
    previousCaptured = task.captured;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  let lastFunction: TaskFunctionSpec | undefined;
  let lastIndex = 0;
  previousCaptured = undefined;
  for (let index = 0; index < count; index += 1) {
    const task = tasks[index] as TaskSpec;
    taskIds[index] = task.taskId;
    numbers[index * 3] = task.stageId;
    numbers[index * 3 + 1] = task.partition;
    numbers[index * 3 + 2] = task.attempt;
    if (task.function !== lastFunction || index === 0) {
      lastFunction = task.function;
      lastIndex = functions.indexOf(task.function);
      if (lastIndex === -1) lastIndex = functions.push(task.function) - 1;
    }
    functionIndex[index] = lastIndex;
    const input: unknown = task.input;
    if (input instanceof Uint8Array) {
      bytes.set(input, offset);
      offset += input.byteLength;
      lengths[index * 2] = input.byteLength;
    } else lengths[index * 2] = NOT_BYTES;
    const captured: unknown = task.captured;
    if (captured instanceof Uint8Array && captured === previousCaptured) lengths[index * 2 + 1] = SAME_AS_PREVIOUS;
    else if (captured instanceof Uint8Array) {
      bytes.set(captured, offset);
      offset += captured.byteLength;
      lengths[index * 2 + 1] = captured.byteLength;
    } else lengths[index * 2 + 1] = NOT_BYTES;
    previousCaptured = captured;
  }
  return { taskIds, numbers, functions, functionIndex, bytes, lengths };
}

/** The tasks of a `launch` message; their bytes are views of the message's byte array. */
export function unpackTasks(packed: PackedTasks): TaskSpec[] {
  const { taskIds, numbers, functions, functionIndex, bytes, lengths } = packed;
  const tasks = new Array<TaskSpec>(taskIds.length);
  let offset = 0;
  let previousCaptured: Uint8Array | undefined;
  for (let index = 0; index < taskIds.length; index += 1) {
    const inputLength = lengths[index * 2] as number;
    let input: Uint8Array | undefined;
    if (inputLength >= 0) {
      input = bytes.subarray(offset, offset + inputLength);
      offset += inputLength;
    }
    const capturedLength = lengths[index * 2 + 1] as number;
    let captured = previousCaptured;
    if (capturedLength === NOT_BYTES) captured = undefined;
    else if (capturedLength >= 0) {
      captured = bytes.subarray(offset, offset + capturedLength);
      offset += capturedLength;
    }
    previousCaptured = captured;
    tasks[index] = {
      taskId: taskIds[index] as string,
      stageId: numbers[index * 3] as number,
      partition: numbers[index * 3 + 1] as number,
      attempt: numbers[index * 3 + 2] as number,
      function: functions[functionIndex[index] as number] as TaskFunctionSpec,
      // A value that was not bytes stays missing: the runner fails the task with a bad payload.
      captured: captured as Uint8Array,
      input: input as Uint8Array,
    };
  }
  return tasks;
}

/** Gathers finished outcomes for one `outcomes` message. */
export class FinishedPacker {
  private taskIds: string[] = [];
  private durations: number[] = [];
  private outputTails: string[] = [];
  private results: Uint8Array[] = [];
  private total = 0;

  /** How many outcomes are waiting. */
  get size(): number {
    return this.taskIds.length;
  }

  /** Adds a finished outcome. */
  add(taskId: string, outcome: Extract<TaskOutcome, { state: 'finished' }>): void {
    this.taskIds.push(taskId);
    this.durations.push(outcome.durationMs);
    this.outputTails.push(outcome.outputTail);
    this.results.push(outcome.result);
    this.total += outcome.result.byteLength;
  }

  /** Packs what was added and starts over. */
  take(): PackedFinished {
    const results = new Uint8Array(this.total);
    const resultLengths = new Uint32Array(this.results.length);
    let offset = 0;
    for (let index = 0; index < this.results.length; index += 1) {
      const result = this.results[index] as Uint8Array;
      results.set(result, offset);
      offset += result.byteLength;
      resultLengths[index] = result.byteLength;
    }
    const packed: PackedFinished = {
      taskIds: this.taskIds,
      durations: Float64Array.from(this.durations),
      outputTails: this.outputTails,
      results,
      resultLengths,
    };
    this.taskIds = [];
    this.durations = [];
    this.outputTails = [];
    this.results = [];
    this.total = 0;
    return packed;
  }
}

/** Calls `each(taskId, outcome)` for every finished outcome of a message, in order. */
export function forEachFinished(
  packed: PackedFinished,
  each: (taskId: string, outcome: Extract<TaskOutcome, { state: 'finished' }>) => void,
): void {
  let offset = 0;
  for (let index = 0; index < packed.taskIds.length; index += 1) {
    const length = packed.resultLengths[index] as number;
    each(packed.taskIds[index] as string, {
      state: 'finished',
      result: packed.results.subarray(offset, offset + length),
      durationMs: packed.durations[index] as number,
      outputTail: packed.outputTails[index] as string,
    });
    offset += length;
  }
}

function byteLength(view: unknown): number {
  return view instanceof Uint8Array ? view.byteLength : 0;
}
