import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';
import { errors as undiciErrors } from 'undici';
import {
  createHttpBodyDecoder,
  type HttpBodyFraming,
  type HttpRecordIoDecoder,
  rawBodySink,
} from './http-recordio-decoder.js';
import type { MesosEventStream, MesosStreamRequest } from './mesos-http.js';
import { createMesosHttpError, createMesosNetworkError, type MesosRequestInfo } from './mesos-http-error.js';
import { createRecordIoScanner, DEFAULT_MAX_RECORD_BYTES } from './recordio.js';

/**
 * TLS settings of a direct event-stream connection (`https:` URLs): those of `node:tls`
 * `connect`. Without them, Node's default CAs verify the master.
 */
export interface MesosStreamTlsOptions {
  /** CA certificates (PEM) that sign the master's certificate. @default Node's default CAs */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Client certificate (PEM), for masters that require one. @default undefined */
  readonly cert?: string | Buffer;
  /** Private key (PEM) of `cert`. @default undefined */
  readonly key?: string | Buffer;
  /** Verify the master's certificate. @default true */
  readonly rejectUnauthorized?: boolean;
}

// A response head larger than this is not Mesos (undici's default maxHeaderSize is 16 KiB).
const MAX_HEAD_BYTES = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Record<string, string | string[]>;
  readonly framing: HttpBodyFraming;
}

function badResponse(reason: string): SparkMesosError {
  return new SparkMesosError(
    'SM_ERR_HTTP_BAD_FRAMING',
    `HTTP response head: ${reason}. What answers at this address is not an HTTP/1.1 server (Mesos); check the URL and port.`,
    { cause: { reason }, details: { reason } },
  );
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!statusLine) throw badResponse(`bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const status = Number(statusLine[1]);
  const headers: Record<string, string | string[]> = {};
  for (let i = 1; i < lines.length; i += 1) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw badResponse(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    // As undici: a repeated header becomes an array of its values.
    if (previous === undefined) headers[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else headers[name] = [previous, value];
  }
  const single = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  let framing: HttpBodyFraming;
  const transferEncoding = single('transfer-encoding');
  const contentLength = single('content-length');
  if (status < 200 || status === 204 || status === 304) framing = { kind: 'length', length: 0 };
  else if (transferEncoding !== undefined) {
    // RFC 9112 §6.3: chunked as the last coding delimits the body; any other coding, the close.
    const codings = transferEncoding.toLowerCase().split(',');
    framing = codings[codings.length - 1]!.trim() === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  } else if (contentLength !== undefined) {
    if (!/^\d{1,15}$/.test(contentLength.trim()))
      throw badResponse(`bad Content-Length ${JSON.stringify(contentLength)}`);
    framing = { kind: 'length', length: Number(contentLength.trim()) };
  } else framing = { kind: 'close' };
  return { status, statusText: statusLine[2] ?? '', headers, framing };
}

function requestBytes(url: URL, headers: Record<string, string>, body: Uint8Array): Buffer {
  let head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    // Header values come from our own options; a CR or LF would split the request.
    if (/[\r\n]/.test(value)) {
      throw new SparkMesosError(
        'SM_ERR_BAD_CONFIG',
        `The ${name} header value contains a line break: remove it from the value that feeds it.`,
        { cause: { name }, details: { header: name } },
      );
    }
    head += `${name}: ${value}\r\n`;
  }
  head += `content-length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function connectTo(url: URL, tls: MesosStreamTlsOptions | undefined): Socket {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (url.protocol === 'https:') {
    const port = url.port === '' ? 443 : Number(url.port);
    return tlsConnect({
      host,
      port,
      // SNI takes a host name only (RFC 6066 §3).
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(tls?.ca === undefined
        ? {}
        : { ca: typeof tls.ca === 'string' || Buffer.isBuffer(tls.ca) ? tls.ca : [...tls.ca] }),
      ...(tls?.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls?.key === undefined ? {} : { key: tls.key }),
      ...(tls?.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
    });
  }
  return netConnect({ host, port: url.port === '' ? 80 : Number(url.port) });
}

/**
 * `openMesosStream` over a `node:net`/`node:tls` socket of its own instead of undici: the
 * SUBSCRIBE request is written straight to the socket, the response head is parsed, and each
 * socket read of the body goes through HTTP de-chunking and RecordIO framing in one pass
 * ({@link createHttpBodyDecoder}), so that records lying whole in a read are views of it and no
 * object is made per HTTP chunk. Same contract, errors and back-pressure as the undici path:
 * when the consumer does not ask for the next batch, the socket is paused.
 *
 * Errors are those of the undici path: a connection closed before the response head is
 * undici's `SocketError` "other side closed" (`UND_ERR_SOCKET`), so that both readers report a
 * lost connection alike.
 */
export function openSocketEventStream(
  input: MesosStreamRequest,
  headers: Record<string, string>,
  info: MesosRequestInfo,
  timeoutMs: number,
  maxErrorBodyBytes: number,
  tls: MesosStreamTlsOptions | undefined,
): Promise<MesosEventStream> {
  const maxRecordBytes = input.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  // Checks maxRecordBytes before anything is sent, as the undici path's decoder does first thing.
  createRecordIoScanner({ maxRecordBytes });
  const url = new URL(input.url);
  const signal = input.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const request = requestBytes(url, headers, input.body);
  const networkError = (cause: unknown): SparkMesosError => createMesosNetworkError('POST', input.url, cause, info);

  return new Promise<MesosEventStream>((resolve, reject) => {
    const socket = connectTo(url, tls);
    socket.setNoDelay(true);
    socket.write(request);
    let settled = false;
    let head: Buffer | undefined;

    const timer = setTimeout(() => {
      fail(
        Object.assign(
          new Error(`no response head within ${timeoutMs} ms (sent and unanswered, or the connection never opened)`),
          { code: 'SM_RESPONSE_TIMEOUT' },
        ),
      );
    }, timeoutMs);

    const cleanUp = (): void => {
      clearTimeout(timer);
      socket.off('data', onHeadData);
      socket.off('error', onHeadError);
      socket.off('close', onHeadClose);
      signal?.removeEventListener('abort', onHeadAbort);
    };
    function fail(cause: unknown): void {
      if (settled) return;
      settled = true;
      cleanUp();
      socket.destroy();
      reject(
        signal?.aborted
          ? signal.reason
          : isSparkMesosError(cause, 'SM_ERR_MESOS_NETWORK')
            ? cause
            : networkError(cause),
      );
    }
    function onHeadError(error: Error): void {
      fail(error);
    }
    function onHeadClose(): void {
      fail(new undiciErrors.SocketError('other side closed'));
    }
    function onHeadAbort(): void {
      fail(signal?.reason);
    }

    function onHeadData(read: Buffer): void {
      head = head === undefined ? read : Buffer.concat([head, read]);
      let end = head.indexOf(HEAD_END);
      let parsed: ResponseHead;
      for (;;) {
        if (end < 0) {
          if (head.length > MAX_HEAD_BYTES) fail(badResponse(`a response head longer than ${MAX_HEAD_BYTES} bytes`));
          return;
        }
        try {
          parsed = parseHead(head.toString('latin1', 0, end));
        } catch (error) {
          fail(error);
          return;
        }
        // 1xx answers (100 Continue) precede the real one.
        if (parsed.status >= 200) break;
        head = head.subarray(end + 4);
        end = head.indexOf(HEAD_END);
      }
      const rest = head.subarray(end + 4);
      head = undefined;
      if (parsed.status >= 300) {
        readErrorBody(parsed, rest);
        return;
      }
      settled = true;
      cleanUp();
      resolve(eventStream(parsed, rest));
    }

    /** Reads at most `maxErrorBodyBytes` of a non-2xx answer, then rejects with its error. */
    function readErrorBody(parsed: ResponseHead, rest: Buffer): void {
      socket.off('data', onHeadData);
      socket.off('close', onHeadClose);
      socket.off('error', onHeadError);
      const decoder = createHttpBodyDecoder(parsed.framing, rawBodySink);
      const parts: Uint8Array[] = [];
      let size = 0;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        cleanUp();
        socket.off('data', onData);
        socket.destroy();
        const body = Buffer.concat(parts).subarray(0, maxErrorBodyBytes);
        reject(
          createMesosHttpError({
            method: 'POST',
            url: input.url,
            status: parsed.status,
            statusText: parsed.statusText,
            headers: parsed.headers,
            body,
            request: info,
          }),
        );
      };
      const onData = (read: Uint8Array): void => {
        try {
          for (const part of decoder.push(read)) {
            parts.push(part);
            size += part.length;
          }
        } catch {
          // The status says enough.
          finish();
          return;
        }
        if (decoder.complete || size >= maxErrorBodyBytes) finish();
      };
      socket.on('data', onData);
      socket.on('close', finish);
      socket.on('end', finish);
      // A failure while reading the text: the status says enough.
      socket.on('error', finish);
      if (rest.length > 0) onData(rest);
      else if (decoder.complete) finish();
    }

    /** The event stream over the socket, once a 2xx head arrived (`rest`: the body bytes read with it). */
    function eventStream(parsed: ResponseHead, rest: Buffer): MesosEventStream {
      const decoder: HttpRecordIoDecoder = createHttpBodyDecoder(
        parsed.framing,
        createRecordIoScanner({ maxRecordBytes }),
      );
      // Batches decoded and not yet taken; the socket is paused while one waits.
      const queue: Uint8Array[][] = [];
      let failure: unknown;
      let ended = false;
      let closed = false;
      let wake: (() => void) | undefined;

      const notify = (): void => {
        const waiting = wake;
        wake = undefined;
        waiting?.();
      };
      const stop = (): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        socket.on('error', ignore);
        socket.destroy();
      };
      const streamFailure = (error: unknown): unknown => {
        // Framing errors of the RecordIO pass through; everything else is a lost connection.
        if (
          isSparkMesosError(error, 'SM_ERR_RECORDIO_BAD_LENGTH') ||
          isSparkMesosError(error, 'SM_ERR_RECORDIO_TOO_LARGE')
        )
          return error;
        return networkError(error);
      };
      const finish = (error?: unknown): void => {
        if (ended) return;
        ended = true;
        if (error !== undefined && !closed && signal?.aborted !== true) failure = streamFailure(error);
        stop();
        notify();
      };
      function ignore(): void {}
      function onData(read: Uint8Array): void {
        let records: Uint8Array[];
        try {
          records = decoder.push(read);
        } catch (error) {
          finish(error);
          return;
        }
        if (records.length > 0) {
          queue.push(records);
          if (wake === undefined) socket.pause();
          else notify();
        }
        // A framing error after the read's good records: they go first, then the error.
        if (decoder.error !== undefined) finish(decoder.error);
        else if (decoder.complete) onComplete();
      }
      function onComplete(): void {
        // The message is over: a record cut short by the last chunk is an error.
        try {
          decoder.end();
          finish();
        } catch (error) {
          finish(error);
        }
      }
      function onEnd(): void {
        try {
          decoder.end();
          finish();
        } catch (error) {
          finish(error);
        }
      }
      function onClose(): void {
        // Without 'end' first: destroyed after an error (reported by onError) or reset.
        finish(new undiciErrors.SocketError('other side closed'));
      }
      function onError(error: Error): void {
        finish(error);
      }
      function onAbort(): void {
        finish();
      }
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('close', onClose);
      socket.on('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.pause();
      if (rest.length > 0) onData(rest);
      else if (decoder.complete) onComplete();

      async function* batches(): AsyncGenerator<Uint8Array[], void, undefined> {
        try {
          for (;;) {
            const batch = queue.shift();
            if (batch !== undefined) {
              yield batch;
              continue;
            }
            if (ended) {
              if (failure !== undefined && !closed) throw failure;
              return;
            }
            const next = new Promise<void>((resolveNext) => {
              wake = resolveNext;
            });
            socket.resume();
            await next;
          }
        } finally {
          // Left early, failed or ended: the connection carries nothing else.
          close();
        }
      }
      const batchesIterator = batches();
      async function* records(): AsyncGenerator<Uint8Array, void, undefined> {
        for await (const batch of batchesIterator) yield* batch;
      }
      function close(): void {
        if (closed) return;
        closed = true;
        queue.length = 0;
        finish();
      }
      const streamId = parsed.headers['mesos-stream-id'];
      return {
        status: parsed.status,
        headers: parsed.headers,
        streamId: Array.isArray(streamId) ? streamId[0] : streamId,
        batches: batchesIterator,
        records: records(),
        close,
        ref: () => {
          socket.ref();
        },
        unref: () => {
          socket.unref();
        },
      };
    }

    socket.on('data', onHeadData);
    socket.on('error', onHeadError);
    socket.on('close', onHeadClose);
    signal?.addEventListener('abort', onHeadAbort, { once: true });
  });
}
