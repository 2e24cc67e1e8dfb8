import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isSparkMesosError } from '@spark-mesos/errors';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createMesosHttpError, createMesosNetworkError, isSubscriptionLost } from '../mesos-http-error.js';
import { decodeRecordIo } from '../recordio.js';
import { getHeader } from './http-message.js';
import { loadRecordedExchange, type RecordedExchange } from './recorded-exchange.js';
import { type ReplayServer, type ReplayStep, startReplayServer } from './replay-server.js';

const fixtures = (dir = ''): string => fileURLToPath(new URL(`../__fixtures__/${dir}`, import.meta.url));
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

const started: ReplayServer[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
  await Promise.all(started.splice(0).map((server) => server.close()));
});

async function start(script: ReplayStep[]): Promise<ReplayServer> {
  const server = await startReplayServer({ script });
  started.push(server);
  return server;
}

function agent(): Agent {
  const created = new Agent();
  agents.push(created);
  return created;
}

/** Re-sends a recorded request (method, headers that matter, body) with undici. */
function replayRequest(server: ReplayServer, exchange: RecordedExchange, dispatcher = agent()) {
  const recorded = exchange.request!;
  const headers: Record<string, string> = {};
  for (const [name, value] of recorded.headers) {
    if (!/^(host|content-length|connection|transfer-encoding)$/i.test(name)) headers[name] = value;
  }
  return request(`${server.url}${recorded.path}`, {
    method: recorded.method as 'POST',
    headers,
    ...(recorded.method === 'GET' ? {} : { body: Buffer.from(recorded.body) }),
    dispatcher,
  });
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

describe('replay server', () => {
  it('serves flow/flow-subscribe byte for byte: body, Mesos-Stream-Id, events', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await start([
      { match: { method: 'POST', path: '/api/v1/scheduler', callType: 'SUBSCRIBE' }, respond: exchange },
    ]);
    const response = await replayRequest(server, exchange);
    expect(response.statusCode).toBe(200);
    expect(response.headers['mesos-stream-id']).toBe(getHeader(exchange.response.headers, 'Mesos-Stream-Id'));
    expect(response.headers['content-type']).toBe('application/json');
    const records: string[] = [];
    for await (const record of decodeRecordIo(response.body))
      records.push((JSON.parse(text(record)) as { type: string }).type);
    expect(records).toEqual([
      'SUBSCRIBED',
      'HEARTBEAT',
      'OFFERS',
      'UPDATE',
      'UPDATE',
      'OFFERS',
      'UPDATE',
      'UPDATE',
      'OFFERS',
    ]);
    expect(server.requests).toHaveLength(1);
    const received = server.requests[0]!;
    expect(received).toMatchObject({ method: 'POST', path: '/api/v1/scheduler', callType: 'SUBSCRIBE', step: 0 });
    expect(Buffer.from(received.body).equals(Buffer.from(exchange.request!.body))).toBe(true);
    expect(received.header('content-type')).toBe('application/json');
    expect(server.mismatches).toEqual([]);
    expect(server.unusedSteps()).toEqual([]);
  });

  it('the de-chunked body equals the recording exactly', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await start([{ respond: exchange }]);
    const response = await replayRequest(server, exchange);
    expect((await readAll(response.body)).equals(Buffer.from(exchange.response.decodedBody))).toBe(true);
  });

  it('answers every flow/err-* with its recorded status and body, over kept-alive connections', async () => {
    const names = readdirSync(fixtures('flow'))
      .filter((file) => file.startsWith('err-') && file.endsWith('.response.raw'))
      .map((file) => file.replace('.response.raw', ''));
    const exchanges = await Promise.all(names.map((name) => loadRecordedExchange(fixtures('flow'), name)));
    const server = await start(exchanges.map((exchange) => ({ respond: exchange })));
    const dispatcher = agent();
    for (const exchange of exchanges) {
      const response = await replayRequest(server, exchange, dispatcher);
      const body = await readAll(response.body);
      expect(response.statusCode, exchange.name).toBe(exchange.response.status);
      expect(body.equals(Buffer.from(exchange.response.decodedBody))).toBe(true);
      if (response.statusCode >= 300) {
        const error = createMesosHttpError({
          method: exchange.request!.method,
          url: `${server.url}${exchange.request!.path}`,
          status: response.statusCode,
          headers: response.headers as Record<string, string>,
          body,
        });
        expect(error.code).toMatch(/^SM_ERR_MESOS_/);
      }
    }
    expect(server.requests.map((r) => r.step)).toEqual(exchanges.map((_, index) => index));
    // Connections are kept alive and reused (undici's pool may alternate between two).
    expect(new Set(server.requests.map((r) => r.connection)).size).toBeLessThanOrEqual(2);
    expect(server.mismatches).toEqual([]);
  });

  it('zookeeper_ha/subscribe-nonleader: 307 with the protocol-relative Location', async () => {
    const exchange = await loadRecordedExchange(fixtures('zookeeper_ha'), 'subscribe-nonleader');
    const server = await start([{ match: { callType: 'SUBSCRIBE' }, respond: exchange }]);
    const response = await request(`${server.url}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"ha-probe"}}}',
      dispatcher: agent(),
    });
    await readAll(response.body);
    expect(response.statusCode).toBe(307);
    expect(response.headers.location).toBe('//127.0.0.1:5060/master/api/v1/scheduler');
    const error = createMesosHttpError({
      method: 'POST',
      url: `${server.url}/api/v1/scheduler`,
      status: response.statusCode,
      headers: response.headers as Record<string, string>,
      body: '',
    });
    expect(error.code).toBe('SM_ERR_NOT_LEADER');
    expect(error.details.leaderUrl).toBe('http://127.0.0.1:5060/master/api/v1/scheduler');
  });

  it('recorded pacing reproduces the recv() boundaries and timing (flow_pb/pb-subscribe)', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow_pb'), 'pb-subscribe');
    const timeline = exchange.response.timeline!;
    expect(timeline.length).toBeGreaterThan(3);
    const server = await start([{ respond: exchange, pacing: 'recorded' }]);
    const socket = connect(server.port, '127.0.0.1');
    const began = Date.now();
    socket.write(exchange.request!.raw);
    const received: number[] = [];
    let total = 0;
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (data: Buffer) => {
        total += data.length;
        received.push(total);
      });
      socket.on('end', resolve);
      socket.on('error', reject);
    });
    const elapsed = Date.now() - began;
    socket.destroy();
    const boundaries: number[] = [];
    let sum = 0;
    for (const recv of timeline) {
      sum += recv.bytes;
      boundaries.push(sum);
    }
    expect(total).toBe(exchange.response.head.length + exchange.response.body.length);
    // Each read ends at a recorded recv() boundary (close reads may coalesce on a busy machine)…
    for (const end of received) expect(boundaries).toContain(end);
    // …and those separated by long recorded pauses arrive separately.
    for (const [index, recv] of timeline.entries()) {
      if (index > 0 && recv.atMs - timeline[index - 1]!.atMs >= 50) expect(received).toContain(boundaries[index - 1]);
    }
    expect(elapsed).toBeGreaterThanOrEqual(timeline.at(-1)!.atMs - timeline[0]!.atMs - 20);
  });

  it('cut mid-record closes the socket: records before it arrive, then the stream fails', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    // Cut inside the OFFERS record: past SUBSCRIBED (1c4 chunk) and HEARTBEAT (17 chunk).
    const server = await start([{ respond: exchange, cut: { afterBytes: 600 } }]);
    const response = await replayRequest(server, exchange);
    expect(response.statusCode).toBe(200);
    const records: string[] = [];
    let failure: unknown;
    try {
      for await (const record of decodeRecordIo(response.body))
        records.push((JSON.parse(text(record)) as { type: string }).type);
    } catch (error) {
      failure = createMesosNetworkError('POST', `${server.url}/api/v1/scheduler`, error, {
        stream: true,
        callType: 'SUBSCRIBE',
      });
    }
    expect(records).toEqual(['SUBSCRIBED', 'HEARTBEAT']);
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_NETWORK')).toBe(true);
    expect(isSubscriptionLost(failure)).toBe(true);
  });

  it('garbage appended as a chunk reaches the RecordIO decoder after the real records', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await start([{ respond: exchange, garbage: Buffer.from('not-recordio\n') }]);
    const response = await replayRequest(server, exchange);
    let count = 0;
    await expect(
      (async () => {
        for await (const _record of decodeRecordIo(response.body)) count += 1;
      })(),
    ).rejects.toMatchObject({ code: 'SM_ERR_RECORDIO_BAD_LENGTH' });
    expect(count).toBe(9);
  });

  it('hold keeps the stream open after the recording; close() ends it', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await startReplayServer({ script: [{ respond: exchange, hold: true }] });
    const response = await replayRequest(server, exchange);
    const iterator = decodeRecordIo(response.body);
    for (let i = 0; i < 9; i += 1) expect((await iterator.next()).done).toBe(false);
    const next = iterator.next();
    const outcome = await Promise.race([
      next.then(
        () => 'ended',
        () => 'failed',
      ),
      new Promise((r) => setTimeout(r, 200, 'open')),
    ]);
    expect(outcome).toBe('open');
    await server.close();
    await expect(next).rejects.toBeDefined();
  });

  it('repeat serves a real stream n times (one head, one final chunk)', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await start([{ respond: exchange, repeat: 500 }]);
    const response = await replayRequest(server, exchange);
    let count = 0;
    let bytes = 0;
    for await (const record of decodeRecordIo(response.body)) {
      count += 1;
      bytes += record.length;
    }
    expect(count).toBe(9 * 500);
    let once = 0;
    for await (const record of decodeRecordIo([exchange.response.decodedBody])) once += record.length;
    expect(bytes).toBe(500 * once);
  });

  it('loads the curl forms: headers.txt + stream.bin (re-chunked per record) and headers.txt + body', async () => {
    const stream = await loadRecordedExchange(fixtures(), 'subscribe-protobuf');
    const rawChunked = await loadRecordedExchange(fixtures(), 'subscribe-json-rawchunked');
    const unauthorized = await loadRecordedExchange(fixtures('auth'), 'subscribe-noauth');
    const server = await start([
      {
        match: { callType: 'SUBSCRIBE', test: (r) => r.header('accept') === 'application/x-protobuf' },
        respond: stream,
      },
      { match: { test: (r) => r.header('authorization') === undefined && r.path === '/auth' }, respond: unauthorized },
      { match: { callType: 'SUBSCRIBE' }, respond: rawChunked },
    ]);
    const subscribe = Buffer.from('{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"probe"}}}');
    const pb = await request(`${server.url}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-protobuf' },
      body: subscribe,
      dispatcher: agent(),
    });
    // The curl capture has no final chunk: the stream ends when the server closes.
    const pbRecords: number[] = [];
    await expect(
      (async () => {
        for await (const record of decodeRecordIo(pb.body)) pbRecords.push(record.length);
      })(),
    ).rejects.toBeDefined();
    expect(pbRecords).toEqual([188, 2, 293]);
    const denied = await request(`${server.url}/auth`, { method: 'POST', body: subscribe, dispatcher: agent() });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['www-authenticate']).toBe('Basic realm="mesos-master-scheduler"');
    expect((await readAll(denied.body)).toString()).toBe('401 Unauthorized.');
    const json = await request(`${server.url}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: subscribe,
      dispatcher: agent(),
    });
    const jsonRecords: number[] = [];
    await expect(
      (async () => {
        for await (const record of decodeRecordIo(json.body)) jsonRecords.push(record.length);
      })(),
    ).rejects.toBeDefined();
    expect(jsonRecords).toEqual([448, 20, 671]);
  });

  it('matches protobuf calls by type (flow_pb requests)', async () => {
    const names = ['pb-subscribe', 'pb-accept-launch', 'pb-ack-TASK_RUNNING', 'pb-teardown'];
    const exchanges = await Promise.all(names.map((name) => loadRecordedExchange(fixtures('flow_pb'), name)));
    const types = ['SUBSCRIBE', 'ACCEPT', 'ACKNOWLEDGE', 'TEARDOWN'];
    const server = await start(
      exchanges.map((exchange, index) => ({
        match: { callType: types[index]! },
        respond: exchange,
      })),
    );
    // Send in reverse order: matching is by call type, not position. Skip the stream body.
    for (const exchange of exchanges.slice(1).reverse()) {
      const response = await replayRequest(server, exchange);
      await readAll(response.body);
      expect(response.statusCode).toBe(202);
    }
    expect(server.requests.map((r) => r.callType)).toEqual(['TEARDOWN', 'ACKNOWLEDGE', 'ACCEPT']);
    expect(server.unusedSteps()).toEqual([0]);
  });

  it('answers an unmatched request 500 naming what was expected, and records the mismatch', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'teardown');
    const server = await start([{ match: { method: 'POST', callType: 'TEARDOWN' }, respond: exchange }]);
    const response = await request(`${server.url}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"REVIVE"}',
      dispatcher: agent(),
    });
    const body = (await readAll(response.body)).toString();
    expect(response.statusCode).toBe(500);
    expect(body).toBe(
      'replay server: no script step matches POST /api/v1/scheduler (call REVIVE); expected step 0: POST * (call TEARDOWN).',
    );
    expect(server.mismatches).toHaveLength(1);
    expect(server.unusedSteps()).toEqual([0]);
  });

  it('parses pipelined requests and a chunked request body on one connection', async () => {
    const accepted = await loadRecordedExchange(fixtures('flow'), 'ok-revive-no-accept-header');
    const server = await start([{ respond: accepted, times: 2 }]);
    const socket = connect(server.port, '127.0.0.1');
    const json = '{"type":"REVIVE"}';
    socket.write(
      `POST /api/v1/scheduler HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}` +
        `POST /api/v1/scheduler HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `5\r\n{"typ\r\n${(json.length - 5).toString(16)}\r\n${json.slice(5)}\r\n0\r\n\r\n`,
    );
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve) => {
      socket.on('data', (data: Buffer) => chunks.push(data));
      socket.on('end', resolve);
    });
    socket.destroy();
    const raw = Buffer.from(accepted.response.head).toString('latin1');
    expect(Buffer.concat(chunks).toString('latin1')).toBe(raw + raw);
    expect(server.requests.map((r) => r.callType)).toEqual(['REVIVE', 'REVIVE']);
    expect(text(server.requests[1]!.body)).toBe(json);
  });
});
