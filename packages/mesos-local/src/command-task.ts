import { constants } from 'node:os';
import { SparkMesosError } from '@spark-mesos/errors';
import type { CommandInfo, Environment } from '@spark-mesos/mesos-client';
import type { ProcessLauncherLease } from './process-launcher.js';

/**
 * One container's process, as Mesos runs a command task (its command executor) or a custom
 * executor: `/bin/sh -c <value>` (or the argv), in its sandbox, with `stdout`/`stderr` files
 * there, in a process group of its own so that killing it kills everything it started.
 *
 * @see https://mesos.apache.org/documentation/latest/app-framework-development-guide/
 * @module
 */

/** How a command task ended. */
export interface CommandExit {
  /** Exit status, when it exited. */
  readonly code: number | null;
  /** Signal that ended it, when it was signalled. */
  readonly signal: NodeJS.Signals | null;
}

/** A running command task. */
export interface CommandTask {
  /** Process id (also its process group id). */
  readonly pid: number;
  /** Whether it has exited. */
  readonly hasExited: boolean;
  /** Settles once the process has exited. */
  readonly exited: Promise<CommandExit>;
  /** SIGTERM to the group, SIGKILL after `gracePeriodMs` if still alive (at once when it is 0). */
  kill(gracePeriodMs: number): void;
}

/** What to run and where. */
export interface CommandTaskOptions {
  /** The task's command. */
  readonly command: CommandInfo;
  /** The sandbox: cwd, and where `stdout`/`stderr` go. */
  readonly sandbox: string;
  /** Environment added to the agent's (the command's own variables win). */
  readonly env: Readonly<Record<string, string>>;
  /** Whether the sandbox is still to be created (by the launcher, with the process). @default false */
  readonly createSandbox?: boolean;
}

/**
 * The variables of a CommandInfo's environment, with secrets of type VALUE resolved to their
 * data (how Spark's `spark.mesos.driver.secret.envkeys` reach a task). Mesos resolves them the
 * same way before the launch and never reports them back.
 *
 * @throws SparkMesosError `SM_ERR_TASK_LAUNCH` for a secret by REFERENCE (needs a secret
 *   resolver module, which mesos-local does not have) or a secret without data
 * @see https://mesos.apache.org/documentation/latest/secrets/
 */
export function resolveEnvironment(environment: Environment | undefined): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const variable of environment?.variables ?? []) {
    if (variable.type !== 'SECRET') {
      variables[variable.name] = variable.value ?? '';
      continue;
    }
    const secret = variable.secret;
    if (secret?.type === 'REFERENCE' || secret?.reference !== undefined) {
      throw new SparkMesosError(
        'SM_ERR_TASK_LAUNCH',
        `Environment variable '${variable.name}' is a secret by reference, which needs a secret resolver: mesos-local resolves only secrets of type VALUE; pass the value instead.`,
        { cause: { name: variable.name } },
      );
    }
    if (secret?.value?.data === undefined) {
      throw new SparkMesosError(
        'SM_ERR_TASK_LAUNCH',
        `Environment variable '${variable.name}' of type SECRET has no secret value: set secret: { type: 'VALUE', value: { data } }.`,
        { cause: { name: variable.name } },
      );
    }
    variables[variable.name] = Buffer.from(secret.value.data).toString('utf8');
  }
  return variables;
}

// Signal names as Mesos' WSTRINGIFY prints them (strsignal), for "Command terminated with signal X".
const SIGNAL_TEXT: Partial<Record<NodeJS.Signals, string>> = {
  SIGTERM: 'Terminated',
  SIGKILL: 'Killed',
  SIGINT: 'Interrupt',
  SIGHUP: 'Hangup',
  SIGSEGV: 'Segmentation fault',
  SIGABRT: 'Aborted',
};

/** The message of a command task's terminal update, as Mesos' command executor words it. */
export function describeExit(exit: CommandExit): string {
  if (exit.signal !== null) return `Command terminated with signal ${SIGNAL_TEXT[exit.signal] ?? exit.signal}`;
  return `Command exited with status ${exit.code ?? 0}`;
}

/**
 * `exit` as the wait status `waitpid` reports on Linux, which Mesos' agent passes on in
 * ExitedExecutorMessage (and so the scheduler's FAILURE event): the exit code in bits 8–15, or
 * the signal number in bits 0–6; -1 when neither is known (a container that never started), as
 * the agent's "special status for failure".
 */
export function waitStatusOf(exit: CommandExit): number {
  if (exit.signal !== null) return constants.signals[exit.signal] ?? -1;
  if (exit.code !== null) return (exit.code & 0xff) << 8;
  return -1;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone (ESRCH): nothing to kill.
  }
}

/**
 * Starts a command task through `launcher` (see ./process-launcher.ts): settles once its process
 * runs, with the process' id.
 *
 * @throws SparkMesosError `SM_ERR_TASK_LAUNCH` when the command has no value or its environment
 *   cannot be resolved; the launcher's error when it cannot open the sandbox's files or spawn
 */
export async function startCommandTask(
  options: CommandTaskOptions,
  launcher: Pick<ProcessLauncherLease, 'launch'>,
): Promise<CommandTask> {
  const { command } = options;
  const shell = command.shell ?? true;
  if (command.value === undefined || command.value === '') {
    throw new SparkMesosError('SM_ERR_TASK_LAUNCH', 'The task has a CommandInfo without a value: give one.', {
      cause: { command },
    });
  }
  const env = { ...process.env, ...options.env, ...resolveEnvironment(command.environment) };
  const argv = command.arguments ?? [];
  const launched = await launcher.launch({
    ...(shell
      ? { file: '/bin/sh', args: ['-c', command.value] }
      : {
          file: command.value,
          args: argv.slice(1),
          ...(argv[0] === undefined ? {} : { argv0: argv[0] }),
        }),
    cwd: options.sandbox,
    ...(options.createSandbox ? { createDirectory: true } : {}),
    env,
    stdout: `${options.sandbox}/stdout`,
    stderr: `${options.sandbox}/stderr`,
  });
  const { pid } = launched;
  let killTimer: NodeJS.Timeout | undefined;
  let hasExited = false;
  const exited = launched.exited.then((exit): CommandExit => {
    hasExited = true;
    if (killTimer) clearTimeout(killTimer);
    // Whatever the task left running in its group goes with it, as with Mesos' containerizer.
    killGroup(pid, 'SIGKILL');
    return exit;
  });
  return {
    pid,
    get hasExited() {
      return hasExited;
    },
    exited,
    kill(gracePeriodMs) {
      if (gracePeriodMs <= 0) {
        killGroup(pid, 'SIGKILL');
        return;
      }
      killGroup(pid, 'SIGTERM');
      if (killTimer) return;
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), gracePeriodMs);
      killTimer.unref();
    },
  };
}
