// The program an agent runs: `node bin/spark-mesos-executor --mode coarse|fine …` (contract §2).
// Built into lib/spark-mesos-executor.mjs of the runtime directory with every dependency bundled,
// so it runs with nothing but Node 20 from an extracted package.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executorConfigFromEnv } from '@spark-mesos/mesos-client';
import { takeAppSecret } from '../app-secret.js';
import { EXECUTOR_EXIT, runCoarseExecutor } from '../coarse-executor.js';
import { parseExecutorArgs } from '../executor-args.js';
import { createExecutorLog } from '../executor-log.js';
import { runFineExecutor } from '../fine-executor.js';

// The package top: lib/ (this bundle) and bin/ sit in it, app/ too when the application ships.
const packageTop = dirname(dirname(fileURLToPath(import.meta.url)));

function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

async function main(): Promise<number> {
  const bootLog = createExecutorLog(process.env.MESOS_EXECUTOR_ID ?? 'starting');
  let args: ReturnType<typeof parseExecutorArgs>;
  let secret: Uint8Array;
  try {
    args = parseExecutorArgs(process.argv.slice(2));
    // Read and removed before any task code runs (workers copy the environment when they start).
    secret = takeAppSecret(process.env);
  } catch (error) {
    bootLog('error', (error as Error).message);
    return EXECUTOR_EXIT.badArgs;
  }
  const shippedApp = join(packageTop, 'app');
  const appDirectory = args.appDirectory ?? (existsSync(join(shippedApp, 'package.json')) ? shippedApp : undefined);
  const common = {
    secret,
    stopSignal: stopSignal(),
    ...(appDirectory === undefined ? {} : { appDirectory }),
    ...(args.taskTimeoutMs === undefined ? {} : { taskTimeoutMs: args.taskTimeoutMs }),
  };
  if (args.mode === 'coarse') {
    const agentId = args.agentId ?? process.env.MESOS_AGENT_ID ?? process.env.MESOS_SLAVE_ID;
    return runCoarseExecutor({
      ...common,
      driver: args.driver,
      executorId: args.executorId,
      cores: args.cores,
      memoryMiB: args.memoryMiB,
      taskCpus: args.taskCpus,
      driverLostTimeoutMs: args.driverLostTimeoutMs,
      heartbeatIntervalMs: args.heartbeatIntervalMs,
      ...(args.hostname === undefined ? {} : { hostname: args.hostname }),
      ...(agentId === undefined ? {} : { agentId }),
      log: createExecutorLog(args.executorId),
    });
  }
  let config: ReturnType<typeof executorConfigFromEnv>;
  try {
    config = executorConfigFromEnv((name) => process.env[name]);
  } catch (error) {
    bootLog('error', (error as Error).message);
    return EXECUTOR_EXIT.badArgs;
  }
  return runFineExecutor({ ...common, config, log: createExecutorLog(config.executorId) });
}

main().then(
  (code) => {
    process.exitCode = code;
    // Nothing else should keep the process: exit even if a user's handle lingers.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    process.stderr.write(`spark-mesos-executor crashed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(70);
  },
);
