// Reading what the stores hold, for jobs (`sc.textFile('s3a://…')`): the driver lists and sizes
// the files with its credentials and SDKs, and hands each task a plain HTTP(S) URL that reads the
// file with nothing but `fetch` — a presigned GET for S3, the namenode's OPEN URL for WebHDFS.
// Executors on Mesos agents then need no AWS SDK, Hadoop client or credentials of their own.

import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl, S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { redactSecrets, redactUrlCredentials, SparkMesosError, truncateBody } from '@spark-mesos/errors';
import { request } from 'undici';
import type { DestinationOptions } from './destination.js';
import {
  describeSdkError,
  isRetryableS3Error,
  parseS3Uri,
  type ResolvedClient,
  resolveS3Client,
  S3_SCHEMES,
  type S3StoreOptions,
  s3FixFor,
  type UriRole,
} from './s3-destination.js';
import {
  askNamenodes,
  isNetworkError,
  parseWebHdfsLocation,
  type RemoteException,
  remoteExceptionOf,
  resolveWebHdfsIdentity,
  WEBHDFS_SCHEMES,
  type WebHdfsIdentity,
  type WebHdfsLocation,
  type WebHdfsStoreOptions,
  webHdfsFixFor,
  webHdfsUrl,
} from './webhdfs-destination.js';

/** One file in a store. */
export interface StoredFile {
  /** Its URI, in the scheme the location was given in (`s3a://bucket/dir/part-00000`). */
  readonly uri: string;
  /** Its size in bytes. */
  readonly size: number;
}

/** How a task reads a {@link StoredFile} with plain HTTP(S). */
export interface StoredFileReadUrl {
  /**
   * A URL that a `GET` reads the whole file from, with no SDK and no credentials of its own. It
   * is itself a credential (a signature or a delegation token may be in its query): never log
   * it, and redact its query string in messages.
   */
  readonly url: string;
  /**
   * How to start reading at a byte offset: absent means an HTTP `Range: bytes=<offset>-` header
   * (S3); `'offset'` means an `offset=<offset>` query parameter (WebHDFS' OPEN, whose namenode
   * answers 307 to a datanode that `fetch` follows).
   * @default undefined (a Range header)
   */
  readonly rangeParam?: 'offset';
  /** When the URL stops working (presigned S3 URLs); absent when it does not expire by itself. */
  readonly expiresAt?: Date;
}

/** Options of the reader: the stores' own options, as {@link createDestination} takes them. */
export interface StoreReaderOptions extends DestinationOptions {
  /** S3 connection options (endpoint, region, credentials, client). @default {} */
  readonly s3?: S3StoreOptions;
  /** WebHDFS options (user, delegation token, namenode HTTP addresses). @default {} */
  readonly webHdfs?: WebHdfsStoreOptions;
  /**
   * How long presigned S3 URLs stay valid, in seconds, from the call of `readUrlOf` (at most
   * 604800, SigV4's limit of 7 days). A job must read its splits within that time; temporary
   * credentials (a session token, an instance role) end a URL's validity when they expire, even
   * sooner.
   * @default 3600 (one hour)
   */
  readonly urlExpirySeconds?: number;
  /** The clock presigned URLs are dated by. @default () => new Date() */
  readonly now?: () => Date;
}

/** Lists and reads the files of the stores the uploader writes to. */
export interface StoreReader {
  /**
   * The files behind `location`, sorted by URI within each directory, as Hadoop's
   * `FileInputFormat` finds them: a file; a directory or key prefix (`s3a://b/out/`, its files one
   * level down, not recursing, skipping names that start with `_` or `.` — so `_SUCCESS` —, and
   * directory markers); or a pattern with `*`, `?`, `[abc]`, `[!abc]` in the last path component
   * (matching files, and directories whose files are then listed).
   *
   * @throws SparkMesosError `SM_ERR_INPUT_NOT_FOUND` naming the URI when nothing is there (a
   *   missing key, prefix, bucket or path; a pattern matching nothing); `SM_ERR_INPUT_READ`
   *   (`details.retryable`, `status?`, `s3Code?`/`exception?`) when the store refuses or fails,
   *   explained (wrong access key or secret, access denied, Kerberos, an unreachable endpoint);
   *   `SM_ERR_BAD_CONFIG` for a scheme other than {@link STORE_READ_SCHEMES}.
   */
  list(location: string): Promise<StoredFile[]>;
  /**
   * A URL a task can `GET` the file from (see {@link StoredFileReadUrl}). S3: a presigned GET,
   * valid for {@link StoreReaderOptions.urlExpirySeconds}. WebHDFS: the OPEN URL of the namenode
   * that answered last, with `user.name` or `delegation` as the store sends them.
   */
  readUrlOf(file: StoredFile | string): Promise<StoredFileReadUrl>;
}

/** The URI schemes {@link listStoredFiles} and {@link readUrlOf} read. */
export const STORE_READ_SCHEMES: readonly string[] = [...S3_SCHEMES, ...WEBHDFS_SCHEMES];

/** Whether `uri` names a store this module reads (`s3://`, `s3a://`, `s3n://`, `hdfs://`, …). */
export function isStoredFileUri(uri: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  return scheme !== undefined && STORE_READ_SCHEMES.includes(scheme);
}

const INPUT_ROLE: UriRole = { code: 'SM_ERR_INPUT_READ', noun: 'input' };
const DEFAULT_URL_EXPIRY_SECONDS = 3600;
const MAX_URL_EXPIRY_SECONDS = 604800;

/** Lists the files behind `location` (see {@link StoreReader.list}) with a one-use reader. */
export function listStoredFiles(location: string, options: StoreReaderOptions = {}): Promise<StoredFile[]> {
  return createStoreReader(options).list(location);
}

/** A plain HTTP(S) URL reading `file` (see {@link StoreReader.readUrlOf}) with a one-use reader. */
export function readUrlOf(file: StoredFile | string, options: StoreReaderOptions = {}): Promise<StoredFileReadUrl> {
  return createStoreReader(options).readUrlOf(file);
}

/**
 * A reader over the stores, resolving endpoints, credentials and namenode addresses as the
 * uploader's stores do (options, then Spark conf `spark.hadoop.fs.s3a.*` / `dfs.*`, then the
 * environment and the AWS chains). It keeps one S3 client and, per HDFS authority, the namenode
 * that answered last, so list a location and make its URLs with one reader.
 */
export function createStoreReader(options: StoreReaderOptions = {}): StoreReader {
  const expirySeconds = options.urlExpirySeconds ?? DEFAULT_URL_EXPIRY_SECONDS;
  if (!Number.isSafeInteger(expirySeconds) || expirySeconds < 1 || expirySeconds > MAX_URL_EXPIRY_SECONDS) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `The read URL expiry ${expirySeconds} s is not usable: give whole seconds from 1 to ${MAX_URL_EXPIRY_SECONDS} (7 days, the longest a SigV4 presigned URL lives)`,
      { cause: { urlExpirySeconds: expirySeconds } },
    );
  }
  let s3: ResolvedClient | undefined;
  const s3Client = (): ResolvedClient => {
    s3 ??= resolveS3Client(options, INPUT_ROLE);
    return s3;
  };
  const presigner = createS3Presigner(s3Client, expirySeconds, options.now ?? (() => new Date()), s3Failure);
  const identity = resolveWebHdfsIdentity(options);
  /** Per `scheme://authority`: the index of the namenode that answered last. */
  const activeNamenodes = new Map<string, number>();

  const schemeOf = (uri: string): string => storeSchemeOf(uri, STORE_READ_SCHEMES, 'read');

  return {
    async list(location) {
      return S3_SCHEMES.includes(schemeOf(location))
        ? listS3(location, s3Client)
        : listWebHdfs(location, options, identity, activeNamenodes);
    },
    async readUrlOf(file) {
      const uri = typeof file === 'string' ? file : file.uri;
      if (S3_SCHEMES.includes(schemeOf(uri))) return presigner(uri);
      const location = parseWebHdfsLocation(uri, options, INPUT_ROLE);
      const base = location.httpBases[activeNamenodes.get(authorityOf(uri)) ?? 0] as string;
      return { url: webHdfsUrl(base, location.directory, 'OPEN', {}, identity), rangeParam: 'offset' };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Names and patterns

const notHidden = (name: string): boolean => !name.startsWith('_') && !name.startsWith('.');
const hasGlob = (component: string): boolean => /[*?[]/.test(component);

/** A glob of one path component (`*`, `?`, `[abc]`, `[!abc]`, `[a-z]`) as a regular expression. */
function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const character = glob[index] as string;
    if (character === '*') source += '[^/]*';
    else if (character === '?') source += '[^/]';
    else if (character === '[') {
      const close = glob.indexOf(']', index + 2);
      if (close === -1) source += '\\[';
      else {
        const body = glob.slice(index + 1, close).replace(/\\/g, '\\\\');
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        index = close;
      }
    } else source += character.replace(/[\\^$.|+(){}\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The part of a glob before its first wildcard: a listing prefix that narrows the listing. */
const literalHead = (glob: string): string => glob.slice(0, glob.search(/[*?[]/));

/**
 * A location with `?` and `#` escaped after the authority: in a Hadoop path `?` is a wildcard
 * (and `#` a character), while a URL parser would take them for a query and a fragment.
 */
function globSafe(location: string): string {
  const authorityEnd = location.indexOf('/', location.indexOf('://') + 3);
  if (authorityEnd === -1) return location;
  return location.slice(0, authorityEnd) + location.slice(authorityEnd).replace(/\?/g, '%3F').replace(/#/g, '%23');
}

/** @internal shared with `stored-output.ts` */
export const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

function authorityOf(uri: string): string {
  const url = new URL(uri);
  return `${url.protocol}//${url.host}`;
}

function notFound(uri: string, what: string, fix: string, details: Record<string, unknown> = {}): SparkMesosError {
  return new SparkMesosError('SM_ERR_INPUT_NOT_FOUND', `Input path does not exist: ${uri} (${what}); ${fix}`, {
    cause: { uri },
    details: { uri, ...details },
  });
}

// ---------------------------------------------------------------------------------------------
// S3

/**
 * Bucket and key of an `s3://bucket/key` URI (key without a leading `/` or a trailing one,
 * decoded). @internal shared with `stored-output.ts`
 */
export function s3Parts(
  uri: string,
  role: UriRole = INPUT_ROLE,
): { scheme: string; bucket: string; key: string; directory: boolean } {
  const location = parseS3Uri(uri, role);
  const directory = new URL(uri).pathname.endsWith('/');
  return { scheme: location.scheme, bucket: location.bucket, key: location.prefix.replace(/\/$/, ''), directory };
}

function s3Failure(
  operation: string,
  uri: string,
  bucket: string,
  error: unknown,
  connection: ResolvedClient | undefined,
): SparkMesosError {
  if (error instanceof SparkMesosError) return error;
  const { code, status, message } = describeSdkError(error);
  const retryable = isRetryableS3Error(error, code, status);
  const endpoint = connection?.endpointLabel ?? 'the S3 endpoint';
  const fix = retryable
    ? `this looks temporary (server error, throttling or network); run the job again, and check that ${endpoint} is up`
    : s3FixFor(code, bucket, endpoint, 'read');
  const text = `S3 ${operation} of ${uri} failed: ${code}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}. Fix: ${fix}.`;
  return new SparkMesosError(
    'SM_ERR_INPUT_READ',
    redactUrlCredentials(redactSecrets(text, connection?.secrets ?? [])),
    {
      cause: error,
      details: { uri, retryable, s3Code: code, ...(status !== undefined ? { status } : {}) },
    },
  );
}

interface S3Listing {
  /** Objects directly under the prefix: key and size. */
  readonly objects: Array<{ key: string; size: number }>;
  /** "Sub-directories" (common prefixes), each ending in `/`. */
  readonly prefixes: string[];
}

async function listS3Prefix(client: S3Client, bucket: string, prefix: string): Promise<S3Listing> {
  const objects: Array<{ key: string; size: number }> = [];
  const prefixes: string[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        Delimiter: '/',
        ...(continuationToken !== undefined ? { ContinuationToken: continuationToken } : {}),
      }),
    );
    for (const entry of page.Contents ?? []) {
      if (entry.Key !== undefined) objects.push({ key: entry.Key, size: entry.Size ?? 0 });
    }
    for (const entry of page.CommonPrefixes ?? []) if (entry.Prefix !== undefined) prefixes.push(entry.Prefix);
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken !== undefined);
  return { objects, prefixes };
}

async function listS3(location: string, connection: () => ResolvedClient): Promise<StoredFile[]> {
  const { scheme, bucket, key, directory } = s3Parts(globSafe(location));
  const uriOf = (objectKey: string) => `${scheme}://${bucket}/${encodePath(objectKey)}`;
  const shown = redactUrlCredentials(location);
  const resolved = (() => {
    try {
      return connection();
    } catch (error) {
      throw s3Failure('LIST', shown, bucket, error, undefined);
    }
  })();
  const { client } = resolved;
  const list = async (prefix: string): Promise<S3Listing> => {
    try {
      return await listS3Prefix(client, bucket, prefix);
    } catch (error) {
      if (describeSdkError(error).code === 'NoSuchBucket') {
        throw notFound(
          shown,
          `bucket ${bucket} does not exist at ${resolved.endpointLabel}`,
          'fix the bucket in the URI, or point spark.hadoop.fs.s3a.endpoint at the store that has it',
        );
      }
      throw s3Failure('LIST', shown, bucket, error, resolved);
    }
  };
  /** Files one level under a directory prefix (ending in `/`, or empty for the bucket's root). */
  const filesUnder = (listing: S3Listing, prefix: string): StoredFile[] =>
    listing.objects
      .filter((object) => object.key !== prefix && notHidden(object.key.slice(prefix.length)))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((object) => ({ uri: uriOf(object.key), size: object.size }));

  const slash = key.lastIndexOf('/');
  const last = key.slice(slash + 1);
  if (hasGlob(last)) {
    const parent = key.slice(0, slash + 1);
    const matcher = globToRegExp(last);
    const listing = await list(parent + literalHead(last));
    const entries = [
      ...listing.objects.map((object) => ({ name: object.key.slice(parent.length), object, prefix: undefined })),
      ...listing.prefixes.map((prefix) => ({ name: prefix.slice(parent.length, -1), object: undefined, prefix })),
    ]
      .filter((entry) => entry.name !== '' && notHidden(entry.name) && matcher.test(entry.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (entries.length === 0) {
      throw notFound(
        shown,
        'the pattern matches 0 files',
        'check the prefix and the pattern (*, ? and [...] match within the last path component)',
        { pattern: last },
      );
    }
    const files: StoredFile[] = [];
    for (const entry of entries) {
      if (entry.object !== undefined) files.push({ uri: uriOf(entry.object.key), size: entry.object.size });
      else files.push(...filesUnder(await list(entry.prefix as string), entry.prefix as string));
    }
    return files;
  }

  // A file first, as Hadoop's S3A getFileStatus does (HEAD, then a listing for a directory).
  if (key !== '' && !directory) {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return [{ uri: uriOf(key), size: head.ContentLength ?? 0 }];
    } catch (error) {
      const { code, status } = describeSdkError(error);
      // A HEAD answer has no body, so a refusal reads as a bare 403; the listing below names
      // the reason (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied).
      if (status !== 404 && status !== 403 && code !== 'NotFound' && code !== 'NoSuchKey') {
        throw s3Failure('HEAD', shown, bucket, error, resolved);
      }
    }
  }
  const prefix = key === '' ? '' : `${key}/`;
  const listing = await list(prefix);
  if (listing.objects.length === 0 && listing.prefixes.length === 0) {
    throw notFound(
      shown,
      `no object ${key === '' ? '' : `${key} and no key under ${prefix} `}in bucket ${bucket} at ${resolved.endpointLabel}`,
      'give an existing object, prefix ("directory") or pattern, and check the bucket and endpoint',
    );
  }
  return filesUnder(listing, prefix);
}

/** How the SDK writes a key in a URL path: each segment percent-encoded, `!'()*` too, `/` kept. */
const escapeUri = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
const encodeS3Key = (key: string): string => key.split('/').map(escapeUri).join('/');

/** What every presigned GET of one bucket shares: where it goes and the SDK's extra parameters. */
interface PresignTemplate {
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  /** The path up to the key (`/bucket/` path-style, `/` virtual-host style). */
  readonly pathPrefix: string;
  /** Query parameters that are not the signature's (`x-id=GetObject`, `x-amz-checksum-mode`). */
  readonly query: Readonly<Record<string, string>>;
}

/** The template of a URL `getSignedUrl` made for `key`, or null when it does not have the expected shape. */
function templateOf(signed: string, key: string): PresignTemplate | null {
  const url = new URL(signed);
  const encodedKey = encodeS3Key(key);
  if (!url.pathname.endsWith(encodedKey) || url.searchParams.get('X-Amz-SignedHeaders') !== 'host') return null;
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) if (!name.startsWith('X-Amz-')) query[name] = value;
  return {
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port !== '' ? { port: Number(url.port) } : {}),
    pathPrefix: url.pathname.slice(0, url.pathname.length - encodedKey.length),
    query,
  };
}

/** What a failed S3 call becomes: the reader's input error, or the writer's output error. @internal */
export type S3FailureOf = (
  operation: string,
  uri: string,
  bucket: string,
  error: unknown,
  connection: ResolvedClient | undefined,
) => SparkMesosError;

/** Signs one URL: a GET (read) or a PUT (write) of the object `uri` names. @internal */
export type S3Presigner = (uri: string, method?: 'GET' | 'PUT') => Promise<StoredFileReadUrl>;

/**
 * Presigns GETs and PUTs. The SDK's `getSignedUrl` runs the whole middleware stack (endpoint rules,
 * serialisation) for every URL: about 1 ms each on a busy 2-core machine, so 10,000 files took
 * over 10 s of driver time. The first URL of a bucket is made that way and kept as a template
 * (host, path prefix, extra parameters); the others are signed straight from it with the SDK's
 * own SigV4 presigner (about 0.05 ms each), and give byte for byte the URL `getSignedUrl` gives
 * (a test compares them).
 *
 * A PUT is signed from the same template with only `x-id=PutObject` in its query. `getSignedUrl`
 * of a `PutObjectCommand` would not do: with the SDK's default flexible checksums (on for AWS
 * itself) it signs `x-amz-checksum-crc32` of the command's empty body into the URL, so a store that
 * checks it refuses every non-empty part. The template's PUT is the URL `getSignedUrl` makes when
 * checksums are asked for only where required (a test compares them).
 * @internal shared with `stored-output.ts`
 */
export function createS3Presigner(
  connection: () => ResolvedClient,
  expirySeconds: number,
  now: () => Date,
  failure: S3FailureOf,
): S3Presigner {
  const templates = new Map<string, PresignTemplate | null>();
  let signer: S3RequestPresigner | undefined;
  return async (uri, method = 'GET') => {
    const { bucket, key } = s3Parts(uri);
    let resolved: ResolvedClient | undefined;
    try {
      resolved = connection();
      const signingDate = now();
      const expiresAt = new Date(signingDate.getTime() + expirySeconds * 1000);
      let template = templates.get(bucket);
      if (template === undefined || template === null) {
        const url = await getSignedUrl(resolved.client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
          expiresIn: expirySeconds,
          signingDate,
        });
        if (template === undefined) {
          template = templateOf(url, key);
          templates.set(bucket, template);
        }
        if (method === 'GET') return { url, expiresAt };
        if (template === null) {
          // An endpoint whose URLs do not have the usual shape: the SDK's own PUT, with
          // whatever checksum parameters its configuration adds.
          const put = await getSignedUrl(resolved.client, new PutObjectCommand({ Bucket: bucket, Key: key }), {
            expiresIn: expirySeconds,
            signingDate,
          });
          return { url: put, expiresAt };
        }
      }
      signer ??= new S3RequestPresigner({ ...resolved.client.config });
      const signed = await signer.presign(
        {
          method,
          protocol: template.protocol,
          hostname: template.hostname,
          ...(template.port !== undefined ? { port: template.port } : {}),
          path: template.pathPrefix + encodeS3Key(key),
          query: method === 'GET' ? { ...template.query } : { 'x-id': 'PutObject' },
          headers: { host: template.port !== undefined ? `${template.hostname}:${template.port}` : template.hostname },
        },
        { expiresIn: expirySeconds, signingDate },
      );
      const signedQuery = signed.query ?? {};
      const query = Object.keys(signedQuery)
        .sort()
        .map((name) => `${escapeUri(name)}=${escapeUri(String(signedQuery[name]))}`)
        .join('&');
      const port = template.port !== undefined ? `:${template.port}` : '';
      return { url: `${template.protocol}//${template.hostname}${port}${signed.path}?${query}`, expiresAt };
    } catch (error) {
      throw failure(`presigning a ${method}`, redactUrlCredentials(uri), bucket, error, resolved);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// WebHDFS

interface FileStatus {
  readonly pathSuffix?: string;
  readonly type?: string;
  readonly length?: number;
}

async function listWebHdfs(
  uri: string,
  options: StoreReaderOptions,
  identity: WebHdfsIdentity,
  activeNamenodes: Map<string, number>,
): Promise<StoredFile[]> {
  const location: WebHdfsLocation = parseWebHdfsLocation(globSafe(uri), options, INPUT_ROLE);
  const authority = authorityOf(uri);
  const shown = redactUrlCredentials(redactSecrets(uri, identity.secrets));
  const redact = (text: string) => redactUrlCredentials(redactSecrets(text, identity.secrets));
  const uriOf = (path: string) => `${authority}${encodePath(path)}`;
  const namenodes = () =>
    location.httpBases.length === 1
      ? `the namenode ${location.httpBases[0]}`
      : `the namenodes ${location.httpBases.join(', ')}`;

  /** One GET to the namenode; with an HA pair, a standby or unreachable one is skipped. */
  const get = async (path: string, op: string): Promise<{ status: number; text: string }> => {
    let asked: { answer: { status: number; text: string }; active?: number };
    try {
      asked = await askNamenodes(location.httpBases, activeNamenodes.get(authority) ?? 0, async (base) => {
        const response = await request(webHdfsUrl(base, path, op, {}, identity), {
          method: 'GET',
          ...(options.dispatcher !== undefined ? { dispatcher: options.dispatcher } : {}),
        });
        return { status: response.statusCode, text: await response.body.text() };
      });
    } catch (lastError) {
      if (!isNetworkError(lastError)) throw lastError;
      throw new SparkMesosError(
        'SM_ERR_INPUT_READ',
        redact(
          `WebHDFS ${op} of ${shown} failed: ${namenodes()} did not answer (${(lastError as Error)?.message ?? lastError}). Fix: check the namenode HTTP address (spark.hadoop.dfs.namenode.http-address, default port 9870) and that this machine reaches it.`,
        ),
        { cause: lastError, details: { uri: shown, retryable: true } },
      );
    }
    if (asked.active !== undefined) activeNamenodes.set(authority, asked.active);
    return asked.answer;
  };

  const failure = (op: string, path: string, answer: { status: number; text: string }): SparkMesosError => {
    const remote: RemoteException | undefined = remoteExceptionOf(answer.text);
    const what = remote
      ? `${remote.exception}: ${remote.message}`
      : `HTTP ${answer.status}${answer.text ? `: ${truncateBody(answer.text, 512)}` : ''}`;
    const retryable = answer.status >= 500 || answer.status === 429;
    const fix = retryable
      ? 'this looks temporary; run the job again'
      : webHdfsFixFor(remote, answer.status, identity.userLabel, path, 'read');
    return new SparkMesosError(
      'SM_ERR_INPUT_READ',
      redact(`WebHDFS ${op} of ${uriOf(path)} failed (HTTP ${answer.status}): ${what}. Fix: ${fix}.`),
      {
        cause: remote ?? { status: answer.status, body: truncateBody(answer.text) },
        details: {
          uri: uriOf(path),
          retryable,
          status: answer.status,
          ...(remote ? { exception: remote.exception } : {}),
        },
      },
    );
  };

  const isMissing = (answer: { status: number; text: string }) =>
    answer.status === 404 && remoteExceptionOf(answer.text)?.exception === 'FileNotFoundException';

  const listStatus = async (path: string): Promise<FileStatus[] | undefined> => {
    const answer = await get(path, 'LISTSTATUS');
    if (isMissing(answer)) return undefined;
    if (answer.status !== 200) throw failure('LISTSTATUS', path, answer);
    try {
      return (JSON.parse(answer.text) as { FileStatuses: { FileStatus: FileStatus[] } }).FileStatuses.FileStatus;
    } catch {
      throw failure('LISTSTATUS (not a FileStatuses answer)', path, answer);
    }
  };
  const join = (directory: string, name: string) => (directory === '' ? `/${name}` : `${directory}/${name}`);
  const filesIn = (directory: string, entries: readonly FileStatus[]): StoredFile[] =>
    entries
      .filter((entry) => entry.type === 'FILE' && entry.pathSuffix !== undefined && notHidden(entry.pathSuffix))
      .sort((a, b) => ((a.pathSuffix as string) < (b.pathSuffix as string) ? -1 : 1))
      .map((entry) => ({ uri: uriOf(join(directory, entry.pathSuffix as string)), size: entry.length ?? 0 }));
  const missing = (what: string) =>
    notFound(
      shown,
      what,
      `give an existing file, directory or pattern (the path is read as user ${identity.userLabel})`,
    );

  const path = location.directory;
  const slash = path.lastIndexOf('/');
  const last = path.slice(slash + 1);
  if (hasGlob(last)) {
    const parent = path.slice(0, slash);
    const matcher = globToRegExp(last);
    const entries = await listStatus(parent === '' ? '/' : parent);
    if (entries === undefined) throw missing(`the directory ${parent || '/'} does not exist`);
    const matched = entries
      .filter(
        (entry) => entry.pathSuffix !== undefined && notHidden(entry.pathSuffix) && matcher.test(entry.pathSuffix),
      )
      .sort((a, b) => ((a.pathSuffix as string) < (b.pathSuffix as string) ? -1 : 1));
    if (matched.length === 0) throw missing('the pattern matches 0 files');
    const files: StoredFile[] = [];
    for (const entry of matched) {
      const childPath = join(parent, entry.pathSuffix as string);
      if (entry.type === 'FILE') files.push({ uri: uriOf(childPath), size: entry.length ?? 0 });
      else if (entry.type === 'DIRECTORY') files.push(...filesIn(childPath, (await listStatus(childPath)) ?? []));
    }
    return files;
  }
  const answer = await get(path === '' ? '/' : path, 'GETFILESTATUS');
  if (isMissing(answer)) throw missing(`no such file or directory on ${namenodes()}`);
  if (answer.status !== 200) throw failure('GETFILESTATUS', path, answer);
  let status: FileStatus | undefined;
  try {
    status = (JSON.parse(answer.text) as { FileStatus?: FileStatus }).FileStatus;
  } catch {
    status = undefined;
  }
  if (status === undefined) throw failure('GETFILESTATUS (not a FileStatus answer)', path, answer);
  if (status.type === 'FILE') return [{ uri: uriOf(path), size: status.length ?? 0 }];
  const entries = await listStatus(path === '' ? '/' : path);
  if (entries === undefined) throw missing('the directory vanished while it was listed');
  return filesIn(path, entries);
}

/**
 * The lower-case scheme of a store URI, one of `schemes`.
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the URI (credentials masked) and the schemes.
 * @internal shared by the store reader and writer
 */
export function storeSchemeOf(uri: string, schemes: readonly string[], use: 'read' | 'write'): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || !schemes.includes(scheme)) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `Cannot ${use} "${redactUrlCredentials(uri)}" ${use === 'read' ? 'from' : 'to'} a store: ${scheme === undefined ? 'no URI scheme' : `unsupported scheme "${scheme}:"`}. Use one of ${schemes.map((name) => `${name}://`).join(', ')}.`,
      { cause: { uri: redactUrlCredentials(uri) } },
    );
  }
  return scheme;
}
