// @spark-mesos/executor: the runtime Mesos starts on agents, and the task runner the driver's
// local[N] backend shares with it. The driver link is in ./protocol, the runtime directory in
// ./runtime.

export {
  APP_SECRET_BYTES,
  APP_SECRET_ENV,
  appSecretVariable,
  createAppSecret,
  secretVariable,
  takeAppSecret,
} from './app-secret.js';
export { EXECUTOR_EXIT, workerHeapLimitMiB } from './coarse-executor.js';
export { type ExecutorArgs, parseExecutorArgs } from './executor-args.js';
export { buildExecutorCommand, EXECUTOR_PACKAGE_DIRECTORY, type ExecutorCommandOptions } from './executor-command.js';
export {
  decodeFineExecutorData,
  decodeFineTask,
  encodeFineExecutorData,
  encodeFineTask,
  type FineExecutorData,
} from './fine-task.js';
export {
  createTaskRunner,
  DEFAULT_OUTPUT_TAIL_CHARS,
  type TaskRunner,
  type TaskRunnerOptions,
  type TaskRunOptions,
} from './task-runner.js';
export type { TaskContext, TaskError, TaskFunctionSpec, TaskOutcome, TaskSpec } from './task-spec.js';
