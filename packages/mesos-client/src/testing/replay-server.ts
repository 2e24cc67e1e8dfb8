import { once } from 'node:events';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { SparkMesosError } from '@spark-mesos/errors';
import { decodeChunked, encodeChunk, getHeader, type HttpHeader, isChunked, parseHttpHead } from './http-message.js';
import type { RecordedExchange, RecordedResponse } from './recorded-exchange.js';

/** A request the replay server received, kept for assertions. */
export interface ReceivedRequest {
  /** `POST`, `GET`… */
  readonly method: string;
  /** Request target, e.g. `/api/v1/scheduler`. */
  readonly path: string;
  /** Headers in received order and spelling. */
  readonly headers: readonly HttpHeader[];
  /** The body, chunk framing removed. */
  readonly body: Uint8Array;
  /**
   * The call type: the `type` of a JSON body, or of a protobuf scheduler `Call` (field 2);
   * `undefined` when the body has none.
   */
  readonly callType: string | undefined;
  /** Which connection (1, 2, … in accept order) carried the request. */
  readonly connection: number;
  /** Index of the script step that answered, `undefined` when none matched. */
  readonly step: number | undefined;
  /**
   * Over TLS (see {@link ReplayServerOptions.tls}): the negotiated protocol and the common name of
   * the client certificate the server verified (`undefined` when none was sent or verified).
   * `undefined` over plain TCP.
   */
  readonly tls?: { readonly protocol: string | null; readonly clientCertificateCN: string | undefined };
  /** The value of header `name` (case-insensitive). */
  header(name: string): string | undefined;
}

/** Which requests a step answers; every given condition must hold. */
export interface ReplayMatch {
  /** Request method. @default any */
  readonly method?: string;
  /** Request path (query included), compared exactly. @default any */
  readonly path?: string;
  /** Call type, e.g. `SUBSCRIBE` (see {@link ReceivedRequest.callType}). @default any */
  readonly callType?: string;
  /** Any further condition. @default none */
  readonly test?: (request: ReceivedRequest) => boolean;
}

/** One step of a replay script: which request it answers and how. */
export interface ReplayStep {
  /** Requests this step answers. @default every request */
  readonly match?: ReplayMatch;
  /** The recorded answer (or a whole recorded exchange, whose response is used). */
  readonly respond: RecordedResponse | RecordedExchange;
  /**
   * `full-speed` writes as fast as the socket takes it; `recorded` reproduces the recording's
   * `recv()` sizes and delays (`.timeline.txt`; without one it falls back to full speed).
   * @default 'full-speed'
   */
  readonly pacing?: 'full-speed' | 'recorded';
  /** Factor applied to recorded delays (0.1 replays ten times faster). @default 1 */
  readonly timeScale?: number;
  /**
   * Keep a streaming (chunked) response open once the recording's data is sent, instead of
   * sending its final chunk or closing; the connection then stays until the client or
   * {@link ReplayServer.close} ends it.
   * @default false
   */
  readonly hold?: boolean;
  /**
   * Close the connection once `afterBytes` bytes of the body (as on the wire, chunk framing
   * included) are sent, for fault tests. @default undefined
   */
  readonly cut?: { readonly afterBytes: number };
  /**
   * Close the connection without answering at all, as a master that read the request and then
   * died: the request is recorded, no byte is sent. `respond` is still required (it documents
   * what the master would have said). @default false
   */
  readonly dropWithoutAnswer?: boolean;
  /**
   * Junk appended to the body: as one extra HTTP chunk (before the final chunk) for a chunked
   * response, so that it reaches the client's RecordIO decoder; raw after the body otherwise.
   * @default undefined
   */
  readonly garbage?: Uint8Array;
  /**
   * Serve the data chunks of a chunked response this many times (one head, one final chunk),
   * e.g. to benchmark a decoder on a long real stream. @default 1
   */
  readonly repeat?: number;
  /** How many requests this step may answer. @default 1 */
  readonly times?: number;
}

/** A request no step matched; it was answered 500. */
export interface ReplayMismatch {
  /** The request. */
  readonly request: ReceivedRequest;
  /** What was received and what the unused steps expected. */
  readonly message: string;
}

/** TLS settings of the replay server (test certificates: `src/__fixtures__/tls`). */
export interface ReplayServerTlsOptions {
  /** The server's private key (PEM). */
  readonly key: string | Buffer;
  /** The server's certificate chain (PEM); name 127.0.0.1 (IP SAN) for `url` to verify. */
  readonly cert: string | Buffer;
  /** CAs trusted for client certificates (PEM). @default Node's bundled CAs */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Ask clients for a certificate. @default false */
  readonly requestCert?: boolean;
  /**
   * With `requestCert`: end the handshake of a client without a certificate signed by `ca`.
   * @default true
   */
  readonly rejectUnauthorized?: boolean;
}

/** Options of {@link startReplayServer}. */
export interface ReplayServerOptions {
  /** The steps, tried in order: a request is answered by the first unused step that matches it. */
  readonly script: readonly ReplayStep[];
  /** Port to bind on 127.0.0.1. @default 0 (a free port) */
  readonly port?: number;
  /**
   * Serve HTTPS (`node:tls`) instead of plain HTTP: same bytes inside the TLS session, `url`
   * becomes `https://127.0.0.1:PORT`. @default undefined (plain `node:net`)
   */
  readonly tls?: ReplayServerTlsOptions;
}

/** A running replay server. */
export interface ReplayServer {
  /** `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` with {@link ReplayServerOptions.tls}. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** Every request received, in arrival order. */
  readonly requests: readonly ReceivedRequest[];
  /** Requests no step matched (each answered 500); assert it is empty. */
  readonly mismatches: readonly ReplayMismatch[];
  /** With {@link ReplayServerOptions.tls}: the handshakes that failed (`tlsClientError`), in order. */
  readonly tlsErrors: readonly Error[];
  /** Indexes of the steps that answered fewer requests than their `times`. */
  unusedSteps(): number[];
  /** Destroys open connections, stops listening, and resolves once closed. */
  close(): Promise<void>;
}

const MAX_HEAD_BYTES = 64 * 1024;

// Scheduler Call.Type numbers (include/mesos/v1/scheduler/scheduler.proto, Mesos 1.12).
const SCHEDULER_CALL_TYPES: Readonly<Record<number, string>> = {
  0: 'UNKNOWN',
  1: 'SUBSCRIBE',
  2: 'TEARDOWN',
  3: 'ACCEPT',
  4: 'DECLINE',
  5: 'REVIVE',
  6: 'KILL',
  7: 'SHUTDOWN',
  8: 'ACKNOWLEDGE',
  9: 'RECONCILE',
  10: 'MESSAGE',
  11: 'REQUEST',
  12: 'SUPPRESS',
  13: 'ACCEPT_INVERSE_OFFERS',
  14: 'DECLINE_INVERSE_OFFERS',
  15: 'ACKNOWLEDGE_OPERATION_STATUS',
  16: 'RECONCILE_OPERATIONS',
  17: 'UPDATE_FRAMEWORK',
};

function readVarint(bytes: Uint8Array, start: number): [value: number, next: number] | undefined {
  let value = 0;
  let factor = 1;
  for (let i = start; i < bytes.length && i < start + 10; i += 1) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * factor;
    if ((byte & 0x80) === 0) return [value, i + 1];
    factor *= 128;
  }
  return undefined;
}

/** Field 2 (varint) of a protobuf scheduler `Call`, skipping other top-level fields. */
function protobufCallType(body: Uint8Array): string | undefined {
  let i = 0;
  while (i < body.length) {
    const key = readVarint(body, i);
    if (!key) return undefined;
    const [tag, next] = key;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    i = next;
    if (wire === 0) {
      const value = readVarint(body, i);
      if (!value) return undefined;
      if (field === 2) return SCHEDULER_CALL_TYPES[value[0]] ?? String(value[0]);
      i = value[1];
    } else if (wire === 2) {
      const length = readVarint(body, i);
      if (!length) return undefined;
      i = length[1] + length[0];
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else return undefined;
  }
  return undefined;
}

function callTypeOf(headers: readonly HttpHeader[], body: Uint8Array): string | undefined {
  if (body.length === 0) return undefined;
  const contentType = (getHeader(headers, 'content-type') ?? '').toLowerCase();
  if (contentType.includes('protobuf')) return protobufCallType(body);
  try {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as unknown;
    const type = (parsed as { type?: unknown } | null)?.type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}

function describeMatch(match: ReplayMatch | undefined): string {
  if (!match) return 'any request';
  const parts = [
    match.method ?? '*',
    match.path ?? '*',
    ...(match.callType ? [`(call ${match.callType})`] : []),
    ...(match.test ? ['(+ predicate)'] : []),
  ];
  return parts.join(' ');
}

function matches(match: ReplayMatch | undefined, request: ReceivedRequest): boolean {
  if (!match) return true;
  if (match.method !== undefined && match.method.toUpperCase() !== request.method) return false;
  if (match.path !== undefined && match.path !== request.path) return false;
  if (match.callType !== undefined && match.callType !== request.callType) return false;
  return match.test ? match.test(request) : true;
}

function tlsStateOf(socket: TLSSocket): NonNullable<ReceivedRequest['tls']> {
  const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
  const cn = peer?.subject?.CN;
  return { protocol: socket.getProtocol(), clientCertificateCN: Array.isArray(cn) ? cn[0] : cn };
}

function responseOf(step: ReplayStep): RecordedResponse {
  return 'response' in step.respond ? step.respond.response : step.respond;
}

function configError(message: string, cause: unknown): SparkMesosError {
  return new SparkMesosError('SM_ERR_BAD_CONFIG', message, { cause });
}

/** A piece of the answer: bytes to write after waiting `delayMs`. */
interface Segment {
  readonly bytes: Uint8Array;
  readonly delayMs: number;
}

interface Plan {
  /** Segments to write, lazily (a repeated stream is never materialised). */
  readonly segments: Iterable<Segment>;
  /** Whether the answer is a complete HTTP message (the connection may carry another). */
  readonly complete: boolean;
}

function planResponse(step: ReplayStep): Plan {
  const response = responseOf(step);
  const repeat = step.repeat ?? 1;
  if (!Number.isSafeInteger(repeat) || repeat < 1) {
    throw configError(`Replay step repeat must be a positive integer, got ${String(repeat)}.`, { repeat });
  }
  const { head, body } = response;
  let data = body;
  let rest: Uint8Array = new Uint8Array(0);
  let complete = response.terminated;
  if (response.chunked) {
    const dechunked = decodeChunked(body);
    data = body.subarray(0, dechunked.dataEnd);
    rest = body.subarray(dechunked.dataEnd); // the final chunk, or a chunk the recording cut
    if (step.hold) {
      rest = new Uint8Array(0);
      complete = false;
    }
  } else if (repeat > 1) {
    throw configError('Replay step repeat needs a chunked (streaming) recorded response.', { repeat });
  }
  const garbage =
    step.garbage === undefined || step.garbage.length === 0
      ? new Uint8Array(0)
      : response.chunked
        ? encodeChunk(step.garbage)
        : step.garbage;
  const timeline = step.pacing === 'recorded' ? response.timeline : undefined;
  if (timeline && timeline.length > 0 && repeat === 1) {
    // Reproduce each recv(): boundaries are offsets in the recording (head + body); the garbage
    // chunk, if any, is slipped in where the data ends.
    const wire = Buffer.concat([head, data, garbage, rest]);
    const insertAt = head.length + data.length;
    const scale = step.timeScale ?? 1;
    const segments: Segment[] = [];
    let recorded = 0;
    let start = 0;
    let previousAt = 0;
    for (const recv of timeline) {
      recorded += recv.bytes;
      const end = Math.min(wire.length, recorded >= insertAt ? recorded + garbage.length : recorded);
      if (end > start)
        segments.push({ bytes: wire.subarray(start, end), delayMs: Math.max(0, (recv.atMs - previousAt) * scale) });
      previousAt = recv.atMs;
      start = Math.max(start, end);
    }
    if (start < wire.length) segments.push({ bytes: wire.subarray(start), delayMs: 0 });
    if (!step.hold && !response.chunked && !response.terminated) complete = false;
    return { segments, complete };
  }
  function* fullSpeed(): Generator<Segment> {
    yield { bytes: head, delayMs: 0 };
    for (let i = 0; i < repeat; i += 1) if (data.length > 0) yield { bytes: data, delayMs: 0 };
    if (garbage.length > 0) yield { bytes: garbage, delayMs: 0 };
    if (rest.length > 0) yield { bytes: rest, delayMs: 0 };
  }
  return { segments: fullSpeed(), complete };
}

/**
 * Starts a loopback HTTP/1.1 server on 127.0.0.1 that answers with RECORDED Mesos exchanges,
 * byte for byte (status line, headers, chunk framing), following a script. It is a raw
 * `node:net` server (`node:tls` with the `tls` option, the same bytes inside the TLS session):
 * what goes on the wire is exactly the recording's, optionally paced as
 * recorded, cut, extended with garbage, or repeated. Requests are parsed (Content-Length and
 * chunked bodies, keep-alive, pipelined requests answered in order) and kept in `requests`.
 *
 * A request that no unused step matches is answered `500` with a text naming what was received
 * and what the script expected, and recorded in `mismatches`, so tests fail loudly.
 *
 * @example
 * ```ts
 * const subscribe = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
 * const server = await startReplayServer({ script: [{ match: { callType: 'SUBSCRIBE' }, respond: subscribe }] });
 * try { ... fetch(`${server.url}/api/v1/scheduler`, ...) ... } finally { await server.close(); }
 * ```
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 */
export async function startReplayServer(options: ReplayServerOptions): Promise<ReplayServer> {
  const script = options.script;
  // Validate the script up front (bad repeat values and the like).
  for (const step of script) planResponse(step);
  const uses = script.map(() => 0);
  const requests: ReceivedRequest[] = [];
  const mismatches: ReplayMismatch[] = [];
  const sockets = new Set<Socket>();
  const tlsErrors: Error[] = [];
  const stopping = new AbortController();
  let connections = 0;

  const findStep = (request: ReceivedRequest): number =>
    script.findIndex((step, index) => uses[index]! < (step.times ?? 1) && matches(step.match, request));

  const write = async (socket: Socket, bytes: Uint8Array): Promise<void> => {
    if (socket.destroyed || !socket.writable) throw new Error('socket closed');
    if (!socket.write(bytes)) {
      // Wait for whichever comes first, and remove the other listener: long streams wait for
      // 'drain' thousands of times.
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
      if (socket.destroyed) throw new Error('socket closed');
    }
  };

  /** Answers one request; resolves to whether the connection may carry another. */
  const answer = async (socket: Socket, request: ReceivedRequest, stepIndex: number): Promise<boolean> => {
    if (stepIndex < 0) {
      const expected = script
        .map((step, index) => ({ step, index }))
        .filter(({ step, index }) => uses[index]! < (step.times ?? 1))
        .map(({ step, index }) => `step ${index}: ${describeMatch(step.match)}`);
      const message = `replay server: no script step matches ${request.method} ${request.path}${
        request.callType ? ` (call ${request.callType})` : ''
      }; expected ${expected.length > 0 ? expected.join('; ') : 'no more requests (every step is used)'}.`;
      mismatches.push({ request, message });
      const body = Buffer.from(message, 'utf8');
      await write(
        socket,
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`,
            'latin1',
          ),
          body,
        ]),
      );
      return true;
    }
    const step = script[stepIndex]!;
    if (step.dropWithoutAnswer === true) {
      socket.destroy();
      return false;
    }
    const plan = planResponse(step);
    const cutAt =
      step.cut === undefined ? Number.POSITIVE_INFINITY : step.cut.afterBytes + responseOf(step).head.length;
    let sent = 0;
    for (const segment of plan.segments) {
      if (segment.delayMs > 0) await sleep(segment.delayMs, undefined, { signal: stopping.signal });
      const room = cutAt - sent;
      const bytes = segment.bytes.length > room ? segment.bytes.subarray(0, room) : segment.bytes;
      if (bytes.length > 0) await write(socket, bytes);
      sent += bytes.length;
      if (sent >= cutAt) {
        socket.end();
        return false;
      }
    }
    if (plan.complete) return true;
    if (step.hold) {
      if (!socket.destroyed) await once(socket, 'close');
      return false;
    }
    // The recording ends without ending the HTTP message (a stream the client cut): close.
    socket.end();
    return false;
  };

  const onConnection = (socket: Socket): void => {
    connections += 1;
    const connection = connections;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {
      // A client going away mid-answer is normal here.
    });
    socket.on('close', () => sockets.delete(socket));
    let buffer: Buffer = Buffer.alloc(0);
    const queue: ReceivedRequest[] = [];
    let busy = false;
    let closeAfter = false;

    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        while (queue.length > 0 && !socket.destroyed) {
          const request = queue.shift()!;
          const keepOpen = await answer(socket, request, request.step ?? -1);
          const wantsClose = /\bclose\b/i.test(request.header('connection') ?? '');
          if (!keepOpen) return;
          if (wantsClose || (closeAfter && queue.length === 0)) {
            socket.end();
            return;
          }
        }
      } catch {
        socket.destroy();
      } finally {
        busy = false;
      }
    };

    const tlsState = options.tls === undefined ? undefined : tlsStateOf(socket as TLSSocket);

    const parse = (): void => {
      for (;;) {
        const head = parseHttpHead(buffer);
        if (!head) {
          if (buffer.length > MAX_HEAD_BYTES) {
            socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n');
            buffer = Buffer.alloc(0);
          }
          return;
        }
        const requestLine = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(head.startLine);
        if (!requestLine) {
          socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
          buffer = Buffer.alloc(0);
          return;
        }
        let body: Uint8Array;
        let consumed: number;
        const rest = buffer.subarray(head.bodyOffset);
        if (isChunked(head.headers)) {
          const dechunked = decodeChunked(rest);
          if (!dechunked.terminated) return;
          body = dechunked.body;
          consumed = head.bodyOffset + dechunked.consumed;
        } else {
          const length = Number(getHeader(head.headers, 'content-length') ?? 0);
          if (rest.length < length) return;
          body = Buffer.from(rest.subarray(0, length));
          consumed = head.bodyOffset + length;
        }
        buffer = buffer.subarray(consumed);
        if (requestLine[3] === '0') closeAfter = true;
        const headers = head.headers;
        const partial = {
          method: requestLine[1]!,
          path: requestLine[2]!,
          headers,
          body,
          callType: callTypeOf(headers, body),
          connection,
          step: undefined as number | undefined,
          header: (name: string) => getHeader(headers, name),
          ...(tlsState === undefined ? {} : { tls: tlsState }),
        };
        const stepIndex = findStep(partial);
        if (stepIndex >= 0) {
          uses[stepIndex]! += 1;
          partial.step = stepIndex;
        }
        const request: ReceivedRequest = Object.freeze(partial);
        requests.push(request);
        queue.push(request);
      }
    };

    socket.on('data', (data: Buffer) => {
      buffer = buffer.length === 0 ? data : Buffer.concat([buffer, data]);
      try {
        parse();
      } catch {
        socket.destroy();
        return;
      }
      void pump();
    });
  };

  let server: Server;
  if (options.tls === undefined) server = createTcpServer(onConnection);
  else {
    const { key, cert, ca, requestCert, rejectUnauthorized } = options.tls;
    server = createTlsServer(
      {
        key,
        cert,
        ...(ca === undefined ? {} : { ca: typeof ca === 'string' || Buffer.isBuffer(ca) ? ca : [...ca] }),
        requestCert: requestCert ?? false,
        rejectUnauthorized: rejectUnauthorized ?? true,
      },
      onConnection,
    );
    // Node ends the failed socket itself, after sending the TLS alert that names the problem.
    server.on('tlsClientError', (error: Error) => {
      tlsErrors.push(error);
    });
    // Connections still in their handshake are not in `sockets` yet: close() must end them too.
    server.on('connection', (raw: Socket) => {
      sockets.add(raw);
      raw.on('close', () => sockets.delete(raw));
    });
  }

  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    requests,
    mismatches,
    tlsErrors,
    unusedSteps: () => script.flatMap((step, index) => (uses[index]! < (step.times ?? 1) ? [index] : [])),
    close: async () => {
      stopping.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
