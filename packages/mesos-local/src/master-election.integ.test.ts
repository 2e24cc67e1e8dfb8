// Two local masters elected through a real ZooKeeper, checked against what two real Mesos 1.12
// masters did (../shared/fixtures/mesos/zookeeper_ha, copied to __fixtures__/zookeeper_ha).
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { userInfo } from 'node:os';
import { findZooKeeper, startZooKeeperServer, type ZooKeeperTestServer } from '@spark-mesos/master-url/testing';
import { createSchedulerClient, type SchedulerClient, type SchedulerEvent } from '@spark-mesos/mesos-client';
import zookeeper from 'node-zookeeper-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from './local-cluster.js';
import { masterInfoJson } from './master-election.js';

const HA = new URL('./__fixtures__/zookeeper_ha/', import.meta.url);
const zk = findZooKeeper();
const WAIT_MS = 10_000;

let server: ZooKeeperTestServer;
let pathCounter = 0;
const cleanups: Array<() => Promise<void>> = [];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: string;
}

function get(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const outgoing = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {} }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          rawHeaders: response.rawHeaders,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    outgoing.once('error', reject);
    outgoing.end(init.body);
  });
}

function headerNames(answer: Answer): string[] {
  return answer.rawHeaders.filter((_, index) => index % 2 === 0);
}

function children(path: string): Promise<{ name: string; data: string }[]> {
  return new Promise((resolve, reject) => {
    const client = zookeeper.createClient(server.connectionString, { sessionTimeout: 2000 });
    client.once('connected', () => {
      client.getChildren(path, (error, names) => {
        if (error) {
          client.close();
          reject(error);
          return;
        }
        Promise.all(
          [...names]
            .sort()
            .map(
              (name) =>
                new Promise<{ name: string; data: string }>((done, fail) =>
                  client.getData(`${path}/${name}`, (problem, data) =>
                    problem ? fail(problem) : done({ name, data: data.toString('utf8') }),
                  ),
                ),
            ),
        ).then(
          (nodes) => {
            client.close();
            resolve(nodes);
          },
          (problem: unknown) => {
            client.close();
            reject(problem);
          },
        );
      });
    });
    client.connect();
  });
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function haCluster(): Promise<{ cluster: LocalCluster; path: string }> {
  pathCounter += 1;
  const path = `/mesos-local-${process.pid}-${pathCounter}`;
  const cluster = await startLocalCluster({
    masters: 2,
    zookeeper: `zk://${server.connectionString}${path}`,
    zookeeperSessionTimeoutMs: 2000,
    heartbeatIntervalSeconds: 1,
    allocationIntervalMs: 50,
  });
  cleanups.push(() => cluster.stop());
  return { cluster, path };
}

// With CI=true a missing ZooKeeper fails the suite instead of skipping it.
describe.skipIf(!zk && process.env.CI !== 'true')('masters elected through ZooKeeper', () => {
  // The JVM may start slowly on a busy machine.
  beforeAll(async () => {
    server = await startZooKeeperServer({ startTimeoutMs: 90_000 });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('registers each master as an ephemeral json.info_ node with MasterInfo JSON, as Mesos does', async () => {
    const { cluster, path } = await haCluster();
    expect(cluster.masterUrl).toBe(`mesos://zk://${server.connectionString}${path}`);
    const nodes = await children(path);
    expect(nodes.map((node) => node.name)).toEqual(['json.info_0000000000', 'json.info_0000000001']);
    expect(cluster.masters.map((master) => master.zookeeperNode)).toEqual(nodes.map((node) => `${path}/${node.name}`));
    // Same shape and key order as the recorded node, with this master's id and port.
    const recorded = JSON.parse(readFileSync(new URL('zk-before/json.info_0000000000', HA), 'utf8')) as {
      [key: string]: unknown;
    };
    const [first, second] = nodes.map((node) => JSON.parse(node.data) as Record<string, unknown>);
    const port = cluster.masters[0]?.port as number;
    expect(Object.keys(first as object)).toEqual(Object.keys(recorded));
    expect(first).toEqual({
      ...recorded,
      id: cluster.masterId,
      port,
      pid: `master@127.0.0.1:${port}`,
      address: { hostname: '127.0.0.1', ip: '127.0.0.1', port },
    });
    expect(second?.port).toBe(cluster.masters[1]?.port);
    expect(masterInfoJson(recorded as never)).toBe(readFileSync(new URL('zk-before/json.info_0000000000', HA), 'utf8'));
    expect(cluster.masters.map((master) => master.leading())).toEqual([true, false]);
  });

  it('answers from a non-leading master with the recorded redirects', async () => {
    const { cluster } = await haCluster();
    const [leader, other] = cluster.masters as [LocalCluster['masters'][0], LocalCluster['masters'][0]];
    const subscribe = await get(`${other.url}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"ha-probe"}}}',
    });
    const recorded = readFileSync(new URL('subscribe-nonleader.headers.txt', HA), 'latin1');
    expect(recorded).toContain('307 Temporary Redirect');
    expect(subscribe.status).toBe(307);
    expect(subscribe.headers.location).toBe(`//127.0.0.1:${leader.port}/master/api/v1/scheduler`);
    expect(headerNames(subscribe)).toEqual(['Date', 'Location', 'Content-Length']);
    expect(subscribe.body).toBe('');

    const state = await get(`${other.url}/master/state`);
    expect(state.status).toBe(307);
    expect(state.headers.location).toBe(`//127.0.0.1:${leader.port}/master/state`);
    expect(headerNames(state)).toEqual(['Date', 'Location', 'Content-Length']);

    for (const master of [leader, other]) {
      const redirect = await get(`${master.url}/master/redirect`);
      expect(redirect.status).toBe(307);
      expect(redirect.headers.location).toBe(`//127.0.0.1:${leader.port}`);
    }
    const served = await get(`${leader.url}/master/state`);
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body)).toMatchObject({ leader: `master@127.0.0.1:${leader.port}` });
  });

  it('elects the next master when the leader goes, and the scheduler client follows it', async () => {
    const { cluster } = await haCluster();
    const [leader, other] = cluster.masters as [LocalCluster['masters'][0], LocalCluster['masters'][0]];
    const events: SchedulerEvent[] = [];
    const client: SchedulerClient = createSchedulerClient({
      master: cluster.masterUrl,
      encoding: 'json',
      frameworkInfo: { user: userInfo().username, name: 'ha follower', failover_timeout: 60 },
    });
    cleanups.push(() => client.close());
    client.on('event', (event: SchedulerEvent) => {
      events.push(event);
    });
    await client.start();
    const frameworkId = client.frameworkId as string;
    const firstMaster = events.find((event) => event.type === 'SUBSCRIBED')?.subscribed?.master_info;
    expect(firstMaster?.port).toBe(leader.port);

    const [, secondNode] = await children(new URL(cluster.masterUrl.replace('mesos://zk://', 'http://')).pathname);
    await leader.stop();
    const subscribed = await until('a SUBSCRIBED from the new leader', () =>
      events.filter((event) => event.type === 'SUBSCRIBED').at(1),
    );
    expect(subscribed.subscribed?.master_info?.port).toBe(other.port);
    // The new leader is the second master, with the id it registered in ZooKeeper.
    expect(subscribed.subscribed?.master_info?.id).toBe((JSON.parse(secondNode?.data ?? '{}') as { id?: string }).id);
    expect(cluster.masterId).not.toBe(firstMaster?.id);
    expect(subscribed.subscribed?.framework_id.value).toBe(frameworkId);
    expect(other.leading()).toBe(true);
    const redirect = await get(`${other.url}/master/redirect`);
    expect(redirect.headers.location).toBe(`//127.0.0.1:${other.port}`);
    // Offers come from the new leader too: the shared state serves on.
    const resubscribedAt = events.indexOf(subscribed);
    await until('OFFERS after the failover', () =>
      events.slice(resubscribedAt).some((event) => event.type === 'OFFERS') ? true : undefined,
    );
    await client.teardown();
  });
});
