import { writeSync } from 'node:fs';

/** One line of the executor's own log (stderr in the sandbox). */
export type ExecutorLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/**
 * A logger writing `<ISO time> <LEVEL> [executor <id>] <message>` lines to stderr (file
 * descriptor 2), so the sandbox's stderr reads like an agent log. Lines of one tick go out in
 * one write: a busy executor logs a line per task, thousands a second. What is still buffered
 * when the process exits is written synchronously.
 */
export function createExecutorLog(executorId: string, write: (text: string) => void = defaultWrite): ExecutorLog {
  let buffer = '';
  let scheduled = false;
  // The lines of one tick share their time stamp (formatting a date per line showed in profiles).
  let stamp = '';
  const flush = (): void => {
    scheduled = false;
    stamp = '';
    if (buffer === '') return;
    const text = buffer;
    buffer = '';
    write(text);
  };
  process.once('exit', flush);
  return (level, message) => {
    if (stamp === '') stamp = new Date().toISOString();
    buffer += `${stamp} ${LEVEL_TEXT[level]} [executor ${executorId}] ${message}\n`;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

const LEVEL_TEXT = { info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

function defaultWrite(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // A closed stderr must not bring the executor down.
  }
}
