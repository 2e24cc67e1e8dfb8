// @spark-mesos/executor: the runtime Mesos starts on agents, and the task runner the driver's
// local[N] backend shares with it.

export {
  createTaskRunner,
  DEFAULT_OUTPUT_TAIL_CHARS,
  type TaskRunner,
  type TaskRunnerOptions,
  type TaskRunOptions,
} from './task-runner.js';
export type { TaskContext, TaskError, TaskFunctionSpec, TaskOutcome, TaskSpec } from './task-spec.js';
