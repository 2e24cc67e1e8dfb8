// Coarse-grained executors end to end: the agent fetches the packed executor over HTTP, extracts
// it and starts `bin/spark-mesos-executor --mode coarse` as a Mesos command task; this test plays
// the driver with createDriverEndpoint. Runs against mesos-local or, unchanged, the real master
// named by SPARK_MESOS_TEST_MASTER (on this host; agents with Node 20 on PATH).
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';
import { readSandboxFile, type TaskInfo, virtualSandboxPath } from '@spark-mesos/mesos-client';
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
import type { RegisteredExecutor } from './protocol/driver-endpoint.js';
import { createDriverEndpoint, type DriverEndpoint } from './protocol/driver-endpoint.js';
import type { TaskOutcome, TaskSpec } from './task-spec.js';

const TEST_TIMEOUT_MS = 3 * TASK_WAIT_MS;
const EXECUTOR_MEM_MIB = 256;

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

interface Driver {
  endpoint: DriverEndpoint;
  secret: Uint8Array;
  logs: string[];
  outcomes: Map<string, TaskOutcome>;
  registered: RegisteredExecutor[];
  lost: Array<{ executorId: string; reason: string }>;
  refused: Array<{ remoteAddress: string; reason: string }>;
}

async function startDriver(): Promise<Driver> {
  const secret = createAppSecret();
  const logs: string[] = [];
  const endpoint = await createDriverEndpoint({
    secret,
    host: '127.0.0.1',
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: 5000,
    log: (level, message) => logs.push(`${level} ${message}`),
  });
  cleanups.push(() => endpoint.close());
  const driver: Driver = { endpoint, secret, logs, outcomes: new Map(), registered: [], lost: [], refused: [] };
  endpoint.on('taskOutcome', (event) => driver.outcomes.set(event.taskId, event.outcome));
  endpoint.on('executorRegistered', (event) => driver.registered.push(event));
  endpoint.on('executorLost', (event) => driver.lost.push(event));
  endpoint.on('connectionRefused', (event) => driver.refused.push(event));
  return driver;
}

async function startFramework(name: string): Promise<TestFramework> {
  const framework = new TestFramework(master.url, name);
  cleanups.push(() => framework.close());
  await framework.start();
  return framework;
}

function executorTask(
  framework: TestFramework,
  driver: Driver,
  options: {
    cores?: number;
    secret?: Uint8Array;
    driverAddress?: { host: string; port: number };
    extraFlags?: string[];
  } = {},
): Promise<{ task: TaskInfo; executorId: string }> {
  const cores = options.cores ?? 1;
  const executorId = uniqueId('exec');
  return framework
    .launch(cores, EXECUTOR_MEM_MIB, (offer) => [
      {
        name: 'spark-mesos coarse executor (test)',
        task_id: { value: executorId },
        agent_id: offer.agent_id,
        resources: [...take(offer, 'cpus', cores), ...take(offer, 'mem', EXECUTOR_MEM_MIB)],
        command: buildExecutorCommand({
          mode: 'coarse',
          executorUri: served.uri,
          driverAddress: options.driverAddress ?? driver.endpoint.address,
          executorId,
          cores,
          memoryMiB: EXECUTOR_MEM_MIB,
          appSecret: options.secret ?? driver.secret,
          extraFlags: options.extraFlags ?? [],
        }),
      },
    ])
    .then(([task]) => ({ task: task as TaskInfo, executorId }));
}

function sourceTask(taskId: string, source: string, input: unknown = null, partition = 0): TaskSpec {
  return {
    taskId,
    stageId: 1,
    partition,
    attempt: 0,
    function: { kind: 'source', source },
    captured: serialize(undefined),
    input: serialize(input),
  };
}

function until<T>(what: string, check: () => T | undefined, timeoutMs = TASK_WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      const value = check();
      if (value !== undefined) resolve(value);
      else if (Date.now() - started > timeoutMs) reject(new Error(`no ${what} within ${timeoutMs} ms`));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

function registrationOf(driver: Driver, executorId: string): Promise<RegisteredExecutor> {
  return until(`registration of ${executorId}`, () =>
    driver.registered.find((entry) => entry.executorId === executorId),
  );
}

function outcomeOf(driver: Driver, taskId: string): Promise<TaskOutcome> {
  return until(`outcome of ${taskId}`, () => driver.outcomes.get(taskId));
}

describe(`coarse-grained executor against ${targetName}`, () => {
  it(
    'registers, runs a batch (source, module, failing) at once, keeps the secret from user code, and stops when told',
    async () => {
      const driver = await startDriver();
      const framework = await startFramework('coarse run');
      const { task, executorId } = await executorTask(framework, driver, { cores: 2 });
      const registration = await registrationOf(driver, executorId);
      expect(registration).toMatchObject({
        executorId,
        mode: 'coarse',
        cores: 2,
        memoryMiB: EXECUTOR_MEM_MIB,
        slots: 2,
      });
      expect(registration.agentId).toBe(task.agent_id.value);
      await framework.waitForState(executorId, ['TASK_RUNNING']);

      driver.endpoint.launch(executorId, [
        sourceTask('double', '(x) => x * 2', 21),
        {
          ...sourceTask('module', ''),
          partition: 7,
          function: { kind: 'module', module: 'executor-test-app', export: 'hello' },
          input: serialize('mesos'),
        },
        sourceTask(
          'crash',
          '() => { console.log("before the crash"); throw new TypeError("partition 3 is corrupt"); }',
        ),
        sourceTask(
          'secret',
          '() => [process.env.SPARK_MESOS_APP_SECRET, Object.keys(process.env).filter((k) => k.includes("SECRET"))]',
        ),
      ]);
      const [double, module, crash, secret] = await Promise.all(
        ['double', 'module', 'crash', 'secret'].map((taskId) => outcomeOf(driver, taskId)),
      );
      expect(double?.state === 'finished' && deserialize(double.result)).toBe(42);
      expect(module?.state === 'finished' && deserialize(module.result)).toBe('hello mesos from partition 7');
      expect(crash).toMatchObject({
        state: 'failed',
        error: {
          name: 'TypeError',
          message: 'partition 3 is corrupt',
          stack: expect.stringContaining('partition 3 is corrupt'),
        },
        outputTail: 'before the crash\n',
      });
      expect(secret?.state === 'finished' && deserialize(secret.result)).toEqual([undefined, []]);

      // Many small batches, pipelined past the slots, all come back.
      const many = Array.from({ length: 200 }, (_, index) => sourceTask(`many-${index}`, '(x) => x + 1', index));
      for (let index = 0; index < many.length; index += 20)
        driver.endpoint.launch(executorId, many.slice(index, index + 20));
      await until('200 outcomes', () => (many.every((spec) => driver.outcomes.has(spec.taskId)) ? true : undefined));
      expect(
        many.map((spec) => {
          const outcome = driver.outcomes.get(spec.taskId);
          return outcome?.state === 'finished' ? deserialize(outcome.result) : outcome;
        }),
      ).toEqual(many.map((_, index) => index + 1));

      await driver.endpoint.shutdown(executorId, { timeoutMs: 2000 });
      expect(driver.lost).toContainEqual({ executorId, reason: 'shut down by the driver' });
      const terminal = await framework.waitForTerminal(executorId);
      expect(terminal.state, terminal.message).toBe('TASK_FINISHED');

      // The sandbox's stdout has the task's output with its id on the line.
      const agentUrl = await framework.agentUrl(task.agent_id.value);
      const frameworkId = framework.client.frameworkId;
      expect(agentUrl).toBeDefined();
      expect(frameworkId).toBeDefined();
      const stdout = await readSandboxFile(
        agentUrl as string,
        `${virtualSandboxPath(frameworkId as string, executorId)}/stdout`,
      );
      expect(stdout.data).toContain('[task crash] before the crash');
      const stderr = await readSandboxFile(
        agentUrl as string,
        `${virtualSandboxPath(frameworkId as string, executorId)}/stderr`,
      );
      // Finished tasks of one tick share a line: "tasks finished: a (1.0 ms), double (0.4 ms)".
      expect(stderr.data).toMatch(
        new RegExp(`INFO \\[executor ${executorId}\\] tasks? finished: (.*, )?double \\(\\d+\\.\\d ms\\)`),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'kills a task that never ends when the driver asks and keeps serving; a Mesos KILL stops the executor',
    async () => {
      const driver = await startDriver();
      const framework = await startFramework('coarse kill');
      const { task, executorId } = await executorTask(framework, driver);
      await registrationOf(driver, executorId);
      driver.endpoint.launch(executorId, [
        sourceTask('forever', '() => { for (;;) {} }'),
        sourceTask('next', '() => "next"'),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      driver.endpoint.kill(executorId, 'forever', 'stage cancelled');
      expect(await outcomeOf(driver, 'forever')).toMatchObject({ state: 'killed', reason: 'stage cancelled' });
      const next = await outcomeOf(driver, 'next');
      expect(next.state === 'finished' && deserialize(next.result)).toBe('next');

      driver.endpoint.launch(executorId, [sourceTask('forever-2', '() => { for (;;) {} }')]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await framework.client.kill({ task_id: task.task_id, agent_id: task.agent_id });
      const terminal = await framework.waitForTerminal(executorId);
      expect(terminal.state, terminal.message).toBe('TASK_KILLED');
      await until('executor lost', () => driver.lost.find((entry) => entry.executorId === executorId));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'exits when the driver has been gone longer than its timeout',
    async () => {
      const driver = await startDriver();
      // The executor reaches the driver through a proxy this test can pull out.
      const sockets = new Set<Socket>();
      const proxy: Server = createServer((client) => {
        const upstream = netConnect(driver.endpoint.address.port, '127.0.0.1');
        sockets.add(client);
        sockets.add(upstream);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
      const framework = await startFramework('coarse lost driver');
      const { executorId } = await executorTask(framework, driver, {
        driverAddress: { host: '127.0.0.1', port: (proxy.address() as { port: number }).port },
        extraFlags: ['--driver-lost-timeout-ms', '1500', '--heartbeat-interval-ms', '200'],
      });
      await registrationOf(driver, executorId);
      driver.endpoint.launch(executorId, [sourceTask('orphan', '() => { for (;;) {} }')]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      proxy.close();
      for (const socket of sockets) socket.destroy();
      const terminal = await framework.waitForTerminal(executorId);
      expect(terminal.state, terminal.message).toBe('TASK_FAILED');
      expect(terminal.message).toMatch(/status 1\b/);
      await until('executor lost', () => driver.lost.find((entry) => entry.executorId === executorId));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses an executor with the wrong secret, logged by the driver; the executor exits',
    async () => {
      const driver = await startDriver();
      const framework = await startFramework('coarse wrong secret');
      const { executorId } = await executorTask(framework, driver, { secret: createAppSecret() });
      const terminal = await framework.waitForTerminal(executorId);
      expect(terminal.state, terminal.message).toBe('TASK_FAILED');
      expect(terminal.message).toMatch(/status 3\b/);
      expect(driver.registered).toEqual([]);
      expect(driver.refused).toContainEqual(
        expect.objectContaining({ reason: expect.stringContaining('did not prove it holds the application secret') }),
      );
      expect(driver.logs.join('\n')).toMatch(/warn driver link: refused connection from 127\.0\.0\.1:\d+/);
    },
    TEST_TIMEOUT_MS,
  );
});
