/**
 * The task shapes shared with `@spark-mesos/executor` (contract §3), re-exported so the driver
 * and the executors agree on one definition.
 */
export type { TaskContext, TaskError, TaskFunctionSpec, TaskOutcome, TaskSpec } from '@spark-mesos/executor';
