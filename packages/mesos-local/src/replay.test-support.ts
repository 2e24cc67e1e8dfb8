// Test support of the replay proof (replay-proof.integ.test.ts): raw HTTP/1.1 on a socket, so
// requests go out byte for byte as recorded and answers are seen as sent (header order, chunk
// framing); recorded and live scheduler event streams decoded the same way; ids rewritten.
import { connect, type Socket } from 'node:net';
import {
  createRecordIoDecoder,
  MESOS_CONTENT_TYPES,
  type MesosEncoding,
  SCHEDULER_CALL_CODECS,
  SCHEDULER_EVENT_CODECS,
  type SchedulerEvent,
} from '@spark-mesos/mesos-client';
import {
  decodeChunked,
  getHeader,
  type HttpHeader,
  isChunked,
  parseHttpHead,
  parseRecordedRequest,
  type RecordedResponse,
} from '@spark-mesos/mesos-client/testing';

/** A live answer, parsed like a recorded one. */
export interface LiveResponse {
  /** Status code. */
  readonly status: number;
  /** Reason phrase, e.g. `Accepted`. */
  readonly statusText: string;
  /** Headers in the order and spelling sent. */
  readonly headers: readonly HttpHeader[];
  /** The body (for a stream: as received so far, chunk framing included). */
  readonly body: Buffer;
}

const WAIT_MS = 15_000;

/** The encoding named by a `Content-Type` value, if it is one of Mesos'. */
export function encodingOf(contentType: string | undefined): MesosEncoding | undefined {
  return (Object.keys(MESOS_CONTENT_TYPES) as MesosEncoding[]).find((key) => MESOS_CONTENT_TYPES[key] === contentType);
}

/** Decodes a de-chunked RecordIO body of scheduler events. */
export function decodeEvents(body: Uint8Array, encoding: MesosEncoding): SchedulerEvent[] {
  const decoder = createRecordIoDecoder();
  return decoder.push(body).map((record) => SCHEDULER_EVENT_CODECS[encoding].decode(record));
}

/** The events of a recorded SUBSCRIBE answer. */
export function recordedEvents(response: RecordedResponse): SchedulerEvent[] {
  const encoding = encodingOf(getHeader(response.headers, 'content-type')) ?? 'json';
  return decodeEvents(response.decodedBody, encoding);
}

/** An event as Mesos' JSON encoding writes it (uuids in base64), for comparisons. */
export function eventJson(event: SchedulerEvent): Record<string, unknown> {
  return JSON.parse(Buffer.from(SCHEDULER_EVENT_CODECS.json.encode(event)).toString('utf8')) as Record<string, unknown>;
}

function parseStatusLine(line: string): { status: number; statusText: string } {
  const match = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(line);
  if (!match) throw new Error(`Not an HTTP/1.1 status line: ${JSON.stringify(line)}`);
  return { status: Number(match[1]), statusText: match[2] ?? '' };
}

/**
 * One TCP connection to a server, requests sent byte for byte, answers read one after the other
 * (keep-alive, as Mesos' C++ scheduler library sends its calls).
 */
export class RawConnection {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | undefined;
  readonly #connected: Promise<void>;

  constructor(port: number) {
    this.#socket = connect(port, '127.0.0.1');
    this.#connected = new Promise((resolve, reject) => {
      this.#socket.once('connect', resolve);
      this.#socket.once('error', reject);
    });
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    this.#socket.on('error', () => {});
    this.#socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  /** Whether the server closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  async #waitForData(what: string): Promise<void> {
    if (this.#closed) throw new Error(`connection closed while waiting for ${what}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** Sends `request` and reads one complete answer with a `Content-Length` body. */
  async send(request: Uint8Array): Promise<LiveResponse> {
    await this.#connected;
    this.#socket.write(request);
    for (;;) {
      const head = parseHttpHead(this.#buffer);
      if (head) {
        const length = Number(getHeader(head.headers, 'content-length') ?? 0);
        if (this.#buffer.length >= head.bodyOffset + length) {
          const body = Buffer.from(this.#buffer.subarray(head.bodyOffset, head.bodyOffset + length));
          this.#buffer = this.#buffer.subarray(head.bodyOffset + length);
          return { ...parseStatusLine(head.startLine), headers: head.headers, body };
        }
      }
      await this.#waitForData('an answer');
    }
  }

  /** Sends a SUBSCRIBE and returns its event stream once the head arrived. */
  async subscribe(request: Uint8Array): Promise<LiveStream> {
    await this.#connected;
    this.#socket.write(request);
    for (;;) {
      const head = parseHttpHead(this.#buffer);
      if (head) return new LiveStream(this, head);
      await this.#waitForData('a SUBSCRIBE answer');
    }
  }

  /** Everything received and not yet taken by {@link send} (a stream's head and body). */
  takeBuffer(): Buffer {
    return this.#buffer;
  }

  /** Waits for more bytes from the server. */
  waitForData(what: string): Promise<void> {
    return this.#waitForData(what);
  }

  /** Closes the connection (as a client does when it exits). */
  close(): void {
    this.#socket.destroy();
  }
}

/** A live SUBSCRIBE answer: its head, and its events as they arrive. */
export class LiveStream implements LiveResponse {
  /** Status code. */
  readonly status: number;
  /** Reason phrase. */
  readonly statusText: string;
  /** Headers in the order and spelling sent. */
  readonly headers: readonly HttpHeader[];
  readonly #events: SchedulerEvent[] = [];
  /** Sizes of the HTTP chunks' payloads, in order. */
  readonly chunkSizes: number[] = [];
  #terminated = false;
  readonly #connection: RawConnection;
  readonly #bodyOffset: number;
  readonly #encoding: MesosEncoding | undefined;
  readonly #decoder = createRecordIoDecoder();

  constructor(
    connection: RawConnection,
    head: { startLine: string; headers: readonly HttpHeader[]; bodyOffset: number },
  ) {
    const { status, statusText } = parseStatusLine(head.startLine);
    this.status = status;
    this.statusText = statusText;
    this.headers = head.headers;
    this.#connection = connection;
    this.#bodyOffset = head.bodyOffset;
    this.#encoding = encodingOf(getHeader(head.headers, 'content-type'));
    this.#pull();
  }

  /** The body is empty for a non-200 answer. */
  get body(): Buffer {
    return this.#connection.takeBuffer().subarray(this.#bodyOffset);
  }

  /** The events received so far. */
  get events(): readonly SchedulerEvent[] {
    this.#pull();
    return this.#events;
  }

  /** Whether the master ended the stream (final zero-length chunk). */
  get terminated(): boolean {
    this.#pull();
    return this.#terminated;
  }

  #pull(): void {
    if (!isChunked(this.headers) || this.#encoding === undefined) return;
    const dechunked = decodeChunked(this.body);
    for (const chunk of dechunked.chunks.slice(this.chunkSizes.length)) {
      this.chunkSizes.push(chunk.length);
      for (const record of this.#decoder.push(chunk)) {
        this.#events.push(SCHEDULER_EVENT_CODECS[this.#encoding].decode(record));
      }
    }
    this.#terminated = dechunked.terminated;
  }

  /** Waits for the first event after index `from` that `matches`; returns it. */
  async next(what: string, matches: (event: SchedulerEvent) => boolean, from = 0): Promise<SchedulerEvent> {
    for (;;) {
      this.#pull();
      const found = this.#events.slice(from).find(matches);
      if (found) return found;
      await this.#connection.waitForData(`${what} on the event stream`);
    }
  }

  /** Waits until `count` events match (counting from the start of the stream). */
  async count(what: string, matches: (event: SchedulerEvent) => boolean, count: number): Promise<void> {
    for (;;) {
      this.#pull();
      if (this.#events.filter(matches).length >= count) return;
      await this.#connection.waitForData(`${what} on the event stream`);
    }
  }

  /** Waits until the master ends the stream, or closes the connection. */
  async end(): Promise<void> {
    while (!this.terminated && !this.#connection.closed) await this.#connection.waitForData('the end of the stream');
  }
}

/**
 * Recorded ids mapped to live ones, applied to requests: the framework id, stream id, agent,
 * offer ids and status update uuids (base64, as in JSON) a recorded request names.
 */
export class IdMap {
  readonly #map = new Map<string, string>();

  /** Maps `recorded` to `live`. */
  set(recorded: string, live: string): void {
    this.#map.set(recorded, live);
  }

  /** Whether `recorded` is mapped. */
  has(recorded: string): boolean {
    return this.#map.has(recorded);
  }

  /** The live id of `recorded`, if mapped. */
  get(recorded: string): string | undefined {
    return this.#map.get(recorded);
  }

  /** `text` with every recorded id replaced by its live one (longest first). */
  apply(text: string): string {
    let result = text;
    for (const [recorded, live] of [...this.#map].sort((a, b) => b[0].length - a[0].length)) {
      result = result.replaceAll(recorded, live);
    }
    return result;
  }
}

/**
 * The JSON text of a recorded request's body (protobuf bodies decoded), or undefined when it
 * is not a valid call (sent unchanged then).
 */
export function callJson(raw: Uint8Array): string | undefined {
  const request = parseRecordedRequest(raw);
  const encoding = encodingOf(getHeader(request.headers, 'content-type'));
  try {
    if (encoding === 'protobuf') {
      const call = SCHEDULER_CALL_CODECS.protobuf.decode(request.body);
      return Buffer.from(SCHEDULER_CALL_CODECS.json.encode(call)).toString('utf8');
    }
    if (encoding === 'json') return Buffer.from(request.body).toString('utf8');
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * A recorded request rewritten for the live cluster: `Host` set to `port`, ids mapped in the
 * headers and the body (a protobuf body is decoded, rewritten and encoded again), and
 * `Content-Length` fixed when the length changed. Other bytes stay as recorded.
 */
export function rewriteRequest(raw: Uint8Array, port: number, ids: IdMap): Buffer {
  const request = parseRecordedRequest(raw);
  const encoding = encodingOf(getHeader(request.headers, 'content-type'));
  let body = Buffer.from(request.body);
  if (encoding === 'json') body = Buffer.from(ids.apply(body.toString('latin1')), 'latin1');
  if (encoding === 'protobuf') {
    const json = callJson(raw);
    if (json !== undefined) {
      const call = SCHEDULER_CALL_CODECS.json.decode(Buffer.from(ids.apply(json), 'utf8'));
      body = Buffer.from(SCHEDULER_CALL_CODECS.protobuf.encode(call));
    }
  }
  const lines = [`${request.method} ${request.path} HTTP/1.1`];
  for (const [name, value] of request.headers) {
    const lower = name.toLowerCase();
    if (lower === 'host') lines.push(`${name}: 127.0.0.1:${port}`);
    else if (lower === 'content-length') lines.push(`${name}: ${body.length}`);
    else lines.push(`${name}: ${ids.apply(value)}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/**
 * A request built from a curl command line of a capture's note (`-H`, `-d`, `--data-binary`,
 * `-u`, `-X`, the URL); `@file` bodies are read with `readFile`.
 */
export function requestFromCurl(command: string, port: number, readFile?: (name: string) => Buffer): Buffer {
  const words = [...command.replace(/\\\n/g, ' ').matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2]);
  const headers: string[] = [];
  let body: Buffer | undefined;
  let method: string | undefined;
  let path = '/';
  for (let index = 0; index < words.length; index++) {
    const word = words[index] as string;
    if (word === '-H') headers.push(words[++index] as string);
    else if (word === '-d' || word === '--data-binary') {
      const value = words[++index] as string;
      body = value.startsWith('@') && readFile !== undefined ? readFile(value.slice(1)) : Buffer.from(value, 'utf8');
    } else if (word === '-X') method = words[++index];
    else if (word === '-u') {
      headers.push(`Authorization: Basic ${Buffer.from(words[++index] as string).toString('base64')}`);
    } else if (/^https?:\/\//.test(word)) {
      const url = new URL(word);
      path = `${url.pathname}${url.search}`;
    }
  }
  method ??= body === undefined ? 'GET' : 'POST';
  // curl's own headers first, then the -H ones (a -d body without a Content-Type is form-encoded, as curl sends it).
  const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'User-Agent: curl/8.0'];
  const named = (name: string): boolean => headers.some((header) => header.toLowerCase().startsWith(`${name}:`));
  if (!named('accept')) lines.push('Accept: */*');
  lines.push(...headers);
  if (body !== undefined) {
    lines.push(`Content-Length: ${body.length}`);
    if (!named('content-type')) lines.push('Content-Type: application/x-www-form-urlencoded');
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body ?? Buffer.alloc(0)]);
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** `text` with Mesos ids (master, framework, agent, offer ids; stream ids) replaced by placeholders. */
export function normalizeIds(text: string): string {
  return text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(-(\d{4}|[OS]\d+))?/g, '<id>');
}

/**
 * Compares a live answer's head with a recorded one: status and reason, header names in order,
 * and header values, apart from `Date`, ids (`Mesos-Stream-Id` must still be a UUID) and the
 * ports in `Location` (given as `expectedLocation`). Returns the differences (empty when equal).
 */
export function headDifferences(
  live: Pick<LiveResponse, 'status' | 'statusText' | 'headers'>,
  recorded: Pick<RecordedResponse, 'status' | 'statusText' | 'headers'>,
  expectedLocation?: string,
): string[] {
  const differences: string[] = [];
  if (live.status !== recorded.status || live.statusText !== recorded.statusText) {
    differences.push(`status ${live.status} ${live.statusText} ≠ ${recorded.status} ${recorded.statusText}`);
  }
  const liveNames = live.headers.map(([name]) => name);
  const recordedNames = recorded.headers.map(([name]) => name);
  if (liveNames.join('|') !== recordedNames.join('|')) {
    differences.push(`headers [${liveNames.join(', ')}] ≠ [${recordedNames.join(', ')}]`);
  }
  for (const [name, value] of recorded.headers) {
    const liveValue = getHeader(live.headers, name);
    const lower = name.toLowerCase();
    if (lower === 'date') continue;
    if (lower === 'mesos-stream-id') {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(liveValue ?? '')) {
        differences.push(`${name}: ${liveValue} is not a UUID`);
      }
      continue;
    }
    const expected = lower === 'location' && expectedLocation !== undefined ? expectedLocation : value;
    if (liveValue !== expected) differences.push(`${name}: ${liveValue} ≠ ${expected}`);
  }
  return differences;
}

/**
 * The structure of a JSON value: every path with the JSON type found there (array elements
 * merged under `[]`). Values do not matter, so ids and times drop out.
 */
export function shapeOf(value: unknown, path = '', into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    into.add(`${path}: array`);
    for (const item of value) shapeOf(item, `${path}[]`, into);
  } else if (value !== null && typeof value === 'object') {
    into.add(`${path}: object`);
    for (const [key, item] of Object.entries(value)) shapeOf(item, path === '' ? key : `${path}.${key}`, into);
  } else {
    into.add(`${path}: ${value === null ? 'null' : typeof value}`);
  }
  return into;
}

/** Paths of `recorded`'s shape missing from `live`'s (prefixed `-`) and extra ones (`+`). */
export function shapeDifferences(live: unknown, recorded: unknown): string[] {
  const liveShape = shapeOf(live);
  const recordedShape = shapeOf(recorded);
  return [
    ...[...recordedShape].filter((path) => !liveShape.has(path)).map((path) => `- ${path}`),
    ...[...liveShape].filter((path) => !recordedShape.has(path)).map((path) => `+ ${path}`),
  ].sort();
}

/** Replaces UUIDs in `text` (stream ids in error texts), for comparisons. */
export function withoutUuids(text: string): string {
  return text.replace(UUID, '<uuid>');
}
