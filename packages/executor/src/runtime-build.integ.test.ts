// The runtime directory must run with Node alone, from anywhere: copied out of the repository
// (no node_modules above it), under a package.json of either module type.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory } from './executor.test-support.js';
import { buildExecutorRuntime } from './runtime-build.js';

let directory: string;
beforeAll(async () => {
  directory = temporaryDirectory('spark-mesos-runtime-');
  await buildExecutorRuntime({
    packageDirectory: fileURLToPath(new URL('..', import.meta.url)),
    outDirectory: join(directory, 'runtime'),
  });
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('the executor runtime directory', () => {
  it('has an executable launcher, one bundled module and the runtime version', () => {
    expect(statSync(join(directory, 'runtime', 'bin', 'spark-mesos-executor')).mode & 0o111).not.toBe(0);
    expect(statSync(join(directory, 'runtime', 'lib', 'spark-mesos-executor.mjs')).size).toBeGreaterThan(10_000);
    const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(JSON.parse(readFileSync(join(directory, 'runtime', 'package.json'), 'utf8'))).toEqual({
      name: '@spark-mesos/executor-runtime',
      version: own.version,
      private: true,
    });
  });

  it.each(['module', 'commonjs'])('runs under a package.json of type %s with no node_modules around', (type) => {
    const home = join(directory, type, 'sandbox');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(directory, type, 'package.json'), JSON.stringify({ type }));
    spawnSync('cp', ['-r', join(directory, 'runtime'), join(home, 'spark-mesos-executor')]);
    const run = spawnSync(process.execPath, ['bin/spark-mesos-executor', '--mode', 'coarse', '--executor-id', 'e1'], {
      cwd: join(home, 'spark-mesos-executor'),
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/ERROR \[executor starting\] --driver host:port is required in coarse mode/);
    const noSecret = spawnSync(
      process.execPath,
      ['bin/spark-mesos-executor', '--mode', 'coarse', '--driver', '127.0.0.1:9', '--executor-id', 'e1'],
      { cwd: join(home, 'spark-mesos-executor'), env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' },
    );
    expect(noSecret.status, noSecret.stderr).toBe(2);
    expect(noSecret.stderr).toContain('SPARK_MESOS_APP_SECRET is not set');
  });
});
