import { isSparkMesosError } from '@spark-mesos/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createHttpBodyDecoder,
  createHttpRecordIoDecoder,
  type HttpBodyFraming,
  type HttpRecordIoDecoder,
  rawBodySink,
} from './http-recordio-decoder.js';
import { encodeRecordIoAll } from './recordio.js';

const latin1 = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const concat = (parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

/** Splits `bytes` at the given cut points (taken modulo the length, sorted, deduplicated). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const reads: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    reads.push(bytes.subarray(start, point));
    start = point;
  }
  return reads;
}

/** How one HTTP chunk's size line is written (all of these are valid HTTP/1.1). */
interface SizeStyle {
  readonly upper: boolean;
  readonly zeros: number;
  readonly extension: string;
}

function sizeLine(size: number, style: SizeStyle): string {
  const hex = size.toString(16);
  return `${'0'.repeat(style.zeros)}${style.upper ? hex.toUpperCase() : hex}${style.extension}\r\n`;
}

/** `body` in HTTP chunks of the given sizes (cycled; the rest in one), last chunk, trailers. */
function chunked(body: Uint8Array, sizes: number[], styles: SizeStyle[], trailers: string[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  let index = 0;
  while (offset < body.length) {
    const size = Math.min(body.length - offset, Math.max(1, sizes[index % Math.max(1, sizes.length)] ?? body.length));
    const style = styles[index % Math.max(1, styles.length)] ?? { upper: false, zeros: 0, extension: '' };
    parts.push(latin1(sizeLine(size, style)), body.subarray(offset, offset + size), latin1('\r\n'));
    offset += size;
    index += 1;
  }
  parts.push(latin1(`0\r\n${trailers.map((trailer) => `${trailer}\r\n`).join('')}\r\n`));
  return concat(parts);
}

function decodeAll(decoder: HttpRecordIoDecoder, reads: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const read of reads) out.push(...decoder.push(read));
  return out;
}

function failureOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

const styleArbitrary = fc.record({
  upper: fc.boolean(),
  zeros: fc.integer({ min: 0, max: 3 }),
  extension: fc.constantFrom('', ';a=b', ' ;name="q"', '\t; x'),
});
const recordsArbitrary = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 });
const as = (records: Uint8Array[]): number[][] => records.map((record) => [...record]);

describe('HTTP chunked + RecordIO decoder properties', () => {
  it('gives the encoded records for any chunk sizes, size-line styles, trailers and read boundaries', () => {
    fc.assert(
      fc.property(
        recordsArbitrary,
        fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 8 }),
        fc.array(styleArbitrary, { maxLength: 4 }),
        fc.array(fc.constantFrom('X-Checksum: abc', 'Expires: 0', 'a:'), { maxLength: 2 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        (records, sizes, styles, trailers, cuts) => {
          const wire = chunked(encodeRecordIoAll(records), sizes, styles, trailers);
          const decoder = createHttpRecordIoDecoder({ kind: 'chunked' }, { maxRecordBytes: 300 });
          const out = decodeAll(decoder, split(wire, cuts));
          expect(as(out)).toEqual(as(records));
          expect(decoder.complete).toBe(true);
          expect(() => decoder.end()).not.toThrow();
        },
      ),
      { numRuns: 400 },
    );
  });

  it('one byte per read gives the same records (every boundary inside size lines, CRLFs and prefixes)', () => {
    fc.assert(
      fc.property(
        recordsArbitrary,
        fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 4 }),
        fc.array(styleArbitrary, { maxLength: 3 }),
        (records, sizes, styles) => {
          const wire = chunked(encodeRecordIoAll(records), sizes, styles, ['T: 1']);
          const decoder = createHttpRecordIoDecoder({ kind: 'chunked' }, { maxRecordBytes: 300 });
          const out = decodeAll(
            decoder,
            [...wire].map((byte) => Uint8Array.of(byte)),
          );
          expect(as(out)).toEqual(as(records));
          expect(decoder.complete).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('gives the records of a Content-Length or close-delimited body for any read boundaries', () => {
    fc.assert(
      fc.property(recordsArbitrary, fc.array(fc.nat(), { maxLength: 40 }), fc.boolean(), (records, cuts, byLength) => {
        const body = encodeRecordIoAll(records);
        const framing: HttpBodyFraming = byLength ? { kind: 'length', length: body.length } : { kind: 'close' };
        const decoder = createHttpRecordIoDecoder(framing, { maxRecordBytes: 300 });
        // Bytes after a Content-Length body are not part of it.
        const wire = byLength ? concat([body, latin1('HTTP/1.1 200 OK\r\n')]) : body;
        const out = decodeAll(decoder, split(wire, cuts));
        expect(as(out)).toEqual(as(records));
        expect(decoder.complete).toBe(byLength);
        expect(() => decoder.end()).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });

  it('a connection cut anywhere before the last chunk is a truncation, never records it did not send', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 100 }), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 10 }),
        (records, cutAt, cuts) => {
          const wire = chunked(encodeRecordIoAll(records), [37], [], []);
          // Cut strictly before the final "0\r\n\r\n" has fully arrived.
          const cut = wire.subarray(0, cutAt % (wire.length - 1));
          const decoder = createHttpRecordIoDecoder({ kind: 'chunked' });
          const out = decodeAll(decoder, split(cut, cuts));
          expect(as(records).slice(0, out.length)).toEqual(as(out));
          const failure = failureOf(() => decoder.end());
          expect(
            isSparkMesosError(failure, 'SM_ERR_HTTP_TRUNCATED') ||
              isSparkMesosError(failure, 'SM_ERR_RECORDIO_TRUNCATED'),
          ).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('HTTP chunked + RecordIO decoder', () => {
  const wire = (text: string): Uint8Array => latin1(text);

  it('returns a record that lies whole in one read and one chunk as a view of the read (no copy)', () => {
    const read = wire('5\r\n3\nabc\r\n4\r\n2\nde\r\n');
    const decoder = createHttpRecordIoDecoder({ kind: 'chunked' });
    const records = decoder.push(read);
    expect(records.map((record) => Buffer.from(record).toString())).toEqual(['abc', 'de']);
    for (const record of records) expect(record.buffer).toBe(read.buffer);
  });

  it('assembles a record split across reads, and one split across chunks, into a buffer of its own', () => {
    const decoder = createHttpRecordIoDecoder({ kind: 'chunked' });
    const first = wire('5\r\n5\nabc\r\n');
    const second = wire('2\r\nde\r\n0\r\n\r\n');
    expect(decoder.push(first)).toEqual([]);
    const [record] = decoder.push(second);
    expect(Buffer.from(record!).toString()).toBe('abcde');
    expect(record!.buffer).not.toBe(first.buffer);
    expect(record!.buffer).not.toBe(second.buffer);
    expect(decoder.complete).toBe(true);
  });

  it('skips chunk extensions and trailers, and ignores what follows the message', () => {
    const decoder = createHttpRecordIoDecoder({ kind: 'chunked' });
    const records = decoder.push(wire('5;name=value\r\n3\nabc\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\nGARBAGE'));
    expect(records.map((record) => Buffer.from(record).toString())).toEqual(['abc']);
    expect(decoder.complete).toBe(true);
    expect(decoder.push(wire('more'))).toEqual([]);
  });

  it.each([
    ['a size that is not hex', 'zz\r\n', /expected a hex chunk size, found "z" at body offset 0/],
    ['a bare LF after the size', '5\n3\nabc\r\n', /unexpected "\\n" in a chunk size at body offset 1/],
    ['a bare LF after an extension', '5;x\n', /a bare "\\n" ending a chunk size line at body offset 3/],
    ['no CRLF after the data', '5\r\n3\nabcXY', /expected "\\r\\n" after chunk data, found "X" at body offset 8/],
    ['a CR without LF after the data', '5\r\n3\nabc\rX', /expected "\\n" after chunk data, found "X" at body offset 9/],
    ['a size of 14 hex digits', '10000000000000\r\n', /more than 13 hex digits/],
    ['an empty size line', '\r\n', /expected a hex chunk size, found "\\r"/],
  ])('rejects %s with SM_ERR_HTTP_BAD_FRAMING naming the byte and offset', (_name, text, message) => {
    const decoder = createHttpRecordIoDecoder({ kind: 'chunked' });
    // Thrown at once, or (after the records before it in the read) kept as `error`.
    const failure = failureOf(() => decoder.push(wire(text))) ?? decoder.error;
    expect(isSparkMesosError(failure, 'SM_ERR_HTTP_BAD_FRAMING')).toBe(true);
    expect((failure as Error).message).toMatch(message);
    // Once failed, it keeps failing the same way.
    expect(failureOf(() => decoder.push(wire('0\r\n\r\n')))).toBe(failure);
    expect(failureOf(() => decoder.end())).toBe(failure);
  });

  it('rejects trailers longer than 16 KiB', () => {
    const decoder = createHttpRecordIoDecoder({ kind: 'chunked' });
    const failure = failureOf(() => decoder.push(wire(`0\r\nX: ${'a'.repeat(17 * 1024)}\r\n\r\n`)));
    expect(isSparkMesosError(failure, 'SM_ERR_HTTP_BAD_FRAMING')).toBe(true);
    expect((failure as Error).message).toMatch(/trailers longer than 16384 bytes/);
  });

  it('returns the records before a RecordIO error in the same read, then reports it', () => {
    const decoder = createHttpRecordIoDecoder({ kind: 'chunked' });
    const records = decoder.push(wire('5\r\n3\nabc\r\nd\r\nnot-recordio\n\r\n'));
    expect(records.map((record) => Buffer.from(record).toString())).toEqual(['abc']);
    expect(isSparkMesosError(decoder.error, 'SM_ERR_RECORDIO_BAD_LENGTH')).toBe(true);
    expect(failureOf(() => decoder.push(wire('0\r\n\r\n')))).toBe(decoder.error);
  });

  it('applies maxRecordBytes at the prefix', () => {
    const decoder = createHttpRecordIoDecoder({ kind: 'chunked' }, { maxRecordBytes: 50 });
    const failure = failureOf(() => decoder.push(wire('3\r\n60\n\r\n')));
    expect(isSparkMesosError(failure, 'SM_ERR_RECORDIO_TOO_LARGE')).toBe(true);
  });

  it('tells a record cut short by the last chunk, and a Content-Length body cut short, apart', () => {
    const cutRecord = createHttpRecordIoDecoder({ kind: 'chunked' });
    cutRecord.push(wire('4\r\n5\nab\r\n0\r\n\r\n'));
    expect(cutRecord.complete).toBe(true);
    const failure = failureOf(() => cutRecord.end());
    expect(isSparkMesosError(failure, 'SM_ERR_RECORDIO_TRUNCATED')).toBe(true);

    const cutBody = createHttpRecordIoDecoder({ kind: 'length', length: 10 });
    expect(decodeAll(cutBody, [wire('3\nabc')]).map((record) => Buffer.from(record).toString())).toEqual(['abc']);
    const lengthFailure = failureOf(() => cutBody.end());
    expect(isSparkMesosError(lengthFailure, 'SM_ERR_HTTP_TRUNCATED')).toBe(true);
    expect((lengthFailure as Error).message).toMatch(/5 bytes before the Content-Length/);
  });

  it('is complete at once for an empty Content-Length body', () => {
    const decoder = createHttpRecordIoDecoder({ kind: 'length', length: 0 });
    expect(decoder.complete).toBe(true);
    expect(decoder.push(wire('anything'))).toEqual([]);
    expect(() => decoder.end()).not.toThrow();
  });

  it('de-chunks a plain body with the raw sink', () => {
    const decoder = createHttpBodyDecoder({ kind: 'chunked' }, rawBodySink);
    const parts = decodeAll(decoder, [wire('3\r\nab'), wire('c\r\n2\r\nde\r\n0\r\n\r\n')]);
    expect(Buffer.concat(parts).toString()).toBe('abcde');
    expect(decoder.complete).toBe(true);
  });
});
