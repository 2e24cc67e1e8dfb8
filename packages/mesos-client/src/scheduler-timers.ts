/**
 * The clock of the scheduler client, injectable so that tests can run the heartbeat watchdog,
 * backoff and reconciliation fast (scaled-down timers) without fake-timer hacks.
 *
 * @module
 */

/** Timer functions and a monotonic-enough clock, in milliseconds. */
export interface SchedulerTimers {
  /** Calls `callback` after `ms` milliseconds; returns a handle for {@link SchedulerTimers.clearTimeout}. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer set by {@link SchedulerTimers.setTimeout}. Ignores unknown handles. */
  clearTimeout(handle: unknown): void;
  /** The current time in milliseconds (only differences are used). */
  now(): number;
}

/**
 * Node's timers and `performance.now()`.
 *
 * @see https://nodejs.org/api/timers.html
 */
export const SYSTEM_TIMERS: SchedulerTimers = Object.freeze({
  setTimeout: (callback: () => void, ms: number): unknown => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle: unknown): void => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
  now: (): number => performance.now(),
});

/**
 * Waits `ms` milliseconds on `timers`, or less when `signal` aborts first. It never rejects:
 * callers look at their own state afterwards (closed, leader changed…).
 */
export function sleep(timers: SchedulerTimers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      timers.clearTimeout(handle);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const handle = timers.setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
