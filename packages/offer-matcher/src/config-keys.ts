/**
 * The configuration keys the offer matcher adds to Spark's, as plain descriptors, so a driver can
 * register them (and so not warn about them as unknown) without this package depending on a
 * configuration library. The fields are named as `@spark-mesos/config`'s `ConfigKeyDefinition`
 * (`key`, `type`, `unit`, `default`, `doc`, `allowedValues`), so the list can be passed to its
 * registry as it is:
 *
 * ```ts
 * registry.register(OFFER_MATCHER_CONFIG_KEYS, { owner: '@spark-mesos/offer-matcher' });
 * ```
 *
 * Spark's own keys that the matcher reads (`spark.executor.memory`, `spark.cores.max`,
 * `spark.mesos.constraints`, …) are not listed here: they are Spark's, documented with Spark's.
 * @packageDocumentation
 */

/** How a key's value is written, as Spark's config types. */
export type OfferMatcherConfigKind = 'size' | 'duration' | 'int' | 'boolean' | 'string';

/** One configuration key of the offer matcher. */
export interface OfferMatcherConfigKey {
  /** The key, e.g. `spark.mesos.maxAgentFailures`. */
  readonly key: string;
  /** How the value is read. */
  readonly type: OfferMatcherConfigKind;
  /** For sizes and durations: the unit of a plain number (`m` = MiB, `s` = seconds). @default undefined */
  readonly unit?: 'm' | 's';
  /** The default as it would be written in a Spark conf; absent when unset means "off". @default undefined */
  readonly default?: string;
  /** What the key does, one or two sentences. */
  readonly doc: string;
  /** For strings with a fixed set of values. @default undefined (any value) */
  readonly allowedValues?: readonly string[];
}

/** The keys that are ours, not Spark's, read by {@link offerMatcherSettingsFrom}. */
export const OFFER_MATCHER_CONFIG_KEYS: readonly OfferMatcherConfigKey[] = Object.freeze([
  Object.freeze({
    key: 'spark.mesos.maxAgentFailures',
    type: 'int',
    default: '2',
    doc: 'Failed executors on an agent after which it gets nothing more (Spark hard-codes 2).',
  }),
  Object.freeze({
    key: 'spark.mesos.agentFailureExpiry',
    type: 'duration',
    unit: 's',
    doc: "How long after an excluded agent's last failure its exclusion ends; unset, it never ends (as Spark).",
  }),
  Object.freeze({
    key: 'spark.mesos.placement',
    type: 'string',
    default: 'spread',
    allowedValues: Object.freeze(['spread', 'pack']),
    doc: "How executors and tasks are placed on offers: spread (Spark's round-robin) or pack (fill an agent first).",
  }),
  Object.freeze({
    key: 'spark.mesos.acceptRevocableResources',
    type: 'boolean',
    default: 'false',
    doc: 'Whether to run on revocable resources, which Mesos may take back.',
  }),
  Object.freeze({
    key: 'spark.mesos.maintenanceHorizon',
    type: 'duration',
    unit: 's',
    default: '1h',
    doc: 'No coarse-grained executor is started on an agent whose maintenance window starts within this time (or has started); fine-grained tasks only avoid a window that has started.',
  }),
  Object.freeze({
    key: 'spark.mesos.executor.disk',
    type: 'size',
    unit: 'm',
    default: '0',
    doc: 'Disk each coarse-grained executor takes from the offered root or PATH disk (Spark requests none).',
  }),
  Object.freeze({
    key: 'spark.mesos.fineGrained.memoryHeadroom',
    type: 'size',
    unit: 'm',
    default: '32m',
    doc: "Memory of an agent's offers left unused when a fine-grained executor is started there, so masters affected by MESOS-1688 keep offering its cpus; 0 turns it off.",
  }),
] satisfies OfferMatcherConfigKey[]);
