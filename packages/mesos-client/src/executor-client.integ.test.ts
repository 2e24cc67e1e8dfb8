import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isSparkMesosError } from '@spark-mesos/errors';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { EXECUTOR_CALL_CODECS, EXECUTOR_EVENT_CODECS } from './codec.js';
import { createExecutorClient, type ExecutorClient, type ExecutorDisconnection } from './executor-client.js';
import { type ExecutorConfig, executorConfigFromEnv } from './executor-config.js';
import type { ExecutorCall, ExecutorEvent, TaskStatus } from './generated/mesos-types.js';
import { createRecordIoDecoder } from './recordio.js';
import {
  LAST_CHUNK,
  loadRecordedExchange,
  parseRecordedResponse,
  type ReceivedRequest,
  type RecordedExchange,
  type RecordedResponse,
  type ReplayServer,
  type ReplayStep,
  rechunkRecordIo,
  startReplayServer,
} from './testing/index.js';

const fixtures = (dir: string): string => fileURLToPath(new URL(`./__fixtures__/${dir}`, import.meta.url));
const servers: ReplayServer[] = [];
const clients: ExecutorClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function replay(steps: ReplayStep[]): Promise<ReplayServer> {
  const server = await startReplayServer({ script: steps });
  servers.push(server);
  return server;
}

// The recorded framework and executor ids (Mesos' own test-http-framework / test-http-executor).
const FRAMEWORK_ID = '5cdd377a-dae9-4944-98c2-8f0426d20e10-0013';
const AGENT_ID = '5cdd377a-dae9-4944-98c2-8f0426d20e10-S0';
// uuids the recorded agent ACKNOWLEDGED for task "0" (TASK_RUNNING, then TASK_FINISHED).
const RECORDED_ACK_UUIDS = ['3a1e553f752f4d16a34b194f9bd23714', 'd2fe884632cf4693b99e3a3db205c6e9'];

function configFor(server: ReplayServer, extra: Record<string, string> = {}): ExecutorConfig {
  const env: Record<string, string> = {
    MESOS_FRAMEWORK_ID: FRAMEWORK_ID,
    MESOS_EXECUTOR_ID: 'default',
    MESOS_AGENT_ENDPOINT: `127.0.0.1:${server.port}`,
    ...extra,
  };
  return executorConfigFromEnv((name) => env[name]);
}

function decodeCall(request: ReceivedRequest): ExecutorCall | undefined {
  try {
    return EXECUTOR_CALL_CODECS.protobuf.decode(request.body);
  } catch {
    return undefined;
  }
}

/** Matches executor calls by type: the replay server only reads scheduler call types. */
const executorCall = (type: string) => ({
  method: 'POST',
  test: (request: ReceivedRequest) => decodeCall(request)?.type === type,
});

const callsOf = (server: ReplayServer, type: string): ExecutorCall[] =>
  server.requests.map(decodeCall).filter((call): call is ExecutorCall => call?.type === type);

async function subscribeExchange(): Promise<RecordedExchange> {
  return loadRecordedExchange(fixtures('executor_pb'), 'subscribe');
}

/** The agent's first recorded "202 Accepted" to an UPDATE (the file holds ten, pipelined). */
function recordedAccepted(): RecordedResponse {
  const raw = readFileSync(`${fixtures('executor_pb')}/updates.response.raw`);
  return parseRecordedResponse(raw.subarray(0, raw.indexOf('\r\n\r\n') + 4));
}

/** Bytes of the recorded chunked body up to the end of its `count`-th chunk (one event each). */
function afterChunks(response: RecordedResponse, count: number): number {
  const body = Buffer.from(response.body);
  let offset = 0;
  for (let chunk = 0; chunk < count; chunk += 1) {
    const lineEnd = body.indexOf('\r\n', offset);
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16);
    offset = lineEnd + 2 + size + 2;
  }
  return offset;
}

function bytesFromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (condition()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error('condition not met in time'));
      else setTimeout(check, 5);
    };
    check();
  });
}

describe('createExecutorClient against the recorded agent (protobuf)', () => {
  it('sends an UPDATE beside the open stream with streamDispatcher and dispatcher each allowing one connection', async () => {
    const subscribe = await subscribeExchange();
    const server = await replay([
      { match: executorCall('SUBSCRIBE'), respond: subscribe, hold: true },
      { match: executorCall('UPDATE'), respond: recordedAccepted(), times: 10 },
    ]);
    const streamAgent = new Agent({ connections: 1 });
    const callAgent = new Agent({ connections: 1 });
    try {
      const client = createExecutorClient({
        config: configFor(server),
        dispatcher: callAgent,
        streamDispatcher: streamAgent,
      });
      clients.push(client);
      await until(() => client.state === 'subscribed');
      const status = await client.update({ task_id: { value: '0' }, state: 'TASK_RUNNING' });
      expect(status.state).toBe('TASK_RUNNING');
      const stream = server.requests.find((request) => decodeCall(request)?.type === 'SUBSCRIBE')!;
      const updates = server.requests.filter((request) => decodeCall(request)?.type === 'UPDATE');
      expect(updates.length).toBeGreaterThan(0);
      for (const request of updates) expect(request.connection).not.toBe(stream.connection);
      expect(client.state).toBe('subscribed');
      await client.close();
    } finally {
      await Promise.all([streamAgent.destroy(), callAgent.destroy()]);
    }
  });

  it('subscribes, decodes LAUNCH, sends complete UPDATEs and clears what the agent ACKNOWLEDGED', async () => {
    const subscribe = await subscribeExchange();
    const server = await replay([
      { match: executorCall('SUBSCRIBE'), respond: subscribe },
      { match: executorCall('UPDATE'), respond: recordedAccepted(), times: 10 },
    ]);
    const injected = RECORDED_ACK_UUIDS.map(bytesFromHex);
    const unrecorded = bytesFromHex('00112233445546778899aabbccddeeff');
    const client = createExecutorClient({
      config: configFor(server, { MESOS_EXECUTOR_AUTHENTICATION_TOKEN: 'executor-jwt' }),
      // The recording's agent acknowledged these uuids; hand them out so its ACKs match.
      randomBytes: (size) => {
        expect(size).toBe(16);
        return injected.shift() ?? unrecorded;
      },
    });
    clients.push(client);
    await expect(client.update({ task_id: { value: '0' }, state: 'TASK_RUNNING' })).rejects.toSatisfy((error) =>
      isSparkMesosError(error, 'SM_ERR_EXECUTOR_NOT_SUBSCRIBED'),
    );

    const sent: Promise<TaskStatus>[] = [];
    client.on('LAUNCH', (event) => {
      const taskId = event.launch.task.task_id;
      if (taskId.value === '0') {
        sent.push(client.update({ task_id: taskId, state: 'TASK_RUNNING' }));
        sent.push(client.update({ task_id: taskId, state: 'TASK_FINISHED' }));
      }
      if (taskId.value === '1') sent.push(client.update({ task_id: taskId, state: 'TASK_RUNNING' }));
    });
    const events: ExecutorEvent[] = [];
    for await (const event of client) events.push(event);

    expect(events.map((event) => event.type)).toEqual([
      'SUBSCRIBED',
      ...Array(4).fill('LAUNCH'),
      ...Array(8).fill('ACKNOWLEDGED'),
      'LAUNCH',
      'ACKNOWLEDGED',
      'ACKNOWLEDGED',
      'SHUTDOWN',
    ]);
    const launch = events[1]!;
    expect(launch.launch?.task.name).toBe('Task 0');
    expect(launch.launch?.task.task_id).toEqual({ value: '0' });
    expect(launch.launch?.task.executor?.command?.value).toBe('/usr/local/libexec/mesos-examples/test-http-executor');
    expect(client.subscribed?.framework_info.id?.value).toBe(FRAMEWORK_ID);

    const statuses = await Promise.all(sent);
    expect(statuses).toHaveLength(3);
    await until(() => callsOf(server, 'UPDATE').length === 3);
    const updates = callsOf(server, 'UPDATE');
    const before = Date.now() / 1000;
    for (const call of updates) {
      expect(call.framework_id).toEqual({ value: FRAMEWORK_ID });
      expect(call.executor_id).toEqual({ value: 'default' });
      const status = call.update!.status;
      expect(status.uuid).toHaveLength(16);
      // A real agent refuses an update whose uuid is not an RFC 4122 UUID ("Not a valid UUID").
      expect(Buffer.from(status.uuid!).toString('hex')).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
      expect(status.source).toBe('SOURCE_EXECUTOR');
      expect(status.executor_id).toEqual({ value: 'default' });
      expect(status.agent_id).toEqual({ value: AGENT_ID });
      expect(status.timestamp).toBeGreaterThan(before - 60);
      expect(status.timestamp).toBeLessThanOrEqual(before);
    }
    expect(updates.map((call) => [call.update!.status.task_id.value, call.update!.status.state])).toEqual([
      ['0', 'TASK_RUNNING'],
      ['0', 'TASK_FINISHED'],
      ['1', 'TASK_RUNNING'],
    ]);
    expect(Buffer.from(updates[0]!.update!.status.uuid!).toString('hex')).toBe(RECORDED_ACK_UUIDS[0]);
    for (const request of server.requests) {
      expect(request.header('authorization')).toBe('Bearer executor-jwt');
      expect(request.header('content-type')).toBe('application/x-protobuf');
      expect(request.header('accept')).toBe('application/x-protobuf');
    }

    // Task 0's two updates were acknowledged (recorded uuids); task 1's was not.
    expect(client.unacknowledgedUpdates.map((update) => update.status.task_id.value)).toEqual(['1']);
    expect(Buffer.from(client.unacknowledgedUpdates[0]!.status.uuid!).toString('hex')).toBe(
      '00112233445546778899aabbccddeeff',
    );
    // Every task had at least one update acknowledged by the recorded agent.
    expect(client.unacknowledgedTasks).toEqual([]);
    expect(client.activeTasks.map((task) => task.task_id.value)).toEqual(['1', '2', '3', '4']);
    // The recorded agent ended the stream after SHUTDOWN: no reconnection, whatever checkpointing says.
    expect(await client.done).toMatchObject({ outcome: 'shutdown' });
    expect(callsOf(server, 'SUBSCRIBE')).toHaveLength(1);
    expect(server.mismatches).toEqual([]);
  });

  it('re-subscribes after a lost stream when checkpointing, carrying the unacknowledged update and task', async () => {
    const subscribe = await subscribeExchange();
    const server = await replay([
      // SUBSCRIBED and the LAUNCH of task "0", then the connection drops.
      {
        match: executorCall('SUBSCRIBE'),
        respond: subscribe,
        cut: { afterBytes: afterChunks(subscribe.response, 2) },
      },
      { match: executorCall('UPDATE'), respond: recordedAccepted() },
      { match: executorCall('SUBSCRIBE'), respond: subscribe, hold: true },
    ]);
    const client = createExecutorClient({
      config: configFor(server, {
        MESOS_CHECKPOINT: '1',
        MESOS_RECOVERY_TIMEOUT: '10secs',
        MESOS_SUBSCRIPTION_BACKOFF_MAX: '50ms',
      }),
    });
    clients.push(client);
    const disconnections: ExecutorDisconnection[] = [];
    let queued: Promise<TaskStatus> | undefined;
    client.on('disconnected', (disconnection) => {
      disconnections.push(disconnection);
      // While reconnecting an update is only queued: it must go with the next SUBSCRIBE.
      queued = client.update({ task_id: { value: '0' }, state: 'TASK_FINISHED' });
    });
    let running: TaskStatus | undefined;
    let subscriptions = 0;
    client.on('SUBSCRIBED', () => {
      subscriptions += 1;
    });
    client.on('LAUNCH', (event) => {
      if (running === undefined) {
        void client.update({ task_id: event.launch.task.task_id, state: 'TASK_RUNNING' }).then((status) => {
          running = status;
        });
      }
    });

    await until(() => subscriptions === 2);
    expect(disconnections).toHaveLength(1);
    expect(disconnections[0]!.willReconnect).toBe(true);

    const [first, second] = callsOf(server, 'SUBSCRIBE');
    expect(first!.subscribe?.unacknowledged_updates).toBeUndefined();
    expect(second!.framework_id).toEqual({ value: FRAMEWORK_ID });
    expect(second!.executor_id).toEqual({ value: 'default' });
    const [resent, finished] = second!.subscribe?.unacknowledged_updates ?? [];
    expect(second!.subscribe?.unacknowledged_updates).toHaveLength(2);
    expect(finished!.status.state).toBe('TASK_FINISHED');
    expect(finished!.status.uuid).toEqual((await queued!).uuid);
    expect(client.state).toBe('subscribed');
    expect(resent!.status.task_id).toEqual({ value: '0' });
    expect(resent!.status.state).toBe('TASK_RUNNING');
    expect(resent!.status.source).toBe('SOURCE_EXECUTOR');
    expect(resent!.status.uuid).toHaveLength(16);
    await until(() => running !== undefined);
    expect(resent!.status.uuid).toEqual(running!.uuid);
    // The task was launched but none of its updates was acknowledged before the drop.
    expect(second!.subscribe?.unacknowledged_tasks?.map((task) => [task.task_id.value, task.name])).toEqual([
      ['0', 'Task 0'],
    ]);
    expect(second!.subscribe?.unacknowledged_tasks?.[0]?.agent_id).toEqual({ value: AGENT_ID });

    await client.close();
    expect(await client.done).toMatchObject({ outcome: 'closed' });
    expect(server.mismatches).toEqual([]);
  });

  it('ends gracefully when the stream is lost and the framework does not checkpoint', async () => {
    const subscribe = await subscribeExchange();
    const server = await replay([
      { match: executorCall('SUBSCRIBE'), respond: subscribe, cut: { afterBytes: afterChunks(subscribe.response, 2) } },
    ]);
    const client = createExecutorClient({ config: configFor(server, { MESOS_CHECKPOINT: '0' }) });
    clients.push(client);
    const disconnections: ExecutorDisconnection[] = [];
    client.on('disconnected', (disconnection) => disconnections.push(disconnection));

    const types: (string | undefined)[] = [];
    for await (const event of client.events()) types.push(event.type);

    expect(types).toEqual(['SUBSCRIBED', 'LAUNCH']);
    expect(disconnections).toEqual([expect.objectContaining({ willReconnect: false })]);
    const end = await client.done;
    expect(end.outcome).toBe('disconnected');
    expect(end.reason).toContain('does not checkpoint');
    expect(client.state).toBe('ended');
    expect(callsOf(server, 'SUBSCRIBE')).toHaveLength(1);
    await expect(client.update({ task_id: { value: '0' }, state: 'TASK_FAILED' })).rejects.toSatisfy((error) =>
      isSparkMesosError(error, 'SM_ERR_CLOSED'),
    );
  });

  it('fails with SM_ERR_EXECUTOR_RECOVERY_TIMEOUT when the agent stays away past MESOS_RECOVERY_TIMEOUT', async () => {
    const subscribe = await subscribeExchange();
    const server = await replay([
      { match: executorCall('SUBSCRIBE'), respond: subscribe, cut: { afterBytes: afterChunks(subscribe.response, 1) } },
    ]);
    const client = createExecutorClient({
      config: configFor(server, {
        MESOS_CHECKPOINT: '1',
        MESOS_RECOVERY_TIMEOUT: '300ms',
        MESOS_SUBSCRIPTION_BACKOFF_MAX: '20ms',
      }),
    });
    clients.push(client);
    // The agent process is gone: nothing listens on its port any more.
    client.on('disconnected', () => void server.close());

    const iteration = (async () => {
      for await (const _event of client) {
        // drain
      }
    })();
    await expect(iteration).rejects.toSatisfy((error) => isSparkMesosError(error, 'SM_ERR_EXECUTOR_RECOVERY_TIMEOUT'));
    const end = await client.done;
    expect(end.outcome).toBe('failed');
    expect(end.error?.message).toContain('MESOS_RECOVERY_TIMEOUT (300ms)');
    expect(end.error?.details.attempts).toBeGreaterThan(1);
  });

  it("ends failed with the agent's rejection of SUBSCRIBE (recorded 401)", async () => {
    const unauthorized = await loadRecordedExchange(fixtures('auth'), 'subscribe-noauth');
    const server = await replay([{ respond: unauthorized }]);
    const client = createExecutorClient({ config: configFor(server) });
    clients.push(client);
    const end = await client.done;
    expect(end.outcome).toBe('failed');
    expect(isSparkMesosError(end.error, 'SM_ERR_MESOS_UNAUTHORIZED')).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('checks status updates before sending them', async () => {
    const subscribe = await subscribeExchange();
    const server = await replay([{ match: executorCall('SUBSCRIBE'), respond: subscribe, hold: true }]);
    const client = createExecutorClient({ config: configFor(server) });
    clients.push(client);
    const iterator = client.events();
    expect((await iterator.next()).value?.type).toBe('SUBSCRIBED');
    await expect(
      client.update({ task_id: { value: '0' }, state: 'TASK_RUNNING', uuid: new Uint8Array(4) }),
    ).rejects.toSatisfy((error) => isSparkMesosError(error, 'SM_ERR_EXECUTOR_BAD_UPDATE'));
    await expect(client.update({ state: 'TASK_RUNNING' } as never)).rejects.toSatisfy((error) =>
      isSparkMesosError(error, 'SM_ERR_EXECUTOR_BAD_UPDATE'),
    );
    expect(() => client.events()).toThrow(expect.objectContaining({ code: 'SM_ERR_EXECUTOR_EVENTS_TAKEN' }));
    await client.close();
    expect((await client.done).outcome).toBe('closed');
  });
});

/**
 * The recorded protobuf SUBSCRIBE answer in JSON: there is no JSON executor recording, so each
 * recorded RecordIO record is decoded with the protobuf codec and re-encoded with the JSON one,
 * one record per HTTP chunk (as the agent frames them), under the recorded response head with
 * only its Content-Type changed to application/json; the final chunk is kept if recorded.
 */
function jsonSubscribeResponse(recorded: RecordedResponse): { response: RecordedResponse; events: ExecutorEvent[] } {
  const records = createRecordIoDecoder({ copy: true }).push(recorded.decodedBody);
  const events = records.map((record) => EXECUTOR_EVENT_CODECS.protobuf.decode(record));
  const stream = Buffer.concat(
    events.map((event) => {
      const json = EXECUTOR_EVENT_CODECS.json.encode(event);
      return Buffer.concat([Buffer.from(`${json.length}\n`, 'latin1'), json]);
    }),
  );
  const head = Buffer.from(recorded.head)
    .toString('latin1')
    .replace(/^Content-Type: .*$/im, 'Content-Type: application/json');
  const body = Buffer.concat([rechunkRecordIo(stream), recorded.terminated ? LAST_CHUNK : new Uint8Array(0)]);
  return { response: parseRecordedResponse(Buffer.concat([Buffer.from(head, 'latin1'), body])), events };
}

function decodeJsonCall(request: ReceivedRequest): ExecutorCall {
  return EXECUTOR_CALL_CODECS.json.decode(request.body);
}

describe('createExecutorClient in JSON (the recorded protobuf stream, re-encoded)', () => {
  it('sends JSON, decodes SUBSCRIBED and LAUNCH, and sends UPDATEs with a base64 uuid', async () => {
    const subscribe = await subscribeExchange();
    const { response, events: recordedEvents } = jsonSubscribeResponse(subscribe.response);
    expect(response.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1]).toBe('application/json');
    // The replay server reads the call type of JSON bodies itself.
    const server = await replay([
      { match: { callType: 'SUBSCRIBE' }, respond: response },
      { match: { callType: 'UPDATE' }, respond: recordedAccepted(), times: 10 },
    ]);
    const injected = RECORDED_ACK_UUIDS.map(bytesFromHex);
    const client = createExecutorClient({
      config: configFor(server),
      encoding: 'json',
      // The recording's agent acknowledged these uuids: its ACKNOWLEDGED events (now base64 in JSON) match them.
      randomBytes: () => injected.shift() ?? bytesFromHex('00112233445546778899aabbccddeeff'),
    });
    clients.push(client);
    const sent: Promise<TaskStatus>[] = [];
    client.on('LAUNCH', (event) => {
      if (event.launch.task.task_id.value === '0') {
        sent.push(client.update({ task_id: event.launch.task.task_id, state: 'TASK_RUNNING' }));
        sent.push(client.update({ task_id: event.launch.task.task_id, state: 'TASK_FINISHED' }));
      }
    });
    const events: ExecutorEvent[] = [];
    for await (const event of client) events.push(event);

    expect(events.map((event) => event.type)).toEqual(recordedEvents.map((event) => event.type));
    expect(events[0]!.type).toBe('SUBSCRIBED');
    expect(client.subscribed?.framework_info.id?.value).toBe(FRAMEWORK_ID);
    expect(events[0]!.subscribed?.agent_info.id).toEqual({ value: AGENT_ID });
    const launch = events[1]!;
    expect(launch.type).toBe('LAUNCH');
    expect(launch.launch?.task.name).toBe('Task 0');
    expect(launch.launch?.task.task_id).toEqual({ value: '0' });
    expect(launch.launch?.task.executor?.command?.value).toBe('/usr/local/libexec/mesos-examples/test-http-executor');
    // Decoded from JSON, the events are those of the protobuf recording.
    expect(events).toEqual(recordedEvents);

    await Promise.all(sent);
    await until(() => server.requests.filter((request) => request.callType === 'UPDATE').length === 2);
    for (const request of server.requests) {
      expect(request.header('content-type')).toBe('application/json');
      expect(request.header('accept')).toBe('application/json');
    }
    const subscription = server.requests.find((request) => request.callType === 'SUBSCRIBE')!;
    expect(decodeJsonCall(subscription)).toMatchObject({
      type: 'SUBSCRIBE',
      framework_id: { value: FRAMEWORK_ID },
      executor_id: { value: 'default' },
    });
    const updates = server.requests.filter((request) => request.callType === 'UPDATE');
    for (const [index, request] of updates.entries()) {
      const body = JSON.parse(Buffer.from(request.body).toString('utf8')) as {
        type: string;
        update: { status: { uuid: string; source: string; state: string; task_id: { value: string } } };
      };
      expect(body.type).toBe('UPDATE');
      const { status } = body.update;
      expect(status.source).toBe('SOURCE_EXECUTOR');
      expect(status.task_id).toEqual({ value: '0' });
      expect(status.state).toBe(index === 0 ? 'TASK_RUNNING' : 'TASK_FINISHED');
      expect(status.uuid).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
      const uuid = Buffer.from(status.uuid, 'base64');
      expect(uuid).toHaveLength(16);
      expect(uuid.toString('hex')).toBe(RECORDED_ACK_UUIDS[index]);
    }
    // The agent's ACKNOWLEDGED events, base64 in JSON, cleared exactly those updates.
    expect(client.unacknowledgedUpdates).toEqual([]);
    expect(await client.done).toMatchObject({ outcome: 'shutdown' });
    expect(server.mismatches).toEqual([]);
  });
});
