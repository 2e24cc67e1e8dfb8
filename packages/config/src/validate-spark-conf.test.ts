import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparkMesosError } from '@spark-mesos/errors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConfigRegistry } from './config-registry.js';
import { environmentFrom } from './io.js';
import { resolveMesosCredentials } from './mesos-credentials.js';
import { SparkConf } from './spark-conf.js';
import { validateSparkConf } from './validate-spark-conf.js';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'spark-mesos-validate-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function conf(values: Record<string, string>, variables: Record<string, string> = {}) {
  return new SparkConf({
    registry: createConfigRegistry(),
    env: environmentFrom(variables),
    logger: { warn: () => {}, info: () => {} },
  }).setAll(values);
}

async function problemsOf(promise: Promise<unknown>): Promise<Array<{ key: string; value?: string; message: string }>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SparkMesosError && error.code === 'SM_ERR_BAD_CONFIG') return error.details.problems as never;
    throw error;
  }
  throw new Error('expected SM_ERR_BAD_CONFIG');
}

describe('validateSparkConf', () => {
  it('accepts a sound configuration and warns about wasted cores, unknown and deprecated keys', async () => {
    const { warnings } = await validateSparkConf(
      conf({
        'spark.cores.max': '10',
        'spark.executor.cores': '4',
        'spark.mesos.corse': 'true',
        'spark.yarn.executor.memoryOverhead': '512',
      }),
    );
    expect(warnings).toEqual([
      'Unknown config property spark.mesos.corse: spark-mesos does not read it; did you mean spark.mesos.coarse?',
      'spark.yarn.executor.memoryOverhead is deprecated since 2.3.0: it was renamed; use spark.executor.memoryOverhead instead (the value is carried over)',
      'spark.cores.max (10) is not a multiple of spark.executor.cores (4); only 8 cores will be used',
    ]);
  });

  it('reports non-positive cores and executors smaller than a task', async () => {
    const problems = await problemsOf(
      validateSparkConf(conf({ 'spark.cores.max': '0', 'spark.executor.cores': '1', 'spark.task.cpus': '2' })),
    );
    expect(problems.map((problem) => problem.key)).toEqual(['spark.cores.max', 'spark.executor.cores']);
    expect(problems[0]?.message).toContain('is not a positive number of cores');
    expect(problems[1]?.message).toBe(
      'spark.executor.cores (1) is less than spark.task.cpus (2), so no executor could run a task; raise spark.executor.cores or lower spark.task.cpus',
    );
    expect(await problemsOf(validateSparkConf(conf({ 'spark.task.cpus': '-1' })))).toHaveLength(1);
  });

  it('reports every malformed typed value and disallowed values', async () => {
    const problems = await problemsOf(
      validateSparkConf(
        conf({
          'spark.mesos.rejectOfferDuration': '2 minutes',
          'spark.mesos.driver.failoverTimeout': 'soon',
          'spark.mesos.containerizer': 'podman',
          'spark.mesos.executor.memoryOverhead': '512m',
        }),
      ),
    );
    expect(problems.map((problem) => problem.message)).toEqual([
      'spark.mesos.containerizer: "podman" is not one of docker, mesos; use one of them',
      'spark.mesos.driver.failoverTimeout: "soon" is not a number; use a decimal number (e.g. 0.1, 2.5, 1e3)',
      'spark.mesos.executor.memoryOverhead: "512m" is not an integer; use a whole number from -2147483648 to 2147483647 (e.g. 4)',
      'spark.mesos.rejectOfferDuration: "2 minutes" is not a duration; use a whole number with an optional unit us, ms, s, m or min, h, d (e.g. 100ms, 120s, 5min); a plain number means seconds',
    ]);
  });

  it('reports a secret from the environment without a principal, redacted', async () => {
    const problems = await problemsOf(validateSparkConf(conf({}, { SPARK_MESOS_SECRET: 'hunter2' })));
    expect(problems).toEqual([
      {
        key: 'SPARK_MESOS_SECRET',
        value: '****',
        message:
          'spark.mesos.principal must be configured when spark.mesos.secret is set (the secret comes from SPARK_MESOS_SECRET); set spark.mesos.principal or SPARK_MESOS_PRINCIPAL',
      },
    ]);
  });

  it('reports a principal or secret file that does not exist', async () => {
    const missing = join(directory, 'missing');
    const problems = await problemsOf(
      validateSparkConf(conf({ 'spark.mesos.principal.file': missing }, { SPARK_MESOS_SECRET_FILE: missing })),
    );
    expect(problems.map((problem) => problem.message)).toEqual([
      `spark.mesos.principal.file: ${JSON.stringify(missing)} does not exist or is not a file; create it or fix the path`,
      'SPARK_MESOS_SECRET_FILE: "****" does not exist or is not a file; create it or fix the path',
    ]);
  });
});

describe('resolveMesosCredentials', () => {
  it("follows Spark's order: config value, env value, config file, env file", async () => {
    const principalFile = join(directory, 'principal');
    const secretFile = join(directory, 'secret');
    await writeFile(principalFile, 'from-file\n');
    await writeFile(secretFile, 's3cret');
    const files = { 'spark.mesos.principal.file': principalFile, 'spark.mesos.secret.file': secretFile };
    expect(await resolveMesosCredentials(conf(files, { SPARK_MESOS_PRINCIPAL_FILE: '/nope' }))).toEqual({
      principal: 'from-file\n',
      secret: 's3cret',
    });
    expect(await resolveMesosCredentials(conf(files), { trimTrailingNewline: true })).toMatchObject({
      principal: 'from-file',
    });
    expect(await resolveMesosCredentials(conf(files, { SPARK_MESOS_PRINCIPAL: 'env' }))).toMatchObject({
      principal: 'env',
    });
    expect(
      await resolveMesosCredentials(
        conf(
          { ...files, 'spark.mesos.principal': 'conf', 'spark.mesos.secret': 'x' },
          { SPARK_MESOS_PRINCIPAL: 'env' },
        ),
      ),
    ).toEqual({ principal: 'conf', secret: 'x' });
    expect(await resolveMesosCredentials(conf({}, { SPARK_MESOS_PRINCIPAL_FILE: principalFile }))).toEqual({
      principal: 'from-file\n',
    });
    expect(await resolveMesosCredentials(conf({}))).toEqual({});
  });

  it('refuses a secret without a principal and names unreadable files', async () => {
    await expect(resolveMesosCredentials(conf({ 'spark.mesos.secret': 'x' }))).rejects.toMatchObject({
      code: 'SM_ERR_BAD_CONFIG',
    });
    await expect(
      resolveMesosCredentials(conf({ 'spark.mesos.principal.file': join(directory, 'gone') })),
    ).rejects.toMatchObject({ code: 'SM_ERR_CONFIG_FILE', message: expect.stringContaining('ENOENT') });
  });
});
