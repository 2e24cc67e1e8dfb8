import { REDACTED, redactUrlCredentials, SparkMesosError } from '@spark-mesos/errors';
import { javaTrim } from './java-trim.js';
import { SECRET_KEY_PATTERN } from './secret-key-pattern.js';

/** A binary size unit: bytes, KiB, MiB, GiB, TiB, PiB. */
export type SizeUnit = 'b' | 'k' | 'm' | 'g' | 't' | 'p';

/** Every {@link SizeUnit}, smallest first. */
export const SIZE_UNITS: readonly SizeUnit[] = ['b', 'k', 'm', 'g', 't', 'p'];

const unitShift: Record<SizeUnit, bigint> = { b: 0n, k: 10n, m: 20n, g: 30n, t: 40n, p: 50n };
const unitNames: Record<SizeUnit, string> = { b: 'bytes', k: 'KiB', m: 'MiB', g: 'GiB', t: 'TiB', p: 'PiB' };

const suffixes = new Map<string, SizeUnit>([
  ['b', 'b'],
  ['k', 'k'],
  ['kb', 'k'],
  ['m', 'm'],
  ['mb', 'm'],
  ['g', 'g'],
  ['gb', 'g'],
  ['t', 't'],
  ['tb', 't'],
  ['p', 'p'],
  ['pb', 'p'],
]);

const wholePattern = /^([0-9]+)([a-z]+)?$/;
const fractionPattern = /^([0-9]+\.[0-9]+)([a-z]+)?$/;

/** Options of {@link parseSize}. */
export interface ParseSizeOptions {
  /** The unit of a plain number and of the result (Spark's `byteStringAs(str, unit)`). @default 'b' */
  unit?: SizeUnit;
  /** The config key the value came from, named in the error message. @default 'size' */
  key?: string;
  /** How to show the value in an error message. @default `****` for secret-looking keys, else URL passwords masked */
  redact?: (value: string) => string;
}

/** The accepted forms of a size, for error messages. */
export function sizeForms(unit: SizeUnit): string {
  return `use a whole number with an optional unit b, k, m, g, t, p (e.g. 512m, 2g); a plain number means ${unitNames[unit]}`;
}

/**
 * Parses a size the way Spark's `JavaUtils.byteStringAs` does: trimmed, case-insensitive, a whole
 * number with an optional suffix `b`, `k`/`kb`, `m`/`mb`, `g`/`gb`, `t`/`tb`, `p`/`pb` (binary
 * multiples), a plain number in `unit`; the result is in `unit`, truncated like Spark's
 * `ByteUnit.convertTo` (`1500k` as MiB is 1).
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming key, value and accepted forms when the value is
 *   malformed, fractional, or beyond `Number.MAX_SAFE_INTEGER` in `unit`.
 * @see https://spark.apache.org/docs/3.5.4/configuration.html#spark-properties
 */
export function parseSize(value: string, options: ParseSizeOptions = {}): number {
  const unit = options.unit ?? 'b';
  const lower = javaTrim(value.toLowerCase());
  const whole = wholePattern.exec(lower);
  let reason: string;
  if (whole !== null) {
    const suffix = whole[2];
    const from = suffix === undefined ? unit : suffixes.get(suffix);
    if (from === undefined) {
      reason = `is not a size (unknown unit "${suffix}")`;
    } else {
      const bytes = BigInt(whole[1]!) << unitShift[from];
      const result = bytes >> unitShift[unit];
      if (result <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(result);
      reason = `is too large (more than ${Number.MAX_SAFE_INTEGER} ${unitNames[unit]})`;
    }
  } else if (fractionPattern.test(lower)) {
    reason = 'is not a size (fractional values are not supported; use a smaller unit, e.g. 1536m for 1.5g)';
  } else {
    reason = 'is not a size';
  }
  throw badValue(options, value, `${reason}; ${sizeForms(unit)}`);
}

/**
 * Formats a whole, non-negative amount in `unit` with the largest unit that represents it exactly,
 * so that `parseSize(formatSize(n, unit), { unit }) === n`: `formatSize(2048, 'm')` is `2g`.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when `amount` is not a safe non-negative integer.
 */
export function formatSize(amount: number, unit: SizeUnit = 'b'): string {
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `formatSize: ${amount} is not a whole, non-negative number; pass an integer from 0 to ${Number.MAX_SAFE_INTEGER}`,
      { cause: { amount, unit } },
    );
  }
  const bytes = BigInt(amount) << unitShift[unit];
  for (let index = SIZE_UNITS.length - 1; index >= 0; index--) {
    const candidate = SIZE_UNITS[index]!;
    const shift = unitShift[candidate];
    if (bytes === 0n ? candidate === unit : bytes % (1n << shift) === 0n) return `${bytes >> shift}${candidate}`;
  }
  /* c8 ignore next */
  return `${bytes}b`;
}

/** A value as an error message may show it: secret-looking keys masked, URL passwords masked. */
export function defaultRedact(key: string | undefined): (value: string) => string {
  return (value) => (key !== undefined && SECRET_KEY_PATTERN.test(key) ? REDACTED : redactUrlCredentials(value));
}

function badValue(
  options: { key?: string; redact?: (value: string) => string },
  value: string,
  explanation: string,
): SparkMesosError {
  const key = options.key;
  const shown = (options.redact ?? defaultRedact(key))(value);
  return new SparkMesosError('SM_ERR_BAD_CONFIG', `${key ?? 'size'}: ${JSON.stringify(shown)} ${explanation}`, {
    cause: { key, value: shown },
    details: { key, value: shown },
  });
}
