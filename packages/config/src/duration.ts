import { SparkMesosError } from '@spark-mesos/errors';
import { javaTrim } from './java-trim.js';
import { defaultRedact } from './size.js';

/** A time unit: microseconds, milliseconds, seconds, minutes, hours, days. */
export type DurationUnit = 'us' | 'ms' | 's' | 'min' | 'h' | 'd';

/** Every {@link DurationUnit}, smallest first. */
export const DURATION_UNITS: readonly DurationUnit[] = ['us', 'ms', 's', 'min', 'h', 'd'];

const microseconds: Record<DurationUnit, bigint> = {
  us: 1n,
  ms: 1_000n,
  s: 1_000_000n,
  min: 60_000_000n,
  h: 3_600_000_000n,
  d: 86_400_000_000n,
};
const unitNames: Record<DurationUnit, string> = {
  us: 'microseconds',
  ms: 'milliseconds',
  s: 'seconds',
  min: 'minutes',
  h: 'hours',
  d: 'days',
};
const suffixes = new Map<string, DurationUnit>([
  ['us', 'us'],
  ['ms', 'ms'],
  ['s', 's'],
  ['m', 'min'],
  ['min', 'min'],
  ['h', 'h'],
  ['d', 'd'],
]);
const pattern = /^(-?[0-9]+)([a-z]+)?$/;

/** Options of {@link parseDuration}. */
export interface ParseDurationOptions {
  /** The unit of a plain number and of the result (Spark's `timeStringAs(str, unit)`). @default 'ms' */
  unit?: DurationUnit;
  /** The config key the value came from, named in the error message. @default 'duration' */
  key?: string;
  /** How to show the value in an error message. @default `****` for secret-looking keys, else URL passwords masked */
  redact?: (value: string) => string;
}

/** The accepted forms of a duration, for error messages. */
export function durationForms(unit: DurationUnit): string {
  return `use a whole number with an optional unit us, ms, s, m or min, h, d (e.g. 100ms, 120s, 5min); a plain number means ${unitNames[unit]}`;
}

/**
 * Parses a duration the way Spark's `JavaUtils.timeStringAs` does: trimmed, case-insensitive, an
 * optionally negative whole number with an optional suffix `us`, `ms`, `s`, `m`/`min`, `h`, `d`, a
 * plain number in `unit`; the result is in `unit`, truncated toward zero like `TimeUnit.convert`.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming key, value and accepted forms.
 * @see https://spark.apache.org/docs/3.5.4/configuration.html#spark-properties
 */
export function parseDuration(value: string, options: ParseDurationOptions = {}): number {
  const unit = options.unit ?? 'ms';
  const match = pattern.exec(javaTrim(value.toLowerCase()));
  let reason = 'is not a duration';
  if (match !== null) {
    const suffix = match[2];
    const from = suffix === undefined ? unit : suffixes.get(suffix);
    if (from === undefined) {
      reason = `is not a duration (unknown unit "${suffix}")`;
    } else {
      // BigInt division truncates toward zero, as Java's long division in TimeUnit.convert does.
      const result = (BigInt(match[1]!) * microseconds[from]) / microseconds[unit];
      const limit = BigInt(Number.MAX_SAFE_INTEGER);
      if (result <= limit && result >= -limit) return Number(result);
      reason = `is too large (beyond ±${Number.MAX_SAFE_INTEGER} ${unitNames[unit]})`;
    }
  }
  const key = options.key;
  const shown = (options.redact ?? defaultRedact(key))(value);
  throw new SparkMesosError(
    'SM_ERR_BAD_CONFIG',
    `${key ?? 'duration'}: ${JSON.stringify(shown)} ${reason}; ${durationForms(unit)}`,
    { cause: { key, value: shown }, details: { key, value: shown } },
  );
}

/**
 * Formats a whole amount of `unit` with the largest unit that represents it exactly, so that
 * `parseDuration(formatDuration(n, unit), { unit }) === n`: `formatDuration(120, 's')` is `2min`.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when `amount` is not a safe integer.
 */
export function formatDuration(amount: number, unit: DurationUnit = 'ms'): string {
  if (!Number.isSafeInteger(amount)) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `formatDuration: ${amount} is not a whole number; pass an integer within ±${Number.MAX_SAFE_INTEGER}`,
      { cause: { amount, unit } },
    );
  }
  const total = BigInt(amount) * microseconds[unit];
  for (let index = DURATION_UNITS.length - 1; index >= 0; index--) {
    const candidate = DURATION_UNITS[index]!;
    if (total === 0n ? candidate === unit : total % microseconds[candidate] === 0n) {
      return `${total / microseconds[candidate]}${candidate}`;
    }
  }
  /* c8 ignore next */
  return `${total}us`;
}
