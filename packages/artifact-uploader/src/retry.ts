// Retries with jittered exponential backoff, for what a store marks retryable (5xx answers,
// network errors). Clock and randomness are injectable so tests run without waiting.
import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';

/** How {@link withRetries} waits and how often it tries. */
export interface RetryOptions {
  /** Retries after the first attempt. @default 4 */
  readonly retries?: number;
  /** Delay before the first retry; doubles each time. @default 500 */
  readonly retryBaseDelayMs?: number;
  /** Upper bound of one delay. @default 8000 */
  readonly retryMaxDelayMs?: number;
  /** Waits `ms` milliseconds. @default a timer that the signal cancels */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform random number in [0, 1), for the jitter. @default Math.random */
  readonly random?: () => number;
  /** Stops retrying (and the running attempt) when aborted. @default undefined */
  readonly signal?: AbortSignal;
}

/** Waits `ms` milliseconds unless `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** True for a SparkMesosError whose `details.retryable` is true. */
export function isRetryable(error: unknown): boolean {
  return isSparkMesosError(error) && error.details.retryable === true;
}

/**
 * The delay before retry number `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so that many drivers failing together do not retry in lockstep.
 */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const base = options.retryBaseDelayMs ?? 500;
  const cap = options.retryMaxDelayMs ?? 8000;
  const exponential = Math.min(cap, base * 2 ** attempt);
  const random = options.random ?? Math.random;
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not retryable, or has been
 * retried `retries` times; the last error then says how many attempts were made.
 */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const retries = options.retries ?? 4;
  const wait = options.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!isRetryable(error) || options.signal?.aborted === true) throw error;
      if (attempt >= retries) {
        const last = error as SparkMesosError;
        throw new SparkMesosError(
          last.code,
          `${last.message} (gave up after ${attempt + 1} attempt${attempt === 0 ? '' : 's'})`,
          {
            cause: last,
            details: { ...last.details, attempts: attempt + 1 },
          },
        );
      }
      await wait(backoffDelay(attempt, options), options.signal);
    }
  }
}
