import { SparkMesosError } from '@spark-mesos/errors';
import { createRecordIoScanner, type RecordIoDecoderOptions } from './recordio.js';

/**
 * How an HTTP/1.1 response body is delimited (RFC 9112 §6.3): `Transfer-Encoding: chunked`,
 * a `Content-Length`, or the end of the connection.
 */
export type HttpBodyFraming =
  | { readonly kind: 'chunked' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'close' };

/**
 * Decodes the body of a Mesos event-stream response as it comes off the socket: the HTTP/1.1
 * body framing and the RecordIO framing inside it, in one pass over each read. Internal to the
 * package (the direct event-stream reader uses it).
 */
export interface HttpRecordIoDecoder {
  /**
   * Consumes one socket read and returns the records it completes. A record that lies whole in
   * the read (inside one HTTP chunk) is a view of it; one split across reads or chunks is
   * assembled once, in a buffer of its own. Bytes after the end of the HTTP message are ignored.
   *
   * Throws `SM_ERR_HTTP_BAD_FRAMING` (bad chunk size line, missing CRLF, oversized trailers) or
   * a RecordIO error (`SM_ERR_RECORDIO_BAD_LENGTH`, `SM_ERR_RECORDIO_TOO_LARGE`); when the read
   * completed records before the error, they are returned and the error is thrown by the next
   * `push` or `end`.
   */
  push(read: Uint8Array): Uint8Array[];
  /** Whether the HTTP message is complete (last chunk and trailers, or `Content-Length` bytes). */
  readonly complete: boolean;
  /** The error `push` met after returning the records before it (thrown by the next call). */
  readonly error: unknown;
  /**
   * Declares the end of the connection. Throws `SM_ERR_RECORDIO_TRUNCATED` when it ended inside
   * a record, `SM_ERR_HTTP_TRUNCATED` when it ended before the HTTP message did (between
   * records), or a pending error; for a close-delimited body the end of the connection is the
   * end of the message.
   */
  end(): void;
}

const CR = 0x0d;
const LF = 0x0a;
// A chunk size of up to 13 hex digits (2^52 bytes) is a safe integer; no event comes close.
const MAX_CHUNK_SIZE_DIGITS = 13;
// Chunk extensions and trailers carry nothing Mesos uses; bound what is skipped.
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

// Chunked-body states.
const SIZE = 0; // hex digits of a chunk size
const SIZE_EXTENSION = 1; // after the digits: whitespace or ";ext", up to CR
const SIZE_LF = 2; // LF after the size line's CR
const DATA = 3; // chunk data
const DATA_CR = 4; // CR after chunk data
const DATA_LF = 5; // LF after chunk data
const TRAILER_START = 6; // start of a trailer line, or the final CRLF
const TRAILER_LINE = 7; // inside a trailer line, up to CR
const TRAILER_LF = 8; // LF after a trailer line's CR
const FINAL_LF = 9; // LF of the final empty line
const DONE = 10;

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}

function describeByte(byte: number): string {
  if (byte === LF) return '"\\n"';
  if (byte === CR) return '"\\r"';
  if (byte >= 0x20 && byte < 0x7f) return JSON.stringify(String.fromCharCode(byte));
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

function badFraming(reason: string, offset: number, byte?: number): SparkMesosError {
  return new SparkMesosError(
    'SM_ERR_HTTP_BAD_FRAMING',
    `HTTP chunked body: ${reason} at body offset ${offset}. The server (or a proxy) did not send valid HTTP/1.1 chunked framing (RFC 9112 §7.1): check what answers at this address.`,
    { cause: { offset, byte }, details: { offset, ...(byte === undefined ? {} : { byte }) } },
  );
}

/**
 * Where a body decoder puts the data of the body, range by range of each read, without a view
 * per HTTP chunk: the RecordIO scanner, or {@link rawBodySink} for a plain body.
 */
export interface HttpBodySink {
  /** Takes `read[start, end)`, appending what it completes to `out`. */
  scan(read: Uint8Array, start: number, end: number, out: Uint8Array[]): void;
  /** The body ended; throws when what the sink holds is incomplete. */
  end(): void;
}

/** A sink that hands the body's data on as it comes (a view per range). */
export const rawBodySink: HttpBodySink = {
  scan(read, start, end, out) {
    if (end > start) out.push(read.subarray(start, end));
  },
  end() {},
};

/**
 * Makes the one-pass decoder of a Mesos event-stream body for `framing`: HTTP framing, then
 * RecordIO.
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-7.1 (chunked transfer coding)
 * @see https://mesos.apache.org/documentation/latest/recordio/
 */
export function createHttpRecordIoDecoder(
  framing: HttpBodyFraming,
  options: RecordIoDecoderOptions = {},
): HttpRecordIoDecoder {
  return createHttpBodyDecoder(framing, createRecordIoScanner(options));
}

/**
 * Makes a decoder of an HTTP/1.1 body delimited by `framing` that feeds its data to `scanner`
 * (see {@link HttpRecordIoDecoder} for the contract, with the sink's output as "records").
 */
export function createHttpBodyDecoder(framing: HttpBodyFraming, scanner: HttpBodySink): HttpRecordIoDecoder {
  const chunked = framing.kind === 'chunked';
  let state = chunked ? SIZE : DATA;
  // Chunked: data bytes left in the current chunk; Content-Length: body bytes left.
  let remaining = framing.kind === 'length' ? framing.length : 0;
  let sizeDigits = 0;
  let lineBytes = 0;
  let trailerBytes = 0;
  let bodyOffset = 0;
  let failure: unknown;
  if (framing.kind === 'length' && remaining === 0) state = DONE;

  const pushChunked = (read: Uint8Array, out: Uint8Array[]): number => {
    const n = read.length;
    let i = 0;
    while (i < n) {
      if (state === SIZE && sizeDigits === 0) {
        // Fast path for a chunk that starts here: its size line read in one go, and, when the
        // whole chunk and its CRLF lie in this read (Mesos writes one record per chunk), its data
        // handed on at once. Anything unusual (an extension, a size line or chunk cut by the
        // read, a bad byte) leaves the state untouched for the byte-by-byte path below, which
        // accepts and reports exactly what it always did.
        let j = i;
        let size = 0;
        while (j < n && j - i < MAX_CHUNK_SIZE_DIGITS) {
          const digit = hexValue(read[j]!);
          if (digit < 0) break;
          size = size * 16 + digit;
          j += 1;
        }
        if (j > i && size > 0 && j + 1 < n && read[j] === CR && read[j + 1] === LF) {
          const dataStart = j + 2;
          const dataEnd = dataStart + size;
          if (dataEnd + 1 < n && read[dataEnd] === CR && read[dataEnd + 1] === LF) {
            scanner.scan(read, dataStart, dataEnd, out);
            i = dataEnd + 2;
            continue;
          }
          remaining = size;
          state = DATA;
          i = dataStart;
          continue;
        }
      }
      if (state === DATA) {
        const available = n - i;
        const take = Math.min(remaining, available);
        scanner.scan(read, i, i + take, out);
        i += take;
        remaining -= take;
        if (remaining === 0) state = DATA_CR;
        continue;
      }
      const byte = read[i]!;
      switch (state) {
        case SIZE: {
          const digit = hexValue(byte);
          if (digit >= 0) {
            sizeDigits += 1;
            if (sizeDigits > MAX_CHUNK_SIZE_DIGITS)
              throw badFraming(`a chunk size of more than ${MAX_CHUNK_SIZE_DIGITS} hex digits`, bodyOffset + i, byte);
            remaining = remaining * 16 + digit;
            break;
          }
          if (sizeDigits === 0)
            throw badFraming(`expected a hex chunk size, found ${describeByte(byte)}`, bodyOffset + i, byte);
          if (byte === CR) state = SIZE_LF;
          else if (byte === 0x3b || byte === 0x20 || byte === 0x09) {
            // A chunk extension (";name=value") or whitespace before one: skipped.
            state = SIZE_EXTENSION;
            lineBytes = 0;
          } else throw badFraming(`unexpected ${describeByte(byte)} in a chunk size`, bodyOffset + i, byte);
          break;
        }
        case SIZE_EXTENSION:
          if (byte === CR) state = SIZE_LF;
          else if (byte === LF) throw badFraming('a bare "\\n" ending a chunk size line', bodyOffset + i, byte);
          else {
            lineBytes += 1;
            if (lineBytes > MAX_LINE_BYTES)
              throw badFraming(`a chunk extension longer than ${MAX_LINE_BYTES} bytes`, bodyOffset + i, byte);
          }
          break;
        case SIZE_LF:
          if (byte !== LF)
            throw badFraming(`expected "\\n" after a chunk size, found ${describeByte(byte)}`, bodyOffset + i, byte);
          sizeDigits = 0;
          if (remaining === 0) {
            state = TRAILER_START;
            trailerBytes = 0;
          } else state = DATA;
          break;
        case DATA_CR:
          if (byte !== CR)
            throw badFraming(`expected "\\r\\n" after chunk data, found ${describeByte(byte)}`, bodyOffset + i, byte);
          state = DATA_LF;
          break;
        case DATA_LF:
          if (byte !== LF)
            throw badFraming(`expected "\\n" after chunk data, found ${describeByte(byte)}`, bodyOffset + i, byte);
          state = SIZE;
          break;
        case TRAILER_START:
          if (byte === CR) state = FINAL_LF;
          else {
            state = TRAILER_LINE;
            trailerBytes += 1;
          }
          break;
        case TRAILER_LINE:
          if (byte === CR) state = TRAILER_LF;
          else {
            trailerBytes += 1;
            if (trailerBytes > MAX_TRAILER_BYTES)
              throw badFraming(`trailers longer than ${MAX_TRAILER_BYTES} bytes`, bodyOffset + i, byte);
          }
          break;
        case TRAILER_LF:
          if (byte !== LF)
            throw badFraming(`expected "\\n" after a trailer, found ${describeByte(byte)}`, bodyOffset + i, byte);
          state = TRAILER_START;
          break;
        case FINAL_LF:
          if (byte !== LF)
            throw badFraming(
              `expected "\\n" ending the chunked body, found ${describeByte(byte)}`,
              bodyOffset + i,
              byte,
            );
          state = DONE;
          return i + 1;
        default:
          return i;
      }
      i += 1;
    }
    return i;
  };

  const push = (read: Uint8Array): Uint8Array[] => {
    if (failure !== undefined) throw failure;
    const out: Uint8Array[] = [];
    if (state === DONE) return out;
    try {
      if (chunked) bodyOffset += pushChunked(read, out);
      else if (framing.kind === 'length') {
        const take = Math.min(remaining, read.length);
        scanner.scan(read, 0, take, out);
        remaining -= take;
        if (remaining === 0) state = DONE;
      } else scanner.scan(read, 0, read.length, out);
    } catch (error) {
      failure = error;
      if (out.length === 0) throw error;
    }
    return out;
  };

  const end = (): void => {
    if (failure !== undefined) throw failure;
    if (state === DONE || framing.kind === 'close') {
      scanner.end();
      return;
    }
    // Cut before the message ended: inside a record says most; between records, the cut itself.
    scanner.end();
    failure = new SparkMesosError(
      'SM_ERR_HTTP_TRUNCATED',
      framing.kind === 'length'
        ? `HTTP body: the connection ended ${remaining} bytes before the Content-Length did.`
        : 'HTTP chunked body: the connection ended before the last chunk.',
      { cause: { remaining }, details: { framing: framing.kind } },
    );
    throw failure;
  };

  return {
    push,
    end,
    get complete() {
      return state === DONE;
    },
    get error() {
      return failure;
    },
  };
}
