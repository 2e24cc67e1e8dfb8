/** One line of the executor's own log (stderr in the sandbox). */
export type ExecutorLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/**
 * A logger writing `<ISO time> <LEVEL> [executor <id>] <message>` lines to `stream`, so the
 * sandbox's stderr reads like an agent log.
 */
export function createExecutorLog(executorId: string, stream: NodeJS.WritableStream = process.stderr): ExecutorLog {
  return (level, message) => {
    stream.write(`${new Date().toISOString()} ${level.toUpperCase()} [executor ${executorId}] ${message}\n`);
  };
}
