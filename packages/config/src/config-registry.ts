import { SparkMesosError } from '@spark-mesos/errors';
import { coreConfigKeys } from './core-config-keys.js';
import type { DurationUnit } from './duration.js';
import { editDistance } from './edit-distance.js';
import { SECRET_KEY_PATTERN } from './secret-key-pattern.js';
import type { SizeUnit } from './size.js';

/** How a key's value is read: Spark's `stringConf`, `intConf`, `doubleConf`, `booleanConf`, `bytesConf`, `timeConf`. */
export type ConfigValueType = 'string' | 'int' | 'double' | 'boolean' | 'size' | 'duration';

/** A deprecated key: used, it warns and its value is carried over to `replacedBy`. */
export interface ConfigDeprecation {
  /** The Spark (or spark-mesos) version that deprecated the key. @default undefined */
  since?: string;
  /** The key that replaces it; its value is copied there unless that key is set in the same source. @default undefined */
  replacedBy?: string;
  /** Why, or what to do instead. */
  message: string;
}

/** What the registry knows about one config key (or, with `prefix`, a family of keys). */
export interface ConfigKeyDefinition {
  /** The key, e.g. `spark.mesos.coarse`; for a prefix definition the prefix with its dot, e.g. `spark.executorEnv.`. */
  key: string;
  /** How the value is read and validated. */
  type: ConfigValueType;
  /** For `size` and `duration`: the unit of a plain number (Spark's `bytesConf(ByteUnit.MiB)` etc.). @default 'b' for sizes, 'ms' for durations */
  unit?: SizeUnit | DurationUnit;
  /** The default as Spark writes it (e.g. `1g`, `120s`); absent when there is none or it is computed. @default undefined */
  default?: string;
  /** What the key does, one or two sentences. */
  doc: string;
  /** Set when the key is deprecated. @default undefined */
  deprecated?: ConfigDeprecation;
  /** Whether the value is a secret, printed as `****`; keys matching {@link SECRET_KEY_PATTERN} are secret anyway. @default false */
  secret?: boolean;
  /** Whether `key` is a prefix: `spark.executorEnv.` covers `spark.executorEnv.PATH`. @default false */
  prefix?: boolean;
  /** For strings with a fixed set of values (Spark's `checkValues`). @default undefined (any value) */
  allowedValues?: readonly string[];
  /** A link to the documentation the definition follows. @default undefined */
  see?: string;
}

/** A definition as stored: with the owner that registered it. */
export interface RegisteredConfigKey extends ConfigKeyDefinition {
  /** Who registered it, e.g. `@spark-mesos/config` or `@spark-mesos/uploader`. */
  readonly owner: string;
}

/** Options of {@link ConfigRegistry.register}. */
export interface RegisterConfigKeysOptions {
  /** Who is registering (usually the package name); re-registering a key with the same owner replaces it. */
  owner: string;
}

/** The owner of {@link coreConfigKeys}. */
export const CORE_CONFIG_OWNER = '@spark-mesos/config';

const valueTypes: readonly ConfigValueType[] = ['string', 'int', 'double', 'boolean', 'size', 'duration'];
const sizeUnits: readonly string[] = ['b', 'k', 'm', 'g', 't', 'p'];
const durationUnits: readonly string[] = ['us', 'ms', 's', 'min', 'h', 'd'];

function badDefinition(definition: ConfigKeyDefinition, owner: string, problem: string): SparkMesosError {
  return new SparkMesosError('SM_ERR_BAD_CONFIG_DEFINITION', `${owner} registers ${definition.key}: ${problem}`, {
    cause: { key: definition.key, owner },
    details: { key: definition.key, owner },
  });
}

/**
 * Every config key spark-mesos honours: type, default, documentation, deprecation, secrecy.
 * Packages add their own keys with {@link ConfigRegistry.register} so that they do not draw
 * unknown-key warnings; lookups are prefix-aware.
 */
export class ConfigRegistry {
  readonly #exact = new Map<string, RegisteredConfigKey>();
  readonly #prefixes = new Map<string, RegisteredConfigKey>();

  /**
   * Adds definitions. A key already registered by a different owner is an error (two packages
   * must not disagree on a key); the same owner replaces its definition (e.g. a package loaded twice).
   *
   * @throws SparkMesosError `SM_ERR_DUPLICATE_CONFIG_KEY` for a key owned by someone else, or
   *   `SM_ERR_BAD_CONFIG_DEFINITION` for a malformed definition; nothing is registered then.
   */
  register(definitions: Iterable<ConfigKeyDefinition>, options: RegisterConfigKeysOptions): this {
    const { owner } = options;
    const accepted: RegisteredConfigKey[] = [];
    for (const definition of definitions) {
      if (!valueTypes.includes(definition.type)) {
        throw badDefinition(definition, owner, `type "${definition.type}" is not one of ${valueTypes.join(', ')}`);
      }
      const units = definition.type === 'size' ? sizeUnits : definition.type === 'duration' ? durationUnits : [];
      if (definition.unit !== undefined && !units.includes(definition.unit)) {
        throw badDefinition(definition, owner, `unit "${definition.unit}" does not fit type ${definition.type}`);
      }
      if (definition.prefix === true && !definition.key.endsWith('.')) {
        throw badDefinition(definition, owner, 'a prefix key must end with "."');
      }
      const existing = (definition.prefix === true ? this.#prefixes : this.#exact).get(definition.key);
      if (existing !== undefined && existing.owner !== owner) {
        throw new SparkMesosError(
          'SM_ERR_DUPLICATE_CONFIG_KEY',
          `${owner} registers ${definition.key}, which ${existing.owner} already registered; pick another key or leave it to ${existing.owner}`,
          { cause: { key: definition.key, owner, existingOwner: existing.owner }, details: { key: definition.key } },
        );
      }
      accepted.push({ ...definition, owner });
    }
    for (const definition of accepted) {
      (definition.prefix === true ? this.#prefixes : this.#exact).set(definition.key, Object.freeze(definition));
    }
    return this;
  }

  /** The definition that covers `key`: its own, else the longest registered prefix it extends. */
  lookup(key: string): RegisteredConfigKey | undefined {
    const exact = this.#exact.get(key);
    if (exact !== undefined) return exact;
    let best: RegisteredConfigKey | undefined;
    for (const [prefix, definition] of this.#prefixes) {
      if (
        key.length > prefix.length &&
        key.startsWith(prefix) &&
        (best === undefined || prefix.length > best.key.length)
      ) {
        best = definition;
      }
    }
    return best;
  }

  /** Whether `key` is covered by a definition (its own or a prefix). */
  has(key: string): boolean {
    return this.lookup(key) !== undefined;
  }

  /** Every definition, prefixes included, sorted by key. */
  definitions(): RegisteredConfigKey[] {
    return [...this.#exact.values(), ...this.#prefixes.values()].sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
    );
  }

  /**
   * The registered key closest to a mistyped `key` by edit distance (ignoring case), e.g.
   * `spark.mesos.corse` → `spark.mesos.coarse`; `undefined` when nothing is close (more than
   * max(2, a fifth of the key's length) edits) or `key` is itself registered.
   */
  suggest(key: string): string | undefined {
    if (this.has(key)) return undefined;
    const lower = key.toLowerCase();
    const limit = Math.max(2, Math.floor(key.length / 5));
    let best: { key: string; distance: number } | undefined;
    for (const candidate of [...this.#exact.keys(), ...this.#prefixes.keys()].sort()) {
      // Prefix keys compare against the same-length start of the typed key: spark.executorenv.X.
      const typed = this.#prefixes.has(candidate) ? lower.slice(0, candidate.length) : lower;
      if (Math.abs(typed.length - candidate.length) > limit) continue;
      const distance = editDistance(typed, candidate.toLowerCase());
      if (distance <= limit && (best === undefined || distance < best.distance)) best = { key: candidate, distance };
    }
    if (best === undefined) return undefined;
    return this.#prefixes.has(best.key) ? `${best.key}${key.slice(best.key.length)}` : best.key;
  }

  /** Whether values of `key` are printed as `****`: flagged secret, or matching {@link SECRET_KEY_PATTERN}. */
  isSecret(key: string): boolean {
    return this.lookup(key)?.secret === true || SECRET_KEY_PATTERN.test(key);
  }
}

/**
 * A new registry holding `definitions` (owner {@link CORE_CONFIG_OWNER}); by default the core
 * keys. Tests and embedders use their own registry; most code uses {@link defaultConfigRegistry}.
 */
export function createConfigRegistry(definitions: Iterable<ConfigKeyDefinition> = coreConfigKeys): ConfigRegistry {
  return new ConfigRegistry().register(definitions, { owner: CORE_CONFIG_OWNER });
}

const defaultRegistrySymbol = Symbol.for('@spark-mesos/config.defaultRegistry');

function sharedDefaultRegistry(): ConfigRegistry {
  // Symbol.for on globalThis: every copy of this package in the process shares one registry, so
  // keys another package registered are known whichever copy a SparkConf comes from.
  const holder = globalThis as unknown as Record<symbol, ConfigRegistry | undefined>;
  const existing = holder[defaultRegistrySymbol];
  if (existing !== undefined) return existing;
  const registry = createConfigRegistry();
  holder[defaultRegistrySymbol] = registry;
  return registry;
}

/**
 * The process-wide registry: the core keys, plus whatever other packages register. Stored at
 * `globalThis[Symbol.for('@spark-mesos/config.defaultRegistry')]` so that two copies of this
 * package share it. `new SparkConf()` uses it.
 */
export const defaultConfigRegistry: ConfigRegistry = sharedDefaultRegistry();
