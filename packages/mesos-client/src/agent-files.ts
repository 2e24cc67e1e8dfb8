import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';
import { getMesosJson, type MesosGetOptions } from './operator-http.js';

/**
 * An agent's `/files` endpoints: list a sandbox directory and read (parts of) its files, which
 * is how a driver shows the stdout/stderr of a failed task.
 *
 * @see https://mesos.apache.org/documentation/latest/endpoints/files/browse/
 * @see https://mesos.apache.org/documentation/latest/endpoints/files/read/
 * @module
 */

/** One entry of `/files/browse` (as `ls -l` shows it). */
export interface SandboxFileEntry {
  /** Absolute path (or virtual path, when browsing a virtual one). */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /** Mode as `ls` prints it, e.g. `-rw-r--r--` (`d…` for a directory). */
  readonly mode: string;
  /** Modification time, seconds since the epoch (float). */
  readonly mtime: number;
  /** Hard links. */
  readonly nlink: number;
  /** Owner. */
  readonly uid: string;
  /** Group. */
  readonly gid: string;
}

/** What `/files/read` answers: `data` read at `offset`. */
export interface SandboxFileChunk {
  /** The text read (may be shorter than asked at the end of the file; empty past it). */
  readonly data: string;
  /** Where it starts; with `offset: -1` asked, the file's size. */
  readonly offset: number;
}

/** A file's last bytes, from {@link readSandboxFileTail}. */
export interface SandboxFileTail extends SandboxFileChunk {
  /** The file's size in bytes when it was read. */
  readonly size: number;
}

/** Where to read, in {@link readSandboxFile}. */
export interface SandboxReadRange {
  /** Byte offset; -1 asks for the size only. @default 0 */
  readonly offset?: number;
  /** Bytes to read at most. @default the agent's page size */
  readonly length?: number;
}

function filesUrl(agentUrl: string, endpoint: 'browse' | 'read', query: Record<string, string>): string {
  const url = new URL(`/files/${endpoint}`, agentUrl);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.href;
}

function withPath<T>(agentUrl: string, path: string, work: () => Promise<T>): Promise<T> {
  return work().catch((error: unknown) => {
    // Mesos answers a missing path with an empty 404: say which path, and why it may be gone.
    if (isSparkMesosError(error, 'SM_ERR_MESOS_NOT_FOUND')) {
      throw new SparkMesosError(
        'SM_ERR_MESOS_NOT_FOUND',
        `The agent at "${new URL(agentUrl).origin}" has no file or directory "${path}": check the path against the executor's directory in the agent's /state, or the sandbox was garbage-collected (--gc_delay).`,
        { cause: error, details: { ...error.details, path } },
      );
    }
    throw error;
  });
}

/**
 * Lists a sandbox directory (`GET /files/browse?path=`).
 *
 * @param agentUrl the agent, e.g. `http://10.0.0.5:5051`
 * @param path an absolute sandbox path (an executor's `directory`) or a virtual one
 *   ({@link virtualSandboxPath})
 * @throws SparkMesosError `SM_ERR_MESOS_NOT_FOUND` naming `path` when it does not exist, or the
 *   errors of {@link getMesosJson}.
 * @see https://mesos.apache.org/documentation/latest/endpoints/files/browse/
 */
export function browseSandbox(
  agentUrl: string,
  path: string,
  options: MesosGetOptions = {},
): Promise<readonly SandboxFileEntry[]> {
  return withPath(agentUrl, path, () =>
    getMesosJson<SandboxFileEntry[]>(filesUrl(agentUrl, 'browse', { path }), options),
  );
}

/**
 * Reads part of a sandbox file (`GET /files/read?path=&offset=&length=`). Past the end the data
 * is empty; `offset: -1` answers the size in `offset` (see {@link getSandboxFileSize}).
 *
 * @throws SparkMesosError `SM_ERR_MESOS_NOT_FOUND` naming `path` when it does not exist, or the
 *   errors of {@link getMesosJson}.
 * @see https://mesos.apache.org/documentation/latest/endpoints/files/read/
 */
export function readSandboxFile(
  agentUrl: string,
  path: string,
  range: SandboxReadRange = {},
  options: MesosGetOptions = {},
): Promise<SandboxFileChunk> {
  const query: Record<string, string> = { path, offset: String(range.offset ?? 0) };
  if (range.length !== undefined) query.length = String(range.length);
  return withPath(agentUrl, path, () => getMesosJson<SandboxFileChunk>(filesUrl(agentUrl, 'read', query), options));
}

/**
 * The size of a sandbox file in bytes (`/files/read` with `offset=-1`).
 *
 * @see https://mesos.apache.org/documentation/latest/endpoints/files/read/
 */
export async function getSandboxFileSize(
  agentUrl: string,
  path: string,
  options: MesosGetOptions = {},
): Promise<number> {
  return (await readSandboxFile(agentUrl, path, { offset: -1 }, options)).offset;
}

/**
 * The last `bytes` bytes of a sandbox file (what a driver shows of a failed task's stdout and
 * stderr): asks the size, then reads from `max(0, size - bytes)`.
 *
 * @see https://mesos.apache.org/documentation/latest/endpoints/files/read/
 */
export async function readSandboxFileTail(
  agentUrl: string,
  path: string,
  bytes: number,
  options: MesosGetOptions = {},
): Promise<SandboxFileTail> {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new SparkMesosError('SM_ERR_BAD_CONFIG', `Cannot read the last ${bytes} bytes: give a whole number ≥ 0.`, {
      cause: { bytes },
    });
  }
  const size = await getSandboxFileSize(agentUrl, path, options);
  const offset = Math.max(0, size - bytes);
  if (bytes === 0 || size === 0) return { data: '', offset: size, size };
  const chunk = await readSandboxFile(agentUrl, path, { offset, length: size - offset }, options);
  return { ...chunk, size };
}
