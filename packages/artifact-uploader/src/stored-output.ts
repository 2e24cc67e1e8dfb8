// Writing job output to the stores (`dataset.saveAsTextFile('s3a://…')`), the other way round
// from `stored-files.ts`: the driver checks the output location and makes one plain HTTP(S) write
// URL per part — a presigned S3 PUT, the namenode's WebHDFS CREATE — so tasks write with nothing
// but `fetch`; then it writes `_SUCCESS` itself with the SDK or the WebHDFS REST API.

import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { redactSecrets, redactUrlCredentials, SparkMesosError, truncateBody } from '@spark-mesos/errors';
import { type Dispatcher, request } from 'undici';
import {
  describeSdkError,
  isRetryableS3Error,
  type ResolvedClient,
  resolveS3Client,
  S3_SCHEMES,
  s3FixFor,
  type UriRole,
} from './s3-destination.js';
import {
  createS3Presigner,
  encodePath,
  type S3FailureOf,
  type StoreReaderOptions,
  s3Parts,
  storeSchemeOf,
} from './stored-files.js';
import {
  askNamenodes,
  isNetworkError,
  parseWebHdfsLocation,
  remoteExceptionOf,
  resolveWebHdfsIdentity,
  WEBHDFS_SCHEMES,
  type WebHdfsLocation,
  webHdfsFixFor,
  webHdfsUrl,
} from './webhdfs-destination.js';

/** How a task writes one file with plain HTTP(S). */
export interface StoredFileWriteUrl {
  /**
   * Where a `PUT` of the file's bytes goes (or, with {@link StoredFileWriteUrl.redirect}, the
   * first, empty PUT). It is itself a credential (a signature or a delegation token may be in its
   * query): never log it, and redact its query string in messages.
   */
  readonly url: string;
  /**
   * `'location'`: WebHDFS' two-step CREATE, as Hadoop documents it — a `PUT` with no body and
   * without following redirects, whose `307` answer's `Location` (a datanode) then gets a `PUT`
   * with the bytes (`201 Created`). Absent: one `PUT` with the bytes (S3, `200`).
   * @default undefined (one PUT)
   */
  readonly redirect?: 'location';
  /** Headers every request of the write carries (WebHDFS' CSRF header). @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** When the URL stops working (presigned S3 URLs); absent when it does not expire by itself. */
  readonly expiresAt?: Date;
}

/** Options of the writer: the reader's (stores' options, `urlExpirySeconds`, `now`). */
export type StoreWriterOptions = StoreReaderOptions;

/** Writes job output to the stores the uploader writes to. */
export interface StoreWriter {
  /**
   * Checks that nothing is at `location` yet, as Hadoop's `FileOutputFormat.checkOutputSpecs`
   * does, and gets it ready: S3 needs nothing (keys make their "directory"); HDFS gets the
   * directory made (MKDIRS), so a missing write permission shows before any task runs.
   *
   * @returns the output URI without a trailing `/`, to name files under it.
   * @throws SparkMesosError `SM_ERR_OUTPUT_EXISTS` naming the URI when something is there (an
   *   object at the key or any under the prefix, an HDFS file or directory; a bucket or HDFS root
   *   always exists); `SM_ERR_OUTPUT_WRITE` (`details.retryable`, `status?`,
   *   `s3Code?`/`exception?`) when the store refuses or fails, explained (wrong access key or
   *   secret, access denied, a missing bucket, HDFS permissions, Kerberos, an unreachable
   *   endpoint); `SM_ERR_BAD_CONFIG` for a scheme other than {@link STORE_WRITE_SCHEMES}.
   */
  prepareOutput(location: string): Promise<string>;
  /**
   * A URL a task writes the file `uri` through (see {@link StoredFileWriteUrl}), replacing what
   * is there: S3, a presigned PUT valid for `urlExpirySeconds`; WebHDFS, the namenode's
   * `op=CREATE&overwrite=true` with `user.name` or `delegation`.
   */
  writeUrlOf(uri: string): Promise<StoredFileWriteUrl>;
  /** Writes `bytes` to the file `uri` from here (the driver), replacing what is there. */
  writeFile(uri: string, bytes: Uint8Array): Promise<void>;
}

/** The URI schemes {@link createStoreWriter} writes. */
export const STORE_WRITE_SCHEMES: readonly string[] = [...S3_SCHEMES, ...WEBHDFS_SCHEMES];

const OUTPUT_ROLE: UriRole = { code: 'SM_ERR_OUTPUT_WRITE', noun: 'output' };

function outputExists(uri: string, what: string): SparkMesosError {
  return new SparkMesosError(
    'SM_ERR_OUTPUT_EXISTS',
    `Output directory ${uri} already exists (${what}); remove it or choose another path`,
    { cause: { uri }, details: { uri } },
  );
}

const s3OutputFailure: S3FailureOf = (operation, uri, bucket, error, connection) => {
  if (error instanceof SparkMesosError) return error;
  const { code, status, message } = describeSdkError(error);
  const retryable = isRetryableS3Error(error, code, status);
  const endpoint = connection?.endpointLabel ?? 'the S3 endpoint';
  const fix = retryable
    ? `this looks temporary (server error, throttling or network); run the job again, and check that ${endpoint} is up`
    : s3FixFor(code, bucket, endpoint, 'write');
  const text = `S3 ${operation} of ${uri} failed: ${code}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}. Fix: ${fix}.`;
  return new SparkMesosError(
    'SM_ERR_OUTPUT_WRITE',
    redactUrlCredentials(redactSecrets(text, connection?.secrets ?? [])),
    { cause: error, details: { uri, retryable, s3Code: code, ...(status !== undefined ? { status } : {}) } },
  );
};

/**
 * A writer over the stores, resolving endpoints, credentials and namenode addresses as the reader
 * and the uploader's stores do (options, then Spark conf `spark.hadoop.fs.s3a.*` / `dfs.*`, then
 * the environment and the AWS chains). It keeps one S3 client and, per HDFS authority, the
 * namenode that answered last, so prepare an output and make its URLs with one writer.
 */
export function createStoreWriter(options: StoreWriterOptions = {}): StoreWriter {
  const expirySeconds = options.urlExpirySeconds ?? 3600;
  if (!Number.isSafeInteger(expirySeconds) || expirySeconds < 1 || expirySeconds > 604800) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `The write URL expiry ${expirySeconds} s is not usable: give whole seconds from 1 to 604800 (7 days, the longest a SigV4 presigned URL lives)`,
      { cause: { urlExpirySeconds: expirySeconds } },
    );
  }
  let s3: ResolvedClient | undefined;
  const s3Client = (): ResolvedClient => {
    s3 ??= resolveS3Client(options, OUTPUT_ROLE);
    return s3;
  };
  const presigner = createS3Presigner(s3Client, expirySeconds, options.now ?? (() => new Date()), s3OutputFailure);
  const identity = resolveWebHdfsIdentity(options);
  const redact = (text: string) => redactUrlCredentials(redactSecrets(text, identity.secrets));
  // Clusters with CSRF protection (dfs.webhdfs.rest-csrf.enabled) want this header on every
  // changing request; only its presence counts, and other clusters ignore it.
  const csrfHeader =
    (options.conf ?? (() => undefined))('spark.hadoop.dfs.webhdfs.rest-csrf.custom-header') ?? 'X-XSRF-HEADER';
  /** Per `scheme://authority`: the index of the namenode that answered last. */
  const activeNamenodes = new Map<string, number>();

  const schemeOf = (uri: string): string => storeSchemeOf(uri, STORE_WRITE_SCHEMES, 'write');
  const isS3 = (uri: string) => S3_SCHEMES.includes(schemeOf(uri));

  // -------------------------------------------------------------------------------------------
  // S3

  const connect = (uri: string, bucket: string): ResolvedClient => {
    try {
      return s3Client();
    } catch (error) {
      throw s3OutputFailure('connecting for', uri, bucket, error, undefined);
    }
  };

  const prepareS3 = async (location: string): Promise<string> => {
    const { scheme, bucket, key } = s3Parts(location, OUTPUT_ROLE);
    const output = `${scheme}://${bucket}${key === '' ? '' : `/${encodePath(key)}`}`;
    const shown = redactUrlCredentials(output);
    if (key === '') throw outputExists(shown, `the root of bucket ${bucket} always exists; give a prefix under it`);
    const resolved = connect(shown, bucket);
    // S3A's getFileStatus: an object at the key is a file; any key under `key/` a directory.
    try {
      await resolved.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      throw outputExists(shown, `an object ${key} is in bucket ${bucket}`);
    } catch (error) {
      if (error instanceof SparkMesosError) throw error;
      const { code, status } = describeSdkError(error);
      // A HEAD answer has no body, so a refusal reads as a bare 403; the listing below names it.
      if (status !== 404 && status !== 403 && code !== 'NotFound' && code !== 'NoSuchKey') {
        throw s3OutputFailure('HEAD', shown, bucket, error, resolved);
      }
    }
    let count: number;
    try {
      // One page is enough to see whether any key is there. (No MaxKeys: s3rver answers a
      // truncated V2 listing with an InternalError.)
      const page = await resolved.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${key}/` }));
      count = page.KeyCount ?? page.Contents?.length ?? 0;
    } catch (error) {
      throw s3OutputFailure('LIST', shown, bucket, error, resolved);
    }
    if (count > 0) throw outputExists(shown, `bucket ${bucket} has keys under ${key}/`);
    return output;
  };

  const writeS3 = async (uri: string, bytes: Uint8Array): Promise<void> => {
    const { bucket, key } = s3Parts(uri, OUTPUT_ROLE);
    const shown = redactUrlCredentials(uri);
    const resolved = connect(shown, bucket);
    try {
      await resolved.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    } catch (error) {
      throw s3OutputFailure('PUT', shown, bucket, error, resolved);
    }
  };

  // -------------------------------------------------------------------------------------------
  // WebHDFS

  interface Answer {
    readonly status: number;
    readonly headers: Record<string, string | string[] | undefined>;
    readonly text: string;
  }

  const authorityOf = (uri: string): string => {
    const url = new URL(uri);
    return `${url.protocol}//${url.host}`;
  };

  const failure = (op: string, uri: string, path: string, answer: Answer): SparkMesosError => {
    const remote = remoteExceptionOf(answer.text);
    const what = remote
      ? `${remote.exception}: ${remote.message}`
      : `HTTP ${answer.status}${answer.text ? `: ${truncateBody(answer.text, 512)}` : ''}`;
    const retryable = answer.status >= 500 || answer.status === 429;
    const fix = retryable
      ? 'this looks temporary; run the job again'
      : webHdfsFixFor(remote, answer.status, identity.userLabel, path, 'write');
    return new SparkMesosError(
      'SM_ERR_OUTPUT_WRITE',
      redact(`WebHDFS ${op} of ${uri} failed (HTTP ${answer.status}): ${what}. Fix: ${fix}.`),
      {
        cause: remote ?? { status: answer.status, body: truncateBody(answer.text) },
        details: {
          uri,
          retryable,
          status: answer.status,
          ...(remote ? { exception: remote.exception } : {}),
        },
      },
    );
  };

  const send = async (method: Dispatcher.HttpMethod, url: string, body?: Uint8Array): Promise<Answer> => {
    const response = await request(url, {
      method,
      ...(options.dispatcher !== undefined ? { dispatcher: options.dispatcher } : {}),
      headers: {
        ...(method === 'GET' ? {} : { [csrfHeader]: '' }),
        ...(body !== undefined ? { 'content-type': 'application/octet-stream' } : {}),
      },
      ...(body !== undefined ? { body } : {}),
    });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  };

  /** One request to the namenode; with an HA pair, a standby or unreachable one is skipped. */
  const toNamenode = async (
    location: WebHdfsLocation,
    uri: string,
    method: Dispatcher.HttpMethod,
    op: string,
    parameters: Record<string, string> = {},
  ): Promise<Answer> => {
    const authority = authorityOf(uri);
    let asked: { answer: Answer; active?: number };
    try {
      asked = await askNamenodes(location.httpBases, activeNamenodes.get(authority) ?? 0, (base) =>
        send(method, webHdfsUrl(base, location.directory || '/', op, parameters, identity)),
      );
    } catch (error) {
      if (!isNetworkError(error)) throw error;
      throw unreachable(location, uri, op, error);
    }
    if (asked.active !== undefined) activeNamenodes.set(authority, asked.active);
    return asked.answer;
  };

  const unreachable = (location: WebHdfsLocation, uri: string, op: string, lastError: unknown): SparkMesosError => {
    const count = location.httpBases.length;
    const namenodes =
      count === 1 ? `the namenode ${location.httpBases[0]}` : `the namenodes ${location.httpBases.join(', ')}`;
    return new SparkMesosError(
      'SM_ERR_OUTPUT_WRITE',
      redact(
        `WebHDFS ${op} of ${uri} failed: ${namenodes} did not answer (${(lastError as Error)?.message ?? lastError}). Fix: check the namenode HTTP address (spark.hadoop.dfs.namenode.http-address, default port 9870) and that this machine reaches it.`,
      ),
      { cause: lastError, details: { uri, retryable: true } },
    );
  };

  const prepareWebHdfs = async (uri: string): Promise<string> => {
    const location = parseWebHdfsLocation(uri, options, OUTPUT_ROLE);
    const output = location.uriBase;
    const shown = redact(output);
    if (location.directory === '') throw outputExists(shown, 'the root directory always exists; give a path under it');
    const status = await toNamenode(location, shown, 'GET', 'GETFILESTATUS');
    if (status.status === 200) {
      let type: string | undefined;
      try {
        type = (JSON.parse(status.text) as { FileStatus?: { type?: string } }).FileStatus?.type;
      } catch {
        type = undefined;
      }
      throw outputExists(shown, `${type === 'FILE' ? 'a file' : 'a directory'} is there`);
    }
    if (!(status.status === 404 && remoteExceptionOf(status.text)?.exception === 'FileNotFoundException')) {
      throw failure('GETFILESTATUS', shown, location.directory, status);
    }
    const made = await toNamenode(location, shown, 'PUT', 'MKDIRS');
    if (made.status !== 200 || !/"boolean"\s*:\s*true/.test(made.text)) {
      throw failure('MKDIRS', shown, location.directory, made);
    }
    return output;
  };

  const writeWebHdfs = async (uri: string, bytes: Uint8Array): Promise<void> => {
    const location = parseWebHdfsLocation(uri, options, OUTPUT_ROLE);
    const shown = redact(uri);
    const created = await toNamenode(location, shown, 'PUT', 'CREATE', { overwrite: 'true' });
    const header = created.headers.location;
    const target = Array.isArray(header) ? header[0] : header;
    if (created.status !== 307 || target === undefined) throw failure('CREATE', shown, location.directory, created);
    let written: Answer;
    try {
      written = await send('PUT', target, bytes);
    } catch (error) {
      throw new SparkMesosError(
        'SM_ERR_OUTPUT_WRITE',
        redact(
          `WebHDFS CREATE of ${uri} failed talking to the datanode ${new URL(target).host} (the namenode's redirect): ${(error as Error).message}. Fix: datanodes must be reachable on their HTTP port (dfs.datanode.http.address) by this machine and by the agents.`,
        ),
        { cause: error, details: { uri: shown, retryable: isNetworkError(error) } },
      );
    }
    if (written.status !== 201) throw failure('CREATE (datanode)', shown, location.directory, written);
  };

  return {
    async prepareOutput(location) {
      return isS3(location) ? prepareS3(location) : prepareWebHdfs(location);
    },
    async writeUrlOf(uri) {
      if (isS3(uri)) return presigner(uri, 'PUT');
      const location = parseWebHdfsLocation(uri, options, OUTPUT_ROLE);
      const base = location.httpBases[activeNamenodes.get(authorityOf(uri)) ?? 0] as string;
      return {
        url: webHdfsUrl(base, location.directory, 'CREATE', { overwrite: 'true' }, identity),
        redirect: 'location',
        headers: { [csrfHeader]: '' },
      };
    },
    async writeFile(uri, bytes) {
      return isS3(uri) ? writeS3(uri, bytes) : writeWebHdfs(uri, bytes);
    },
  };
}
