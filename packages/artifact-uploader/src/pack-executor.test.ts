import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { packExecutor } from './pack-executor.js';
import { layOutProductionDependencies } from './production-dependencies.js';
import { createPackFixture } from './testing/package-fixtures.js';

const cleanup: string[] = [];
afterEach(async () => {
  for (const directory of cleanup.splice(0)) await rm(directory, { recursive: true, force: true });
});

async function temporary(prefix: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  cleanup.push(directory);
  return directory;
}

describe('packExecutor', () => {
  it('packs runtime, app and production dependencies into one content-addressed directory', async () => {
    const fixture = await createPackFixture();
    cleanup.push(fixture.directory);
    const output = await temporary('spark-mesos-out-');
    const packed = await packExecutor({
      runtimeDirectory: fixture.runtimeDirectory,
      application: { directory: fixture.appDirectory },
      outputDirectory: output,
    });
    const bytes = readFileSync(packed.file);
    expect(packed.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(packed.name).toBe(`spark-mesos-executor-${packed.sha256.slice(0, 16)}.tgz`);
    expect(packed.file).toBe(join(output, packed.name));
    expect(packed.size).toBe(bytes.length);
    // Fixed gzip header: no timestamp, Unix.
    expect([...bytes.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

    const listing = execFileSync('tar', ['-tvzf', packed.file, '--numeric-owner'], { encoding: 'utf8' });
    const lines = listing.trim().split('\n');
    const names = lines.map((line) => line.split(/\s+/).slice(5).join(' '));
    expect(names.every((name) => name.startsWith('spark-mesos-executor/'))).toBe(true);
    expect([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))).toEqual(names);
    expect(names).toContain('spark-mesos-executor/bin/spark-mesos-executor');
    expect(names).toContain('spark-mesos-executor/lib/runtime.js');
    expect(names).toContain('spark-mesos-executor/app/node_modules/a/index.js');
    expect(names).toContain('spark-mesos-executor/app/node_modules/b/node_modules/a/index.js');
    expect(names).toContain(`spark-mesos-executor/app/lib/${'deep-name-'.repeat(12)}.js`);
    expect(names.some((name) => name.includes('dev-only') || name.includes('.pnpm') || name.includes('.env'))).toBe(
      false,
    );
    for (const line of lines) {
      expect(line).toMatch(/^[-d]rw[-x]r-[-x]r-[-x] 0\/0 +\d+ /);
      expect(line).toContain('2000-01-01');
    }
    expect(lines.find((line) => line.endsWith('bin/spark-mesos-executor'))).toMatch(/^-rwxr-xr-x/);
    expect(lines.find((line) => line.endsWith('lib/runtime.js'))).toMatch(/^-rw-r--r--/);

    const extracted = await temporary('spark-mesos-extract-');
    execFileSync('tar', ['-xzf', packed.file, '-C', extracted]);
    const top = join(extracted, 'spark-mesos-executor');
    expect(JSON.parse(readFileSync(join(top, 'manifest.json'), 'utf8'))).toEqual({
      app: { entry: 'index.js', name: 'fixture-app' },
      format: 1,
      node: null,
      runtimeVersion: '9.8.7',
    });
    expect(readFileSync(join(top, 'manifest.json'), 'utf8').indexOf('"app"')).toBeLessThan(
      readFileSync(join(top, 'manifest.json'), 'utf8').indexOf('"format"'),
    );
    // Node resolves the copied tree to the same versions as on the driver: a@1 at the top, b's a@2 nested.
    const printed = execFileSync(process.execPath, [join(top, 'app', 'index.js')], { encoding: 'utf8' });
    expect(JSON.parse(printed)).toEqual({ a: '1.0.0', bSeesA: '2.0.0' });
    expect(statSync(join(top, 'bin', 'spark-mesos-executor')).mode & 0o777).toBe(0o755);
  });

  it('gives the same bytes for the same inputs in other places, with other mtimes and creation order', async () => {
    const first = await createPackFixture({ mtimeSeconds: 1_000_000 });
    const second = await createPackFixture({ reverse: true, mtimeSeconds: 1_700_000_000 });
    cleanup.push(first.directory, second.directory);
    const one = await packExecutor({
      runtimeDirectory: first.runtimeDirectory,
      application: { directory: first.appDirectory },
      outputDirectory: await temporary('spark-mesos-out-'),
    });
    const two = await packExecutor({
      runtimeDirectory: second.runtimeDirectory,
      application: { directory: second.appDirectory },
      outputDirectory: await temporary('spark-mesos-out-'),
    });
    expect(two.sha256).toBe(one.sha256);
    expect(readFileSync(two.file).equals(readFileSync(one.file))).toBe(true);
    // A changed byte changes the name.
    await writeFile(join(second.appDirectory, 'index.js'), 'console.log(2);\n');
    const three = await packExecutor({
      runtimeDirectory: second.runtimeDirectory,
      application: { directory: second.appDirectory },
      outputDirectory: await temporary('spark-mesos-out-'),
    });
    expect(three.name).not.toBe(one.name);
  });

  it('bundles the Node binary when asked and records its version', async () => {
    const fixture = await createPackFixture();
    cleanup.push(fixture.directory);
    // A stand-in binary keeps the test small; the packer treats it like process.execPath.
    const fakeNode = join(fixture.directory, 'node');
    await writeFile(fakeNode, '#!/bin/sh\necho v20\n', { mode: 0o755 });
    const packed = await packExecutor({
      runtimeDirectory: fixture.runtimeDirectory,
      bundleNode: true,
      nodeBinary: fakeNode,
      nodeVersion: 'v20.0.0-test',
      outputDirectory: await temporary('spark-mesos-out-'),
    });
    const listing = execFileSync('tar', ['-tvzf', packed.file], { encoding: 'utf8' });
    expect(listing).toMatch(/-rwxr-xr-x .* spark-mesos-executor\/node\/bin\/node\n/);
    expect(listing).not.toContain('/app/');
    const extracted = await temporary('spark-mesos-extract-');
    execFileSync('tar', ['-xzf', packed.file, '-C', extracted]);
    expect(JSON.parse(readFileSync(join(extracted, 'spark-mesos-executor', 'manifest.json'), 'utf8'))).toEqual({
      app: null,
      format: 1,
      node: 'v20.0.0-test',
      runtimeVersion: '9.8.7',
    });
  });

  it('writes PAX headers that tar reads for names longer than 100 bytes and non-ASCII names', async () => {
    const fixture = await createPackFixture();
    cleanup.push(fixture.directory);
    const longName = `${'x'.repeat(150)}-é.txt`;
    await mkdir(join(fixture.runtimeDirectory, 'lib'), { recursive: true });
    await writeFile(join(fixture.runtimeDirectory, 'lib', longName), 'long\n');
    const packed = await packExecutor({
      runtimeDirectory: fixture.runtimeDirectory,
      outputDirectory: await temporary('spark-mesos-out-'),
    });
    const raw = gunzipSync(readFileSync(packed.file));
    expect(raw.length % 512).toBe(0);
    const extracted = await temporary('spark-mesos-extract-');
    execFileSync('tar', ['-xzf', packed.file, '-C', extracted]);
    expect(readFileSync(join(extracted, 'spark-mesos-executor', 'lib', longName), 'utf8')).toBe('long\n');
  });

  it('explains a runtime directory without the executor and a missing dependency', async () => {
    const fixture = await createPackFixture();
    cleanup.push(fixture.directory);
    const empty = await temporary('spark-mesos-runtime-');
    await expect(packExecutor({ runtimeDirectory: empty })).rejects.toMatchObject({
      code: 'SM_ERR_BAD_CONFIG',
      message: expect.stringContaining('bin/spark-mesos-executor'),
    });
    await rm(join(fixture.appDirectory, 'node_modules', 'b'));
    await expect(
      packExecutor({ runtimeDirectory: fixture.runtimeDirectory, application: { directory: fixture.appDirectory } }),
    ).rejects.toMatchObject({ code: 'SM_ERR_BAD_CONFIG', message: expect.stringContaining('"b"') });
    await expect(
      packExecutor({
        runtimeDirectory: fixture.runtimeDirectory,
        application: { directory: fixture.appDirectory, entry: 'missing.js' },
      }),
    ).rejects.toMatchObject({ code: 'SM_ERR_BAD_CONFIG', message: expect.stringContaining('missing.js') });
  });
});

describe('layOutProductionDependencies', () => {
  async function npmPackage(root: string, path: string, name: string, version: string, dependencies = {}) {
    await mkdir(join(root, path), { recursive: true });
    await writeFile(join(root, path, 'package.json'), JSON.stringify({ name, version, dependencies }));
  }

  it('hoists shared versions, nests conflicts, and never shadows what a module below resolves', async () => {
    // npm-style: app -> x, y; x -> z@1 (found at the top); y -> w; w -> z@2 (nested in y).
    const root = await temporary('spark-mesos-tree-');
    await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'app', dependencies: { x: '1', y: '1' } }));
    await npmPackage(root, 'node_modules/x', 'x', '1.0.0', { z: '1' });
    await npmPackage(root, 'node_modules/y', 'y', '1.0.0', { w: '1' });
    await npmPackage(root, 'node_modules/z', 'z', '1.0.0');
    await npmPackage(root, 'node_modules/y/node_modules/w', 'w', '1.0.0', { z: '2', x: '1' });
    await npmPackage(root, 'node_modules/y/node_modules/z', 'z', '2.0.0');
    const placed = layOutProductionDependencies(root).map((entry) => `${entry.path}@${entry.version}`);
    expect(placed).toEqual([
      'node_modules/w@1.0.0',
      'node_modules/w/node_modules/z@2.0.0',
      'node_modules/x@1.0.0',
      'node_modules/y@1.0.0',
      'node_modules/z@1.0.0',
    ]);
    expect(existsSync(root)).toBe(true);
  });

  it('places scoped packages and follows optional and peer dependencies only when installed', async () => {
    const root = await temporary('spark-mesos-tree-');
    await writeFile(
      join(root, 'package.json'),
      JSON.stringify({
        name: 'app',
        dependencies: { '@scope/p': '1' },
        optionalDependencies: { missing: '1' },
        devDependencies: { dev: '1' },
      }),
    );
    await mkdir(join(root, 'node_modules', '@scope', 'p'), { recursive: true });
    await writeFile(
      join(root, 'node_modules', '@scope', 'p', 'package.json'),
      JSON.stringify({ name: '@scope/p', version: '1.0.0', peerDependencies: { peer: '1', absent: '1' } }),
    );
    await npmPackage(root, 'node_modules/peer', 'peer', '1.0.0');
    await npmPackage(root, 'node_modules/dev', 'dev', '1.0.0');
    const placed = layOutProductionDependencies(root).map((entry) => `${entry.path}@${entry.version}`);
    expect(placed).toEqual(['node_modules/@scope/p@1.0.0', 'node_modules/peer@1.0.0']);
  });
});
