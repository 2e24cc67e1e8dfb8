import { isSparkMesosError } from '@spark-mesos/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRecordIoDecoder, decodeRecordIo, decodeRecordIoBatches, encodeRecordIoAll } from './recordio.js';

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

  it('decodeRecordIoBatches: any chunking gives the same records, in non-empty batches, at most one per chunk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.boolean(),
        async (records, cuts, asyncSource) => {
          const chunks = split(encodeRecordIoAll(records), cuts);
          async function* slowly(): AsyncGenerator<Uint8Array> {
            for (const chunk of chunks) yield chunk;
          }
          const source = asyncSource ? slowly() : chunks;
          const batches: Uint8Array[][] = [];
          for await (const batch of decodeRecordIoBatches(source, { maxRecordBytes: 300 })) batches.push(batch);
          expect(batches.flat().map((r) => [...r])).toEqual(records.map((r) => [...r]));
          for (const batch of batches) expect(batch.length).toBeGreaterThan(0);
          expect(batches.length).toBeLessThanOrEqual(chunks.length);
          // Each batch is what the same chunk gives an incremental decoder.
          const reference = createRecordIoDecoder({ maxRecordBytes: 300 });
          const perChunk = chunks.map((chunk) => reference.push(chunk)).filter((batch) => batch.length > 0);
          expect(batches.map((batch) => batch.map((r) => [...r]))).toEqual(
            perChunk.map((batch) => batch.map((r) => [...r])),
          );
          // decodeRecordIo (built on the batches) gives the same records one by one.
          const single: number[][] = [];
          for await (const record of decodeRecordIo(chunks, { maxRecordBytes: 300 })) single.push([...record]);
          expect(single).toEqual(records.map((r) => [...r]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodeRecordIoBatches: on garbage, the records before the error, then the same error as the decoder', async () => {
    const garbage = fc
      .array(fc.constantFrom(...'0123456789\n\n\nab'.split('')), { maxLength: 200 })
      .map((chars) => new TextEncoder().encode(chars.join('')));
    await fc.assert(
      fc.asyncProperty(
        garbage,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 0, max: 50 }),
        async (input, cuts, max) => {
          const chunks = split(input, cuts);
          const reference = createRecordIoDecoder({ maxRecordBytes: max });
          const expected: number[] = [];
          let expectedCode: string | undefined;
          try {
            for (const chunk of chunks) for (const record of reference.push(chunk)) expected.push(record.length);
            reference.end();
          } catch (error) {
            expectedCode = (error as { code: string }).code;
          }
          const seen: number[] = [];
          let code: string | undefined;
          try {
            for await (const batch of decodeRecordIoBatches(chunks, { maxRecordBytes: max })) {
              for (const record of batch) seen.push(record.length);
            }
          } catch (error) {
            expect(isSparkMesosError(error)).toBe(true);
            code = (error as { code: string }).code;
          }
          expect(seen).toEqual(expected);
          expect(code).toBe(expectedCode);
        },
      ),
      { numRuns: 300 },
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
