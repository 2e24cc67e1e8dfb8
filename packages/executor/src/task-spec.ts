/**
 * What a task runs: the text of a function expression (with its captured values passed
 * explicitly), or a named export of a module resolved inside the application directory.
 */
export type TaskFunctionSpec =
  | {
      /** Function source text, e.g. `(input, captured) => input.map((x) => x * captured.k)`. */
      kind: 'source';
      /** A JavaScript function expression (arrow, `function`, or `async` function). */
      source: string;
    }
  | {
      /** A named export of a module of the application. */
      kind: 'module';
      /**
       * A path relative to the application directory (`./lib/tasks.js`), an absolute path, or a
       * package name resolved from the application's own `node_modules`.
       */
      module: string;
      /** The export to call (`default` for the default export). */
      export: string;
    };

/** One attempt of one task: what to run and on which data. */
export interface TaskSpec {
  /** Unique per attempt (a retry gets a new id). */
  taskId: string;
  /** The stage the task belongs to. */
  stageId: number;
  /** The partition the task computes. */
  partition: number;
  /** The attempt number, from 0. */
  attempt: number;
  /** What to run. */
  function: TaskFunctionSpec;
  /** `v8.serialize(capturedValues)`; `v8.serialize(undefined)` when nothing is captured. */
  captured: Uint8Array;
  /** `v8.serialize(partitionInput)`. */
  input: Uint8Array;
}

/** The identity of a running task, passed to the task function as its third argument. */
export interface TaskContext {
  /** {@link TaskSpec.taskId}. */
  taskId: string;
  /** {@link TaskSpec.stageId}. */
  stageId: number;
  /** {@link TaskSpec.partition}. */
  partition: number;
  /** {@link TaskSpec.attempt}. */
  attempt: number;
  /**
   * Aborts (with the reason as `signal.reason`) when the task is asked to stop with a grace
   * period — a Mesos KILL with a kill policy, an executor shutdown. A task that ignores it is
   * stopped when the grace period ends.
   */
  readonly signal: AbortSignal;
}

/** An error as it travels back to the driver: whole, but plain data. */
export interface TaskError {
  /** The error's `name` (`TypeError`, `SparkMesosError`, ...). */
  name: string;
  /** The error's message. */
  message: string;
  /** The stack trace, when the thrown value had one. */
  stack?: string;
  /** A stable code: `SM_ERR_*` for failures found by the runtime, or the thrown error's `code`. */
  code?: string;
}

/** How one task attempt ended. */
export type TaskOutcome =
  | {
      state: 'finished';
      /** `v8.serialize(value)` of the function's (awaited) return value. */
      result: Uint8Array;
      /** Time spent in the task function, in milliseconds. */
      durationMs: number;
      /** The last characters the task wrote to stdout and stderr. */
      outputTail: string;
    }
  | {
      state: 'failed';
      /** What went wrong. */
      error: TaskError;
      /** Time from the start of the task to the failure, in milliseconds. */
      durationMs: number;
      /** The last characters the task wrote to stdout and stderr. */
      outputTail: string;
    }
  | {
      state: 'killed';
      /** Why the task was stopped (abort reason, timeout, shutdown). */
      reason: string;
      /** Time from the start of the task (or its queueing) to the kill, in milliseconds. */
      durationMs: number;
      /** The last characters the task wrote to stdout and stderr. */
      outputTail: string;
    };
