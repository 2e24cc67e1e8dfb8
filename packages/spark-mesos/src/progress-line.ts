// The live progress line of `spark-mesos submit` and `shell` on a terminal, like Spark's
// ConsoleProgressBar: one line for the running stages, redrawn in place, cleared when they end.
import type { StageProgress } from '@spark-mesos/core';

/** A terminal stream (process.stderr). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Options of {@link createProgressLine}. */
export interface ProgressLineOptions {
  /** Milliseconds between redraws at most. @default 100 */
  readonly intervalMs?: number;
}

/** Draws the running stages on one line of a terminal. */
export interface ProgressLine {
  /** Records a stage's progress (from `sc.onStageProgress`) and redraws soon. */
  update(progress: StageProgress): void;
  /** Erases the line and forgets every stage. */
  clear(): void;
}

/** The text of one stage: `[Stage 3: 45/100 tasks (4 running), 2 failed]`. */
export function formatStageProgress(progress: StageProgress): string {
  const attempt = progress.stageAttempt > 0 ? ` (retry ${progress.stageAttempt})` : '';
  const running = progress.runningTasks > 0 ? ` (${progress.runningTasks} running)` : '';
  const failed = progress.failedAttempts > 0 ? `, ${progress.failedAttempts} failed` : '';
  return `[Stage ${progress.stageId}${attempt}: ${progress.finishedTasks}/${progress.totalTasks} tasks${running}${failed}]`;
}

/**
 * A progress line on `stream`, or one that does nothing when the stream is not a terminal (so
 * pipes and logs get nothing extra).
 */
export function createProgressLine(stream: ProgressStream, options: ProgressLineOptions = {}): ProgressLine {
  if (stream.isTTY !== true) return { update() {}, clear() {} };
  const intervalMs = options.intervalMs ?? 100;
  const stages = new Map<string, StageProgress>();
  let shown = false;
  let timer: NodeJS.Timeout | undefined;
  const draw = (): void => {
    timer = undefined;
    const running = [...stages.values()].filter((stage) => stage.state === 'running');
    if (running.length === 0) {
      erase();
      return;
    }
    let text = running.map(formatStageProgress).join(' ');
    // A pseudo-terminal without a size reports 0 columns.
    const width = (stream.columns || 80) - 1;
    if (text.length > width) text = `${text.slice(0, Math.max(0, width - 1))}…`;
    stream.write(`\r\u001b[2K${text}`);
    shown = true;
  };
  const erase = (): void => {
    if (shown) stream.write('\r\u001b[2K');
    shown = false;
  };
  return {
    update(progress) {
      const key = `${progress.stageId}.${progress.stageAttempt}`;
      if (progress.state === 'running') stages.set(key, progress);
      else stages.delete(key);
      if (stages.size === 0) {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        erase();
        return;
      }
      if (timer === undefined) {
        timer = setTimeout(draw, shown ? intervalMs : 0);
        // A progress line never keeps the process alive.
        timer.unref();
      }
    },
    clear() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      stages.clear();
      erase();
    },
  };
}
