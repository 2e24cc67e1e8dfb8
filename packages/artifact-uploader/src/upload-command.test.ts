import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createPackFixture } from './testing/package-fixtures.js';
import { runUploadCommand, UPLOAD_EXIT_CODES } from './upload-command.js';

const cleanup: string[] = [];
afterEach(async () => {
  for (const directory of cleanup.splice(0)) await rm(directory, { recursive: true, force: true });
});

async function run(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runUploadCommand(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { isTTY: false, write: (text: string) => (stderr += text) },
    env: (name) => env[name],
    uploadOptions: { sleep: async () => {} },
  });
  return { code, stdout, stderr };
}

describe('spark-mesos-upload', () => {
  it('prints help and rejects bad usage with exit code 2', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: spark-mesos-upload');
    expect(help.stdout).toContain('Exit codes');
    for (const args of [
      [],
      ['--retries', 'x', 'file:///tmp/x/'],
      ['--nope'],
      ['a/', 'b/'],
      ['--user', 'me', 'http://h/x/'],
    ]) {
      const result = await run(args);
      expect(result.code, args.join(' ')).toBe(UPLOAD_EXIT_CODES.usage);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^spark-mesos-upload: .*--help for usage\.\n$/);
    }
  });

  it('packs and uploads, printing only the URI on stdout; a second run uploads nothing', async () => {
    const fixture = await createPackFixture();
    cleanup.push(fixture.directory);
    const destination = await mkdtemp(join(tmpdir(), 'spark-mesos-cli-'));
    cleanup.push(destination);
    const args = [
      '--runtime',
      fixture.runtimeDirectory,
      '--app',
      fixture.appDirectory,
      '--output',
      join(fixture.directory, 'out'),
      `${pathToFileURL(destination).toString()}/`,
    ];
    const first = await run(args);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^file:\/\/.*\/spark-mesos-executor-[0-9a-f]{16}\.tgz\n$/);
    expect(first.stderr).toContain('uploading');
    const second = await run(args);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toContain('already there');
    const quiet = await run(['--quiet', ...args]);
    expect(quiet.stderr).toBe('');

    const packOnly = await run([
      '--pack-only',
      '--runtime',
      fixture.runtimeDirectory,
      '--output',
      join(fixture.directory, 'p'),
    ]);
    expect(packOnly.code).toBe(0);
    expect(existsSync(packOnly.stdout.trim())).toBe(true);
  });

  it('exits 3 when a finished package is not fetchable, without printing credentials', async () => {
    const fixture = await createPackFixture();
    cleanup.push(fixture.directory);
    const result = await run([
      '--runtime',
      fixture.runtimeDirectory,
      '--retries',
      '0',
      'http://me:hunter2@127.0.0.1:9/spark/spark-mesos-executor-0000000000000000.tgz',
    ]);
    expect(result.code).toBe(UPLOAD_EXIT_CODES.unreachable);
    expect(result.stderr).toContain('http://me:****@127.0.0.1:9/spark/spark-mesos-executor-0000000000000000.tgz');
    expect(result.stderr).not.toContain('hunter2');
  });
});
