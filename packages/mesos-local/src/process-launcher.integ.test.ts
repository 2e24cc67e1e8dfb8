// The launcher process that starts containers' processes off the agent's event loop.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSparkMesosError } from '@spark-mesos/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { LAUNCHER_SOURCE, leaseProcessLauncher, type ProcessLauncherLease } from './process-launcher.js';

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

  it.skipIf(process.platform !== 'linux')('kills the process groups it started when its parent goes away', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesos-local-launcher-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // The launcher's program with this test as its parent, which then disconnects as a dying
    // process would.
    const launcher = spawn(process.execPath, ['-e', LAUNCHER_SOURCE], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise((resolve) => launcher.once('exit', resolve));
    const spawned = new Promise<{ pid: number }>((resolve) => launcher.once('message', resolve));
    launcher.send({ id: 1, ...request(dir, 'sleep 60 & wait') });
    const { pid } = await spawned;
    expect(pid).toBeGreaterThan(0);
    // A live (not zombie) process in its group: orphans killed here may stay zombies when this
    // container's init does not reap them.
    const alive = (): boolean =>
      readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .some((name) => {
          try {
            const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
            const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            return fields[0] !== 'Z' && Number(fields[2]) === pid;
          } catch {
            return false;
          }
        });
    expect(alive()).toBe(true);
    launcher.disconnect();
    await exited;
    for (let i = 0; i < 100 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(alive()).toBe(false);
  });
});
