import { spawn } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { appendFile, chmod, copyFile, mkdir, open, rm } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { dirname, isAbsolute, join, basename as pathBasename, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';
import type { CommandInfoURI } from '@spark-mesos/mesos-client';

/**
 * The agent's fetcher, as Mesos 1.x runs it before a container's command starts: every
 * `CommandInfo.URI` is copied (file), downloaded (http, https) or handed to a pluggable fetcher
 * (s3, hdfs, …) into the sandbox, optionally through a per-agent cache, then extracted or made
 * executable. Progress and failures go to the sandbox's `stderr`, where Mesos' fetcher writes
 * its log, so that a user reading the sandbox sees why a task never started.
 *
 * @see https://mesos.apache.org/documentation/latest/fetcher/
 * @see https://mesos.apache.org/documentation/latest/fetcher-cache-internals/
 * @module
 */

/**
 * Fetches one URI of a scheme mesos-local does not handle itself (s3, s3n, s3a, hdfs, …) to
 * `destination`, a file path in the sandbox or the cache whose directory exists. Reject to fail
 * the fetch; the rejection's message is shown after `Failed to fetch '<uri>': `.
 */
export type UriFetcher = (
  uri: string,
  destination: string,
  context: { readonly signal?: AbortSignal },
) => Promise<void>;

/** Mesos' `--fetcher_stall_timeout`: a download that receives nothing for this long fails. */
export const DEFAULT_FETCHER_STALL_TIMEOUT_MS = 60_000;

/** Redirects followed before an HTTP download fails (curl's FOLLOWLOCATION, bounded). */
const MAX_REDIRECTS = 20;

// Extensions Mesos' fetcher extracts as archives (src/launcher/fetcher.cpp), and the bare `.gz`
// it gunzips next to them.
const TAR_SUFFIXES = ['.tar', '.tgz', '.tar.gz', '.tbz2', '.tar.bz2', '.txz', '.tar.xz'];

/**
 * The download cache shared by the fetches of one agent (Mesos' fetcher cache): entries are keyed
 * by the user and the URI, downloaded once, and never refreshed while the cache lives.
 * Create with {@link createFetcherCache}.
 */
export interface FetcherCache {
  /** The cache directory (per-user subdirectories below it, as in Mesos). */
  readonly directory: string;
  /** Downloads in flight or done, by cache key: settle with the cache file's path. */
  readonly entries: Map<string, Promise<string>>;
  /** Serial of the next cache file name (`c<serial>-<basename>`). */
  serial: number;
}

/**
 * A new, empty fetcher cache in `directory`. Like a Mesos agent starting up, whatever the
 * directory held is deleted first: cache files of an earlier run are never reused.
 */
export function createFetcherCache(directory: string): FetcherCache {
  rmSync(directory, { recursive: true, force: true });
  return { directory, entries: new Map(), serial: 0 };
}

/** Options of {@link fetchUris}. */
export interface FetchUrisOptions {
  /** The sandbox directory: fetch results land there, and the log goes to its `stderr` file. */
  readonly sandbox: string;
  /**
   * The cache for URIs with `cache: true`. Without one such URIs are fetched directly into the
   * sandbox, as Mesos does when a URI cannot go through its cache. @default none
   */
  readonly cache?: FetcherCache;
  /** The user the task runs as: cache entries are kept per user, as in Mesos. @default none */
  readonly user?: string;
  /**
   * Fetchers of other URI schemes, by scheme without `://` (`{ s3: …, hdfs: … }`); mesos-local
   * handles `file`, `http` and `https` itself. @default {}
   */
  readonly fetchers?: Readonly<Record<string, UriFetcher>>;
  /**
   * Prepended to a relative path URI (Mesos' `--frameworks_home`); without it a relative path is
   * an error. @default none
   */
  readonly frameworksHome?: string;
  /** A download that receives nothing for this long fails. @default 60000 */
  readonly stallTimeoutMs?: number;
  /** Aborts the fetch (downloads, extraction). @default none */
  readonly signal?: AbortSignal;
}

/** Where one URI ended up. */
export interface FetchedUri {
  /** The URI as given. */
  readonly uri: string;
  /** The file in the sandbox, or the sandbox itself when an archive was extracted from the cache. */
  readonly path: string;
  /** Whether it came from the cache without a download by this fetch. */
  readonly fromCache: boolean;
}

/**
 * Fetches `uris` into the sandbox, one after the other, as Mesos' fetcher does: the first failure
 * stops the fetch.
 *
 * - `file:///abs/path`, `/abs/path` (or relative to `frameworksHome`): copied.
 * - `http://`, `https://`: downloaded, redirects followed; any final status but 200 fails.
 * - Any other scheme: through `options.fetchers[scheme]`, else `SM_ERR_FETCH_UNSUPPORTED_SCHEME`.
 *
 * The result is named after the URI's last path segment (query included, like Mesos) or
 * `output_file` (relative to the sandbox; directories are created). `executable` sets mode 0755
 * and skips extraction; otherwise `extract` (default true) unpacks `.tar`, `.tgz`, `.tar.gz`,
 * `.tbz2`, `.tar.bz2`, `.txz`, `.tar.xz` (system `tar`) and `.zip` (system `unzip`) into the
 * sandbox, and gunzips a bare `.gz`. `cache: true` goes through `options.cache`: the first fetch
 * downloads, later and concurrent ones reuse that one download, never refreshed.
 *
 * @returns where each URI ended up, in order
 * @throws SparkMesosError `SM_ERR_FETCH_FAILED` (a download, copy, extraction or fetcher failed),
 *   `SM_ERR_FETCH_INVALID_URI` (a malformed URI or output file, before anything is fetched),
 *   `SM_ERR_FETCH_UNSUPPORTED_SCHEME` (no fetcher for the scheme); each message reads
 *   `Failed to fetch '<uri>': <reason>` and is also appended to the sandbox's `stderr`
 * @see https://mesos.apache.org/documentation/latest/fetcher/
 * @example
 * await fetchUris([{ value: 'http://repo/app.tgz' }, { value: 'file:///opt/run.sh', executable: true }], {
 *   sandbox: '/tmp/sandbox',
 * });
 */
export async function fetchUris(
  uris: readonly CommandInfoURI[],
  options: FetchUrisOptions,
): Promise<readonly FetchedUri[]> {
  const log = (line: string): Promise<void> => appendFile(join(options.sandbox, 'stderr'), `${line}\n`);
  // Mesos validates every URI before its fetcher runs, so a bad one fetches nothing.
  for (const uri of uris) {
    const problem = uriProblem(uri);
    if (problem !== undefined) {
      const error = new SparkMesosError('SM_ERR_FETCH_INVALID_URI', `Failed to fetch '${uri.value}': ${problem}`, {
        cause: { uri },
        details: { uri: uri.value, reason: problem },
      });
      await log(error.message).catch(() => {});
      throw error;
    }
  }
  const results: FetchedUri[] = [];
  for (const uri of uris) {
    try {
      await log(`Fetching URI '${uri.value}'`);
      const result = await fetchOne(uri, options, log);
      results.push(result);
      await log(`Fetched '${uri.value}' to '${result.path}'`);
    } catch (error) {
      const failure = asFetchFailure(uri.value, error);
      await log(failure.message).catch(() => {});
      throw failure;
    }
  }
  if (uris.length > 0) await log(`Successfully fetched all URIs into '${options.sandbox}'`);
  return results;
}

/**
 * The message of the TASK_FAILED update of a task whose fetch failed, in the words of a Mesos
 * agent (reason REASON_CONTAINER_LAUNCH_FAILED).
 */
export function fetchFailureMessage(error: unknown, containerId: string): string {
  if (isSparkMesosError(error, 'SM_ERR_FETCH_INVALID_URI')) {
    // Mesos rejects these before running its fetcher program.
    return `Failed to launch container: Could not fetch: ${String(error.details.reason)}`;
  }
  // Mesos only learns its fetcher program's exit status; the reason is in the sandbox's stderr.
  return `Failed to launch container: Failed to fetch all URIs for container '${containerId}': exited with status 1`;
}

/** Agent-level fetcher settings (see {@link AgentFetcher}). */
export interface AgentFetcherOptions {
  /** The fetcher cache directory (Mesos' `--fetcher_cache_dir`). @default `<agent work dir>/fetch` */
  readonly cacheDirectory?: string;
  /** Fetchers of schemes beyond file/http/https, e.g. the artifact uploader's s3/hdfs clients. @default {} */
  readonly fetchers?: Readonly<Record<string, UriFetcher>>;
  /** Base of relative path URIs (Mesos' `--frameworks_home`). @default none */
  readonly frameworksHome?: string;
  /** A download that receives nothing for this long fails. @default 60000 */
  readonly stallTimeoutMs?: number;
}

/**
 * The fetcher settings of agent `agentId` of a cluster: the cluster's cache directory, if given,
 * gets one subdirectory per agent (each Mesos agent has a cache of its own).
 */
export function agentFetcherOptions(clusterOptions: AgentFetcherOptions, agentId: string): AgentFetcherOptions {
  return clusterOptions.cacheDirectory === undefined
    ? clusterOptions
    : { ...clusterOptions, cacheDirectory: join(clusterOptions.cacheDirectory, agentId) };
}

/**
 * The fetcher of one agent: its cache, its pluggable fetchers, and the fetches in flight, which
 * {@link AgentFetcher.stop} aborts so nothing is started after the agent stopped.
 */
export class AgentFetcher {
  readonly #options: AgentFetcherOptions;
  readonly #cache: FetcherCache;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<unknown>>();

  /** The fetcher of the agent whose work directory is `workDir`. */
  constructor(workDir: string, options: AgentFetcherOptions = {}) {
    this.#options = options;
    this.#cache = createFetcherCache(options.cacheDirectory ?? join(workDir, 'fetch'));
  }

  /** Whether {@link AgentFetcher.stop} was called: a finished fetch must not start anything. */
  get stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  /**
   * Fetches a container's URIs into its sandbox.
   *
   * @returns undefined when everything was fetched, else the TASK_FAILED message Mesos gives
   */
  async fetch(
    uris: readonly CommandInfoURI[] | undefined,
    sandbox: string,
    containerId: string,
    user?: string,
  ): Promise<string | undefined> {
    if (uris === undefined || uris.length === 0) return undefined;
    const fetching = (async () => {
      // Mesos' fetcher creates both log files of the sandbox, so a failed launch still has a stdout.
      await Promise.all(['stdout', 'stderr'].map((name) => appendFile(join(sandbox, name), '')));
      return fetchUris(uris, {
        sandbox,
        cache: this.#cache,
        signal: this.#abort.signal,
        ...(user === undefined ? {} : { user }),
        ...(this.#options.fetchers === undefined ? {} : { fetchers: this.#options.fetchers }),
        ...(this.#options.frameworksHome === undefined ? {} : { frameworksHome: this.#options.frameworksHome }),
        ...(this.#options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: this.#options.stallTimeoutMs }),
      });
    })().then(
      () => undefined,
      (error: unknown) => fetchFailureMessage(error, containerId),
    );
    this.#inFlight.add(fetching);
    try {
      return await fetching;
    } finally {
      this.#inFlight.delete(fetching);
    }
  }

  /**
   * Aborts the fetches in flight and waits for them to settle, at most `waitMs` (an injected
   * fetcher may ignore the abort signal; the agent must still stop). @default waitMs 5000
   */
  async stop(waitMs = 5000): Promise<void> {
    this.#abort.abort();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    await Promise.race([Promise.allSettled([...this.#inFlight]), bound]);
    clearTimeout(timer);
  }
}

// --- validation (Mesos' Fetcher::basename, validateUri, validateOutputFile) ---

function uriProblem(uri: CommandInfoURI): string | undefined {
  const name = uriBasename(uri.value);
  if (name.error !== undefined) return name.error;
  const output = uri.output_file;
  if (output === undefined) return undefined;
  if (output === '') return 'URI output file path is empty';
  // Mesos rejects absolute paths only; mesos-local also rejects paths that climb out with `..`.
  if (isAbsolute(output) || relative('/sandbox', resolve('/sandbox', output)).startsWith('..')) {
    return `URI output file must be within the sandbox directory (got '${output}')`;
  }
  return undefined;
}

/** The file name Mesos gives a URI's fetch result: its last path segment, query included. */
function uriBasename(uri: string): { name: string; error?: undefined } | { name?: undefined; error: string } {
  if (/[\\'\0]/.test(uri)) return { error: 'Illegal characters in URI' };
  const index = uri.indexOf('://');
  if (index > 1) {
    const path = uri.slice(index + 3);
    const slash = path.indexOf('/');
    if (slash < 0 || path.length <= slash + 1) return { error: `Malformed URI (missing path): ${uri}` };
    return { name: path.slice(path.lastIndexOf('/') + 1) };
  }
  return { name: pathBasename(uri) };
}

function schemeOf(uri: string): string | undefined {
  const index = uri.indexOf('://');
  return index > 1 ? uri.slice(0, index).toLowerCase() : undefined;
}

// --- one URI ---

async function fetchOne(
  uri: CommandInfoURI,
  options: FetchUrisOptions,
  log: (line: string) => Promise<void>,
): Promise<FetchedUri> {
  const outputFile = uri.output_file ?? (uriBasename(uri.value).name as string);
  const destination = join(options.sandbox, outputFile);
  if (uri.output_file !== undefined) await mkdir(dirname(destination), { recursive: true });

  if (uri.cache === true && options.cache !== undefined) {
    const cached = await fetchIntoCache(uri.value, options.cache, options, log);
    if (cached !== undefined) return fetchFromCache(uri, cached.path, destination, options, log, cached.fromCache);
    await log(`Reverting to fetching '${uri.value}' directly into the sandbox, as the cached download failed`);
  }
  await download(uri.value, destination, options);
  if (uri.executable === true) {
    await chmod(destination, 0o755);
  } else if (uri.extract ?? true) {
    if (!(await extract(destination, options.sandbox, options.signal))) await logNotArchive(uri.value, log);
  }
  return { uri: uri.value, path: destination, fromCache: false };
}

function logNotArchive(uri: string, log: (line: string) => Promise<void>): Promise<void> {
  return log(
    `Copying instead of extracting resource from URI with 'extract' flag, because it does not seem to be an archive: ${uri}`,
  );
}

/**
 * The cache file of a URI: downloaded by the first fetch of its key, awaited by concurrent ones,
 * reused as it is by later ones. Undefined when this fetch waited for another fetch's download and
 * that failed (the caller then fetches directly, as Mesos does).
 */
async function fetchIntoCache(
  uri: string,
  cache: FetcherCache,
  options: FetchUrisOptions,
  log: (line: string) => Promise<void>,
): Promise<{ path: string; fromCache: boolean } | undefined> {
  const key = options.user === undefined ? uri : `${options.user}@${uri}`;
  const existing = cache.entries.get(key);
  if (existing !== undefined) {
    const path = await existing.catch(() => undefined);
    return path === undefined ? undefined : { path, fromCache: true };
  }
  const directory = options.user === undefined ? cache.directory : join(cache.directory, options.user);
  const path = join(directory, cacheFileName(uri, ++cache.serial));
  const downloading = (async (): Promise<string> => {
    await mkdir(directory, { recursive: true });
    await log(`Downloading '${uri}' into the fetcher cache at '${path}'`);
    try {
      await download(uri, path, options);
    } catch (error) {
      // A failed download leaves no entry: the next fetch of the URI tries again.
      cache.entries.delete(key);
      await rm(path, { force: true });
      throw error;
    }
    return path;
  })();
  cache.entries.set(key, downloading);
  return { path: await downloading, fromCache: false };
}

/** `c<serial>-<basename>`, the basename shortened around its extension, like Mesos' cache files. */
function cacheFileName(uri: string, serial: number): string {
  let name = uriBasename(uri).name ?? 'file';
  if (name.length > 20) name = `${name.slice(0, 10)}_${name.slice(-10)}`;
  // A URI's query may hold characters that do not belong in a file name.
  return `c${serial}-${name.replaceAll('/', '_')}`;
}

async function fetchFromCache(
  uri: CommandInfoURI,
  cachePath: string,
  destination: string,
  options: FetchUrisOptions,
  log: (line: string) => Promise<void>,
  fromCache: boolean,
): Promise<FetchedUri> {
  await log(`Fetching URI '${uri.value}' from cache`);
  if (uri.executable === true) {
    await copyFile(cachePath, destination);
    await chmod(destination, 0o755);
    return { uri: uri.value, path: destination, fromCache };
  }
  if (uri.extract ?? true) {
    // Mesos extracts cache files in place: only the unpacked files land in the sandbox.
    if (await extract(cachePath, options.sandbox, options.signal)) {
      return { uri: uri.value, path: options.sandbox, fromCache };
    }
    await logNotArchive(uri.value, log);
  }
  await copyFile(cachePath, destination);
  return { uri: uri.value, path: destination, fromCache };
}

// --- download ---

/** Copies, downloads or hands over `uri` to the file `destination`. */
async function download(rawUri: string, destination: string, options: FetchUrisOptions): Promise<void> {
  const uri = rawUri.trimStart();
  const scheme = schemeOf(uri);
  if (scheme === undefined || scheme === 'file') {
    await copyFile(localPath(uri, scheme, options.frameworksHome), destination);
    return;
  }
  if (scheme === 'http' || scheme === 'https') {
    await httpDownload(uri, destination, options.stallTimeoutMs ?? DEFAULT_FETCHER_STALL_TIMEOUT_MS, options.signal);
    return;
  }
  const fetcher = options.fetchers?.[scheme];
  if (fetcher === undefined) {
    throw new SparkMesosError(
      'SM_ERR_FETCH_UNSUPPORTED_SCHEME',
      `Failed to fetch '${uri}': the URI scheme '${scheme}' is not supported by mesos-local (Mesos hands such URIs ` +
        `to a Hadoop client). Give the agents a fetcher for it: startLocalCluster({ fetcher: { fetchers: { ${scheme}: ` +
        'async (uri, destination) => { /* write the file */ } } } }), or serve the file over http(s).',
      { cause: { uri, scheme }, details: { uri, scheme } },
    );
  }
  await fetcher(uri, destination, options.signal === undefined ? {} : { signal: options.signal });
}

function localPath(uri: string, scheme: string | undefined, frameworksHome: string | undefined): string {
  // As Mesos' path::from_uri: the prefix is dropped, nothing is percent-decoded.
  let path = scheme === 'file' ? uri.slice('file://'.length) : uri;
  // file://localhost/x names /x, as in Mesos.
  if (path.startsWith('localhost')) path = path.slice('localhost'.length);
  if (isAbsolute(path)) return path;
  if (scheme === 'file') throw new Error('File URI only supports absolute paths');
  if (frameworksHome === undefined || frameworksHome === '') {
    throw new Error(
      'A relative path was passed for the resource but the Mesos framework home was not specified. ' +
        'Please either provide this config option or avoid using a relative path',
    );
  }
  return join(frameworksHome, path);
}

async function httpDownload(
  uri: string,
  destination: string,
  stallTimeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  let url = new URL(uri);
  for (let redirects = 0; ; redirects++) {
    const response = await httpGetResponse(url, stallTimeoutMs, signal);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if ([301, 302, 303, 307, 308].includes(status) && location !== undefined) {
      response.resume();
      if (redirects >= MAX_REDIRECTS) {
        throw new Error(`Error downloading resource: more than ${MAX_REDIRECTS} redirects (last to '${location}')`);
      }
      url = new URL(location, url);
      continue;
    }
    if (status !== 200) {
      // Mesos (curl) accepts 200 only; the body is of no use to the sandbox.
      response.resume();
      throw new Error(`Error downloading resource, received HTTP return code ${status}`);
    }
    try {
      await pipeline(response, createWriteStream(destination));
    } catch (error) {
      throw new Error(`Error downloading resource: ${(error as Error).message}`, { cause: error });
    }
    return;
  }
}

function httpGetResponse(url: URL, stallTimeoutMs: number, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise<IncomingMessage>((resolvePromise, reject) => {
    let received: IncomingMessage | undefined;
    const request = get(url, signal === undefined ? {} : { signal }, (response) => {
      // The stall timeout keeps watching the body: the socket's idle timer stays armed.
      received = response;
      resolvePromise(response);
    });
    request.setTimeout(stallTimeoutMs, () => {
      const stalled = new Error(`no data received for ${stallTimeoutMs} ms (the fetcher's stall timeout)`);
      // Failing the body first makes the download report the stall rather than a bare "aborted".
      received?.destroy(stalled);
      request.destroy(stalled);
    });
    request.once('error', (error) =>
      reject(new Error(`Error downloading resource: ${error.message}`, { cause: error })),
    );
  });
}

// --- extraction (Mesos' extract() in src/launcher/fetcher.cpp) ---

/** Extracts an archive into `directory`; false when the file is not one (by its name). */
async function extract(path: string, directory: string, signal: AbortSignal | undefined): Promise<boolean> {
  let command: string[];
  if (TAR_SUFFIXES.some((suffix) => path.endsWith(suffix))) {
    // GNU tar recognises gzip, bzip2 and xz compression on its own.
    command = ['tar', '-C', directory, '-xf', path];
  } else if (path.endsWith('.zip')) {
    command = ['unzip', '-o', '-q', path, '-d', directory];
  } else if (path.endsWith('.gz')) {
    const target = join(directory, pathBasename(path.slice(0, -'.gz'.length)));
    await runExtractor(['gunzip', '-d', '-c', path], path, directory, signal, target);
    return true;
  } else {
    return false;
  }
  await runExtractor(command, path, directory, signal);
  return true;
}

async function runExtractor(
  command: string[],
  path: string,
  directory: string,
  signal: AbortSignal | undefined,
  stdoutFile?: string,
): Promise<void> {
  const output = stdoutFile === undefined ? undefined : await open(stdoutFile, 'w');
  try {
    const stderr: Buffer[] = [];
    const [program, ...args] = command as [string, ...string[]];
    const child = spawn(program, args, {
      stdio: ['ignore', output === undefined ? 'ignore' : output.fd, 'pipe'],
      ...(signal === undefined ? {} : { signal }),
    });
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    const exit = await new Promise<string | undefined>((resolvePromise) => {
      child.once('error', (error) => resolvePromise(error.message));
      child.once('close', (code, killed) =>
        resolvePromise(code === 0 ? undefined : killed ? `terminated by ${killed}` : `exited with status ${code}`),
      );
    });
    if (exit !== undefined) {
      const detail = Buffer.concat(stderr).toString('utf8').trim().slice(0, 2000);
      throw new Error(
        `Failed to extract archive '${path}' to '${directory}': '${command.join(' ')}' failed: ${exit}` +
          (detail === '' ? '' : ` (${detail})`),
      );
    }
  } finally {
    await output?.close();
  }
}

function asFetchFailure(uri: string, error: unknown): SparkMesosError {
  if (isSparkMesosError(error) && error.message.startsWith('Failed to fetch')) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new SparkMesosError('SM_ERR_FETCH_FAILED', `Failed to fetch '${uri}': ${reason}`, {
    cause: error,
    details: { uri, reason },
  });
}
