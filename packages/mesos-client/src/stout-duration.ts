import { SparkMesosError } from '@spark-mesos/errors';

/**
 * Durations in the syntax of Mesos' `stout` library (`Duration::parse` and `operator<<` in
 * `3rdparty/stout/include/stout/duration.hpp`), which the agent uses for every duration it hands
 * an executor (`MESOS_RECOVERY_TIMEOUT=15mins`, `MESOS_SUBSCRIPTION_BACKOFF_MAX=2secs`, …).
 *
 * @see https://github.com/apache/mesos/blob/master/3rdparty/stout/include/stout/duration.hpp
 * @module
 */

/** The unit names stout accepts, exactly (`secs`, never `s` or `sec`). */
export type StoutDurationUnit = 'ns' | 'us' | 'ms' | 'secs' | 'mins' | 'hrs' | 'days' | 'weeks';

/** Milliseconds in one of each {@link StoutDurationUnit}. */
export const STOUT_DURATION_UNIT_MS: Readonly<Record<StoutDurationUnit, number>> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  secs: 1_000,
  mins: 60_000,
  hrs: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

const UNITS = Object.keys(STOUT_DURATION_UNIT_MS) as StoutDurationUnit[];

/** The result of {@link tryParseStoutDuration}: milliseconds, or why the text is not a duration. */
export type StoutDurationParse =
  | { readonly ok: true; readonly milliseconds: number }
  | { readonly ok: false; readonly problem: string };

/**
 * Parses a stout duration without throwing. Like stout, it takes a non-negative decimal number
 * (digits and at most one `.`, no sign, no exponent, no spaces) directly followed by one unit of
 * {@link StoutDurationUnit}; `2.5secs` is 2500 ms, `10us` is 0.01 ms.
 *
 * @see https://github.com/apache/mesos/blob/master/3rdparty/stout/include/stout/duration.hpp
 */
export function tryParseStoutDuration(text: string): StoutDurationParse {
  const match = /^([0-9]*\.?[0-9]*)([a-z]*)$/.exec(text);
  const number = match?.[1] ?? '';
  const unit = match?.[2] ?? '';
  if (!match || number === '' || number === '.') {
    return {
      ok: false,
      problem: `${JSON.stringify(text)} is not a stout duration: write a number followed by one of ${UNITS.join(', ')} (e.g. 15mins, 2secs, 100ms)`,
    };
  }
  if (unit === '') {
    return {
      ok: false,
      problem: `${JSON.stringify(text)} has no unit: append one of ${UNITS.join(', ')} (e.g. ${number}secs)`,
    };
  }
  if (!Object.hasOwn(STOUT_DURATION_UNIT_MS, unit)) {
    return {
      ok: false,
      problem: `${JSON.stringify(text)} has the unknown unit "${unit}": stout knows exactly ${UNITS.join(', ')}`,
    };
  }
  return { ok: true, milliseconds: Number(number) * STOUT_DURATION_UNIT_MS[unit as StoutDurationUnit] };
}

/**
 * Parses a stout duration (`5secs`, `15mins`, `2hrs`, `1days`, `100ms`, `10us`, `3ns`, `1weeks`,
 * `2.5secs`) into milliseconds (fractional below one millisecond).
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the text and the accepted units.
 * @see https://github.com/apache/mesos/blob/master/3rdparty/stout/include/stout/duration.hpp
 */
export function parseStoutDuration(text: string): number {
  const parsed = tryParseStoutDuration(text);
  if (parsed.ok) return parsed.milliseconds;
  throw new SparkMesosError('SM_ERR_BAD_CONFIG', `${parsed.problem}.`, {
    cause: { value: text },
    details: { value: text },
  });
}

/**
 * Formats milliseconds the way stout prints a duration: in the largest unit that keeps the
 * number at least 1 (`15mins`, `2secs`, `250ms`, `1.5hrs`), so messages read like Mesos' flags.
 *
 * @see https://github.com/apache/mesos/blob/master/3rdparty/stout/include/stout/duration.hpp
 */
export function formatStoutDuration(milliseconds: number): string {
  let unit: StoutDurationUnit = 'ns';
  for (const candidate of UNITS) {
    if (Math.abs(milliseconds) >= STOUT_DURATION_UNIT_MS[candidate]) unit = candidate;
  }
  // stout prints with the stream's default precision (6 significant digits).
  const value = Number((milliseconds / STOUT_DURATION_UNIT_MS[unit]).toPrecision(6));
  return `${value}${unit}`;
}
