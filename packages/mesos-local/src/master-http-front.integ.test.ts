// A master front-end's answers beyond the recordings: 503 without an elected leader (Mesos'
// Master::Http::redirect), and authentication of calls other than SUBSCRIBE.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from './local-cluster.js';
import { LocalMaster } from './master.js';
import { createMasterHttpHandler } from './master-http.js';
import { RawConnection } from './replay.test-support.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function basic(principal: string, secret: string): string {
  return `Basic ${Buffer.from(`${principal}:${secret}`).toString('base64')}`;
}

describe('a master without an elected leader', () => {
  it('answers 503 "No leader elected" on the scheduler API, /master/redirect and /master/state', async () => {
    const master = new LocalMaster({ id: randomUUID() });
    const server: Server = createServer(
      createMasterHttpHandler(master, {
        port: () => (server.address() as AddressInfo).port,
        leader: () => undefined,
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const body = '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"no-leader"}}}';
    for (const request of [
      `POST /api/v1/scheduler HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      'GET /master/redirect HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
      'GET /master/state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    ]) {
      const connection = new RawConnection(port);
      cleanups.push(() => connection.close());
      const answer = await connection.send(Buffer.from(request, 'latin1'));
      expect(`${answer.status} ${answer.statusText}`).toBe('503 Service Unavailable');
      expect(answer.headers.map(([name]) => name)).toEqual(['Date', 'Content-Type', 'Content-Length']);
      expect(answer.body.toString('utf8')).toBe('No leader elected');
    }
  });
});

describe('framework authentication beyond SUBSCRIBE', () => {
  let cluster: LocalCluster;

  it('asks for credentials before anything else, and checks the principal of every call', async () => {
    cluster = await startLocalCluster({
      agents: 0,
      credentials: [
        { principal: 'fw', secret: 'fixture-secret' },
        { principal: 'other', secret: 'other-secret' },
      ],
    });
    cleanups.push(() => cluster.stop());
    // A GET without credentials: 401, not 405 (libprocess authenticates before the handler).
    const get = await fetch(`${cluster.httpUrl}/api/v1/scheduler`);
    expect(get.status).toBe(401);
    expect(get.headers.get('www-authenticate')).toBe('Basic realm="mesos-master-scheduler"');
    // A password with a colon is refused, as libprocess splits the pair on every ':'.
    const colon = await fetch(`${cluster.httpUrl}/api/v1/scheduler`, {
      method: 'POST',
      headers: { Authorization: basic('fw', 'fixture-secret:x') },
    });
    expect(colon.status).toBe(401);
    // The state endpoints are not behind the scheduler realm.
    expect((await fetch(`${cluster.httpUrl}/master/state`)).status).toBe(200);

    const subscribe = await fetch(`${cluster.httpUrl}/api/v1/scheduler`, {
      method: 'POST',
      headers: {
        Authorization: basic('fw', 'fixture-secret'),
        'Content-Type': 'application/json',
        Accept: 'application/json',
      },
      body: JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'root', name: 'auth' } } }),
    });
    expect(subscribe.status).toBe(200);
    const streamId = subscribe.headers.get('mesos-stream-id') as string;
    const reader = (subscribe.body as ReadableStream<Uint8Array>).getReader();
    cleanups.push(() => reader.cancel());
    const first = new TextDecoder().decode((await reader.read()).value);
    const frameworkId = /"framework_id":\{"value":"([^"]+)"/.exec(first)?.[1] as string;
    const revive = (authorization: string): Promise<Response> =>
      fetch(`${cluster.httpUrl}/api/v1/scheduler`, {
        method: 'POST',
        headers: { Authorization: authorization, 'Content-Type': 'application/json', 'Mesos-Stream-Id': streamId },
        body: JSON.stringify({ type: 'REVIVE', framework_id: { value: frameworkId } }),
      });
    const mismatch = await revive(basic('other', 'other-secret'));
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toBe(
      "Authenticated principal 'other' does not match principal 'fw' set in `FrameworkInfo`",
    );
    expect((await revive(basic('fw', 'fixture-secret'))).status).toBe(202);
  });
});

describe('connections', () => {
  it('keeps an idle connection open past the 5 s keep-alive timeout of Node, as libprocess does', async () => {
    const cluster = await startLocalCluster({ agents: 0 });
    cleanups.push(() => cluster.stop());
    const connection = new RawConnection(Number(new URL(cluster.httpUrl).port));
    cleanups.push(() => connection.close());
    const request = Buffer.from('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'latin1');
    expect((await connection.send(request)).status).toBe(200);
    // Node closes idle keep-alive connections about a second after its 5 s keepAliveTimeout.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    expect(connection.closed).toBe(false);
    expect((await connection.send(request)).status).toBe(200);
  });
});

describe('SUBSCRIBE', () => {
  it("starts suppressed for the framework's role when suppressed_roles names it", async () => {
    const cluster = await startLocalCluster({ agents: 1, allocationIntervalMs: 50 });
    cleanups.push(() => cluster.stop());
    const subscribe = (suppressed: string[]): Promise<Response> =>
      fetch(`${cluster.httpUrl}/api/v1/scheduler`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({
          type: 'SUBSCRIBE',
          subscribe: { framework_info: { user: 'root', name: 'suppressed' }, suppressed_roles: suppressed },
        }),
      });
    const suppressed = await subscribe(['*']);
    const reader = (suppressed.body as ReadableStream<Uint8Array>).getReader();
    cleanups.push(() => reader.cancel());
    let text = '';
    const deadline = Date.now() + 500;
    while (Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), deadline - Date.now())),
      ]);
      if (chunk === undefined || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text).toContain('"SUBSCRIBED"');
    // Ten allocation cycles without an offer.
    expect(text).not.toContain('"OFFERS"');
  });
});

describe('UPDATE_FRAMEWORK', () => {
  it('answers 200, and 400 for a change Mesos refuses (user, checkpoint, principal) or a mismatched id', async () => {
    const cluster = await startLocalCluster({ agents: 0 });
    cleanups.push(() => cluster.stop());
    const subscribe = await fetch(`${cluster.httpUrl}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'root', name: 'update' } } }),
    });
    const streamId = subscribe.headers.get('mesos-stream-id') as string;
    const reader = (subscribe.body as ReadableStream<Uint8Array>).getReader();
    cleanups.push(() => reader.cancel());
    const first = new TextDecoder().decode((await reader.read()).value);
    const frameworkId = /"framework_id":\{"value":"([^"]+)"/.exec(first)?.[1] as string;
    const update = (frameworkInfo: Record<string, unknown>, callFrameworkId = frameworkId) =>
      fetch(`${cluster.httpUrl}/api/v1/scheduler`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Mesos-Stream-Id': streamId },
        body: JSON.stringify({
          type: 'UPDATE_FRAMEWORK',
          framework_id: { value: callFrameworkId },
          update_framework: { framework_info: { id: { value: frameworkId }, ...frameworkInfo } },
        }),
      });
    const ok = await update({ user: 'root', name: 'renamed' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-length')).toBe('0');
    const user = await update({ user: 'other', name: 'renamed' });
    expect(user.status).toBe(400);
    expect(await user.text()).toBe(
      "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; attempted to update from 'root' to 'other'",
    );
    const checkpoint = await update({ user: 'root', name: 'renamed', checkpoint: true });
    expect(await checkpoint.text()).toBe(
      "FrameworkInfo update is not valid: Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from 'false' to 'true'",
    );
    const principal = await update({ user: 'root', name: 'renamed', principal: 'p' });
    expect(await principal.text()).toBe(
      "FrameworkInfo update is not valid: Changing framework's principal is not allowed.",
    );
    const mismatch = await update({ user: 'root', name: 'renamed' }, `${frameworkId}x`);
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toBe(
      "Failed to validate scheduler::Call: 'framework_id' differs from 'update_framework.framework_info.id'",
    );
    const state = (await (await fetch(`${cluster.httpUrl}/master/state`)).json()) as { frameworks: { name: string }[] };
    expect(state.frameworks.map((framework) => framework.name)).toEqual(['renamed']);
  });
});

describe('ACKNOWLEDGE', () => {
  it('refuses a uuid that is not 16 bytes of a UUID version 1 to 5, as stout does', async () => {
    const cluster = await startLocalCluster({ agents: 0 });
    cleanups.push(() => cluster.stop());
    const acknowledge = (uuid: Buffer) =>
      fetch(`${cluster.httpUrl}/api/v1/scheduler`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          type: 'ACKNOWLEDGE',
          framework_id: { value: 'any' },
          acknowledge: { agent_id: { value: 'a' }, task_id: { value: 't' }, uuid: uuid.toString('base64') },
        }),
      });
    for (const uuid of [Buffer.alloc(15, 0x41), Buffer.alloc(16, 0)]) {
      const answer = await acknowledge(uuid);
      expect(answer.status).toBe(400);
      expect(await answer.text()).toBe('Failed to validate scheduler::Call: Not a valid UUID');
    }
    // A valid one passes validation; the framework is then unknown.
    const valid = Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
    expect(await (await acknowledge(valid)).text()).toBe('Framework cannot be found');
  });
});
