import { isSparkMesosError } from '@spark-mesos/errors';
import { Agent, Client, Dispatcher, Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createSchedulerClient, type SchedulerClient, type SchedulerClientOptions } from './scheduler-client.js';
import { calls, load, quietLogger, receivedCall, recordedCall } from './scheduler-client.test-support.js';
import { type ReplayServer, startReplayServer } from './testing/index.js';

// A dispatcher passed in by the user must carry both connections of the scheduler client: the
// SUBSCRIBE stream, which holds its connection for as long as the subscription lives, and the
// calls, which must never queue behind it (they would wait until their timeout). Real loopback
// server: the replay server holding the recorded JSON SUBSCRIBE answer open.

const servers: ReplayServer[] = [];
const clients: SchedulerClient[] = [];
const dispatchers: Dispatcher[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(dispatchers.splice(0).map((dispatcher) => dispatcher.destroy()));
});

function track<T extends Dispatcher>(dispatcher: T): T {
  dispatchers.push(dispatcher);
  return dispatcher;
}

/** Counts the requests a dispatcher was given, by call type (read from the body's JSON). */
function counting(dispatcher: Dispatcher): { dispatcher: Dispatcher; seen: string[] } {
  const seen: string[] = [];
  const composed = dispatcher.compose((dispatch) => (options, handler) => {
    const body = options.body;
    const text = typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body).toString() : '';
    seen.push((JSON.parse(text) as { type: string }).type);
    return dispatch(options, handler);
  });
  return { dispatcher: composed, seen };
}

async function subscribedThrough(dispatchersFor: (server: ReplayServer) => Partial<SchedulerClientOptions>): Promise<{
  server: ReplayServer;
  scheduler: SchedulerClient;
}> {
  const subscribe = await load('flow', 'flow-subscribe');
  const ok = await load('flow', 'ok-revive-no-accept-header');
  const server = await startReplayServer({
    script: [
      { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true },
      { match: { callType: 'REVIVE' }, respond: ok, times: 2 },
    ],
  });
  servers.push(server);
  const scheduler = createSchedulerClient({
    master: server.url,
    frameworkInfo: recordedCall(subscribe).subscribe!.framework_info,
    encoding: 'json',
    autoAcknowledge: false,
    reconcile: { enabled: false },
    logger: quietLogger(),
    // Short enough that a call stuck behind the stream fails the test quickly.
    timeouts: { callMs: 2000 },
    callRetries: 0,
    ...dispatchersFor(server),
  });
  clients.push(scheduler);
  await scheduler.start();
  return { server, scheduler };
}

/** Two calls while the stream is open: both answered, on connections other than the stream's. */
async function expectCallsBesideTheStream(server: ReplayServer, scheduler: SchedulerClient): Promise<void> {
  await expect(scheduler.revive()).resolves.toBeUndefined();
  await expect(scheduler.revive()).resolves.toBeUndefined();
  const stream = calls(server, 'SUBSCRIBE');
  expect(stream).toHaveLength(1);
  const revives = calls(server, 'REVIVE');
  expect(revives.map(receivedCall).map((call) => call.type)).toEqual(['REVIVE', 'REVIVE']);
  for (const request of revives) expect(request.connection).not.toBe(stream[0]!.connection);
  // The stream is still the one open subscription: no re-subscription happened meanwhile.
  expect(scheduler.state).toBe('subscribed');
  expect(server.mismatches).toEqual([]);
}

describe('scheduler client with user-supplied undici dispatchers', () => {
  it('sends calls beside the open stream through one user Agent (its default connection limit)', async () => {
    const { dispatcher, seen } = counting(track(new Agent()));
    const { server, scheduler } = await subscribedThrough(() => ({ dispatcher }));
    await expectCallsBesideTheStream(server, scheduler);
    // Both connections went through the user's dispatcher.
    expect(seen).toEqual(['SUBSCRIBE', 'REVIVE', 'REVIVE']);
  });

  it('sends calls beside the open stream with streamDispatcher and dispatcher each allowing one connection', async () => {
    const stream = counting(track(new Agent({ connections: 1 })));
    const callsThrough = counting(track(new Agent({ connections: 1 })));
    const { server, scheduler } = await subscribedThrough(() => ({
      dispatcher: callsThrough.dispatcher,
      streamDispatcher: stream.dispatcher,
    }));
    await expectCallsBesideTheStream(server, scheduler);
    expect(stream.seen).toEqual(['SUBSCRIBE']);
    expect(callsThrough.seen).toEqual(['REVIVE', 'REVIVE']);
  });

  it("sends calls beside the open stream when only streamDispatcher is given (a one-connection Pool; calls on the client's own Agent)", async () => {
    let stream: ReturnType<typeof counting> | undefined;
    const { server, scheduler } = await subscribedThrough((replayServer) => {
      stream = counting(track(new Pool(replayServer.url, { connections: 1 })));
      return { streamDispatcher: stream.dispatcher };
    });
    await expectCallsBesideTheStream(server, scheduler);
    expect(stream!.seen).toEqual(['SUBSCRIBE']);
  });

  it('fails a call queued behind the stream on one single-connection dispatcher at its timeout, instead of waiting forever', async () => {
    // What the refusal below prevents, through a dispatcher it cannot recognise: a plain
    // forwarder to an Agent with one connection. The call queues behind the stream; undici's own
    // headersTimeout would never start (the request is never written), the client's deadline does.
    const single = track(new Agent({ connections: 1 }));
    const forwarder = Object.assign(Object.create(Dispatcher.prototype) as Dispatcher, {
      dispatch: single.dispatch.bind(single),
    });
    const { server, scheduler } = await subscribedThrough(() => ({ dispatcher: forwarder, timeouts: { callMs: 300 } }));
    await expect(scheduler.revive()).rejects.toSatisfy(
      (error) =>
        isSparkMesosError(error, 'SM_ERR_MESOS_NETWORK') && /no response head within 300 ms/.test(error.message),
    );
    expect(calls(server, 'REVIVE')).toHaveLength(0);
  });

  it('refuses one dispatcher that allows a single connection per origin, naming streamDispatcher', () => {
    for (const dispatcher of [
      track(new Agent({ connections: 1 })),
      track(new Pool('http://127.0.0.1:5050', { connections: 1 })),
      track(new Client('http://127.0.0.1:5050')),
    ]) {
      expect(() =>
        createSchedulerClient({
          master: 'http://127.0.0.1:5050',
          frameworkInfo: { user: 'root', name: 'one-connection' },
          dispatcher,
        }),
      ).toThrow(
        expect.toSatisfy(
          (error) => isSparkMesosError(error, 'SM_ERR_BAD_CONFIG') && /streamDispatcher/.test(error.message),
        ),
      );
    }
  });
});
