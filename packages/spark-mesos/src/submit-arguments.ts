// The command line of `spark-mesos submit` and `spark-mesos shell`, as spark-submit reads it:
// options first, then the application and its own arguments, untouched.
import { usageError } from './cli-errors.js';

/** What `spark-mesos submit` (or `shell`) was asked for. */
export interface SubmitArguments {
  /** `--help` / `-h`. */
  readonly help: boolean;
  /** `--verbose`: stacks with errors, the effective configuration on stderr. */
  readonly verbose: boolean;
  /** `--master URL` → `spark.master`. @default spark.master from --conf, the properties file or $MASTER, else `local[*]` */
  readonly master?: string;
  /** `--conf key=value`, in order. @default [] */
  readonly conf: readonly string[];
  /** `--properties-file F`, read instead of spark-defaults.conf. @default $SPARK_CONF_DIR/spark-defaults.conf */
  readonly propertiesFile?: string;
  /** `--name N` → `spark.app.name`. @default the application file's name */
  readonly name?: string;
  /** `--executor-memory M` → `spark.executor.memory`. */
  readonly executorMemory?: string;
  /** `--total-executor-cores N` → `spark.cores.max`. */
  readonly totalExecutorCores?: string;
  /** `--deploy-mode client|cluster` → `spark.submit.deployMode`; only `client` runs. */
  readonly deployMode?: string;
  /** The application file (submit only). */
  readonly app?: string;
  /** The application's arguments, as given. @default [] */
  readonly appArgs: readonly string[];
}

const valueOptions = {
  '--master': 'master',
  '--conf': 'conf',
  '-c': 'conf',
  '--properties-file': 'propertiesFile',
  '--name': 'name',
  '--executor-memory': 'executorMemory',
  '--total-executor-cores': 'totalExecutorCores',
  '--deploy-mode': 'deployMode',
} as const;

/**
 * Parses the arguments after the command name. Options end at the first argument that is not
 * one (or at `--`): that is the application file, and everything after it is the application's.
 *
 * @throws SparkMesosError `SM_ERR_USAGE` for an unknown option or a missing value.
 */
export function parseSubmitArguments(args: readonly string[], command: string): SubmitArguments {
  const conf: string[] = [];
  const values: Partial<Record<Exclude<(typeof valueOptions)[keyof typeof valueOptions], 'conf'>, string>> = {};
  let help = false;
  let verbose = false;
  let index = 0;
  for (; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--') {
      index++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--verbose' || arg === '-v') {
      verbose = true;
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.startsWith('--') && equals > 0 ? arg.slice(0, equals) : arg;
    const field = valueOptions[name as keyof typeof valueOptions];
    if (field === undefined) throw usageError(command, `unknown option ${JSON.stringify(name)}`);
    let value: string | undefined;
    if (name !== arg) value = arg.slice(equals + 1);
    else {
      value = args[index + 1];
      if (value === undefined) throw usageError(command, `${name} needs a value`);
      index++;
    }
    if (field === 'conf') conf.push(value);
    else values[field] = value;
  }
  const app = args[index];
  return {
    help,
    verbose,
    conf,
    ...values,
    ...(app === undefined ? {} : { app }),
    appArgs: args.slice(index + 1),
  };
}
