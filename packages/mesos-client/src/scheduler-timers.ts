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

/** {@link SchedulerTimers} whose pending timers can stop keeping the Node process alive. */
export interface ReferenceableTimers {
  /** The timers to use: each one set follows the current `ref`/`unref` state. */
  readonly timers: SchedulerTimers;
  /** Pending and later timers keep the process alive (the default). */
  ref(): void;
  /** Pending and later timers do not keep the process alive (`timeout.unref()`). */
  unref(): void;
}

interface MaybeReferenced {
  ref?: () => unknown;
  unref?: () => unknown;
}

/**
 * Wraps `inner` so that its pending timers can be unref'd and ref'd again together. Handles
 * without `ref`/`unref` (injected test clocks) are left as they are.
 */
export function referenceableTimers(inner: SchedulerTimers): ReferenceableTimers {
  const pending = new Set<unknown>();
  let referenced = true;
  const apply = (handle: unknown): void => {
    const timer = handle as MaybeReferenced | null;
    if (typeof timer !== 'object' || timer === null) return;
    if (referenced) timer.ref?.();
    else timer.unref?.();
  };
  const timers: SchedulerTimers = {
    setTimeout(callback, ms) {
      const handle = inner.setTimeout(() => {
        pending.delete(handle);
        callback();
      }, ms);
      pending.add(handle);
      if (!referenced) apply(handle);
      return handle;
    },
    clearTimeout(handle) {
      pending.delete(handle);
      inner.clearTimeout(handle);
    },
    now: () => inner.now(),
  };
  const set = (value: boolean): void => {
    if (referenced === value) return;
    referenced = value;
    for (const handle of pending) apply(handle);
  };
  return { timers, ref: () => set(true), unref: () => set(false) };
}
