// The S3 store: `s3://`, `s3a://` and `s3n://` prefixes, through the AWS SDK v3. S3 has no rename,
// so an object is written straight to its final key: a single PUT or a completed multipart upload
// becomes visible atomically, all at once, and an aborted multipart upload leaves no object
// behind (its parts stay invisible until aborted or expired by a lifecycle rule).

import { createReadStream } from 'node:fs';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { redactSecrets, redactUrlCredentials, SparkMesosError } from '@spark-mesos/errors';
import type {
  ArtifactDestination,
  ArtifactFile,
  DestinationOperationContext,
  DestinationOptions,
  FetchCheck,
  StoredArtifact,
} from './destination.js';

/** Static S3 credentials, or the SDK's credential provider function. */
export type S3Credentials = NonNullable<S3ClientConfig['credentials']>;

/** Options of the S3 store. Anything left unset falls back to Spark conf, then the AWS chain. */
export interface S3StoreOptions {
  /**
   * Endpoint URL of an S3-compatible store (`http://127.0.0.1:9000`). A custom endpoint turns on
   * path-style addressing and checksums only where required (see {@link createS3Destination}).
   * @default conf `spark.hadoop.fs.s3a.endpoint`, else AWS S3 for the region
   */
  readonly endpoint?: string;
  /**
   * AWS region.
   * @default conf `spark.hadoop.fs.s3a.endpoint.region`, else env `AWS_REGION` /
   * `AWS_DEFAULT_REGION`, else `us-east-1` with a custom endpoint, else the SDK's region chain
   */
  readonly region?: string;
  /**
   * Path-style addressing (`http://host/bucket/key`) instead of virtual-host style.
   * @default conf `spark.hadoop.fs.s3a.path.style.access`, else `true` with a custom endpoint
   */
  readonly forcePathStyle?: boolean;
  /**
   * Credentials.
   * @default conf `spark.hadoop.fs.s3a.access.key` + `spark.hadoop.fs.s3a.secret.key` (+
   * `spark.hadoop.fs.s3a.session.token`), else the SDK's default credential chain (env, profile,
   * SSO, web identity, container and instance metadata)
   */
  readonly credentials?: S3Credentials;
  /** A ready S3 client; every other connection option is then ignored. @default a new client */
  readonly client?: S3Client;
  /**
   * Size of each part of a multipart upload; files up to this size go in one PUT. At least
   * 5 MiB (S3's minimum part size).
   * @default 16 MiB
   */
  readonly partSize?: number;
  /** Parts sent at the same time. @default 4 */
  readonly queueSize?: number;
}

/** What {@link createS3Destination} accepts: the common options plus `s3`. */
export interface S3DestinationOptions extends DestinationOptions {
  /** S3 connection options. @default {} */
  readonly s3?: S3StoreOptions;
}

/** The URI schemes the S3 store serves. */
export const S3_SCHEMES: readonly string[] = ['s3', 's3a', 's3n'];

const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 4;
/** S3's smallest multipart part (all but the last). */
const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Errors the SDK names for throttling; worth retrying after a pause. */
const throttlingCodes = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
]);

/** Node and SDK names of failures below HTTP (no answer at all); worth retrying. */
const networkCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
  'RequestTimeout',
  'NetworkingError',
]);

/** A parsed `s3://bucket/prefix` URI. */
export interface S3Location {
  readonly scheme: string;
  readonly bucket: string;
  /** Key prefix: empty or ending in `/`. */
  readonly prefix: string;
}

/**
 * What a parse error says and which code it carries: the uploader's destinations and the
 * reader's inputs share the parser, not the wording.
 */
export interface UriRole {
  /**
   * `SM_ERR_ARTIFACT_UPLOAD` for destinations, `SM_ERR_INPUT_READ` for inputs,
   * `SM_ERR_OUTPUT_WRITE` for job outputs (`saveAsTextFile`).
   */
  readonly code: 'SM_ERR_ARTIFACT_UPLOAD' | 'SM_ERR_INPUT_READ' | 'SM_ERR_OUTPUT_WRITE';
  /** What the URI is, for messages: `destination`, `input`. */
  readonly noun: string;
}

const DESTINATION_ROLE: UriRole = { code: 'SM_ERR_ARTIFACT_UPLOAD', noun: 'destination' };

/** Parses `s3://bucket/prefix`; the prefix is empty or ends in `/`. */
export function parseS3Uri(uri: string, role: UriRole = DESTINATION_ROLE): S3Location {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (cause) {
    throw badUri(role, uri, 'it is not a URI', cause);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (!S3_SCHEMES.includes(scheme))
    throw badUri(role, uri, `the scheme ${scheme}:// is not one of s3, s3a, s3n`, { uri });
  if (url.username !== '' || url.password !== '') {
    throw badUri(
      role,
      uri,
      'credentials in the URI are not supported (the agents would need them too, and they end up in logs)',
      { uri: redactUrlCredentials(uri) },
      'set spark.hadoop.fs.s3a.access.key / spark.hadoop.fs.s3a.secret.key or use the AWS credential chain',
    );
  }
  if (url.hostname === '') throw badUri(role, uri, 'it names no bucket', { uri });
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  const prefix = path === '' || path.endsWith('/') ? path : `${path}/`;
  return { scheme, bucket: url.hostname, prefix };
}

function badUri(
  role: UriRole,
  uri: string,
  what: string,
  cause: unknown,
  fix = 'write it as s3a://bucket/prefix/',
): SparkMesosError {
  return new SparkMesosError(
    role.code,
    `The S3 ${role.noun} ${redactUrlCredentials(uri)} is not usable: ${what}. Fix: ${fix}.`,
    { cause, details: { retryable: false } },
  );
}

function parseBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const normalized = value.trim().toLowerCase();
  if (normalized === 'true') return true;
  if (normalized === 'false') return false;
  return undefined;
}

/** An S3 client made from the options, with what messages need. */
export interface ResolvedClient {
  readonly client: S3Client;
  /** Where requests go, for messages. */
  readonly endpointLabel: string;
  /** Secret values to mask in every message. */
  readonly secrets: readonly string[];
}

/**
 * Makes the S3 client from `options.s3`, then Spark conf, then the AWS SDK's chains (see
 * {@link createS3Destination}); shared by the store and the reader (`stored-files.ts`).
 */
export function resolveS3Client(options: S3DestinationOptions, role: UriRole = DESTINATION_ROLE): ResolvedClient {
  const conf = options.conf ?? (() => undefined);
  const env = options.env ?? (() => undefined);
  const s3 = options.s3 ?? {};
  const secrets: string[] = [];
  const confSecret = conf('spark.hadoop.fs.s3a.secret.key');
  const confToken = conf('spark.hadoop.fs.s3a.session.token');
  for (const secret of [confSecret, confToken]) if (secret) secrets.push(secret);
  const explicit = s3.credentials;
  if (explicit !== undefined && typeof explicit !== 'function') {
    secrets.push(explicit.secretAccessKey);
    if (explicit.sessionToken) secrets.push(explicit.sessionToken);
  }
  if (s3.client !== undefined) return { client: s3.client, endpointLabel: 'the given S3 client', secrets };

  let endpoint = s3.endpoint ?? conf('spark.hadoop.fs.s3a.endpoint');
  // Hadoop's fs.s3a.endpoint is often a bare host; S3A then uses https unless SSL is turned off.
  if (endpoint !== undefined && endpoint.trim() !== '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
    const ssl = parseBoolean(conf('spark.hadoop.fs.s3a.connection.ssl.enabled')) ?? true;
    endpoint = `${ssl ? 'https' : 'http'}://${endpoint}`;
  }
  if (endpoint?.trim() === '') endpoint = undefined;
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    throw new SparkMesosError(
      role.code,
      `The S3 endpoint ${redactUrlCredentials(endpoint)} is not a URL. Fix: set s3.endpoint or spark.hadoop.fs.s3a.endpoint to http(s)://host:port or a bare host name.`,
      { cause: { endpoint: redactUrlCredentials(endpoint) }, details: { retryable: false } },
    );
  }
  const custom = endpoint !== undefined;
  const region =
    s3.region ??
    conf('spark.hadoop.fs.s3a.endpoint.region') ??
    env('AWS_REGION') ??
    env('AWS_DEFAULT_REGION') ??
    // S3-compatible stores ignore the region but SigV4 needs one.
    (custom ? 'us-east-1' : undefined);
  const forcePathStyle = s3.forcePathStyle ?? parseBoolean(conf('spark.hadoop.fs.s3a.path.style.access')) ?? custom;
  const accessKey = conf('spark.hadoop.fs.s3a.access.key');
  const credentials: S3Credentials | undefined =
    explicit ??
    (accessKey && confSecret
      ? { accessKeyId: accessKey, secretAccessKey: confSecret, ...(confToken ? { sessionToken: confToken } : {}) }
      : undefined);
  const config: S3ClientConfig = {
    forcePathStyle,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
    // Current SDK v3 sends flexible checksums in aws-chunked bodies by default; S3-compatible
    // stores (MinIO releases, Ceph, test servers) mishandle them, so ask only where S3 requires.
    ...(custom ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
  };
  return {
    client: new S3Client(config),
    endpointLabel: endpoint ?? `AWS S3 (${region ?? 'region from the AWS chain'})`,
    secrets,
  };
}

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** The parts of an SDK or network error this store reasons about. */
export function describeSdkError(error: unknown): { code: string; status: number | undefined; message: string } {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const status = shape.$metadata?.httpStatusCode;
  // HEAD answers carry no body, so the SDK can only name them by status.
  // Node's network errors are plain `Error`s whose `code` says what happened (ECONNREFUSED).
  let code =
    shape.Code ??
    (shape.name !== undefined && shape.name !== 'Error' ? shape.name : undefined) ??
    shape.code ??
    'Error';
  // Without a body the SDK names the error `UnknownError`, or `Unknown` in recent releases.
  const unnamed = code === 'UnknownError' || code === 'Unknown';
  if (code === 'NotFound' || (unnamed && status === 404)) code = 'NotFound';
  if (unnamed && status === 403) code = 'AccessDenied';
  if (unnamed && status === 301) code = 'PermanentRedirect';
  const message = shape.message ?? String(error);
  return { code, status, message };
}

export function isRetryableS3Error(error: unknown, code: string, status: number | undefined): boolean {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape & { cause?: unknown };
  if (status !== undefined && status >= 500) return true;
  if (status === 429 || status === 408) return true;
  if (throttlingCodes.has(code)) return true;
  if (shape.$retryable !== undefined) return true;
  if (networkCodes.has(code)) return true;
  const causeCode = (shape.cause as { code?: string } | undefined)?.code;
  if (causeCode !== undefined && networkCodes.has(causeCode)) return true;
  return false;
}

/**
 * What to do about a non-retryable failure, by S3 error code; `access` names the permissions
 * the failed work needs.
 */
export function s3FixFor(
  code: string,
  bucket: string,
  endpointLabel: string,
  access: 'write' | 'read' = 'write',
): string {
  switch (code) {
    case 'AccessDenied':
      return `the credentials in use are not allowed this on bucket ${bucket}; grant them ${access === 'write' ? 's3:PutObject, s3:GetObject and s3:DeleteObject' : 's3:ListBucket and s3:GetObject'} on the prefix, or use other credentials (spark.hadoop.fs.s3a.access.key/secret.key, AWS_PROFILE, AWS_ACCESS_KEY_ID)`;
    case 'InvalidAccessKeyId':
      return `${endpointLabel} does not know this access key id; check spark.hadoop.fs.s3a.access.key / AWS_ACCESS_KEY_ID / the AWS profile, and that the endpoint (spark.hadoop.fs.s3a.endpoint) is the store the key belongs to`;
    case 'SignatureDoesNotMatch':
      return 'the secret key does not belong to the access key id (or the clock is far off); check spark.hadoop.fs.s3a.secret.key / AWS_SECRET_ACCESS_KEY';
    case 'NoSuchBucket':
      return `bucket ${bucket} does not exist at ${endpointLabel}; create it or fix the bucket in the URI`;
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return `bucket ${bucket} lives in another region; set spark.hadoop.fs.s3a.endpoint.region (or AWS_REGION) to the bucket's region`;
    case 'CredentialsProviderError':
      return 'no AWS credentials were found; set spark.hadoop.fs.s3a.access.key and spark.hadoop.fs.s3a.secret.key, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an AWS profile';
    case 'ExpiredToken':
    case 'InvalidToken':
    case 'TokenRefreshRequired':
      return 'the session token has expired or is invalid; refresh the credentials (spark.hadoop.fs.s3a.session.token, AWS_SESSION_TOKEN)';
    default:
      return `check the bucket, the credentials and the endpoint (${endpointLabel})`;
  }
}

/**
 * Creates the S3 store for `s3://bucket/prefix/` (also `s3a://`, `s3n://`; the URI an agent gets
 * keeps the scheme you gave, since the agent's Hadoop client decides what each scheme means).
 *
 * Connection settings come from `options.s3`, then Spark conf (`spark.hadoop.fs.s3a.endpoint`,
 * `.path.style.access`, `.access.key`, `.secret.key`, `.session.token`, `.endpoint.region`,
 * `.connection.ssl.enabled`), then the AWS SDK's default region and credential chains. A custom
 * endpoint gets path-style addressing and `requestChecksumCalculation` /
 * `responseChecksumValidation` `WHEN_REQUIRED`, so S3-compatible stores receive plain bodies.
 *
 * `put` writes the object under its final key (single PUT, or multipart above
 * {@link S3StoreOptions.partSize}) with metadata `x-amz-meta-sha256`, then checks size and
 * metadata with a HEAD; `stat` reads them back; `checkFetchable` is the HEAD an agent's Hadoop
 * client makes before reading.
 *
 * @see https://hadoop.apache.org/docs/stable/hadoop-aws/tools/hadoop-aws/index.html
 */
export function createS3Destination(uri: string, options: S3DestinationOptions): ArtifactDestination {
  const location = parseS3Uri(uri);
  const s3 = options.s3 ?? {};
  const partSize = s3.partSize ?? DEFAULT_PART_SIZE;
  const queueSize = s3.queueSize ?? DEFAULT_QUEUE_SIZE;
  if (
    !Number.isSafeInteger(partSize) ||
    partSize < MIN_PART_SIZE ||
    !Number.isSafeInteger(queueSize) ||
    queueSize < 1
  ) {
    throw new SparkMesosError(
      'SM_ERR_ARTIFACT_UPLOAD',
      `The S3 upload settings partSize ${partSize} / queueSize ${queueSize} are not usable. Fix: partSize at least ${MIN_PART_SIZE} bytes (5 MiB, S3's smallest part), queueSize at least 1.`,
      { cause: { partSize, queueSize }, details: { retryable: false } },
    );
  }
  let resolved: ResolvedClient | undefined;
  // The client is made on first use: building it reads no network, but a bad endpoint should
  // fail in an operation with a message, not in the factory.
  const connection = (): ResolvedClient => {
    resolved ??= resolveS3Client(options);
    return resolved;
  };
  const keyOf = (name: string): string => `${location.prefix}${name}`;
  const uriOf = (name: string): string => `${location.scheme}://${location.bucket}/${keyOf(name)}`;
  const redact = (text: string): string => redactUrlCredentials(redactSecrets(text, connection().secrets));

  const failure = (operation: string, name: string, error: unknown): SparkMesosError => {
    if (error instanceof SparkMesosError) return error;
    const { code, status, message } = describeSdkError(error);
    const retryable = isRetryableS3Error(error, code, status);
    const fix = retryable
      ? 'this looks temporary (server error, throttling or network); it is retried'
      : s3FixFor(code, location.bucket, connection().endpointLabel);
    return new SparkMesosError(
      'SM_ERR_ARTIFACT_UPLOAD',
      redact(
        `S3 ${operation} of ${uriOf(name)} failed: ${code}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}. ${retryable ? 'Note' : 'Fix'}: ${fix}.`,
      ),
      { cause: error, details: { retryable, ...(status !== undefined ? { status } : {}), s3Code: code } },
    );
  };

  const head = async (name: string, signal?: AbortSignal): Promise<HeadObjectCommandOutput | undefined> => {
    try {
      return await connection().client.send(
        new HeadObjectCommand({ Bucket: location.bucket, Key: keyOf(name) }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (error) {
      if (describeSdkError(error).code === 'NotFound' || describeSdkError(error).code === 'NoSuchKey') return undefined;
      throw error;
    }
  };

  const toStored = (output: HeadObjectCommandOutput): StoredArtifact => {
    const sha256 = output.Metadata?.sha256;
    return { size: output.ContentLength ?? 0, ...(sha256 ? { sha256 } : {}) };
  };

  const stat = async (name: string, context?: DestinationOperationContext): Promise<StoredArtifact | undefined> => {
    try {
      const output = await head(name, context?.signal);
      return output === undefined ? undefined : toStored(output);
    } catch (error) {
      throw failure('HEAD', name, error);
    }
  };

  const remove = async (name: string, context?: DestinationOperationContext): Promise<void> => {
    try {
      // DeleteObject answers 204 whether or not the key existed.
      await connection().client.send(
        new DeleteObjectCommand({ Bucket: location.bucket, Key: keyOf(name) }),
        context?.signal ? { abortSignal: context.signal } : {},
      );
    } catch (error) {
      if (describeSdkError(error).code === 'NoSuchKey') return;
      throw failure('DELETE', name, error);
    }
  };

  const put = async (name: string, file: ArtifactFile, context?: DestinationOperationContext): Promise<void> => {
    const abortController = new AbortController();
    const onAbort = () => abortController.abort(context?.signal?.reason);
    if (context?.signal?.aborted) onAbort();
    context?.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const upload = new Upload({
        client: connection().client,
        params: {
          Bucket: location.bucket,
          Key: keyOf(name),
          Body: createReadStream(file.path),
          ContentLength: file.size,
          ContentType: 'application/gzip',
          Metadata: { sha256: file.sha256 },
        },
        partSize,
        queueSize,
        // Abort the multipart upload on failure, so no parts are left to be billed.
        leavePartsOnError: false,
        abortController,
      });
      const onProgress = context?.onProgress;
      if (onProgress) upload.on('httpUploadProgress', (progress) => onProgress(progress.loaded ?? 0, file.size));
      await upload.done();
    } catch (error) {
      throw failure(file.size > partSize ? 'multipart upload' : 'PUT', name, error);
    } finally {
      context?.signal?.removeEventListener('abort', onAbort);
    }
    // S3 is strongly consistent for reads after writes, so this HEAD sees what was stored.
    let stored: StoredArtifact | undefined;
    try {
      const output = await head(name, context?.signal);
      stored = output === undefined ? undefined : toStored(output);
    } catch (error) {
      throw failure('HEAD after upload', name, error);
    }
    if (stored === undefined || stored.size !== file.size || stored.sha256 !== file.sha256) {
      const found = stored === undefined ? 'nothing' : `${stored.size} bytes with sha256 ${stored.sha256 ?? '(none)'}`;
      await remove(name, context).catch(() => undefined);
      throw new SparkMesosError(
        'SM_ERR_ARTIFACT_UPLOAD',
        redact(
          `S3 upload of ${uriOf(name)} did not stick: expected ${file.size} bytes with sha256 ${file.sha256}, found ${found}; the object was removed. Note: another writer or a store that drops metadata can cause this; it is retried.`,
        ),
        { cause: { expected: file, found: stored }, details: { retryable: true } },
      );
    }
  };

  const checkFetchable = async (name: string, context?: DestinationOperationContext): Promise<FetchCheck> => {
    // The Mesos fetcher hands s3/s3a/s3n URIs to the Hadoop client, whose S3A reader starts with a
    // HEAD on the object using the same credentials; make that request.
    let output: HeadObjectCommandOutput | undefined;
    try {
      output = await head(name, context?.signal);
    } catch (error) {
      const { code, status, message } = describeSdkError(error);
      throw new SparkMesosError(
        'SM_ERR_ARTIFACT_UNREACHABLE',
        redact(
          `The executor package ${uriOf(name)} is not fetchable: HEAD failed with ${code}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}. Fix: ${s3FixFor(code, location.bucket, connection().endpointLabel)}; agents fetch it with their Hadoop client's S3A settings, which must reach the same bucket.`,
        ),
        { cause: error, details: { uri: uriOf(name), ...(status !== undefined ? { status } : {}) } },
      );
    }
    if (output === undefined || output.ContentLength === undefined) {
      throw new SparkMesosError(
        'SM_ERR_ARTIFACT_UNREACHABLE',
        redact(
          `The executor package ${uriOf(name)} is not fetchable: HEAD ${output === undefined ? 'found no object (404)' : 'answered without a Content-Length'}. Fix: upload it again (or remove the prefix's lifecycle rule that deleted it) and check that the URI's bucket and prefix are the ones uploaded to.`,
        ),
        { cause: { uri: uriOf(name) }, details: { uri: uriOf(name), status: output === undefined ? 404 : 200 } },
      );
    }
    return { size: output.ContentLength };
  };

  return { uriOf, stat, put, remove, checkFetchable };
}
