// The real packed fine-grained executor across an agent restart on mesos-local, with framework
// checkpointing: the agent restarts (its `restartAgent` test hook, Mesos' --recover=reconnect)
// while a task runs; the executor process keeps running, subscribes again with its unacknowledged
// task and updates, and the task finishes with its result, every update reaching the framework.
// The restart needs the hook, so against a real master (SPARK_MESOS_TEST_MASTER) it is skipped.
import { deserialize, serialize } from 'node:v8';
import type { ExecutorInfo, TaskStatus } from '@spark-mesos/mesos-client';
import { type LocalCluster, startLocalCluster } from '@spark-mesos/mesos-local';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAppSecret } from './app-secret.js';
import {
  realMaster,
  type ServedExecutor,
  serveExecutorPackage,
  TASK_WAIT_MS,
  TestFramework,
  take,
  uniqueId,
} from './executor.test-support.js';
import { buildExecutorCommand } from './executor-command.js';
import { encodeFineExecutorData, encodeFineTask } from './fine-task.js';
import { createDriverEndpoint } from './protocol/driver-endpoint.js';
import { decodeFineStatusData } from './protocol/fine-status-data.js';

/** The scenario restarts an agent through mesos-local's hook, which a real master has not. */
const hooksUnavailable = realMaster !== undefined;
const TEST_TIMEOUT_MS = 3 * TASK_WAIT_MS;

let cluster: LocalCluster | undefined;
let served: ServedExecutor | undefined;
beforeAll(async () => {
  if (hooksUnavailable) return;
  [cluster, served] = await Promise.all([
    startLocalCluster({ agents: 1, heartbeatIntervalSeconds: 1, allocationIntervalMs: 50, statusUpdateRetryMs: 200 }),
    serveExecutorPackage(),
  ]);
});
afterAll(async () => {
  await served?.close();
  await cluster?.stop();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const uuidOf = (status: TaskStatus): string => Buffer.from(status.uuid ?? []).toString('hex');

describe('fine-grained executor across an agent restart (mesos-local hook)', () => {
  it.skipIf(hooksUnavailable)(
    'with checkpointing, the executor subscribes again to the restarted agent and the task finishes with its result; each update arrives once',
    async () => {
      const local = cluster as LocalCluster;
      const secret = createAppSecret();
      const endpoint = await createDriverEndpoint({ secret, host: '127.0.0.1', log: () => {} });
      cleanups.push(() => endpoint.close());
      const framework = new TestFramework(local.masterUrl, 'agent restart', { checkpoint: true });
      cleanups.push(() => framework.close());
      await framework.start();
      const taskId = uniqueId('survivor');
      const executorId = uniqueId('fine');
      const [task] = await framework.launch(0.2, 224, (offer) => {
        const executor: ExecutorInfo = {
          executor_id: { value: executorId },
          name: 'spark-mesos fine-grained executor (agent restart test)',
          command: buildExecutorCommand({
            mode: 'fine',
            executorUri: (served as ServedExecutor).uri,
            appSecret: secret,
          }),
          data: encodeFineExecutorData({ driver: endpoint.address, statusDataLimitBytes: 1024, slots: 1 }),
          resources: [...take(offer, 'cpus', 0.1), ...take(offer, 'mem', 192)],
        };
        return [
          {
            name: 'fine task across an agent restart',
            task_id: { value: taskId },
            agent_id: offer.agent_id,
            resources: [...take(offer, 'cpus', 0.1), ...take(offer, 'mem', 32)],
            executor,
            // Long enough to still run when the agent is back, short enough for the test.
            data: encodeFineTask({
              taskId,
              stageId: 1,
              partition: 0,
              attempt: 0,
              function: {
                kind: 'source',
                source: '(x) => new Promise((resolve) => setTimeout(() => resolve(x * 2), 2000))',
              },
              captured: serialize(undefined),
              input: serialize(21),
            }),
          },
        ];
      });
      const agentId = task?.agent_id.value as string;
      const running = await framework.waitForState(taskId, ['TASK_RUNNING']);
      const executorPid = running.container_status?.executor_pid;
      const agentUrl = local.agents[0]?.url;

      await local.hooks.restartAgent(agentId);
      expect(local.agents[0]?.url).toBe(agentUrl);

      const finished = await framework.waitForTerminal(taskId);
      expect(finished.state, `${finished.state}: ${finished.message} (${finished.reason})`).toBe('TASK_FINISHED');
      const data = decodeFineStatusData(finished.data as Uint8Array);
      expect(data.outcome.state).toBe('finished');
      expect(deserialize((data.outcome as { result: Uint8Array }).result)).toBe(42);
      // The same executor process ran the task to its end: it was recovered, not started again.
      expect(finished.container_status?.executor_pid).toBe(executorPid);

      // Let a re-sent duplicate show up, if any (re-sends come every statusUpdateRetryMs).
      await new Promise((resolve) => setTimeout(resolve, 600));
      const statuses = framework.statuses(taskId);
      const distinct = [...new Map(statuses.map((status) => [uuidOf(status), status.state])).values()];
      expect(distinct).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
      // An update acknowledged before the restart is never sent again; the one in flight at the
      // restart may be re-sent once, with its uuid (Mesos' at-least-once delivery).
      const beforeRestart = statuses.indexOf(running);
      const repeats = statuses.slice(beforeRestart + 1).filter((status) => status.state !== 'TASK_FINISHED');
      expect(repeats.every((status) => uuidOf(status) === uuidOf(running))).toBe(true);
      expect(statuses.filter((status) => status.state === 'TASK_FINISHED')).toHaveLength(1);

      // The agent knows the executor under its id, still running and subscribed.
      const state = (await (await fetch(`${agentUrl}/state`)).json()) as {
        frameworks: Array<{ executors: Array<{ id: string }> }>;
      };
      expect(state.frameworks.flatMap((entry) => entry.executors.map((executor) => executor.id))).toEqual([executorId]);
    },
    TEST_TIMEOUT_MS,
  );
});
