import type { ConfigKeyDefinition, ConfigRegistry } from '@spark-mesos/config';

/** The owner name the Mesos backends register their configuration keys under. */
export const MESOS_BACKEND_KEYS_OWNER = '@spark-mesos/core (mesos)';

const MESOS_DOCS = 'https://spark.apache.org/docs/3.5.0/running-on-mesos.html#configuration';

/**
 * Keys the Mesos backends read that `@spark-mesos/config` does not define: ours (the executor
 * runtime, agent failures, placement) and the offer matcher's, which does not depend on the
 * config package and so cannot register them itself.
 */
export const mesosBackendKeys: readonly ConfigKeyDefinition[] = [
  {
    key: 'spark.mesos.checkpoint',
    type: 'boolean',
    doc: "FrameworkInfo.checkpoint: whether agents checkpoint this framework's tasks so they survive an agent restart.",
    see: MESOS_DOCS,
  },
  {
    key: 'spark.mesos.driver.labels',
    type: 'string',
    doc: 'Labels of the framework (FrameworkInfo.labels), as key:value pairs separated by commas; escape a comma or colon in a value with a backslash.',
    see: MESOS_DOCS,
  },
  {
    key: 'spark.mesos.subscribeTimeout',
    type: 'duration',
    unit: 'ms',
    default: '30s',
    doc: 'How long the driver waits to subscribe to the Mesos master before failing with SM_ERR_MESOS_UNREACHABLE.',
  },
  {
    key: 'spark.mesos.coarse.pipelineDepth',
    type: 'int',
    default: '16',
    doc: 'The most tasks sent to a coarse-grained executor per task slot while tasks are short (under 20 ms on average) and more wait than the slots hold: the executor starts the next without a round trip to the driver. 1 turns it off (one task per slot, as Spark).',
  },
  {
    key: 'spark.mesos.executor.node',
    type: 'string',
    default: 'node',
    doc: 'The Node.js binary that starts the executor on agents (a name on PATH or an absolute path).',
  },
  {
    key: 'spark.mesos.executor.bundleNode',
    type: 'boolean',
    default: 'false',
    doc: 'Whether the executor package carries the Node binary of the driver, for agents without Node 20.',
  },
  {
    key: 'spark.mesos.maxAgentFailures',
    type: 'int',
    default: '2',
    doc: 'Failed executors on one agent after which its offers are declined (Spark hard-codes 2).',
  },
  {
    key: 'spark.mesos.agentFailureExpiry',
    type: 'duration',
    unit: 's',
    doc: 'How long after its last failure an agent excluded by spark.mesos.maxAgentFailures may be used again; by default never.',
  },
  {
    key: 'spark.mesos.placement',
    type: 'string',
    default: 'spread',
    allowedValues: ['spread', 'pack'],
    doc: 'How coarse-grained executors are placed on offers: round-robin across agents (spread, as Spark) or filling one offer first (pack).',
  },
  {
    key: 'spark.mesos.executor.disk',
    type: 'size',
    unit: 'm',
    default: '0',
    doc: 'Disk (MiB) each coarse-grained executor takes from the offered root or PATH disk.',
  },
  {
    key: 'spark.mesos.acceptRevocableResources',
    type: 'boolean',
    default: 'false',
    doc: 'Whether executors may run on revocable resources.',
  },
  {
    key: 'spark.mesos.maintenanceHorizon',
    type: 'duration',
    unit: 's',
    default: '1h',
    doc: 'No coarse-grained executor starts on an agent whose maintenance window begins within this time.',
  },
  {
    key: 'spark.locality.wait',
    type: 'duration',
    unit: 'ms',
    default: '3s',
    doc: 'How long to wait for offers on preferred hosts before using others.',
  },
  {
    key: 'spark.blockManager.port',
    type: 'int',
    default: '0',
    doc: 'A port each coarse-grained executor takes from the offer (0: none).',
  },
];

/** Registers {@link mesosBackendKeys} (idempotent: the same owner replaces its own definitions). */
export function registerMesosBackendKeys(registry: ConfigRegistry): void {
  registry.register(mesosBackendKeys, { owner: MESOS_BACKEND_KEYS_OWNER });
}
