import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isSparkMesosError } from '@spark-mesos/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { createSchedulerClient, type SchedulerClient, type SchedulerClientOptions } from './scheduler-client.js';
import { calls, fastTimers, frameworkInfoOf, load, quietLogger, until } from './scheduler-client.test-support.js';
import type { ReplayServerTlsOptions } from './testing/index.js';
import { type RecordedExchange, type ReplayServer, type ReplayStep, startReplayServer } from './testing/index.js';

// Test-only certificates (see __fixtures__/tls/README.txt): a CA, a server certificate for
// 127.0.0.1 (IP SAN) and localhost, a client certificate; all signed by the CA.
const pem = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./__fixtures__/tls/${name}`, import.meta.url)), 'utf8');
const CA = pem('ca.pem');
const SERVER = { key: pem('server.key'), cert: pem('server.pem') };
const CLIENT = { key: pem('client.key'), cert: pem('client.pem') };

const servers: ReplayServer[] = [];
const clients: SchedulerClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** The recorded JSON flow over TLS: SUBSCRIBE held open, every other call answered 202. */
async function replayFlow(tls: ReplayServerTlsOptions): Promise<{ server: ReplayServer; subscribe: RecordedExchange }> {
  const subscribe = await load('flow', 'flow-subscribe');
  const ok = await load('flow', 'ok-revive-no-accept-header');
  const script: ReplayStep[] = [
    { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true, times: 50 },
    { match: { test: (request) => request.callType !== 'SUBSCRIBE' }, respond: ok, times: 50 },
  ];
  const server = await startReplayServer({ script, tls });
  servers.push(server);
  return { server, subscribe };
}

function client(options: Partial<SchedulerClientOptions> & Pick<SchedulerClientOptions, 'master' | 'frameworkInfo'>) {
  const created = createSchedulerClient({ logger: quietLogger(), encoding: 'json', ...options });
  clients.push(created);
  return created;
}

describe('scheduler client over TLS (replay server on node:tls)', () => {
  it('with tls.ca: subscribes to mesos+https://127.0.0.1:PORT and sends its calls over TLS', async () => {
    const { server, subscribe } = await replayFlow(SERVER);
    expect(server.url).toBe(`https://127.0.0.1:${server.port}`);
    const scheduler = client({
      master: `mesos+https://127.0.0.1:${server.port}`,
      frameworkInfo: frameworkInfoOf(subscribe),
      tls: { ca: CA },
    });
    await scheduler.start();
    expect(scheduler.state).toBe('subscribed');
    expect(scheduler.leaderUrl).toBe(`https://127.0.0.1:${server.port}/api/v1/scheduler`);
    expect(scheduler.frameworkId).toBe('5cdd377a-dae9-4944-98c2-8f0426d20e10-0004');

    await scheduler.revive();
    // The three recorded updates with a uuid are acknowledged automatically; RECONCILE follows SUBSCRIBED.
    await until(() => calls(server, 'ACKNOWLEDGE').length === 3, 'three acknowledgements');
    await until(() => calls(server, 'RECONCILE').length === 1, 'the implicit reconciliation');

    const [subscribeRequest, ...others] = server.requests;
    expect(subscribeRequest!.callType).toBe('SUBSCRIBE');
    expect(others.map((request) => request.callType).sort()).toEqual([
      'ACKNOWLEDGE',
      'ACKNOWLEDGE',
      'ACKNOWLEDGE',
      'RECONCILE',
      'REVIVE',
    ]);
    // Every request arrived inside a TLS session; the calls on another connection than the stream.
    for (const request of server.requests) {
      expect(request.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
      expect(request.tls?.clientCertificateCN).toBeUndefined();
      expect(request.header('mesos-stream-id')).toBe(request === subscribeRequest ? undefined : scheduler.streamId);
    }
    expect(others.every((request) => request.connection !== subscribeRequest!.connection)).toBe(true);
    expect(server.tlsErrors).toEqual([]);
    expect(server.mismatches).toEqual([]);
  });

  it('without the CA: start() rejects with SM_ERR_MESOS_TLS naming the certificate, and nothing is retried', async () => {
    const { server, subscribe } = await replayFlow(SERVER);
    const logger = quietLogger();
    const errors: unknown[] = [];
    const scheduler = client({
      master: `mesos+https://127.0.0.1:${server.port}`,
      frameworkInfo: frameworkInfoOf(subscribe),
      logger,
      timers: fastTimers(100),
    });
    scheduler.on('error', (error) => errors.push(error));

    // An untrusted certificate will not become trusted by trying again: the client fails at once.
    const failure = await scheduler.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_TLS')).toBe(true);
    const message = (failure as Error).message;
    expect(message).toContain(`"https://127.0.0.1:${server.port}/api/v1/scheduler" SUBSCRIBE`);
    expect(message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(message).toContain('tls.ca');
    expect(scheduler.state).toBe('failed');
    expect(errors).toHaveLength(1);
    expect(logger.lines.some((line) => line.message.startsWith('The Mesos subscription is lost'))).toBe(false);
    // The server notices the refused handshake a moment later; exactly one attempt was made.
    await until(() => server.tlsErrors.length >= 1, 'the failed handshake on the server');
    expect(server.tlsErrors).toHaveLength(1);
    expect(server.requests).toEqual([]); // no HTTP byte ever reached the server
  });

  describe('server requiring a client certificate', () => {
    const MUTUAL: ReplayServerTlsOptions = { ...SERVER, ca: CA, requestCert: true, rejectUnauthorized: true };

    it('with tls.ca, tls.cert and tls.key: subscribes, the server verified the client certificate', async () => {
      const { server, subscribe } = await replayFlow(MUTUAL);
      const scheduler = client({
        master: `mesos+https://127.0.0.1:${server.port}`,
        frameworkInfo: frameworkInfoOf(subscribe),
        tls: { ca: CA, cert: CLIENT.cert, key: CLIENT.key },
      });
      await scheduler.start();
      await scheduler.revive();
      expect(scheduler.state).toBe('subscribed');
      expect(calls(server, 'REVIVE')).toHaveLength(1);
      for (const request of server.requests)
        expect(request.tls?.clientCertificateCN).toBe('spark-mesos-test-framework');
      expect(server.tlsErrors).toEqual([]);
      expect(server.mismatches).toEqual([]);
    });

    it('without a client certificate: the server refuses the handshake; SM_ERR_MESOS_NETWORK naming the alert, retried', async () => {
      const { server, subscribe } = await replayFlow(MUTUAL);
      const logger = quietLogger();
      const scheduler = client({
        master: `mesos+https://127.0.0.1:${server.port}`,
        frameworkInfo: frameworkInfoOf(subscribe),
        tls: { ca: CA },
        logger,
        timers: fastTimers(100),
        backoff: { initialMs: 500, maxMs: 15_000, jitter: 0 },
      });
      const started = scheduler.start();
      await until(() => server.tlsErrors.length >= 2, 'two refused handshakes');
      // The server refused the client: it sent no certificate.
      expect(server.tlsErrors[0]!.message).toMatch(/peer did not return a certificate/i);
      await until(
        () => logger.lines.some((line) => line.message.startsWith('The Mesos subscription is lost')),
        'the client to report the failure',
      );
      const lost = logger.lines.find((line) => line.message.startsWith('The Mesos subscription is lost'))!;
      expect(lost.fields?.code).toBe('SM_ERR_MESOS_NETWORK');
      // TLS 1.3: the client's handshake completes before the server checks its (absent)
      // certificate; the server's alert 116 "certificate required" then arrives while the client
      // waits for the answer. The stream's own TLS socket reports the alert (undici, which carried
      // the stream before, reported only the closed socket); either way the hint names the fix.
      expect(String(lost.fields?.error)).toMatch(
        /SUBSCRIBE: (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: .*certificate required|UND_ERR_SOCKET: other side closed)/,
      );
      expect(String(lost.fields?.error)).toContain('pass tls.cert and tls.key');
      expect(scheduler.state).toBe('connecting');
      expect(scheduler.error).toBeUndefined();
      expect(server.requests).toEqual([]);
      await scheduler.close();
      await expect(started).rejects.toSatisfy((error: unknown) => isSparkMesosError(error, 'SM_ERR_CLOSED'));
    });
  });
});
