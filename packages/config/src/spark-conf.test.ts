import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { createConfigRegistry } from './config-registry.js';
import { type ConfigLogger, environmentFrom } from './io.js';
import { SparkConf } from './spark-conf.js';

function recordingLogger(): ConfigLogger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, warn: (message) => warnings.push(message), info: (message) => infos.push(message) };
}

function newConf() {
  const logger = recordingLogger();
  const conf = new SparkConf({
    registry: createConfigRegistry(),
    logger,
    env: environmentFrom({ SPARK_HOME: '/opt/spark' }),
  });
  return { conf, logger };
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('SparkConf', () => {
  it('works with no arguments and chains setters', () => {
    const conf = new SparkConf()
      .setMaster('mesos://zk://zk1:2181/mesos')
      .setAppName('demo')
      .set('spark.executor.memory', '2g')
      .setAll({ 'spark.cores.max': '8' })
      .setAll([['spark.task.cpus', '2']])
      .setIfMissing('spark.cores.max', '99')
      .setIfMissing('spark.executor.cores', '4');
    expect(conf.getAll()).toEqual([
      ['spark.app.name', 'demo'],
      ['spark.cores.max', '8'],
      ['spark.executor.cores', '4'],
      ['spark.executor.memory', '2g'],
      ['spark.master', 'mesos://zk://zk1:2181/mesos'],
      ['spark.task.cpus', '2'],
    ]);
    expect(conf.getenv('HOME')).toBeUndefined();
  });

  it('sets executor environment variables from a pair, a list or a record', () => {
    const { conf } = newConf();
    conf
      .setExecutorEnv('A', '1')
      .setExecutorEnv([['B', '2']])
      .setExecutorEnv({ C: '3' });
    expect(conf.getAll()).toEqual([
      ['spark.executorEnv.A', '1'],
      ['spark.executorEnv.B', '2'],
      ['spark.executorEnv.C', '3'],
    ]);
  });

  it('sees registry defaults in get and getters but not in contains and getAll', () => {
    const { conf } = newConf();
    expect(conf.get('spark.mesos.coarse')).toBe('true');
    expect(conf.getOption('spark.task.maxFailures')).toBe('4');
    expect(conf.getBoolean('spark.mesos.coarse')).toBe(true);
    expect(conf.getTimeAsSeconds('spark.mesos.rejectOfferDuration')).toBe(120);
    expect(conf.getTimeAsMs('spark.mesos.coarse.shutdownTimeout')).toBe(10_000);
    expect(conf.getSizeAsMb('spark.executor.memory')).toBe(1024);
    expect(conf.getDouble('spark.executor.memoryOverheadFactor')).toBe(0.1);
    expect(conf.contains('spark.mesos.coarse')).toBe(false);
    expect(conf.getAll()).toEqual([]);
    expect(conf.getOption('spark.cores.max')).toBeUndefined();
  });

  it('prefers a caller default over the registry default, and a set value over both', () => {
    const { conf } = newConf();
    expect(conf.get('spark.task.cpus', '3')).toBe('3');
    expect(conf.getInt('spark.task.cpus', 2)).toBe(2);
    expect(conf.getTimeAsSeconds('spark.mesos.rejectOfferDurationForUnmetConstraints', '2min')).toBe(120);
    expect(conf.getSizeAsBytes('spark.executor.memoryOverhead', 512)).toBe(512);
    conf.set('spark.task.cpus', '5');
    expect(conf.getInt('spark.task.cpus', 2)).toBe(5);
  });

  it('parses typed values as Spark does, plain numbers in the getter unit', () => {
    const { conf } = newConf();
    conf.set('spark.executor.memory', '2048').set('spark.driver.port', ' 7077 ').set('spark.mesos.coarse', 'FALSE');
    expect(conf.getSizeAsMb('spark.executor.memory')).toBe(2048);
    expect(conf.getSizeAsBytes('spark.executor.memory')).toBe(2048);
    conf.set('spark.executor.memory', '1t');
    expect(conf.getSizeAsGb('spark.executor.memory')).toBe(1024);
    expect(conf.getSizeAsKb('spark.executor.memory')).toBe(2 ** 30);
    expect(conf.getInt('spark.driver.port')).toBe(7077);
    expect(conf.getBoolean('spark.mesos.coarse')).toBe(false);
  });

  it('throws SM_ERR_BAD_CONFIG naming key, value and accepted forms', () => {
    const { conf } = newConf();
    conf.set('spark.executor.memory', '12x').set('spark.task.cpus', '1.5').set('spark.mesos.coarse', 'yes');
    const error = thrown(() => conf.getSizeAsMb('spark.executor.memory'));
    expect(isSparkMesosError(error, 'SM_ERR_BAD_CONFIG')).toBe(true);
    expect(error.message).toBe(
      'spark.executor.memory: "12x" is not a size (unknown unit "x"); use a whole number with an optional unit b, k, m, g, t, p (e.g. 512m, 2g); a plain number means MiB',
    );
    expect(thrown(() => conf.getInt('spark.task.cpus')).message).toMatch(/spark.task.cpus: "1.5" is not an integer/);
    expect(thrown(() => conf.getBoolean('spark.mesos.coarse')).message).toBe(
      'spark.mesos.coarse: "yes" is not a boolean; use true or false',
    );
    conf.set('spark.mesos.secret', 'not-a-number');
    expect(thrown(() => conf.getInt('spark.mesos.secret')).message).toBe(
      'spark.mesos.secret: "****" is not an integer; use a whole number from -2147483648 to 2147483647 (e.g. 4)',
    );
  });

  it('throws SM_ERR_MISSING_CONFIG naming the key and how to set it', () => {
    const { conf } = newConf();
    const error = thrown(() => conf.get('spark.master'));
    expect(isSparkMesosError(error, 'SM_ERR_MISSING_CONFIG')).toBe(true);
    expect(error.message).toContain(
      "spark.master is not set; set it with conf.set('spark.master', …), --conf spark.master=…",
    );
    expect(
      isSparkMesosError(
        thrown(() => conf.getInt('spark.cores.max')),
        'SM_ERR_MISSING_CONFIG',
      ),
    ).toBe(true);
  });

  it('layers sources: code > command line > properties file > environment > default', () => {
    const { conf } = newConf();
    conf.setFromSource('environment', 'spark.executor.uri', 'http://env/spark.tgz', 'env SPARK_EXECUTOR_URI');
    expect(conf.explain('spark.executor.uri')).toEqual({
      key: 'spark.executor.uri',
      value: 'http://env/spark.tgz',
      source: 'environment',
      origin: 'env SPARK_EXECUTOR_URI',
      overridden: [],
    });
    conf.setFromSource('properties-file', 'spark.executor.uri', 'http://file/spark.tgz', '/conf/spark-defaults.conf:3');
    conf.setFromSource('command-line', 'spark.executor.memory', '4g', '--conf #1');
    conf.setFromSource('properties-file', 'spark.executor.memory', '2g', '/conf/spark-defaults.conf:4');
    expect(conf.get('spark.executor.uri')).toBe('http://file/spark.tgz');
    expect(conf.get('spark.executor.memory')).toBe('4g');
    conf.set('spark.executor.memory', '8g');
    expect(conf.explain('spark.executor.memory')).toEqual({
      key: 'spark.executor.memory',
      value: '8g',
      source: 'code',
      overridden: [
        { source: 'command-line', value: '4g', origin: '--conf #1' },
        { source: 'properties-file', value: '2g', origin: '/conf/spark-defaults.conf:4' },
        { source: 'default', value: '1g', origin: 'registry default' },
      ],
    });
    expect(conf.explain('spark.mesos.coarse')).toMatchObject({ source: 'default', value: 'true', overridden: [] });
    expect(conf.explain('spark.cores.max')).toEqual({ key: 'spark.cores.max', source: 'unset', overridden: [] });
  });

  it('remove masks lower layers until set again', () => {
    const { conf } = newConf();
    conf.setFromSource('properties-file', 'spark.cores.max', '16', 'f:1');
    conf.set('spark.cores.max', '8').remove('spark.cores.max');
    expect(conf.contains('spark.cores.max')).toBe(false);
    expect(conf.getOption('spark.cores.max')).toBeUndefined();
    expect(conf.getAll()).toEqual([]);
    expect(conf.explain('spark.cores.max')).toEqual({
      key: 'spark.cores.max',
      source: 'unset',
      overridden: [{ source: 'properties-file', value: '16', origin: 'f:1' }],
    });
    conf.remove('spark.executor.memory');
    expect(conf.get('spark.executor.memory')).toBe('1g');
    conf.set('spark.cores.max', '4');
    expect(conf.getInt('spark.cores.max')).toBe(4);
  });

  it('clones deeply', () => {
    const { conf } = newConf();
    conf.set('spark.cores.max', '8');
    conf.setFromSource('properties-file', 'spark.task.cpus', '2');
    const copy = conf.clone();
    copy.set('spark.cores.max', '16').remove('spark.task.cpus').set('spark.app.name', 'copy');
    expect(conf.getAll()).toEqual([
      ['spark.cores.max', '8'],
      ['spark.task.cpus', '2'],
    ]);
    expect(copy.getAll()).toEqual([
      ['spark.app.name', 'copy'],
      ['spark.cores.max', '16'],
    ]);
    expect(copy.getenv('SPARK_HOME')).toBe('/opt/spark');
  });

  it('warns once about unknown keys with a did-you-mean; keeps non-Spark keys set in code', () => {
    const { conf, logger } = newConf();
    conf.set('spark.mesos.corse', 'false').set('spark.mesos.corse', 'true').set('app.batchSize', '64');
    expect(logger.warnings).toEqual([
      'Unknown config property spark.mesos.corse: spark-mesos does not read it; did you mean spark.mesos.coarse?',
    ]);
    expect(conf.get('app.batchSize')).toBe('64');
    expect(conf.get('spark.mesos.corse')).toBe('true');
  });

  it('ignores non-Spark keys from loaders, as spark-submit does', () => {
    const { conf, logger } = newConf();
    conf.setFromSource('command-line', 'hadoop.thing', 'x');
    expect(logger.warnings).toEqual([
      'Ignoring non-Spark config property: hadoop.thing (only keys starting with "spark." are read)',
    ]);
    expect(conf.contains('hadoop.thing')).toBe(false);
  });

  it('warns about deprecated keys and carries their value over', () => {
    const { conf, logger } = newConf();
    conf.set('spark.yarn.executor.memoryOverhead', '512');
    expect(conf.getSizeAsMb('spark.executor.memoryOverhead')).toBe(512);
    conf.set('spark.yarn.executor.memoryOverhead', '768');
    expect(conf.get('spark.executor.memoryOverhead')).toBe('768');
    expect(logger.warnings).toEqual([
      'spark.yarn.executor.memoryOverhead is deprecated since 2.3.0: it was renamed; use spark.executor.memoryOverhead instead (the value is carried over)',
    ]);
    conf.set('spark.executor.memoryOverhead', '1g').set('spark.yarn.executor.memoryOverhead', '256');
    expect(conf.get('spark.executor.memoryOverhead')).toBe('1g');
    expect(conf.explain('spark.executor.memoryOverhead').source).toBe('code');
  });

  it('redacts secrets and URL passwords in toDebugString and explain', () => {
    const { conf } = newConf();
    conf
      .set('spark.mesos.secret', 'hunter2')
      .set('spark.ssl.keyPassword', 'pw')
      .set('spark.executor.uri', 'https://jo:s3cret@repo/spark.tgz')
      .set('spark.app.name', 'demo');
    const text = conf.toDebugString();
    expect(text).toBe(
      [
        'spark.app.name=demo',
        'spark.executor.uri=https://jo:****@repo/spark.tgz',
        'spark.mesos.secret=****',
        'spark.ssl.keyPassword=****',
      ].join('\n'),
    );
    expect(text).not.toMatch(/hunter2|s3cret/);
    expect(conf.explain('spark.mesos.secret').value).toBe('****');
    expect(conf.get('spark.mesos.secret')).toBe('hunter2');
  });
});
