// The recorded error requests of a real Mesos 1.12 master (mesos-client's __fixtures__/flow,
// copied here), replayed byte for byte against the local master: same status, same text.
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { createSchedulerClient, type SchedulerClient } from '@spark-mesos/mesos-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from './local-cluster.js';

const FLOW = new URL('./__fixtures__/flow/', import.meta.url);
const RECORDED_FRAMEWORK = '5cdd377a-dae9-4944-98c2-8f0426d20e10-0004';
const RECORDED_STREAM = '2728ce8e-ceb9-43ca-a23f-ddd875ee2fc1';
const ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(-\d{4})?/g;

let cluster: LocalCluster;
let client: SchedulerClient;

beforeAll(async () => {
  cluster = await startLocalCluster({ heartbeatIntervalSeconds: 1, allocationIntervalMs: 50 });
  client = createSchedulerClient({
    master: cluster.masterUrl,
    encoding: 'json',
    frameworkInfo: { user: userInfo().username, name: 'error replay', failover_timeout: 0 },
  });
  await client.start();
});
afterAll(async () => {
  await client.teardown().catch(() => {});
  await client.close();
  await cluster.stop();
});

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

function parse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, end);
  return { status: Number(head.split(' ')[1]), headers: head, body: raw.slice(end + 4) };
}

function send(request: Buffer, port: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', () => resolve(parse(Buffer.concat(chunks).toString('latin1'))));
  });
}

const cases = readdirSync(FLOW)
  .filter((name) => /^(err|ok)-.*\.request\.raw$/.test(name))
  .map((name) => name.replace('.request.raw', ''));

describe('scheduler API errors, replayed from a real master', () => {
  it('has the recordings', () => expect(cases.length).toBeGreaterThanOrEqual(15));

  it.each(cases)('%s', async (name) => {
    const port = Number(new URL(cluster.httpUrl).port);
    // Same lengths: a framework id and a stream id are as long as the recorded ones.
    const request = readFileSync(new URL(`${name}.request.raw`, FLOW), 'latin1')
      .replace('Host: 127.0.0.1:5050', `Host: 127.0.0.1:${port}`)
      .replaceAll(RECORDED_FRAMEWORK, client.frameworkId as string)
      .replaceAll(RECORDED_STREAM, client.streamId as string);
    const expected = parse(readFileSync(new URL(`${name}.response.raw`, FLOW), 'latin1'));
    const actual = await send(Buffer.from(request, 'latin1'), port);
    expect(actual.status).toBe(expected.status);
    expect(actual.body.replace(ID, '<id>')).toBe(expected.body.replace(ID, '<id>'));
    if (expected.status >= 400) expect(actual.headers).toContain('Content-Type: text/plain; charset=utf-8');
    if (expected.status === 405) expect(actual.headers).toContain('Allow: POST');
    if (expected.status === 202) expect(actual.headers).toContain('Content-Length: 0');
  });

  it('answers 403 "Framework is not subscribed" for a known framework without a stream', async () => {
    // A framework with a failover timeout stays known after its stream closes.
    const other = createSchedulerClient({
      master: cluster.masterUrl,
      encoding: 'json',
      frameworkInfo: { user: userInfo().username, name: 'disconnects', failover_timeout: 60 },
    });
    await other.start();
    const frameworkId = other.frameworkId as string;
    const streamId = other.streamId as string;
    await other.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const body = JSON.stringify({ type: 'REVIVE', framework_id: { value: frameworkId } });
    const response = await fetch(`${cluster.httpUrl}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Mesos-Stream-Id': streamId },
      body,
    });
    expect(response.status).toBe(403);
    expect(await response.text()).toBe('Framework is not subscribed');
  });

  it('answers /master/redirect with a scheme-less Location, /health and /version', async () => {
    const redirect = await fetch(`${cluster.httpUrl}/master/redirect`, { redirect: 'manual' });
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('location')).toBe(`//127.0.0.1:${new URL(cluster.httpUrl).port}`);
    expect((await fetch(`${cluster.httpUrl}/health`)).status).toBe(200);
    expect(await (await fetch(`${cluster.httpUrl}/version`)).json()).toMatchObject({ version: '1.12.0' });
  });

  it('streams SUBSCRIBE in the encoding of Accept, not of Content-Type', async () => {
    const response = await fetch(`${cluster.httpUrl}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/x-protobuf' },
      body: JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'accept' } } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    expect(response.headers.get('mesos-stream-id')).toMatch(ID);
    await response.body?.cancel();
  });
});
