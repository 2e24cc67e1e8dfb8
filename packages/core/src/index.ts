export { SparkConf } from '@spark-mesos/config';
export { type BackendForMasterOptions, createBackendForMaster } from './backend-for-master.js';
export { CORE_KEYS_OWNER, coreKeys, registerCoreKeys } from './core-keys.js';
export { DagScheduler, type Stage } from './dag-scheduler.js';
export { Dataset, type DatasetHost, type RunJobFunction, takePartitionsToTry } from './dataset.js';
export { HealthTracker, type HealthTrackerSettings } from './health-tracker.js';
export {
  createLocalBackend,
  LOCAL_EXECUTOR_ID,
  type LocalBackendOptions,
  type LocalTaskRunner,
} from './local-backend.js';
export { createLocalClusterBackend, type LocalClusterBackendOptions, localClusterConf } from './local-cluster.js';
export { mesosBackendKeys, registerMesosBackendKeys } from './mesos-backend-keys.js';
export type { ExecutorSource, MesosBackendLog, MesosBackendOptions } from './mesos-backend-support.js';
export { createMesosCoarseBackend, type MesosCoarseBackendOptions } from './mesos-coarse-backend.js';
export {
  buildContainerInfo,
  buildExecutorContainer,
  type Containerizer,
  type ExecutorContainer,
} from './mesos-container.js';
export { prepareExecutorSource } from './mesos-executor-source.js';
export { createMesosFineBackend, type MesosFineBackendOptions } from './mesos-fine-backend.js';
export { buildFrameworkInfo, parseMesosLabels } from './mesos-framework-info.js';
export type {
  ExecutorDescription,
  SchedulerBackend,
  SchedulerBackendEvents,
  SchedulerDemand,
} from './scheduler-backend.js';
export {
  checkCapturedValues,
  describeTaskError,
  type ShippableFunction,
  type ShippableOptions,
  shippableFunction,
} from './shippable-function.js';
export {
  isNumericRange,
  type NumericRange,
  numericRange,
  rangeLength,
  sliceArray,
  sliceNumericRange,
  slicePositions,
} from './slicing.js';
export { onSparkContextStarted, SparkContext, type SparkContextOptions } from './spark-context.js';
export {
  type ActionOp,
  type ComposedCaptured,
  composeTaskSource,
  type SourceOp,
  type StepOp,
  type TaskShape,
} from './task-runtime.js';
export {
  type StageProgress,
  TaskScheduler,
  type TaskSchedulerOptions,
  type TaskSetSubmission,
  type TaskTemplate,
} from './task-scheduler.js';
export type { TaskContext, TaskError, TaskFunctionSpec, TaskOutcome, TaskSpec } from './task-spec.js';
export {
  computeTextSplits,
  DEFAULT_TEXT_BLOCK_SIZE,
  type ListTextFilesOptions,
  listTextFiles,
  type TextFile,
  type TextSplit,
  textFileKeys,
  textFileStoreOptions,
} from './text-splits.js';
