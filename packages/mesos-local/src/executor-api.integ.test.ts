// The agent's v1 executor API at the wire level: the recorded traffic of a real Mesos 1.12 agent
// (__fixtures__/executor_pb, copied from ../shared/fixtures/mesos) replayed byte for byte, the
// error answers of Http::executor, and mesos-client's executor client as a real client.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createExecutorClient,
  createRecordIoDecoder,
  EXECUTOR_EVENT_CODECS,
  type ExecutorEvent,
  executorConfigFromEnv,
  type MesosEncoding,
  type TaskInfo,
  type TaskStatus,
} from '@spark-mesos/mesos-client';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalAgent, randomUuidBytes } from './agent.js';
import { parseResources } from './resources.js';

const FIXTURES = new URL('./__fixtures__/executor_pb/', import.meta.url);
const RECORDED_FRAMEWORK = '5cdd377a-dae9-4944-98c2-8f0426d20e10-0013';
const RECORDED_AGENT = '5cdd377a-dae9-4944-98c2-8f0426d20e10-S0';

interface Harness {
  agent: LocalAgent;
  updates: TaskStatus[];
  exited: string[];
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startAgent(id = 'M-S0'): Promise<Harness> {
  const workDir = mkdtempSync(join(tmpdir(), 'mesos-local-executor-api-'));
  const updates: TaskStatus[] = [];
  const exited: string[] = [];
  const agent = new LocalAgent({
    id,
    resources: parseResources('cpus:4;mem:4096'),
    workDir,
    statusUpdateRetryMs: 60_000,
    executorShutdownGracePeriodMs: 200,
    uplink: {
      statusUpdate: (_agent, _framework, status) => updates.push(status),
      executorTerminated: (_agent, _framework, executorId) => exited.push(executorId),
    },
  });
  await agent.start();
  cleanups.push(async () => {
    await agent.stop();
    rmSync(workDir, { recursive: true, force: true });
  });
  return { agent, updates, exited };
}

const until = async (check: () => boolean, what = 'the condition'): Promise<void> => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check(), what).toBe(true);
};

function executorTask(frameworkId: string, taskId: string, command: string, executorId = 'default'): TaskInfo {
  return {
    name: `Task ${taskId}`,
    task_id: { value: taskId },
    agent_id: { value: 'M-S0' },
    resources: parseResources('cpus:0.1;mem:32'),
    executor: {
      executor_id: { value: executorId },
      framework_id: { value: frameworkId },
      name: 'Test Executor',
      command: { value: command },
      resources: parseResources('cpus:0.1;mem:32'),
    },
  };
}

/** Reads the environment the executor wrote with `env > env.txt` into its sandbox. */
async function executorEnvironment(agent: LocalAgent, frameworkId: string, executorId: string) {
  let text = '';
  await until(() => {
    const sandbox = agent.sandboxOf(frameworkId, executorId);
    text =
      sandbox === undefined
        ? ''
        : (() => {
            try {
              return readFileSync(join(sandbox, 'env.txt'), 'utf8');
            } catch {
              return '';
            }
          })();
    return text.includes('MESOS_EXECUTOR_ID=');
  }, 'the executor wrote its environment');
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: Buffer;
}

/** Parses consecutive HTTP/1.1 responses with Content-Length bodies (the pipelined 202s). */
function parseResponses(raw: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let offset = 0;
  while (offset < raw.length) {
    const end = raw.indexOf('\r\n\r\n', offset);
    if (end < 0) break;
    const head = raw.subarray(offset, end).toString('latin1');
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    responses.push({
      status: Number(head.split(' ')[1]),
      head,
      body: raw.subarray(end + 4, end + 4 + length),
    });
    offset = end + 4 + length;
  }
  return responses;
}

/** Header names and values, without Date and the `Connection: keep-alive` Node's server always adds. */
function headersOf(head: string): string[] {
  return head
    .split('\r\n')
    .slice(1)
    .filter((line) => !/^(date|connection):/i.test(line))
    .map((line) => line.toLowerCase())
    .sort();
}

/** De-chunks an HTTP chunked body read so far (complete chunks only). */
function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0 || body.length < lineEnd + 2 + size + 2) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function decodeEvents(stream: Buffer): ExecutorEvent[] {
  const decoder = createRecordIoDecoder();
  return [...decoder.push(stream)].map((record) => EXECUTOR_EVENT_CODECS.protobuf.decode(record));
}

/** A subscription opened with the recorded bytes, collecting what the agent sends. */
function replaySubscribe(port: number): { socket: Socket; received: () => Buffer } {
  const request = readFileSync(new URL('subscribe.request.raw', FIXTURES), 'latin1').replace(
    'Host: 127.0.0.1:5051',
    `Host: 127.0.0.1:${port}`,
  );
  const chunks: Buffer[] = [];
  const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.from(request, 'latin1')));
  socket.on('data', (chunk) => chunks.push(chunk));
  cleanups.push(async () => {
    socket.destroy();
  });
  return { socket, received: () => Buffer.concat(chunks) };
}

function sendRaw(port: number, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', () => resolve(Buffer.concat(chunks)));
  });
}

describe('executor API, replayed from a real agent', () => {
  it('answers the recorded SUBSCRIBE and the ten pipelined UPDATEs as the agent did', async () => {
    const { agent, updates } = await startAgent(RECORDED_AGENT);
    const framework = { id: { value: RECORDED_FRAMEWORK }, user: 'root', name: 'replay', checkpoint: false };
    for (const taskId of ['0', '1', '2', '3']) {
      agent.launchTask(framework, executorTask(RECORDED_FRAMEWORK, taskId, 'exec sleep 60'));
    }
    const subscription = replaySubscribe(agent.port);
    const expectedRaw = readFileSync(new URL('subscribe.response.raw', FIXTURES));
    const expectedHead = expectedRaw.subarray(0, expectedRaw.indexOf('\r\n\r\n')).toString('latin1');
    const recorded = decodeEvents(readFileSync(new URL('subscribe.stream.bin', FIXTURES)));

    const events = (): ExecutorEvent[] => {
      const raw = subscription.received();
      const end = raw.indexOf('\r\n\r\n');
      return end < 0 ? [] : decodeEvents(dechunk(raw.subarray(end + 4)));
    };
    await until(() => events().length >= 5, 'SUBSCRIBED and four LAUNCHes');
    const raw = subscription.received();
    const head = raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1');
    expect(head.split('\r\n')[0]).toBe(expectedHead.split('\r\n')[0]);
    expect(headersOf(head)).toEqual(headersOf(expectedHead));

    // Task 4 came later in the recording: launched once the first four are running.
    agent.launchTask(framework, executorTask(RECORDED_FRAMEWORK, '4', 'exec sleep 60'));
    await until(() => events().length >= 6, 'the LAUNCH of task 4');

    const updatesRequest = readFileSync(new URL('updates.request.raw', FIXTURES), 'latin1').replaceAll(
      'Host: 127.0.0.1:5051',
      `Host: 127.0.0.1:${agent.port}`,
    );
    const answers = parseResponses(await sendRaw(agent.port, Buffer.from(updatesRequest, 'latin1')));
    const expectedAnswers = parseResponses(readFileSync(new URL('updates.response.raw', FIXTURES)));
    expect(answers).toHaveLength(10);
    expect(answers.map((answer) => answer.head.split('\r\n')[0])).toEqual(
      expectedAnswers.map((answer) => answer.head.split('\r\n')[0]),
    );
    expect(answers.map((answer) => headersOf(answer.head))).toEqual(
      expectedAnswers.map((answer) => headersOf(answer.head)),
    );

    await until(() => events().length >= 16, 'ten ACKNOWLEDGED');
    // In order per task: each TASK_FINISHED waits for the scheduler's acknowledgement of TASK_RUNNING.
    const taskIds = ['0', '1', '2', '3', '4'];
    expect(updates.map((status) => `${status.task_id.value}/${status.state}`).sort()).toEqual(
      taskIds.map((id) => `${id}/TASK_RUNNING`),
    );
    for (const status of [...updates]) agent.acknowledge(RECORDED_FRAMEWORK, status.task_id.value, status.uuid!);
    expect(updates.map((status) => `${status.task_id.value}/${status.state}`).sort()).toEqual(
      taskIds.flatMap((id) => [`${id}/TASK_FINISHED`, `${id}/TASK_RUNNING`]).sort(),
    );
    expect(
      updates.every((status) => status.source === 'SOURCE_EXECUTOR' && status.agent_id?.value === RECORDED_AGENT),
    ).toBe(true);
    agent.shutdownFramework(RECORDED_FRAMEWORK);
    await until(() => events().length >= 17, 'SHUTDOWN');
    const actual = events();
    const types = (list: ExecutorEvent[]) => list.map((event) => event.type);
    // Same events; only the place of task 4's LAUNCH among the acknowledgements differs.
    expect(types(actual).sort()).toEqual(types(recorded).sort());
    expect(types(actual).at(0)).toBe('SUBSCRIBED');
    expect(types(actual).at(-1)).toBe('SHUTDOWN');

    const subscribed = actual[0]?.subscribed;
    const expectedSubscribed = recorded[0]?.subscribed;
    expect(Object.keys(subscribed ?? {}).sort()).toEqual(Object.keys(expectedSubscribed ?? {}).sort());
    expect(Object.keys(subscribed?.executor_info ?? {}).sort()).toEqual(
      Object.keys(expectedSubscribed?.executor_info ?? {})
        .concat('resources')
        .sort(),
    );
    expect(subscribed?.executor_info.framework_id?.value).toBe(RECORDED_FRAMEWORK);
    expect(subscribed?.agent_info).toMatchObject({ id: { value: RECORDED_AGENT }, port: agent.port });
    expect(subscribed?.container_id?.value).toMatch(/^[0-9a-f-]{36}$/);
    expect(actual.filter((event) => event.type === 'LAUNCH').map((event) => event.launch?.task.task_id.value)).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
    ]);
    // Each recorded update was forwarded once, with the executor's uuid, and acknowledged with it.
    const recordedAcks = recorded.filter((event) => event.type === 'ACKNOWLEDGED').map((event) => event.acknowledged);
    const acks = actual.filter((event) => event.type === 'ACKNOWLEDGED').map((event) => event.acknowledged);
    const key = (ack: { task_id: { value: string }; uuid: Uint8Array } | undefined) =>
      `${ack?.task_id.value}/${Buffer.from(ack?.uuid ?? []).toString('hex')}`;
    expect(acks.map(key).sort()).toEqual(recordedAcks.map(key).sort());
  });
});

describe('executor API errors', () => {
  const frameworkId = 'F-0000';
  const call = (body: unknown) => JSON.stringify(body);
  const ids = { executor_id: { value: 'default' }, framework_id: { value: frameworkId } };

  it.each([
    ['GET', undefined, undefined, '', 405, "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."],
    ['POST', undefined, undefined, '{}', 400, "Expecting 'Content-Type' to be present"],
    [
      'POST',
      'application/json; charset=utf-8',
      undefined,
      '{}',
      415,
      "Expecting 'Content-Type' of application/json or application/x-protobuf",
    ],
    ['POST', 'application/x-protobuf', undefined, 'garbage', 400, 'Failed to parse body into Call protobuf'],
    [
      'POST',
      'application/json',
      undefined,
      call({ type: 'SUBSCRIBE', subscribe: {} }),
      400,
      'Failed to convert JSON into Call protobuf: Missing required fields: executor_id',
    ],
    [
      'POST',
      'application/json',
      undefined,
      call({ ...ids }),
      400,
      "Failed to validate Executor::Call: Expecting 'type' to be present",
    ],
    [
      'POST',
      'application/json',
      undefined,
      call({ ...ids, type: 'SUBSCRIBE' }),
      400,
      "Failed to validate Executor::Call: Expecting 'subscribe' to be present",
    ],
    [
      'POST',
      'application/json',
      'text/html',
      call({ ...ids, type: 'SUBSCRIBE', subscribe: {} }),
      406,
      "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'",
    ],
    [
      'POST',
      'application/json',
      undefined,
      call({ executor_id: { value: 'default' }, framework_id: { value: 'nope' }, type: 'SUBSCRIBE', subscribe: {} }),
      400,
      'Framework cannot be found',
    ],
    [
      'POST',
      'application/json',
      undefined,
      call({ executor_id: { value: 'nope' }, framework_id: { value: frameworkId }, type: 'SUBSCRIBE', subscribe: {} }),
      400,
      'Executor cannot be found',
    ],
    [
      'POST',
      'application/json',
      undefined,
      call({ ...ids, type: 'MESSAGE', message: { data: 'aGk=' } }),
      403,
      'Executor is not subscribed',
    ],
    [
      'POST',
      'application/json',
      undefined,
      call({
        ...ids,
        type: 'UPDATE',
        update: { status: { task_id: { value: 't' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: 'AAAA' } },
      }),
      400,
      'Failed to validate Executor::Call: Not a valid UUID',
    ],
    [
      'POST',
      'application/json',
      undefined,
      call({
        ...ids,
        type: 'UPDATE',
        update: {
          status: {
            task_id: { value: 't' },
            state: 'TASK_RUNNING',
            uuid: Buffer.from(randomUuidBytes()).toString('base64'),
          },
        },
      }),
      400,
      `Failed to validate Executor::Call: Received Call from executor default of framework ${frameworkId} with invalid source, expecting 'SOURCE_EXECUTOR'`,
    ],
    ['POST', 'application/json', undefined, call({ ...ids, type: 'HEARTBEAT' }), 202, ''],
  ])('%s %s (%s) %s → %i', async (method, contentType, accept, body, status, text) => {
    const { agent } = await startAgent();
    agent.launchTask({ id: { value: frameworkId }, user: 'u', name: 'f' }, executorTask(frameworkId, 't', 'sleep 60'));
    const headers: Record<string, string> = {};
    if (contentType !== undefined) headers['Content-Type'] = contentType;
    if (accept !== undefined) headers.Accept = accept;
    const response = await fetch(`${agent.url}/slave(1)/api/v1/executor`, {
      method,
      headers,
      // Bytes, so that fetch adds no Content-Type of its own.
      ...(method === 'GET' ? {} : { body: Buffer.from(body) }),
    });
    expect(response.status).toBe(status);
    expect(await response.text()).toBe(text);
    if (status >= 400) expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    if (status === 405) expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('executor API with mesos-client’s executor client', () => {
  it.each<MesosEncoding>(['protobuf', 'json'])(
    'subscribes, gets LAUNCH/KILL/ACKNOWLEDGED/SHUTDOWN, and its updates reach the master (%s)',
    async (encoding) => {
      const { agent, updates, exited } = await startAgent();
      const frameworkId = 'F-0001';
      const framework = { id: { value: frameworkId }, user: 'u', name: 'f', checkpoint: true };
      agent.launchTask(
        framework,
        executorTask(frameworkId, 't1', 'env > env.txt; sleep 60 & echo $! > child.pid; wait'),
      );
      const env = await executorEnvironment(agent, frameworkId, 'default');
      const sandbox = agent.sandboxOf(frameworkId, 'default') as string;
      expect(env).toMatchObject({
        MESOS_FRAMEWORK_ID: frameworkId,
        MESOS_EXECUTOR_ID: 'default',
        MESOS_AGENT_ENDPOINT: `127.0.0.1:${agent.port}`,
        MESOS_DIRECTORY: sandbox,
        MESOS_SANDBOX: sandbox,
        MESOS_SLAVE_ID: 'M-S0',
        MESOS_SLAVE_PID: `slave(1)@127.0.0.1:${agent.port}`,
        MESOS_CHECKPOINT: '1',
        MESOS_HTTP_COMMAND_EXECUTOR: '0',
        MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '200ms',
        MESOS_RECOVERY_TIMEOUT: '15mins',
        MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs',
      });
      expect(sandbox).toMatch(/\/frameworks\/F-0001\/executors\/default\/runs\/[0-9a-f-]{36}$/);

      const client = createExecutorClient({
        config: executorConfigFromEnv((name) => env[name]),
        encoding,
      });
      cleanups.push(() => client.close());
      const events: ExecutorEvent[] = [];
      client.on('event', (event) => events.push(event));
      await until(() => events.some((event) => event.type === 'LAUNCH'), 'LAUNCH of t1');
      expect(events[0]?.type).toBe('SUBSCRIBED');
      expect(client.subscribed).toMatchObject({
        executor_info: { executor_id: { value: 'default' }, framework_id: { value: frameworkId } },
        framework_info: { id: { value: frameworkId }, checkpoint: true },
        agent_info: { id: { value: 'M-S0' }, hostname: '127.0.0.1' },
      });

      const running = await client.update({ task_id: { value: 't1' }, state: 'TASK_RUNNING' });
      await until(() => client.unacknowledgedUpdates.length === 0, 'ACKNOWLEDGED of TASK_RUNNING');
      expect(updates).toHaveLength(1);
      expect(updates[0]).toMatchObject({
        state: 'TASK_RUNNING',
        source: 'SOURCE_EXECUTOR',
        agent_id: { value: 'M-S0' },
      });
      expect(Buffer.from(updates[0]?.uuid ?? []).equals(Buffer.from(running.uuid ?? []))).toBe(true);
      // The agent adds the container's status to the executor's update.
      expect(updates[0]?.container_status?.container_id).toEqual(client.subscribed?.container_id);
      expect(updates[0]?.container_status?.executor_pid).toBeGreaterThan(0);

      // A second task of the same executor goes to the running executor, and its KILL too.
      agent.launchTask(framework, executorTask(frameworkId, 't2', 'env > env.txt; sleep 60'));
      await until(() => events.filter((event) => event.type === 'LAUNCH').length === 2, 'LAUNCH of t2');
      agent.killTask(frameworkId, 't2');
      await until(() => events.some((event) => event.type === 'KILL'), 'KILL of t2');
      expect(events.find((event) => event.type === 'KILL')?.kill?.task_id.value).toBe('t2');
      await client.update({ task_id: { value: 't2' }, state: 'TASK_KILLED' });
      // The second update of t1 waits until the scheduler acknowledged the first.
      await client.update({ task_id: { value: 't1' }, state: 'TASK_FINISHED' });
      await until(() => updates.length === 2, 'TASK_KILLED of t2');
      expect(updates.map((status) => status.state)).toEqual(['TASK_RUNNING', 'TASK_KILLED']);
      agent.acknowledge(frameworkId, 't1', running.uuid as Uint8Array);
      await until(() => updates.length === 3, 'TASK_FINISHED of t1 after the acknowledgement');

      const child = Number(readFileSync(join(sandbox, 'child.pid'), 'utf8'));
      agent.shutdownFramework(frameworkId);
      await until(() => events.some((event) => event.type === 'SHUTDOWN'), 'SHUTDOWN');
      await client.close();
      // The executor ignores SHUTDOWN: after the grace period its whole process group goes.
      await until(() => exited.includes('default'), 'the executor killed');
      await until(() => !isAlive(child), 'its forked child killed');
    },
  );
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
