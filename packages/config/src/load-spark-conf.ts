import { join } from 'node:path';
import { SparkMesosError } from '@spark-mesos/errors';
import { type ConfigRegistry, defaultConfigRegistry } from './config-registry.js';
import { nonSparkKeyWarning } from './config-value.js';
import {
  type ConfigFileSystem,
  type ConfigLogger,
  type EnvironmentGetter,
  environmentFrom,
  nodeFileSystem,
  stderrLogger,
} from './io.js';
import { parseJavaProperties } from './java-properties.js';
import { javaTrim } from './java-trim.js';
import { redactConfValue } from './redaction.js';
import { SparkConf } from './spark-conf.js';
import { runSparkEnvScript, type SparkEnvRunner } from './spark-env.js';
import { type ConfigProblem, reviewSparkConf, throwConfigProblems } from './validate-spark-conf.js';

/** Options of {@link loadSparkConf}. */
export interface LoadSparkConfOptions {
  /** The inherited environment. @default the real `process.env` (this is the one place it is read) */
  env?: EnvironmentGetter;
  /** `--properties-file`: read instead of spark-defaults.conf, and required to exist. @default undefined */
  propertiesFile?: string;
  /** The `--conf key=value` arguments, in order. @default [] */
  commandLine?: readonly string[];
  /** Values set in code: the highest precedence. @default {} */
  code?: Readonly<Record<string, string>>;
  /** Reads spark-defaults.conf and credential files. @default nodeFileSystem */
  fs?: ConfigFileSystem;
  /** Evaluates spark-env.sh. @default runSparkEnvScript (real bash) */
  runSparkEnv?: SparkEnvRunner;
  /** Receives warnings and notices as they happen. @default a logger writing to stderr */
  logger?: ConfigLogger;
  /** The key registry. @default defaultConfigRegistry */
  registry?: ConfigRegistry;
  /** Whether to run {@link validateSparkConf} (problems throw). @default true */
  validate?: boolean;
}

/** What {@link loadSparkConf} returns. */
export interface LoadedSparkConf {
  /** The configuration, every source layered. */
  readonly conf: SparkConf;
  /** Warnings, each once, redacted: unknown/deprecated/non-Spark keys, validation warnings. */
  readonly warnings: string[];
  /** Informational notices, each once (e.g. MESOS_NATIVE_LIBRARY is not needed). */
  readonly notices: string[];
  /** The spark-env.sh that was evaluated, if any. */
  readonly sparkEnvFile?: string;
  /** The variables spark-env.sh set (values are not redacted: they may hold secrets; do not log). */
  readonly sparkEnv: Readonly<Record<string, string>>;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ignoredLibraries = ['MESOS_NATIVE_LIBRARY', 'MESOS_NATIVE_JAVA_LIBRARY'] as const;

function processEnvironment(): EnvironmentGetter {
  return environmentFrom(process.env);
}

/**
 * Builds a {@link SparkConf} from every source, as spark-submit and Spark's launch scripts do:
 * spark-env.sh (bash, `set -a`, clean environment) overlaying the inherited environment;
 * environment fallbacks (SPARK_EXECUTOR_URI → spark.executor.uri); spark-defaults.conf from
 * SPARK_CONF_DIR, else $SPARK_HOME/conf, or `propertiesFile` instead (values trimmed, non-`spark.`
 * keys ignored with a warning); `--conf` entries; code values. Precedence: code > command line >
 * properties file > environment > registry defaults. Then validates unless `validate` is false.
 *
 * @throws SparkMesosError `SM_ERR_CONFIG_FILE` for an unreadable or malformed file, a given
 *   `propertiesFile` that does not exist, or a failing spark-env.sh; `SM_ERR_BAD_CONFIG` listing
 *   every problem (malformed `--conf` entries included).
 * @see https://spark.apache.org/docs/3.5.4/configuration.html#dynamically-loading-spark-properties
 * @see https://spark.apache.org/docs/3.5.4/configuration.html#environment-variables
 */
export async function loadSparkConf(options: LoadSparkConfOptions = {}): Promise<LoadedSparkConf> {
  const inherited = options.env ?? processEnvironment();
  const fs = options.fs ?? nodeFileSystem;
  const logger = options.logger ?? stderrLogger;
  const warnings: string[] = [];
  const notices: string[] = [];
  let collecting = true;
  const collectingLogger: ConfigLogger = {
    warn(message) {
      if (collecting) {
        if (warnings.includes(message)) return;
        warnings.push(message);
      }
      logger.warn(message);
    },
    info(message) {
      if (collecting) {
        if (notices.includes(message)) return;
        notices.push(message);
      }
      logger.info(message);
    },
  };

  const sparkHome = inherited('SPARK_HOME');
  const confDir = inherited('SPARK_CONF_DIR') ?? (sparkHome === undefined ? undefined : join(sparkHome, 'conf'));

  let sparkEnv: Record<string, string> = {};
  let sparkEnvFile: string | undefined;
  if (confDir !== undefined && (await fs.exists(join(confDir, 'spark-env.sh')))) {
    sparkEnvFile = join(confDir, 'spark-env.sh');
    const cleanEnv: Record<string, string> = { PATH: inherited('PATH') ?? DEFAULT_PATH, SPARK_CONF_DIR: confDir };
    const home = inherited('HOME');
    if (home !== undefined) cleanEnv.HOME = home;
    if (sparkHome !== undefined) cleanEnv.SPARK_HOME = sparkHome;
    sparkEnv = await (options.runSparkEnv ?? runSparkEnvScript)({ file: sparkEnvFile, env: cleanEnv });
  }
  const fromSparkEnv = (name: string): boolean => Object.hasOwn(sparkEnv, name);
  // spark-env.sh is sourced after the environment is inherited, so its values win.
  const env: EnvironmentGetter = (name) => (fromSparkEnv(name) ? sparkEnv[name] : inherited(name));

  const conf = new SparkConf({ registry: options.registry ?? defaultConfigRegistry, env, logger: collectingLogger });

  for (const name of ignoredLibraries) {
    if (env(name) !== undefined) {
      collectingLogger.info(
        `${name} is set but not needed: spark-mesos speaks Mesos' HTTP API and never loads libmesos; it is ignored.`,
      );
    }
  }

  const executorUri = env('SPARK_EXECUTOR_URI');
  if (executorUri !== undefined) {
    const fromScript = fromSparkEnv('SPARK_EXECUTOR_URI');
    conf.setFromSource(
      fromScript ? 'spark-env.sh' : 'environment',
      'spark.executor.uri',
      executorUri,
      fromScript ? `${sparkEnvFile} SPARK_EXECUTOR_URI` : 'env SPARK_EXECUTOR_URI',
    );
  }

  const propertiesPath =
    options.propertiesFile ?? (confDir === undefined ? undefined : join(confDir, 'spark-defaults.conf'));
  if (propertiesPath !== undefined) {
    const exists = await fs.exists(propertiesPath);
    if (!exists && options.propertiesFile !== undefined) {
      throw new SparkMesosError(
        'SM_ERR_CONFIG_FILE',
        `--properties-file ${propertiesPath} does not exist or is not a file; fix the path, or drop the option to read spark-defaults.conf from SPARK_CONF_DIR`,
        { cause: { path: propertiesPath }, details: { path: propertiesPath } },
      );
    }
    if (exists) {
      let text: string;
      try {
        text = await fs.readFile(propertiesPath);
      } catch (error) {
        throw new SparkMesosError(
          'SM_ERR_CONFIG_FILE',
          `${propertiesPath}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); make it readable`,
          { cause: error, details: { path: propertiesPath } },
        );
      }
      for (const entry of parseJavaProperties(text, { source: propertiesPath })) {
        if (!entry.key.startsWith('spark.')) {
          collectingLogger.warn(nonSparkKeyWarning(entry.key));
          continue;
        }
        // Spark's Utils.getPropertiesFromFile trims values (Java's trim); keys are kept as parsed.
        conf.setFromSource('properties-file', entry.key, javaTrim(entry.value), `${propertiesPath}:${entry.line}`);
      }
    }
  }

  const problems: ConfigProblem[] = [];
  (options.commandLine ?? []).forEach((entry, index) => {
    const separator = entry.indexOf('=');
    if (separator < 0) {
      const shown = redactConfValue(entry, entry, conf.registry);
      problems.push({
        key: `--conf #${index + 1}`,
        value: shown,
        message: `--conf #${index + 1} ${JSON.stringify(shown)} has no "="; write --conf key=value (e.g. --conf spark.cores.max=8)`,
      });
      return;
    }
    const key = entry.slice(0, separator);
    conf.setFromSource('command-line', key, entry.slice(separator + 1), `--conf #${index + 1}`);
  });

  for (const [key, value] of Object.entries(options.code ?? {})) conf.set(key, value);

  if (options.validate !== false) {
    const review = await reviewSparkConf(conf, { fs });
    problems.push(...review.problems);
    if (problems.length === 0) for (const warning of review.warnings) collectingLogger.warn(warning);
  }
  if (problems.length > 0) throwConfigProblems(problems);
  collecting = false;
  return { conf, warnings, notices, sparkEnv, ...(sparkEnvFile === undefined ? {} : { sparkEnvFile }) };
}
