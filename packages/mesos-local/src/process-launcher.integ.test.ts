// The launcher process that starts containers' processes off the agent's event loop.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSparkMesosError } from '@spark-mesos/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { leaseProcessLauncher, type ProcessLauncherLease } from './process-launcher.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function setUp(): { lease: ProcessLauncherLease; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mesos-local-launcher-'));
  const lease = leaseProcessLauncher();
  cleanups.push(() => {
    lease.release();
    rmSync(dir, { recursive: true, force: true });
  });
  return { lease, dir };
}

const request = (dir: string, command: string) => ({
  file: '/bin/sh',
  args: ['-c', command],
  cwd: dir,
  env: { ...process.env, GREETING: 'hello' },
  stdout: join(dir, 'stdout'),
  stderr: join(dir, 'stderr'),
});

describe('leaseProcessLauncher', () => {
  it('starts a process in its own group, in its directory, appending to its stdout and stderr files', async () => {
    const { lease, dir } = setUp();
    const launched = await lease.launch(request(dir, 'echo "$GREETING $(pwd)"; echo oops >&2; exit 3'));
    expect(launched.pid).toBeGreaterThan(0);
    expect(await launched.exited).toEqual({ code: 3, signal: null });
    const again = await lease.launch(request(dir, 'echo again'));
    await again.exited;
    expect(readFileSync(join(dir, 'stdout'), 'utf8')).toBe(`hello ${dir}\nagain\n`);
    expect(readFileSync(join(dir, 'stderr'), 'utf8')).toBe('oops\n');
  });

  it.skipIf(process.platform !== 'linux')('leads a process group that kill(-pid) signals as a whole', async () => {
    const { lease, dir } = setUp();
    const launched = await lease.launch(request(dir, 'sleep 60 & wait'));
    // Its process group id (the 3rd field after the command name) is its pid.
    const stat = readFileSync(`/proc/${launched.pid}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])).toBe(launched.pid);
    process.kill(-launched.pid, 'SIGTERM');
    expect(await launched.exited).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('creates its directory first when asked to', async () => {
    const { lease, dir } = setUp();
    const sandbox = join(dir, 'executors', 'e1', 'runs', 'c1');
    const launched = await lease.launch({
      ...request(sandbox, 'pwd'),
      createDirectory: true,
    });
    expect(await launched.exited).toEqual({ code: 0, signal: null });
    expect(readFileSync(join(sandbox, 'stdout'), 'utf8')).toBe(`${sandbox}\n`);
  });

  it('reports a program that cannot be executed as exit status 127, without a pid', async () => {
    const { lease, dir } = setUp();
    const launched = await lease.launch({ ...request(dir, ''), file: join(dir, 'no-such-program'), args: [] });
    expect(launched.pid).toBe(-1);
    expect(await launched.exited).toEqual({ code: 127, signal: null });
  });

  it('fails a launch whose stdout cannot be opened, and refuses launches once released', async () => {
    const { lease, dir } = setUp();
    await expect(lease.launch({ ...request(dir, 'true'), stdout: join(dir, 'missing', 'stdout') })).rejects.toThrow(
      /ENOENT/,
    );
    lease.release();
    const refused = await lease.launch(request(dir, 'true')).catch((error: unknown) => error);
    expect(isSparkMesosError(refused, 'SM_ERR_TASK_LAUNCH')).toBe(true);
  });
});
