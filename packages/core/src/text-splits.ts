import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStoreReader, isStoredFileUri, type StoreReaderOptions } from '@spark-mesos/artifact-uploader';
import type { ConfigKeyDefinition, SparkConf } from '@spark-mesos/config';
import { redactUrlCredentials, SparkMesosError } from '@spark-mesos/errors';

/**
 * One byte range of a text file, read by a task as Hadoop's `LineRecordReader` reads a split:
 * it skips the partial first line (unless it starts the file) and reads every line that starts at
 * or before `end`. Exactly one of `path` and `url` is set.
 */
export interface TextSplit {
  /** A local file path (read by the task with `node:fs`). */
  readonly path?: string;
  /**
   * An `http(s)://` URL (read by the task with `fetch` and a `Range` header, or an `offset=`
   * query parameter with {@link TextSplit.rangeParam}). For a file in a store it is the read URL
   * the driver made (a presigned S3 GET, a WebHDFS OPEN), a credential: messages show
   * {@link TextSplit.source} instead.
   */
  readonly url?: string;
  /** How the task asks for a start offset: `'offset'` for WebHDFS' query parameter. @default a Range header */
  readonly rangeParam?: 'offset';
  /** The store URI the URL reads (`s3a://bucket/key`), shown in messages. @default none */
  readonly source?: string;
  /** First byte of the split. */
  readonly start: number;
  /** One past the last byte of the split. */
  readonly end: number;
  /** Set for a `.gz` file: read whole and gunzipped (one split per file, as Hadoop's codecs). */
  readonly gzip?: boolean;
}

/** The configuration keys `textFile` reads (registered with the core keys). */
export const textFileKeys: readonly ConfigKeyDefinition[] = [
  {
    key: 'spark.hadoop.',
    prefix: true,
    type: 'string',
    doc: 'Hadoop settings, as Spark hands them to Hadoop; spark-mesos reads fs.s3a.* (endpoint, keys, region, path style), dfs.* (namenode HTTP addresses, HA nameservices) and hadoop.user.name to reach S3 and HDFS for textFile and for executor uploads.',
    see: 'https://spark.apache.org/docs/3.5.0/configuration.html#custom-hadoophive-configuration',
  },
  {
    key: 'spark.mesos.textFile.presignedUrlExpiry',
    type: 'duration',
    unit: 's',
    default: '1h',
    doc: "How long the presigned GET URLs that tasks read s3:// files through stay valid (at most 7d). The driver renews a dataset's URLs before a job once they are past half of it, so a job must finish within the other half.",
  },
];

/** One file to split: where it is and how long it is. */
export interface TextFile {
  readonly path?: string;
  readonly url?: string;
  /** See {@link TextSplit.rangeParam}. */
  readonly rangeParam?: 'offset';
  /** See {@link TextSplit.source}. */
  readonly source?: string;
  /** When {@link TextFile.url} stops working (ms since the epoch); absent when it does not expire. */
  readonly expiresAt?: number;
  readonly length: number;
  /** False when the length is unknown (an HTTP server without Content-Length): one split. */
  readonly splittable: boolean;
  /** A gzip-compressed file (name ending `.gz`): never split, gunzipped by the task. */
  readonly gzip?: boolean;
}

/**
 * Hadoop's `fs.local.block.size` default (32 MiB), the largest split `FileInputFormat` makes of a
 * local file.
 */
export const DEFAULT_TEXT_BLOCK_SIZE = 32 * 1024 * 1024;

// Hadoop's FileInputFormat.SPLIT_SLOP: the last split may be up to 10% larger than the others.
const SPLIT_SLOP = 1.1;

/**
 * Splits files as Hadoop's `FileInputFormat.getSplits` does: a goal size of the total length over
 * `minPartitions`, capped by the block size, and a last split of each file up to 10% larger.
 */
export function computeTextSplits(
  files: readonly TextFile[],
  minPartitions: number,
  blockSize = DEFAULT_TEXT_BLOCK_SIZE,
): TextSplit[] {
  const totalLength = files.reduce((sum, file) => sum + file.length, 0);
  const goalSize = Math.floor(totalLength / Math.max(minPartitions, 1));
  const splitSize = Math.max(1, Math.min(goalSize, blockSize));
  const splits: TextSplit[] = [];
  for (const file of files) {
    const where = {
      ...(file.url !== undefined ? { url: file.url } : { path: file.path! }),
      ...(file.rangeParam !== undefined ? { rangeParam: file.rangeParam } : {}),
      ...(file.source !== undefined ? { source: file.source } : {}),
      ...(file.gzip ? { gzip: true } : {}),
    };
    // Hadoop's (old API) FileInputFormat makes one empty split of an empty file, so Spark's
    // textFile of an empty file has one (empty) partition. (An HTTP file of unknown length has
    // length 0 too, and is read whole below.)
    if (file.length === 0 && (file.path !== undefined || file.splittable)) {
      splits.push({ ...where, start: 0, end: 0 });
      continue;
    }
    if (!file.splittable || file.gzip) {
      splits.push({ ...where, start: 0, end: Number.MAX_SAFE_INTEGER });
      continue;
    }
    let remaining = file.length;
    while (remaining / splitSize > SPLIT_SLOP) {
      const start = file.length - remaining;
      splits.push({ ...where, start, end: start + splitSize });
      remaining -= splitSize;
    }
    if (remaining !== 0) splits.push({ ...where, start: file.length - remaining, end: file.length });
  }
  return splits;
}

/**
 * The store options `textFile` uses, from a context's configuration: Spark conf and its
 * environment as the getters, and `spark.mesos.textFile.presignedUrlExpiry` (1 h by default).
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the key when the expiry is under 1 s or over
 *   7 days (SigV4's limit).
 */
export function textFileStoreOptions(conf: SparkConf): StoreReaderOptions {
  const key = 'spark.mesos.textFile.presignedUrlExpiry';
  const seconds = conf.getTimeAsSeconds(key, '1h');
  if (!(seconds >= 1 && seconds <= 604800)) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `${key} is ${conf.get(key)}: it must be from 1s to 7d (the longest a presigned S3 URL lives); tasks must read their splits within it`,
      { cause: { key, seconds } },
    );
  }
  return { conf: (name) => conf.getOption(name), env: (name) => conf.getenv(name), urlExpirySeconds: seconds };
}

/** Options of {@link listTextFiles}. */
export interface ListTextFilesOptions {
  /**
   * How stores are reached (`s3://`, `s3a://`, `s3n://`, `hdfs://`, `webhdfs://`,
   * `swebhdfs://`): Spark conf and environment getters, S3 and WebHDFS options, and how long
   * presigned URLs live (`urlExpirySeconds`), as `@spark-mesos/artifact-uploader`'s
   * `createStoreReader` takes them.
   * @default {} (AWS and Hadoop defaults; presigned URLs valid for 1 h)
   */
  readonly store?: StoreReaderOptions;
}

/**
 * Finds the files behind a `textFile` location, as Hadoop's `FileInputFormat` does: a
 * comma-separated list of locations, each a file, a directory (every file in it whose name does
 * not start with `_` or `.`, Hadoop's hidden-file filter, so `_SUCCESS` is skipped, sorted by
 * name), a pattern with `*`, `?` or `[…]` in its last component (`/data/part-*`), an
 * `http(s)://` URL, sized with a HEAD request, or the same forms in a store (`s3a://bucket/dir/`,
 * `hdfs://nn:8020/logs/*.gz`): listed and sized here with the store's credentials, and read by
 * tasks through a plain HTTP URL made here (a presigned S3 GET, a WebHDFS OPEN), so executors need
 * neither credentials nor SDKs.
 */
export async function listTextFiles(locations: string, options: ListTextFilesOptions = {}): Promise<TextFile[]> {
  const files: TextFile[] = [];
  let reader: ReturnType<typeof createStoreReader> | undefined;
  for (const location of locations.split(',')) {
    const trimmed = location.trim();
    if (trimmed === '') continue;
    if (isStoredFileUri(trimmed)) {
      reader ??= createStoreReader(options.store ?? {});
      for (const stored of await reader.list(trimmed)) {
        const read = await reader.readUrlOf(stored);
        const gzip = isGzip(new URL(stored.uri).pathname);
        files.push({
          url: read.url,
          source: stored.uri,
          ...(read.expiresAt !== undefined ? { expiresAt: read.expiresAt.getTime() } : {}),
          ...(read.rangeParam !== undefined ? { rangeParam: read.rangeParam } : {}),
          length: stored.size,
          splittable: !gzip,
          ...(gzip ? { gzip } : {}),
        });
      }
    } else files.push(...(await listLocation(trimmed)));
  }
  return files;
}

const notHidden = (name: string): boolean => !name.startsWith('_') && !name.startsWith('.');

async function listLocation(location: string): Promise<TextFile[]> {
  if (/^https?:\/\//i.test(location)) return [await headTextUrl(location)];
  const path = location.startsWith('file:') ? fileURLToPath(location) : location;
  const pattern = basename(path);
  if (/[*?[]/.test(pattern)) {
    const directory = dirname(path);
    const matcher = globToRegExp(pattern);
    const names = await readdir(directory).catch(() => [] as string[]);
    const matched = names.filter((name) => notHidden(name) && matcher.test(name)).sort();
    if (matched.length === 0) {
      throw new SparkMesosError(
        'SM_ERR_INPUT_NOT_FOUND',
        `Input pattern ${path} matches 0 files; check the directory and the pattern (*, ? and [...] match within the last path component)`,
        { cause: { pattern: path }, details: { path } },
      );
    }
    const files: TextFile[] = [];
    for (const name of matched) files.push(...(await listPath(join(directory, name))));
    return files;
  }
  return listPath(path);
}

async function listPath(path: string): Promise<TextFile[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw new SparkMesosError(
      'SM_ERR_INPUT_NOT_FOUND',
      `Input path does not exist: ${path} (${(error as Error).message}); give an existing file or directory (read by every executor, so on a cluster it must exist on every agent), or an http(s):// URL`,
      { cause: error, details: { path } },
    );
  }
  if (!info.isDirectory()) return [describeFile(path, info.size)];
  const names = (await readdir(path)).filter(notHidden).sort();
  const files: TextFile[] = [];
  for (const name of names) {
    const child = join(path, name);
    const childInfo = await stat(child);
    if (childInfo.isFile()) files.push(describeFile(child, childInfo.size));
  }
  return files;
}

/** A glob of one path component (`*`, `?`, `[abc]`, `[!abc]`) as a regular expression. */
function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const character = glob[index]!;
    if (character === '*') source += '.*';
    else if (character === '?') source += '.';
    else if (character === '[') {
      const close = glob.indexOf(']', index + 2);
      if (close === -1) source += '\\[';
      else {
        const body = glob.slice(index + 1, close);
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        index = close;
      }
    } else source += character.replace(/[\\^$.|+(){}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

const isGzip = (name: string): boolean => /\.gz$/i.test(name);

function describeFile(path: string, length: number): TextFile {
  return isGzip(path) ? { path, length, splittable: false, gzip: true } : { path, length, splittable: true };
}

/** A URL for messages: its query (which may carry a token or a signature) masked. */
const withoutQuery = (url: string): string => url.replace(/\?.*$/s, '?…');

async function headTextUrl(url: string): Promise<TextFile> {
  const shown = withoutQuery(redactUrlCredentials(url));
  let response: Response;
  try {
    response = await fetch(url, { method: 'HEAD' });
  } catch (error) {
    throw new SparkMesosError('SM_ERR_INPUT_NOT_FOUND', `Cannot reach ${shown}: ${(error as Error).message}`, {
      cause: error,
      details: { url: shown },
    });
  }
  if (!response.ok) {
    throw new SparkMesosError(
      'SM_ERR_INPUT_NOT_FOUND',
      `HEAD ${shown} answered ${response.status} ${response.statusText}; give a URL that serves the file`,
      { cause: { status: response.status }, details: { url: shown } },
    );
  }
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  const ranges = (response.headers.get('accept-ranges') ?? '').toLowerCase() === 'bytes';
  // Without a length there is nothing to split; without ranges every split would download the
  // whole file, so one split is cheaper.
  const gzip = isGzip(new URL(url).pathname);
  if (!Number.isSafeInteger(length) || length < 0)
    return { url, length: 0, splittable: false, ...(gzip ? { gzip } : {}) };
  return { url, length, splittable: ranges && !gzip, ...(gzip ? { gzip } : {}) };
}

/**
 * When splits read through expiring URLs should be made again: halfway through the life left to
 * the earliest URL, so a job started before then still has the other half to read its splits.
 * Undefined when no URL expires.
 */
export function textSplitsRenewAt(files: readonly TextFile[], now: number): number | undefined {
  let earliest = Number.POSITIVE_INFINITY;
  for (const file of files) if (file.expiresAt !== undefined && file.expiresAt < earliest) earliest = file.expiresAt;
  return earliest === Number.POSITIVE_INFINITY ? undefined : now + (earliest - now) / 2;
}

/**
 * The same splits with fresh read URLs for the files in stores (one new URL per file; the files
 * are not listed again, so partitions and byte ranges stay as they were), and when to renew them
 * next.
 */
export async function renewTextSplits(
  splits: readonly TextSplit[],
  options: ListTextFilesOptions = {},
  now: () => number = Date.now,
): Promise<{ splits: TextSplit[]; renewAt?: number }> {
  const reader = createStoreReader(options.store ?? {});
  const fresh = new Map<string, TextFile>();
  for (const split of splits) {
    if (split.source === undefined || fresh.has(split.source)) continue;
    const read = await reader.readUrlOf(split.source);
    fresh.set(split.source, {
      url: read.url,
      source: split.source,
      ...(read.expiresAt !== undefined ? { expiresAt: read.expiresAt.getTime() } : {}),
      length: 0,
      splittable: false,
    });
  }
  const renewed = splits.map((split) => {
    const file = split.source === undefined ? undefined : fresh.get(split.source);
    return file === undefined ? split : { ...split, url: file.url! };
  });
  const renewAt = textSplitsRenewAt([...fresh.values()], now());
  return renewAt === undefined ? { splits: renewed } : { splits: renewed, renewAt };
}
