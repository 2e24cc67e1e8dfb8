// The process-wide launch configuration: how `spark-mesos submit` hands the configuration it
// loaded (--master, --conf, --properties-file, the environment) to the `new SparkConf()` of the
// application it runs in the same process, as spark-submit hands it to Spark's SparkConf through
// Java system properties.
import type { SettableConfigSource } from './spark-conf.js';

/** One value the launcher loaded, with its source (never `code`: code belongs to the application). */
export interface LaunchConfEntry {
  /** Where the value came from; it lands in that layer of every `new SparkConf()`. */
  readonly source: Exclude<SettableConfigSource, 'code'>;
  /** The key. */
  readonly key: string;
  /** The value, not redacted (it stays in this process). */
  readonly value: string;
  /** Where exactly, for `explain` (e.g. `--conf #2`, `/etc/spark/conf/spark-defaults.conf:12`). */
  readonly origin?: string;
}

/** What a launcher registers with {@link setLaunchConf}: plain data, so any copy of this package reads it. */
export interface LaunchConf {
  /** The values, lowest precedence first (later entries of one layer win). */
  readonly entries: readonly LaunchConfEntry[];
  /** The driver's environment after spark-env.sh, for `SparkConf.getenv`. @default none (an empty environment) */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The `globalThis` slot holding the {@link LaunchConf}: a registered symbol, so two copies of
 * `@spark-mesos/config` in one process share it.
 */
export const LAUNCH_CONF_SLOT: unique symbol = Symbol.for('@spark-mesos/config.launchConf') as never;

type LaunchGlobal = typeof globalThis & { [LAUNCH_CONF_SLOT]?: LaunchConf };

/**
 * Registers (or, with `undefined`, removes) the launch configuration every later
 * `new SparkConf()` (without `loadDefaults: false`) starts from. For launchers such as
 * `spark-mesos submit`; applications never need it.
 */
export function setLaunchConf(launch: LaunchConf | undefined): void {
  const slot = globalThis as LaunchGlobal;
  if (launch === undefined) delete slot[LAUNCH_CONF_SLOT];
  else slot[LAUNCH_CONF_SLOT] = launch;
}

/** The registered launch configuration, if a launcher set one. */
export function getLaunchConf(): LaunchConf | undefined {
  return (globalThis as LaunchGlobal)[LAUNCH_CONF_SLOT];
}
