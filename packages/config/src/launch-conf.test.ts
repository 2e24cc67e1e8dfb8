import { afterEach, expect, it } from 'vitest';
import { getLaunchConf, setLaunchConf } from './launch-conf.js';
import { loadSparkConf } from './load-spark-conf.js';
import { SparkConf } from './spark-conf.js';

afterEach(() => setLaunchConf(undefined));

const quiet = { warn: () => {}, info: () => {} };

it('new SparkConf() starts from the registered launch configuration, below code', () => {
  setLaunchConf({
    entries: [
      { source: 'properties-file', key: 'spark.cores.max', value: '2', origin: '/conf/app.conf:1' },
      { source: 'command-line', key: 'spark.cores.max', value: '4', origin: '--conf #1' },
      { source: 'command-line', key: 'spark.master', value: 'local[2]', origin: '--master' },
    ],
    env: { SPARK_PUBLIC_DNS: 'driver.example' },
  });
  const conf = new SparkConf({ logger: quiet }).setMaster('local[3]');
  expect(conf.get('spark.master')).toBe('local[3]');
  expect(conf.explain('spark.master').overridden[0]).toMatchObject({ source: 'command-line', origin: '--master' });
  expect(conf.explain('spark.cores.max')).toMatchObject({
    value: '4',
    source: 'command-line',
    overridden: [{ source: 'properties-file', value: '2', origin: '/conf/app.conf:1' }],
  });
  expect(conf.getenv('SPARK_PUBLIC_DNS')).toBe('driver.example');
  expect(new SparkConf({ loadDefaults: false }).contains('spark.master')).toBe(false);
  expect(conf.clone().explain('spark.master').overridden).toHaveLength(1);
});

it('launchEntries() hands a loaded configuration over layer by layer, and nothing is set without a launcher', async () => {
  expect(getLaunchConf()).toBeUndefined();
  expect(new SparkConf().getAll()).toEqual([]);
  const { conf } = await loadSparkConf({
    env: () => undefined,
    commandLine: ['spark.app.name=from-conf', 'spark.cores.max=8'],
    logger: quiet,
    validate: false,
  });
  conf.set('spark.executor.memory', '2g');
  setLaunchConf({ entries: conf.launchEntries() });
  const seen = new SparkConf({ logger: quiet });
  expect(seen.getAll()).toEqual([
    ['spark.app.name', 'from-conf'],
    ['spark.cores.max', '8'],
  ]);
  expect(seen.explain('spark.cores.max')).toMatchObject({ source: 'command-line', origin: '--conf #2' });
});
