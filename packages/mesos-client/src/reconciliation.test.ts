import { describe, expect, it } from 'vitest';
import { createBackoff } from './backoff.js';
import type { SchedulerCallReconcileTask, TaskStatus } from './generated/mesos-types.js';
import { createReconciler } from './reconciliation.js';
import { manualTimers } from './scheduler-manual-timers.test-support.js';

const silent = { warn: () => {}, info: () => {} };
const task = (id: string): SchedulerCallReconcileTask => ({ task_id: { value: id } });
const status = (id: string): TaskStatus => ({ task_id: { value: id }, state: 'TASK_RUNNING' });
const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup(fail = () => false) {
  const timers = manualTimers();
  const sent: string[][] = [];
  let done = 0;
  const reconciler = createReconciler({
    send: async (tasks) => {
      sent.push(tasks.map((t) => t.task_id.value));
      if (fail()) throw new Error('503');
    },
    backoff: createBackoff({ initialMs: 1000, maxMs: 8000, jitter: 0 }),
    timers,
    logger: silent,
    onDone: () => {
      done += 1;
    },
  });
  return { timers, sent, reconciler, done: () => done };
}

describe('createReconciler', () => {
  it('reconciles known tasks explicitly with backoff until each has an update, then implicitly', async () => {
    const { timers, sent, reconciler, done } = setup();
    expect(reconciler.start([task('a'), task('b')])).toBe(true);
    await flush();
    expect(sent).toEqual([['a', 'b']]);
    reconciler.observe(status('a'));
    timers.advance(1000);
    await flush();
    expect(sent).toEqual([['a', 'b'], ['b']]);
    timers.advance(1999);
    await flush();
    expect(sent).toHaveLength(2); // the second wait is 2000 ms
    timers.advance(1);
    await flush();
    expect(sent).toEqual([['a', 'b'], ['b'], ['b']]);
    reconciler.observe(status('b'));
    await flush();
    expect(sent.at(-1)).toEqual([]); // implicit
    expect(reconciler.pending).toBe(false);
    expect(done()).toBe(1);
  });

  it('runs one round at a time', async () => {
    const { sent, reconciler } = setup();
    reconciler.start([task('a')]);
    expect(reconciler.start([task('b')])).toBe(false);
    await flush();
    expect(sent).toEqual([['a']]);
    expect(reconciler.remaining).toEqual(['a']);
  });

  it('goes straight to implicit without known tasks, retrying a failed send', async () => {
    let failures = 1;
    const { timers, sent, reconciler } = setup(() => failures-- > 0);
    reconciler.start([]);
    await flush();
    expect(sent).toEqual([[]]);
    expect(reconciler.pending).toBe(true);
    timers.advance(1000);
    await flush();
    expect(sent).toEqual([[], []]);
    expect(reconciler.pending).toBe(false);
  });

  it('stop() ends the round', async () => {
    const { timers, sent, reconciler } = setup();
    reconciler.start([task('a')]);
    await flush();
    reconciler.stop();
    timers.advance(60_000);
    await flush();
    expect(sent).toHaveLength(1);
  });
});
