import { deserialize, serialize } from 'node:v8';
import { SparkConf } from '@spark-mesos/config';
import { createTaskRunner } from '@spark-mesos/executor';
import { expect, it } from 'vitest';
import { describeDatasetSuite } from './__test__/dataset-suite.js';
import { createLocalBackend, LOCAL_EXECUTOR_ID, type LocalTaskRunner } from './local-backend.js';
import type { SchedulerBackendEvents } from './scheduler-backend.js';
import { SparkContext } from './spark-context.js';
import type { TaskOutcome, TaskSpec } from './task-spec.js';

function sourceTask(taskId: string, source: string): TaskSpec {
  return {
    taskId,
    stageId: 0,
    partition: 0,
    attempt: 0,
    function: { kind: 'source', source },
    captured: serialize(undefined),
    input: serialize(null),
  };
}

/** Starts a backend and collects the outcomes it reports, noting whether one came synchronously. */
async function startCollecting(backend: ReturnType<typeof createLocalBackend>) {
  const outcomes = new Map<string, TaskOutcome>();
  let insideCall = false;
  let reportedInsideCall = false;
  const waiters: Array<() => void> = [];
  const events: SchedulerBackendEvents = {
    executorAdded: () => {},
    executorSlotsChanged: () => {},
    executorLost: () => {},
    taskEnded: (executorId, taskId, outcome) => {
      expect(executorId).toBe(LOCAL_EXECUTOR_ID);
      if (insideCall) reportedInsideCall = true;
      outcomes.set(taskId, outcome);
      for (const wake of waiters.splice(0)) wake();
    },
  };
  await backend.start(events);
  return {
    outcomes,
    /** Runs `action` as the task scheduler would call the backend. */
    call(action: () => void) {
      insideCall = true;
      try {
        action();
      } finally {
        insideCall = false;
      }
    },
    reportedInsideCall: () => reportedInsideCall,
    async waitFor(count: number) {
      while (outcomes.size < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

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

it('kill stops a running and a queued task at once, reporting both killed after the call returns', async () => {
  const backend = createLocalBackend({ threads: 1, createTaskRunner });
  const collected = await startCollecting(backend);
  try {
    collected.call(() =>
      backend.launch(LOCAL_EXECUTOR_ID, [sourceTask('1', '() => { for (;;) {} }'), sourceTask('2', '() => 2')]),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    collected.call(() => backend.kill(LOCAL_EXECUTOR_ID, '2', 'stage 0.0 was aborted'));
    collected.call(() => backend.kill(LOCAL_EXECUTOR_ID, '1', 'stage 0.0 was aborted'));
    await collected.waitFor(2);
    expect(collected.outcomes.get('1')).toMatchObject({ state: 'killed', reason: 'stage 0.0 was aborted' });
    expect(collected.outcomes.get('2')).toMatchObject({ state: 'killed', reason: 'stage 0.0 was aborted' });
    expect(collected.reportedInsideCall()).toBe(false);
    // The slot is free again: a new task runs on a fresh worker.
    collected.call(() => backend.launch(LOCAL_EXECUTOR_ID, [sourceTask('3', '() => 3')]));
    await collected.waitFor(3);
    const third = collected.outcomes.get('3');
    expect(third?.state === 'finished' && deserialize(third.result)).toBe(3);
  } finally {
    await backend.stop();
  }
});

it('runs on a task runner that only has run (a signal per task)', async () => {
  const createRunOnly = (options: { slots: number }): LocalTaskRunner => {
    const runner = createTaskRunner(options);
    return {
      slots: runner.slots,
      run: (task, runOptions) => runner.run(task, runOptions),
      close: () => runner.close(),
    };
  };
  const backend = createLocalBackend({ threads: 2, createTaskRunner: createRunOnly });
  const collected = await startCollecting(backend);
  try {
    collected.call(() =>
      backend.launch(LOCAL_EXECUTOR_ID, [sourceTask('1', '() => "one"'), sourceTask('2', '() => { for (;;) {} }')]),
    );
    await collected.waitFor(1);
    collected.call(() => backend.kill(LOCAL_EXECUTOR_ID, '2', 'stage 0.0 was aborted'));
    await collected.waitFor(2);
    const first = collected.outcomes.get('1');
    expect(first?.state === 'finished' && deserialize(first.result)).toBe('one');
    expect(collected.outcomes.get('2')).toMatchObject({ state: 'killed', reason: 'stage 0.0 was aborted' });
    expect(collected.reportedInsideCall()).toBe(false);
  } finally {
    await backend.stop();
  }
});
