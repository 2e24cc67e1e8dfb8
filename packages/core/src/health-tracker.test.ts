import { describe, expect, it } from 'vitest';
import { HealthTracker } from './health-tracker.js';

const settings = {
  enabled: true,
  maxTaskAttemptsPerExecutor: 1,
  maxFailedTasksPerExecutor: 2,
  maxFailedExecutorsPerNode: 2,
  timeoutMs: 1000,
};

describe('HealthTracker', () => {
  it('excludes an executor after 2 failures and its host after 2 excluded executors, until the timeout', () => {
    const tracker = new HealthTracker(settings);
    expect(tracker.taskFailed('e1', 'h', 0)).toBe(false);
    expect(tracker.isExecutorUsable('e1', 'h', 0)).toBe(true);
    expect(tracker.taskFailed('e1', 'h', 10)).toBe(false);
    expect(tracker.isExecutorUsable('e1', 'h', 10)).toBe(false);
    expect(tracker.isExecutorUsable('e2', 'h', 10)).toBe(true);
    tracker.taskFailed('e2', 'h', 20);
    expect(tracker.taskFailed('e2', 'h', 30)).toBe(true);
    expect(tracker.excludedHosts(30)).toEqual(new Set(['h']));
    expect(tracker.isExecutorUsable('e3', 'h', 30)).toBe(false);
    expect(tracker.isExecutorUsable('e4', 'other', 30)).toBe(true);
    // e1 was excluded at 10 until 1010, the host at 30 until 1030.
    expect(tracker.isExecutorUsable('e3', 'h', 1029)).toBe(false);
    expect(tracker.isExecutorUsable('e3', 'h', 1030)).toBe(true);
    expect(tracker.excludedHosts(1030)).toEqual(new Set());
    // Failures counted before an exclusion expired start again from zero.
    expect(tracker.taskFailed('e1', 'h', 1100)).toBe(false);
    expect(tracker.isExecutorUsable('e1', 'h', 1100)).toBe(true);
  });

  it('does nothing when disabled', () => {
    const tracker = new HealthTracker({ ...settings, enabled: false });
    for (let time = 0; time < 5; time++) tracker.taskFailed('e1', 'h', time);
    expect(tracker.isExecutorUsable('e1', 'h', 5)).toBe(true);
  });
});
