import type { ConfigKeyDefinition, ConfigRegistry } from '@spark-mesos/config';
import { textFileKeys } from './text-splits.js';

/** The owner name this package registers its configuration keys under. */
export const CORE_KEYS_OWNER = '@spark-mesos/core';

const SCHEDULING_DOCS = 'https://spark.apache.org/docs/3.5.0/configuration.html#scheduling';

/** The Spark keys the driver engine reads that `@spark-mesos/config` does not define. */
export const coreKeys: readonly ConfigKeyDefinition[] = [
  {
    key: 'spark.rdd.limit.initialNumPartitions',
    type: 'int',
    default: '1',
    doc: 'How many partitions take() scans first.',
  },
  {
    key: 'spark.rdd.limit.scaleUpFactor',
    type: 'int',
    default: '4',
    doc: 'How many times more partitions take() may scan in each further round (at least 2).',
  },
  {
    key: 'spark.excludeOnFailure.enabled',
    type: 'boolean',
    doc: 'Whether executors and hosts are excluded after repeated task failures; by default on for cluster backends, off for local[N].',
    see: SCHEDULING_DOCS,
  },
  {
    key: 'spark.excludeOnFailure.task.maxTaskAttemptsPerExecutor',
    type: 'int',
    default: '1',
    doc: 'Attempts of one task on one executor before that task avoids the executor.',
    see: SCHEDULING_DOCS,
  },
  {
    key: 'spark.excludeOnFailure.application.maxFailedTasksPerExecutor',
    type: 'int',
    default: '2',
    doc: 'Failed tasks on one executor before the executor is excluded for the application.',
    see: SCHEDULING_DOCS,
  },
  {
    key: 'spark.excludeOnFailure.application.maxFailedExecutorsPerNode',
    type: 'int',
    default: '2',
    doc: 'Excluded executors on one host before the whole host is excluded.',
    see: SCHEDULING_DOCS,
  },
  {
    key: 'spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout',
    type: 'duration',
    unit: 's',
    default: '120s',
    doc: 'How long a task set waits for an executor when one of its tasks is excluded everywhere, before it is aborted.',
    see: SCHEDULING_DOCS,
  },
  {
    key: 'spark.excludeOnFailure.timeout',
    type: 'duration',
    default: '1h',
    doc: 'How long an executor or host stays excluded.',
    see: SCHEDULING_DOCS,
  },
  ...textFileKeys,
];

/** Registers {@link coreKeys} (idempotent: the same owner replaces its own definitions). */
export function registerCoreKeys(registry: ConfigRegistry): void {
  registry.register(coreKeys, { owner: CORE_KEYS_OWNER });
}
