// A one-line progress bar for long uploads, drawn on a terminal only: logs and CI output stay
// free of carriage returns.

/** Where the bar is drawn: a writable stream that may be a terminal. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/** Draws and clears one progress bar. */
export interface ProgressReporter {
  /** Records that `sent` of `total` bytes are done. */
  update(sent: number, total: number): void;
  /** Removes the bar (if drawn). */
  done(): void;
}

/** Options of {@link createProgressReporter}. */
export interface ProgressOptions {
  /** The label before the bar, e.g. the file name. */
  readonly label: string;
  /** Where to draw. Nothing is drawn unless it is a TTY. @default process.stderr */
  readonly stream?: ProgressStream;
  /** Uploads shorter than this never show a bar. @default 1000 */
  readonly showAfterMs?: number;
  /** Milliseconds since some origin. @default performance.now */
  readonly now?: () => number;
}

const MIB = 1024 * 1024;

/**
 * A progress bar on `stream` when it is a terminal, redrawn at most ten times a second and only
 * once the upload has lasted `showAfterMs`; a no-op reporter otherwise.
 */
export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY !== true) return { update() {}, done() {} };
  const now = options.now ?? (() => performance.now());
  const started = now();
  const showAfter = options.showAfterMs ?? 1000;
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    update(sent, total) {
      const at = now();
      if (at - started < showAfter || (at - lastDraw < 100 && sent < total)) return;
      lastDraw = at;
      const fraction = total === 0 ? 1 : Math.min(1, sent / total);
      const rate = sent / MIB / Math.max(0.001, (at - started) / 1000);
      const text = `${(sent / MIB).toFixed(1)}/${(total / MIB).toFixed(1)} MiB ${rate.toFixed(1)} MiB/s`;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - options.label.length - text.length - 12));
      const filled = Math.round(fraction * width);
      stream.write(
        `\r${options.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${text}`,
      );
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
