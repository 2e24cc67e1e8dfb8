import { SparkMesosError } from '@spark-mesos/errors';

/**
 * Jittered, truncated exponential backoff: how long to wait before the next attempt to subscribe
 * (or to reconcile again).
 *
 * @module
 */

/** Options of {@link createBackoff}. */
export interface BackoffOptions {
  /** The first delay, in milliseconds. @default 500 */
  readonly initialMs?: number;
  /**
   * The largest delay, in milliseconds (Mesos' own scheduler library caps its re-registration
   * backoff at a similar bound). @default 15000
   */
  readonly maxMs?: number;
  /**
   * Fraction of each delay that is random, from 0 (none) to 1 (anything between 0 and the
   * delay), so that many frameworks do not hammer a recovering master in step. @default 0.5
   */
  readonly jitter?: number;
  /** Source of randomness in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** A backoff sequence. */
export interface Backoff {
  /** The delay before the next attempt, in milliseconds; each call doubles the base (up to the cap). */
  next(): number;
  /** Starts over from the initial delay (after a success). */
  reset(): void;
  /** How many delays were handed out since the last reset. */
  readonly attempts: number;
}

/** Default delays of the subscription backoff. */
export const DEFAULT_BACKOFF = Object.freeze({ initialMs: 500, maxMs: 15_000, jitter: 0.5 });

function badConfig(message: string, key: string, value: unknown): SparkMesosError {
  return new SparkMesosError('SM_ERR_BAD_CONFIG', message, { cause: { key, value }, details: { key } });
}

/**
 * Creates a backoff: the n-th delay is `min(maxMs, initialMs × 2ⁿ)`, of which the `jitter`
 * fraction is random (the delay lies in `[d × (1 − jitter), d]`), so it never exceeds `maxMs`.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for a non-positive `initialMs`, a `maxMs` below
 *   `initialMs`, or a `jitter` outside [0, 1].
 * @see https://mesos.apache.org/documentation/latest/high-availability-framework-guide/
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const maxMs = options.maxMs ?? Math.max(DEFAULT_BACKOFF.maxMs, initialMs);
  const jitter = options.jitter ?? DEFAULT_BACKOFF.jitter;
  const random = options.random ?? Math.random;
  if (!(Number.isFinite(initialMs) && initialMs > 0)) {
    throw badConfig(
      `backoff.initialMs must be a positive number of milliseconds, got ${initialMs}.`,
      'initialMs',
      initialMs,
    );
  }
  if (!(Number.isFinite(maxMs) && maxMs >= initialMs)) {
    throw badConfig(`backoff.maxMs must be at least backoff.initialMs (${initialMs}), got ${maxMs}.`, 'maxMs', maxMs);
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    throw badConfig(`backoff.jitter must be between 0 and 1, got ${jitter}.`, 'jitter', jitter);
  }
  let attempts = 0;
  return {
    next(): number {
      // 2^attempts overflows to Infinity long after the cap is reached; min() keeps it finite.
      const base = Math.min(maxMs, initialMs * 2 ** attempts);
      attempts += 1;
      return base * (1 - jitter * random());
    },
    reset(): void {
      attempts = 0;
    },
    get attempts(): number {
      return attempts;
    },
  };
}
