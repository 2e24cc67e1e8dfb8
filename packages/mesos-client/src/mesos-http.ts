import { SparkMesosError } from '@spark-mesos/errors';
import { type Dispatcher, request } from 'undici';
import { createMesosHttpError, createMesosNetworkError, type MesosRequestInfo } from './mesos-http-error.js';
import { type MesosStreamTlsOptions, openSocketEventStream } from './mesos-stream-socket.js';
import { DEFAULT_MAX_RECORD_BYTES, decodeRecordIoBatches } from './recordio.js';

/**
 * How a request to Mesos authenticates: HTTP Basic with a framework principal and secret
 * (scheduler API, `--authenticate_http_frameworks`), or a Bearer token (executor API,
 * `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`).
 *
 * @see https://mesos.apache.org/documentation/latest/authentication/
 */
export type MesosAuthorization =
  | { readonly kind: 'basic'; readonly principal: string; readonly secret: string }
  | { readonly kind: 'bearer'; readonly token: string };

/** The `Authorization` header value for `authorization`. */
export function authorizationHeader(authorization: MesosAuthorization): string {
  if (authorization.kind === 'bearer') return `Bearer ${authorization.token}`;
  const credentials = Buffer.from(`${authorization.principal}:${authorization.secret}`, 'utf8').toString('base64');
  return `Basic ${credentials}`;
}

/** One request to a Mesos HTTP API endpoint. */
export interface MesosHttpRequest {
  /** Absolute URL, e.g. `http://127.0.0.1:5050/api/v1/scheduler`. */
  readonly url: string;
  /** The encoded call. */
  readonly body: Uint8Array;
  /** Exactly `application/x-protobuf` or `application/json`: Mesos answers 415 to anything else. */
  readonly contentType: string;
  /** What the answer may be encoded as. @default the content type */
  readonly accept?: string;
  /** `Mesos-Stream-Id` of the subscription (every scheduler call but SUBSCRIBE). @default undefined */
  readonly streamId?: string;
  /** Credentials. @default undefined (no `Authorization` header) */
  readonly authorization?: MesosAuthorization;
  /** The undici dispatcher (connection pool, TLS, proxies). @default undici's global dispatcher */
  readonly dispatcher?: Dispatcher;
  /** Aborts the request (and, for a stream, ends it). @default undefined */
  readonly signal?: AbortSignal;
  /** The call type, named in error messages. @default undefined */
  readonly callType?: string;
  /**
   * How long to wait for the answer's headers, in milliseconds, counted from the start: time the
   * request spends queued in the dispatcher counts too. For a call, also the longest pause while
   * its body arrives. @default 30000
   */
  readonly timeoutMs?: number;
}

/** A successful (2xx) answer to a call. */
export interface MesosHttpResponse {
  /** HTTP status: 200 or 202. */
  readonly status: number;
  /** Response headers, lower-cased names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The whole body (empty for 202). */
  readonly body: Uint8Array;
}

/** Options of {@link openMesosStream}, beyond those of a call. */
export interface MesosStreamRequest extends MesosHttpRequest {
  /** Largest event accepted, in bytes. @default 4194304 (4 MiB) */
  readonly maxRecordBytes?: number;
  /**
   * Read the stream from a `node:net` / `node:tls` socket of its own instead of through undici
   * (ignored when `dispatcher` is given): the request is written straight to the socket and
   * each read of the answer goes through HTTP de-chunking and RecordIO framing in one pass,
   * which costs less per event than undici's body stream. `true`, or the TLS settings of the
   * connection for `https:` URLs. Same records, errors and back-pressure either way; proxies
   * and other undici dispatchers need the undici path.
   * @default false (undici)
   */
  readonly direct?: boolean | { readonly tls?: MesosStreamTlsOptions };
}

/** An open event stream: the answer to SUBSCRIBE, as RecordIO records. */
export interface MesosEventStream {
  /** HTTP status (200). */
  readonly status: number;
  /** Response headers, lower-cased names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The `Mesos-Stream-Id` header (scheduler API), to send with every later call. */
  readonly streamId: string | undefined;
  /**
   * The records in batches: each batch holds every record one read from the socket completed
   * (never empty), so that a consumer handles them with a plain loop and awaits once per read
   * rather than once per record (the fast way; see `decodeRecordIoBatches`). Pulled from the
   * socket only as they are consumed (back-pressure). A connection cut mid-record ends it with
   * `SM_ERR_MESOS_NETWORK` (`details.stream: true`, the RecordIO `SM_ERR_RECORDIO_TRUNCATED` as
   * its cause); framing errors (`SM_ERR_RECORDIO_BAD_LENGTH`, `SM_ERR_RECORDIO_TOO_LARGE`) pass
   * through; after {@link MesosEventStream.close} it ends quietly.
   *
   * Consume a stream through ONE of `batches` and `records`: `records` reads from this very
   * generator, so using both would split the records between them.
   */
  readonly batches: AsyncGenerator<Uint8Array[], void, undefined>;
  /**
   * The records one at a time: {@link MesosEventStream.batches}, flattened (same back-pressure,
   * same errors), at the cost of an `await` per record. Use ONE of `batches` and `records`.
   */
  readonly records: AsyncGenerator<Uint8Array, void, undefined>;
  /** Closes the connection; the records end. Idempotent. */
  close(): void;
  /**
   * Lets the stream's connection keep the Node process alive (the default) again, after
   * {@link MesosEventStream.unref}. Present on streams read from a socket of their own (no
   * user dispatcher): an undici dispatcher owns its connections.
   */
  ref?(): void;
  /**
   * Stops the stream's connection from keeping the Node process alive (events are still read
   * while something else keeps it running), as `socket.unref()`.
   */
  unref?(): void;
}

// Error bodies are short texts; more than this is never read (the error keeps 4 KiB anyway).
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

function requestInfo(input: MesosHttpRequest, headers: Record<string, string>, stream: boolean): MesosRequestInfo {
  return {
    headers,
    stream,
    ...(input.callType === undefined ? {} : { callType: input.callType }),
    ...(input.authorization?.kind === 'basic' ? { principal: input.authorization.principal } : {}),
  };
}

function requestHeaders(input: MesosHttpRequest): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': input.contentType,
    accept: input.accept ?? input.contentType,
  };
  if (input.streamId !== undefined) headers['mesos-stream-id'] = input.streamId;
  if (input.authorization !== undefined) headers.authorization = authorizationHeader(input.authorization);
  return headers;
}

async function readAtMost(body: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

async function send(
  input: MesosHttpRequest,
  stream: boolean,
): Promise<{ response: Dispatcher.ResponseData; headers: Record<string, string>; info: MesosRequestInfo }> {
  const headers = requestHeaders(input);
  const info = requestInfo(input, headers, stream);
  const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // undici's headersTimeout starts only once the request is written, and an abort signal reaches
  // a request only then too: a request queued in the dispatcher (e.g. behind an event stream on
  // a one-connection pool) would wait forever. This deadline counts from now, queueing included,
  // until the response head arrives; when it passes, the request is aborted (undici drops it
  // when it reaches a connection) and the call fails now.
  const deadline = new AbortController();
  // A call must be dropped when it times out, never sent late (the caller may send it again). A
  // stream's request keeps its signal for as long as it lives, so it gets only the caller's (a
  // combined one costs memory per subscription); one answered after its deadline is closed.
  let signal: AbortSignal | undefined;
  if (stream) signal = input.signal;
  else signal = input.signal === undefined ? deadline.signal : AbortSignal.any([input.signal, deadline.signal]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const reason = Object.assign(
        new Error(
          `no response head within ${timeoutMs} ms (queued in the dispatcher, or sent and unanswered; ` +
            'a dispatcher that allows one connection per origin cannot send a call beside an event stream)',
        ),
        { code: 'SM_RESPONSE_TIMEOUT' },
      );
      deadline.abort(reason);
      reject(reason);
    }, timeoutMs);
  });
  let response: Dispatcher.ResponseData;
  try {
    const pending = request(input.url, {
      method: 'POST',
      headers,
      body: input.body,
      headersTimeout: timeoutMs,
      // A stream is idle between heartbeats; its liveness is the heartbeat watchdog's job.
      bodyTimeout: stream ? 0 : timeoutMs,
      ...(input.dispatcher === undefined ? {} : { dispatcher: input.dispatcher }),
      ...(signal === undefined ? {} : { signal }),
    });
    // Settles after the deadline at the latest: its late failure (or answer) is nobody's.
    pending.then(
      (late) => deadline.signal.aborted && late.body.destroy(),
      () => {},
    );
    response = await Promise.race([pending, expired]);
  } catch (error) {
    if (input.signal?.aborted === true) throw error;
    throw createMesosNetworkError('POST', input.url, deadline.signal.aborted ? deadline.signal.reason : error, info);
  } finally {
    clearTimeout(timer);
  }
  if (response.statusCode >= 300) {
    let body: Uint8Array = new Uint8Array(0);
    try {
      body = await readAtMost(response.body, MAX_ERROR_BODY_BYTES);
    } catch {
      // The status says enough.
    } finally {
      response.body.destroy();
    }
    throw createMesosHttpError({
      method: 'POST',
      url: input.url,
      status: response.statusCode,
      headers: response.headers,
      body,
      request: info,
    });
  }
  return { response, headers, info };
}

/**
 * Sends one call (a scheduler or executor `Call`) and returns Mesos' 2xx answer. Any other
 * answer throws the matching `SM_ERR_MESOS_*` / `SM_ERR_NOT_LEADER` error of
 * {@link createMesosHttpError} (with at most 4 KiB of Mesos' text, credentials redacted); a
 * connection failure throws `SM_ERR_MESOS_NETWORK`. Redirects are not followed here: a 307
 * surfaces as `SM_ERR_NOT_LEADER` with `details.leaderUrl`, for the client to act on.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/#calls
 */
export async function sendMesosCall(input: MesosHttpRequest): Promise<MesosHttpResponse> {
  const { response, info } = await send(input, false);
  let body: Uint8Array;
  try {
    body = new Uint8Array(await response.body.arrayBuffer());
  } catch (error) {
    if (input.signal?.aborted === true) throw error;
    throw createMesosNetworkError('POST', input.url, error, info);
  }
  return { status: response.statusCode, headers: response.headers, body };
}

/**
 * Sends a SUBSCRIBE call and returns its event stream, split into RecordIO records (read them
 * through `batches` or through `records`, not both). The connection carries nothing else (Mesos
 * streams events on the connection of the SUBSCRIBE request); send other calls on another one.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/#subscribe-1
 * @see https://mesos.apache.org/documentation/latest/recordio/
 */
export async function openMesosStream(input: MesosStreamRequest): Promise<MesosEventStream> {
  if (input.direct !== undefined && input.direct !== false && input.dispatcher === undefined) {
    const headers = requestHeaders(input);
    return openSocketEventStream(
      input,
      headers,
      requestInfo(input, headers, true),
      input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      MAX_ERROR_BODY_BYTES,
      input.direct === true ? undefined : input.direct.tls,
    );
  }
  const { response, info } = await send(input, true);
  const body = response.body;
  const streamId = response.headers['mesos-stream-id'];
  const maxRecordBytes = input.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let closed = false;

  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) yield chunk as Uint8Array;
    } catch (error) {
      // Closing the stream on purpose is not a failure.
      if (closed || input.signal?.aborted === true) return;
      throw createMesosNetworkError('POST', input.url, error, info);
    }
  }

  async function* decodeBatches(): AsyncGenerator<Uint8Array[], void, undefined> {
    try {
      yield* decodeRecordIoBatches(chunks(), { maxRecordBytes });
    } catch (error) {
      if (closed) return;
      if (error instanceof SparkMesosError && error.code === 'SM_ERR_RECORDIO_TRUNCATED') {
        // A record cut short is a lost connection first of all; keep the RecordIO detail as cause.
        throw createMesosNetworkError('POST', input.url, error, info);
      }
      throw error;
    }
  }

  const batches = decodeBatches();

  async function* records(): AsyncGenerator<Uint8Array, void, undefined> {
    for await (const batch of batches) yield* batch;
  }

  return {
    status: response.statusCode,
    headers: response.headers,
    streamId: Array.isArray(streamId) ? streamId[0] : streamId,
    batches,
    records: records(),
    close() {
      if (closed) return;
      closed = true;
      body.destroy();
    },
  };
}
