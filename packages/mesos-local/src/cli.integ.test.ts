// The `mesos-local` command as a user runs it: the built `dist/cli.js` in a process of its own.
// `npm test` builds before testing; run `pnpm build` first when running this file alone.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Run {
  readonly child: ChildProcess;
  readonly firstLine: Promise<string>;
  readonly exit: Promise<{ code: number | null; stderr: string }>;
}

function run(args: string[]): Run {
  expect(existsSync(CLI), `${CLI} is missing: build mesos-local first (pnpm build)`).toBe(true);
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(stdout.slice(0, end));
    });
    child.once('exit', () => reject(new Error(`mesos-local exited before printing a line: ${stderr}`)));
  });
  firstLine.catch(() => {});
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.once('exit', (code) => resolve({ code, stderr }));
  });
  return { child, firstLine, exit };
}

describe('the mesos-local command', () => {
  it('prints the master URL, serves the cluster it was asked for, and stops everything on SIGTERM', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'mesos-local-cli-'));
    try {
      const cli = run([
        '--port',
        '0',
        '--agents',
        '2',
        '--resources',
        'cpus:2;mem:1024',
        '--attributes',
        'rack:r1',
        '--work-dir',
        workDir,
        '--allocation-interval-ms',
        '50',
      ]);
      const masterUrl = await cli.firstLine;
      expect(masterUrl).toMatch(/^mesos:\/\/127\.0\.0\.1:\d+$/);
      const state = (await (await fetch(`${masterUrl.replace('mesos:', 'http:')}/master/state`)).json()) as {
        slaves: Array<{ resources: { cpus: number; mem: number }; attributes: Record<string, string> }>;
        flags: Record<string, string>;
      };
      expect(state.slaves).toHaveLength(2);
      expect(state.slaves[0]?.resources).toMatchObject({ cpus: 2, mem: 1024 });
      expect(state.slaves[0]?.attributes).toEqual({ rack: 'r1' });
      expect(existsSync(join(workDir, 'agents'))).toBe(true);

      cli.child.kill('SIGTERM');
      const { code, stderr } = await cli.exit;
      expect(code, stderr).toBe(0);
      expect(stderr).toContain('2 agent(s)');
      await expect(fetch(`${masterUrl.replace('mesos:', 'http:')}/health`)).rejects.toThrow();
      // A work directory the user named is kept: the sandboxes are theirs to read.
      expect(existsSync(workDir)).toBe(true);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('refuses bad options before starting anything, naming the option, the value and an example', async () => {
    const cli = run(['--port', 'http', '--agents', 'two']);
    const { code, stderr } = await cli.exit;
    expect(code).toBe(2);
    expect(stderr).toContain("--port must be a whole number from 0 to 65535, got 'http' (e.g. --port 5050)");
    expect(stderr).toContain("--agents must be a whole number from 0 to 100000, got 'two'");
  });

  it('prints its usage with --help', async () => {
    const cli = run(['--help']);
    const line = await cli.firstLine;
    expect(line).toBe('Usage: mesos-local [options]');
    expect((await cli.exit).code).toBe(0);
  });
});
