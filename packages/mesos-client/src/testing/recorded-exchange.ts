import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SparkMesosError } from '@spark-mesos/errors';
import { createRecordIoDecoder } from '../recordio.js';
import { decodeChunked, encodeChunk, getHeader, type HttpHeader, isChunked, parseHttpHead } from './http-message.js';

/** One `recv()` of a recording's `.timeline.txt`: when, and how many bytes of the response. */
export interface RecordedRecv {
  /** Milliseconds since the request was sent. */
  readonly atMs: number;
  /** Bytes received by that `recv()` (head and chunk framing included). */
  readonly bytes: number;
}

/** A recorded HTTP response, byte for byte. */
export interface RecordedResponse {
  /** Status code, e.g. 200 or 307. */
  readonly status: number;
  /** Reason phrase as recorded, e.g. `Temporary Redirect`. */
  readonly statusText: string;
  /** Headers in recorded order and spelling. */
  readonly headers: readonly HttpHeader[];
  /** Status line, headers and the empty line, exactly as recorded. */
  readonly head: Uint8Array;
  /** The body as on the wire (HTTP chunk framing included when chunked). */
  readonly body: Uint8Array;
  /** Whether the body uses chunked transfer encoding. */
  readonly chunked: boolean;
  /** The body with chunk framing removed (what an HTTP client hands to the application). */
  readonly decodedBody: Uint8Array;
  /**
   * Whether the recorded message is complete by HTTP's rules (final zero-length chunk, or the
   * full `Content-Length`). `false` for event streams the client cut.
   */
  readonly terminated: boolean;
  /** Per-`recv()` byte counts and times, when the recording has a `.timeline.txt`. @default undefined */
  readonly timeline?: readonly RecordedRecv[];
}

/** A recorded HTTP request, byte for byte. */
export interface RecordedRequest {
  /** `POST`, `GET`… */
  readonly method: string;
  /** Request target, e.g. `/api/v1/scheduler`. */
  readonly path: string;
  /** Headers in recorded order and spelling. */
  readonly headers: readonly HttpHeader[];
  /** The whole message as recorded. */
  readonly raw: Uint8Array;
  /** The body (chunk framing removed). */
  readonly body: Uint8Array;
}

/** A request and the answer Mesos gave it. */
export interface RecordedExchange {
  /** The recording's name, e.g. `flow-subscribe`. */
  readonly name: string;
  /** The request, when recorded (`.request.raw`). @default undefined */
  readonly request?: RecordedRequest;
  /** The response. */
  readonly response: RecordedResponse;
}

function recordingError(message: string, cause: unknown): SparkMesosError {
  return new SparkMesosError('SM_ERR_REPLAY_BAD_RECORDING', message, { cause });
}

/**
 * Parses a byte-exact HTTP response (`*.response.raw`, or a `.headers.txt` followed by the body).
 * A chunked body may end anywhere: a stream the client cut is kept as recorded.
 */
export function parseRecordedResponse(raw: Uint8Array, timeline?: readonly RecordedRecv[]): RecordedResponse {
  const parsed = parseHttpHead(raw);
  if (!parsed)
    throw recordingError('Recorded response has no complete head (no empty line): re-record it byte for byte.', {});
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(parsed.startLine);
  if (!match) {
    throw recordingError(
      `Recorded response starts with ${JSON.stringify(parsed.startLine)}, not an HTTP/1.x status line.`,
      {
        startLine: parsed.startLine,
      },
    );
  }
  const head = raw.subarray(0, parsed.bodyOffset);
  const body = raw.subarray(parsed.bodyOffset);
  const chunked = isChunked(parsed.headers);
  let decodedBody: Uint8Array = body;
  let terminated = true;
  if (chunked) {
    const dechunked = decodeChunked(body);
    decodedBody = dechunked.body;
    terminated = dechunked.terminated;
  } else {
    const length = getHeader(parsed.headers, 'content-length');
    if (length !== undefined) terminated = body.length >= Number(length);
  }
  return {
    status: Number(match[1]),
    statusText: match[2] ?? '',
    headers: parsed.headers,
    head,
    body,
    chunked,
    decodedBody,
    terminated,
    ...(timeline === undefined ? {} : { timeline }),
  };
}

/** Parses a byte-exact HTTP request (`*.request.raw`). */
export function parseRecordedRequest(raw: Uint8Array): RecordedRequest {
  const parsed = parseHttpHead(raw);
  const match = parsed && /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(parsed.startLine);
  if (!parsed || !match) throw recordingError('Recorded request has no HTTP/1.x request line and head.', {});
  const rest = raw.subarray(parsed.bodyOffset);
  const body = isChunked(parsed.headers)
    ? decodeChunked(rest).body
    : rest.subarray(0, Number(getHeader(parsed.headers, 'content-length') ?? 0));
  return { method: match[1]!, path: match[2]!, headers: parsed.headers, raw, body };
}

/** Parses the `recv` lines of a `.timeline.txt` (`   0.009s recv 459 bytes`); other lines are ignored. */
export function parseTimeline(text: string): RecordedRecv[] {
  const recvs: RecordedRecv[] = [];
  for (const match of text.matchAll(/^\s*([\d.]+)s recv (\d+) bytes\s*$/gm)) {
    recvs.push({ atMs: Math.round(Number(match[1]) * 1000), bytes: Number(match[2]) });
  }
  return recvs;
}

/**
 * Re-frames a de-chunked RecordIO event stream (`.stream.bin` as curl saved it) as HTTP chunks,
 * one RecordIO record per chunk, as the Mesos master sends them. A trailing partial record goes
 * into a last chunk of its own.
 */
export function rechunkRecordIo(stream: Uint8Array): Uint8Array {
  const decoder = createRecordIoDecoder({ copy: false });
  const parts: Uint8Array[] = [];
  let offset = 0;
  const buffer = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength);
  // Feed byte ranges so that each record's framed bytes become one chunk.
  for (let i = 0; i < stream.length; i += 1) {
    if (decoder.push(stream.subarray(i, i + 1)).length > 0) {
      parts.push(encodeChunk(buffer.subarray(offset, i + 1)));
      offset = i + 1;
    }
  }
  if (offset < stream.length) parts.push(encodeChunk(buffer.subarray(offset)));
  return Buffer.concat(parts);
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  return existsSync(path) ? readFile(path) : undefined;
}

/**
 * Loads the recording `name` from `dir`, in any of the fixture forms:
 * - `name.request.raw` + `name.response.raw` (+ `name.timeline.txt`): byte-exact, chunk framing kept;
 * - `name.headers.txt` + `name.body`: a curl capture of an ordinary answer;
 * - `name.headers.txt` + `name.stream.bin`: a curl capture of an event stream. When the file
 *   still has its chunk framing (`-rawchunked`) it is used as is; otherwise each RecordIO
 *   record is framed as one chunk, as Mesos sends them, without the final chunk (curl cut it).
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 */
export async function loadRecordedExchange(dir: string | URL, name: string): Promise<RecordedExchange> {
  const base = typeof dir === 'string' ? dir : dir.pathname;
  const file = (suffix: string) => join(base, `${name}${suffix}`);
  const responseRaw = await readIfExists(file('.response.raw'));
  if (responseRaw) {
    const requestRaw = await readIfExists(file('.request.raw'));
    const timelineText = await readIfExists(file('.timeline.txt'));
    const timeline = timelineText ? parseTimeline(timelineText.toString('utf8')) : undefined;
    return {
      name,
      ...(requestRaw ? { request: parseRecordedRequest(requestRaw) } : {}),
      response: parseRecordedResponse(responseRaw, timeline),
    };
  }
  const head = await readIfExists(file('.headers.txt'));
  if (!head) {
    throw new SparkMesosError(
      'SM_ERR_REPLAY_BAD_RECORDING',
      `No recording "${name}" in ${base}: expected ${name}.response.raw or ${name}.headers.txt (with .body or .stream.bin); check the fixture name and directory.`,
      { cause: { dir: base, name } },
    );
  }
  const bodyFile = await readIfExists(file('.body'));
  const stream = bodyFile ? undefined : await readIfExists(file('.stream.bin'));
  let body: Uint8Array = bodyFile ?? stream ?? new Uint8Array(0);
  const parsedHead = parseHttpHead(head);
  if (stream && parsedHead && isChunked(parsedHead.headers)) {
    let keepsFraming = false;
    try {
      keepsFraming = decodeChunked(stream).consumed > 0;
    } catch {
      keepsFraming = false;
    }
    if (!keepsFraming) body = rechunkRecordIo(stream);
  }
  return { name, response: parseRecordedResponse(Buffer.concat([head, body])) };
}
