import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isSparkMesosError } from '@spark-mesos/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEDULER_CALL_CODECS, SCHEDULER_EVENT_CODECS } from './codec.js';
import {
  authorizationHeader,
  type MesosEventStream,
  type MesosStreamRequest,
  openMesosStream,
  sendMesosCall,
} from './mesos-http.js';
import { isRetryable, isSubscriptionLost } from './mesos-http-error.js';
import {
  encodeChunk,
  LAST_CHUNK,
  loadRecordedExchange,
  parseRecordedResponse,
  type ReplayServer,
  type ReplayStep,
  startReplayServer,
} from './testing/index.js';

const fixtures = (dir: string): string => fileURLToPath(new URL(`./__fixtures__/${dir}`, import.meta.url));
const JSON_TYPE = 'application/json';
const servers: ReplayServer[] = [];

async function replay(steps: ReplayStep[]): Promise<ReplayServer> {
  const server = await startReplayServer({ script: steps });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const subscribeBody = SCHEDULER_CALL_CODECS.json.encode({
  type: 'SUBSCRIBE',
  subscribe: { framework_info: { user: 'root', name: 'probe-flow' } },
});
const reviveBody = SCHEDULER_CALL_CODECS.json.encode({ type: 'REVIVE', framework_id: { value: 'f' } });

// Every stream test runs through both readers: undici's body stream (a dispatcher, or the
// global one) and the direct socket reader (`direct`), the scheduler client's default.
const TRANSPORTS: [string, { direct?: true }][] = [
  ['undici', {}],
  ['direct socket', { direct: true }],
];

describe.each(TRANSPORTS)('openMesosStream (%s)', (_name, transport) => {
  it('streams the recorded SUBSCRIBE answer as records, with its Mesos-Stream-Id', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await replay([{ match: { callType: 'SUBSCRIBE' }, respond: exchange }]);
    const stream = await openMesosStream({
      ...transport,
      url: `${server.url}/api/v1/scheduler`,
      body: subscribeBody,
      contentType: JSON_TYPE,
      callType: 'SUBSCRIBE',
    });
    expect(stream.status).toBe(200);
    expect(stream.streamId).toMatch(/^[0-9a-f-]{36}$/);
    const types: string[] = [];
    for await (const record of stream.records) types.push(SCHEDULER_EVENT_CODECS.json.decode(record).type ?? '?');
    // Mesos: SUBSCRIBED, then a HEARTBEAT at once, then offers and updates; TEARDOWN ends it.
    expect(types.slice(0, 3)).toEqual(['SUBSCRIBED', 'HEARTBEAT', 'OFFERS']);
    expect(types).toContain('UPDATE');
    const received = server.requests[0]!;
    expect(received.header('content-type')).toBe(JSON_TYPE);
    expect(received.header('accept')).toBe(JSON_TYPE);
    expect(received.header('mesos-stream-id')).toBeUndefined();
  });

  it('turns a stream cut mid-record into a lost subscription', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await replay([{ respond: exchange, cut: { afterBytes: 600 } }]);
    const stream = await openMesosStream({
      ...transport,
      url: `${server.url}/api/v1/scheduler`,
      body: subscribeBody,
      contentType: JSON_TYPE,
    });
    const seen: string[] = [];
    const failure = await (async () => {
      try {
        for await (const record of stream.records) seen.push(SCHEDULER_EVENT_CODECS.json.decode(record).type ?? '?');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(seen[0]).toBe('SUBSCRIBED');
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_NETWORK')).toBe(true);
    expect(isSubscriptionLost(failure)).toBe(true);
  });

  it('ends quietly when closed by its owner', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await replay([{ respond: exchange, hold: true }]);
    const stream = await openMesosStream({
      ...transport,
      url: `${server.url}/api/v1/scheduler`,
      body: subscribeBody,
      contentType: JSON_TYPE,
    });
    const first = await stream.records.next();
    expect(SCHEDULER_EVENT_CODECS.json.decode(first.value as Uint8Array).type).toBe('SUBSCRIBED');
    stream.close();
    const rest: Uint8Array[] = [];
    for await (const record of stream.records) rest.push(record);
    expect(rest.length).toBeLessThan(50);
  });

  it('streams the same records as batches (never empty), fewer batches than records', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    // Served 20 times over at full speed: reads that complete many records at once.
    const server = await replay([{ match: { callType: 'SUBSCRIBE' }, respond: exchange, repeat: 20, times: 2 }]);
    const open = () =>
      openMesosStream({
        ...transport,
        url: `${server.url}/api/v1/scheduler`,
        body: subscribeBody,
        contentType: JSON_TYPE,
        callType: 'SUBSCRIBE',
      });
    const one = await open();
    const viaRecords: Uint8Array[] = [];
    for await (const record of one.records) viaRecords.push(record);
    const two = await open();
    const viaBatches: Uint8Array[] = [];
    let batches = 0;
    for await (const batch of two.batches) {
      expect(batch.length).toBeGreaterThan(0);
      batches += 1;
      viaBatches.push(...batch);
    }
    const text = (records: Uint8Array[]) => records.map((record) => Buffer.from(record).toString('utf8'));
    expect(viaRecords.length).toBeGreaterThan(20);
    expect(text(viaBatches)).toEqual(text(viaRecords));
    expect(viaBatches.map((record) => SCHEDULER_EVENT_CODECS.json.decode(record).type).slice(0, 3)).toEqual([
      'SUBSCRIBED',
      'HEARTBEAT',
      'OFFERS',
    ]);
    expect(batches).toBeLessThan(viaBatches.length);
    expect(two.streamId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('turns a stream cut mid-record into a lost subscription through batches too, the truncation as cause', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await replay([{ respond: exchange, cut: { afterBytes: 600 } }]);
    const stream = await openMesosStream({
      ...transport,
      url: `${server.url}/api/v1/scheduler`,
      body: subscribeBody,
      contentType: JSON_TYPE,
    });
    const seen: string[] = [];
    const failure = await (async () => {
      try {
        for await (const batch of stream.batches) {
          for (const record of batch) seen.push(SCHEDULER_EVENT_CODECS.json.decode(record).type ?? '?');
        }
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(seen[0]).toBe('SUBSCRIBED');
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_NETWORK') && failure.details.stream === true).toBe(true);
    expect(isSubscriptionLost(failure)).toBe(true);
  });

  it('turns a stream that ends cleanly mid-record into a lost subscription, the truncation as cause', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    // The recorded head, then 600 bytes of the recorded events as one chunk, then the final chunk.
    const cutShort = {
      ...exchange.response,
      body: Buffer.concat([encodeChunk(exchange.response.decodedBody.subarray(0, 600)), LAST_CHUNK]),
      decodedBody: exchange.response.decodedBody.subarray(0, 600),
      terminated: true,
    };
    const server = await replay([{ respond: cutShort }]);
    const stream = await openMesosStream({
      ...transport,
      url: `${server.url}/api/v1/scheduler`,
      body: subscribeBody,
      contentType: JSON_TYPE,
    });
    let records = 0;
    const failure = await (async () => {
      try {
        for await (const batch of stream.batches) records += batch.length;
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(records).toBeGreaterThan(0);
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_NETWORK') && failure.details.stream === true).toBe(true);
    expect(isSubscriptionLost(failure)).toBe(true);
    expect(isSparkMesosError((failure as Error).cause, 'SM_ERR_RECORDIO_TRUNCATED')).toBe(true);
  });

  it('ends batches quietly when closed by its owner', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await replay([{ respond: exchange, hold: true }]);
    const stream = await openMesosStream({
      ...transport,
      url: `${server.url}/api/v1/scheduler`,
      body: subscribeBody,
      contentType: JSON_TYPE,
    });
    const first = await stream.batches.next();
    expect(SCHEDULER_EVENT_CODECS.json.decode((first.value as Uint8Array[])[0]!).type).toBe('SUBSCRIBED');
    stream.close();
    stream.close(); // idempotent
    let rest = 0;
    for await (const batch of stream.batches) rest += batch.length;
    expect(rest).toBeLessThan(50);
  });

  it('refuses a record larger than maxRecordBytes with SM_ERR_RECORDIO_TOO_LARGE, passed through unwrapped', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await replay([{ respond: exchange }]);
    // The recorded HEARTBEAT is small, the SUBSCRIBED and OFFERS records are not.
    const stream = await openMesosStream({
      ...transport,
      url: `${server.url}/api/v1/scheduler`,
      body: subscribeBody,
      contentType: JSON_TYPE,
      maxRecordBytes: 300,
    });
    const failure = await (async () => {
      try {
        for await (const _batch of stream.batches) {
          // Nothing fits: the first record is already too large.
        }
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(isSparkMesosError(failure, 'SM_ERR_RECORDIO_TOO_LARGE')).toBe(true);
    expect((failure as { details: { maxRecordBytes: number } }).details.maxRecordBytes).toBe(300);
  });

  it('reports a non-leading master as SM_ERR_NOT_LEADER with the leader URL in our scheme', async () => {
    const exchange = await loadRecordedExchange(fixtures('zookeeper_ha'), 'subscribe-nonleader');
    const server = await replay([{ respond: exchange }]);
    await expect(
      openMesosStream({
        ...transport,
        url: `${server.url}/api/v1/scheduler`,
        body: subscribeBody,
        contentType: JSON_TYPE,
      }),
    ).rejects.toSatisfy(
      (error) =>
        isSparkMesosError(error, 'SM_ERR_NOT_LEADER') &&
        error.details.leaderUrl === 'http://127.0.0.1:5060/master/api/v1/scheduler' &&
        isRetryable(error),
    );
  });
});

describe('openMesosStream through the direct socket reader', () => {
  const recordsOf = async (stream: MesosEventStream): Promise<string[]> => {
    const types: string[] = [];
    for await (const batch of stream.batches)
      for (const record of batch) types.push(SCHEDULER_EVENT_CODECS.json.decode(record).type ?? '?');
    return types;
  };
  const open = (server: ReplayServer, extra: Partial<MesosStreamRequest> = {}) =>
    openMesosStream({
      url: `${server.url}/api/v1/scheduler`,
      body: subscribeBody,
      contentType: JSON_TYPE,
      callType: 'SUBSCRIBE',
      direct: true,
      ...extra,
    });

  it('reads a Content-Length body and a close-delimited body as well as a chunked one', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const events = exchange.response.decodedBody;
    const expected = await recordsOf(await open(await replay([{ respond: exchange }])));
    expect(expected.slice(0, 2)).toEqual(['SUBSCRIBED', 'HEARTBEAT']);
    const head = (framing: string) =>
      Buffer.from(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${framing}Mesos-Stream-Id: s-1\r\n\r\n`,
        'latin1',
      );
    const withLength = parseRecordedResponse(Buffer.concat([head(`Content-Length: ${events.length}\r\n`), events]));
    const stream = await open(await replay([{ respond: withLength }]));
    expect(stream.streamId).toBe('s-1');
    expect(await recordsOf(stream)).toEqual(expected);
    // No length, no chunking: the body ends when the server closes the connection.
    // (`terminated: false`: the replay server then ends the connection after the bytes.)
    const untilClose = { ...parseRecordedResponse(Buffer.concat([head(''), events])), terminated: false };
    expect(await recordsOf(await open(await replay([{ respond: untilClose }])))).toEqual(expected);
  });

  it('keeps at most 4 KiB of the text of a 503 with a long chunked body', async () => {
    const text = `No leader elected ${'x'.repeat(10_000)}`;
    const unavailable = parseRecordedResponse(
      Buffer.concat([
        Buffer.from('HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n', 'latin1'),
        encodeChunk(Buffer.from(text.slice(0, 3000))),
        encodeChunk(Buffer.from(text.slice(3000))),
        LAST_CHUNK,
      ]),
    );
    const failure = await open(await replay([{ respond: unavailable }])).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_UNAVAILABLE')).toBe(true);
    const body = String((failure as { details: { body: unknown } }).details.body);
    expect(body.startsWith('No leader elected')).toBe(true);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(4096 + 64);
  });

  it('fails at timeoutMs when no response head comes, and rejects with the reason when aborted', async () => {
    // A server that accepts and never answers.
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}/api/v1/scheduler`;
    try {
      const base = { url, body: subscribeBody, contentType: JSON_TYPE, callType: 'SUBSCRIBE', direct: true } as const;
      await expect(openMesosStream({ ...base, timeoutMs: 150 })).rejects.toSatisfy(
        (error) =>
          isSparkMesosError(error, 'SM_ERR_MESOS_NETWORK') && /no response head within 150 ms/.test(error.message),
      );
      const controller = new AbortController();
      const reason = new Error('stop');
      setTimeout(() => controller.abort(reason), 50);
      await expect(openMesosStream({ ...base, signal: controller.signal })).rejects.toBe(reason);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('turns a connection closed before the head into a retryable SM_ERR_MESOS_NETWORK', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'flow-subscribe');
    const server = await replay([{ respond: exchange, dropWithoutAnswer: true }]);
    await expect(open(server)).rejects.toSatisfy(
      (error) =>
        isSparkMesosError(error, 'SM_ERR_MESOS_NETWORK') &&
        /other side closed/.test(error.message) &&
        isRetryable(error),
    );
  });

  it('sends the request headers and Basic credentials, and never lets the secret into the recorded 401 error', async () => {
    const exchange = await loadRecordedExchange(fixtures('auth'), 'subscribe-wrongpass');
    const server = await replay([{ respond: exchange }]);
    const authorization = { kind: 'basic', principal: 'spark', secret: 'not-the-secret-42' } as const;
    const failure = await open(server, { authorization }).catch((error: unknown) => error);
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_UNAUTHORIZED')).toBe(true);
    const received = server.requests[0]!;
    expect(received.header('authorization')).toBe(authorizationHeader(authorization));
    expect(received.header('content-type')).toBe(JSON_TYPE);
    expect(received.header('accept')).toBe(JSON_TYPE);
    expect(received.header('host')).toBe(`127.0.0.1:${server.port}`);
    expect(Number(received.header('content-length'))).toBe(subscribeBody.length);
    const everything = JSON.stringify({
      message: (failure as Error).message,
      details: (failure as { details: unknown }).details,
    });
    expect(everything).not.toContain('not-the-secret-42');
    expect(everything).not.toContain(authorizationHeader(authorization).slice(6));
  });
});

describe('sendMesosCall', () => {
  it('returns the recorded 202 of an accepted call and sends the stream id', async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'ok-revive-no-accept-header');
    const server = await replay([{ respond: exchange }]);
    const answer = await sendMesosCall({
      url: `${server.url}/api/v1/scheduler`,
      body: reviveBody,
      contentType: JSON_TYPE,
      streamId: 'stream-1',
    });
    expect(answer.status).toBe(202);
    expect(answer.body.length).toBe(0);
    expect(server.requests[0]!.header('mesos-stream-id')).toBe('stream-1');
  });

  it("throws Mesos' recorded 400 for a wrong stream id as a lost subscription", async () => {
    const exchange = await loadRecordedExchange(fixtures('flow'), 'err-wrong-stream-id');
    const server = await replay([{ respond: exchange }]);
    const failure = await sendMesosCall({
      url: `${server.url}/api/v1/scheduler`,
      body: reviveBody,
      contentType: JSON_TYPE,
      streamId: 'stale',
      callType: 'REVIVE',
    }).catch((error: unknown) => error);
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_BAD_REQUEST')).toBe(true);
    expect(isSubscriptionLost(failure)).toBe(true);
    expect((failure as Error).message).toContain("didn't match the stream ID");
  });

  it('sends Basic credentials and never lets the secret into the 401 error', async () => {
    const exchange = await loadRecordedExchange(fixtures('auth'), 'subscribe-wrongpass');
    const server = await replay([{ respond: exchange }]);
    const authorization = { kind: 'basic', principal: 'spark', secret: 'not-the-secret-42' } as const;
    const failure = await sendMesosCall({
      url: `${server.url}/api/v1/scheduler`,
      body: subscribeBody,
      contentType: JSON_TYPE,
      authorization,
    }).catch((error: unknown) => error);
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_UNAUTHORIZED')).toBe(true);
    expect(server.requests[0]!.header('authorization')).toBe(authorizationHeader(authorization));
    const everything = JSON.stringify({
      message: (failure as Error).message,
      details: (failure as { details: unknown }).details,
    });
    expect(everything).not.toContain('not-the-secret-42');
    expect(everything).not.toContain(authorizationHeader(authorization).slice(6));
  });

  it('turns a refused connection into a retryable SM_ERR_MESOS_NETWORK', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const failure = await sendMesosCall({
      url: `http://127.0.0.1:${port}/api/v1/scheduler`,
      body: reviveBody,
      contentType: JSON_TYPE,
    }).catch((error: unknown) => error);
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_NETWORK')).toBe(true);
    expect(isRetryable(failure)).toBe(true);
    expect(isSubscriptionLost(failure)).toBe(false);
  });
});

describe('authorizationHeader', () => {
  it('builds Basic and Bearer values', () => {
    expect(authorizationHeader({ kind: 'basic', principal: 'spark', secret: 's3' })).toBe(
      `Basic ${Buffer.from('spark:s3').toString('base64')}`,
    );
    expect(authorizationHeader({ kind: 'bearer', token: 't0k' })).toBe('Bearer t0k');
  });
});
