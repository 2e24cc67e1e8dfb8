// The configuration `spark-mesos submit` and `spark-mesos shell` hand to the application: loaded
// from every source once, checked before the application starts, then registered with
// setLaunchConf so the application's `new SparkConf()` starts from it.
import {
  type ConfigKeyDefinition,
  type ConfigLogger,
  defaultConfigRegistry,
  loadSparkConf,
  type SparkConf,
  setLaunchConf,
  stderrLogger,
  validateSparkConf,
} from '@spark-mesos/config';
import { registerCoreKeys } from '@spark-mesos/core';
import { SparkMesosError } from '@spark-mesos/errors';
import { type MasterUrl, parseMasterUrl } from '@spark-mesos/master-url';
import type { SubmitArguments } from './submit-arguments.js';

/** The master `spark-mesos submit` runs on when none is given anywhere (spark-submit's default). */
export const DEFAULT_SUBMIT_MASTER = 'local[*]';

/** The keys the command line sets that no other package defines. */
export const submitKeys: readonly ConfigKeyDefinition[] = [
  {
    key: 'spark.submit.deployMode',
    type: 'string',
    default: 'client',
    doc: 'Where the driver runs: client (here). cluster needs a MesosClusterDispatcher, which spark-mesos does not have.',
    see: 'https://spark.apache.org/docs/3.5.4/submitting-applications.html',
  },
];

/** Options of {@link loadSubmitConf}. */
export interface LoadSubmitConfOptions {
  /** The command, for messages (`spark-mesos submit`). */
  readonly command: string;
  /** `spark.app.name` when neither `--name` nor a source sets it. */
  readonly defaultAppName: string;
  /** The environment. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where warnings go. @default stderr */
  readonly logger?: ConfigLogger;
}

/** What {@link loadSubmitConf} returns. */
export interface SubmitConf {
  /** Every source layered; the options of the command line in the `command-line` layer. */
  readonly conf: SparkConf;
  /** `spark.master`, parsed. */
  readonly master: MasterUrl;
  /** The driver's environment: the inherited one, overlaid with spark-env.sh's variables. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Loads the configuration as spark-submit does (spark-env.sh, environment fallbacks,
 * `--properties-file` or spark-defaults.conf, `--conf`), then the dedicated options, which win
 * over `--conf` as in spark-submit (`--master` over `--conf spark.master=…`), then the
 * defaults: `spark.master` from `$MASTER`, else `local[*]`; `spark.app.name` from the
 * application's file name. Checks the master URL, the deploy mode and every value.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG`, `SM_ERR_CONFIG_FILE`, `SM_ERR_BAD_MASTER_URL`,
 *   `SM_ERR_UNSUPPORTED_DEPLOY_MODE` (`--deploy-mode cluster`).
 */
export async function loadSubmitConf(args: SubmitArguments, options: LoadSubmitConfOptions): Promise<SubmitConf> {
  const inherited = options.env ?? process.env;
  registerCoreKeys(defaultConfigRegistry);
  defaultConfigRegistry.register(submitKeys, { owner: 'spark-mesos' });
  const loaded = await loadSparkConf({
    env: (name) => inherited[name],
    commandLine: args.conf,
    validate: false,
    ...(args.propertiesFile === undefined ? {} : { propertiesFile: args.propertiesFile }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const conf = loaded.conf;
  const dedicated: Array<[string, string | undefined, string]> = [
    ['spark.master', args.master, '--master'],
    ['spark.app.name', args.name, '--name'],
    ['spark.executor.memory', args.executorMemory, '--executor-memory'],
    ['spark.cores.max', args.totalExecutorCores, '--total-executor-cores'],
    ['spark.submit.deployMode', args.deployMode, '--deploy-mode'],
  ];
  for (const [key, value, option] of dedicated) {
    if (value !== undefined) conf.setFromSource('command-line', key, value, option);
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inherited)) if (value !== undefined) env[name] = value;
  Object.assign(env, loaded.sparkEnv);
  if (!conf.contains('spark.master')) {
    if (env.MASTER !== undefined && env.MASTER !== '') {
      conf.setFromSource('environment', 'spark.master', env.MASTER, 'env MASTER');
    } else {
      conf.setFromSource('command-line', 'spark.master', DEFAULT_SUBMIT_MASTER, `${options.command}'s default master`);
    }
  }
  if (!conf.contains('spark.app.name')) {
    conf.setFromSource('command-line', 'spark.app.name', options.defaultAppName, `${options.command}'s default name`);
  }

  const deployMode = conf.get('spark.submit.deployMode');
  if (deployMode === 'cluster') {
    throw new SparkMesosError(
      'SM_ERR_UNSUPPORTED_DEPLOY_MODE',
      `--deploy-mode cluster (${describeOrigin(conf, 'spark.submit.deployMode')}) needs a MesosClusterDispatcher to run the driver on the cluster, and spark-mesos has none; use --deploy-mode client (the default): the driver runs here and its executors on the cluster`,
      { cause: { key: 'spark.submit.deployMode', value: deployMode } },
    );
  }
  if (deployMode !== 'client') {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `spark.submit.deployMode is ${JSON.stringify(deployMode)} (${describeOrigin(conf, 'spark.submit.deployMode')}); it must be client`,
      { cause: { key: 'spark.submit.deployMode', value: deployMode } },
    );
  }
  const master = parseMasterUrl(conf.get('spark.master'));
  const { warnings } = await validateSparkConf(conf);
  for (const warning of warnings) (options.logger ?? stderrLogger).warn(warning);
  return { conf, master, env };
}

/**
 * Registers `conf` (every source but code) and `env` as the launch configuration of this
 * process: from now on `new SparkConf()` starts from them.
 */
export function registerSubmitConf(submit: SubmitConf): void {
  setLaunchConf({ entries: submit.conf.launchEntries(), env: submit.env });
}

function describeOrigin(conf: SparkConf, key: string): string {
  const explained = conf.explain(key);
  return `from ${explained.origin ?? explained.source}`;
}
