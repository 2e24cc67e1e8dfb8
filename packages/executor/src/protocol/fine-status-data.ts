import { deserialize, serialize } from 'node:v8';
import { SparkMesosError } from '@spark-mesos/errors';
import type { TaskOutcome } from '../task-spec.js';

/**
 * What a fine-grained executor puts in `TaskStatus.data` of a terminal update: the outcome, or,
 * when the result is larger than the status-data limit, the outcome without its result and a
 * note that the result went over the driver link (the driver gets it as a `taskOutcome` event).
 */
export type FineStatusData =
  | { version: 1; outcome: TaskOutcome }
  | {
      version: 1;
      resultVia: 'driver-link';
      resultBytes: number;
      outcome: Omit<Extract<TaskOutcome, { state: 'finished' }>, 'result'>;
    };

/** @default 1 MiB — the default limit of a result carried in `TaskStatus.data`. */
export const DEFAULT_STATUS_DATA_LIMIT_BYTES = 1024 * 1024;

/** Encodes {@link FineStatusData} for `TaskStatus.data`. */
export function encodeFineStatusData(data: FineStatusData): Uint8Array {
  return serialize(data);
}

/** Decodes `TaskStatus.data` of a fine-grained task; throws `SM_ERR_DRIVER_LINK_PROTOCOL` when it is not one. */
export function decodeFineStatusData(bytes: Uint8Array): FineStatusData {
  let value: unknown;
  try {
    value = deserialize(bytes);
  } catch (error) {
    throw new SparkMesosError(
      'SM_ERR_DRIVER_LINK_PROTOCOL',
      'TaskStatus.data is not a spark-mesos fine-grained outcome',
      {
        cause: error,
      },
    );
  }
  if (typeof value !== 'object' || value === null || (value as { version?: unknown }).version !== 1) {
    throw new SparkMesosError(
      'SM_ERR_DRIVER_LINK_PROTOCOL',
      'TaskStatus.data is not a spark-mesos fine-grained outcome (version 1)',
      {
        cause: { value: typeof value },
      },
    );
  }
  return value as FineStatusData;
}
