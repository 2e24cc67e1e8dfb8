import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConfigRegistry } from './config-registry.js';
import { type ConfigLogger, environmentFrom } from './io.js';
import { loadSparkConf } from './load-spark-conf.js';
import { runSparkEnvScript } from './spark-env.js';

let directory: string;
let confDir: string;
const silent: ConfigLogger = { warn: () => {}, info: () => {} };

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'spark-mesos-config-'));
  confDir = join(directory, 'conf');
  await mkdir(confDir);
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function env(variables: Record<string, string> = {}) {
  return environmentFrom({ PATH: process.env.PATH, SPARK_CONF_DIR: confDir, ...variables });
}

async function rejection(promise: Promise<unknown>): Promise<SparkMesosError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SparkMesosError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('loadSparkConf', () => {
  it('layers spark-defaults.conf, --conf, code and the environment, with origins', async () => {
    await writeFile(
      join(confDir, 'spark-defaults.conf'),
      '# defaults\nspark.executor.memory   2g  \nspark.cores.max=16\nspark.executor.uri http://file/spark.tgz\nhadoop.x=1\n',
    );
    const { conf, warnings, notices } = await loadSparkConf({
      env: env({ SPARK_EXECUTOR_URI: 'http://env/spark.tgz' }),
      commandLine: ['spark.cores.max=8', 'spark.app.name=a=b'],
      code: { 'spark.cores.max': '4' },
      registry: createConfigRegistry(),
      logger: silent,
    });
    expect(conf.get('spark.executor.memory')).toBe('2g');
    expect(conf.get('spark.app.name')).toBe('a=b');
    expect(conf.explain('spark.cores.max')).toEqual({
      key: 'spark.cores.max',
      value: '4',
      source: 'code',
      overridden: [
        { source: 'command-line', value: '8', origin: '--conf #1' },
        { source: 'properties-file', value: '16', origin: `${join(confDir, 'spark-defaults.conf')}:3` },
      ],
    });
    expect(conf.explain('spark.executor.uri')).toMatchObject({
      source: 'properties-file',
      overridden: [{ source: 'environment', value: 'http://env/spark.tgz', origin: 'env SPARK_EXECUTOR_URI' }],
    });
    expect(warnings).toContain(
      'Ignoring non-Spark config property: hadoop.x (only keys starting with "spark." are read)',
    );
    expect(notices).toEqual([]);
  });

  it('reads spark-defaults.conf from $SPARK_HOME/conf when SPARK_CONF_DIR is unset, and is fine without one', async () => {
    await writeFile(join(confDir, 'spark-defaults.conf'), 'spark.cores.max 12\n');
    const loaded = await loadSparkConf({ env: environmentFrom({ SPARK_HOME: directory }), logger: silent });
    expect(loaded.conf.getInt('spark.cores.max')).toBe(12);
    const empty = await loadSparkConf({ env: environmentFrom({}), logger: silent });
    expect(empty.conf.getAll()).toEqual([]);
  });

  it('lets --properties-file replace spark-defaults.conf and requires it to exist', async () => {
    await writeFile(join(confDir, 'spark-defaults.conf'), 'spark.cores.max 12\nspark.task.cpus 2\n');
    const custom = join(directory, 'custom.conf');
    await writeFile(custom, 'spark.cores.max=6\n');
    const { conf } = await loadSparkConf({ env: env(), propertiesFile: custom, logger: silent });
    expect(conf.getInt('spark.cores.max')).toBe(6);
    expect(conf.contains('spark.task.cpus')).toBe(false);
    const missing = await rejection(loadSparkConf({ env: env(), propertiesFile: join(directory, 'nope.conf') }));
    expect(missing.code).toBe('SM_ERR_CONFIG_FILE');
    expect(missing.message).toContain(join(directory, 'nope.conf'));
  });

  it('reports a malformed file with its path and line', async () => {
    await writeFile(join(confDir, 'spark-defaults.conf'), 'spark.a=1\nspark.b=\\u00zz\n');
    const error = await rejection(loadSparkConf({ env: env(), logger: silent }));
    expect(error.code).toBe('SM_ERR_CONFIG_FILE');
    expect(error.message).toContain(`${join(confDir, 'spark-defaults.conf')}:2: malformed \\uxxxx encoding`);
  });

  it('evaluates spark-env.sh with bash in a clean environment; its values win over the inherited ones', async () => {
    await writeFile(
      join(confDir, 'spark-env.sh'),
      [
        'SPARK_EXECUTOR_URI=http://script/spark.tgz',
        'MULTI="line one',
        'line two"',
        'echo "noise on stdout"',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion inside spark-env.sh.
        'export FROM_HOME="$HOME|$SPARK_CONF_DIR|${INHERITED_ONLY:-unset}"',
        'MESOS_NATIVE_JAVA_LIBRARY=/usr/lib/libmesos.so',
        'cd /',
        '[ -n "$NOT_SET" ] && echo never',
      ].join('\n'),
    );
    const logger = { warnings: [] as string[], infos: [] as string[] };
    const loaded = await loadSparkConf({
      env: env({ HOME: '/home/me', INHERITED_ONLY: 'x', SPARK_EXECUTOR_URI: 'http://env/spark.tgz', KEEP: 'k' }),
      logger: { warn: (m) => logger.warnings.push(m), info: (m) => logger.infos.push(m) },
    });
    expect(loaded.sparkEnv).toEqual({
      SPARK_EXECUTOR_URI: 'http://script/spark.tgz',
      MULTI: 'line one\nline two',
      FROM_HOME: `/home/me|${confDir}|unset`,
      MESOS_NATIVE_JAVA_LIBRARY: '/usr/lib/libmesos.so',
    });
    expect(loaded.conf.getenv('MULTI')).toBe('line one\nline two');
    expect(loaded.conf.getenv('KEEP')).toBe('k');
    expect(loaded.conf.explain('spark.executor.uri')).toMatchObject({
      value: 'http://script/spark.tgz',
      source: 'spark-env.sh',
      origin: `${join(confDir, 'spark-env.sh')} SPARK_EXECUTOR_URI`,
    });
    const notice =
      "MESOS_NATIVE_JAVA_LIBRARY is set but not needed: spark-mesos speaks Mesos' HTTP API and never loads libmesos; it is ignored.";
    expect(loaded.notices).toEqual([notice]);
    expect(logger.infos).toEqual([notice]);
  });

  it('gives one notice per libmesos variable of the environment', async () => {
    const { notices } = await loadSparkConf({
      env: env({ MESOS_NATIVE_LIBRARY: '/a', MESOS_NATIVE_JAVA_LIBRARY: '/b' }),
      logger: silent,
    });
    expect(notices).toEqual([
      "MESOS_NATIVE_LIBRARY is set but not needed: spark-mesos speaks Mesos' HTTP API and never loads libmesos; it is ignored.",
      "MESOS_NATIVE_JAVA_LIBRARY is set but not needed: spark-mesos speaks Mesos' HTTP API and never loads libmesos; it is ignored.",
    ]);
  });

  it('turns a spark-env.sh syntax error into SM_ERR_CONFIG_FILE naming file and line', async () => {
    const file = join(confDir, 'spark-env.sh');
    await writeFile(file, 'A=1\nif true; then\n  B=2\nfi fi\n');
    const error = await rejection(runSparkEnvScript({ file, env: { PATH: process.env.PATH ?? '' } }));
    expect(error.code).toBe('SM_ERR_CONFIG_FILE');
    expect(error.message).toMatch(new RegExp(`^${file}:4: bash reports a syntax error: syntax error`));
    expect(error.details).toMatchObject({ file, line: 4 });
  });

  it('turns a failing spark-env.sh into SM_ERR_CONFIG_FILE naming file and stderr', async () => {
    const file = join(confDir, 'spark-env.sh');
    await writeFile(file, 'echo "cannot find java" >&2\nexit 3\n');
    const error = await rejection(loadSparkConf({ env: env(), logger: silent }));
    expect(error.code).toBe('SM_ERR_CONFIG_FILE');
    expect(error.message).toBe(
      `${file} exited with status 3 while being sourced: cannot find java; fix the failing command or remove the exit`,
    );
  });

  it('collects every problem, malformed --conf entries included, into one SM_ERR_BAD_CONFIG', async () => {
    await writeFile(join(confDir, 'spark-defaults.conf'), 'spark.executor.memory 12x\nspark.mesos.secret hunter2\n');
    const error = await rejection(
      loadSparkConf({
        env: env(),
        commandLine: ['spark.cores.max', 'spark.mesos.coarse=maybe'],
        logger: silent,
      }),
    );
    expect(error.code).toBe('SM_ERR_BAD_CONFIG');
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('Invalid Spark configuration (4 problems); fix each and retry:');
    expect(lines.slice(1)).toEqual([
      '- --conf #1 "spark.cores.max" has no "="; write --conf key=value (e.g. --conf spark.cores.max=8)',
      '- spark.executor.memory: "12x" is not a size (unknown unit "x"); use a whole number with an optional unit b, k, m, g, t, p (e.g. 512m, 2g); a plain number means MiB',
      '- spark.mesos.coarse: "maybe" is not a boolean; use true or false',
      '- spark.mesos.principal must be configured when spark.mesos.secret is set (the secret comes from spark.mesos.secret); set spark.mesos.principal or SPARK_MESOS_PRINCIPAL',
    ]);
    expect(error.message).not.toContain('hunter2');
    expect(JSON.stringify(error.details)).not.toContain('hunter2');
    expect(error.cause).toBeInstanceOf(AggregateError);
    expect((error.cause as AggregateError).errors).toHaveLength(4);
    expect(isSparkMesosError((error.cause as AggregateError).errors[0], 'SM_ERR_BAD_CONFIG')).toBe(true);
  });

  it('skips validation when asked', async () => {
    const { conf } = await loadSparkConf({
      env: env(),
      code: { 'spark.task.cpus': 'lots' },
      validate: false,
      logger: silent,
    });
    expect(conf.get('spark.task.cpus')).toBe('lots');
  });
});
