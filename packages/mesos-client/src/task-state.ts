import type { TaskState } from './generated/mesos-types.js';

/**
 * Which Mesos task states are terminal, as Mesos itself decides it.
 *
 * @see https://github.com/apache/mesos/blob/master/include/mesos/v1/mesos.proto (`enum TaskState`)
 * @see https://github.com/apache/mesos/blob/master/src/common/protobuf_utils.cpp (`isTerminalState`)
 * @module
 */

/**
 * The task states after which Mesos considers a task ended: it releases the task's resources
 * and, except as noted below, the task never moves to another state. This is the set Mesos'
 * own `protobuf::isTerminalState` uses, which the master and agent act on.
 *
 * - `TASK_FINISHED`, `TASK_FAILED`, `TASK_KILLED`, `TASK_ERROR`, `TASK_DROPPED`, `TASK_GONE`:
 *   marked `TERMINAL` in mesos.proto.
 * - `TASK_LOST`: terminal for Mesos, although mesos.proto notes that a task reported lost can come
 *   back (`TASK_RUNNING`) when its partitioned agent reregisters; only frameworks without the
 *   `PARTITION_AWARE` capability receive it.
 * - `TASK_GONE_BY_OPERATOR`: terminal for Mesos on the operator's word that the agent was shut
 *   down; mesos.proto notes the task may still run if the operator was mistaken.
 *
 * Not terminal: `TASK_UNREACHABLE` (the task's agent lost contact with the master, and mesos.proto
 * says the task "may or may not still be running": a partition-aware framework can see it move
 * on to `TASK_RUNNING`, or to a terminal state such as `TASK_GONE`, when the agent comes back or is
 * removed), and `TASK_UNKNOWN` (the master has no knowledge of the task, which may still run),
 * besides the live states `TASK_STAGING`, `TASK_STARTING`, `TASK_RUNNING` and `TASK_KILLING`.
 */
export const TERMINAL_TASK_STATES: readonly TaskState[] = Object.freeze([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
] as const satisfies readonly TaskState[]);

const TERMINAL_TASK_STATE_SET: ReadonlySet<string> = new Set(TERMINAL_TASK_STATES);

/**
 * Whether `state` is one of {@link TERMINAL_TASK_STATES}: Mesos has ended the task and released
 * its resources. `TASK_UNREACHABLE` is not terminal (the task may still be running behind a
 * partition and can come back); wait for a later update or reconcile. An unknown name (a state
 * from a newer Mesos) is not terminal either.
 *
 * @see https://github.com/apache/mesos/blob/master/src/common/protobuf_utils.cpp (`isTerminalState`)
 */
export function isTerminalTaskState(state: TaskState | string): boolean {
  return TERMINAL_TASK_STATE_SET.has(state);
}
