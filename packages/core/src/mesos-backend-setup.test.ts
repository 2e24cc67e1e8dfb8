import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SparkConf } from '@spark-mesos/config';
import { isSparkMesosError } from '@spark-mesos/errors';
import { parseMasterUrl } from '@spark-mesos/master-url';
import { describe, expect, it } from 'vitest';
import { createBackendForMaster } from './backend-for-master.js';
import { localClusterConf } from './local-cluster.js';
import { describeWaitStatus, readMesosLaunchSettings } from './mesos-backend-support.js';
import { prepareExecutorSource } from './mesos-executor-source.js';

describe('createBackendForMaster', () => {
  it('leaves local[N] to SparkContext and names the Mesos and local-cluster backends', () => {
    const conf = new SparkConf().setAppName('x');
    expect(createBackendForMaster(parseMasterUrl('local[2]'), conf)).toBeUndefined();
    expect(createBackendForMaster(parseMasterUrl('local-cluster[2,3,1024]'), conf)).toMatchObject({
      name: 'local-cluster[2,3,1024]',
      excludeOnFailureByDefault: false,
    });
    expect(createBackendForMaster(parseMasterUrl('local-cluster[2,3,1024]'), conf)?.defaultParallelism()).toBe(6);
    const mesos = createBackendForMaster(parseMasterUrl('mesos://127.0.0.1:5050'), conf);
    expect(mesos?.name).toBe('mesos://127.0.0.1:5050');
    // Spark's defaults before any executor registers: 2 (coarse), 8 (fine).
    expect(mesos?.defaultParallelism()).toBe(2);
    expect(createBackendForMaster(parseMasterUrl('mesos://zk://spark:hunter2@127.0.0.1:2181/mesos'), conf)?.name).toBe(
      'mesos://zk://spark:****@127.0.0.1:2181/mesos',
    );
    conf.set('spark.mesos.coarse', 'false');
    expect(createBackendForMaster(parseMasterUrl('mesos://127.0.0.1:5050'), conf)?.defaultParallelism()).toBe(8);
  });
});

describe('localClusterConf', () => {
  it('sizes executor memory so that one executor with its overhead fits an agent', () => {
    const master = { kind: 'local-cluster', agents: 2, coresPerAgent: 1, memoryPerAgentMb: 1024 } as const;
    const conf = localClusterConf(master, new SparkConf());
    expect(conf.get('spark.executor.memory')).toBe('640m');
    expect(conf.get('spark.driver.host')).toBe('127.0.0.1');
    const small = localClusterConf({ ...master, memoryPerAgentMb: 256 }, new SparkConf());
    expect(small.get('spark.executor.memory')).toBe('128m');
    expect(small.get('spark.mesos.executor.memoryOverhead')).toBe('128');
    const set = localClusterConf(master, new SparkConf().set('spark.executor.memory', '300m'));
    expect(set.get('spark.executor.memory')).toBe('300m');
  });
});

describe('prepareExecutorSource', () => {
  it('uses spark.mesos.executor.home or a finished spark.executor.uri as they are', async () => {
    const home = await prepareExecutorSource(new SparkConf().set('spark.mesos.executor.home', '/opt/spark-mesos'));
    expect(home.source).toEqual({ executorHome: '/opt/spark-mesos' });
    const uri = await prepareExecutorSource(
      new SparkConf()
        .set('spark.executor.uri', 'http://repo/spark-mesos-executor-0123456789abcdef.tgz')
        .set('spark.mesos.executor.home', '/ignored'),
    );
    expect(uri.source).toEqual({ executorUri: 'http://repo/spark-mesos-executor-0123456789abcdef.tgz' });
  });

  it('packs and uploads to a spark.executor.uri ending in "/", under the content-addressed name, once', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'spark-mesos-uri-test-'));
    try {
      const prefix = `${pathToFileURL(directory).href}/`;
      const conf = new SparkConf().set('spark.executor.uri', prefix);
      const first = await prepareExecutorSource(conf);
      const uri = (first.source as { executorUri: string }).executorUri;
      expect(uri).toMatch(new RegExp(`^${prefix}spark-mesos-executor-[0-9a-f]{16}\\.tgz$`));
      expect(existsSync(fileURLToPath(uri))).toBe(true);
      expect((await prepareExecutorSource(conf)).source).toEqual(first.source);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('packs into a temporary directory for agents on this host, removed by cleanup', async () => {
    const prepared = await prepareExecutorSource(new SparkConf(), { packLocally: true });
    const file = fileURLToPath((prepared.source as { executorUri: string }).executorUri);
    expect(existsSync(file)).toBe(true);
    prepared.cleanup();
    expect(existsSync(file)).toBe(false);
  });

  it('names both keys when agents have no way to get the executor', async () => {
    const error = await prepareExecutorSource(new SparkConf()).catch((caught: unknown) => caught);
    expect(isSparkMesosError(error, 'SM_ERR_NO_EXECUTOR_SOURCE')).toBe(true);
    expect((error as Error).message).toContain('spark.executor.uri');
    expect((error as Error).message).toContain('spark.mesos.executor.home');
  });
});

describe('readMesosLaunchSettings', () => {
  it("reads the executors' URIs, environment, labels and limits as Spark names them", () => {
    const conf = new SparkConf()
      .set('spark.mesos.uris', ' http://a/x.txt ,, file:///b/y.tgz')
      .set('spark.mesos.fetcherCache.enable', 'true')
      .set('spark.executorEnv.JAVA_HOME', '/ignored/but/passed')
      .set('spark.executorEnv.GREETING', 'hello')
      .set('spark.mesos.task.labels', 'team:data')
      .set('spark.task.maxFailures', '7')
      .set('spark.mesos.coarse.shutdownTimeout', '3s')
      .set('spark.executor.memory', '2g');
    const settings = readMesosLaunchSettings(conf);
    expect(settings.extraUris).toEqual([
      { value: 'http://a/x.txt', cache: true },
      { value: 'file:///b/y.tgz', cache: true },
    ]);
    expect(settings.useFetcherCache).toBe(true);
    expect(settings.environment).toEqual({ JAVA_HOME: '/ignored/but/passed', GREETING: 'hello' });
    expect(settings.taskLabels).toEqual([{ key: 'team', value: 'data' }]);
    expect(settings.maxTaskFailures).toBe(7);
    expect(settings.shutdownTimeoutMs).toBe(3000);
    expect(settings.executorMemoryMiB).toBe(2048);
    expect(settings.node).toBe('node');
  });

  it('reads the executor container at start: none by default, a bad spec fails the read', () => {
    expect(readMesosLaunchSettings(new SparkConf()).container).toEqual({
      container: undefined,
      secretVariables: [],
      warnings: [],
    });
    const settings = readMesosLaunchSettings(
      new SparkConf().set('spark.mesos.executor.docker.image', 'node:20').set('spark.mesos.containerizer', 'mesos'),
    );
    expect(settings.container.container?.mesos?.image?.docker?.name).toBe('node:20');
    expect(() =>
      readMesosLaunchSettings(new SparkConf().set('spark.mesos.executor.docker.volumes', '/a:/b:/c:ro')),
    ).toThrow(/spark\.mesos\.executor\.docker\.volumes: "\/a:\/b:\/c:ro" is not a volume/);
  });
});

describe('describeWaitStatus', () => {
  it("reads a FAILURE event's waitpid status as an exit code or a signal", () => {
    expect(describeWaitStatus(3 << 8)).toBe('exited with code 3');
    expect(describeWaitStatus(0)).toBe('exited with code 0');
    expect(describeWaitStatus(9)).toBe('was killed by signal 9 (SIGKILL)');
    expect(describeWaitStatus(-1)).toBe('ended (exit status unknown)');
    expect(describeWaitStatus(undefined)).toBe('ended (exit status unknown)');
  });
});
