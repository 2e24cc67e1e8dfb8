// `file://` destinations: a directory every agent sees at the same path (a shared file system,
// or the one machine of a local cluster). Copied to a temporary name in the same directory and
// renamed, so nothing half-written ever has the final name.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SparkMesosError } from '@spark-mesos/errors';
import type { ArtifactDestination, DestinationOptions } from './destination.js';

/** What to do about a local file system error, by its code. */
function fileFix(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'This user may not write there: fix the permissions, or choose a writable directory.';
    case 'EROFS':
      return 'The file system is read-only: choose a writable directory.';
    case 'ENOTDIR':
      return 'A part of the path is a file, not a directory: fix the path.';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'The disk is full: free some space or choose another directory.';
    default:
      return 'Check the path and the file system.';
  }
}

/**
 * The directory a `file:` destination names: `file:///dir/` or `file:/dir/`.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for a `file:` URI with a host or no path.
 */
export function fileDestinationDirectory(uri: string): string {
  try {
    return fileURLToPath(new URL(uri.endsWith('/') ? uri : `${uri}/`));
  } catch (cause) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `"${uri}" is not a local file URI. Give file:///absolute/directory/.`,
      {
        cause,
      },
    );
  }
}

/**
 * Creates the store for a `file://` destination directory (created when missing). `stat` and
 * `checkFetchable` look at the file here; agents on other machines need the same path (a shared
 * file system), which cannot be checked from here. Errors are not retryable: a local file
 * system does not get better by waiting.
 */
export function createFileDestination(uri: string, _options: DestinationOptions = {}): ArtifactDestination {
  const directory = fileDestinationDirectory(uri);
  const pathOf = (name: string): string => join(directory, name);
  const uriOf = (name: string): string => pathToFileURL(pathOf(name)).toString();
  const failure = (what: string, name: string, cause: unknown): SparkMesosError => {
    const code = (cause as NodeJS.ErrnoException)?.code;
    return new SparkMesosError(
      'SM_ERR_ARTIFACT_UPLOAD',
      `Cannot ${what} ${pathOf(name)} (${(cause as Error)?.message ?? String(cause)}). ${fileFix(code)}`,
      { cause, details: { retryable: false, uri: uriOf(name), ...(code === undefined ? {} : { errno: code }) } },
    );
  };
  return {
    uriOf,

    async stat(name) {
      try {
        const stats = await stat(pathOf(name));
        return stats.isFile() ? { size: stats.size, fetchable: true } : undefined;
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw failure('read', name, cause);
      }
    },

    async put(name, file, context) {
      const temporary = pathOf(`.${name}.partial-${randomBytes(6).toString('hex')}`);
      try {
        await mkdir(directory, { recursive: true });
        let sent = 0;
        await pipeline(
          createReadStream(file.path, { highWaterMark: 1 << 20 }),
          new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              sent += chunk.length;
              context?.onProgress?.(sent, file.size);
              callback(null, chunk);
            },
          }),
          createWriteStream(temporary, { mode: 0o644 }),
          ...(context?.signal === undefined ? [] : [{ signal: context.signal }]),
        );
        // On disk before the rename, so a crash never leaves a short file under the final name.
        const handle = await open(temporary, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temporary, pathOf(name));
      } catch (cause) {
        await rm(temporary, { force: true }).catch(() => {});
        throw failure('write', name, cause);
      }
    },

    async remove(name) {
      try {
        await rm(pathOf(name), { force: true });
      } catch (cause) {
        throw failure('remove', name, cause);
      }
    },

    async checkFetchable(name) {
      try {
        const stats = await stat(pathOf(name));
        if (!stats.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
        return { size: stats.size };
      } catch (cause) {
        throw new SparkMesosError(
          'SM_ERR_ARTIFACT_UNREACHABLE',
          `The executor package at "${uriOf(name)}" is not readable here (${(cause as Error).message}). ` +
            'A file:// URI must name the same file on every agent: upload it there first, or use a shared directory or an http:// destination.',
          { cause, details: { retryable: false, uri: uriOf(name) } },
        );
      }
    },
  };
}
