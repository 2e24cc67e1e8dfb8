import { expect, it, vi } from 'vitest';
import { createProgressLine, formatStageProgress } from './progress-line.js';

const stage = {
  jobId: 0,
  stageId: 3,
  stageAttempt: 0,
  totalTasks: 100,
  finishedTasks: 45,
  runningTasks: 4,
  failedAttempts: 2,
  state: 'running' as const,
};

it('formats a stage as tasks done/total, running, failed attempts', () => {
  expect(formatStageProgress(stage)).toBe('[Stage 3: 45/100 tasks (4 running), 2 failed]');
  expect(formatStageProgress({ ...stage, stageAttempt: 1, runningTasks: 0, failedAttempts: 0 })).toBe(
    '[Stage 3 (retry 1): 45/100 tasks]',
  );
});

it('draws running stages on one terminal line and erases it when they end', () => {
  vi.useFakeTimers();
  try {
    const written: string[] = [];
    const line = createProgressLine({ isTTY: true, columns: 200, write: (text: string) => written.push(text) });
    line.update(stage);
    line.update({ ...stage, stageId: 4, finishedTasks: 0, runningTasks: 1, failedAttempts: 0 });
    vi.advanceTimersByTime(0);
    expect(written).toEqual([
      '\r\u001b[2K[Stage 3: 45/100 tasks (4 running), 2 failed] [Stage 4: 0/100 tasks (1 running)]',
    ]);
    line.update({ ...stage, state: 'succeeded', finishedTasks: 100 });
    line.update({ ...stage, stageId: 4, state: 'failed' });
    expect(written.at(-1)).toBe('\r\u001b[2K');
  } finally {
    vi.useRealTimers();
  }
});

it('writes nothing when the stream is not a terminal', () => {
  const written: string[] = [];
  const line = createProgressLine({ write: (text: string) => written.push(text) });
  line.update(stage);
  line.clear();
  expect(written).toEqual([]);
});
