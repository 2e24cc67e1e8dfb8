import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../task-spec.js';
import { FinishedPacker, forEachFinished, packTasks, unpackTasks } from './packed.js';

describe('packed task batches and outcomes', () => {
  it('round-trips a batch through v8.serialize: ids, numbers, functions, bytes, shared captured values', () => {
    const shared = serialize({ k: 10 });
    const square = { kind: 'source' as const, source: '(x) => x * x' };
    const fromModule = { kind: 'module' as const, module: './jobs.js', export: 'count' };
    const tasks: TaskSpec[] = [
      { taskId: 'a', stageId: 1, partition: 0, attempt: 0, function: square, captured: shared, input: serialize(1) },
      { taskId: 'b', stageId: 1, partition: 1, attempt: 2, function: square, captured: shared, input: serialize([2]) },
      {
        taskId: 'ü-3',
        stageId: 7,
        partition: 2.5,
        attempt: 1,
        function: fromModule,
        captured: serialize(undefined),
        input: serialize('x'),
      },
      { taskId: 'd', stageId: 1, partition: 3, attempt: 0, function: square, captured: shared, input: serialize(4) },
    ];
    const packed = deserialize(serialize(packTasks(tasks))) as ReturnType<typeof packTasks>;
    expect(packed.functions).toEqual([square, fromModule]);
    // The shared captured bytes travel once for the first two tasks (the fourth follows another).
    expect(packed.bytes.byteLength).toBe(
      tasks.reduce((sum, task) => sum + task.input.byteLength, 0) + 2 * shared.byteLength + 3,
    );
    const unpacked = unpackTasks(packed);
    expect(
      unpacked.map(({ taskId, stageId, partition, attempt, function: fn }) => ({
        taskId,
        stageId,
        partition,
        attempt,
        fn,
      })),
    ).toEqual(
      tasks.map(({ taskId, stageId, partition, attempt, function: fn }) => ({
        taskId,
        stageId,
        partition,
        attempt,
        fn,
      })),
    );
    expect(unpacked.map((task) => [deserialize(task.input), deserialize(task.captured)])).toEqual([
      [1, { k: 10 }],
      [[2], { k: 10 }],
      ['x', undefined],
      [4, { k: 10 }],
    ]);
  });

  it('leaves values that are not bytes missing, so the runner fails those tasks with a bad payload', () => {
    const task = {
      taskId: 'bad',
      stageId: 0,
      partition: 0,
      attempt: 0,
      function: { kind: 'source' as const, source: '() => 1' },
      captured: 'not bytes',
      input: 42,
    } as unknown as TaskSpec;
    const [unpacked] = unpackTasks(deserialize(serialize(packTasks([task]))));
    expect(unpacked?.input).toBeUndefined();
    expect(unpacked?.captured).toBeUndefined();
  });

  it('packs finished outcomes and gives each its own result bytes back', () => {
    const packer = new FinishedPacker();
    packer.add('t1', { state: 'finished', result: serialize(null), durationMs: 0.5, outputTail: '' });
    packer.add('t2', {
      state: 'finished',
      result: serialize({ big: 'x'.repeat(1000) }),
      durationMs: 2,
      outputTail: 'hi\n',
    });
    expect(packer.size).toBe(2);
    const packed = deserialize(serialize(packer.take()));
    expect(packer.size).toBe(0);
    const seen: [string, unknown, number, string][] = [];
    forEachFinished(packed, (taskId, outcome) =>
      seen.push([taskId, deserialize(outcome.result), outcome.durationMs, outcome.outputTail]),
    );
    expect(seen).toEqual([
      ['t1', null, 0.5, ''],
      ['t2', { big: 'x'.repeat(1000) }, 2, 'hi\n'],
    ]);
  });
});
