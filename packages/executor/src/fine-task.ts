import { deserialize, serialize } from 'node:v8';
import { SparkMesosError } from '@spark-mesos/errors';
import type { TaskSpec } from './task-spec.js';

/** What a fine-grained executor reads from `ExecutorInfo.data` (UTF-8 JSON). */
export interface FineExecutorData {
  /** The driver's link endpoint, for results larger than the status-data limit. */
  driver?: { host: string; port: number };
  /** Results up to this many bytes travel in `TaskStatus.data`. @default 1 MiB */
  statusDataLimitBytes?: number;
  /** How many tasks the executor runs at once. @default the agent's available parallelism */
  slots?: number;
  /** Heap limit of each task worker, in MiB. @default Node's default */
  heapLimitMiB?: number;
}

/** `ExecutorInfo.data` for a fine-grained executor (contract §2: JSON `{ "driver": { host, port } }`). */
export function encodeFineExecutorData(data: FineExecutorData): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(data), 'utf8'));
}

/** Reads `ExecutorInfo.data`; absent data gives `{}`. @throws SparkMesosError `SM_ERR_BAD_EXECUTOR_DATA` */
export function decodeFineExecutorData(bytes: Uint8Array | undefined): FineExecutorData {
  if (bytes === undefined || bytes.length === 0) return {};
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) throw new TypeError('not a JSON object');
    return value as FineExecutorData;
  } catch (error) {
    throw new SparkMesosError(
      'SM_ERR_BAD_EXECUTOR_DATA',
      `ExecutorInfo.data is not the JSON object a fine-grained spark-mesos executor expects: ${(error as Error).message}; build it with encodeFineExecutorData()`,
      { cause: error },
    );
  }
}

/** `TaskInfo.data` of a fine-grained task: `v8.serialize` of its {@link TaskSpec}. */
export function encodeFineTask(task: TaskSpec): Uint8Array {
  return serialize(task);
}

/** Reads `TaskInfo.data` of a fine-grained task. @throws SparkMesosError `SM_ERR_TASK_BAD_PAYLOAD` */
export function decodeFineTask(bytes: Uint8Array | undefined): TaskSpec {
  let value: unknown;
  try {
    if (bytes === undefined || bytes.length === 0) throw new TypeError('TaskInfo.data is empty');
    value = deserialize(bytes);
  } catch (error) {
    throw new SparkMesosError(
      'SM_ERR_TASK_BAD_PAYLOAD',
      `TaskInfo.data is not a serialized task: ${(error as Error).message}; build it with encodeFineTask()`,
      { cause: error },
    );
  }
  const spec = value as Partial<TaskSpec> | null;
  if (
    spec === null ||
    typeof spec !== 'object' ||
    typeof spec.taskId !== 'string' ||
    typeof spec.function !== 'object' ||
    !(spec.input instanceof Uint8Array) ||
    !(spec.captured instanceof Uint8Array)
  ) {
    throw new SparkMesosError(
      'SM_ERR_TASK_BAD_PAYLOAD',
      'TaskInfo.data does not hold a task (taskId, function, input and captured bytes); build it with encodeFineTask()',
      { cause: { keys: spec !== null && typeof spec === 'object' ? Object.keys(spec) : typeof spec } },
    );
  }
  return spec as TaskSpec;
}
