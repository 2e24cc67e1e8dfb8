import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureExecutorPackage, packExecutor } from '@spark-mesos/artifact-uploader';
import type { SparkConf } from '@spark-mesos/config';
import { SparkMesosError } from '@spark-mesos/errors';
import { executorRuntimeDirectory } from '@spark-mesos/executor/runtime';
import type { ExecutorSource } from './mesos-backend-support.js';

/** An executor source and what to remove when the application ends. */
export interface PreparedExecutorSource {
  readonly source: ExecutorSource;
  /** Removes what was made for this application (a temporary package). Idempotent. */
  cleanup(): void;
}

/** Options of {@link prepareExecutorSource}. */
export interface PrepareExecutorSourceOptions {
  /**
   * Without `spark.executor.uri` and `spark.mesos.executor.home`: pack the executor into a
   * temporary directory and hand agents its `file://` URI (agents on this host: local clusters,
   * or a real master on the same machine). Otherwise that is an error. @default false
   */
  packLocally?: boolean;
  /** The executor's runtime directory. @default `executorRuntimeDirectory()` of `@spark-mesos/executor/runtime` */
  runtimeDirectory?: string;
}

/**
 * Where agents get the executor, from the configuration (contract §1–2):
 *
 * - `spark.mesos.executor.home`: a directory with the package layout on every agent;
 * - `spark.executor.uri` ending in `/`: a prefix to upload to; the package is packed and
 *   uploaded under its content-addressed name (nothing is sent when it is already there), and
 *   agents fetch that;
 * - `spark.executor.uri` otherwise: a finished package, used as is (a fetch failure shows in the
 *   sandbox of the first executor, and the backend reports it);
 * - neither, with `packLocally`: a package packed into a temporary directory, as `file://`.
 *
 * @throws SparkMesosError `SM_ERR_NO_EXECUTOR_SOURCE` when neither is set and `packLocally` is off.
 */
export async function prepareExecutorSource(
  conf: SparkConf,
  options: PrepareExecutorSourceOptions = {},
): Promise<PreparedExecutorSource> {
  const home = conf.getOption('spark.mesos.executor.home');
  const uri = conf.getOption('spark.executor.uri');
  const bundleNode = conf.getBoolean('spark.mesos.executor.bundleNode', false);
  if (uri !== undefined && uri.trim() !== '') {
    const text = uri.trim();
    if (!text.endsWith('/')) return { source: { executorUri: text }, cleanup: () => {} };
    const ensured = await ensureExecutorPackage({
      destination: text,
      runtimeDirectory: options.runtimeDirectory ?? executorRuntimeDirectory(),
      bundleNode,
      progress: false,
      // The store's settings (spark.hadoop.fs.s3a.*, dfs.namenode.*, AWS_* …) as Spark reads them.
      conf: (key) => conf.getOption(key),
      env: (name) => conf.getenv(name),
    });
    return { source: { executorUri: ensured.uri }, cleanup: () => {} };
  }
  if (home !== undefined && home.trim() !== '') return { source: { executorHome: home.trim() }, cleanup: () => {} };
  if (options.packLocally !== true) {
    throw new SparkMesosError(
      'SM_ERR_NO_EXECUTOR_SOURCE',
      'Mesos agents need the executor: set spark.executor.uri to a package every agent can fetch (or to a prefix ending in "/" to upload one to, e.g. s3://bucket/spark-mesos/ or file:///shared/dir/), or spark.mesos.executor.home to a directory with the executor on every agent',
      { cause: { keys: ['spark.executor.uri', 'spark.mesos.executor.home'] } },
    );
  }
  const directory = mkdtempSync(join(tmpdir(), 'spark-mesos-executor-'));
  try {
    // mkdtemp makes it private (0700); the fetcher may run as another user (the agent's). The
    // package holds no secret (the application secret travels as a Mesos secret).
    chmodSync(directory, 0o755);
    const packed = await packExecutor({
      runtimeDirectory: options.runtimeDirectory ?? executorRuntimeDirectory(),
      outputDirectory: directory,
      bundleNode,
    });
    return {
      source: { executorUri: pathToFileURL(packed.file).href },
      cleanup: () => rmSync(directory, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}
