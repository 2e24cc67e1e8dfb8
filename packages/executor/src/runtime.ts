import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparkMesosError } from '@spark-mesos/errors';

/**
 * The absolute path of the executor's runtime directory (contract §1): `bin/spark-mesos-executor`
 * and `lib/`, self-contained (runs with Node 20 alone). The artifact uploader packs it.
 *
 * @throws SparkMesosError `SM_ERR_EXECUTOR_RUNTIME_MISSING` when the package was not built.
 */
export function executorRuntimeDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // From dist/runtime.js the directory is beside it; from src/runtime.ts (tests) it is in dist/.
  for (const candidate of [join(here, 'runtime'), join(here, '..', 'dist', 'runtime')]) {
    if (existsSync(join(candidate, 'bin', 'spark-mesos-executor'))) return candidate;
  }
  throw new SparkMesosError(
    'SM_ERR_EXECUTOR_RUNTIME_MISSING',
    `the executor runtime directory is missing next to ${here}; build @spark-mesos/executor (pnpm --filter @spark-mesos/executor build)`,
    { cause: { directory: here } },
  );
}
