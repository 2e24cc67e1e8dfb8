import { hostname as osHostname } from 'node:os';
import { isSparkMesosError } from '@spark-mesos/errors';
import type { ExecutorLog } from './executor-log.js';
import { connectDriverLink, type ExecutorLink } from './protocol/executor-link.js';
import type { ExecutorRegistration } from './protocol/messages.js';
import { createTaskRunner } from './task-runner.js';
import type { TaskOutcome, TaskSpec } from './task-spec.js';

/** Exit codes of `bin/spark-mesos-executor`. */
export const EXECUTOR_EXIT = {
  /** Told to stop (driver shutdown, Mesos SHUTDOWN, SIGTERM). */
  ok: 0,
  /** The driver was unreachable for longer than the driver-lost timeout. */
  driverLost: 1,
  /** Bad flags or environment. */
  badArgs: 2,
  /** The driver and the executor do not share the application secret. */
  refused: 3,
} as const;

/** Options of {@link runCoarseExecutor}. */
export interface CoarseExecutorOptions {
  /** The driver endpoint to dial (`--driver`). */
  driver: { host: string; port: number };
  /** The application secret (from `SPARK_MESOS_APP_SECRET`). */
  secret: Uint8Array;
  /** The Spark executor id (`--executor-id`). */
  executorId: string;
  /** The agent's hostname. @default `HOST`, else the machine's hostname */
  hostname?: string;
  /** The Mesos agent id, when known. @default undefined */
  agentId?: string;
  /** CPUs of the executor (`--cores`). */
  cores: number;
  /** Memory of the executor in MiB (`--memory`); the workers' heap limits derive from it. */
  memoryMiB: number;
  /** CPUs per task (`--task-cpus`): `floor(cores / taskCpus)` tasks run at once. */
  taskCpus: number;
  /** Where module tasks resolve. @default undefined */
  appDirectory?: string;
  /** Kill tasks running longer than this. @default undefined (no limit) */
  taskTimeoutMs?: number;
  /** Exit when the driver has been unreachable this long. @default 30000 */
  driverLostTimeoutMs?: number;
  /** How often heartbeats go to the driver. @default 2000 */
  heartbeatIntervalMs?: number;
  /** The executor's own log. */
  log: ExecutorLog;
  /** Resolves to stop the executor (e.g. on SIGTERM). */
  stopSignal?: Promise<string>;
}

/**
 * The heap limit of each task worker: three quarters of what the executor's memory leaves after
 * Node's own ~96 MiB, shared by the slots, at least 32 MiB.
 */
export function workerHeapLimitMiB(memoryMiB: number, slots: number): number {
  return Math.max(32, Math.floor(((memoryMiB - 96) * 0.75) / slots));
}

/**
 * A coarse-grained executor: dials the driver, proves the secret, registers, runs the task
 * batches it receives (up to `floor(cores / taskCpus)` at once, the rest queued), streams the
 * outcomes back, and reconnects while the driver is briefly gone. Resolves to the exit code.
 */
export async function runCoarseExecutor(options: CoarseExecutorOptions): Promise<number> {
  const { log } = options;
  const slots = Math.floor(options.cores / options.taskCpus);
  const driverLostTimeoutMs = options.driverLostTimeoutMs ?? 30_000;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 2000;
  const heapLimitMiB = workerHeapLimitMiB(options.memoryMiB, slots);
  const runner = createTaskRunner({
    slots,
    heapLimitMiB,
    ...(options.appDirectory === undefined ? {} : { appDirectory: options.appDirectory }),
    ...(options.taskTimeoutMs === undefined ? {} : { taskTimeoutMs: options.taskTimeoutMs }),
  });
  const registration: ExecutorRegistration = {
    executorId: options.executorId,
    hostname: options.hostname ?? process.env.HOST ?? osHostname(),
    ...(options.agentId === undefined ? {} : { agentId: options.agentId }),
    cores: options.cores,
    memoryMiB: options.memoryMiB,
    mode: 'coarse',
    slots,
    pid: process.pid,
  };
  const running = new Set<string>();
  let link: ExecutorLink | undefined;
  let stopping: string | undefined;
  let resolveExit: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });

  function report(taskId: string, outcome: TaskOutcome): void {
    running.delete(taskId);
    if (outcome.state === 'finished') log('info', `task ${taskId} finished in ${outcome.durationMs.toFixed(1)} ms`);
    else if (outcome.state === 'failed') {
      log('warn', `task ${taskId} failed: ${outcome.error.name}: ${outcome.error.message}`);
    } else log('warn', `task ${taskId} killed: ${outcome.reason}`);
    link?.sendOutcome(taskId, outcome);
  }

  function launch(tasks: TaskSpec[]): void {
    for (const task of tasks) {
      if (stopping !== undefined) {
        report(task.taskId, {
          state: 'killed',
          reason: `executor is stopping: ${stopping}`,
          durationMs: 0,
          outputTail: '',
        });
        continue;
      }
      running.add(task.taskId);
      void runner.run(task).then((outcome) => report(task.taskId, outcome));
    }
  }

  async function stop(reason: string, timeoutMs: number, code: number): Promise<void> {
    if (stopping !== undefined) return;
    stopping = reason;
    log('info', `stopping: ${reason} (${running.size} tasks running, grace ${timeoutMs} ms)`);
    // Running tasks are asked to stop (context.signal) and terminated after `timeoutMs`.
    for (const taskId of running) runner.kill(taskId, `executor stopping: ${reason}`, { graceMs: timeoutMs });
    while (running.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await runner.close();
    // Let the last outcomes leave before saying goodbye.
    await new Promise((resolve) => setImmediate(resolve));
    await link?.close(reason);
    resolveExit(code);
  }

  async function connectUntil(deadlineMs: number): Promise<ExecutorLink | 'refused' | 'timeout'> {
    let delayMs = 200;
    for (;;) {
      try {
        return await connectDriverLink({
          driver: options.driver,
          secret: options.secret,
          registration,
          heartbeatIntervalMs,
          heartbeatTimeoutMs: Math.max(heartbeatIntervalMs * 10, 10_000),
          connectTimeoutMs: Math.max(1000, Math.min(10_000, deadlineMs - performance.now())),
          log,
          handlers: {
            launch,
            kill: (taskId, reason, graceMs) => void runner.kill(taskId, reason, { graceMs }),
            shutdown: (timeoutMs, reason) => void stop(reason, timeoutMs, EXECUTOR_EXIT.ok),
            disconnected: (reason) => void onDisconnected(reason),
          },
        });
      } catch (error) {
        if (isSparkMesosError(error, 'SM_ERR_DRIVER_LINK_REFUSED')) {
          log('error', (error as Error).message);
          return 'refused';
        }
        if (performance.now() + delayMs > deadlineMs) {
          log('error', `${(error as Error).message}; giving up after ${driverLostTimeoutMs} ms`);
          return 'timeout';
        }
        log('warn', `${(error as Error).message}; retrying in ${delayMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        delayMs = Math.min(delayMs * 2, 2000);
        if (stopping !== undefined) return 'timeout';
      }
    }
  }

  async function establish(): Promise<void> {
    const result = await connectUntil(performance.now() + driverLostTimeoutMs);
    if (result === 'refused') {
      await stop('the driver refused this executor', 0, EXECUTOR_EXIT.refused);
      return;
    }
    if (result === 'timeout') {
      await stop(`the driver at ${options.driver.host}:${options.driver.port} is gone`, 0, EXECUTOR_EXIT.driverLost);
      return;
    }
    if (stopping !== undefined) {
      await result.close(stopping);
      return;
    }
    link = result;
    log(
      'info',
      `registered with the driver at ${options.driver.host}:${options.driver.port} (${slots} slots, worker heap ${heapLimitMiB} MiB)`,
    );
  }

  async function onDisconnected(reason: string): Promise<void> {
    link = undefined;
    if (stopping !== undefined) return;
    // The driver treats this executor as lost and runs its tasks elsewhere: stop them now.
    log(
      'warn',
      `lost the driver link (${reason}); killing ${running.size} running tasks and reconnecting for up to ${driverLostTimeoutMs} ms`,
    );
    for (const taskId of running) runner.kill(taskId, `the driver link was lost: ${reason}`);
    await establish();
  }

  void options.stopSignal?.then((reason) => stop(reason, 0, EXECUTOR_EXIT.ok));
  log(
    'info',
    `coarse executor starting: driver ${options.driver.host}:${options.driver.port}, ${options.cores} cores, ${options.memoryMiB} MiB`,
  );
  await establish();
  return exit;
}
