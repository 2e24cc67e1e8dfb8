/**
 * The task shapes shared with `@spark-mesos/executor` (contract §3). They are declared here
 * structurally so the scheduler can be built and tested before the executor package exists; a
 * value of the executor's `TaskSpec` is a value of this `TaskSpec` and the other way round.
 */

/** How a task's function is given: as function-expression source, or as a module export. */
export type TaskFunctionSpec =
  | { readonly kind: 'source'; readonly source: string }
  | { readonly kind: 'module'; readonly module: string; readonly export: string };

/** One attempt of one task: what an executor (or a local worker) runs. */
export interface TaskSpec {
  /** Unique per attempt. */
  readonly taskId: string;
  /** The stage the task belongs to. */
  readonly stageId: number;
  /** The partition of the stage's dataset it computes. */
  readonly partition: number;
  /** 0 for the first attempt, then 1, 2, … */
  readonly attempt: number;
  /** Called as `fn(input, captured, context)`; it may return a promise. */
  readonly function: TaskFunctionSpec;
  /** `v8.serialize(capturedValues)`. */
  readonly captured: Uint8Array;
  /** `v8.serialize(partitionInput)`. */
  readonly input: Uint8Array;
}

/** What running a task came to. */
export type TaskOutcome =
  | {
      readonly state: 'finished';
      readonly result: Uint8Array;
      readonly durationMs: number;
      readonly outputTail: string;
    }
  | {
      readonly state: 'failed';
      readonly error: {
        readonly name: string;
        readonly message: string;
        readonly stack?: string;
        readonly code?: string;
      };
      readonly durationMs: number;
      readonly outputTail: string;
    }
  | { readonly state: 'killed'; readonly reason: string; readonly durationMs: number; readonly outputTail: string };

/** The context a task function receives as its third argument. */
export interface TaskContext {
  readonly taskId: string;
  readonly stageId: number;
  readonly partition: number;
  readonly attempt: number;
}
