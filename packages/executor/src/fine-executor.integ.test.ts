// Fine-grained executors end to end: one custom Mesos executor per agent and application, fetched
// from the packed executor over HTTP and started by the agent; each task a TaskSpec in
// TaskInfo.data, its outcome in TaskStatus.data (or over the driver link when large). Runs against
// mesos-local or, unchanged, the real master named by SPARK_MESOS_TEST_MASTER.
import { deserialize, serialize } from 'node:v8';
import type { ExecutorInfo, TaskInfo, TaskStatus } from '@spark-mesos/mesos-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAppSecret } from './app-secret.js';
import {
  type ServedExecutor,
  serveExecutorPackage,
  startTestMaster,
  TASK_WAIT_MS,
  TestFramework,
  type TestMaster,
  take,
  targetName,
  uniqueId,
} from './executor.test-support.js';
import { buildExecutorCommand } from './executor-command.js';
import { encodeFineExecutorData, encodeFineTask } from './fine-task.js';
import { createDriverEndpoint, type DriverEndpoint } from './protocol/driver-endpoint.js';
import { decodeFineStatusData, type FineStatusData } from './protocol/fine-status-data.js';
import type { TaskOutcome, TaskSpec } from './task-spec.js';

const TEST_TIMEOUT_MS = 3 * TASK_WAIT_MS;
const EXECUTOR_CPUS = 0.1;
const EXECUTOR_MEM_MIB = 192;
const TASK_CPUS = 0.1;
const TASK_MEM_MIB = 32;
const STATUS_DATA_LIMIT = 1024;

let master: TestMaster;
let served: ServedExecutor;
beforeAll(async () => {
  [master, served] = await Promise.all([startTestMaster(), serveExecutorPackage()]);
});
afterAll(async () => {
  await served?.close();
  await master?.stop();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

interface App {
  framework: TestFramework;
  endpoint: DriverEndpoint;
  secret: Uint8Array;
  executor: ExecutorInfo;
  outcomes: Map<string, TaskOutcome>;
  refused: string[];
  agentId: string | undefined;
}

async function startApp(name: string, options: { executorSecret?: Uint8Array } = {}): Promise<App> {
  const secret = createAppSecret();
  const endpoint = await createDriverEndpoint({ secret, host: '127.0.0.1', log: () => {} });
  cleanups.push(() => endpoint.close());
  const framework = new TestFramework(master.url, name);
  cleanups.push(() => framework.close());
  await framework.start();
  const app: App = {
    framework,
    endpoint,
    secret,
    outcomes: new Map(),
    refused: [],
    agentId: undefined,
    executor: {
      executor_id: { value: uniqueId('fine') },
      name: 'spark-mesos fine-grained executor (test)',
      command: buildExecutorCommand({
        mode: 'fine',
        executorUri: served.uri,
        appSecret: options.executorSecret ?? secret,
      }),
      data: encodeFineExecutorData({ driver: endpoint.address, statusDataLimitBytes: STATUS_DATA_LIMIT, slots: 2 }),
    },
  };
  endpoint.on('taskOutcome', (event) => app.outcomes.set(event.taskId, event.outcome));
  endpoint.on('connectionRefused', (event) => app.refused.push(event.reason));
  return app;
}

function spec(taskId: string, source: string, input: unknown = null): TaskSpec {
  return {
    taskId,
    stageId: 2,
    partition: 0,
    attempt: 0,
    function: { kind: 'source', source },
    captured: serialize(undefined),
    input: serialize(input),
  };
}

/** Launches tasks on the app's executor (one per agent: later launches go to the same agent). */
async function launch(app: App, specs: TaskSpec[]): Promise<TaskInfo[]> {
  const first = app.agentId === undefined;
  const cpus = specs.length * TASK_CPUS + (first ? EXECUTOR_CPUS : 0);
  const mem = specs.length * TASK_MEM_MIB + (first ? EXECUTOR_MEM_MIB : 0);
  const tasks = await app.framework.launch(
    cpus,
    mem,
    (offer) => {
      const executor: ExecutorInfo = first
        ? {
            ...app.executor,
            resources: [...take(offer, 'cpus', EXECUTOR_CPUS), ...take(offer, 'mem', EXECUTOR_MEM_MIB)],
          }
        : app.executor;
      if (first) app.executor = executor;
      return specs.map((task) => ({
        name: `fine task ${task.taskId}`,
        task_id: { value: task.taskId },
        agent_id: offer.agent_id,
        resources: [...take(offer, 'cpus', TASK_CPUS), ...take(offer, 'mem', TASK_MEM_MIB)],
        executor,
        data: encodeFineTask(task),
      }));
    },
    app.agentId,
  );
  app.agentId = tasks[0]?.agent_id.value;
  return tasks;
}

function statusData(status: TaskStatus): FineStatusData {
  expect(status.data, `${status.state}: ${status.message}`).toBeInstanceOf(Uint8Array);
  return decodeFineStatusData(status.data as Uint8Array);
}

describe(`fine-grained executor against ${targetName}`, () => {
  it(
    'runs tasks on one reused executor: STARTING, RUNNING, FINISHED with the result; large results over the driver link; failures whole',
    async () => {
      const app = await startApp('fine run');
      const [first] = await launch(app, [spec('fine-a', '(x) => x * 2', 21)]);
      const finished = await app.framework.waitForTerminal('fine-a');
      expect(app.framework.statuses('fine-a').map((status) => status.state)).toEqual([
        'TASK_STARTING',
        'TASK_RUNNING',
        'TASK_FINISHED',
      ]);
      const data = statusData(finished);
      expect(data.outcome.state).toBe('finished');
      expect(deserialize((data.outcome as { result: Uint8Array }).result)).toBe(42);
      expect(finished.executor_id?.value).toBe(app.executor.executor_id.value);

      const big = 'x'.repeat(4 * STATUS_DATA_LIMIT);
      await launch(app, [
        spec('fine-big', '(n) => "x".repeat(n)', big.length),
        {
          ...spec('fine-module', ''),
          function: { kind: 'module', module: 'executor-test-app', export: 'hello' },
          input: serialize('fine'),
        },
        spec('fine-crash', '() => { console.error("about to crash"); throw new RangeError("index 9 out of range"); }'),
      ]);
      const bigStatus = await app.framework.waitForTerminal('fine-big');
      expect(bigStatus.state, bigStatus.message).toBe('TASK_FINISHED');
      expect(statusData(bigStatus)).toMatchObject({ resultVia: 'driver-link', resultBytes: serialize(big).byteLength });
      const overLink = app.outcomes.get('fine-big');
      expect(overLink?.state === 'finished' && deserialize(overLink.result)).toBe(big);

      const moduleStatus = await app.framework.waitForTerminal('fine-module');
      const moduleData = statusData(moduleStatus).outcome;
      expect('result' in moduleData && deserialize(moduleData.result)).toBe('hello fine from partition 0');

      const crash = await app.framework.waitForTerminal('fine-crash');
      expect(crash.state).toBe('TASK_FAILED');
      expect(crash.message).toBe('RangeError: index 9 out of range');
      expect(statusData(crash).outcome).toMatchObject({
        state: 'failed',
        error: { name: 'RangeError', stack: expect.stringContaining('index 9 out of range') },
        outputTail: 'about to crash\n',
      });
      // Every task ran in the executor launched with the first one.
      for (const taskId of ['fine-big', 'fine-module', 'fine-crash']) {
        expect(app.framework.statuses(taskId)[0]?.executor_id?.value).toBe(app.executor.executor_id.value);
        expect(app.framework.statuses(taskId)[0]?.agent_id?.value).toBe(first?.agent_id.value);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'on KILL asks the task to stop and stops it at the end of the kill policy grace period, and keeps serving',
    async () => {
      const app = await startApp('fine kill');
      const [forever] = await launch(app, [spec('fine-forever', '() => { for (;;) {} }')]);
      await app.framework.waitForState('fine-forever', ['TASK_RUNNING']);
      await app.framework.client.kill({
        task_id: { value: 'fine-forever' },
        agent_id: forever?.agent_id,
        kill_policy: { grace_period: { nanoseconds: 300_000_000 } },
      });
      const killed = await app.framework.waitForTerminal('fine-forever');
      expect(killed.state, killed.message).toBe('TASK_KILLED');
      expect(killed.message).toContain('killed by the framework');
      // A task that listens to context.signal ends at once, well inside a long grace period.
      const [polite] = await launch(app, [
        spec(
          'fine-polite',
          '(x, c, context) => new Promise((resolve, reject) => context.signal.addEventListener("abort", () => reject(context.signal.reason)))',
        ),
      ]);
      await app.framework.waitForState('fine-polite', ['TASK_RUNNING']);
      await app.framework.client.kill({
        task_id: { value: 'fine-polite' },
        agent_id: polite?.agent_id,
        kill_policy: { grace_period: { nanoseconds: 60_000_000_000 } },
      });
      const politeKilled = await app.framework.waitForTerminal('fine-polite', 20_000);
      expect(politeKilled.state, politeKilled.message).toBe('TASK_KILLED');
      await launch(app, [spec('fine-after', '() => "after"')]);
      const after = await app.framework.waitForTerminal('fine-after');
      expect(after.state, after.message).toBe('TASK_FINISHED');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'kills running tasks on SHUTDOWN, within the shutdown grace period (TASK_KILLED)',
    async () => {
      const app = await startApp('fine shutdown');
      const [forever] = await launch(app, [spec('fine-shutdown', '() => { for (;;) {} }')]);
      await app.framework.waitForState('fine-shutdown', ['TASK_RUNNING']);
      await app.framework.client.shutdown({
        executor_id: app.executor.executor_id,
        agent_id: forever?.agent_id as { value: string },
      });
      const killed = await app.framework.waitForTerminal('fine-shutdown');
      expect(killed.state, killed.message).toBe('TASK_KILLED');
      expect(killed.source).toBe('SOURCE_EXECUTOR');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails a large result when the executor cannot prove the secret to the driver (refused, logged)',
    async () => {
      const app = await startApp('fine wrong secret', { executorSecret: createAppSecret() });
      await launch(app, [spec('fine-refused', '() => "y".repeat(5000)')]);
      const failed = await app.framework.waitForTerminal('fine-refused');
      expect(failed.state).toBe('TASK_FAILED');
      expect(failed.message).toMatch(/over the status-data limit of 1024 bytes and the driver link failed: .*refused/);
      expect(statusData(failed).outcome).toMatchObject({
        state: 'failed',
        error: { code: 'SM_ERR_RESULT_UNDELIVERABLE' },
      });
      expect(app.refused).toContainEqual(expect.stringContaining('did not prove it holds the application secret'));
      expect(app.outcomes.size).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails a large result when the driver is gone, and keeps serving small ones',
    async () => {
      const app = await startApp('fine lost driver');
      await launch(app, [spec('fine-small', '() => 1')]);
      expect((await app.framework.waitForTerminal('fine-small')).state).toBe('TASK_FINISHED');
      await app.endpoint.close();
      await launch(app, [spec('fine-orphan', '() => "z".repeat(5000)'), spec('fine-small-2', '() => 2')]);
      const orphan = await app.framework.waitForTerminal('fine-orphan');
      expect(orphan.state).toBe('TASK_FAILED');
      expect(orphan.message).toMatch(/the driver link failed/);
      expect((await app.framework.waitForTerminal('fine-small-2')).state).toBe('TASK_FINISHED');
    },
    TEST_TIMEOUT_MS,
  );
});
