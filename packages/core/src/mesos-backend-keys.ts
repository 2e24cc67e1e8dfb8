import type { ConfigKeyDefinition, ConfigRegistry } from '@spark-mesos/config';
import { OFFER_MATCHER_CONFIG_KEYS } from '@spark-mesos/offer-matcher';

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
    default: '64',
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

/** Registers {@link mesosBackendKeys} and the offer matcher's keys (idempotent: the same owner replaces its own definitions). */
export function registerMesosBackendKeys(registry: ConfigRegistry): void {
  registry.register(mesosBackendKeys, { owner: MESOS_BACKEND_KEYS_OWNER });
  // The offer matcher's own keys (placement, agent failures, headroom, …) come from it: it
  // describes them without depending on the config package.
  registry.register(OFFER_MATCHER_CONFIG_KEYS, { owner: '@spark-mesos/offer-matcher' });
}
