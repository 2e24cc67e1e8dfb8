// How the `spark-mesos` command ends: exit codes and one-message errors.
import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';

/**
 * Exit codes of `spark-mesos` (the application's own exit code is kept by `submit`).
 *
 * | code | meaning |
 * |---|---|
 * | 0 | done |
 * | 1 | the application (or the command) failed |
 * | 2 | bad usage: unknown command or option, missing argument |
 * | 3 | bad configuration: `--conf`, properties file, master URL, deploy mode |
 * | 4 | the master or cluster could not be reached, started, or refused the framework |
 * | 130 / 143 | stopped by SIGINT / SIGTERM |
 */
export const EXIT_CODES = {
  ok: 0,
  failed: 1,
  usage: 2,
  config: 3,
  unavailable: 4,
  interrupted: 130,
  terminated: 143,
} as const;

const configCodes = new Set([
  'SM_ERR_BAD_CONFIG',
  'SM_ERR_CONFIG_FILE',
  'SM_ERR_MISSING_CONFIG',
  'SM_ERR_BAD_MASTER_URL',
  'SM_ERR_BAD_MASTER_INFO',
  'SM_ERR_NO_MASTER',
  'SM_ERR_NO_APP_NAME',
  'SM_ERR_UNSUPPORTED_MASTER',
  'SM_ERR_UNSUPPORTED_DEPLOY_MODE',
  'SM_ERR_NO_EXECUTOR_SOURCE',
]);

const unavailableCodes = new Set([
  'SM_ERR_MESOS_NETWORK',
  'SM_ERR_MESOS_UNAVAILABLE',
  'SM_ERR_MESOS_TLS',
  'SM_ERR_MESOS_UNAUTHORIZED',
  'SM_ERR_MESOS_FORBIDDEN',
  'SM_ERR_NO_LEADER',
  'SM_ERR_NOT_LEADER',
  'SM_ERR_ZOOKEEPER',
  'SM_ERR_LOCAL_CLUSTER',
  'SM_ERR_HEARTBEAT_TIMEOUT',
  'SM_ERR_SUBSCRIPTION_ENDED',
  'SM_ERR_FRAMEWORK_ERROR',
  'SM_ERR_MESOS_UNREACHABLE',
  'SM_ERR_MESOS_AUTHENTICATION',
]);

/** The exit code an error ends the command with (see {@link EXIT_CODES}). */
export function exitCodeOf(error: unknown): number {
  if (!isSparkMesosError(error)) return EXIT_CODES.failed;
  if (error.code === 'SM_ERR_USAGE') return EXIT_CODES.usage;
  if (configCodes.has(error.code)) return EXIT_CODES.config;
  if (unavailableCodes.has(error.code)) return EXIT_CODES.unavailable;
  return EXIT_CODES.failed;
}

/** A usage error (exit code 2) naming the fix and where the help is. */
export function usageError(command: string, message: string): SparkMesosError {
  return new SparkMesosError('SM_ERR_USAGE', `${message}; run ${command} --help for usage`, { cause: null });
}

/**
 * The text of an error for people: one line `<command>: [CODE] message` (the code when it is a
 * SparkMesosError or a Node error code); with `verbose`, the stack and the causes follow.
 */
export function formatError(error: unknown, options: { command: string; verbose?: boolean }): string {
  const code =
    typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
      ? (error as { code: string }).code
      : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const head = `${options.command}: ${code === undefined ? '' : `[${code}] `}${message}`;
  if (options.verbose !== true) return `${head}\n`;
  const lines = [head];
  if (error instanceof Error && error.stack !== undefined) {
    // The stack repeats the message first; keep only its frames.
    lines.push(...error.stack.split('\n').filter((line) => /^\s+at /.test(line)));
  }
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 5; depth++) {
    if (cause instanceof Error) {
      lines.push(`caused by: ${cause.stack ?? cause.message}`);
      cause = cause.cause;
    } else {
      // Details objects without content say nothing.
      const text = safeJson(cause);
      if (text !== '{}') lines.push(`caused by: ${text}`);
      break;
    }
  }
  return `${lines.join('\n')}\n`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
