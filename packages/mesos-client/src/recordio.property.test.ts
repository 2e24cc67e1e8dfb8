import { isSparkMesosError } from '@spark-mesos/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRecordIoDecoder, encodeRecordIoAll } from './recordio.js';

const CODES = ['SM_ERR_RECORDIO_BAD_LENGTH', 'SM_ERR_RECORDIO_TOO_LARGE', 'SM_ERR_RECORDIO_TRUNCATED'];

/** Splits `bytes` at the given cut points (sorted, deduplicated, within range). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

describe('RecordIO properties', () => {
  it('decode(encode(records)) === records for any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (records, cuts) => {
          const decoder = createRecordIoDecoder({ maxRecordBytes: 300 });
          const out: Uint8Array[] = [];
          for (const chunk of split(encodeRecordIoAll(records), cuts)) out.push(...decoder.push(chunk));
          decoder.end();
          expect(out.map((r) => [...r])).toEqual(records.map((r) => [...r]));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('one byte at a time gives the same records', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 10 }), (records) => {
        const decoder = createRecordIoDecoder();
        const stream = encodeRecordIoAll(records);
        const out: Uint8Array[] = [];
        for (let i = 0; i < stream.length; i += 1) out.push(...decoder.push(stream.slice(i, i + 1)));
        decoder.end();
        expect(out.map((r) => [...r])).toEqual(records.map((r) => [...r]));
      }),
    );
  });

  it('arbitrary garbage only ever throws SparkMesosError with a RecordIO code, and memory stays bounded', () => {
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      // Mostly digits and newlines, so that the interesting paths are reached.
      fc
        .array(fc.constantFrom(...'0123456789\n\n\nab\r'.split('')), { maxLength: 400 })
        .map((chars) => new TextEncoder().encode(chars.join(''))),
    );
    fc.assert(
      fc.property(
        garbage,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 0, max: 200 }),
        (input, cuts, max) => {
          const decoder = createRecordIoDecoder({ maxRecordBytes: max });
          const lengths: number[] = [];
          const buffered: number[] = [];
          let failure: unknown;
          try {
            for (const chunk of split(input, cuts)) {
              for (const record of decoder.push(chunk)) lengths.push(record.length);
              buffered.push(decoder.bufferedBytes);
            }
            decoder.end();
          } catch (error) {
            failure = error;
          }
          if (failure !== undefined) {
            expect(isSparkMesosError(failure)).toBe(true);
            expect(CODES).toContain((failure as { code: string }).code);
          }
          for (const length of lengths) expect(length).toBeLessThanOrEqual(max);
          for (const bytes of buffered) expect(bytes).toBeLessThanOrEqual(Math.max(max, String(max).length));
        },
      ),
      // The first example once failed (a deferred error still counted the rejected digits).
      { numRuns: 500, examples: [[Uint8Array.from([48, 10, 48, 48]), [], 0]] },
    );
  });
});
