// Builds the executor's runtime directory (contract §1): bin/spark-mesos-executor, a launcher;
// lib/spark-mesos-executor.mjs, the executor with every dependency bundled in, so an agent needs
// nothing but Node 20; and a package.json naming the runtime's version. Used by the package
// build (tsup.config.ts) and by the integration tests, which build from the sources into a
// temporary directory.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

/** Options of {@link buildExecutorRuntime}. */
export interface BuildExecutorRuntimeOptions {
  /** The executor package's directory (holding `src/`). */
  packageDirectory: string;
  /** Where the runtime directory is written (created). */
  outDirectory: string;
}

// Valid both as CommonJS and as ESM: an extension-less file's module type depends on the nearest
// package.json above it, which on an agent is anyone's. The dynamic import resolves relative to
// this file either way, and `.mjs` is always ESM.
const LAUNCHER = `#!/usr/bin/env node
// spark-mesos executor: see lib/spark-mesos-executor.mjs.
import('../lib/spark-mesos-executor.mjs').catch((error) => {
  process.stderr.write('spark-mesos-executor failed to start: ' + ((error && error.stack) || error) + '\\n');
  process.exit(70);
});
`;

// Bundled CommonJS dependencies call require() for Node's built-ins; give the ESM bundle one.
const REQUIRE_BANNER =
  "import { createRequire as __sparkMesosCreateRequire } from 'node:module'; const require = __sparkMesosCreateRequire(import.meta.url);";

/** Builds the runtime directory into `outDirectory`. */
export async function buildExecutorRuntime(options: BuildExecutorRuntimeOptions): Promise<void> {
  await mkdir(join(options.outDirectory, 'bin'), { recursive: true });
  await build({
    entryPoints: [join(options.packageDirectory, 'src', 'bin', 'spark-mesos-executor.ts')],
    outfile: join(options.outDirectory, 'lib', 'spark-mesos-executor.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Workspace packages from their sources: no dependence on their dist/ being current.
    conditions: ['@spark-mesos/source'],
    banner: { js: REQUIRE_BANNER },
    legalComments: 'none',
    logLevel: 'error',
  });
  const launcher = join(options.outDirectory, 'bin', 'spark-mesos-executor');
  await writeFile(launcher, LAUNCHER);
  await chmod(launcher, 0o755);
  // The packer reads the runtime's version from here (manifest.json's runtimeVersion). No
  // "type": the launcher runs either way, and the bundle is .mjs.
  const own = JSON.parse(await readFile(join(options.packageDirectory, 'package.json'), 'utf8')) as { version: string };
  await writeFile(
    join(options.outDirectory, 'package.json'),
    `${JSON.stringify({ name: '@spark-mesos/executor-runtime', version: own.version, private: true }, null, 2)}\n`,
  );
}
