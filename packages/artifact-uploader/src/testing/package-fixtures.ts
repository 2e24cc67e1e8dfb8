import { chmod, mkdir, mkdtemp, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

/** A runtime directory and an application laid out on disk for packing tests. */
export interface PackFixture {
  /** Temporary directory holding everything (remove it when done). */
  readonly directory: string;
  /** A runtime directory with `bin/spark-mesos-executor` and `lib/`. */
  readonly runtimeDirectory: string;
  /** An application with pnpm-style node_modules. */
  readonly appDirectory: string;
}

async function write(file: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
  await chmod(file, mode);
}

async function link(target: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await symlink(relative(dirname(path), target), path);
}

/** Writes a package with a package.json and an index.js that reports its version. */
async function writePackage(
  directory: string,
  name: string,
  version: string,
  dependencies: Record<string, string>,
  body: string,
): Promise<void> {
  await write(
    join(directory, 'package.json'),
    `${JSON.stringify({ name, version, main: 'index.js', dependencies })}\n`,
  );
  await write(join(directory, 'index.js'), body);
}

/**
 * Makes a runtime directory and an application installed the way pnpm installs it: `a@1` and
 * `b` as production dependencies, `b` needing `a@2` (a version conflict), `c` an optional
 * dependency that is not installed, `dev-only` a dev dependency that is installed but must not
 * be packed; symlinks into `node_modules/.pnpm`. `app/index.js` prints the versions it resolves.
 * `order` reverses the order files are created in, `mtime` sets every file's time, so two
 * fixtures differ in everything but content.
 */
export async function createPackFixture(
  options: { reverse?: boolean; mtimeSeconds?: number } = {},
): Promise<PackFixture> {
  const directory = await mkdtemp(join(tmpdir(), 'spark-mesos-pack-'));
  const runtimeDirectory = join(directory, 'runtime');
  const appDirectory = join(directory, 'app');
  const store = join(appDirectory, 'node_modules', '.pnpm');
  const steps: (() => Promise<void>)[] = [
    () =>
      write(
        join(runtimeDirectory, 'bin', 'spark-mesos-executor'),
        '#!/usr/bin/env node\nconsole.log("executor");\n',
        0o775,
      ),
    () => write(join(runtimeDirectory, 'lib', 'runtime.js'), 'export const runtime = 1;\n', 0o600),
    () => write(join(runtimeDirectory, 'package.json'), '{"name":"runtime","version":"9.8.7"}\n'),
    () =>
      write(
        join(appDirectory, 'package.json'),
        `${JSON.stringify({
          name: 'fixture-app',
          version: '1.0.0',
          main: 'index.js',
          dependencies: { a: '^1.0.0', b: '^1.0.0' },
          optionalDependencies: { c: '^1.0.0' },
          devDependencies: { 'dev-only': '^1.0.0' },
        })}\n`,
      ),
    () =>
      write(
        join(appDirectory, 'index.js'),
        "const a = require('a');\nconst b = require('b');\nconsole.log(JSON.stringify({ a: a.version, bSeesA: b.aVersion }));\n",
      ),
    () => write(join(appDirectory, 'lib', `${'deep-name-'.repeat(12)}.js`), 'module.exports = 1;\n'),
    () => write(join(appDirectory, '.env'), 'SECRET=do-not-pack\n'),
    () => writePackage(join(store, 'a@1.0.0', 'node_modules', 'a'), 'a', '1.0.0', {}, "exports.version = '1.0.0';\n"),
    () => writePackage(join(store, 'a@2.0.0', 'node_modules', 'a'), 'a', '2.0.0', {}, "exports.version = '2.0.0';\n"),
    () =>
      writePackage(
        join(store, 'b@1.0.0', 'node_modules', 'b'),
        'b',
        '1.0.0',
        { a: '^2.0.0' },
        "exports.aVersion = require('a').version;\n",
      ),
    () => link(join(store, 'a@2.0.0', 'node_modules', 'a'), join(store, 'b@1.0.0', 'node_modules', 'a')),
    () => writePackage(join(store, 'dev-only@1.0.0', 'node_modules', 'dev-only'), 'dev-only', '1.0.0', {}, ''),
    () => link(join(store, 'a@1.0.0', 'node_modules', 'a'), join(appDirectory, 'node_modules', 'a')),
    () => link(join(store, 'b@1.0.0', 'node_modules', 'b'), join(appDirectory, 'node_modules', 'b')),
    () =>
      link(join(store, 'dev-only@1.0.0', 'node_modules', 'dev-only'), join(appDirectory, 'node_modules', 'dev-only')),
  ];
  if (options.reverse === true) {
    // Files first where the order allows it: symlinks need no target to exist.
    steps.reverse();
  }
  for (const step of steps) await step();
  if (options.mtimeSeconds !== undefined) {
    for (const file of [
      join(runtimeDirectory, 'bin', 'spark-mesos-executor'),
      join(appDirectory, 'index.js'),
      join(store, 'a@1.0.0', 'node_modules', 'a', 'index.js'),
    ]) {
      await utimes(file, options.mtimeSeconds, options.mtimeSeconds);
    }
  }
  return { directory, runtimeDirectory, appDirectory };
}
