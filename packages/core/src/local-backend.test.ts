import { SparkConf } from '@spark-mesos/config';
import { expect, it } from 'vitest';
import { describeDatasetSuite } from './__test__/dataset-suite.js';
import { SparkContext } from './spark-context.js';

// End to end on local[2]: worker threads of the executor package's task runner.
describeDatasetSuite('datasets on local[2]', () =>
  SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('local-test')),
);

it('local[N,F] retries a failing task F times, local fails at once', async () => {
  const sc = await SparkContext.create(new SparkConf().setMaster('local[2,3]').setAppName('local-retries'));
  try {
    expect(sc.backendName).toBe('local[2]');
    expect(sc.executors()).toEqual([{ executorId: 'driver', host: 'localhost', slots: 2 }]);
    const error = (await sc
      .parallelize([1], 1)
      .map((x) => {
        console.error(`attempt failing for ${x}`);
        throw new Error('nope');
      })
      .collect()
      .then(
        () => ({ message: 'succeeded' }),
        (caught: unknown) => caught as Error,
      )) as Error;
    expect(error.message).toContain('failed 3 times');
    expect(error.message).toContain('Error: nope');
    expect(error.message).toContain('attempt failing for 1');
  } finally {
    await sc.stop();
  }
});

it('a result that cannot be serialized fails the job at once, without retries', async () => {
  const sc = await SparkContext.create(new SparkConf().setMaster('local[2,4]').setAppName('local-result'));
  try {
    const error = (await sc
      .parallelize([1, 2], 2)
      .map((x) => () => x)
      .collect()
      .then(
        () => ({ message: 'succeeded' }),
        (caught: unknown) => caught as Error,
      )) as Error;
    expect(error.message).toContain('retrying cannot fix');
    expect(error.message).toContain('Lost task');
    expect(error.message).toMatch(/Lost task \d\.0 /);
  } finally {
    await sc.stop();
  }
});

it('local[*] has one slot per logical CPU', async () => {
  const { availableParallelism } = await import('node:os');
  const sc = await SparkContext.create(new SparkConf().setMaster('local[*]').setAppName('local-star'));
  try {
    expect(sc.executors()).toEqual([{ executorId: 'driver', host: 'localhost', slots: availableParallelism() }]);
    expect(sc.defaultParallelism).toBe(availableParallelism());
    expect(await sc.range(0, 10).count()).toBe(10);
  } finally {
    await sc.stop();
  }
});

it('spark.task.cpus divides the threads into slots, and cannot exceed them', async () => {
  const sc = await SparkContext.create(
    new SparkConf().setMaster('local[4]').setAppName('task-cpus').set('spark.task.cpus', '2'),
  );
  try {
    expect(sc.executors()).toEqual([{ executorId: 'driver', host: 'localhost', slots: 2 }]);
  } finally {
    await sc.stop();
  }
  await expect(
    SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('task-cpus').set('spark.task.cpus', '3')),
  ).rejects.toMatchObject({ code: 'SM_ERR_BAD_CONFIG', message: expect.stringContaining('spark.task.cpus is 3') });
});

it('a worker that dies mid-task is replaced and the task retried (local[2,2])', async () => {
  const sc = await SparkContext.create(new SparkConf().setMaster('local[2,2]').setAppName('worker-death'));
  try {
    const results = await sc.runJob(sc.parallelize([1, 2, 3, 4], 4), (items, context) => {
      if (context.partition === 1 && context.attempt === 0) process.exit(3);
      return Array.from(items, (x) => x * 10);
    });
    expect(results).toEqual([[10], [20], [30], [40]]);
  } finally {
    await sc.stop();
  }
});
