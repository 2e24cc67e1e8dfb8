import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * TEST-ONLY helpers of the codec tests: read the recorded Mesos traffic in `src/__fixtures__/`
 * and split it into message bodies. Deliberately simple and independent of the production
 * RecordIO decoder (`src/recordio.ts`). Not exported from the package.
 *
 * @module
 */

/** The directory of the recorded Mesos traffic. */
export const FIXTURES_DIR: string = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');

/** One HTTP message of a `.raw` capture. */
export interface RawHttpMessage {
  /** The request or status line. */
  readonly startLine: string;
  /** Header names lower-cased → value (last one wins). */
  readonly headers: ReadonlyMap<string, string>;
  /** The body, de-chunked when it was chunked. */
  readonly body: Uint8Array;
}

/** Reads a fixture file (path relative to `src/__fixtures__/`). */
export function readFixture(relativePath: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES_DIR, relativePath)));
}

/** The file names of a fixture folder that match `pattern`, sorted. */
export function listFixtures(folder: string, pattern: RegExp): string[] {
  return readdirSync(join(FIXTURES_DIR, folder))
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => `${folder}/${name}`);
}

function indexOf(bytes: Uint8Array, needle: string, from: number): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(needle, from, 'latin1');
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', start, end);
}

/**
 * Splits de-chunked RecordIO (`<decimal length>\n<record>` repeated) into records. A trailing
 * partial record (a stream cut by the client) is dropped.
 */
export function splitRecordIo(bytes: Uint8Array): Uint8Array[] {
  const records: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const newline = indexOf(bytes, '\n', at);
    if (newline < 0) break;
    const text = latin1(bytes, at, newline);
    if (!/^\d+$/.test(text)) throw new Error(`not RecordIO at byte ${at}: ${JSON.stringify(text.slice(0, 20))}`);
    const length = Number(text);
    if (newline + 1 + length > bytes.length) break;
    records.push(bytes.subarray(newline + 1, newline + 1 + length));
    at = newline + 1 + length;
  }
  return records;
}

/** Removes HTTP/1.1 chunk framing; returns the body and where the framing ended. */
function dechunk(bytes: Uint8Array, start: number): { body: Uint8Array; end: number } {
  const parts: Uint8Array[] = [];
  let at = start;
  while (at < bytes.length) {
    const lineEnd = indexOf(bytes, '\r\n', at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(latin1(bytes, at, lineEnd).split(';')[0]!, 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size at byte ${at}`);
    at = lineEnd + 2;
    if (size === 0) {
      at += 2; // final CRLF (no trailers in these captures)
      break;
    }
    parts.push(bytes.subarray(at, Math.min(at + size, bytes.length)));
    at += size + 2;
  }
  return { body: new Uint8Array(Buffer.concat(parts)), end: Math.min(at, bytes.length) };
}

/**
 * Splits a `.raw` capture (one or more pipelined HTTP/1.1 messages, byte-exact) into messages,
 * de-chunking chunked bodies. A body without Content-Length or chunking runs to the end.
 */
export function parseHttpMessages(raw: Uint8Array): RawHttpMessage[] {
  const messages: RawHttpMessage[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = indexOf(raw, '\r\n\r\n', at);
    if (headEnd < 0) throw new Error(`no header end after byte ${at}`);
    const lines = latin1(raw, at, headEnd).split('\r\n');
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const bodyStart = headEnd + 4;
    let body: Uint8Array;
    if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
      const result = dechunk(raw, bodyStart);
      body = result.body;
      at = result.end;
    } else if (headers.has('content-length')) {
      const length = Number(headers.get('content-length'));
      body = raw.subarray(bodyStart, bodyStart + length);
      at = bodyStart + length;
    } else {
      body = raw.subarray(bodyStart);
      at = raw.length;
    }
    messages.push({ startLine: lines[0]!, headers, body });
  }
  return messages;
}

/** Splits a `.decoded.txt` file (`# record length=N` then protobuf text format) into record texts. */
export function splitDecodedText(text: string): { length: number; text: string }[] {
  const out: { length: number; text: string }[] = [];
  for (const part of text.split(/^# record length=/m).slice(1)) {
    const newline = part.indexOf('\n');
    out.push({ length: Number(part.slice(0, newline)), text: part.slice(newline + 1) });
  }
  return out;
}
