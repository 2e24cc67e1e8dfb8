import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { deserialize, serialize } from 'node:v8';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTaskRunner, type TaskRunner } from './task-runner.js';
import type { TaskFunctionSpec, TaskOutcome, TaskSpec } from './task-spec.js';

let counter = 0;
function task(fn: TaskFunctionSpec | string, input: unknown = null, captured: unknown = undefined): TaskSpec {
  counter += 1;
  return {
    taskId: `t${counter}`,
    stageId: 3,
    partition: counter,
    attempt: 0,
    function: typeof fn === 'string' ? { kind: 'source', source: fn } : fn,
    captured: serialize(captured),
    input: serialize(input),
  };
}

function value(outcome: TaskOutcome): unknown {
  if (outcome.state !== 'finished') throw new Error(`expected finished, got ${JSON.stringify(outcome)}`);
  return deserialize(outcome.result);
}

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return { stream, text: () => text };
}

const runners: TaskRunner[] = [];
function runner(options: Parameters<typeof createTaskRunner>[0]): TaskRunner {
  const created = createTaskRunner({ stdout: sink().stream, stderr: sink().stream, ...options });
  runners.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(runners.splice(0).map((created) => created.close()));
});

describe('createTaskRunner', () => {
  it('calls the function with input, captured values and the task context, and serializes its value', async () => {
    const tasks = runner({ slots: 1 });
    const spec = task(
      '(input, captured, context) => ({ sum: input.reduce((a, b) => a + b, 0) * captured.k, context })',
      [1, 2, 3],
      {
        k: 10,
      },
    );
    const outcome = await tasks.run(spec);
    expect(value(outcome)).toEqual({
      sum: 60,
      context: { taskId: spec.taskId, stageId: 3, partition: spec.partition, attempt: 0 },
    });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('awaits a returned promise and keeps rich values (Map, Date, typed arrays, bigint)', async () => {
    const tasks = runner({ slots: 1 });
    const outcome = await tasks.run(
      task(
        'async (input) => { await new Promise((r) => setTimeout(r, 5)); return new Map([[input, new Date(0)], ["b", 10n]]); }',
        'a',
      ),
    );
    expect(value(outcome)).toEqual(
      new Map<string, unknown>([
        ['a', new Date(0)],
        ['b', 10n],
      ]),
    );
  });

  it('fails a task that throws with the whole error, and keeps serving', async () => {
    const tasks = runner({ slots: 1 });
    const failed = await tasks.run(
      task(
        '() => { console.log("about to fail"); const e = new RangeError("partition too big"); e.code = "E_BIG"; throw e; }',
      ),
    );
    expect(failed.state).toBe('failed');
    if (failed.state !== 'failed') return;
    expect(failed.error).toMatchObject({ name: 'RangeError', message: 'partition too big', code: 'E_BIG' });
    expect(failed.error.stack).toContain('partition too big');
    expect(failed.outputTail).toBe('about to fail\n');
    expect(value(await tasks.run(task('() => "still here"')))).toBe('still here');
  });

  it('fails a throw of a non-error value with its text', async () => {
    const tasks = runner({ slots: 1 });
    const outcome = await tasks.run(task('() => { throw "plain text"; }'));
    expect(outcome).toMatchObject({
      state: 'failed',
      error: { name: 'Error', message: expect.stringContaining('plain text') },
    });
  });

  it('fails a bad source, a source that is not a function, a malformed payload and an unserializable result', async () => {
    const tasks = runner({ slots: 1 });
    const syntax = await tasks.run(task('(input) => {'));
    expect(syntax).toMatchObject({ state: 'failed', error: { code: 'SM_ERR_TASK_BAD_SOURCE' } });
    const notFunction = await tasks.run(task('42'));
    expect(notFunction).toMatchObject({
      state: 'failed',
      error: { code: 'SM_ERR_TASK_BAD_SOURCE', message: expect.stringContaining('number, not a function') },
    });
    const malformed = { ...task('(x) => x'), input: new Uint8Array([1, 2, 3]) };
    expect(await tasks.run(malformed)).toMatchObject({ state: 'failed', error: { code: 'SM_ERR_TASK_BAD_PAYLOAD' } });
    const badKind = task({ kind: 'shell', command: 'ls' } as unknown as TaskFunctionSpec);
    expect(await tasks.run(badKind)).toMatchObject({ state: 'failed', error: { code: 'SM_ERR_TASK_BAD_PAYLOAD' } });
    const unserializable = await tasks.run(task('() => ({ f: () => 1 })'));
    expect(unserializable).toMatchObject({ state: 'failed', error: { code: 'SM_ERR_TASK_RESULT_NOT_SERIALIZABLE' } });
    expect(value(await tasks.run(task('(x) => x * 2', 21)))).toBe(42);
  });

  it('writes task output with the task id on every line and returns its tail', async () => {
    const out = sink();
    const err = sink();
    const tasks = createTaskRunner({ slots: 1, stdout: out.stream, stderr: err.stream, outputTailChars: 16 });
    runners.push(tasks);
    const spec = task(
      '() => { console.log("one\\ntwo"); process.stdout.write("three"); console.error("oops"); return 1; }',
    );
    const outcome = await tasks.run(spec);
    expect(outcome.outputTail).toBe('one\ntwo\nthreeoops\n'.slice(-16));
    // The worker's stdout reaches this process on its own schedule, after the outcome.
    await vi.waitFor(() => {
      expect(out.text()).toContain(`[task ${spec.taskId}] one\n[task ${spec.taskId}] two\n[task ${spec.taskId}] three`);
      expect(err.text()).toContain(`[task ${spec.taskId}] oops\n`);
    });
  });

  it('fails a task whose timer throws later, and keeps serving', async () => {
    const tasks = runner({ slots: 1 });
    const outcome = await tasks.run(
      task('() => new Promise(() => { setTimeout(() => { throw new TypeError("late") }, 5); })'),
    );
    expect(outcome).toMatchObject({ state: 'failed', error: { name: 'TypeError', message: 'late' } });
    expect(value(await tasks.run(task('() => 7')))).toBe(7);
  });

  it('kills a task that never ends at its time limit and replaces the worker', async () => {
    const tasks = runner({ slots: 1, taskTimeoutMs: 300 });
    const spec = task('() => { console.log("looping"); for (;;) {} }');
    const outcome = await tasks.run(spec);
    expect(outcome.state).toBe('killed');
    if (outcome.state !== 'killed') return;
    expect(outcome.reason).toContain('exceeded the task time limit of 300 ms');
    expect(outcome.outputTail).toContain('looping');
    expect(value(await tasks.run(task('() => "replaced"')))).toBe('replaced');
  });

  it('kills a running task and a queued task when their signals abort', async () => {
    const tasks = runner({ slots: 1 });
    const running = new AbortController();
    const queued = new AbortController();
    const first = tasks.run(task('() => { for (;;) {} }'), { signal: running.signal });
    const second = tasks.run(task('() => "never"'), { signal: queued.signal });
    const third = tasks.run(task('() => "after"'));
    queued.abort('not needed any more');
    expect(await second).toMatchObject({ state: 'killed', reason: 'not needed any more' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    running.abort(new Error('killed by the driver'));
    expect(await first).toMatchObject({ state: 'killed', reason: 'killed by the driver' });
    expect(value(await third)).toBe('after');
    const already = new AbortController();
    already.abort('early');
    expect(await tasks.run(task('() => 1'), { signal: already.signal })).toMatchObject({
      state: 'killed',
      reason: 'early',
    });
  });

  it('fails a task that exhausts the worker heap limit and replaces the worker', async () => {
    const tasks = runner({ slots: 1, heapLimitMiB: 32 });
    const outcome = await tasks.run(
      task('() => { const keep = []; for (;;) keep.push(new Array(10000).fill({ a: 1 })); }'),
    );
    expect(outcome).toMatchObject({
      state: 'failed',
      error: { code: 'SM_ERR_TASK_OUT_OF_MEMORY', message: expect.stringContaining('32 MiB') },
    });
    expect(value(await tasks.run(task('() => "fresh worker"')))).toBe('fresh worker');
  });

  it('fails a task that ends its worker with process.exit, and keeps serving', async () => {
    const tasks = runner({ slots: 1 });
    expect(await tasks.run(task('() => process.exit(3)'))).toMatchObject({
      state: 'failed',
      error: { code: 'SM_ERR_TASK_WORKER_DIED', message: expect.stringContaining('code 3') },
    });
    expect(value(await tasks.run(task('() => 5')))).toBe(5);
  });

  it('submit calls back once per task with its outcome, and a throwing callback does not stop the runner', async () => {
    const tasks = runner({ slots: 2 });
    const specs = Array.from({ length: 40 }, (_, index) => task('(x) => x * 2', index));
    const seen = new Map<string, unknown>();
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      await new Promise<void>((resolve) => {
        for (const spec of specs) {
          tasks.submit(spec, (outcome, submitted) => {
            expect(seen.has(submitted.taskId)).toBe(false);
            seen.set(submitted.taskId, value(outcome));
            if (seen.size === specs.length) resolve();
            if (submitted === specs[3]) throw new Error('callback bug');
          });
        }
      });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(specs.map((spec) => seen.get(spec.taskId))).toEqual(specs.map((_, index) => index * 2));
    expect(uncaught).toMatchObject([{ message: 'callback bug' }]);
    expect(value(await tasks.run(task('() => "still serving"')))).toBe('still serving');
  });

  it('runs up to `slots` tasks at once', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'task-runner-slots-'));
    try {
      // Each task announces itself and waits for the other: both finish only if they run together.
      const meet = `async (name, dir) => {
        const fs = await import('node:fs');
        fs.writeFileSync(dir + '/' + name, '');
        const other = dir + '/' + (name === 'a' ? 'b' : 'a');
        for (let i = 0; i < 500; i++) {
          if (fs.existsSync(other)) return true;
          await new Promise((r) => setTimeout(r, 10));
        }
        return false;
      }`;
      const tasks = runner({ slots: 2 });
      const outcomes = await Promise.all([
        tasks.run(task(meet, 'a', directory)),
        tasks.run(task(meet, 'b', directory)),
      ]);
      expect(outcomes.map(value)).toEqual([true, true]);
      expect(tasks.slots).toBe(2);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('deals many queued tasks to the workers in chunks; killing a running one requeues the rest of its chunk', async () => {
    const tasks = runner({ slots: 2 });
    const specs = Array.from({ length: 300 }, (_, index) => task('(x) => x', index));
    const loop = task('() => { for (;;) {} }');
    const outcomes = [...specs.slice(0, 150), loop, ...specs.slice(150)].map((spec) => tasks.run(spec));
    // Wait until the runner is stuck on the loop: the other worker has drained what it was dealt,
    // and what is left (the loop, the rest of its chunk, and results its worker has not sent yet)
    // no longer changes. How much that is depends on how the queue was split into chunks.
    let previous = -1;
    await vi.waitFor(
      () => {
        const now = tasks.pending;
        const stable = now === previous;
        previous = now;
        expect(stable && now < 301).toBe(true);
      },
      { timeout: 15_000, interval: 300 },
    );
    expect(tasks.kill(loop.taskId, 'enough')).toBe(true);
    const settled = await Promise.all(outcomes);
    expect(settled[150]).toMatchObject({ state: 'killed', reason: 'enough' });
    expect(settled.filter((_, index) => index !== 150).map(value)).toEqual(specs.map((_, index) => index));
    expect(tasks.kill('no-such-task', 'x')).toBe(false);
  });

  it('kills a task waiting in a worker behind a running one without disturbing it', async () => {
    const tasks = runner({ slots: 1 });
    const slow = tasks.run(task('() => { const end = Date.now() + 300; while (Date.now() < end) {} return "slow"; }'));
    const waiting = task('() => "never"');
    const queued = tasks.run(waiting);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tasks.kill(waiting.taskId, 'not needed')).toBe(true);
    expect(await queued).toMatchObject({ state: 'killed', reason: 'not needed', outputTail: '' });
    expect(value(await slow)).toBe('slow');
    expect(value(await tasks.run(task('() => "same worker"')))).toBe('same worker');
  });

  it("never deals a task to a worker being terminated, nor takes a killed task's late result (repeated near-race)", async () => {
    const tasks = runner({ slots: 1 });
    expect(value(await tasks.run(task('() => "warm"')))).toBe('warm');
    // Each round kills a task at about the moment it finishes, so its worker's "done" often
    // crosses the kill; the tasks queued behind it must then run on a new worker, not fail on
    // the dying one ("exited with code 1").
    for (let round = 0; round < 12; round += 1) {
      const deadline = Date.now() + 40 + (round % 4);
      const target = task('(end) => { while (Date.now() < end) {} return "target"; }', deadline);
      const outcome = tasks.run(target);
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Queued here, behind the target: they go to the first worker that comes back idle.
      const after = [1, 2, 3].map((n) => tasks.run(task('(n) => n', n)));
      // Odd rounds kill after the task finished but before this thread read its "done" (it is
      // blocked spinning): deterministic. Even rounds kill at about the moment it finishes.
      const killAt = deadline + (round % 2 === 1 ? 30 : 0);
      while (Date.now() < killAt) {
        // Spin (this thread blocked) to the moment of the kill.
      }
      tasks.kill(target.taskId, 'race');
      const settled = await outcome;
      expect(['killed', 'finished']).toContain(settled.state);
      if (settled.state === 'finished') expect(value(settled)).toBe('target');
      else expect(settled).toMatchObject({ reason: 'race' });
      expect((await Promise.all(after)).map(value)).toEqual([1, 2, 3]);
    }
  });

  it('never runs a task killed while waiting in a worker, however close two such kills (repeated)', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'task-runner-kills-'));
    try {
      const tasks = runner({ slots: 1 });
      expect(value(await tasks.run(task('() => "warm"')))).toBe('warm');
      const fs = 'process.getBuiltinModule("node:fs")';
      // Which worker ran a task: a kill that lands on a running task replaces the worker.
      const workerId = '(globalThis.workerId ??= Math.random())';
      let checked = 0;
      for (let round = 0; round < 8; round += 1) {
        // One chunk: the first task says it started and runs on briefly (under the worker's 2 ms
        // between looks at its messages); the next two leave a file if they ever run, and are
        // both killed while the first runs.
        const first = task(
          `(dir) => { ${fs}.appendFileSync(dir + '/started-${round}', 'x'); const end = performance.now() + 1; while (performance.now() < end) {} return ${workerId}; }`,
          directory,
        );
        const marked = ['b', 'c'].map((name) =>
          task(`(dir) => { ${fs}.writeFileSync(dir + '/${name}-${round}', ''); return '${name}'; }`, directory),
        );
        const last = task(`() => ${workerId}`);
        const outcomes = [first, ...marked, last].map((spec) => tasks.run(spec));
        const until = Date.now() + 10_000;
        while (!existsSync(join(directory, `started-${round}`)) && Date.now() < until) {
          // Spin (this thread blocked, microtasks only) until the first task runs.
          await Promise.resolve();
        }
        for (const spec of marked) tasks.kill(spec.taskId, 'not needed');
        const [firstOutcome, b, c, lastOutcome] = (await Promise.all(outcomes)) as [
          TaskOutcome,
          TaskOutcome,
          TaskOutcome,
          TaskOutcome,
        ];
        // A kill that came too late for a waiting task found it running (its worker was then
        // replaced: the last task ran elsewhere, the first one maybe again) or finished (its
        // result stands); otherwise it never ran.
        const replaced =
          value(firstOutcome) !== value(lastOutcome) ||
          readFileSync(join(directory, `started-${round}`), 'utf8') !== 'x';
        if (replaced) continue;
        for (const [outcome, name] of [
          [b, 'b'],
          [c, 'c'],
        ] as const) {
          if (outcome.state !== 'killed') expect(value(outcome)).toBe(name);
          else {
            expect(outcome).toMatchObject({ reason: 'not needed', outputTail: '' });
            expect(existsSync(join(directory, `${name}-${round}`))).toBe(false);
            checked += 1;
          }
        }
      }
      // Most rounds land both kills on waiting tasks (the point of the test).
      expect(checked).toBeGreaterThan(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('asks a running task to stop through context.signal when killed with a grace period', async () => {
    const out = sink();
    const tasks = createTaskRunner({ slots: 1, stdout: out.stream, stderr: sink().stream });
    runners.push(tasks);
    // Each task says when it runs, so the kill reaches it running, not waiting.
    const started = (spec: TaskSpec) =>
      vi.waitFor(() => expect(out.text()).toContain(`[task ${spec.taskId}] started`), { timeout: 15_000 });
    const polite = task(
      '(input, captured, context) => new Promise((resolve, reject) => { console.log("started"); context.signal.addEventListener("abort", () => reject(new Error("stopping: " + context.signal.reason))); })',
    );
    const outcome = tasks.run(polite);
    await started(polite);
    expect(tasks.kill(polite.taskId, 'stage cancelled', { graceMs: 60_000 })).toBe(true);
    expect(await outcome).toMatchObject({ state: 'killed', reason: 'stage cancelled' });

    const wrapsUp = task(
      '(input, captured, context) => new Promise((resolve) => { console.log("started"); context.signal.addEventListener("abort", () => resolve("partial")); })',
    );
    const finished = tasks.run(wrapsUp);
    await started(wrapsUp);
    tasks.kill(wrapsUp.taskId, 'shutdown', { graceMs: 60_000 });
    expect(value(await finished)).toBe('partial');

    const stubborn = task('() => { console.log("started"); for (;;) {} }');
    const stopped = tasks.run(stubborn);
    await started(stubborn);
    tasks.kill(stubborn.taskId, 'KILL', { graceMs: 200 });
    expect(await stopped).toMatchObject({ state: 'killed', reason: 'KILL' });
    expect(value(await tasks.run(task('(x, c, context) => context.signal.aborted')))).toBe(false);
  });

  it('kills queued and running tasks on close and refuses new ones', async () => {
    const tasks = runner({ slots: 1 });
    const running = tasks.run(task('() => { for (;;) {} }'));
    const queued = tasks.run(task('() => 1'));
    expect(tasks.pending).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await tasks.close();
    expect(await running).toMatchObject({ state: 'killed', reason: 'task runner closed' });
    expect(await queued).toMatchObject({ state: 'killed', reason: 'task runner closed' });
    expect(await tasks.run(task('() => 1'))).toMatchObject({ state: 'killed', reason: 'task runner closed' });
  });

  it('refuses bad options with a clear error', () => {
    expect(() => createTaskRunner({ slots: 0 })).toThrow(/slots must be an integer ≥ 1, got 0/);
    expect(() => createTaskRunner({ slots: 1, heapLimitMiB: 2 })).toThrow(/heapLimitMiB must be ≥ 16/);
  });
});

describe('module tasks', () => {
  let app: string;
  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), 'task-runner-app-'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', type: 'module', exports: './main.js' }));
    writeFileSync(join(app, 'main.js'), 'export const fromSelf = (input) => "self:" + input;\n');
    mkdirSync(join(app, 'lib'));
    writeFileSync(
      join(app, 'lib', 'tasks.js'),
      "import { shout } from 'shouty';\nexport function upper(input, captured) { return shout(input) + captured; }\nexport default (input) => input.length;\nexport const notAFunction = 1;\n",
    );
    const dependency = join(app, 'node_modules', 'shouty');
    mkdirSync(join(dependency, 'dist'), { recursive: true });
    writeFileSync(
      join(dependency, 'package.json'),
      JSON.stringify({ name: 'shouty', type: 'module', exports: { '.': { import: './dist/index.js' } } }),
    );
    writeFileSync(join(dependency, 'dist', 'index.js'), 'export const shout = (text) => text.toUpperCase();\n');
  });
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it('resolves a module of the application, its dependencies, and packages by name', async () => {
    const tasks = runner({ slots: 1, appDirectory: app });
    expect(
      value(await tasks.run(task({ kind: 'module', module: './lib/tasks.js', export: 'upper' }, 'abc', '!'))),
    ).toBe('ABC!');
    expect(value(await tasks.run(task({ kind: 'module', module: './lib/tasks.js', export: 'default' }, 'abcd')))).toBe(
      4,
    );
    expect(value(await tasks.run(task({ kind: 'module', module: 'shouty', export: 'shout' }, 'x')))).toBe('X');
    expect(value(await tasks.run(task({ kind: 'module', module: 'my-app', export: 'fromSelf' }, 'y')))).toBe('self:y');
  });

  it('fails an unknown module or export with the name and what exists', async () => {
    const tasks = runner({ slots: 1, appDirectory: app });
    expect(await tasks.run(task({ kind: 'module', module: './lib/missing.js', export: 'x' }))).toMatchObject({
      state: 'failed',
      error: { code: 'SM_ERR_TASK_MODULE_NOT_FOUND', message: expect.stringContaining('./lib/missing.js') },
    });
    expect(await tasks.run(task({ kind: 'module', module: 'left-pad', export: 'x' }))).toMatchObject({
      state: 'failed',
      error: { code: 'SM_ERR_TASK_MODULE_NOT_FOUND' },
    });
    expect(await tasks.run(task({ kind: 'module', module: './lib/tasks.js', export: 'notAFunction' }))).toMatchObject({
      state: 'failed',
      error: { code: 'SM_ERR_TASK_EXPORT_NOT_FOUND', message: expect.stringContaining('exports: ') },
    });
  });

  it('fails module tasks without an application directory', async () => {
    const tasks = runner({ slots: 1 });
    expect(await tasks.run(task({ kind: 'module', module: './lib/tasks.js', export: 'upper' }))).toMatchObject({
      state: 'failed',
      error: { code: 'SM_ERR_TASK_MODULE_NOT_FOUND', message: expect.stringContaining('no application directory') },
    });
  });
});
