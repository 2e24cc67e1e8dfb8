import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
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
