import type { Logger } from '@spark-mesos/master-url';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEDULER_EVENT_CODECS } from './codec.js';
import type { SchedulerEvent } from './generated/mesos-types.js';
import { decodeRecordIo, encodeRecordIo } from './recordio.js';
import { createSchedulerClient, type SchedulerClient, type SchedulerClientOptions } from './scheduler-client.js';
import { calls, frameworkInfoOf, load, receivedCall, until } from './scheduler-client.test-support.js';
import {
  encodeChunk,
  type RecordedExchange,
  type RecordedResponse,
  type ReplayServer,
  type ReplayStep,
  startReplayServer,
} from './testing/index.js';

// The scheduler client reads its stream in batches (every record one read from the socket
// completed) and handles them synchronously; these tests pin what that must not change: events
// in order, one at a time when a listener returns a promise, acknowledgement only once handled,
// and the events after SUBSCRIBED reaching an iterator opened right after `await start()`.

const servers: ReplayServer[] = [];
const clients: SchedulerClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function replay(script: ReplayStep[]): Promise<ReplayServer> {
  const server = await startReplayServer({ script });
  servers.push(server);
  return server;
}

const silent: Logger = { warn: () => {}, info: () => {}, debug: () => {} };

function client(options: Partial<SchedulerClientOptions> & Pick<SchedulerClientOptions, 'master' | 'frameworkInfo'>) {
  const created = createSchedulerClient({ logger: silent, ...options });
  clients.push(created);
  return created;
}

async function recordsOf(exchange: RecordedExchange): Promise<Uint8Array[]> {
  const records: Uint8Array[] = [];
  for await (const record of decodeRecordIo([exchange.response.decodedBody])) records.push(record);
  return records;
}

/**
 * The recorded SUBSCRIBE answer with its first `count` events written together with the head (one
 * socket write, so one read on the client: SUBSCRIBED and the events after it in one batch), the
 * stream then held open.
 */
async function inOneWrite(exchange: RecordedExchange, count: number): Promise<RecordedResponse> {
  const records = (await recordsOf(exchange)).slice(0, count);
  const chunks = records.map((record) => encodeChunk(encodeRecordIo(record)));
  return {
    ...exchange.response,
    head: Buffer.concat([exchange.response.head, ...chunks]),
    body: new Uint8Array(0),
    decodedBody: new Uint8Array(0),
    terminated: false,
  };
}

describe('scheduler client reading its stream in batches', () => {
  it('a listener added or removed by a listener takes effect from the next event of the same read', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    const response = await inOneWrite(subscribe, 3); // SUBSCRIBED, HEARTBEAT, OFFERS
    const server = await replay([{ match: { callType: 'SUBSCRIBE' }, respond: response, hold: true }]);
    const scheduler = client({
      master: server.url,
      frameworkInfo: frameworkInfoOf(subscribe),
      encoding: 'json',
      reconcile: { enabled: false },
    });
    const seen: string[] = [];
    const offFirst = scheduler.on('event', (event) => {
      seen.push(`first ${event.type}`);
      if (event.type !== 'HEARTBEAT') return;
      // During HEARTBEAT: 'late' is added (from OFFERS on), 'first' removed (after HEARTBEAT).
      scheduler.on('event', (later) => {
        seen.push(`late ${later.type}`);
      });
      offFirst();
    });
    scheduler.on('OFFERS', (event) => {
      seen.push(`typed ${event.type}`);
    });
    await scheduler.start();
    await until(() => seen.includes('late OFFERS'), 'OFFERS handed to the listener added during HEARTBEAT');
    // Listeners of the type come before those of every event.
    expect(seen).toEqual(['first SUBSCRIBED', 'first HEARTBEAT', 'typed OFFERS', 'late OFFERS']);
    expect(server.mismatches).toEqual([]);
  });

  it('an iterator opened right after `await start()` gets the events that came in the same read as SUBSCRIBED', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    const response = await inOneWrite(subscribe, 3); // SUBSCRIBED, HEARTBEAT, OFFERS
    const server = await replay([{ match: { callType: 'SUBSCRIBE' }, respond: response, hold: true }]);
    const scheduler = client({
      master: server.url,
      frameworkInfo: frameworkInfoOf(subscribe),
      encoding: 'json',
      reconcile: { enabled: false },
    });
    // An application's own connect(): start() awaited a few promise hops away.
    const connect = async (): Promise<SchedulerClient> => {
      await scheduler.start();
      await Promise.resolve();
      await (async () => {})();
      return scheduler;
    };
    const iterator = (await connect()).events();
    expect((await iterator.next()).value?.type).toBe('HEARTBEAT');
    expect((await iterator.next()).value?.type).toBe('OFFERS');
    await iterator.return?.();
    expect(server.mismatches).toEqual([]);
  });

  it('hands events one at a time, in order, to a listener that returns a promise', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    const recorded = (await recordsOf(subscribe)).map((record) => SCHEDULER_EVENT_CODECS.json.decode(record).type);
    // Served 10 times over at full speed: reads that complete many events at once.
    const server = await replay([{ match: { callType: 'SUBSCRIBE' }, respond: subscribe, repeat: 10, hold: true }]);
    const scheduler = client({
      master: server.url,
      frameworkInfo: frameworkInfoOf(subscribe),
      encoding: 'json',
      autoAcknowledge: false,
      reconcile: { enabled: false },
    });
    // `repeat` re-sends every data chunk, SUBSCRIBED included.
    const expected = Array.from({ length: 10 }, () => recorded).flat();
    const seen: Array<string | undefined> = [];
    let inFlight = 0;
    let maxInFlight = 0;
    scheduler.on('event', async (event: SchedulerEvent) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      seen.push(event.type);
      // Every few events, a real wait: the stream must not move on meanwhile.
      await (seen.length % 7 === 0 ? new Promise((resolve) => setTimeout(resolve, 1)) : Promise.resolve());
      inFlight -= 1;
    });
    await scheduler.start();
    await until(() => seen.length === expected.length, `${expected.length} events`);
    expect(maxInFlight).toBe(1);
    expect(seen).toEqual(expected);
  });

  it('acknowledges an update in the middle of a batch only once the consumer asked for the event after it', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    const acks = await Promise.all(
      ['ack-1-TASK_STARTING', 'ack-2-TASK_RUNNING', 'ack-3-TASK_FINISHED'].map((name) => load('flow', name)),
    );
    const records = await recordsOf(subscribe);
    const types = records.map((record) => SCHEDULER_EVENT_CODECS.json.decode(record).type);
    const firstUpdate = types.indexOf('UPDATE');
    expect(firstUpdate).toBeGreaterThan(0);
    // Everything up to two events past the first update in one read.
    const response = await inOneWrite(subscribe, firstUpdate + 3);
    const server = await replay([
      { match: { callType: 'SUBSCRIBE' }, respond: response, hold: true },
      ...acks.map((ack) => ({ match: { callType: 'ACKNOWLEDGE' }, respond: ack })),
    ]);
    const scheduler = client({
      master: server.url,
      frameworkInfo: frameworkInfoOf(subscribe),
      encoding: 'json',
      reconcile: { enabled: false },
    });
    let listened = 0;
    scheduler.on('event', () => {
      listened += 1;
    });
    const iterator = scheduler.events();
    for (let i = 0; i < firstUpdate; i += 1) await iterator.next();
    const update = (await iterator.next()).value as SchedulerEvent;
    expect(update.type).toBe('UPDATE');
    expect(update.update?.status.uuid).toBeDefined();
    // The whole read was dispatched (the listener saw the events after the update)…
    await until(() => listened === firstUpdate + 3, 'the events of the read handed to the listener');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // …but the update is not handled until the iterator asks for the next event.
    expect(calls(server, 'ACKNOWLEDGE')).toHaveLength(0);
    await iterator.next();
    await until(() => calls(server, 'ACKNOWLEDGE').length === 1, 'the acknowledgement');
    expect(receivedCall(calls(server, 'ACKNOWLEDGE')[0]!).acknowledge!.uuid).toEqual(update.update!.status.uuid);
    await iterator.return?.();
  });
});
