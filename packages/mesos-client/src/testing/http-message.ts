import { SparkMesosError } from '@spark-mesos/errors';

/**
 * Byte-level HTTP/1.1 helpers of the replay server: splitting recorded messages into head and
 * body, removing and adding chunked transfer framing. Test support, not a general HTTP parser.
 * @module
 */

/** A header as recorded: original name spelling and value. */
export type HttpHeader = readonly [name: string, value: string];

/** The head of an HTTP message: start line, headers, and where the body starts. */
export interface HttpHead {
  /** `HTTP/1.1 200 OK` or `POST /api/v1/scheduler HTTP/1.1`. */
  readonly startLine: string;
  /** Headers in recorded order and spelling. */
  readonly headers: readonly HttpHeader[];
  /** Offset of the first body byte (just after the empty line). */
  readonly bodyOffset: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

function badMessage(message: string, cause: unknown): SparkMesosError {
  return new SparkMesosError(
    'SM_ERR_REPLAY_BAD_RECORDING',
    `${message}: check that the recording is a byte-exact HTTP/1.1 message.`,
    {
      cause,
    },
  );
}

/**
 * Finds and parses the head of an HTTP/1.1 message in `bytes`; `undefined` while the empty line
 * that ends the head has not arrived yet.
 */
export function parseHttpHead(bytes: Uint8Array): HttpHead | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = buffer.indexOf(CRLFCRLF);
  if (end < 0) return undefined;
  const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const startLine = lines.shift() ?? '';
  const headers: HttpHeader[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw badMessage(`Malformed HTTP header line ${JSON.stringify(line)}`, { line });
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { startLine, headers, bodyOffset: end + 4 };
}

/** The value of header `name` (case-insensitive), several values joined with `, `. */
export function getHeader(headers: readonly HttpHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  const values = headers.filter(([key]) => key.toLowerCase() === lower).map(([, value]) => value);
  return values.length === 0 ? undefined : values.join(', ');
}

/** Whether the headers declare `Transfer-Encoding: chunked`. */
export function isChunked(headers: readonly HttpHeader[]): boolean {
  return /(^|,)\s*chunked\s*$/i.test(getHeader(headers, 'transfer-encoding') ?? '');
}

/** The result of {@link decodeChunked}. */
export interface DechunkedBody {
  /** The payload, chunk framing removed. */
  readonly body: Uint8Array;
  /** Each chunk's payload in order (the final zero-length chunk excluded). */
  readonly chunks: readonly Uint8Array[];
  /** Whether the final zero-length chunk (and its trailer section) arrived. */
  readonly terminated: boolean;
  /** Bytes of `bytes` consumed: complete chunks, plus the final chunk and trailers if terminated. */
  readonly consumed: number;
  /** Bytes of `bytes` taken by complete data chunks (where the final chunk, if any, starts). */
  readonly dataEnd: number;
}

/**
 * Removes HTTP/1.1 chunked framing from `bytes`. A recording may end anywhere (the client cut
 * the stream): decoding stops at the last complete chunk. Throws on malformed framing.
 */
export function decodeChunked(bytes: Uint8Array): DechunkedBody {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  let terminated = false;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', offset, 'latin1');
    if (lineEnd < 0) break;
    const sizeText = buffer.subarray(offset, lineEnd).toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) {
      throw badMessage(`Malformed chunk size ${JSON.stringify(sizeText.slice(0, 20))} at body offset ${offset}`, {
        offset,
      });
    }
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) {
      // Trailer section: header lines until an empty line.
      let cursor = lineEnd + 2;
      let complete = false;
      for (;;) {
        const end = buffer.indexOf('\r\n', cursor, 'latin1');
        if (end < 0) break;
        if (end === cursor) {
          cursor = end + 2;
          complete = true;
          break;
        }
        cursor = end + 2;
      }
      if (complete) {
        terminated = true;
        return { body: Buffer.concat(chunks), chunks, terminated, consumed: cursor, dataEnd: offset };
      }
      break;
    }
    const dataStart = lineEnd + 2;
    const dataEnd = dataStart + size;
    if (dataEnd + 2 > buffer.length) break;
    if (buffer[dataEnd] !== 0x0d || buffer[dataEnd + 1] !== 0x0a) {
      throw badMessage(`Chunk at body offset ${offset} is not followed by CRLF`, { offset });
    }
    chunks.push(buffer.subarray(dataStart, dataEnd));
    offset = dataEnd + 2;
  }
  return { body: Buffer.concat(chunks), chunks, terminated, consumed: offset, dataEnd: offset };
}

/** Frames `data` as one HTTP/1.1 chunk (`<hex size>\r\n<data>\r\n`); empty data gives the final chunk. */
export function encodeChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) return Buffer.from('0\r\n\r\n', 'latin1');
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'), data, Buffer.from('\r\n', 'latin1')]);
}

/** Bytes of the final zero-length chunk with no trailers. */
export const LAST_CHUNK: Uint8Array = Buffer.from('0\r\n\r\n', 'latin1');
