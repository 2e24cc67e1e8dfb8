import { availableParallelism, hostname as osHostname } from 'node:os';
import {
  createExecutorClient,
  type ExecutorClient,
  type ExecutorConfig,
  type TaskInfo,
  type TaskState,
} from '@spark-mesos/mesos-client';
import type { ExecutorLog } from './executor-log.js';
import { decodeFineExecutorData, decodeFineTask, type FineExecutorData } from './fine-task.js';
import { connectDriverLink, type ExecutorLink } from './protocol/executor-link.js';
import {
  DEFAULT_STATUS_DATA_LIMIT_BYTES,
  encodeFineStatusData,
  type FineStatusData,
} from './protocol/fine-status-data.js';
import { createTaskRunner, type TaskRunner } from './task-runner.js';
import type { TaskOutcome } from './task-spec.js';

/** Options of {@link runFineExecutor}. */
export interface FineExecutorOptions {
  /** The `MESOS_*` configuration (from `executorConfigFromEnv`). */
  config: ExecutorConfig;
  /** The application secret (from `SPARK_MESOS_APP_SECRET`), for the driver link. */
  secret: Uint8Array;
  /** Where module tasks resolve. @default undefined */
  appDirectory?: string;
  /** Kill tasks running longer than this. @default undefined (no limit) */
  taskTimeoutMs?: number;
  /** The executor's own log. */
  log: ExecutorLog;
  /** Resolves to stop the executor (e.g. on SIGTERM). */
  stopSignal?: Promise<string>;
}

interface RunningTask {
  readonly info: TaskInfo;
  /** Whether its spec reached the runner (a KILL before that ends it at once). */
  started: boolean;
}

const NANOSECONDS_PER_MS = 1_000_000;

/**
 * A fine-grained executor: a custom Mesos executor over the v1 executor API, one per agent and
 * application, running each LAUNCHed task (a {@link TaskSpec} in `TaskInfo.data`) through the
 * task runner and answering TASK_STARTING, TASK_RUNNING and a terminal update whose `data` holds
 * the outcome — or, for a result over the status-data limit, a note that the result went to the
 * driver over the driver link. Resolves to the exit code.
 */
export async function runFineExecutor(options: FineExecutorOptions): Promise<number> {
  const { log, config } = options;
  const client: ExecutorClient = createExecutorClient({
    config,
    logger: {
      info: (message) => log('info', message),
      warn: (message) => log('warn', message),
    },
  });
  const running = new Map<string, RunningTask>();
  // KILLs that arrive between LAUNCH and the task reaching the runner.
  const killedEarly = new Map<string, string>();
  let settings: FineExecutorData = {};
  let runner: TaskRunner | undefined;
  let driverLink: Promise<ExecutorLink> | undefined;
  let shuttingDown = false;
  let limit = DEFAULT_STATUS_DATA_LIMIT_BYTES;

  function taskRunner(): TaskRunner {
    runner ??= createTaskRunner({
      slots: settings.slots ?? availableParallelism(),
      ...(settings.heapLimitMiB === undefined ? {} : { heapLimitMiB: settings.heapLimitMiB }),
      ...(options.appDirectory === undefined ? {} : { appDirectory: options.appDirectory }),
      ...(options.taskTimeoutMs === undefined ? {} : { taskTimeoutMs: options.taskTimeoutMs }),
    });
    return runner;
  }

  async function update(info: TaskInfo, state: TaskState, message?: string, data?: Uint8Array): Promise<void> {
    try {
      await client.update({
        task_id: info.task_id,
        state,
        ...(message === undefined ? {} : { message }),
        ...(data === undefined ? {} : { data }),
      });
    } catch (error) {
      // Kept queued by the client for the next SUBSCRIBE when the agent is away.
      log('warn', `status update ${state} of task ${info.task_id.value} not sent yet: ${(error as Error).message}`);
    }
  }

  function link(): Promise<ExecutorLink> {
    const driver = settings.driver;
    if (driver === undefined) {
      return Promise.reject(
        new Error('ExecutorInfo.data names no driver address for results over the status-data limit'),
      );
    }
    driverLink ??= connectDriverLink({
      driver,
      secret: options.secret,
      registration: {
        executorId: config.executorId,
        hostname: process.env.HOST ?? osHostname(),
        agentId: client.subscribed?.agent_info.id?.value ?? process.env.MESOS_SLAVE_ID ?? '',
        cores: 0,
        memoryMiB: 0,
        mode: 'fine',
        slots: settings.slots ?? availableParallelism(),
        pid: process.pid,
      },
      log,
      handlers: {
        launch: () =>
          log(
            'warn',
            'the driver sent tasks over the link to a fine-grained executor; ignored (tasks come from Mesos)',
          ),
        kill: () => {},
        shutdown: () => {},
        disconnected: () => {
          driverLink = undefined;
        },
      },
    }).catch((error: unknown) => {
      driverLink = undefined;
      throw error;
    });
    return driverLink;
  }

  async function finish(task: RunningTask, outcome: TaskOutcome): Promise<void> {
    try {
      await report(task, outcome);
    } finally {
      // Only now: a SHUTDOWN waits for `running` to empty, and the update must be out by then.
      running.delete(task.info.task_id.value);
    }
  }

  async function report(task: RunningTask, outcome: TaskOutcome): Promise<void> {
    const taskId = task.info.task_id.value;
    if (outcome.state === 'finished') {
      if (outcome.result.byteLength <= limit) {
        log('info', `task ${taskId} finished in ${outcome.durationMs.toFixed(1)} ms`);
        await update(task.info, 'TASK_FINISHED', undefined, encodeFineStatusData({ version: 1, outcome }));
        return;
      }
      try {
        const established = await link();
        established.sendOutcome(taskId, outcome);
        const { result, ...rest } = outcome;
        const data: FineStatusData = {
          version: 1,
          resultVia: 'driver-link',
          resultBytes: result.byteLength,
          outcome: rest,
        };
        log(
          'info',
          `task ${taskId} finished in ${outcome.durationMs.toFixed(1)} ms; its ${result.byteLength}-byte result went over the driver link`,
        );
        await update(
          task.info,
          'TASK_FINISHED',
          `result of ${result.byteLength} bytes sent over the driver link`,
          encodeFineStatusData(data),
        );
      } catch (error) {
        const message = `the result of task ${taskId} (${outcome.result.byteLength} bytes) is over the status-data limit of ${limit} bytes and the driver link failed: ${(error as Error).message}`;
        log('error', message);
        const failed: TaskOutcome = {
          state: 'failed',
          error: { name: 'SparkMesosError', code: 'SM_ERR_RESULT_UNDELIVERABLE', message },
          durationMs: outcome.durationMs,
          outputTail: outcome.outputTail,
        };
        await update(task.info, 'TASK_FAILED', message, encodeFineStatusData({ version: 1, outcome: failed }));
      }
      return;
    }
    if (outcome.state === 'failed') {
      const message = `${outcome.error.name}: ${outcome.error.message}`;
      log('warn', `task ${taskId} failed: ${message}`);
      await update(task.info, 'TASK_FAILED', message, encodeFineStatusData({ version: 1, outcome }));
      return;
    }
    log('warn', `task ${taskId} killed: ${outcome.reason}`);
    await update(task.info, 'TASK_KILLED', outcome.reason, encodeFineStatusData({ version: 1, outcome }));
  }

  async function launch(info: TaskInfo): Promise<void> {
    const taskId = info.task_id.value;
    if (running.has(taskId)) return;
    if (shuttingDown) {
      await update(info, 'TASK_KILLED', 'the executor is shutting down');
      return;
    }
    const task: RunningTask = { info, started: false };
    running.set(taskId, task);
    await update(info, 'TASK_STARTING');
    let spec: ReturnType<typeof decodeFineTask>;
    try {
      spec = decodeFineTask(info.data);
    } catch (error) {
      const plain = { name: 'SparkMesosError', code: 'SM_ERR_TASK_BAD_PAYLOAD', message: (error as Error).message };
      await finish(task, { state: 'failed', error: plain, durationMs: 0, outputTail: '' });
      return;
    }
    if (await endedByEarlyKill(task)) return;
    await update(info, 'TASK_RUNNING');
    // A KILL may have come while the update was on its way; from here on it reaches the runner.
    if (await endedByEarlyKill(task)) return;
    task.started = true;
    const outcome = await taskRunner().run({ ...spec, taskId });
    await finish(task, outcome);
  }

  async function endedByEarlyKill(task: RunningTask): Promise<boolean> {
    const reason = killedEarly.get(task.info.task_id.value);
    if (reason === undefined) return false;
    killedEarly.delete(task.info.task_id.value);
    await finish(task, { state: 'killed', reason, durationMs: 0, outputTail: '' });
    return true;
  }

  function kill(taskId: string, gracePeriodMs: number, reason: string): void {
    const task = running.get(taskId);
    if (task === undefined) {
      log('info', `KILL of task ${taskId}, which is not running here; ignored`);
      return;
    }
    if (!task.started) {
      killedEarly.set(taskId, reason);
      return;
    }
    // The task's context.signal aborts now; its worker is terminated if it still runs after
    // the grace period (a synchronous loop cannot notice the signal).
    log('info', `killing task ${taskId} (grace ${gracePeriodMs} ms)`);
    runner?.kill(taskId, reason, { graceMs: gracePeriodMs });
  }

  let resolveExit: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });

  async function shutdown(reason: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    // A task cannot clean up (it is a function in a worker), so waiting would only delay the
    // TASK_KILLED updates, which must reach the agent before its grace period ends.
    log(
      'info',
      `shutting down: ${reason} (killing ${running.size} running tasks; agent grace period ${config.shutdownGracePeriodMs} ms)`,
    );
    for (const task of running.values()) kill(task.info.task_id.value, 0, `the executor is shutting down: ${reason}`);
    while (running.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await runner?.close();
    const established = await driverLink?.catch(() => undefined);
    await established?.close(reason);
    await client.close();
    resolveExit(0);
  }

  client.on('SUBSCRIBED', (event) => {
    try {
      settings = decodeFineExecutorData(event.subscribed.executor_info.data);
    } catch (error) {
      log('error', (error as Error).message);
    }
    limit = settings.statusDataLimitBytes ?? DEFAULT_STATUS_DATA_LIMIT_BYTES;
    log('info', `subscribed with the agent (${running.size} tasks running, status-data limit ${limit} bytes)`);
  });
  client.on('LAUNCH', (event) => {
    void launch(event.launch.task);
  });
  client.on('LAUNCH_GROUP', (event) => {
    for (const task of event.launch_group.task_group.tasks ?? []) {
      void update(task, 'TASK_FAILED', 'spark-mesos executors do not run task groups; launch tasks one by one');
    }
  });
  client.on('KILL', (event) => {
    const nanoseconds = event.kill.kill_policy?.grace_period?.nanoseconds ?? 0;
    kill(event.kill.task_id.value, nanoseconds / NANOSECONDS_PER_MS, 'killed by the framework (KILL)');
  });
  client.on('SHUTDOWN', () => {
    void shutdown('the agent sent SHUTDOWN');
  });
  client.on('ERROR', (event) => log('error', `the agent sent ERROR: ${event.error.message}`));
  void options.stopSignal?.then((reason) => shutdown(reason));
  void client.done.then((end) => {
    if (end.outcome === 'closed') return;
    log(end.outcome === 'failed' ? 'error' : 'info', `executor client ended (${end.outcome}): ${end.reason}`);
    if (end.outcome === 'shutdown') {
      void shutdown(end.reason);
      return;
    }
    // Without the agent there is no one to report to: stop the tasks and leave.
    shuttingDown = true;
    for (const task of running.values()) runner?.kill(task.info.task_id.value, `the agent is gone: ${end.reason}`);
    void (async () => {
      await runner?.close();
      resolveExit(end.outcome === 'failed' ? 1 : 0);
    })();
  });
  log(
    'info',
    `fine-grained executor ${config.executorId} of framework ${config.frameworkId} subscribing with ${config.agentUrl}`,
  );
  return exit;
}
