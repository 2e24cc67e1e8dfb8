import { describe, expect, it } from 'vitest';
import { createHeartbeatWatchdog } from './heartbeat-watchdog.js';
import { manualTimers } from './scheduler-manual-timers.test-support.js';

describe('createHeartbeatWatchdog', () => {
  it('expires after timeoutMs of silence, once', () => {
    const timers = manualTimers();
    const expired: number[] = [];
    createHeartbeatWatchdog({ timeoutMs: 75_000, timers, onExpire: (silent) => expired.push(silent) });
    timers.advance(74_999);
    expect(expired).toEqual([]);
    timers.advance(1);
    expect(expired).toEqual([75_000]);
    timers.advance(200_000);
    expect(expired).toHaveLength(1);
  });

  it('starts over on every beat, with a single timer', () => {
    const timers = manualTimers();
    let expired = false;
    const watchdog = createHeartbeatWatchdog({ timeoutMs: 1000, timers, onExpire: () => (expired = true) });
    for (let i = 0; i < 10; i += 1) {
      timers.advance(900);
      watchdog.beat();
      expect(timers.pending).toBe(1);
    }
    expect(expired).toBe(false);
    timers.advance(1000);
    expect(expired).toBe(true);
  });

  it('does not count while paused, and adopts a new timeout', () => {
    const timers = manualTimers();
    let expired = false;
    const watchdog = createHeartbeatWatchdog({ timeoutMs: 1000, timers, onExpire: () => (expired = true) });
    watchdog.pause();
    timers.advance(10_000);
    expect(expired).toBe(false);
    watchdog.resume();
    watchdog.setTimeoutMs(5000);
    timers.advance(4999);
    expect(expired).toBe(false);
    timers.advance(1);
    expect(expired).toBe(true);
  });

  it('stop() cancels it', () => {
    const timers = manualTimers();
    let expired = false;
    const watchdog = createHeartbeatWatchdog({ timeoutMs: 1000, timers, onExpire: () => (expired = true) });
    watchdog.stop();
    timers.advance(5000);
    expect(expired).toBe(false);
    expect(timers.pending).toBe(0);
  });
});
