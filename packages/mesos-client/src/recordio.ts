import { SparkMesosError } from '@spark-mesos/errors';

/**
 * RecordIO, the framing of Mesos' streaming HTTP responses (the scheduler and executor event
 * streams, the operator `SUBSCRIBE` stream): each record is `1*DIGIT "\n" record`, the decimal
 * length in bytes followed by a line feed and that many bytes.
 *
 * @see https://mesos.apache.org/documentation/latest/recordio/
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @module
 */

/**
 * The largest record a decoder accepts unless told otherwise: 4 MiB, as in mesos-go.
 * @default 4194304
 */
export const DEFAULT_MAX_RECORD_BYTES = 4 * 1024 * 1024;

/** Options of {@link createRecordIoDecoder}, {@link decodeRecordIo} and {@link decodeRecordIoBatches}. */
export interface RecordIoDecoderOptions {
  /**
   * The largest record accepted, in bytes. A longer declared length fails at the prefix, before
   * any of the record is buffered, and a prefix with more digits than this number needs fails
   * at once. Must be a non-negative safe integer.
   * @default 4194304 ({@link DEFAULT_MAX_RECORD_BYTES})
   */
  readonly maxRecordBytes?: number;
  /**
   * Copy every returned record into its own buffer. Without it a record that lies wholly inside
   * one pushed chunk is returned as a view of that chunk (zero-copy); set it when you reuse the
   * chunk buffers you push (Node streams and undici never do).
   * @default false
   */
  readonly copy?: boolean;
}

/**
 * An incremental RecordIO decoder: push chunks as they arrive, however they are split, and get
 * back the records they complete. Memory stays bounded by `maxRecordBytes` plus one chunk.
 *
 * A returned record never shares memory with anything the decoder writes later: it is either a
 * view of the chunk you pushed or a buffer the decoder allocated for that record alone.
 *
 * @see https://mesos.apache.org/documentation/latest/recordio/
 */
export interface RecordIoDecoder {
  /**
   * Consumes `chunk` and returns the records it completes, in order (possibly none).
   *
   * When the chunk holds complete records followed by a framing error, those records are
   * returned and the error (a {@link SparkMesosError} with code `SM_ERR_RECORDIO_BAD_LENGTH` or
   * `SM_ERR_RECORDIO_TOO_LARGE`) is thrown by the next `push` or `end`; once failed, the
   * decoder keeps throwing the same error.
   */
  push(chunk: Uint8Array): Uint8Array[];
  /**
   * Declares the end of the stream. Throws `SM_ERR_RECORDIO_TRUNCATED` when a length prefix or
   * a record is incomplete (saying how many bytes are missing), or a pending framing error.
   */
  end(): void;
  /** Bytes held for the incomplete record (or digits of an incomplete prefix): at most `maxRecordBytes`. */
  readonly bufferedBytes: number;
}

const LF = 0x0a;
const CR = 0x0d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

function printable(byte: number): string {
  if (byte === LF) return '"\\n"';
  if (byte === CR) return '"\\r"';
  if (byte >= 0x20 && byte < 0x7f) return JSON.stringify(String.fromCharCode(byte));
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

// A copy of `view`: `Buffer#slice` would return another view of the same memory.
const copyOf = (view: Uint8Array): Uint8Array => Uint8Array.prototype.slice.call(view);

function checkMax(maxRecordBytes: number): void {
  if (!Number.isSafeInteger(maxRecordBytes) || maxRecordBytes < 0) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `RecordIO maxRecordBytes must be a non-negative safe integer, got ${String(maxRecordBytes)}: pass a byte count such as ${DEFAULT_MAX_RECORD_BYTES} (4 MiB).`,
      { cause: { key: 'maxRecordBytes', value: maxRecordBytes }, details: { key: 'maxRecordBytes' } },
    );
  }
}

/**
 * The RecordIO state machine behind {@link createRecordIoDecoder}, scanning a range of a buffer
 * into a caller's array: the HTTP event-stream reader feeds it the data of each HTTP chunk in
 * place, without a view per chunk. Internal to the package (not part of the supported API,
 * though the `./recordio` subpath exposes it).
 * @internal
 */
export interface RecordIoScanner {
  /**
   * Decodes `chunk[start, end)`, appending the records it completes to `out`. A framing error is
   * thrown after the records before it were appended; from then on every call throws it.
   */
  scan(chunk: Uint8Array, start: number, end: number, out: Uint8Array[]): void;
  /** As {@link RecordIoDecoder.end}. */
  end(): void;
  /** As {@link RecordIoDecoder.bufferedBytes}. */
  readonly bufferedBytes: number;
}

/**
 * Makes a {@link RecordIoScanner} (see {@link createRecordIoDecoder} for the options).
 * @internal
 */
export function createRecordIoScanner(options: RecordIoDecoderOptions = {}): RecordIoScanner {
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  checkMax(maxRecordBytes);
  const copy = options.copy ?? false;
  const maxDigits = String(maxRecordBytes).length;

  // Where the decoder is: reading a prefix (digits so far) or the body of a record.
  let inRecord = false;
  let digits = 0;
  let length = 0;
  // The record being assembled across chunks (allocated for that record alone), and its fill.
  let partial: Uint8Array | undefined;
  let filled = 0;
  let streamOffset = 0;
  let failure: SparkMesosError | undefined;

  const badLength = (reason: string, byte: number | undefined, offset: number): SparkMesosError => {
    const chunkedHint =
      byte !== undefined && (byte === CR || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46))
        ? ' It looks like HTTP chunk framing was not removed: decode the de-chunked body.'
        : ' The stream is not RecordIO ("<decimal length>\\n<record>"): check the response Content-Type and that the body is a Mesos event stream.';
    return new SparkMesosError(
      'SM_ERR_RECORDIO_BAD_LENGTH',
      `RecordIO: ${reason} at stream offset ${offset}.${chunkedHint}`,
      {
        cause: { offset, byte },
        details: { offset, ...(byte === undefined ? {} : { byte }) },
      },
    );
  };

  const tooLarge = (declared: string, offset: number): SparkMesosError =>
    new SparkMesosError(
      'SM_ERR_RECORDIO_TOO_LARGE',
      `RecordIO: a record declares ${declared} bytes at stream offset ${offset}, more than maxRecordBytes ${maxRecordBytes}: raise maxRecordBytes if such events are expected (large offers or state), otherwise the stream is corrupt.`,
      { cause: { offset, declared }, details: { offset, declared, maxRecordBytes } },
    );

  const scan = (chunk: Uint8Array, start: number, n: number, records: Uint8Array[]): void => {
    if (failure) throw failure;
    let i = start;
    try {
      // Fast path at a record boundary: records lying whole in the range are read with locals
      // only. Anything else (a prefix or record cut by the range, a bad or oversized prefix, an
      // empty record) stops it with the state untouched, and the byte-by-byte path below takes
      // over from the same place, with its checks and errors.
      while (!inRecord && digits === 0 && i < n) {
        let j = i;
        let declared = 0;
        while (j < n && j - i < maxDigits) {
          const byte = chunk[j]!;
          if (byte < DIGIT_0 || byte > DIGIT_9) break;
          declared = declared * 10 + (byte - DIGIT_0);
          j += 1;
        }
        const recordEnd = j + 1 + declared;
        if (j === i || j >= n || chunk[j] !== LF || declared === 0 || declared > maxRecordBytes || recordEnd > n) break;
        const record = chunk.subarray(j + 1, recordEnd);
        records.push(copy ? copyOf(record) : record);
        i = recordEnd;
      }
      while (i < n) {
        if (!inRecord) {
          const byte = chunk[i]!;
          if (byte >= DIGIT_0 && byte <= DIGIT_9) {
            digits += 1;
            length = length * 10 + (byte - DIGIT_0);
            if (length > maxRecordBytes) {
              // Fail at the prefix, before buffering anything of the record.
              throw digits > maxDigits
                ? badLength(
                    `a length prefix longer than the ${maxDigits} digits maxRecordBytes needs`,
                    byte,
                    streamOffset + i - start,
                  )
                : tooLarge(`at least ${length}`, streamOffset + i - start);
            }
            if (digits > maxDigits) {
              throw badLength(
                `a length prefix longer than the ${maxDigits} digits maxRecordBytes needs`,
                byte,
                streamOffset + i - start,
              );
            }
            i += 1;
            continue;
          }
          if (byte === LF && digits > 0) {
            i += 1;
            if (length === 0) {
              records.push(new Uint8Array(0));
              digits = 0;
              continue;
            }
            inRecord = true;
            filled = 0;
            continue;
          }
          throw badLength(
            digits === 0
              ? `expected a decimal length, found ${printable(byte)}`
              : `unexpected ${printable(byte)} in a length prefix`,
            byte,
            streamOffset + i - start,
          );
        }
        // Inside a record: `length - filled` bytes still to come.
        const missing = length - filled;
        const available = n - i;
        if (partial === undefined && available >= missing) {
          const record = chunk.subarray(i, i + missing);
          records.push(copy ? copyOf(record) : record);
          i += missing;
          inRecord = false;
          digits = 0;
          length = 0;
          continue;
        }
        partial ??= new Uint8Array(length);
        const take = Math.min(missing, available);
        partial.set(chunk.subarray(i, i + take), filled);
        filled += take;
        i += take;
        if (filled === length) {
          // The buffer belongs to this record alone; the next record gets a fresh one.
          records.push(partial);
          partial = undefined;
          filled = 0;
          inRecord = false;
          digits = 0;
          length = 0;
        }
      }
    } catch (error) {
      failure = error as SparkMesosError;
      // A failed decoder keeps nothing: it only ever throws `failure` from now on.
      partial = undefined;
      inRecord = false;
      filled = 0;
      digits = 0;
      length = 0;
      throw failure;
    } finally {
      streamOffset += i - start;
    }
  };

  const end = (): void => {
    if (failure) throw failure;
    if (inRecord) {
      const missing = length - filled;
      failure = new SparkMesosError(
        'SM_ERR_RECORDIO_TRUNCATED',
        `RecordIO: the stream ended inside a record of ${length} bytes, ${missing} bytes missing: the connection was cut (master failover, proxy timeout or network); re-subscribe.`,
        { cause: { length, received: filled }, details: { length, received: filled, missing } },
      );
      throw failure;
    }
    if (digits > 0) {
      failure = new SparkMesosError(
        'SM_ERR_RECORDIO_TRUNCATED',
        `RecordIO: the stream ended inside a length prefix (${digits} digits, no "\\n"): the connection was cut; re-subscribe.`,
        { cause: { digits }, details: { digits, missing: 1 } },
      );
      throw failure;
    }
  };

  return {
    scan,
    end,
    get bufferedBytes() {
      return inRecord ? filled : digits;
    },
  };
}

/**
 * Makes an incremental RecordIO decoder.
 *
 * @example
 * ```ts
 * const decoder = createRecordIoDecoder();
 * for await (const chunk of body) for (const record of decoder.push(chunk)) handle(record);
 * decoder.end();
 * ```
 * @see https://mesos.apache.org/documentation/latest/recordio/
 */
export function createRecordIoDecoder(options: RecordIoDecoderOptions = {}): RecordIoDecoder {
  const scanner = createRecordIoScanner(options);
  return {
    push(chunk: Uint8Array): Uint8Array[] {
      const records: Uint8Array[] = [];
      try {
        scanner.scan(chunk, 0, chunk.length, records);
      } catch (error) {
        // The records before a framing error are returned; the next push or end throws it.
        if (records.length === 0) throw error;
      }
      return records;
    },
    end: () => scanner.end(),
    get bufferedBytes() {
      return scanner.bufferedBytes;
    },
  };
}

/**
 * Decodes a RecordIO byte stream (for example an undici response body, or any iterable of
 * chunks) into batches of records: each batch holds every record that one chunk completed, in
 * order (chunks that complete none yield nothing, so a batch is never empty).
 *
 * This is the fast way to read an event stream: the consumer handles a whole batch with a plain
 * loop and pays the `await` of an async iterator once per chunk (often dozens or hundreds of
 * events) instead of once per record. {@link decodeRecordIo} is the one-record-at-a-time view of
 * the same batches.
 *
 * It pulls the next chunk from `source` only once the consumer asked for the next batch, so a slow
 * consumer slows the source down (back-pressure) and memory stays bounded by `maxRecordBytes`
 * plus one chunk (a batch's records are views of that chunk, or records the decoder assembled
 * across chunks). Leaving the loop early returns the source (closing the body).
 *
 * Throws (from the iteration) a {@link SparkMesosError}: `SM_ERR_RECORDIO_BAD_LENGTH`,
 * `SM_ERR_RECORDIO_TOO_LARGE` (after a batch of the records before the bad prefix, if any), or
 * `SM_ERR_RECORDIO_TRUNCATED` when the source ends mid-record; errors of the source pass through
 * unchanged.
 *
 * @example
 * ```ts
 * for await (const batch of decodeRecordIoBatches(body)) {
 *   for (const record of batch) handle(codec.decode(record));
 * }
 * ```
 * @see https://mesos.apache.org/documentation/latest/recordio/
 */
export async function* decodeRecordIoBatches(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: RecordIoDecoderOptions = {},
): AsyncGenerator<Uint8Array[], void, undefined> {
  const decoder = createRecordIoDecoder(options);
  for await (const chunk of source) {
    const records = decoder.push(chunk);
    if (records.length > 0) yield records;
  }
  decoder.end();
}

/**
 * Decodes a RecordIO byte stream (for example an undici response body, or any iterable of
 * chunks) into its records, one at a time: {@link decodeRecordIoBatches}, flattened.
 * It pulls the next chunk from `source` only once the consumer asked for a record that the
 * chunks so far do not complete, so a slow consumer slows the source down (back-pressure) and
 * memory stays bounded by `maxRecordBytes` plus one chunk. Leaving the loop early returns the
 * source (closing the body).
 *
 * Each record costs the consumer an `await` (about a microsecond); where throughput matters,
 * iterate {@link decodeRecordIoBatches} instead.
 *
 * Throws (from the iteration) a {@link SparkMesosError}: `SM_ERR_RECORDIO_BAD_LENGTH`,
 * `SM_ERR_RECORDIO_TOO_LARGE`, or `SM_ERR_RECORDIO_TRUNCATED` when the source ends mid-record;
 * errors of the source pass through unchanged.
 *
 * @see https://mesos.apache.org/documentation/latest/recordio/
 */
export async function* decodeRecordIo(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: RecordIoDecoderOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const batch of decodeRecordIoBatches(source, options)) yield* batch;
}

const encoder = new TextEncoder();

/**
 * Frames one record: its decimal length, `"\n"`, then the bytes.
 * @see https://mesos.apache.org/documentation/latest/recordio/
 */
export function encodeRecordIo(record: Uint8Array): Uint8Array {
  const prefix = encoder.encode(`${record.length}\n`);
  const out = new Uint8Array(prefix.length + record.length);
  out.set(prefix, 0);
  out.set(record, prefix.length);
  return out;
}

/**
 * Frames many records into one buffer (what a Mesos event stream body looks like once HTTP
 * chunking is removed).
 * @see https://mesos.apache.org/documentation/latest/recordio/
 */
export function encodeRecordIoAll(records: Iterable<Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const record of records) {
    const prefix = encoder.encode(`${record.length}\n`);
    parts.push(prefix, record);
    total += prefix.length + record.length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
