import { SparkMesosError } from '@spark-mesos/errors';
import { type Dispatcher, request } from 'undici';
import { authorizationHeader, type MesosAuthorization } from './mesos-http.js';
import { createMesosHttpError, createMesosNetworkError, type MesosRequestInfo } from './mesos-http-error.js';

/**
 * Plain GETs of Mesos' read-only HTTP endpoints (`/master/state`, `/master/redirect`, an agent's
 * `/state` and `/files/*`), with the same error mapping as the v1 API calls.
 *
 * @see https://mesos.apache.org/documentation/latest/endpoints/
 * @module
 */

/** Options of {@link getMesos} and {@link getMesosJson}. */
export interface MesosGetOptions {
  /** The undici dispatcher (TLS, pool). @default undici's global dispatcher */
  readonly dispatcher?: Dispatcher;
  /**
   * Credentials, for masters and agents started with `--authenticate_http_readonly`.
   * @default undefined (no Authorization header)
   */
  readonly authorization?: MesosAuthorization;
  /** How long to wait for the answer, in milliseconds. @default 30000 */
  readonly timeoutMs?: number;
  /** Aborts the request. @default undefined */
  readonly signal?: AbortSignal;
  /**
   * `'return'` hands a 3xx answer back (for `/master/redirect`) instead of throwing
   * `SM_ERR_NOT_LEADER`. @default 'error'
   */
  readonly redirect?: 'error' | 'return';
}

/** A Mesos answer to a GET. */
export interface MesosGetResponse {
  /** HTTP status (2xx, or 3xx with `redirect: 'return'`). */
  readonly status: number;
  /** Response headers, lower-cased names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body. */
  readonly body: Uint8Array;
}

const DEFAULT_TIMEOUT_MS = 30_000;
// State documents of big clusters run to megabytes; error texts are short.
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * GETs `url` from a Mesos master or agent. A status of 300 or more throws the matching error of
 * {@link createMesosHttpError} (`SM_ERR_NOT_LEADER` with `details.leaderUrl` for a 307,
 * `SM_ERR_MESOS_NOT_FOUND` for a 404, …) unless `redirect: 'return'` and it is a 3xx; a
 * connection failure throws `SM_ERR_MESOS_NETWORK`.
 *
 * @see https://mesos.apache.org/documentation/latest/endpoints/
 */
export async function getMesos(url: string, options: MesosGetOptions = {}): Promise<MesosGetResponse> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers.authorization = authorizationHeader(options.authorization);
  const info: MesosRequestInfo = {
    headers,
    ...(options.authorization?.kind === 'basic' ? { principal: options.authorization.principal } : {}),
  };
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      method: 'GET',
      headers,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if (options.signal?.aborted === true) throw error;
    throw createMesosNetworkError('GET', url, error, info);
  }
  const isRedirect = response.statusCode >= 300 && response.statusCode < 400;
  if (response.statusCode >= 300 && !(isRedirect && options.redirect === 'return')) {
    let body: Uint8Array = new Uint8Array(0);
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        chunks.push(Buffer.from(chunk as Uint8Array));
        size += (chunk as Uint8Array).length;
        if (size >= MAX_ERROR_BODY_BYTES) break;
      }
      body = Buffer.concat(chunks);
    } catch {
      // The status says enough.
    } finally {
      response.body.destroy();
    }
    throw createMesosHttpError({
      method: 'GET',
      url,
      status: response.statusCode,
      headers: response.headers,
      body,
      request: info,
    });
  }
  let body: Uint8Array;
  try {
    body = new Uint8Array(await response.body.arrayBuffer());
  } catch (error) {
    if (options.signal?.aborted === true) throw error;
    throw createMesosNetworkError('GET', url, error, info);
  }
  return { status: response.statusCode, headers: response.headers, body };
}

/**
 * GETs `url` and parses its JSON body (Mesos' numbers, counts included, are JSON numbers and
 * often floats such as `0.0`).
 *
 * @throws SparkMesosError as {@link getMesos}, and `SM_ERR_MESOS_DECODE` when the body is not JSON.
 * @see https://mesos.apache.org/documentation/latest/endpoints/
 */
export async function getMesosJson<T>(url: string, options: MesosGetOptions = {}): Promise<T> {
  const response = await getMesos(url, options);
  const text = Buffer.from(response.body).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new SparkMesosError(
      'SM_ERR_MESOS_DECODE',
      `[GET] "${url}" answered ${response.status} with a body that is not JSON (${text.length} characters, starting ${JSON.stringify(text.slice(0, 40))}): check that the URL points at a Mesos master or agent.`,
      { cause, details: { url, status: response.status } },
    );
  }
}
