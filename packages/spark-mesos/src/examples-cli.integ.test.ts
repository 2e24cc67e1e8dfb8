import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

// `node pi.mjs` imports the built packages, as a user's program would.
function requireBuild(): void {
  if (!existsSync(built)) throw new Error(`spark-mesos is not built (${built} is missing): run pnpm build first`);
}

it('node examples/pi/pi.mjs prints an estimate of π on local[2]', async () => {
  requireBuild();
  const { stdout } = await run(process.execPath, ['pi.mjs', '2'], {
    cwd: `${examples}pi`,
    env: { ...process.env, MASTER: 'local[2]' },
  });
  const match = /^Pi is roughly (\d\.\d+)$/m.exec(stdout);
  expect(match).not.toBeNull();
  expect(Math.abs(Number(match![1]) - Math.PI)).toBeLessThan(0.1);
});

it('node examples/word-count/word-count.mjs prints the most frequent words on local[2]', async () => {
  requireBuild();
  const { stdout } = await run(process.execPath, ['word-count.mjs'], {
    cwd: `${examples}word-count`,
    env: { ...process.env, MASTER: 'local[2]' },
  });
  expect(stdout).toMatch(/^\d+ words, \d+ distinct; the 10 most frequent:$/m);
  expect(stdout).toMatch(/^\s+\d+ {2}the$/m);
});

it('a plain node program that never stops its local[2] context still exits when it is done', async () => {
  requireBuild();
  // The context's idle worker threads must not hold the process: their output reaches the
  // driver as messages, not through worker streams a reader would keep alive.
  const program = [
    "import { SparkConf, SparkContext } from 'spark-mesos';",
    "const sc = await SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('no-stop'));",
    "console.log('count', await sc.parallelize([1, 2, 3]).map((x) => { console.log('item', x); return x; }).count());",
  ].join('\n');
  const file = `${examples}pi/.no-stop-${process.pid}.mjs`;
  writeFileSync(file, program);
  try {
    const { stdout } = await run(process.execPath, [file], { cwd: `${examples}pi`, timeout: 30_000 });
    expect(stdout).toMatch(/^count 3$/m);
    expect(stdout).toMatch(/^\[task \d+\] item 2$/m);
  } finally {
    rmSync(file, { force: true });
  }
}, 40_000);
