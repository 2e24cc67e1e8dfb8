import { parseArgs } from 'node:util';
import { SparkMesosError } from '@spark-mesos/errors';

/** The flags of `bin/spark-mesos-executor`, parsed. */
export type ExecutorArgs =
  | {
      mode: 'coarse';
      /** `--driver host:port` */
      driver: { host: string; port: number };
      /** `--executor-id` */
      executorId: string;
      /** `--cores` @default 1 */
      cores: number;
      /** `--memory` in MiB @default 1024 */
      memoryMiB: number;
      /** `--task-cpus` @default 1 */
      taskCpus: number;
      /** `--hostname` (else `HOST`, else the machine's hostname) */
      hostname?: string;
      /** `--agent-id` (else `MESOS_SLAVE_ID`/`MESOS_AGENT_ID`) */
      agentId?: string;
      /** `--driver-lost-timeout-ms`: exit when the driver is unreachable this long. @default 30000 */
      driverLostTimeoutMs: number;
      /** `--heartbeat-interval-ms` @default 2000 */
      heartbeatIntervalMs: number;
      /** `--app-dir` (else `app/` beside `bin/` when it exists) */
      appDirectory?: string;
      /** `--task-timeout-ms` @default none */
      taskTimeoutMs?: number;
    }
  | {
      mode: 'fine';
      /** `--app-dir` */
      appDirectory?: string;
      /** `--task-timeout-ms` */
      taskTimeoutMs?: number;
    };

function bad(message: string, cause: unknown): SparkMesosError {
  return new SparkMesosError('SM_ERR_BAD_EXECUTOR_ARGS', message, { cause });
}

function positive(name: string, text: string | undefined, fallback: number, integer = false): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw bad(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`, { [name]: text });
  }
  return value;
}

/** Parses `host:port` or `[ipv6]:port`. */
export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || port < 1 || port > 65535) {
    throw bad(`--driver must be host:port (e.g. driver.example:7077), got "${text}"`, { driver: text });
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

/**
 * Parses the flags of `bin/spark-mesos-executor` (contract §2).
 * @throws SparkMesosError `SM_ERR_BAD_EXECUTOR_ARGS` naming the flag, its value and the fix.
 */
export function parseExecutorArgs(argv: readonly string[]): ExecutorArgs {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        mode: { type: 'string' },
        driver: { type: 'string' },
        'executor-id': { type: 'string' },
        cores: { type: 'string' },
        memory: { type: 'string' },
        'task-cpus': { type: 'string' },
        hostname: { type: 'string' },
        'agent-id': { type: 'string' },
        'driver-lost-timeout-ms': { type: 'string' },
        'heartbeat-interval-ms': { type: 'string' },
        'app-dir': { type: 'string' },
        'task-timeout-ms': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | undefined>;
  } catch (error) {
    throw bad(`bad flags for spark-mesos-executor: ${(error as Error).message}`, error);
  }
  const taskTimeout = values['task-timeout-ms'];
  const common = {
    ...(values['app-dir'] === undefined ? {} : { appDirectory: values['app-dir'] }),
    ...(taskTimeout === undefined ? {} : { taskTimeoutMs: positive('task-timeout-ms', taskTimeout, 0, true) }),
  };
  if (values.mode === 'fine') return { mode: 'fine', ...common };
  if (values.mode !== 'coarse') {
    throw bad(`--mode must be coarse or fine, got "${values.mode ?? ''}"`, { mode: values.mode });
  }
  if (values.driver === undefined) throw bad('--driver host:port is required in coarse mode', { driver: undefined });
  const executorId = values['executor-id'];
  if (executorId === undefined || executorId === '') {
    throw bad('--executor-id is required in coarse mode', { executorId });
  }
  const cores = positive('cores', values.cores, 1);
  const taskCpus = positive('task-cpus', values['task-cpus'], 1);
  if (Math.floor(cores / taskCpus) < 1) {
    throw bad(`--cores ${cores} / --task-cpus ${taskCpus} leaves no room for a task`, { cores, taskCpus });
  }
  return {
    mode: 'coarse',
    driver: parseHostPort(values.driver),
    executorId,
    cores,
    memoryMiB: positive('memory', values.memory, 1024),
    taskCpus,
    ...(values.hostname === undefined ? {} : { hostname: values.hostname }),
    ...(values['agent-id'] === undefined ? {} : { agentId: values['agent-id'] }),
    driverLostTimeoutMs: positive('driver-lost-timeout-ms', values['driver-lost-timeout-ms'], 30_000, true),
    heartbeatIntervalMs: positive('heartbeat-interval-ms', values['heartbeat-interval-ms'], 2000, true),
    ...common,
  };
}
