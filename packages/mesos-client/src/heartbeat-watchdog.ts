import type { SchedulerTimers } from './scheduler-timers.js';

/**
 * Declares an event stream dead when nothing arrived on it for too long.
 *
 * @module
 */

/** Options of {@link createHeartbeatWatchdog}. */
export interface HeartbeatWatchdogOptions {
  /** Silence after which the stream is declared dead, in milliseconds. */
  readonly timeoutMs: number;
  /** The clock. */
  readonly timers: SchedulerTimers;
  /** Called once when the silence reached `timeoutMs`, with the silence measured. */
  readonly onExpire: (silentMs: number) => void;
}

/** A running watchdog. */
export interface HeartbeatWatchdog {
  /** Something arrived: the silence starts over. Cheap (no timer is re-created). */
  beat(): void;
  /** Changes the allowed silence (once SUBSCRIBED tells the heartbeat interval); starts over. */
  setTimeoutMs(timeoutMs: number): void;
  /**
   * Stops counting while WE do not read the stream (the consumer is slow and the buffer is
   * full): silence then says nothing about the master.
   */
  pause(): void;
  /** Counts again, from now. */
  resume(): void;
  /** Stops for good. Idempotent. */
  stop(): void;
}

/**
 * Starts a watchdog that calls `onExpire` after `timeoutMs` without {@link HeartbeatWatchdog.beat}.
 * Mesos sends a HEARTBEAT every `heartbeat_interval_seconds` (15 s) and any event counts as a sign
 * of life; the scheduler client allows a few missed heartbeats before re-subscribing.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/#heartbeat
 */
export function createHeartbeatWatchdog(options: HeartbeatWatchdogOptions): HeartbeatWatchdog {
  const { timers, onExpire } = options;
  let timeoutMs = options.timeoutMs;
  let lastBeat = timers.now();
  let handle: unknown;
  let paused = false;
  let stopped = false;

  const disarm = (): void => {
    if (handle !== undefined) timers.clearTimeout(handle);
    handle = undefined;
  };
  const arm = (delayMs: number): void => {
    disarm();
    handle = timers.setTimeout(check, Math.max(0, delayMs));
  };
  // One timer per timeout period rather than one per event: on firing it looks at the time of the
  // last beat and sleeps again for the rest of the period if something arrived meanwhile.
  function check(): void {
    handle = undefined;
    if (stopped || paused) return;
    const silentMs = timers.now() - lastBeat;
    if (silentMs >= timeoutMs) {
      stopped = true;
      onExpire(silentMs);
      return;
    }
    arm(timeoutMs - silentMs);
  }

  arm(timeoutMs);
  return {
    beat(): void {
      lastBeat = timers.now();
    },
    setTimeoutMs(next: number): void {
      timeoutMs = next;
      lastBeat = timers.now();
      if (!stopped && !paused) arm(timeoutMs);
    },
    pause(): void {
      paused = true;
      disarm();
    },
    resume(): void {
      if (stopped || !paused) return;
      paused = false;
      lastBeat = timers.now();
      arm(timeoutMs);
    },
    stop(): void {
      stopped = true;
      disarm();
    },
  };
}
