import { isSparkMesosError, type SparkMesosError } from '@spark-mesos/errors';
import type { LeaderListener, MasterAddress, MasterDetector } from '@spark-mesos/master-url';
import { afterEach, describe, expect, it } from 'vitest';
import type { FrameworkInfo, SchedulerEvent } from './generated/mesos-types.js';
import { filters } from './scheduler-calls.js';
import { createSchedulerClient, type SchedulerClient, type SchedulerClientOptions } from './scheduler-client.js';
import {
  calls,
  fastTimers,
  type LogLine,
  load,
  quietLogger,
  receivedCall,
  recordedCall,
  until,
} from './scheduler-client.test-support.js';
import {
  parseRecordedResponse,
  type RecordedResponse,
  type ReplayServer,
  type ReplayStep,
  startReplayServer,
} from './testing/index.js';

const servers: ReplayServer[] = [];
const clients: SchedulerClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function replay(script: ReplayStep[], port?: number): Promise<ReplayServer> {
  const server = await startReplayServer({ script, ...(port === undefined ? {} : { port }) });
  servers.push(server);
  return server;
}

function client(options: Partial<SchedulerClientOptions> & Pick<SchedulerClientOptions, 'master' | 'frameworkInfo'>) {
  const created = createSchedulerClient({ logger: quietLogger(), ...options });
  clients.push(created);
  return created;
}

/** Collects events until `stop` says so (then leaves the iterator, which acknowledges the last one). */
async function collect(
  iterator: AsyncIterableIterator<SchedulerEvent>,
  stop: (events: SchedulerEvent[]) => boolean,
): Promise<SchedulerEvent[]> {
  const events: SchedulerEvent[] = [];
  for await (const event of iterator) {
    events.push(event);
    if (stop(events)) break;
  }
  return events;
}

/** A recorded response with only its `Location` header rewritten (the rest byte for byte). */
function withLocation(response: RecordedResponse, location: string): RecordedResponse {
  const head = Buffer.from(response.head)
    .toString('latin1')
    .replace(/^Location: .*$/m, `Location: ${location}`);
  return parseRecordedResponse(Buffer.concat([Buffer.from(head, 'latin1'), response.body]));
}

const FLOW_FRAMEWORK_ID = '5cdd377a-dae9-4944-98c2-8f0426d20e10-0004';
const FLOW2_FRAMEWORK_ID = '5cdd377a-dae9-4944-98c2-8f0426d20e10-0007';

describe('scheduler client on the recorded JSON flow', () => {
  it('subscribes, adopts the framework id, auto-acknowledges updates with a uuid only, and sends calls on another connection', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    const acks = await Promise.all(
      ['ack-1-TASK_STARTING', 'ack-2-TASK_RUNNING', 'ack-3-TASK_FINISHED'].map((name) => load('flow', name)),
    );
    const accept = await load('flow', 'accept-launch');
    const teardown = await load('flow', 'teardown');
    const reconcile = await load('flow', 'reconcile-explicit');
    const server = await replay([
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true },
      ...acks.map((ack) => ({ match: { callType: 'ACKNOWLEDGE' }, respond: ack })),
      // Implicit reconciliation after SUBSCRIBED (no known tasks): answered with the recorded 202.
      { match: { callType: 'RECONCILE' }, respond: reconcile },
      { match: { callType: 'ACCEPT' }, respond: accept },
      { match: { callType: 'TEARDOWN' }, respond: teardown },
    ]);
    const frameworkInfo = recordedCall(subscribe).subscribe!.framework_info;
    const scheduler = client({ master: server.url, frameworkInfo, encoding: 'json' });
    const events = await collect(
      scheduler.events(),
      (seen) => seen.filter((event) => event.type === 'UPDATE').length === 4,
    );

    expect(events.slice(0, 3).map((event) => event.type)).toEqual(['SUBSCRIBED', 'HEARTBEAT', 'OFFERS']);
    expect(scheduler.frameworkId).toBe(FLOW_FRAMEWORK_ID);
    const streamId = subscribe.response.headers.find(([name]) => name === 'Mesos-Stream-Id')?.[1];
    expect(scheduler.streamId).toBe(streamId);
    expect(scheduler.leaderUrl).toBe(`${server.url}/api/v1/scheduler`);

    // Three updates carry a uuid (executor updates); the reconciliation TASK_LOST has none.
    const updates = events.filter((event) => event.type === 'UPDATE').map((event) => event.update!.status);
    expect(updates.map((status) => [status.state, status.uuid !== undefined])).toEqual([
      ['TASK_STARTING', true],
      ['TASK_RUNNING', true],
      ['TASK_FINISHED', true],
      ['TASK_LOST', false],
    ]);
    await until(() => calls(server, 'ACKNOWLEDGE').length === 3, 'three acknowledgements');
    const sentAcks = calls(server, 'ACKNOWLEDGE');
    // Structurally the very calls the probe sent to the real master (uuid bytes included).
    expect(sentAcks.map(receivedCall)).toEqual(acks.map(recordedCall));
    for (const request of sentAcks) {
      expect(request.header('mesos-stream-id')).toBe(streamId);
      expect(request.header('content-type')).toBe('application/json');
    }
    const subscription = calls(server, 'SUBSCRIBE')[0]!;
    expect(subscription.header('mesos-stream-id')).toBeUndefined();
    expect(sentAcks.every((request) => request.connection !== subscription.connection)).toBe(true);

    const implicit = calls(server, 'RECONCILE');
    expect(implicit.map(receivedCall)).toEqual([
      { type: 'RECONCILE', framework_id: { value: FLOW_FRAMEWORK_ID }, reconcile: {} },
    ]);

    const recordedAccept = recordedCall(accept).accept!;
    await scheduler.accept({ ...recordedAccept, filters: filters({ refuseSeconds: 1 }) });
    expect(receivedCall(calls(server, 'ACCEPT')[0]!)).toEqual(recordedCall(accept));
    await scheduler.teardown();
    expect(receivedCall(calls(server, 'TEARDOWN')[0]!)).toEqual(recordedCall(teardown));
    expect(server.mismatches).toEqual([]);
  });

  it('ends normally when the master closes the stream after TEARDOWN', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    const ok = await load('flow', 'ack-1-TASK_STARTING');
    const teardown = await load('flow', 'teardown');
    // Recorded pacing at 1/10: the TASK_LOST arrives at ~163 ms, the final chunk at ~664 ms.
    const server = await replay([
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe, pacing: 'recorded', timeScale: 0.1 },
      { match: { callType: 'TEARDOWN' }, respond: teardown },
      { match: { test: (request) => request.callType !== 'SUBSCRIBE' }, respond: ok, times: 10 },
    ]);
    const scheduler = client({
      master: server.url,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      encoding: 'json',
    });
    const types: string[] = [];
    for await (const event of scheduler.events()) {
      types.push(event.type ?? '?');
      if (event.type === 'UPDATE' && event.update?.status.state === 'TASK_LOST') await scheduler.teardown();
    }
    expect(types).toContain('UPDATE');
    expect(scheduler.state).toBe('closed');
    expect(scheduler.error).toBeUndefined();
    expect(calls(server, 'SUBSCRIBE')).toHaveLength(1);
    await expect(scheduler.revive()).rejects.toSatisfy((error) => isSparkMesosError(error, 'SM_ERR_CLOSED'));
  });
});

describe('scheduler client and the process lifetime', () => {
  it('unref() lets the stream socket and the watchdog stop holding the process; ref() makes them hold it again', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    const reconcile = await load('flow', 'reconcile-explicit');
    const server = await replay([
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true },
      { match: { callType: 'RECONCILE' }, respond: reconcile },
    ]);
    const frameworkInfo = recordedCall(subscribe).subscribe!.framework_info;
    const scheduler = client({ master: server.url, frameworkInfo, encoding: 'json', autoAcknowledge: false });
    await scheduler.start();
    await until(() => calls(server, 'RECONCILE').length === 1, 'the implicit reconciliation');
    // What keeps the process alive: getActiveResourcesInfo lists only ref'd handles.
    const holding = () => {
      const resources = process.getActiveResourcesInfo();
      return {
        sockets: resources.filter((name) => name === 'TCPSocketWrap').length,
        timers: resources.filter((name) => name === 'Timeout').length,
      };
    };
    const before = holding();
    scheduler.unref();
    const unreferenced = holding();
    expect(unreferenced.sockets).toBe(before.sockets - 1);
    expect(unreferenced.timers).toBeLessThan(before.timers);
    scheduler.ref();
    expect(holding()).toEqual(before);
  });
});

describe('scheduler client on the recorded protobuf flow', () => {
  it('acknowledges with the raw 16-byte uuids, byte for byte as recorded', async () => {
    const subscribe = await load('flow_pb', 'pb-subscribe');
    const acks = await Promise.all(
      ['pb-ack-TASK_STARTING', 'pb-ack-TASK_RUNNING', 'pb-ack-TASK_FINISHED'].map((name) => load('flow_pb', name)),
    );
    const server = await replay([
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true },
      ...acks.map((ack) => ({ match: { callType: 'ACKNOWLEDGE' }, respond: ack })),
    ]);
    const seen: string[] = [];
    const scheduler = client({
      master: server.url,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      reconcile: { enabled: false },
    });
    scheduler.on('UPDATE', (event) => {
      seen.push(event.update.status.state);
    });
    await scheduler.start();
    expect(scheduler.frameworkId).toBe('5cdd377a-dae9-4944-98c2-8f0426d20e10-0008');
    await until(() => calls(server, 'ACKNOWLEDGE').length === 3, 'three acknowledgements');
    const subscription = calls(server, 'SUBSCRIBE')[0]!;
    expect(subscription.header('content-type')).toBe('application/x-protobuf');
    expect(receivedCall(subscription)).toEqual(recordedCall(subscribe));
    const sent = calls(server, 'ACKNOWLEDGE');
    expect(sent.map((request) => Buffer.from(request.body).toString('hex'))).toEqual(
      acks.map((ack) => Buffer.from(ack.request!.body).toString('hex')),
    );
    expect(seen).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    expect(server.mismatches).toEqual([]);
  });
});

describe('scheduler client failover (flow2)', () => {
  it('ends with SM_ERR_FRAMEWORK_ERROR on the recorded "Framework failed over" ERROR event', async () => {
    const subscribe = await load('flow2', 'failover-A-subscribe');
    const ack = await load('flow2', 'failover-A-ack-TASK_STARTING');
    const server = await replay([
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe },
      { match: { callType: 'ACKNOWLEDGE' }, respond: ack, times: 2 },
      { match: { callType: 'RECONCILE' }, respond: ack, times: 5 },
    ]);
    const errors: SparkMesosError[] = [];
    const scheduler = client({
      master: server.url,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      encoding: 'json',
    });
    scheduler.on('error', (error) => errors.push(error));
    const types: string[] = [];
    const failure = await (async () => {
      try {
        for await (const event of scheduler.events()) types.push(event.type ?? '?');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(types).toEqual(['SUBSCRIBED', 'HEARTBEAT', 'OFFERS', 'UPDATE', 'UPDATE', 'ERROR']);
    expect(isSparkMesosError(failure, 'SM_ERR_FRAMEWORK_ERROR')).toBe(true);
    expect((failure as SparkMesosError).details.message).toBe('Framework failed over');
    expect(errors).toEqual([failure]);
    expect(scheduler.state).toBe('failed');
    // It does not loop: one SUBSCRIBE only.
    expect(calls(server, 'SUBSCRIBE')).toHaveLength(1);
    await expect(scheduler.start()).resolves.toBeUndefined(); // it had subscribed before failing
  });

  it('re-subscribes with framework_id and framework_info.id, acks a re-sent update once, reconciles explicitly then implicitly', async () => {
    const resubscribe = await load('flow2', 'failover-B-resubscribe');
    const ack = await load('flow2', 'failover-B-ack-TASK_KILLING');
    const explicit = await load('flow2', 'failover-B-reconcile-explicit-unknown-task');
    const implicit = await load('flow2', 'failover-B-reconcile-implicit');
    const decline = await load('flow2', 'failover-B-decline');
    const kill = await load('flow2', 'failover-B-kill');
    const server = await replay([
      // 1/50 of the recorded pacing: the TASK_KILLING copy re-sent after ~10 s comes ~200 ms later.
      { match: { callType: 'SUBSCRIBE' }, respond: resubscribe, pacing: 'recorded', timeScale: 0.02, hold: true },
      { match: { callType: 'ACKNOWLEDGE' }, respond: ack, times: 2 },
      { match: { callType: 'RECONCILE' }, respond: explicit },
      { match: { callType: 'RECONCILE' }, respond: implicit },
      { match: { callType: 'DECLINE' }, respond: decline },
      { match: { callType: 'KILL' }, respond: kill },
    ]);
    const frameworkInfo: FrameworkInfo = recordedCall(resubscribe).subscribe!.framework_info;
    const scheduler = client({
      master: server.url,
      frameworkInfo,
      encoding: 'json',
      reconcile: { knownTasks: () => [{ task_id: { value: 'no-such-task' } }] },
    });
    const states: string[] = [];
    scheduler.on('UPDATE', (event) => {
      states.push(event.update.status.state);
    });
    await scheduler.start();
    expect(receivedCall(calls(server, 'SUBSCRIBE')[0]!)).toEqual(recordedCall(resubscribe));
    expect(scheduler.frameworkId).toBe(FLOW2_FRAMEWORK_ID);

    await scheduler.decline({
      offer_ids: recordedCall(decline).decline!.offer_ids!,
      filters: filters({ refuseSeconds: 5 }),
    });
    await scheduler.kill(recordedCall(kill).kill!);
    expect(receivedCall(calls(server, 'DECLINE')[0]!)).toEqual(recordedCall(decline));
    expect(receivedCall(calls(server, 'KILL')[0]!)).toEqual(recordedCall(kill));

    await until(() => states.includes('TASK_UNKNOWN') && calls(server, 'RECONCILE').length === 2, 'reconciliation');
    expect(states.filter((state) => state === 'TASK_KILLING')).toHaveLength(2);
    // TASK_KILLING (once, although delivered twice with the same uuid) and the executor's
    // TASK_KILLED; never the master's reconciliation answers (no uuid).
    await until(() => calls(server, 'ACKNOWLEDGE').length === 2, 'two acknowledgements');
    const acked = calls(server, 'ACKNOWLEDGE').map(receivedCall);
    expect(acked[0]).toEqual(recordedCall(ack));
    expect(acked.map((call) => call.acknowledge!.task_id.value)).toEqual([
      'probe-sleep-0c57cd27',
      'probe-sleep-0c57cd27',
    ]);
    expect(new Set(acked.map((call) => Buffer.from(call.acknowledge!.uuid).toString('base64'))).size).toBe(2);
    expect(calls(server, 'RECONCILE').map(receivedCall)).toEqual([
      recordedCall(explicit),
      { ...recordedCall(implicit), reconcile: {} },
    ]);
    expect(server.mismatches).toEqual([]);
  });

  it('acknowledges the re-sent copy of an update when the first acknowledgement failed', async () => {
    const resubscribe = await load('flow2', 'failover-B-resubscribe');
    const ack = await load('flow2', 'failover-B-ack-TASK_KILLING');
    // A real 400 of the master (not a lost subscription) answers the first acknowledgement.
    const rejected = await load('flow', 'err-malformed-json');
    const server = await replay([
      { match: { callType: 'SUBSCRIBE' }, respond: resubscribe, pacing: 'recorded', timeScale: 0.02, hold: true },
      { match: { callType: 'ACKNOWLEDGE' }, respond: rejected },
      { match: { callType: 'ACKNOWLEDGE' }, respond: ack, times: 2 },
    ]);
    const logger = quietLogger();
    const scheduler = client({
      master: server.url,
      frameworkInfo: recordedCall(resubscribe).subscribe!.framework_info,
      encoding: 'json',
      reconcile: { enabled: false },
      logger,
    });
    await scheduler.start();
    await until(() => calls(server, 'ACKNOWLEDGE').length === 3, 'three acknowledgements');
    const acked = calls(server, 'ACKNOWLEDGE').map((request) => receivedCall(request).acknowledge!);
    expect(Buffer.from(acked[0]!.uuid)).toEqual(Buffer.from(acked[1]!.uuid)); // the re-sent TASK_KILLING
    expect(logger.lines.some((line) => line.message.startsWith('Acknowledging a status update failed'))).toBe(true);
    expect(scheduler.state).toBe('subscribed');
  });
});

describe('scheduler client master detection and failures', () => {
  it("follows a non-leader's 307 to the leader, keeping our scheme", async () => {
    const nonLeader = await load('zookeeper_ha', 'subscribe-nonleader');
    const subscribe = await load('flow', 'flow-subscribe');
    const ok = await load('flow', 'ok-revive-no-accept-header');
    const leader = await replay([
      { match: { callType: 'SUBSCRIBE', path: '/master/api/v1/scheduler' }, respond: subscribe, hold: true },
      { match: { path: '/master/api/v1/scheduler', test: (r) => r.callType !== 'SUBSCRIBE' }, respond: ok, times: 10 },
    ]);
    // The recording names the leader at 127.0.0.1:5060; only its Location header is rewritten to
    // point at the second replay server (same protocol-relative form, same path).
    const follower = await replay([
      {
        match: { callType: 'SUBSCRIBE' },
        respond: withLocation(nonLeader.response, `//127.0.0.1:${leader.port}/master/api/v1/scheduler`),
      },
    ]);
    const scheduler = client({
      master: `mesos://127.0.0.1:${follower.port}`,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      encoding: 'json',
    });
    await scheduler.start();
    expect(scheduler.leaderUrl).toBe(`http://127.0.0.1:${leader.port}/master/api/v1/scheduler`);
    await scheduler.revive();
    expect(calls(leader, 'REVIVE')).toHaveLength(1);
    expect(follower.requests).toHaveLength(1);
    expect(follower.mismatches).toEqual([]);
    expect(leader.mismatches).toEqual([]);
  });

  it('retries a 503 (no leader yet) with backoff, then subscribes', async () => {
    // No recording of a 503 exists. Mesos documents it for /api/v1/scheduler: "Returns 503
    // SERVICE_UNAVAILABLE if the leading master cannot be found" (docs/endpoints/master/api/v1/scheduler.md,
    // and docs/high-availability-framework-guide.md: retry until a leader is elected). This answer
    // is synthesized in Mesos' format, with the body text of MESOS-3902.
    const unavailable = parseRecordedResponse(
      Buffer.from('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 22\r\n\r\nNot the leading master', 'latin1'),
    );
    const subscribe = await load('flow', 'flow-subscribe');
    const ok = await load('flow', 'ok-revive-no-accept-header');
    const server = await replay([
      { match: { callType: 'SUBSCRIBE' }, respond: unavailable, times: 2 },
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true },
      { match: { test: (r) => r.callType !== 'SUBSCRIBE' }, respond: ok, times: 10 },
    ]);
    const timers = fastTimers(100);
    const scheduler = client({
      master: server.url,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      encoding: 'json',
      timers,
      backoff: { initialMs: 500, maxMs: 15_000, jitter: 0 },
    });
    await scheduler.start();
    expect(calls(server, 'SUBSCRIBE')).toHaveLength(3);
    // Without jitter: 500 ms, then 1000 ms (scaled down 100× by the injected timers).
    expect(timers.delays.slice(0, 2)).toEqual([500, 1000]);
    expect(server.mismatches).toEqual([]);
  });

  it('re-subscribes with the framework id when heartbeats stop', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    const ok = await load('flow', 'ok-revive-no-accept-header');
    const server = await replay([
      // hold: the recorded events, then silence (heartbeat_interval_seconds is 15 in the recording).
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true, times: 5 },
      { match: { test: (r) => r.callType !== 'SUBSCRIBE' }, respond: ok, times: 50 },
    ]);
    const logger = quietLogger();
    const scheduler = client({
      master: server.url,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      encoding: 'json',
      // 5 × 15 s = 75 s of silence → 75 ms with timers 1000× faster.
      timers: fastTimers(1000),
      logger,
    });
    let subscribed = 0;
    scheduler.on('SUBSCRIBED', () => {
      subscribed += 1;
    });
    await scheduler.start();
    await until(() => subscribed >= 2, 'a second SUBSCRIBED');
    const second = receivedCall(calls(server, 'SUBSCRIBE')[1]!);
    expect(second.framework_id).toEqual({ value: FLOW_FRAMEWORK_ID });
    expect(second.subscribe!.framework_info.id).toEqual({ value: FLOW_FRAMEWORK_ID });
    expect(logger.lines.some((line) => line.fields?.code === 'SM_ERR_HEARTBEAT_TIMEOUT')).toBe(true);
    await scheduler.close();
    expect(server.mismatches).toEqual([]);
  });

  /**
   * A client subscribed to the recorded JSON flow whose first stream carries `fault`; the next
   * SUBSCRIBE is held open and every other call answered 202, so the client can re-subscribe.
   */
  async function subscribeWithFaultyFirstStream(fault: Pick<ReplayStep, 'cut' | 'garbage'>) {
    const subscribe = await load('flow', 'flow-subscribe');
    const ok = await load('flow', 'ok-revive-no-accept-header');
    const server = await replay([
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe, ...fault },
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true },
      { match: { test: (r) => r.callType !== 'SUBSCRIBE' }, respond: ok, times: 50 },
    ]);
    const logger = quietLogger();
    const scheduler = client({
      master: server.url,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      encoding: 'json',
      timers: fastTimers(100),
      logger,
    });
    await scheduler.start();
    return { server, scheduler, logger };
  }

  it('re-subscribes when the stream is cut mid-record', async () => {
    const { server, scheduler, logger } = await subscribeWithFaultyFirstStream({ cut: { afterBytes: 600 } });
    await until(() => calls(server, 'SUBSCRIBE').length === 2 && scheduler.state === 'subscribed', 'a re-subscription');
    expect(receivedCall(calls(server, 'SUBSCRIBE')[1]!).framework_id).toEqual({ value: FLOW_FRAMEWORK_ID });
    expect(logger.lines.some((line) => line.fields?.code === 'SM_ERR_MESOS_NETWORK')).toBe(true);
    expect(server.mismatches).toEqual([]);
  });

  it('rides out a master restart: refused connections are retried with backoff, then it re-subscribes', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    const ok = await load('flow', 'ok-revive-no-accept-header');
    const first = await startReplayServer({
      script: [
        { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true },
        { match: { test: (r) => r.callType !== 'SUBSCRIBE' }, respond: ok, times: 50 },
      ],
    });
    const logger = quietLogger();
    const timers = fastTimers(100);
    const scheduler = client({
      master: first.url,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      encoding: 'json',
      timers,
      logger,
    });
    await scheduler.start();
    const refusedBefore = logger.lines.length;

    // The master goes away (its connections with it) and comes back on the same port a little later.
    await first.close();
    const retries = (): number =>
      logger.lines.slice(refusedBefore).filter((line) => line.message.includes('subscribing again in')).length;
    await until(() => retries() >= 3, 'refused re-subscriptions while the master is down');
    const restarted = await replay(
      [
        { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true },
        { match: { test: (r) => r.callType !== 'SUBSCRIBE' }, respond: ok, times: 50 },
      ],
      first.port,
    );
    await until(
      () => calls(restarted, 'SUBSCRIBE').length === 1 && scheduler.state === 'subscribed',
      're-subscription to the restarted master',
    );
    expect(receivedCall(calls(restarted, 'SUBSCRIBE')[0]!).framework_id).toEqual({ value: FLOW_FRAMEWORK_ID });
    // Backoff between refused attempts grew and stayed under the 15 s cap.
    const waits = logger.lines
      .map((line) => /subscribing again in (\d+) ms/.exec(line.message)?.[1])
      .filter((delay): delay is string => delay !== undefined)
      .map(Number);
    expect(waits.length).toBeGreaterThanOrEqual(3);
    // Exponential with jitter 0.5 from 500 ms: the first wait is at most 500 ms, the third at
    // least 1000 ms; a constant backoff would fail this.
    expect(waits[2]!).toBeGreaterThanOrEqual(2 * waits[0]!);
    expect(Math.max(...waits)).toBeLessThanOrEqual(15_000);
  });

  it('survives garbage on the stream: a clear error in the log, then a re-subscription', async () => {
    const { server, scheduler, logger } = await subscribeWithFaultyFirstStream({
      garbage: Buffer.from('not-recordio\n'),
    });
    await until(() => calls(server, 'SUBSCRIBE').length === 2 && scheduler.state === 'subscribed', 'a re-subscription');
    const lost = logger.lines.find((line) => line.message.startsWith('The Mesos subscription is lost'));
    expect(String(lost?.fields?.code)).toMatch(/^SM_ERR_RECORDIO_/);
  });

  it('follows a leader change reported by the detector', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    const ok = await load('flow', 'ok-revive-no-accept-header');
    const script = (): ReplayStep[] => [
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true },
      { match: { test: (r) => r.callType !== 'SUBSCRIBE' }, respond: ok, times: 50 },
    ];
    const first = await replay(script());
    const second = await replay(script());
    let leader: MasterAddress = { host: '127.0.0.1', port: first.port, scheme: 'http' };
    const listeners = new Set<LeaderListener>();
    const detector: MasterDetector = {
      detect: () => Promise.resolve(leader),
      onChange: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      close: () => Promise.resolve(),
    };
    const scheduler = client({
      master: detector,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      encoding: 'json',
    });
    await scheduler.start();
    expect(scheduler.leaderUrl).toBe(`${first.url}/api/v1/scheduler`);
    leader = { host: '127.0.0.1', port: second.port, scheme: 'http' };
    for (const listener of listeners) listener(leader);
    await until(
      () => scheduler.state === 'subscribed' && scheduler.leaderUrl === `${second.url}/api/v1/scheduler`,
      'the new leader',
    );
    const call = receivedCall(calls(second, 'SUBSCRIBE')[0]!);
    expect(call.framework_id).toEqual({ value: FLOW_FRAMEWORK_ID });
    expect(call.subscribe!.framework_info.id).toEqual({ value: FLOW_FRAMEWORK_ID });
    await scheduler.close();
    expect(listeners.size).toBe(0);
  });

  it('surfaces a 401 as SM_ERR_MESOS_UNAUTHORIZED without retrying or leaking the secret', async () => {
    const unauthorized = await load('auth', 'subscribe-wrongpass');
    const server = await replay([{ match: { callType: 'SUBSCRIBE' }, respond: unauthorized }]);
    const scheduler = client({
      master: server.url,
      frameworkInfo: { user: 'root', name: 'auth-probe', principal: 'spark' },
      auth: { principal: 'spark', secret: 'not-the-secret-42' },
    });
    const failure = await scheduler.start().catch((error: unknown) => error);
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_UNAUTHORIZED')).toBe(true);
    expect(JSON.stringify(failure)).not.toContain('not-the-secret-42');
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.header('authorization')).toBe(
      `Basic ${Buffer.from('spark:not-the-secret-42').toString('base64')}`,
    );
    expect(scheduler.state).toBe('failed');
  });

  it('subscribes with Basic credentials to the recorded authenticated master', async () => {
    const subscribe = await load('auth', 'subscribe-ok-rawchunked');
    const server = await replay([{ match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true }]);
    const scheduler = client({
      master: server.url,
      frameworkInfo: { user: 'root', name: 'auth-probe', principal: 'spark' },
      auth: { principal: 'spark', secret: 's3cret' },
      encoding: 'json',
      reconcile: { enabled: false },
    });
    await scheduler.start();
    expect(scheduler.frameworkId).toBeDefined();
    expect(server.requests[0]!.header('authorization')).toMatch(/^Basic /);
  });

  it('refuses calls before SUBSCRIBED and after close', async () => {
    const scheduler = client({ master: 'http://127.0.0.1:1', frameworkInfo: { user: 'root', name: 'x' } });
    await expect(scheduler.revive()).rejects.toSatisfy((error) =>
      isSparkMesosError(error, 'SM_ERR_SCHEDULER_NOT_SUBSCRIBED'),
    );
    await scheduler.close();
    await expect(scheduler.revive()).rejects.toSatisfy((error) => isSparkMesosError(error, 'SM_ERR_CLOSED'));
    await expect(scheduler.start()).rejects.toSatisfy((error) => isSparkMesosError(error, 'SM_ERR_CLOSED'));
  });
});

describe('scheduler client back-pressure', () => {
  it('reads no further than the buffer while the consumer is slow', async () => {
    const subscribe = await load('flow', 'flow-subscribe');
    // The recorded events served 500 times over: far more than the buffer may hold.
    const server = await replay([{ match: { callType: 'SUBSCRIBE' }, respond: subscribe, repeat: 500, hold: true }]);
    const scheduler = client({
      master: server.url,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      encoding: 'json',
      autoAcknowledge: false,
      reconcile: { enabled: false },
      eventBufferSize: 8,
    });
    let read = 0;
    scheduler.on('event', () => {
      read += 1;
    });
    const iterator = scheduler.events();
    let consumed = 0;
    for (let i = 0; i < 3; i += 1) {
      await iterator.next();
      consumed += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Handed to listeners only once it fits in the buffer: consumed + buffer (+ the one waiting).
      expect(read).toBeLessThanOrEqual(consumed + 8 + 1);
    }
    await iterator.return?.();
    await scheduler.close();
  });
});

describe('scheduler client call retries', () => {
  // No recording of a 503 or a 429 answer to a call exists; both are synthesized. Mesos' docs
  // (docs/scheduler-http-api.md, "Overview") say the master answers calls "with status 202
  // Accepted (or, for unsuccessful requests, with 4xx or 5xx status codes)", and that 202 "means
  // that a request has been accepted for processing": a 503 or 429 is the master declining to
  // process the call. The 503 is the one of /api/v1/scheduler "if the leading master cannot be
  // found" (docs/endpoints/master/api/v1/scheduler.md), with the body text of MESOS-3902.
  const unavailable = (): RecordedResponse =>
    parseRecordedResponse(
      Buffer.from('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 22\r\n\r\nNot the leading master', 'latin1'),
    );
  // A 429 in the standard form (RFC 6585, Retry-After in delta-seconds), no Mesos recording exists.
  const tooManyRequests = (): RecordedResponse =>
    parseRecordedResponse(
      Buffer.from('HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n', 'latin1'),
    );

  /** The delays the client logged before sending a call again. */
  const retryDelays = (logger: { lines: LogLine[] }): number[] =>
    logger.lines
      .filter((line) => line.message.includes('sending it again in'))
      .map((line) => Number(line.fields?.delayMs));

  async function subscribed(
    steps: ReplayStep[],
    options: Partial<SchedulerClientOptions> = {},
  ): Promise<{ server: ReplayServer; scheduler: SchedulerClient; logger: ReturnType<typeof quietLogger> }> {
    const subscribe = await load('flow', 'flow-subscribe');
    const server = await replay([{ match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true }, ...steps]);
    const logger = quietLogger();
    const scheduler = client({
      master: server.url,
      frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
      encoding: 'json',
      // Only the calls under test: no acknowledgements of the recorded updates, no reconciliation.
      autoAcknowledge: false,
      reconcile: { enabled: false },
      logger,
      ...options,
    });
    await scheduler.start();
    return { server, scheduler, logger };
  }

  it('sends a call answered 503 again with the backoff, then resolves on the recorded 202', async () => {
    const ok = await load('flow', 'ok-revive-no-accept-header');
    const timers = fastTimers(100);
    const { server, scheduler, logger } = await subscribed(
      [
        { match: { callType: 'REVIVE' }, respond: unavailable(), times: 2 },
        { match: { callType: 'REVIVE' }, respond: ok },
      ],
      // The client's jittered backoff, its randomness pinned: each delay is 0.75 of 500, 1000…
      { timers, backoff: { initialMs: 500, maxMs: 15_000, jitter: 0.5, random: () => 0.5 } },
    );
    await expect(scheduler.revive()).resolves.toBeUndefined();
    const revives = calls(server, 'REVIVE');
    expect(revives).toHaveLength(3);
    expect(new Set(revives.map((request) => request.header('mesos-stream-id')))).toEqual(new Set([scheduler.streamId]));
    const waits = retryDelays(logger);
    expect(waits).toEqual([375, 750]);
    expect(waits[1]!).toBeGreaterThan(waits[0]!);
    // Requested from the injected clock (scaled 100×), not slept in wall time.
    expect(timers.delays).toEqual(expect.arrayContaining([375, 750]));
    expect(server.mismatches).toEqual([]);
  });

  it("honours a 429's Retry-After", async () => {
    const ok = await load('flow', 'ok-revive-no-accept-header');
    const timers = fastTimers(100);
    const { server, scheduler, logger } = await subscribed(
      [
        { match: { callType: 'REVIVE' }, respond: tooManyRequests() },
        { match: { callType: 'REVIVE' }, respond: ok },
      ],
      { timers, backoff: { initialMs: 500, maxMs: 15_000, jitter: 0 } },
    );
    await expect(scheduler.revive()).resolves.toBeUndefined();
    expect(calls(server, 'REVIVE')).toHaveLength(2);
    // Retry-After: 1 → a requested wait of 1000 ms (10 ms of wall time here), not the backoff's 500.
    expect(retryDelays(logger)).toEqual([1000]);
    expect(timers.delays).toContain(1000);
    expect(timers.delays).not.toContain(500);
    expect(server.mismatches).toEqual([]);
  });

  it('rejects with SM_ERR_MESOS_UNAVAILABLE once callRetries are used up', async () => {
    const { server, scheduler } = await subscribed(
      [{ match: { callType: 'REVIVE' }, respond: unavailable(), times: 3 }],
      {
        timers: fastTimers(100),
        callRetries: 2,
      },
    );
    await expect(scheduler.revive()).rejects.toSatisfy((error) => isSparkMesosError(error, 'SM_ERR_MESOS_UNAVAILABLE'));
    expect(calls(server, 'REVIVE')).toHaveLength(3);
    expect(scheduler.state).toBe('subscribed');
    expect(server.mismatches).toEqual([]);
  });

  it('never waits past the call timeout', async () => {
    const { server, scheduler, logger } = await subscribed(
      [{ match: { callType: 'REVIVE' }, respond: unavailable(), times: 2 }],
      // 500 ms, then 1000 ms: the second wait would end past 1200 ms from the first attempt.
      { timers: fastTimers(10), timeouts: { callMs: 1200 }, backoff: { initialMs: 500, maxMs: 15_000, jitter: 0 } },
    );
    await expect(scheduler.revive()).rejects.toSatisfy((error) => isSparkMesosError(error, 'SM_ERR_MESOS_UNAVAILABLE'));
    expect(calls(server, 'REVIVE')).toHaveLength(2);
    expect(retryDelays(logger)).toEqual([500]);
    expect(server.mismatches).toEqual([]);
  });

  it('stops waiting to retry when the client is closed', async () => {
    const { server, scheduler } = await subscribed([{ match: { callType: 'REVIVE' }, respond: unavailable() }], {
      backoff: { initialMs: 20_000, maxMs: 20_000, jitter: 0 },
      timeouts: { callMs: 60_000 },
    });
    const revive = scheduler.revive().catch((error: unknown) => error);
    await until(() => calls(server, 'REVIVE').length === 1, 'the first REVIVE');
    await scheduler.close();
    expect(isSparkMesosError(await revive, 'SM_ERR_CLOSED')).toBe(true);
    expect(calls(server, 'REVIVE')).toHaveLength(1);
  });

  it('follows a 307 on a call to the leader named by a protocol-relative Location', async () => {
    const nonLeader = await load('zookeeper_ha', 'subscribe-nonleader');
    const ok = await load('flow', 'ok-revive-no-accept-header');
    const leader = await replay([{ match: { callType: 'REVIVE', path: '/master/api/v1/scheduler' }, respond: ok }]);
    // The recorded 307 (a non-leading master's answer, naming the leader at 127.0.0.1:5060) with
    // only its Location header rewritten to point at the second replay server, same
    // protocol-relative form and path.
    const { server, scheduler } = await subscribed([
      {
        match: { callType: 'REVIVE' },
        respond: withLocation(nonLeader.response, `//127.0.0.1:${leader.port}/master/api/v1/scheduler`),
      },
    ]);
    await expect(scheduler.revive()).resolves.toBeUndefined();
    expect(calls(server, 'REVIVE')).toHaveLength(1);
    const redirected = calls(leader, 'REVIVE');
    expect(redirected).toHaveLength(1);
    expect(redirected[0]!.header('mesos-stream-id')).toBe(scheduler.streamId);
    expect(receivedCall(redirected[0]!)).toEqual(receivedCall(calls(server, 'REVIVE')[0]!));
    expect(server.mismatches).toEqual([]);
    expect(leader.mismatches).toEqual([]);
  });

  it('does not send an ACCEPT again after a network error (it may have been processed)', async () => {
    const accept = await load('flow', 'accept-launch');
    const { server, scheduler } = await subscribed(
      [
        // The master reads ACCEPT and drops the connection before answering.
        { match: { callType: 'ACCEPT' }, respond: accept, dropWithoutAnswer: true },
      ],
      { timers: fastTimers(100) },
    );
    const failure = await scheduler.accept(recordedCall(accept).accept!).catch((error: unknown) => error);
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_NETWORK')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls(server, 'ACCEPT')).toHaveLength(1);
    expect(server.mismatches).toEqual([]);
  });
});
