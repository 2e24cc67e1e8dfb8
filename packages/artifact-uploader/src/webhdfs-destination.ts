// The HDFS store: `hdfs://nn:8020/path/` and `webhdfs://host:port/path/` (also `swebhdfs://`),
// through the WebHDFS REST API over undici. Bytes go to a hidden temporary name in the target
// directory (CREATE: the namenode answers 307 with a datanode URL, the bytes go there), which is
// then renamed to the final name, so nothing half-written ever carries the final name.
//
// See https://hadoop.apache.org/docs/stable/hadoop-project-dist/hadoop-hdfs/WebHDFS.html

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { redactSecrets, redactUrlCredentials, SparkMesosError, truncateBody } from '@spark-mesos/errors';
import { type Dispatcher, request } from 'undici';
import type {
  ArtifactDestination,
  ArtifactFile,
  DestinationOperationContext,
  DestinationOptions,
  FetchCheck,
  StoredArtifact,
} from './destination.js';
import type { UriRole } from './s3-destination.js';

/** Options of the WebHDFS store. */
export interface WebHdfsStoreOptions {
  /**
   * The HDFS user (`user.name`, for clusters without Kerberos). Ignored when a delegation token
   * is given.
   * @default conf `spark.hadoop.hadoop.user.name`, else env `HADOOP_USER_NAME`, else none (the
   * cluster's static web user, usually `dr.who`)
   */
  readonly user?: string;
  /**
   * A Hadoop delegation token (URL-safe string, as `hdfs fetchdt` or `GETDELEGATIONTOKEN` give),
   * sent as `delegation=`; needed on clusters with Kerberos.
   * @default undefined
   */
  readonly delegationToken?: string;
  /**
   * `host:port` of the namenode's HTTP server for `hdfs://` URIs, or of each namenode of an HA
   * pair (tried in order; a standby or unreachable one is skipped).
   * @default for `hdfs://<nameservice>/`: conf `spark.hadoop.dfs.ha.namenodes.<nameservice>` and
   * `spark.hadoop.dfs.namenode.http-address.<nameservice>.<id>` when
   * `spark.hadoop.dfs.nameservices` lists the URI's host; else conf
   * `spark.hadoop.dfs.namenode.http-address`; else the URI's host on port 9870
   */
  readonly httpAddress?: string | readonly string[];
}

/** What {@link createWebHdfsDestination} accepts: the common options plus `webHdfs`. */
export interface WebHdfsDestinationOptions extends DestinationOptions {
  /** WebHDFS options. @default {} */
  readonly webHdfs?: WebHdfsStoreOptions;
}

/** The URI schemes the WebHDFS store serves. */
export const WEBHDFS_SCHEMES: readonly string[] = ['hdfs', 'webhdfs', 'swebhdfs'];

/** Hadoop 3's default namenode HTTP port (`dfs.namenode.http-address`). */
const DEFAULT_NAMENODE_HTTP_PORT = 9870;
/** Hadoop 3's default namenode HTTPS port (`dfs.namenode.https-address`). */
const DEFAULT_NAMENODE_HTTPS_PORT = 9871;

/** Hadoop's error body: `{"RemoteException": {exception, javaClassName, message}}`. */
export interface RemoteException {
  readonly exception: string;
  readonly javaClassName?: string;
  readonly message: string;
}

/** A parsed `hdfs://`, `webhdfs://` or `swebhdfs://` URI and where its namenodes answer HTTP. */
export interface WebHdfsLocation {
  /** The URI as given, without a trailing slash, for `uriOf`. */
  readonly uriBase: string;
  /** `http(s)://host:port` of each namenode, in the order to try them. */
  readonly httpBases: readonly string[];
  /** The HDFS directory, absolute, without a trailing slash (`''` for the root). */
  readonly directory: string;
}

function badUri(role: UriRole, uri: string, what: string, fix: string, cause: unknown): SparkMesosError {
  return new SparkMesosError(
    role.code,
    `The HDFS ${role.noun} ${redactUrlCredentials(uri)} is not usable: ${what}. Fix: ${fix}.`,
    { cause, details: { retryable: false } },
  );
}

const DESTINATION_ROLE: UriRole = { code: 'SM_ERR_ARTIFACT_UPLOAD', noun: 'destination' };

/**
 * Parses a WebHDFS URI and finds its namenodes' HTTP addresses (`webHdfs.httpAddress`, an HA
 * nameservice from Spark conf, `spark.hadoop.dfs.namenode.http-address`, else port 9870); shared
 * by the store and the reader (`stored-files.ts`).
 */
export function parseWebHdfsLocation(
  uri: string,
  options: WebHdfsDestinationOptions,
  role: UriRole = DESTINATION_ROLE,
): WebHdfsLocation {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (cause) {
    throw badUri(
      role,
      uri,
      'it is not a URI',
      'write it as hdfs://namenode:8020/path/ or webhdfs://namenode:9870/path/',
      cause,
    );
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (!WEBHDFS_SCHEMES.includes(scheme)) {
    throw badUri(role, uri, `the scheme ${scheme}:// is not one of hdfs, webhdfs, swebhdfs`, 'use one of them', {
      uri,
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw badUri(
      role,
      uri,
      'credentials in the URI are not supported',
      'set the user with spark.hadoop.hadoop.user.name or HADOOP_USER_NAME, or pass a delegation token',
      { uri: redactUrlCredentials(uri) },
    );
  }
  if (url.hostname === '') throw badUri(role, uri, 'it names no namenode', 'write hdfs://namenode:8020/path/', { uri });
  const directory = decodeURIComponent(url.pathname).replace(/\/+$/, '');
  const uriBase = `${scheme}://${url.host}${url.pathname.replace(/\/+$/, '')}`;
  if (scheme === 'webhdfs' || scheme === 'swebhdfs') {
    const secure = scheme === 'swebhdfs';
    const port = url.port || String(secure ? DEFAULT_NAMENODE_HTTPS_PORT : DEFAULT_NAMENODE_HTTP_PORT);
    return { uriBase, httpBases: [`${secure ? 'https' : 'http'}://${url.hostname}:${port}`], directory };
  }
  // hdfs://nn:8020 names the RPC port; WebHDFS is on the namenode's HTTP server.
  const conf = options.conf ?? (() => undefined);
  const explicit = options.webHdfs?.httpAddress;
  let addresses: readonly string[] | undefined =
    explicit === undefined ? undefined : typeof explicit === 'string' ? [explicit] : explicit;
  const nameservices = (conf('spark.hadoop.dfs.nameservices') ?? '').split(',').map((entry) => entry.trim());
  if (addresses === undefined && url.port === '' && nameservices.includes(url.hostname)) {
    // An HA nameservice (hdfs://mycluster/): each namenode has its own HTTP address.
    const service = url.hostname;
    const ids = (conf(`spark.hadoop.dfs.ha.namenodes.${service}`) ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean);
    const found = ids.map((id) => conf(`spark.hadoop.dfs.namenode.http-address.${service}.${id}`));
    if (ids.length === 0 || found.some((address) => address === undefined)) {
      throw badUri(
        role,
        uri,
        `the nameservice ${service} has no HTTP address for every namenode`,
        `set spark.hadoop.dfs.ha.namenodes.${service} and spark.hadoop.dfs.namenode.http-address.${service}.<id> for each id`,
        { service, ids },
      );
    }
    addresses = found as string[];
  }
  addresses ??= [conf('spark.hadoop.dfs.namenode.http-address') ?? ''].filter((address) => address.trim() !== '');
  if (addresses.length === 0) {
    return { uriBase, httpBases: [`http://${url.hostname}:${DEFAULT_NAMENODE_HTTP_PORT}`], directory };
  }
  const httpBases = addresses.map((configured) => {
    const text = configured.trim();
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
    if (!URL.canParse(withScheme)) {
      throw badUri(
        role,
        uri,
        `the namenode HTTP address ${configured} is not host:port`,
        'set spark.hadoop.dfs.namenode.http-address to host:port',
        { configured },
      );
    }
    const address = new URL(withScheme);
    // Servers often bind 0.0.0.0; the namenode is then reached at the URI's host.
    const host = address.hostname === '0.0.0.0' || address.hostname === '' ? url.hostname : address.hostname;
    return `${address.protocol}//${host}:${address.port || String(DEFAULT_NAMENODE_HTTP_PORT)}`;
  });
  return { uriBase, httpBases, directory };
}

function encodePath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

/** Undici and Node error codes of failures below HTTP; a retry may get through. */
const networkCodes = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

export function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  const causeCode = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return networkCodes.has(code ?? '') || networkCodes.has(causeCode ?? '');
}

/** Exceptions a namenode throws that go away by themselves. */
const transientExceptions = new Set(['RetriableException', 'SafeModeException', 'LeaseExpiredException']);

/** What to do about a failed WebHDFS request, by the namenode's exception. */
export function webHdfsFixFor(
  remote: RemoteException | undefined,
  status: number,
  user: string,
  directory: string,
  access: 'write' | 'read' = 'write',
): string {
  switch (remote?.exception) {
    case 'AccessControlException':
      return access === 'write'
        ? `HDFS user ${user} may not write ${directory || '/'}; grant it (hdfs dfs -chown/-chmod ${directory || '/'}) or upload as a user who may (spark.hadoop.hadoop.user.name or HADOOP_USER_NAME, or a delegation token of that user)`
        : `HDFS user ${user} may not read ${directory || '/'}; grant it (hdfs dfs -chmod/-setfacl) or read as a user who may (spark.hadoop.hadoop.user.name or HADOOP_USER_NAME, or a delegation token of that user)`;
    case 'InvalidToken':
      return 'the delegation token is expired, cancelled or from another cluster; get a new one (hdfs fetchdt, or op=GETDELEGATIONTOKEN) and pass it';
    case 'SecurityException':
      return 'the cluster requires Kerberos; pass a delegation token (webHdfs.delegationToken)';
    case 'StandbyException':
      return 'this namenode is the standby; point the URI (or spark.hadoop.dfs.namenode.http-address) at the active namenode';
    case 'FileAlreadyExistsException':
      return 'another writer holds this name; retry later';
    case 'ParentNotDirectoryException':
      return `a file stands where the directory ${directory} should be; remove it or pick another prefix`;
    default:
      if (status === 401)
        return 'the cluster requires Kerberos (SPNEGO); pass a delegation token (webHdfs.delegationToken)';
      if (status === 404)
        return 'check that the URI names a WebHDFS namenode (dfs.webhdfs.enabled=true) and the right HTTP port';
      return 'check the URI, the namenode HTTP address and the user';
  }
}

/** Who WebHDFS requests act as, resolved once from the options. */
export interface WebHdfsIdentity {
  /** `user.name`, when no delegation token is given. */
  readonly user?: string;
  /** `delegation=`, which replaces `user.name`. */
  readonly token?: string;
  /** The user for messages. */
  readonly userLabel: string;
  /** Values to mask in messages (the token, raw and URL-encoded). */
  readonly secrets: readonly string[];
}

/**
 * The user or delegation token of WebHDFS requests: `webHdfs.delegationToken`, else
 * `webHdfs.user`, conf `spark.hadoop.hadoop.user.name`, env `HADOOP_USER_NAME`.
 */
export function resolveWebHdfsIdentity(options: WebHdfsDestinationOptions): WebHdfsIdentity {
  const conf = options.conf ?? (() => undefined);
  const env = options.env ?? (() => undefined);
  const token = options.webHdfs?.delegationToken;
  const user =
    token === undefined
      ? (options.webHdfs?.user ?? conf('spark.hadoop.hadoop.user.name') ?? env('HADOOP_USER_NAME'))
      : undefined;
  return {
    ...(user !== undefined ? { user } : {}),
    ...(token !== undefined ? { token } : {}),
    userLabel: user ?? (token !== undefined ? 'of the delegation token' : "(none: the cluster's static web user)"),
    secrets: token === undefined ? [] : [token, encodeURIComponent(token)],
  };
}

/** `<base>/webhdfs/v1<path>?op=…` with the identity's `user.name` or `delegation`. */
export function webHdfsUrl(
  base: string,
  path: string,
  op: string,
  parameters: Record<string, string>,
  identity: WebHdfsIdentity,
): string {
  const query = new URLSearchParams({ op, ...parameters });
  if (identity.token !== undefined) query.set('delegation', identity.token);
  else if (identity.user !== undefined) query.set('user.name', identity.user);
  return `${base}/webhdfs/v1${encodePath(path)}?${query.toString()}`;
}

/**
 * Asks the namenodes of an HA pair (or the one namenode) in turn, starting at index `first` (the
 * one that answered last): one that is unreachable or answers 403 `StandbyException` is skipped
 * for the next. Returns the first other answer with the index of the namenode that gave it (to
 * start there next time); when every namenode was skipped, the last standby answer (no index);
 * when none answered at all, throws the last network error. Other errors, and any error once
 * `signal` is aborted, are thrown at once.
 */
export async function askNamenodes<A extends { readonly status: number; readonly text: string }>(
  bases: readonly string[],
  first: number,
  send: (base: string) => Promise<A>,
  signal?: AbortSignal,
): Promise<{ answer: A; active?: number }> {
  let lastError: unknown;
  let lastStandby: A | undefined;
  for (let attempt = 0; attempt < bases.length; attempt++) {
    const index = (first + attempt) % bases.length;
    let answer: A;
    try {
      answer = await send(bases[index] as string);
    } catch (error) {
      if (!isNetworkError(error) || signal?.aborted) throw error;
      lastError = error;
      continue;
    }
    if (answer.status === 403 && remoteExceptionOf(answer.text)?.exception === 'StandbyException') {
      lastStandby = answer;
      continue;
    }
    return { answer, active: index };
  }
  if (lastStandby !== undefined) return { answer: lastStandby };
  throw lastError;
}

/** The `RemoteException` of a WebHDFS error body, when it is one. */
export function remoteExceptionOf(text: string): RemoteException | undefined {
  try {
    const parsed = JSON.parse(text) as { RemoteException?: RemoteException };
    return parsed.RemoteException;
  } catch {
    return undefined;
  }
}

/**
 * Creates the HDFS store for `hdfs://namenode:8020/path/` (WebHDFS at `http://namenode:9870`
 * unless `spark.hadoop.dfs.namenode.http-address` or `webHdfs.httpAddress` says otherwise),
 * `webhdfs://host:port/path/` or `swebhdfs://host:port/path/`.
 *
 * `put` streams the file with a two-step CREATE (namenode 307 → datanode, 201 Created) to a hidden
 * temporary name (`.<name>.<random>._COPYING_`) in the target directory, then RENAMEs it; an old
 * object under the final name is deleted first only when its length is wrong. `stat` is
 * GETFILESTATUS (length), `remove` is DELETE, `checkFetchable` is an OPEN followed to the
 * datanode, answering its `Content-Length`. Requests carry `user.name` (conf
 * `spark.hadoop.hadoop.user.name`, env `HADOOP_USER_NAME`) or `delegation`.
 */
export function createWebHdfsDestination(uri: string, options: WebHdfsDestinationOptions): ArtifactDestination {
  const location = parseWebHdfsLocation(uri, options);
  const conf = options.conf ?? (() => undefined);
  const identity = resolveWebHdfsIdentity(options);
  const userLabel = identity.userLabel;
  const dispatcher: Dispatcher | undefined = options.dispatcher;
  const redact = (text: string) => redactUrlCredentials(redactSecrets(text, identity.secrets));

  const pathOf = (name: string) => `${location.directory}/${name}`;
  const uriOf = (name: string) => `${location.uriBase}/${name}`;

  const urlOf = (base: string, path: string, op: string, parameters: Record<string, string> = {}) =>
    webHdfsUrl(base, path, op, parameters, identity);
  // Clusters with CSRF protection (dfs.webhdfs.rest-csrf.enabled) want this header on every
  // changing request; only its presence counts, and other clusters ignore it.
  const csrfHeader = conf('spark.hadoop.dfs.webhdfs.rest-csrf.custom-header') ?? 'X-XSRF-HEADER';
  /** The namenode that answered last; an HA pair is tried from there. */
  let activeNamenode = 0;

  interface Answer {
    readonly status: number;
    readonly headers: Record<string, string | string[] | undefined>;
    readonly text: string;
  }

  const send = async (
    method: Dispatcher.HttpMethod,
    url: string,
    init: {
      body?: NodeJS.ReadableStream;
      headers?: Record<string, string>;
      signal?: AbortSignal;
      keepBody?: boolean;
    } = {},
  ): Promise<Answer & { body?: Dispatcher.ResponseData['body'] }> => {
    const response = await request(url, {
      method,
      ...(dispatcher !== undefined ? { dispatcher } : {}),
      ...(init.body !== undefined ? { body: init.body as unknown as import('node:stream').Readable } : {}),
      headers: { ...(method === 'GET' ? {} : { [csrfHeader]: '' }), ...init.headers },
      ...(init.signal !== undefined ? { signal: init.signal } : {}),
    });
    if (init.keepBody && response.statusCode === 200) {
      return { status: response.statusCode, headers: response.headers, text: '', body: response.body };
    }
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text };
  };

  const remoteOf = (answer: Answer): RemoteException | undefined => remoteExceptionOf(answer.text);

  const httpFailure = (operation: string, name: string, answer: Answer): SparkMesosError => {
    const remote = remoteOf(answer);
    const retryable =
      answer.status >= 500 ||
      answer.status === 429 ||
      (remote !== undefined && transientExceptions.has(remote.exception));
    const what = remote
      ? `${remote.exception}: ${remote.message}`
      : `HTTP ${answer.status}${answer.text ? `: ${truncateBody(answer.text, 512)}` : ''}`;
    const fix = retryable
      ? 'this looks temporary; it is retried'
      : webHdfsFixFor(remote, answer.status, userLabel, location.directory);
    return new SparkMesosError(
      'SM_ERR_ARTIFACT_UPLOAD',
      redact(
        `WebHDFS ${operation} of ${uriOf(name)} failed (HTTP ${answer.status}): ${what}. ${retryable ? 'Note' : 'Fix'}: ${fix}.`,
      ),
      {
        cause: remote ?? { status: answer.status, body: truncateBody(answer.text) },
        details: { retryable, status: answer.status, ...(remote ? { exception: remote.exception } : {}) },
      },
    );
  };

  const networkFailure = (operation: string, name: string, target: string, error: unknown): SparkMesosError => {
    if (error instanceof SparkMesosError) return error;
    const retryable = isNetworkError(error);
    const message = (error as Error | undefined)?.message ?? String(error);
    return new SparkMesosError(
      'SM_ERR_ARTIFACT_UPLOAD',
      redact(
        `WebHDFS ${operation} of ${uriOf(name)} failed talking to ${target}: ${message}. ${retryable ? 'Note: a network failure; it is retried' : 'Fix: check the namenode address and that this machine reaches the namenode and datanode HTTP ports'}.`,
      ),
      { cause: error, details: { retryable } },
    );
  };

  /**
   * Sends one request to the namenode. With an HA pair, a namenode that is unreachable or answers
   * `StandbyException` is skipped for the next one; the last answer or error is what remains.
   */
  const toNamenode = async (
    method: Dispatcher.HttpMethod,
    path: string,
    op: string,
    parameters: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Answer> => {
    const { answer, active } = await askNamenodes(
      location.httpBases,
      activeNamenode,
      (base) => send(method, urlOf(base, path, op, parameters), signal ? { signal } : {}),
      signal,
    );
    if (active !== undefined) activeNamenode = active;
    return answer;
  };

  const namenodeLabel = () =>
    location.httpBases.length === 1
      ? `the namenode ${location.httpBases[0]}`
      : `the namenodes ${location.httpBases.join(', ')}`;

  /** Runs one namenode call; a network failure becomes an error, answers are returned. */
  const namenodeCall = async (
    operation: string,
    name: string,
    method: Dispatcher.HttpMethod,
    path: string,
    op: string,
    parameters: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Answer> => {
    try {
      return await toNamenode(method, path, op, parameters, signal);
    } catch (error) {
      throw networkFailure(operation, name, namenodeLabel(), error);
    }
  };

  const booleanOf = (operation: string, name: string, answer: Answer): boolean => {
    if (answer.status !== 200) throw httpFailure(operation, name, answer);
    try {
      const parsed = JSON.parse(answer.text) as { boolean?: unknown };
      if (typeof parsed.boolean === 'boolean') return parsed.boolean;
    } catch {
      // fall through: not a boolean answer
    }
    throw httpFailure(operation, name, { ...answer, status: answer.status });
  };

  const statPath = async (path: string, name: string, signal?: AbortSignal): Promise<StoredArtifact | undefined> => {
    const answer = await namenodeCall('GETFILESTATUS', name, 'GET', path, 'GETFILESTATUS', {}, signal);
    // Only a FileNotFoundException means "not there"; a bare 404 is a wrong port or path, or
    // WebHDFS turned off, and must not read as an empty store.
    if (answer.status === 404 && remoteOf(answer)?.exception === 'FileNotFoundException') return undefined;
    if (answer.status !== 200) throw httpFailure('GETFILESTATUS', name, answer);
    let status: { length?: number; type?: string } | undefined;
    try {
      status = (JSON.parse(answer.text) as { FileStatus?: { length?: number; type?: string } }).FileStatus;
    } catch {
      status = undefined;
    }
    if (status === undefined) {
      throw httpFailure('GETFILESTATUS (not a FileStatus answer)', name, { ...answer, status: answer.status });
    }
    if (status?.type !== 'FILE') {
      throw new SparkMesosError(
        'SM_ERR_ARTIFACT_UPLOAD',
        redact(
          `${uriOf(name)} is a ${status.type?.toLowerCase() ?? 'strange entry'}, not a file. Fix: remove it or pick another prefix.`,
        ),
        { cause: status, details: { retryable: false } },
      );
    }
    return { size: status.length ?? 0 };
  };

  const deletePath = async (path: string, name: string, signal?: AbortSignal): Promise<boolean> =>
    booleanOf(
      'DELETE',
      name,
      await namenodeCall('DELETE', name, 'DELETE', path, 'DELETE', { recursive: 'false' }, signal),
    );

  /** Follows a namenode's redirect for CREATE/OPEN: the 307 `Location`, or `noredirect`'s JSON. */
  const redirectTarget = (operation: string, name: string, answer: Answer): string => {
    const header = answer.headers.location;
    const location = Array.isArray(header) ? header[0] : header;
    if ((answer.status === 307 || answer.status === 302 || answer.status === 303) && location) return location;
    if (answer.status === 200) {
      try {
        const parsed = JSON.parse(answer.text) as { Location?: string };
        if (parsed.Location) return parsed.Location;
      } catch {
        // not the noredirect form
      }
    }
    throw httpFailure(operation, name, answer);
  };

  const stat = async (name: string, context?: DestinationOperationContext) =>
    statPath(pathOf(name), name, context?.signal);

  const remove = async (name: string, context?: DestinationOperationContext): Promise<void> => {
    // `false` means there was nothing to delete, which is what remove promises.
    await deletePath(pathOf(name), name, context?.signal);
  };

  const put = async (name: string, file: ArtifactFile, context?: DestinationOperationContext): Promise<void> => {
    const signal = context?.signal;
    const finalPath = pathOf(name);
    // Hidden (leading dot) and marked like `hdfs dfs -put`'s temporaries, so jobs reading the
    // directory skip it; random so concurrent uploaders never share one.
    const temporaryPath = pathOf(`.${name}.${randomBytes(6).toString('hex')}._COPYING_`);
    const step1 = await namenodeCall(
      'CREATE',
      name,
      'PUT',
      temporaryPath,
      'CREATE',
      { overwrite: 'false', permission: '644' },
      signal,
    );
    const datanodeUrl = redirectTarget('CREATE', name, step1);
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        context?.onProgress?.(sent, file.size);
        callback(null, chunk);
      },
    });
    const source = createReadStream(file.path);
    source.on('error', (error) => counter.destroy(error));
    source.pipe(counter);
    let step2: Answer;
    try {
      step2 = await send('PUT', datanodeUrl, {
        body: counter,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(file.size) },
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      source.destroy();
      await deletePath(temporaryPath, name).catch(() => undefined);
      throw networkFailure(
        'CREATE',
        name,
        `the datanode ${new URL(datanodeUrl).host} (the namenode's redirect)`,
        error,
      );
    }
    if (step2.status !== 201) {
      await deletePath(temporaryPath, name).catch(() => undefined);
      throw httpFailure('CREATE (datanode)', name, step2);
    }
    try {
      const written = await statPath(temporaryPath, name, signal);
      if (written?.size !== file.size) {
        throw new SparkMesosError(
          'SM_ERR_ARTIFACT_UPLOAD',
          redact(
            `WebHDFS CREATE of ${uriOf(name)} stored ${written?.size ?? 'no'} bytes instead of ${file.size}. Note: the temporary file was removed; it is retried.`,
          ),
          { cause: { expected: file.size, found: written?.size }, details: { retryable: true } },
        );
      }
      const existing = await statPath(finalPath, name, signal);
      if (existing !== undefined) {
        if (existing.size === file.size) {
          // Same content-addressed name, same length: another uploader got there first.
          await deletePath(temporaryPath, name, signal);
          return;
        }
        // A corrupt (truncated, foreign) object under the final name: HDFS rename never
        // replaces, so it must go first.
        await deletePath(finalPath, name, signal);
      }
      const renamed = booleanOf(
        'RENAME',
        name,
        await namenodeCall('RENAME', name, 'PUT', temporaryPath, 'RENAME', { destination: finalPath }, signal),
      );
      if (!renamed) {
        const now = await statPath(finalPath, name, signal);
        if (now?.size === file.size) {
          await deletePath(temporaryPath, name, signal);
          return;
        }
        throw new SparkMesosError(
          'SM_ERR_ARTIFACT_UPLOAD',
          redact(
            `WebHDFS RENAME of the uploaded temporary file to ${uriOf(name)} answered false (HDFS renames refuse when the destination appeared meanwhile or its directory vanished). Note: it is retried.`,
          ),
          { cause: { temporaryPath, finalPath }, details: { retryable: true } },
        );
      }
    } catch (error) {
      await deletePath(temporaryPath, name).catch(() => undefined);
      throw error;
    }
  };

  const unreachable = (name: string, what: string, fix: string, cause: unknown, status?: number): SparkMesosError =>
    new SparkMesosError(
      'SM_ERR_ARTIFACT_UNREACHABLE',
      redact(`The executor package ${uriOf(name)} is not fetchable: ${what}. Fix: ${fix}.`),
      { cause, details: { uri: uriOf(name), ...(status !== undefined ? { status } : {}) } },
    );

  const checkFetchable = async (name: string, context?: DestinationOperationContext): Promise<FetchCheck> => {
    const signal = context?.signal;
    // Agents read hdfs:// with their Hadoop client; the closest check from here is an OPEN,
    // which the namenode redirects to a datanode holding the blocks, as a reader's would be.
    let opened: Answer;
    try {
      opened = await toNamenode('GET', pathOf(name), 'OPEN', {}, signal);
    } catch (error) {
      throw unreachable(
        name,
        `${namenodeLabel()} did not answer OPEN (${(error as Error).message})`,
        'check the namenode HTTP address and that it is up',
        error,
      );
    }
    if (opened.status !== 307 && opened.status !== 200) {
      const remote = remoteOf(opened);
      throw unreachable(
        name,
        `OPEN answered HTTP ${opened.status}${remote ? ` ${remote.exception}: ${remote.message}` : ''}`,
        opened.status === 404
          ? 'upload it again and check that the URI is the one uploaded to'
          : webHdfsFixFor(remote, opened.status, userLabel, location.directory),
        remote ?? { status: opened.status },
        opened.status,
      );
    }
    let target: string;
    try {
      target = redirectTarget('OPEN', name, opened);
    } catch (error) {
      throw unreachable(
        name,
        'the namenode did not redirect OPEN to a datanode',
        'check that WebHDFS is enabled',
        error,
        opened.status,
      );
    }
    let read: Answer & { body?: Dispatcher.ResponseData['body'] };
    try {
      read = await send('GET', target, { keepBody: true, ...(signal ? { signal } : {}) });
    } catch (error) {
      throw unreachable(
        name,
        `the datanode ${new URL(target).host} the namenode redirected to did not answer (${(error as Error).message})`,
        'datanodes must be reachable on their HTTP port (dfs.datanode.http.address) by this machine and by the agents',
        error,
      );
    }
    // Only the headers matter; do not download the package. Destroying the body makes undici
    // emit an abort error on it, which is expected here.
    read.body?.on('error', () => undefined);
    read.body?.destroy();
    if (read.status !== 200) {
      throw unreachable(
        name,
        `the datanode answered HTTP ${read.status}`,
        'check the datanode logs',
        { status: read.status },
        read.status,
      );
    }
    const lengthHeader = read.headers['content-length'];
    const size = Number(Array.isArray(lengthHeader) ? lengthHeader[0] : lengthHeader);
    if (lengthHeader === undefined || !Number.isSafeInteger(size)) {
      throw unreachable(
        name,
        'the datanode answered without a Content-Length',
        'the Mesos fetcher cache needs the size; check for a proxy that strips the header between agents and datanodes',
        { headers: read.headers },
        200,
      );
    }
    return { size };
  };

  return { uriOf, stat, put, remove, checkFetchable };
}
