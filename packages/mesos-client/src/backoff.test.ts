import { isSparkMesosError } from '@spark-mesos/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBackoff } from './backoff.js';

describe('createBackoff', () => {
  it('doubles from initialMs and is capped at maxMs (no jitter)', () => {
    const backoff = createBackoff({ initialMs: 500, maxMs: 15_000, jitter: 0 });
    const delays = Array.from({ length: 8 }, () => backoff.next());
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });

  it('keeps every jittered delay within [d × (1 − jitter), d] and never above maxMs', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        fc.integer({ min: 0, max: 60 }),
        (jitter, random, attempts) => {
          const backoff = createBackoff({ initialMs: 500, maxMs: 15_000, jitter, random: () => random });
          for (let i = 0; i < attempts; i += 1) backoff.next();
          const base = Math.min(15_000, 500 * 2 ** attempts);
          const delay = backoff.next();
          return delay <= base && delay >= base * (1 - jitter) - 1e-9;
        },
      ),
    );
  });

  it('rejects nonsense options with SM_ERR_BAD_CONFIG', () => {
    for (const options of [{ initialMs: 0 }, { initialMs: 100, maxMs: 50 }, { jitter: 2 }]) {
      expect(() => createBackoff(options)).toThrow(expect.objectContaining({ code: 'SM_ERR_BAD_CONFIG' }));
    }
    let failure: unknown;
    try {
      createBackoff({ jitter: -1 });
    } catch (error) {
      failure = error;
    }
    expect(isSparkMesosError(failure, 'SM_ERR_BAD_CONFIG')).toBe(true);
  });
});
