import { SparkMesosError } from '@spark-mesos/errors';
import { checkConfigValue, deprecatedKeyWarning, parseIntValue, unknownKeyWarning } from './config-value.js';
import { type ConfigFileSystem, nodeFileSystem } from './io.js';
import { planMesosCredentials } from './mesos-credentials.js';
import { redactConfValue } from './redaction.js';
import type { SparkConf } from './spark-conf.js';

/** One thing wrong with a configuration. */
export interface ConfigProblem {
  /** The config key (or environment variable) at fault. */
  readonly key: string;
  /** Its value, redacted when secret; absent when the problem is a missing value. */
  readonly value?: string;
  /** What is wrong and how to fix it, one line. */
  readonly message: string;
}

/** Options of {@link validateSparkConf}. */
export interface ValidateSparkConfOptions {
  /** Checks that principal and secret files exist. @default nodeFileSystem */
  fs?: ConfigFileSystem;
}

/** What {@link validateSparkConf} returns when nothing is wrong enough to stop. */
export interface ValidationResult {
  /** Worth reading, not fatal: unknown keys (with did-you-mean), deprecated keys, wasted cores. */
  readonly warnings: string[];
}

/** Problems and warnings, for the loader to merge with its own problems. */
export interface ConfigReview {
  /** What must be fixed. */
  readonly problems: ConfigProblem[];
  /** What is worth reading. */
  readonly warnings: string[];
}

const coreKeys = ['spark.cores.max', 'spark.executor.cores', 'spark.task.cpus'] as const;

/** Collects problems and warnings without throwing; {@link validateSparkConf} throws on problems. */
export async function reviewSparkConf(conf: SparkConf, options: ValidateSparkConfOptions = {}): Promise<ConfigReview> {
  const fs = options.fs ?? nodeFileSystem;
  const registry = conf.registry;
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const invalid = new Set<string>();
  const problem = (key: string, value: string | undefined, message: string): void => {
    problems.push({ key, ...(value === undefined ? {} : { value: redactConfValue(key, value, registry) }), message });
  };

  for (const [key, value] of conf.getAll()) {
    const definition = registry.lookup(key);
    if (definition === undefined) {
      warnings.push(unknownKeyWarning(key, registry));
      continue;
    }
    if (definition.deprecated !== undefined) warnings.push(deprecatedKeyWarning(key, definition));
    const error = checkConfigValue(key, value, definition, registry);
    if (error !== undefined) {
      invalid.add(key);
      problem(key, value, error.message);
    }
  }

  const cores = new Map<string, number>();
  for (const key of coreKeys) {
    if (invalid.has(key)) continue;
    const value = conf.getOption(key);
    if (value === undefined) continue;
    let count: number;
    try {
      count = parseIntValue(key, value, registry);
    } catch {
      continue; // an unregistered-type registry: already reported or not ours to judge
    }
    if (count <= 0) {
      invalid.add(key);
      problem(
        key,
        value,
        `${key}: ${JSON.stringify(value)} is not a positive number of cores; use a whole number of at least 1 (e.g. 4)`,
      );
    } else {
      cores.set(key, count);
    }
  }
  const executorCores = conf.contains('spark.executor.cores') ? cores.get('spark.executor.cores') : undefined;
  const taskCpus = cores.get('spark.task.cpus');
  if (executorCores !== undefined && taskCpus !== undefined && executorCores < taskCpus) {
    problem(
      'spark.executor.cores',
      String(executorCores),
      `spark.executor.cores (${executorCores}) is less than spark.task.cpus (${taskCpus}), so no executor could run a task; raise spark.executor.cores or lower spark.task.cpus`,
    );
  }
  const maxCores = conf.contains('spark.cores.max') ? cores.get('spark.cores.max') : undefined;
  if (maxCores !== undefined && executorCores !== undefined && maxCores % executorCores !== 0) {
    const used = Math.floor(maxCores / executorCores) * executorCores;
    warnings.push(
      `spark.cores.max (${maxCores}) is not a multiple of spark.executor.cores (${executorCores}); only ${used} cores will be used`,
    );
  }

  const plan = planMesosCredentials(conf);
  if (plan.secret !== undefined && plan.principal === undefined) {
    problem(
      plan.secret.from,
      plan.secret.value,
      `spark.mesos.principal must be configured when spark.mesos.secret is set (the secret comes from ${plan.secret.from}); set spark.mesos.principal or SPARK_MESOS_PRINCIPAL`,
    );
  }
  for (const source of [plan.principal, plan.secret]) {
    if (source?.kind !== 'file' || (await fs.exists(source.value))) continue;
    const shown = redactConfValue(source.from, source.value, registry);
    problem(
      source.from,
      source.value,
      `${source.from}: ${JSON.stringify(shown)} does not exist or is not a file; create it or fix the path`,
    );
  }
  return { problems, warnings };
}

/**
 * Throws one SM_ERR_BAD_CONFIG listing every problem: its message has a header line and one line
 * per problem, `details.problems` holds `{ key, value, message }` (secrets redacted) and `cause`
 * an `AggregateError` of one SparkMesosError per problem.
 */
export function throwConfigProblems(problems: readonly ConfigProblem[]): never {
  const errors = problems.map(
    (problem) =>
      new SparkMesosError('SM_ERR_BAD_CONFIG', problem.message, {
        cause: { key: problem.key, value: problem.value },
        details: { key: problem.key, value: problem.value },
      }),
  );
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  throw new SparkMesosError(
    'SM_ERR_BAD_CONFIG',
    [
      `Invalid Spark configuration (${count}); fix each and retry:`,
      ...problems.map((problem) => `- ${problem.message}`),
    ].join('\n'),
    {
      cause: new AggregateError(errors, `Invalid Spark configuration (${count})`),
      details: { problems: [...problems] },
    },
  );
}

/**
 * Checks a configuration: values of registered keys parse as their type, cores are positive and
 * executors fit a task, a secret has a principal, principal and secret files exist (the ones
 * Spark's preference order would read). Unknown and deprecated keys and a `spark.cores.max`
 * that is not a multiple of `spark.executor.cores` are warnings.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` listing every problem (see {@link throwConfigProblems}).
 */
export async function validateSparkConf(
  conf: SparkConf,
  options: ValidateSparkConfOptions = {},
): Promise<ValidationResult> {
  const { problems, warnings } = await reviewSparkConf(conf, options);
  if (problems.length > 0) throwConfigProblems(problems);
  return { warnings };
}
