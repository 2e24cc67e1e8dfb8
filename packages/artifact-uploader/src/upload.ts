// The upload flow shared by every store: look first (a content-addressed package that is
// already there is never sent again), upload so that nothing partial has the final name, retry
// what is worth retrying, then check the URI the way an agent fetches it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { redactUrlCredentials, SparkMesosError } from '@spark-mesos/errors';
import type { ArtifactDestination, ArtifactFile, DestinationFactory, DestinationOptions } from './destination.js';
import { createDestination, destinationFactories, normaliseDestination } from './destinations.js';
import { type PackExecutorOptions, packExecutor } from './pack-executor.js';
import { createProgressReporter, type ProgressStream } from './progress.js';
import { type RetryOptions, withRetries } from './retry.js';

/** What the flow reports as it goes, for a command line's log. */
export type UploadEvent =
  | { readonly type: 'present'; readonly uri: string; readonly size: number }
  | { readonly type: 'replacing'; readonly uri: string; readonly storedSize: number; readonly size: number }
  | { readonly type: 'uploading'; readonly uri: string; readonly size: number }
  | { readonly type: 'uploaded'; readonly uri: string; readonly size: number; readonly milliseconds: number }
  | { readonly type: 'packed'; readonly file: string; readonly size: number }
  | { readonly type: 'retrying'; readonly what: string; readonly attempt: number; readonly message: string };

/** Options of {@link uploadArtifact}. */
export interface UploadOptions extends DestinationOptions, RetryOptions {
  /**
   * Draw a progress bar on this stream during uploads longer than a second, when it is a
   * terminal; `false` for none.
   * @default process.stderr
   */
  readonly progress?: ProgressStream | false;
  /** The stores by URI scheme. @default destinationFactories (file, http(s), s3/s3a/s3n, hdfs/webhdfs/swebhdfs) */
  readonly destinations?: Readonly<Record<string, DestinationFactory>>;
  /** The file's hex SHA-256 when already known (skips hashing it again). @default computed */
  readonly sha256?: string;
  /** Told about each step (present, replacing, uploading, uploaded, retrying). @default none */
  readonly onEvent?: (event: UploadEvent) => void;
}

/** What {@link uploadArtifact} did. */
export interface UploadResult {
  /** The URI to give agents (`spark.executor.uri`). */
  readonly uri: string;
  /** False when the store already held the same package (nothing was sent). */
  readonly uploaded: boolean;
  /** Hex SHA-256 of the file. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/** Hex SHA-256 of a file, streamed. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Splits a destination into the store's prefix and the name under it: a prefix (ending in `/`)
 * takes `defaultName`; anything else names the object itself.
 */
export function splitDestination(destination: string, defaultName: string): { prefix: string; name: string } {
  if (destination.endsWith('/')) return { prefix: destination, name: defaultName };
  const slash = destination.lastIndexOf('/');
  const name = destination.slice(slash + 1);
  if (slash < 0 || name === '' || /^[a-z][a-z0-9+.-]*:\/*$/i.test(destination.slice(0, slash + 1))) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `"${redactUrlCredentials(destination)}" names no directory and file. End a prefix with "/" (http://host/packages/), or give the full URI of the package.`,
      { cause: { destination: redactUrlCredentials(destination) } },
    );
  }
  return { prefix: destination.slice(0, slash + 1), name: decodeURIComponent(name) };
}

/** Runs one store operation with retries, telling `onEvent` about each retry. */
function retrying<T>(options: UploadOptions, what: string, operation: () => Promise<T>): Promise<T> {
  return withRetries(async (attempt) => {
    try {
      return await operation();
    } catch (error) {
      if (options.onEvent !== undefined && error instanceof SparkMesosError && error.details.retryable === true) {
        options.onEvent({ type: 'retrying', what, attempt: attempt + 1, message: error.message });
      }
      throw error;
    }
  }, options);
}

async function uploadTo(
  store: ArtifactDestination,
  name: string,
  file: ArtifactFile,
  options: UploadOptions,
): Promise<boolean> {
  const uri = store.uriOf(name);
  const signal = options.signal;
  const context = signal === undefined ? {} : { signal };
  const stored = await retrying(options, 'stat', () => store.stat(name, context));
  const same =
    stored !== undefined && stored.size === file.size && (stored.sha256 === undefined || stored.sha256 === file.sha256);
  if (same) {
    options.onEvent?.({ type: 'present', uri, size: file.size });
    // The stat was already an agent's fetch: a no-op re-upload is one round trip.
    if (stored.fetchable !== true) await checkSize(store, name, file, options);
    return false;
  }
  if (stored !== undefined) options.onEvent?.({ type: 'replacing', uri, storedSize: stored.size, size: file.size });
  options.onEvent?.({ type: 'uploading', uri, size: file.size });
  const started = performance.now();
  const progress =
    options.progress === false
      ? undefined
      : createProgressReporter({ label: name, stream: options.progress ?? process.stderr });
  try {
    await retrying(options, 'upload', () =>
      store.put(name, file, { ...context, onProgress: (sent, total) => progress?.update(sent, total) }),
    );
  } finally {
    progress?.done();
  }
  options.onEvent?.({ type: 'uploaded', uri, size: file.size, milliseconds: performance.now() - started });
  await checkSize(store, name, file, options);
  return true;
}

async function checkSize(
  store: ArtifactDestination,
  name: string,
  file: ArtifactFile,
  options: UploadOptions,
): Promise<void> {
  const context = options.signal === undefined ? {} : { signal: options.signal };
  const check = await retrying(options, 'fetch check', () => store.checkFetchable(name, context));
  if (check.size !== file.size) {
    throw new SparkMesosError(
      'SM_ERR_ARTIFACT_UNREACHABLE',
      `The executor package at "${redactUrlCredentials(store.uriOf(name))}" is announced with ${check.size} bytes, but it has ${file.size}. ` +
        'Something between the store and the agents changes it (a proxy compressing or rewriting responses?): serve it unchanged, or upload again.',
      {
        cause: { announced: check.size, size: file.size },
        details: { retryable: false, uri: redactUrlCredentials(store.uriOf(name)) },
      },
    );
  }
}

/**
 * Uploads `file` to `destination`: a prefix ending in `/` (the file keeps its name under it) or
 * the full URI of the object. Skips the upload when the store already holds an object of the same
 * size (and SHA-256, where the store records one) under that name; replaces a different one;
 * retries 5xx answers and network errors with jittered backoff; then checks the URI the way an
 * agent fetches it.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` (unknown scheme, bad URI), `SM_ERR_ARTIFACT_UPLOAD`
 *   (refused or failed upload, explained), `SM_ERR_ARTIFACT_UNREACHABLE` (uploaded but not
 *   fetchable as an agent fetches it).
 */
export async function uploadArtifact(
  file: string,
  destination: string,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const path = resolve(file);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (cause) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `Cannot read the file to upload, ${path}: ${(cause as Error).message}. Check the path.`,
      {
        cause,
      },
    );
  }
  const sha256 = options.sha256 ?? (await sha256OfFile(path));
  const { prefix, name } = splitDestination(normaliseDestination(destination), basename(path));
  const store = createDestination(prefix, options, options.destinations ?? destinationFactories);
  const uploaded = await uploadTo(store, name, { path, size, sha256 }, options);
  return { uri: store.uriOf(name), uploaded, sha256, size };
}

/** Options of {@link ensureExecutorPackage}. */
export interface EnsureExecutorPackageOptions extends PackExecutorOptions, UploadOptions {
  /**
   * `spark.executor.uri`: a prefix ending in `/` to pack and upload under (content-addressed
   * name), or the URI of a finished package, used as is after checking that it is fetchable.
   */
  readonly destination: string;
}

/** What {@link ensureExecutorPackage} did. */
export interface EnsuredExecutorPackage {
  /** The URI to give agents. */
  readonly uri: string;
  /**
   * Hex SHA-256 of the package; for a finished package only when its store records one.
   */
  readonly sha256: string | undefined;
  /** True when bytes were sent. */
  readonly uploaded: boolean;
  /** The packed file, when one was packed. */
  readonly file?: string;
}

/**
 * Makes sure the executor package is where agents can fetch it: packs and uploads under a
 * destination prefix (`…/`), or checks a finished package's URI. Re-running with unchanged
 * inputs packs the same bytes, finds them already uploaded and sends nothing.
 *
 * @throws SparkMesosError as {@link packExecutor} and {@link uploadArtifact} do.
 */
export async function ensureExecutorPackage(options: EnsureExecutorPackageOptions): Promise<EnsuredExecutorPackage> {
  const destination = normaliseDestination(options.destination);
  if (!destination.endsWith('/')) {
    const { prefix, name } = splitDestination(destination, '');
    const store = createDestination(prefix, options, options.destinations ?? destinationFactories);
    const context = options.signal === undefined ? {} : { signal: options.signal };
    const stored = await retrying(options, 'stat', () => store.stat(name, context)).catch(() => undefined);
    // A stat that was already an agent's fetch needs no second look.
    if (stored?.fetchable !== true || stored.size < 0) {
      await retrying(options, 'fetch check', () => store.checkFetchable(name, context));
    }
    return { uri: store.uriOf(name), sha256: stored?.sha256, uploaded: false };
  }
  const packed = await packExecutor(options);
  options.onEvent?.({ type: 'packed', file: packed.file, size: packed.size });
  const result = await uploadArtifact(packed.file, destination, { ...options, sha256: packed.sha256 });
  return { uri: result.uri, sha256: packed.sha256, uploaded: result.uploaded, file: packed.file };
}
