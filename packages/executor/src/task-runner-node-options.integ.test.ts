import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, it } from 'vitest';

// Worker threads inherit the Node options of the process that starts them: these run the built
// runner in a `node` of its own, started with options a user's driver may have.
const run = promisify(execFile);
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

function requireBuild(): void {
  if (!existsSync(built)) throw new Error(`@spark-mesos/executor is not built (${built} is missing): run pnpm build`);
}

// Runs two tasks and prints each outcome as JSON; the process must end by itself.
const program = [
  `import { createTaskRunner } from ${JSON.stringify(built)};`,
  "import { serialize, deserialize } from 'node:v8';",
  'const runner = createTaskRunner({ slots: 1 });',
  'const spec = (taskId) => ({ taskId, stageId: 0, partition: 0, attempt: 0,',
  "  function: { kind: 'source', source: '(input) => input * 2' }, captured: serialize(undefined), input: serialize(21) });",
  "for (const taskId of ['a', 'b']) {",
  '  const outcome = await runner.run(spec(taskId));',
  "  console.log(JSON.stringify(outcome.state === 'finished' ? { state: outcome.state, value: deserialize(outcome.result) } : outcome));",
  '}',
  'await runner.close();',
].join('\n');

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'runner-options-'));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

it('runs tasks in a driver started as `node --input-type=module -e` (the workers inherit the option)', async () => {
  requireBuild();
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', program], {
    cwd: directory,
    timeout: 20_000,
  });
  const outcomes = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(outcomes).toEqual([
    { state: 'finished', value: 42 },
    { state: 'finished', value: 42 },
  ]);
});

it('runs tasks in a driver started with per-process and V8 options (the workers inherit what they may)', async () => {
  requireBuild();
  // Passing these to a Worker explicitly would throw ERR_WORKER_INVALID_EXEC_ARGV.
  const file = join(directory, 'driver.mjs');
  writeFileSync(file, program);
  const { stdout } = await run(
    process.execPath,
    ['--max-old-space-size=256', '--stack-trace-limit=50', '--title=spark-driver', file],
    { cwd: directory, timeout: 20_000 },
  );
  expect(
    stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line)),
  ).toEqual([
    { state: 'finished', value: 42 },
    { state: 'finished', value: 42 },
  ]);
});

it('fails the tasks with the reason when worker threads cannot start, instead of restarting them forever', async () => {
  requireBuild();
  // A preload (inherited by every worker) that refuses to run in a worker thread.
  const preload = join(directory, 'no-workers.cjs');
  writeFileSync(
    preload,
    "if (!require('node:worker_threads').isMainThread) throw new Error('workers are not allowed here');\n",
  );
  const file = join(directory, 'driver.mjs');
  writeFileSync(file, program);
  const { stdout } = await run(process.execPath, ['--require', preload, file], { cwd: directory, timeout: 20_000 });
  const outcomes = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(outcomes).toHaveLength(2);
  for (const outcome of outcomes) {
    expect(outcome.state).toBe('failed');
    expect(outcome.error.code).toBe('SM_ERR_TASK_WORKER_DIED');
    expect(outcome.error.message).toContain('exit before running any task (3 in a row)');
    expect(outcome.error.message).toContain('workers are not allowed here');
  }
});
