import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { formatStoutDuration, parseStoutDuration, tryParseStoutDuration } from './stout-duration.js';

describe('parseStoutDuration', () => {
  it.each([
    ['5secs', 5_000],
    ['15mins', 900_000],
    ['2hrs', 7_200_000],
    ['1days', 86_400_000],
    ['1weeks', 604_800_000],
    ['100ms', 100],
    ['10us', 0.01],
    ['3ns', 3e-6],
    ['2.5secs', 2_500],
    ['.5secs', 500],
    ['0secs', 0],
  ])('reads %s as %d ms', (text, milliseconds) => {
    expect(parseStoutDuration(text)).toBeCloseTo(milliseconds, 12);
  });

  it.each([
    ['5', 'no unit'],
    ['5s', 'unknown unit "s"'],
    ['5sec', 'unknown unit "sec"'],
    ['5 secs', 'not a stout duration'],
    ['-5secs', 'not a stout duration'],
    ['secs', 'not a stout duration'],
    ['1.2.3secs', 'not a stout duration'],
    ['', 'not a stout duration'],
  ])('rejects %j (%s), as stout does', (text, problem) => {
    const parsed = tryParseStoutDuration(text);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toContain(problem);
    expect(() => parseStoutDuration(text)).toThrow(
      expect.objectContaining({ code: 'SM_ERR_BAD_CONFIG', details: { value: text } }),
    );
  });

  it('throws SparkMesosError naming the accepted units', () => {
    try {
      parseStoutDuration('3minutes');
      expect.unreachable();
    } catch (error) {
      expect(isSparkMesosError(error, 'SM_ERR_BAD_CONFIG')).toBe(true);
      expect((error as Error).message).toContain('ns, us, ms, secs, mins, hrs, days, weeks');
    }
  });
});

describe('formatStoutDuration', () => {
  it.each([
    [900_000, '15mins'],
    [2_000, '2secs'],
    [250, '250ms'],
    [5_400_000, '1.5hrs'],
    [1_209_600_000, '2weeks'],
    [0.01, '10us'],
  ])('prints %d ms as %s, like stout', (milliseconds, text) => {
    expect(formatStoutDuration(milliseconds)).toBe(text);
    expect(parseStoutDuration(text)).toBeCloseTo(milliseconds, 9);
  });
});
