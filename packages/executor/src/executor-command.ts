import { SparkMesosError } from '@spark-mesos/errors';
import type { CommandInfo, CommandInfoURI, EnvironmentVariable } from '@spark-mesos/mesos-client';
import { appSecretVariable, secretVariable } from './app-secret.js';
import type { ExecutorMode } from './protocol/messages.js';

/** The top directory of a packed executor (contract §1), what Mesos extracts into the sandbox. */
export const EXECUTOR_PACKAGE_DIRECTORY = 'spark-mesos-executor';

/** Options of {@link buildExecutorCommand}. */
export interface ExecutorCommandOptions {
  /** `coarse`: a command task that dials the driver; `fine`: a custom Mesos executor. */
  mode: ExecutorMode;
  /** The packed executor (`spark.executor.uri`), fetched and extracted by the agent. Exactly one of this and `executorHome`. */
  executorUri?: string;
  /** Whether the agent extracts `executorUri`. @default true */
  extract?: boolean;
  /** Whether the agent's fetcher cache keeps `executorUri` (safe: its name holds its hash). @default false */
  cache?: boolean;
  /** A directory with the package layout on every agent (`spark.mesos.executor.home`). */
  executorHome?: string;
  /** The Node binary on the agent (`spark.mesos.executor.node`). @default 'node' */
  node?: string;
  /** Use the Node binary bundled in the package (`./node/bin/node`); overrides `node`. @default false */
  bundledNode?: boolean;
  /** Where the coarse executor dials (required in coarse mode). */
  driverAddress?: { host: string; port: number };
  /** The coarse executor's id (required in coarse mode). */
  executorId?: string;
  /** CPUs of the coarse executor. @default 1 */
  cores?: number;
  /** Memory of the coarse executor in MiB (its workers' heap limits derive from it). @default 1024 */
  memoryMiB?: number;
  /** CPUs per task (`spark.task.cpus`): the executor runs `floor(cores / taskCpus)` tasks at once. @default 1 */
  taskCpus?: number;
  /** More URIs for the agent to fetch (the application, files). @default [] */
  extraUris?: CommandInfoURI[];
  /** Plain environment variables (never secrets). @default {} */
  environment?: Record<string, string>;
  /** Environment variables passed as Mesos secrets of type VALUE (text as UTF-8, or bytes). @default {} */
  secretEnvironment?: Record<string, string | Uint8Array>;
  /** The application secret, added as `SPARK_MESOS_APP_SECRET` (a SECRET variable holding its base64). */
  appSecret?: Uint8Array;
  /** More flags for `bin/spark-mesos-executor` (e.g. `--driver-lost-timeout-ms 60000`). @default [] */
  extraFlags?: string[];
}

// POSIX shell single quotes: nothing inside is special but the quote itself.
function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

function bad(message: string, cause: unknown): SparkMesosError {
  return new SparkMesosError('SM_ERR_BAD_EXECUTOR_COMMAND', message, { cause });
}

/**
 * The `CommandInfo` that starts `bin/spark-mesos-executor` on an agent (contract §2), so the
 * driver never writes it by hand: `cd spark-mesos-executor && exec <node> bin/spark-mesos-executor
 * <flags>` with the package fetched from `executorUri`, or `cd '<executorHome>' && …`. The
 * application secret travels as a SECRET environment variable, never on the command line.
 *
 * @throws SparkMesosError `SM_ERR_BAD_EXECUTOR_COMMAND` for missing or contradictory options.
 */
export function buildExecutorCommand(options: ExecutorCommandOptions): CommandInfo {
  if ((options.executorUri === undefined) === (options.executorHome === undefined)) {
    throw bad(
      'give exactly one of executorUri (spark.executor.uri) and executorHome (spark.mesos.executor.home) to start the executor',
      { executorUri: options.executorUri, executorHome: options.executorHome },
    );
  }
  const node = options.bundledNode ? './node/bin/node' : (options.node ?? 'node');
  const flags = ['--mode', options.mode];
  if (options.mode === 'coarse') {
    const { driverAddress, executorId } = options;
    if (driverAddress === undefined || executorId === undefined || executorId === '') {
      throw bad('a coarse-grained executor needs driverAddress and executorId', { driverAddress, executorId });
    }
    const cores = options.cores ?? 1;
    const taskCpus = options.taskCpus ?? 1;
    if (!(cores > 0) || !(taskCpus > 0) || Math.floor(cores / taskCpus) < 1) {
      throw bad(
        `cores (${cores}) / spark.task.cpus (${taskCpus}) must allow at least one task; give the executor more cores`,
        { cores, taskCpus },
      );
    }
    flags.push(
      '--driver',
      `${driverAddress.host.includes(':') ? `[${driverAddress.host}]` : driverAddress.host}:${driverAddress.port}`,
      '--executor-id',
      executorId,
      '--cores',
      String(cores),
      '--memory',
      String(options.memoryMiB ?? 1024),
      '--task-cpus',
      String(taskCpus),
    );
  }
  flags.push(...(options.extraFlags ?? []));
  const directory = options.executorHome ?? EXECUTOR_PACKAGE_DIRECTORY;
  const value = `cd ${shellQuote(directory)} && exec ${shellQuote(node)} bin/spark-mesos-executor ${flags.map(shellQuote).join(' ')}`;

  const uris: CommandInfoURI[] = [];
  if (options.executorUri !== undefined) {
    uris.push({ value: options.executorUri, extract: options.extract ?? true, cache: options.cache ?? false });
  }
  uris.push(...(options.extraUris ?? []));

  const variables: EnvironmentVariable[] = Object.entries(options.environment ?? {}).map(([name, text]) => ({
    name,
    type: 'VALUE',
    value: text,
  }));
  for (const [name, secret] of Object.entries(options.secretEnvironment ?? {}))
    variables.push(secretVariable(name, secret));
  if (options.appSecret !== undefined) variables.push(appSecretVariable(options.appSecret));

  return {
    shell: true,
    value,
    ...(uris.length === 0 ? {} : { uris }),
    ...(variables.length === 0 ? {} : { environment: { variables } }),
  };
}
