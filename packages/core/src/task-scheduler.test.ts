import { SparkConf } from '@spark-mesos/config';
import { describe, expect, it } from 'vitest';
import { createInProcessBackend, type InProcessBackendOptions } from './__test__/in-process-backend.js';
import { SparkContext } from './spark-context.js';
import type { TaskOutcome } from './task-spec.js';

const failure = (message: string, outputTail = ''): TaskOutcome => ({
  state: 'failed',
  error: { name: 'Error', message, stack: `Error: ${message}\n    at task (job.mjs:1:1)` },
  durationMs: 1,
  outputTail,
});

async function withContext(
  backendOptions: InProcessBackendOptions,
  conf: Record<string, string>,
  body: (sc: SparkContext, backend: ReturnType<typeof createInProcessBackend>) => Promise<void>,
): Promise<void> {
  const backend = createInProcessBackend(backendOptions);
  // A mesos:// master so spark.task.maxFailures applies (local[N] means 1 failure, as in Spark).
  const sparkConf = new SparkConf().setMaster('mesos://127.0.0.1:5050').setAppName('scheduler-test').setAll(conf);
  const sc = await SparkContext.create(sparkConf, { backend });
  try {
    await body(sc, backend);
  } finally {
    await sc.stop();
  }
}

describe('task scheduler', () => {
  it('retries a failing task and succeeds before spark.task.maxFailures', async () => {
    const failuresOf = new Map<number, number>();
    await withContext(
      {
        intercept: (_executor, task) => {
          const seen = failuresOf.get(task.partition) ?? 0;
          if (task.partition === 1 && seen < 3) {
            failuresOf.set(task.partition, seen + 1);
            return failure('flaky');
          }
          return undefined;
        },
      },
      {},
      async (sc, backend) => {
        const progress: Array<{ finishedTasks: number; failedAttempts: number; state: string }> = [];
        const remove = sc.onStageProgress((stage) => progress.push(stage));
        expect(await sc.parallelize([1, 2, 3], 3).collect()).toEqual([1, 2, 3]);
        remove();
        expect(progress.at(-1)).toMatchObject({
          totalTasks: 3,
          finishedTasks: 3,
          failedAttempts: 3,
          state: 'succeeded',
        });
        expect(progress.some((stage) => stage.state === 'running' && stage.finishedTasks < 3)).toBe(true);
        const attempts = backend.launched.filter(({ task }) => task.partition === 1).map(({ task }) => task.attempt);
        expect(attempts).toEqual([0, 1, 2, 3]);
      },
    );
  });

  it('fails the job after spark.task.maxFailures with the error, stack and output tail', async () => {
    await withContext(
      { intercept: (_executor, task) => (task.partition === 0 ? failure('always broken', 'last words\n') : undefined) },
      { 'spark.task.maxFailures': '3' },
      async (sc, backend) => {
        const error = (await sc
          .parallelize([1, 2], 2)
          .collect()
          .catch((caught: unknown) => caught)) as Error & { code: string };
        expect(error.code).toBe('SM_ERR_JOB_FAILED');
        expect(error.message).toMatch(/^Job \d+ aborted due to stage failure: Task 0 in stage \d+\.0 failed 3 times/);
        expect(error.message).toContain('Lost task 0.2');
        expect(error.message).toContain('Error: always broken');
        expect(error.message).toContain('at task (job.mjs:1:1)');
        expect(error.message).toContain('Output tail of the task:\nlast words');
        expect(backend.launched.filter(({ task }) => task.partition === 0)).toHaveLength(3);
      },
    );
  });

  it('resubmits the tasks of a lost executor elsewhere', async () => {
    let lost = false;
    await withContext(
      {
        executors: [
          { executorId: 'doomed', host: 'h1', slots: 1 },
          { executorId: 'healthy', host: 'h2', slots: 1 },
        ],
        intercept: (executorId) => (executorId === 'doomed' ? 'hold' : undefined),
      },
      {},
      async (sc, backend) => {
        const job = sc.parallelize([1, 2, 3, 4], 4).collect();
        // Let the first launches happen, then lose the executor holding a task.
        await new Promise((resolve) => setImmediate(resolve));
        expect(backend.launched.some(({ executorId }) => executorId === 'doomed')).toBe(true);
        backend.events().executorLost('doomed', 'agent gone', { causedByApp: false });
        lost = true;
        expect(await job).toEqual([1, 2, 3, 4]);
        const doomedTask = backend.launched.find(({ executorId }) => executorId === 'doomed')!.task;
        const rerun = backend.launched.filter(
          ({ executorId, task }) => executorId === 'healthy' && task.partition === doomedTask.partition,
        );
        expect(rerun).toHaveLength(1);
        expect(rerun[0]!.task.attempt).toBe(1);
      },
    );
    expect(lost).toBe(true);
  });

  it('with exclusion on, a failed task avoids its executor and a repeatedly failing executor is excluded', async () => {
    await withContext(
      {
        executors: [
          { executorId: 'bad', host: 'h1', slots: 1 },
          { executorId: 'good', host: 'h2', slots: 1 },
        ],
        intercept: (executorId) => (executorId === 'bad' ? failure('bad disk') : undefined),
      },
      { 'spark.excludeOnFailure.enabled': 'true' },
      async (sc, backend) => {
        expect(await sc.parallelize([1, 2, 3, 4, 5, 6], 6).collect()).toEqual([1, 2, 3, 4, 5, 6]);
        const onBad = backend.launched.filter(({ executorId }) => executorId === 'bad');
        // Two failures exclude it (maxFailedTasksPerExecutor = 2); no task ran twice there.
        expect(onBad.length).toBeLessThanOrEqual(2);
        const partitionsOnBad = onBad.map(({ task }) => task.partition);
        expect(new Set(partitionsOnBad).size).toBe(partitionsOnBad.length);
        const before = backend.launched.length;
        expect(await sc.parallelize([1, 2], 2).count()).toBe(2);
        expect(backend.launched.slice(before).every(({ executorId }) => executorId === 'good')).toBe(true);
      },
    );
  });

  it('aborts a task set whose task is excluded on every executor after the unschedulable timeout', async () => {
    await withContext(
      {
        executors: [{ executorId: 'only', host: 'h1', slots: 1 }],
        intercept: () => failure('broken everywhere'),
      },
      {
        'spark.excludeOnFailure.enabled': 'true',
        'spark.excludeOnFailure.application.maxFailedTasksPerExecutor': '10',
        'spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout': '50ms',
      },
      async (sc, backend) => {
        const error = (await sc
          .parallelize([1], 1)
          .collect()
          .then(
            () => ({ code: 'none', message: '' }),
            (caught: unknown) => caught as Error & { code: string },
          )) as Error & { code: string };
        expect(error.code).toBe('SM_ERR_JOB_FAILED');
        expect(error.message).toContain('cannot run anywhere due to node and executor excludeOnFailure');
        expect(error.message).toContain('broken everywhere');
        expect(backend.launched).toHaveLength(1);
      },
    );
  });

  it('reports demand to the backend and takes executors added later', async () => {
    await withContext({ executors: [] }, {}, async (sc, backend) => {
      const job = sc.parallelize([1, 2, 3], 3).count();
      await new Promise((resolve) => setImmediate(resolve));
      expect(backend.demands.at(-1)).toMatchObject({ pendingTasks: 3, runningTasks: 0 });
      backend.events().executorAdded({ executorId: 'late', host: 'h', slots: 1 });
      expect(await job).toBe(3);
      expect(backend.demands.at(-1)).toMatchObject({ pendingTasks: 0, runningTasks: 0 });
    });
  });

  it('refuses spark.task.maxFailures below 1', async () => {
    await expect(
      SparkContext.create(
        new SparkConf().setMaster('mesos://127.0.0.1:5050').setAppName('x').set('spark.task.maxFailures', '0'),
        { backend: createInProcessBackend() },
      ),
    ).rejects.toMatchObject({ code: 'SM_ERR_BAD_CONFIG', message: expect.stringContaining('at least 1') });
  });

  it('stop fails running jobs and refuses new ones', async () => {
    const backend = createInProcessBackend({ intercept: () => 'hold' });
    const sc = await SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('stop-test'), { backend });
    const job = sc.parallelize([1], 1).collect();
    await new Promise((resolve) => setImmediate(resolve));
    await sc.stop();
    await expect(job).rejects.toMatchObject({ code: 'SM_ERR_CONTEXT_STOPPED' });
    expect(() => sc.parallelize([1])).toThrow(/stopped/);
  });
});

describe('guarantees a fine-grained backend relies on', () => {
  it('launches synchronously from within executorSlotsChanged, and not beyond lowered slots', async () => {
    await withContext({ executors: [], intercept: () => 'hold' }, {}, async (sc, backend) => {
      void sc
        .parallelize([1, 2, 3], 3)
        .count()
        .catch(() => {});
      await new Promise((resolve) => setImmediate(resolve));
      backend.events().executorAdded({ executorId: 'fine', host: 'agent', slots: 0 });
      expect(backend.launched).toHaveLength(0);
      backend.events().executorSlotsChanged('fine', 2);
      // Synchronous: the tasks are known before the backend answers the offer.
      expect(backend.launched.map(({ task }) => task.partition)).toEqual([0, 1]);
      backend.events().executorSlotsChanged('fine', 1);
      backend.events().taskEnded('fine', backend.launched[0]!.task.taskId, {
        state: 'finished',
        result: new Uint8Array([0xff, 0x0f, 0x49, 0x02]),
        durationMs: 1,
        outputTail: '',
      });
      // One slot, still taken by the second task: nothing new starts.
      expect(backend.launched).toHaveLength(2);
    });
  });
});

describe('stages', () => {
  it('runs a chain of narrow transformations as one task per partition, with one composed function', async () => {
    await withContext({}, {}, async (sc, backend) => {
      const result = await sc
        .parallelize([1, 2, 3, 4, 5, 6], 3)
        .map((x, { k }) => x * k, { k: 10 })
        .filter((x) => x > 10)
        .flatMap((x) => [x, x + 1])
        .keyBy((x) => x % 2)
        .collect();
      expect(result).toEqual([
        [0, 20],
        [1, 21],
        [0, 30],
        [1, 31],
        [0, 40],
        [1, 41],
        [0, 50],
        [1, 51],
        [0, 60],
        [1, 61],
      ]);
      const tasks = backend.launched.map(({ task }) => task);
      expect(tasks).toHaveLength(3);
      expect(new Set(tasks.map((task) => task.stageId)).size).toBe(1);
      const [first] = tasks;
      expect(first!.function.kind).toBe('source');
      // Every task shares the one composed source and the one serialized `captured`.
      expect(tasks.every((task) => task.function === first!.function && task.captured === first!.captured)).toBe(true);
      const source = (first!.function as { source: string }).source;
      expect(source).toContain('x * k');
      expect(source).not.toContain('textSplit');
    });
  });
});
