// `http://` and `https://` destinations: WebDAV-style PUT (nginx `dav_methods`, Apache mod_dav,
// Artifactory, Nexus raw repositories…). The package is written under a temporary name and
// moved in place with WebDAV MOVE, so an interrupted upload never leaves a partial file under
// the final name; servers without MOVE get a PUT under the final name, verified and removed on
// a size mismatch.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
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
import { putFile as putFileRequest } from './file-upload-request.js';

/** How an HTTP request authenticates. */
interface Authentication {
  /** The `Authorization` header value, or undefined for none. */
  readonly header: string | undefined;
  /** Secret strings to mask in every message. */
  readonly secrets: readonly string[];
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** The reason phrases we print, for the statuses we explain. */
const reasons: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage',
};

/** What to do about a refused write, by status. */
function writeFix(status: number): string {
  switch (status) {
    case 401:
      return 'The server wants credentials or refused the ones given: pass the right user and password (or a bearer token) as credentials, or in the URI as http://user:password@host/….';
    case 403:
      return 'The credentials are not allowed to write there: grant them write access to this path on the server.';
    case 404:
      return 'The server has no such location: check the path of the destination, and that the server accepts uploads there (nginx: `dav_methods PUT DELETE MOVE; create_full_put_path on;`).';
    case 405:
    case 501:
      return 'The server does not accept this method here: enable WebDAV uploads for the location (nginx: `dav_methods PUT DELETE MOVE;`).';
    case 409:
      return 'The parent folder does not exist on the server: create it, or let the server create it (nginx: `create_full_put_path on;`).';
    case 413:
      return 'The server refuses a body this large: raise its limit (nginx: `client_max_body_size 0;`).';
    case 507:
      return 'The server is out of space: free some or choose another destination.';
    default:
      return status >= 500
        ? 'The server failed; it was retried. Check its error log.'
        : 'Check the destination URI and the server configuration.';
  }
}

/**
 * Creates the store for an `http://` or `https://` destination prefix. Credentials come from
 * `options.credentials` (basic `username`/`password`, or bearer `token`), else from the URI's
 * user-info; they are masked in every message. Agents fetch `uriOf(name)` with what the URI
 * itself carries (the Mesos fetcher passes user-info to curl), so `stat` and `checkFetchable`
 * send the URI's credentials only: a package only the uploader may read is reported unreachable.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for a URI that does not parse.
 */
export function createHttpDestination(uri: string, options: DestinationOptions = {}): ArtifactDestination {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch (cause) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `"${redactUrlCredentials(uri)}" is not a valid URL. Give http(s)://host[:port]/path/.`,
      {
        cause,
      },
    );
  }
  const prefix = uri.endsWith('/') ? uri : `${uri}/`;
  const uriUser = decodeURIComponent(parsed.username);
  const uriPassword = decodeURIComponent(parsed.password);
  const plain = new URL(prefix);
  plain.username = '';
  plain.password = '';
  const plainPrefix = plain.toString();
  const agentAuthentication: Authentication = {
    header: uriUser !== '' ? basic(uriUser, uriPassword) : undefined,
    secrets: [uriPassword, parsed.password],
  };
  const credentials = options.credentials;
  const uploadAuthentication: Authentication =
    credentials?.token !== undefined
      ? { header: `Bearer ${credentials.token}`, secrets: [credentials.token, ...agentAuthentication.secrets] }
      : credentials?.username !== undefined
        ? {
            header: basic(credentials.username, credentials.password ?? ''),
            secrets: [credentials.password ?? '', ...agentAuthentication.secrets],
          }
        : agentAuthentication;
  const dispatcher: Dispatcher | undefined = options.dispatcher;
  const noAuthentication: Authentication = { header: undefined, secrets: [] };
  const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
  const secrets = uploadAuthentication.secrets;

  const urlOf = (name: string): string => `${plainPrefix}${encodeURIComponent(name)}`;
  const shown = (name: string): string => redactSecrets(redactUrlCredentials(`${prefix}${name}`), secrets);
  const clean = (text: string): string => redactSecrets(redactUrlCredentials(text), secrets);

  const failure = (
    code: 'SM_ERR_ARTIFACT_UPLOAD' | 'SM_ERR_ARTIFACT_UNREACHABLE',
    method: string,
    name: string,
    status: number | undefined,
    what: string,
    fix: string,
    cause: unknown,
  ): SparkMesosError => {
    const statusText = status === undefined ? '' : `: ${status} ${reasons[status] ?? ''}`.trimEnd();
    const retryable = status === undefined || status >= 500;
    return new SparkMesosError(code, clean(`[${method}] "${shown(name)}"${statusText}. ${what} ${fix}`), {
      cause,
      details: { retryable, ...(status === undefined ? {} : { status }), uri: shown(name) },
    });
  };

  const networkFailure = (method: string, name: string, cause: unknown): SparkMesosError =>
    failure(
      'SM_ERR_ARTIFACT_UPLOAD',
      method,
      name,
      undefined,
      `The connection failed (${clean((cause as Error)?.message ?? String(cause))}).`,
      'Check that the server is up and reachable from here; the request was retried.',
      cause,
    );

  /** Sends one request with no body of interest in the answer (read, truncated, for errors). */
  const send = async (
    method: string,
    name: string,
    headers: Record<string, string>,
    authentication: Authentication,
    context: DestinationOperationContext | undefined,
    body?: NodeJS.ReadableStream,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> => {
    try {
      const response = await request(urlOf(name), {
        method: method as Dispatcher.HttpMethod,
        headers: {
          ...headers,
          ...(authentication.header === undefined ? {} : { authorization: authentication.header }),
        },
        ...(body === undefined ? {} : { body: body as never }),
        headersTimeout: idleTimeoutMs,
        bodyTimeout: idleTimeoutMs,
        ...(dispatcher === undefined ? {} : { dispatcher }),
        ...(context?.signal === undefined ? {} : { signal: context.signal }),
      });
      const text = truncateBody(await response.body.text());
      return { status: response.statusCode, headers: response.headers, text };
    } catch (cause) {
      if (context?.signal?.aborted) throw cause;
      throw networkFailure(method, name, cause);
    }
  };

  /** A GET as an agent makes it; reads the status and headers only, then drops the body. */
  const agentGet = async (
    name: string,
    context: DestinationOperationContext | undefined,
  ): Promise<{ status: number; length: number | undefined; text: string }> => {
    try {
      const response = await request(urlOf(name), {
        method: 'GET',
        headers: agentAuthentication.header === undefined ? {} : { authorization: agentAuthentication.header },
        headersTimeout: idleTimeoutMs,
        bodyTimeout: idleTimeoutMs,
        ...(dispatcher === undefined ? {} : { dispatcher }),
        ...(context?.signal === undefined ? {} : { signal: context.signal }),
      });
      const header = response.headers['content-length'];
      const length = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
      let text = '';
      if (response.statusCode >= 200 && response.statusCode < 300) {
        // The package itself is not needed: drop it rather than download hundreds of MB. The
        // abort error this raises on the body is expected.
        response.body.on('error', () => {});
        response.body.destroy();
      } else {
        text = truncateBody(await response.body.text());
      }
      return { status: response.statusCode, length, text };
    } catch (cause) {
      if (context?.signal?.aborted) throw cause;
      throw networkFailure('GET', name, cause);
    }
  };

  const putFile = async (
    target: string,
    file: ArtifactFile,
    context: DestinationOperationContext | undefined,
  ): Promise<void> => {
    const headers = {
      'content-type': 'application/gzip',
      ...(uploadAuthentication.header === undefined ? {} : { authorization: uploadAuthentication.header }),
    };
    let answer: { status: number; text: string };
    if (dispatcher === undefined) {
      try {
        answer = await putFileRequest(urlOf(target), file.path, file.size, {
          headers,
          idleTimeoutMs,
          ...(context?.signal === undefined ? {} : { signal: context.signal }),
          ...(context?.onProgress === undefined ? {} : { onProgress: context.onProgress }),
        });
      } catch (cause) {
        if (context?.signal?.aborted) throw cause;
        throw networkFailure('PUT', target, cause);
      }
    } else {
      // An injected dispatcher (a proxy agent, a mock) carries the upload through undici.
      let sent = 0;
      const body = createReadStream(file.path, { highWaterMark: 1 << 20 });
      body.on('data', (chunk) => {
        sent += chunk.length;
        context?.onProgress?.(sent, file.size);
      });
      body.pause();
      answer = await send(
        'PUT',
        target,
        { ...headers, 'content-length': String(file.size) },
        noAuthentication,
        context,
        body,
      );
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw failure(
        'SM_ERR_ARTIFACT_UPLOAD',
        'PUT',
        target,
        answer.status,
        answer.text === '' ? 'The server refused the upload.' : `The server refused the upload: ${answer.text.trim()}.`,
        writeFix(answer.status),
        { status: answer.status, body: clean(answer.text) },
      );
    }
  };

  const removeName = async (name: string, context?: DestinationOperationContext): Promise<void> => {
    const answer = await send('DELETE', name, {}, uploadAuthentication, context);
    if (answer.status === 404 || answer.status === 410 || (answer.status >= 200 && answer.status < 300)) return;
    throw failure(
      'SM_ERR_ARTIFACT_UPLOAD',
      'DELETE',
      name,
      answer.status,
      'The server refused to delete it.',
      writeFix(answer.status),
      {
        status: answer.status,
        body: clean(answer.text),
      },
    );
  };

  const statName = async (name: string, context?: DestinationOperationContext): Promise<StoredArtifact | undefined> => {
    const answer = await agentGet(name, context);
    if (answer.status === 404 || answer.status === 410) return undefined;
    if (answer.status >= 200 && answer.status < 300) {
      // Without a Content-Length the size is unknown: treated as a mismatch, so the upload runs
      // and checkFetchable explains what the fetcher cache needs.
      return answer.length === undefined ? { size: -1 } : { size: answer.length, fetchable: true };
    }
    throw failure(
      answer.status === 401 || answer.status === 403 ? 'SM_ERR_ARTIFACT_UNREACHABLE' : 'SM_ERR_ARTIFACT_UPLOAD',
      'GET',
      name,
      answer.status,
      'Agents fetch this URI with only the credentials in the URI itself, and the server refused it.',
      answer.status === 401 || answer.status === 403
        ? 'Allow anonymous reads of this path, or put read credentials into the URI (http://user:password@host/…).'
        : writeFix(answer.status),
      { status: answer.status, body: clean(answer.text) },
    );
  };

  /** Downloads `name` with the upload's credentials and hashes it (the no-MOVE fallback's check). */
  const readBack = async (
    name: string,
    context?: DestinationOperationContext,
  ): Promise<{ size: number; sha256: string }> => {
    try {
      const response = await request(urlOf(name), {
        method: 'GET',
        headers: uploadAuthentication.header === undefined ? {} : { authorization: uploadAuthentication.header },
        headersTimeout: idleTimeoutMs,
        bodyTimeout: idleTimeoutMs,
        ...(dispatcher === undefined ? {} : { dispatcher }),
        ...(context?.signal === undefined ? {} : { signal: context.signal }),
      });
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of response.body) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      if (response.statusCode < 200 || response.statusCode >= 300) return { size: -1, sha256: '' };
      return { size, sha256: hash.digest('hex') };
    } catch (cause) {
      if (context?.signal?.aborted) throw cause;
      throw networkFailure('GET', name, cause);
    }
  };

  return {
    uriOf(name) {
      return `${prefix}${encodeURIComponent(name)}`;
    },

    stat: statName,

    async put(name, file, context) {
      const temporary = `.${name}.partial-${randomBytes(6).toString('hex')}`;
      try {
        await putFile(temporary, file, context);
      } catch (error) {
        await removeName(temporary).catch(() => {});
        throw error;
      }
      const moved = await send(
        'MOVE',
        temporary,
        { destination: urlOf(name), overwrite: 'T' },
        uploadAuthentication,
        context,
      ).catch(async (error: unknown) => {
        await removeName(temporary).catch(() => {});
        throw error;
      });
      if (moved.status >= 200 && moved.status < 300) return;
      await removeName(temporary).catch(() => {});
      if (moved.status !== 405 && moved.status !== 501 && moved.status !== 400) {
        throw failure(
          'SM_ERR_ARTIFACT_UPLOAD',
          'MOVE',
          temporary,
          moved.status,
          `The server refused to move the uploaded file to ${shown(name)}.`,
          writeFix(moved.status),
          { status: moved.status, body: clean(moved.text) },
        );
      }
      // No MOVE here: write under the final name, then read it back and compare size and
      // SHA-256, so a cut-off or altered upload is removed rather than served.
      await putFile(name, file, context);
      const found = await readBack(name, context);
      if (found.size !== file.size || found.sha256 !== file.sha256) {
        await removeName(name).catch(() => {});
        throw failure(
          'SM_ERR_ARTIFACT_UPLOAD',
          'PUT',
          name,
          undefined,
          found.size !== file.size
            ? `The server holds ${found.size} bytes after the upload, not ${file.size}; removed it.`
            : `The server holds other bytes than were sent (SHA-256 ${found.sha256}, not ${file.sha256}); removed it.`,
          'It was retried; check the server and any proxy in between.',
          { expected: { size: file.size, sha256: file.sha256 }, found },
        );
      }
    },

    remove: removeName,

    async checkFetchable(name, context): Promise<FetchCheck> {
      let answer: Awaited<ReturnType<typeof agentGet>>;
      try {
        answer = await agentGet(name, context);
      } catch (cause) {
        throw new SparkMesosError(
          'SM_ERR_ARTIFACT_UNREACHABLE',
          clean(
            `The executor package at "${shown(name)}" is not reachable: the GET an agent makes failed (${(cause as Error).message}). ` +
              'Make sure the host is up and reachable from every agent (DNS, firewall, proxy), or use another spark.executor.uri.',
          ),
          { cause, details: { retryable: true, uri: shown(name) } },
        );
      }
      if (answer.status < 200 || answer.status >= 300) {
        const fix =
          answer.status === 404
            ? 'Upload the package there first (spark-mesos upload), or fix the path in spark.executor.uri.'
            : answer.status === 401 || answer.status === 403
              ? 'Agents fetch with only the credentials in the URI: allow anonymous reads of this path, or put read credentials into the URI.'
              : 'Check the server (it was retried).';
        throw new SparkMesosError(
          'SM_ERR_ARTIFACT_UNREACHABLE',
          clean(
            `The executor package at "${shown(name)}" is not fetchable: GET answered ${answer.status} ${reasons[answer.status] ?? ''}. ${fix}`,
          ),
          {
            cause: { status: answer.status, body: clean(answer.text) },
            details: { retryable: answer.status >= 500, status: answer.status, uri: shown(name) },
          },
        );
      }
      if (answer.length === undefined) {
        throw new SparkMesosError(
          'SM_ERR_ARTIFACT_UNREACHABLE',
          clean(
            `The executor package at "${shown(name)}" is served without a Content-Length. ` +
              'The Mesos fetcher cache needs the size before it downloads: serve it as a static file (no chunked or compressed transfer), or set spark.mesos.fetcherCache.enable=false.',
          ),
          { cause: { status: answer.status }, details: { retryable: false, uri: shown(name) } },
        );
      }
      return { size: answer.length };
    },
  };
}
