import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DURATION_UNITS, type DurationUnit, formatDuration, parseDuration } from './duration.js';
import { formatSize, parseSize, SIZE_UNITS, type SizeUnit } from './size.js';

describe('parseSize', () => {
  it('reads binary units case-insensitively, like byteStringAs', () => {
    expect(parseSize('512m')).toBe(512 * 2 ** 20);
    expect(parseSize(' 2G ')).toBe(2 * 2 ** 30);
    expect(parseSize('1024kb')).toBe(2 ** 20);
    expect(parseSize('1t', { unit: 'g' })).toBe(1024);
    expect(parseSize('1PB', { unit: 'm' })).toBe(2 ** 30);
    expect(parseSize('10b')).toBe(10);
  });

  it('reads plain numbers in the unit and truncates into larger units', () => {
    expect(parseSize('2048', { unit: 'm' })).toBe(2048);
    expect(parseSize('1500k', { unit: 'm' })).toBe(1);
    expect(parseSize('1023', { unit: 'b' })).toBe(1023);
    expect(parseSize('1023b', { unit: 'k' })).toBe(0);
  });

  it('rejects bad sizes naming key, value and the accepted forms', () => {
    expect(() => parseSize('12x', { key: 'spark.executor.memory', unit: 'm' })).toThrow(
      'spark.executor.memory: "12x" is not a size (unknown unit "x"); use a whole number with an optional unit b, k, m, g, t, p (e.g. 512m, 2g); a plain number means MiB',
    );
    expect(() => parseSize('1.5g')).toThrow(/fractional values are not supported/);
    expect(() => parseSize('-1m')).toThrow(/is not a size/);
    expect(() => parseSize('')).toThrow(SparkMesosError);
    expect(() => parseSize('99999p')).toThrow(/too large/);
    expect(() => parseSize('hunter2', { key: 'spark.mesos.secret' })).toThrow('spark.mesos.secret: "****"');
  });
});

describe('parseDuration', () => {
  it('reads us, ms, s, m/min, h, d like timeStringAs', () => {
    expect(parseDuration('100ms')).toBe(100);
    expect(parseDuration('120s', { unit: 's' })).toBe(120);
    expect(parseDuration('5min')).toBe(300_000);
    expect(parseDuration('5m', { unit: 's' })).toBe(300);
    expect(parseDuration('1h', { unit: 's' })).toBe(3600);
    expect(parseDuration('2d', { unit: 'h' })).toBe(48);
    expect(parseDuration('1500us')).toBe(1);
    expect(parseDuration('-1500us')).toBe(-1);
    expect(parseDuration(' 30 ', { unit: 's' })).toBe(30);
  });

  it('rejects bad durations naming key, value and the accepted forms', () => {
    expect(() => parseDuration('5 minutes', { key: 'spark.mesos.rejectOfferDuration', unit: 's' })).toThrow(
      'spark.mesos.rejectOfferDuration: "5 minutes" is not a duration; use a whole number with an optional unit us, ms, s, m or min, h, d (e.g. 100ms, 120s, 5min); a plain number means seconds',
    );
    expect(() => parseDuration('1.5s')).toThrow(SparkMesosError);
    expect(() => parseDuration('10y')).toThrow(/unknown unit "y"/);
  });
});

describe('size and duration properties', () => {
  const sizeUnit = fc.constantFrom(...SIZE_UNITS);
  const durationUnit = fc.constantFrom(...DURATION_UNITS);
  const candidate = fc.oneof(
    fc.string({
      unit: fc.constantFrom('0', '1', '9', '.', '-', ' ', 'k', 'b', 'm', 'i', 'n', 's', 'u', 'G', 'P', 'x'),
    }),
    fc.string({ unit: 'binary' }),
  );

  it('either parse to a safe integer or throw a SparkMesosError with a code', () => {
    fc.assert(
      fc.property(candidate, sizeUnit, durationUnit, (text, size, time) => {
        for (const parse of [() => parseSize(text, { unit: size }), () => parseDuration(text, { unit: time })]) {
          try {
            expect(Number.isSafeInteger(parse())).toBe(true);
          } catch (error) {
            if (!isSparkMesosError(error, 'SM_ERR_BAD_CONFIG')) throw error;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trip formatSize and formatDuration for valid amounts', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), sizeUnit, (amount, unit: SizeUnit) => {
        expect(parseSize(formatSize(amount, unit), { unit })).toBe(amount);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), durationUnit, (amount, unit: DurationUnit) => {
        expect(parseDuration(formatDuration(amount, unit), { unit })).toBe(amount);
      }),
      { numRuns: 2000 },
    );
    expect(formatSize(2048, 'm')).toBe('2g');
    expect(formatSize(1536)).toBe('1536b');
    expect(formatSize(0, 'k')).toBe('0k');
    expect(formatDuration(120, 's')).toBe('2min');
    expect(formatDuration(1500, 'ms')).toBe('1500ms');
  });
});
