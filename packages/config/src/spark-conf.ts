import { SparkMesosError } from '@spark-mesos/errors';
import { type ConfigRegistry, defaultConfigRegistry } from './config-registry.js';
import {
  deprecatedKeyWarning,
  nonSparkKeyWarning,
  parseBooleanValue,
  parseDoubleValue,
  parseDurationValue,
  parseIntValue,
  parseSizeValue,
  unknownKeyWarning,
} from './config-value.js';
import type { DurationUnit } from './duration.js';
import { type ConfigLogger, type EnvironmentGetter, emptyEnvironment, environmentFrom, stderrLogger } from './io.js';
import { getLaunchConf, type LaunchConfEntry } from './launch-conf.js';
import { redactConfValue } from './redaction.js';
import type { SizeUnit } from './size.js';

/**
 * Where a value came from. Precedence, highest first: `code` > `command-line` (`--conf`) >
 * `properties-file` (spark-defaults.conf or `--properties-file`) > `spark-env.sh`/`environment`
 * (environment fallbacks such as SPARK_EXECUTOR_URI) > `default` (the registry); `unset` when none.
 */
export type ConfigSource =
  | 'code'
  | 'command-line'
  | 'properties-file'
  | 'spark-env.sh'
  | 'environment'
  | 'default'
  | 'unset';

/** The sources a value can be set from (everything but `default` and `unset`). */
export type SettableConfigSource = Exclude<ConfigSource, 'default' | 'unset'>;

/** One value of a key in one source. */
export interface ConfigSourceValue {
  /** Where it came from. */
  readonly source: ConfigSource;
  /** The value, redacted when the key is secret. */
  readonly value: string;
  /** Where exactly, e.g. `/etc/spark/conf/spark-defaults.conf:12` or `env SPARK_EXECUTOR_URI`. */
  readonly origin?: string;
}

/** What {@link SparkConf.explain} reports about a key. */
export interface ConfigExplanation {
  /** The key explained. */
  readonly key: string;
  /** The effective value, redacted when secret; absent when unset. */
  readonly value?: string;
  /** The source that won. */
  readonly source: ConfigSource;
  /** Where the winning value came from, when known. */
  readonly origin?: string;
  /** The values it overrode (or that `remove` masks), highest precedence first; the registry default last. */
  readonly overridden: ConfigSourceValue[];
}

/** Options of {@link SparkConf}. */
export interface SparkConfOptions {
  /** The key registry: types, defaults, secrets, deprecations. @default defaultConfigRegistry */
  registry?: ConfigRegistry;
  /** The environment `getenv` reads. @default an empty environment (library code never reads process.env) */
  env?: EnvironmentGetter;
  /** Where warnings about unknown, deprecated and non-Spark keys go. @default a logger writing to stderr */
  logger?: ConfigLogger;
  /**
   * Whether to start from the launch configuration `spark-mesos submit` registered
   * ({@link setLaunchConf}): its `--master`, `--conf`, properties-file and environment values
   * fill their own layers (so code still wins and `explain` names them), silently, as Spark's
   * `new SparkConf()` loads the `spark.*` system properties spark-submit set; its environment
   * becomes the default of `env`. Without a launcher nothing changes.
   * @default true
   */
  loadDefaults?: boolean;
}

type LayerName = 'code' | 'command-line' | 'properties-file' | 'environment';
type LayerEntry =
  | {
      readonly removed: false;
      readonly value: string;
      readonly source: SettableConfigSource;
      readonly origin?: string;
      /** The deprecated key this value was carried over from. */
      readonly carriedFrom?: string;
    }
  | { readonly removed: true };

const layerOrder: readonly LayerName[] = ['code', 'command-line', 'properties-file', 'environment'];
const removedEntry: LayerEntry = Object.freeze({ removed: true });

function layerOf(source: SettableConfigSource): LayerName {
  return source === 'spark-env.sh' ? 'environment' : source;
}

function byKey(a: readonly [string, string], b: readonly [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/**
 * Spark's `SparkConf` for a Node driver: string key/values in layers by source (see
 * {@link ConfigSource}), typed getters with Spark's parsing, `explain` to see which source won.
 * Setters write the `code` layer and return `this`.
 *
 * Semantics as Spark's: `get`, `getOption` and the typed getters also see registry defaults;
 * `contains` and `getAll` report only values set by a source.
 *
 * @see https://spark.apache.org/docs/3.5.4/configuration.html#spark-properties
 */
export class SparkConf {
  /** The registry this configuration validates against. */
  readonly registry: ConfigRegistry;
  readonly #env: EnvironmentGetter;
  readonly #logger: ConfigLogger;
  readonly #layers = new Map<LayerName, Map<string, LayerEntry>>(layerOrder.map((name) => [name, new Map()]));
  readonly #warned = new Set<string>();
  #silent = false;

  constructor(options: SparkConfOptions = {}) {
    this.registry = options.registry ?? defaultConfigRegistry;
    const launch = options.loadDefaults === false ? undefined : getLaunchConf();
    this.#env = options.env ?? (launch?.env === undefined ? emptyEnvironment : environmentFrom(launch.env));
    this.#logger = options.logger ?? stderrLogger;
    if (launch !== undefined) {
      // The launcher warned about these keys already, as Spark's loadFromSystemProperties is silent.
      this.#silent = true;
      try {
        for (const entry of launch.entries) this.setFromSource(entry.source, entry.key, entry.value, entry.origin);
      } finally {
        this.#silent = false;
      }
    }
  }

  /**
   * Every value set by a source other than code, lowest precedence first, not redacted: what a
   * launcher passes to {@link setLaunchConf} so the application's `new SparkConf()` sees the same
   * layers. Values carried over from a deprecated key are left out (setting the key again
   * carries them).
   */
  launchEntries(): LaunchConfEntry[] {
    const entries: LaunchConfEntry[] = [];
    for (const name of [...layerOrder].reverse()) {
      if (name === 'code') continue;
      for (const [key, entry] of this.#layers.get(name)!) {
        if (entry.removed || entry.carriedFrom !== undefined || entry.source === 'code') continue;
        entries.push({
          source: entry.source,
          key,
          value: entry.value,
          ...(entry.origin === undefined ? {} : { origin: entry.origin }),
        });
      }
    }
    return entries;
  }

  /** Sets `key` to `value` in code. A deprecated key also sets its replacement. */
  set(key: string, value: string): this {
    return this.setFromSource('code', key, value);
  }

  /**
   * Sets `key` in the layer of `source`, recording `origin` for {@link SparkConf.explain}. For
   * loaders (spark-defaults.conf, `--conf`, the environment); application code uses `set`.
   * Keys not starting with `spark.` are ignored with a warning when they come from a file, the
   * command line or the environment, as spark-submit does, and kept when set in code, as
   * Spark's `SparkConf` does; unknown and deprecated `spark.*` keys warn once per key.
   *
   * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when key or value is not a string.
   */
  setFromSource(source: SettableConfigSource, key: string, value: string, origin?: string): this {
    if (typeof key !== 'string' || typeof value !== 'string') {
      throw new SparkMesosError(
        'SM_ERR_BAD_CONFIG',
        `SparkConf.set: key and value must be strings (got ${typeof key} and ${typeof value}); convert with String(value)`,
        { cause: { key: String(key), valueType: typeof value } },
      );
    }
    const layer = this.#layers.get(layerOf(source))!;
    if (!key.startsWith('spark.')) {
      // spark-submit drops these from files and --conf; code may keep its own settings, as in Spark.
      if (source !== 'code') {
        this.#warnOnce(nonSparkKeyWarning(key));
        return this;
      }
      layer.set(key, { removed: false, value, source, ...(origin === undefined ? {} : { origin }) });
      return this;
    }
    layer.set(key, { removed: false, value, source, ...(origin === undefined ? {} : { origin }) });
    const definition = this.registry.lookup(key);
    if (definition === undefined) {
      this.#warnOnce(unknownKeyWarning(key, this.registry));
    } else if (definition.deprecated !== undefined) {
      this.#warnOnce(deprecatedKeyWarning(key, definition));
      const replacement = definition.deprecated.replacedBy;
      const existing = replacement === undefined ? undefined : layer.get(replacement);
      // Carry over unless the replacement was set from this same source with its own value.
      if (replacement !== undefined && (existing === undefined || existing.removed || existing.carriedFrom === key)) {
        const carriedOrigin = `${origin ?? source} (via ${key})`;
        layer.set(replacement, { removed: false, value, source, origin: carriedOrigin, carriedFrom: key });
      }
    }
    return this;
  }

  /** Sets every pair, in order. */
  setAll(entries: Iterable<readonly [string, string]> | Readonly<Record<string, string>>): this {
    const pairs =
      Symbol.iterator in entries ? (entries as Iterable<readonly [string, string]>) : Object.entries(entries);
    for (const [key, value] of pairs) this.set(key, value);
    return this;
  }

  /** Sets `key` only when no source has set it (registry defaults do not count). */
  setIfMissing(key: string, value: string): this {
    return this.contains(key) ? this : this.set(key, value);
  }

  /** Sets `spark.master`, e.g. `mesos://zk://zk1:2181/mesos`. */
  setMaster(master: string): this {
    return this.set('spark.master', master);
  }

  /** Sets `spark.app.name`. */
  setAppName(name: string): this {
    return this.set('spark.app.name', name);
  }

  /**
   * Sets environment variables of the executors (`spark.executorEnv.NAME`): one pair, a list of
   * pairs, or a record.
   */
  setExecutorEnv(name: string, value: string): this;
  setExecutorEnv(variables: Iterable<readonly [string, string]> | Readonly<Record<string, string>>): this;
  setExecutorEnv(
    nameOrVariables: string | Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
    value?: string,
  ): this {
    if (typeof nameOrVariables === 'string') return this.set(`spark.executorEnv.${nameOrVariables}`, value as string);
    const pairs =
      Symbol.iterator in nameOrVariables
        ? (nameOrVariables as Iterable<readonly [string, string]>)
        : Object.entries(nameOrVariables);
    for (const [name, variable] of pairs) this.set(`spark.executorEnv.${name}`, variable);
    return this;
  }

  /**
   * The value of `key`: from the highest source that set it, else `defaultValue`, else the
   * registry default.
   *
   * @throws SparkMesosError `SM_ERR_MISSING_CONFIG` naming the key and how to set it when there is none.
   */
  get(key: string, defaultValue?: string): string {
    const value = this.#setValue(key) ?? defaultValue ?? this.registry.lookup(key)?.default;
    if (value === undefined) throw this.#missing(key);
    return value;
  }

  /** The value of `key` from the highest source that set it, else the registry default, else `undefined`. */
  getOption(key: string): string | undefined {
    return this.#setValue(key) ?? this.registry.lookup(key)?.default;
  }

  /** Every key set by a source (not registry defaults) with its effective value, sorted by key. */
  getAll(): Array<[string, string]> {
    const keys = new Set<string>();
    for (const layer of this.#layers.values()) for (const key of layer.keys()) keys.add(key);
    const result: Array<[string, string]> = [];
    for (const key of keys) {
      const value = this.#setValue(key);
      if (value !== undefined) result.push([key, value]);
    }
    return result.sort(byKey);
  }

  /** Whether a source set `key` (registry defaults do not count, as in Spark). */
  contains(key: string): boolean {
    return this.#setValue(key) !== undefined;
  }

  /**
   * Removes `key` from code and masks it in every lower source, so that afterwards `contains`
   * is false and `get` falls back to defaults, even if spark-defaults.conf or `--conf` set it
   * (a later `set` unmasks). Spark has a single map, so removing there also forgets file values.
   */
  remove(key: string): this {
    this.#layers.get('code')!.set(key, removedEntry);
    return this;
  }

  /** A deep copy: layers are copied, registry, environment and logger shared. */
  clone(): SparkConf {
    const copy = new SparkConf({ registry: this.registry, env: this.#env, logger: this.#logger, loadDefaults: false });
    for (const [name, layer] of this.#layers) copy.#layers.set(name, new Map(layer));
    for (const warning of this.#warned) copy.#warned.add(warning);
    return copy;
  }

  /** An environment variable of the driver (the injected environment, after spark-env.sh when loaded). */
  getenv(name: string): string | undefined {
    return this.#env(name);
  }

  /**
   * `key` as a 32-bit integer.
   * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when malformed, `SM_ERR_MISSING_CONFIG` when absent with no default.
   */
  getInt(key: string, defaultValue?: number): number {
    return this.#typed(key, defaultValue, (raw) => parseIntValue(key, raw, this.registry));
  }

  /**
   * `key` as a decimal number.
   * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when malformed, `SM_ERR_MISSING_CONFIG` when absent with no default.
   */
  getDouble(key: string, defaultValue?: number): number {
    return this.#typed(key, defaultValue, (raw) => parseDoubleValue(key, raw, this.registry));
  }

  /**
   * `key` as a boolean (`true`/`false`, any case).
   * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when malformed, `SM_ERR_MISSING_CONFIG` when absent with no default.
   */
  getBoolean(key: string, defaultValue?: boolean): boolean {
    return this.#typed(key, defaultValue, (raw) => parseBooleanValue(key, raw, this.registry));
  }

  /**
   * `key` as bytes; a plain number (value or numeric default) means bytes. A string default is parsed.
   * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when malformed, `SM_ERR_MISSING_CONFIG` when absent with no default.
   */
  getSizeAsBytes(key: string, defaultValue?: string | number): number {
    return this.#size(key, defaultValue, 'b');
  }

  /** `key` as KiB (truncated); a plain number means KiB. See {@link SparkConf.getSizeAsBytes}. */
  getSizeAsKb(key: string, defaultValue?: string | number): number {
    return this.#size(key, defaultValue, 'k');
  }

  /** `key` as MiB (truncated); a plain number means MiB. See {@link SparkConf.getSizeAsBytes}. */
  getSizeAsMb(key: string, defaultValue?: string | number): number {
    return this.#size(key, defaultValue, 'm');
  }

  /** `key` as GiB (truncated); a plain number means GiB. See {@link SparkConf.getSizeAsBytes}. */
  getSizeAsGb(key: string, defaultValue?: string | number): number {
    return this.#size(key, defaultValue, 'g');
  }

  /**
   * `key` as milliseconds; a plain number means milliseconds.
   * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when malformed, `SM_ERR_MISSING_CONFIG` when absent with no default.
   */
  getTimeAsMs(key: string, defaultValue?: string | number): number {
    return this.#time(key, defaultValue, 'ms');
  }

  /** `key` as seconds (truncated); a plain number means seconds. See {@link SparkConf.getTimeAsMs}. */
  getTimeAsSeconds(key: string, defaultValue?: string | number): number {
    return this.#time(key, defaultValue, 's');
  }

  /** Which source set `key`, from where, and what it overrode; values redacted when secret. */
  explain(key: string): ConfigExplanation {
    const redact = (value: string): string => redactConfValue(key, value, this.registry);
    const found: ConfigSourceValue[] = [];
    let masked = false;
    for (const name of layerOrder) {
      const entry = this.#layers.get(name)!.get(key);
      if (entry === undefined) continue;
      if (entry.removed) {
        masked = true;
        continue;
      }
      found.push({
        source: entry.source,
        value: redact(entry.value),
        ...(entry.origin === undefined ? {} : { origin: entry.origin }),
      });
    }
    const fallback = this.registry.lookup(key)?.default;
    const defaultValue: ConfigSourceValue[] =
      fallback === undefined ? [] : [{ source: 'default', value: redact(fallback), origin: 'registry default' }];
    const winner = masked ? undefined : found[0];
    if (winner !== undefined) return { key, ...winner, overridden: [...found.slice(1), ...defaultValue] };
    if (fallback !== undefined) {
      return { key, value: redact(fallback), source: 'default', origin: 'registry default', overridden: found };
    }
    return { key, source: 'unset', overridden: found };
  }

  /** `key=value` lines for every set key, sorted, secrets and URL passwords redacted (Spark's `toDebugString`). */
  toDebugString(): string {
    return this.getAll()
      .map(([key, value]) => `${key}=${redactConfValue(key, value, this.registry)}`)
      .join('\n');
  }

  #setValue(key: string): string | undefined {
    for (const name of layerOrder) {
      const entry = this.#layers.get(name)!.get(key);
      if (entry === undefined) continue;
      return entry.removed ? undefined : entry.value;
    }
    return undefined;
  }

  #typed<T>(key: string, defaultValue: T | undefined, parse: (raw: string) => T): T {
    const raw = this.#setValue(key);
    if (raw !== undefined) return parse(raw);
    if (defaultValue !== undefined) return defaultValue;
    const fallback = this.registry.lookup(key)?.default;
    if (fallback !== undefined) return parse(fallback);
    throw this.#missing(key);
  }

  #size(key: string, defaultValue: string | number | undefined, unit: SizeUnit): number {
    const parse = (raw: string): number => parseSizeValue(key, raw, unit, this.registry);
    if (typeof defaultValue === 'string' && !this.contains(key)) return parse(defaultValue);
    return this.#typed(key, defaultValue as number | undefined, parse);
  }

  #time(key: string, defaultValue: string | number | undefined, unit: DurationUnit): number {
    const parse = (raw: string): number => parseDurationValue(key, raw, unit, this.registry);
    if (typeof defaultValue === 'string' && !this.contains(key)) return parse(defaultValue);
    return this.#typed(key, defaultValue as number | undefined, parse);
  }

  #missing(key: string): SparkMesosError {
    return new SparkMesosError(
      'SM_ERR_MISSING_CONFIG',
      `${key} is not set; set it with conf.set('${key}', …), --conf ${key}=… or a "${key} …" line in spark-defaults.conf`,
      { cause: { key }, details: { key } },
    );
  }

  #warnOnce(message: string): void {
    if (this.#silent || this.#warned.has(message)) return;
    this.#warned.add(message);
    this.#logger.warn(message);
  }
}
