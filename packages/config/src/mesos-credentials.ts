import { SparkMesosError } from '@spark-mesos/errors';
import { type ConfigFileSystem, nodeFileSystem } from './io.js';
import { redactConfValue } from './redaction.js';
import type { SparkConf } from './spark-conf.js';

/** Where one credential comes from, per Spark's preference order. */
export interface MesosCredentialSource {
  /** The config key or environment variable that supplied it. */
  readonly from:
    | 'spark.mesos.principal'
    | 'SPARK_MESOS_PRINCIPAL'
    | 'spark.mesos.principal.file'
    | 'SPARK_MESOS_PRINCIPAL_FILE'
    | 'spark.mesos.secret'
    | 'SPARK_MESOS_SECRET'
    | 'spark.mesos.secret.file'
    | 'SPARK_MESOS_SECRET_FILE';
  /** `value`: the credential itself; `file`: a path to read it from. */
  readonly kind: 'value' | 'file';
  /** The credential, or the file path. */
  readonly value: string;
}

/** Which sources {@link resolveMesosCredentials} would use, without reading files. */
export interface MesosCredentialPlan {
  /** The principal's source, if any. */
  readonly principal?: MesosCredentialSource;
  /** The secret's source, if any. */
  readonly secret?: MesosCredentialSource;
}

/** Options of {@link resolveMesosCredentials}. */
export interface ResolveMesosCredentialsOptions {
  /** Reads principal and secret files. @default nodeFileSystem */
  fs?: ConfigFileSystem;
  /**
   * Whether to drop one trailing `\n` (or `\r\n`) from file contents. Spark does not (it sends
   * the file verbatim, newline included), so neither do we unless asked.
   * @default false
   */
  trimTrailingNewline?: boolean;
}

/** The resolved Mesos credentials. */
export interface MesosCredentials {
  /** The framework principal. */
  readonly principal?: string;
  /** The authentication secret (never log it). */
  readonly secret?: string;
}

function pick(conf: SparkConf, key: 'principal' | 'secret'): MesosCredentialSource | undefined {
  const upper = key.toUpperCase() as 'PRINCIPAL' | 'SECRET';
  // Spark 3.5 MesosSchedulerUtils.buildCredentials: config value, env value, config file, env file.
  // Option(conf.getenv(...)) keeps empty strings, so an empty value counts as set here too.
  const candidates = [
    [`spark.mesos.${key}`, 'value', conf.getOption(`spark.mesos.${key}`)],
    [`SPARK_MESOS_${upper}`, 'value', conf.getenv(`SPARK_MESOS_${upper}`)],
    [`spark.mesos.${key}.file`, 'file', conf.getOption(`spark.mesos.${key}.file`)],
    [`SPARK_MESOS_${upper}_FILE`, 'file', conf.getenv(`SPARK_MESOS_${upper}_FILE`)],
  ] as const;
  for (const [from, kind, value] of candidates) {
    if (value !== undefined) return { from: from as MesosCredentialSource['from'], kind, value };
  }
  return undefined;
}

/**
 * Where the principal and secret would come from, in Spark's order: `spark.mesos.principal`,
 * then `SPARK_MESOS_PRINCIPAL`, then the file named by `spark.mesos.principal.file`, then the
 * file named by `SPARK_MESOS_PRINCIPAL_FILE`; the same for the secret.
 */
export function planMesosCredentials(conf: SparkConf): MesosCredentialPlan {
  const principal = pick(conf, 'principal');
  const secret = pick(conf, 'secret');
  return { ...(principal === undefined ? {} : { principal }), ...(secret === undefined ? {} : { secret }) };
}

/**
 * Resolves the Mesos framework credentials like Spark 3.5's `MesosSchedulerUtils.buildCredentials`
 * (order in {@link planMesosCredentials}); file contents are read as UTF-8 and used verbatim,
 * as Spark does (see `trimTrailingNewline`).
 *
 * @throws SparkMesosError `SM_ERR_CONFIG_FILE` when a credential file cannot be read;
 *   `SM_ERR_BAD_CONFIG` when a secret is configured without a principal (Spark refuses that too).
 * @see https://spark.apache.org/docs/3.5.4/running-on-mesos.html#credential-specification-preference-order
 */
export async function resolveMesosCredentials(
  conf: SparkConf,
  options: ResolveMesosCredentialsOptions = {},
): Promise<MesosCredentials> {
  const fs = options.fs ?? nodeFileSystem;
  const plan = planMesosCredentials(conf);
  if (plan.secret !== undefined && plan.principal === undefined) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `spark.mesos.principal must be configured when spark.mesos.secret is set (the secret comes from ${plan.secret.from}); set spark.mesos.principal or SPARK_MESOS_PRINCIPAL`,
      { cause: { key: plan.secret.from }, details: { key: plan.secret.from } },
    );
  }
  const read = async (source: MesosCredentialSource | undefined): Promise<string | undefined> => {
    if (source === undefined) return undefined;
    if (source.kind === 'value') return source.value;
    let text: string;
    try {
      text = await fs.readFile(source.value);
    } catch (error) {
      throw new SparkMesosError(
        'SM_ERR_CONFIG_FILE',
        `${source.from}: cannot read ${JSON.stringify(redactConfValue(source.from, source.value, conf.registry))} (${(error as NodeJS.ErrnoException).code ?? 'read failed'}); make it a readable UTF-8 file or fix the path`,
        { cause: error, details: { key: source.from, path: source.value } },
      );
    }
    return options.trimTrailingNewline === true ? text.replace(/\r?\n$/, '') : text;
  };
  const principal = await read(plan.principal);
  const secret = await read(plan.secret);
  return { ...(principal === undefined ? {} : { principal }), ...(secret === undefined ? {} : { secret }) };
}
