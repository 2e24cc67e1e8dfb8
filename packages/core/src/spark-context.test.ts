import { SparkConf } from '@spark-mesos/config';
import { describe, expect, it } from 'vitest';
import { createInProcessBackend } from './__test__/in-process-backend.js';
import { onSparkContextStarted, SparkContext } from './spark-context.js';

describe('SparkContext', () => {
  it('names the ways to set a master when none is set', async () => {
    const error = (await SparkContext.create(new SparkConf().setAppName('x')).catch((caught: unknown) => caught)) as {
      code: string;
      message: string;
    };
    expect(error.code).toBe('SM_ERR_NO_MASTER');
    expect(error.message).toContain('spark.master');
    expect(error.message).toContain('--master');
    expect(error.message).toContain('SparkConf.setMaster');
  });

  it('requires an application name and a valid master', async () => {
    await expect(SparkContext.create(new SparkConf().setMaster('local'))).rejects.toMatchObject({
      code: 'SM_ERR_NO_APP_NAME',
    });
    await expect(SparkContext.create(new SparkConf().setMaster('local[0]').setAppName('x'))).rejects.toMatchObject({
      code: 'SM_ERR_BAD_MASTER_URL',
    });
    await expect(
      SparkContext.create(new SparkConf().setMaster('mesos://127.0.0.1:5050').setAppName('x')),
    ).rejects.toMatchObject({ code: 'SM_ERR_NO_EXECUTOR_SOURCE' });
  });

  it('allows one active context, shared by getOrCreate, and a new one after stop', async () => {
    const conf = new SparkConf().setMaster('local[3]').setAppName('ctx-test');
    const sc = await SparkContext.create(conf, { backend: createInProcessBackend() });
    try {
      await expect(SparkContext.create(conf, { backend: createInProcessBackend() })).rejects.toMatchObject({
        code: 'SM_ERR_CONTEXT_ACTIVE',
      });
      expect(await SparkContext.getOrCreate()).toBe(sc);
      expect(sc.appName).toBe('ctx-test');
      expect(sc.master).toEqual({ kind: 'local', threads: 3, maxFailures: 1 });
      expect(sc.defaultParallelism).toBe(2);
      expect(sc.executors()).toEqual([{ executorId: 'exec-0', host: 'host-0', slots: 2 }]);
    } finally {
      await sc.stop();
      await sc.stop();
    }
    const again = await SparkContext.create(conf.clone().set('spark.default.parallelism', '5'), {
      backend: createInProcessBackend(),
    });
    expect(again.defaultParallelism).toBe(5);
    expect(await again.parallelize([1, 2, 3, 4, 5, 6]).getNumPartitions()).toBe(5);
    await again.stop();
  });

  it('rejects bad arguments at the call site', async () => {
    const sc = await SparkContext.create(new SparkConf().setMaster('local').setAppName('args'), {
      backend: createInProcessBackend(),
    });
    try {
      expect(() => sc.parallelize([1], 0)).toThrow(/positive whole number/);
      expect(() => sc.parallelize(5 as never)).toThrow(/array or another iterable/);
      expect(() => sc.parallelize([() => 1])).toThrow(/cannot be copied to tasks/);
      expect(() => sc.range(0, 10, 0)).toThrow(/step cannot be 0/);
      expect(() => sc.parallelize([1]).map(Math.abs)).toThrow(/spark-context\.test\.ts/);
      await expect(sc.runJob({} as never, (items) => [...items])).rejects.toMatchObject({
        code: 'SM_ERR_BAD_ARGUMENT',
      });
      await expect(sc.runJob(sc.parallelize([1], 1), (items) => [...items], [1])).rejects.toMatchObject({
        code: 'SM_ERR_BAD_PARTITION',
      });
      await expect(sc.textFile('/nonexistent/input').count()).rejects.toMatchObject({
        code: 'SM_ERR_INPUT_NOT_FOUND',
      });
    } finally {
      await sc.stop();
    }
  });

  it('tells onSparkContextStarted listeners of each context started, until removed', async () => {
    const seen: SparkContext[] = [];
    const remove = onSparkContextStarted((context) => seen.push(context));
    const conf = new SparkConf().setMaster('local').setAppName('listened');
    const sc = await SparkContext.create(conf, { backend: createInProcessBackend() });
    expect(sc.isStopped).toBe(false);
    await sc.stop();
    expect(sc.isStopped).toBe(true);
    remove();
    const unseen = await SparkContext.create(conf, { backend: createInProcessBackend() });
    await unseen.stop();
    expect(seen).toEqual([sc]);
  });
});
