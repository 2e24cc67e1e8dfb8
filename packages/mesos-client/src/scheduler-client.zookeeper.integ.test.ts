import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMasterDetector, type Logger, type MasterDetector, parseMasterUrl } from '@spark-mesos/master-url';
import { findZooKeeper, startZooKeeperServer, type ZooKeeperTestServer } from '@spark-mesos/master-url/testing';
import zookeeper, { type Client } from 'node-zookeeper-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULER_CALL_CODECS } from './codec.js';
import type { FrameworkInfo, SchedulerCall } from './generated/mesos-types.js';
import { createSchedulerClient, type SchedulerClient, type SchedulerClientOptions } from './scheduler-client.js';
import {
  loadRecordedExchange,
  type ReceivedRequest,
  type RecordedExchange,
  type ReplayServer,
  type ReplayStep,
  startReplayServer,
} from './testing/index.js';

// The scheduler client following the leading master through a REAL ZooKeeper: fake masters
// register the recorded MasterInfo JSON as EPHEMERAL_SEQUENTIAL `json.info_` nodes (as Mesos
// masters do), and answer HTTP with recorded Mesos bytes from replay servers.

const fixtures = (dir: string): string => fileURLToPath(new URL(`./__fixtures__/${dir}`, import.meta.url));
const load = (dir: string, name: string): Promise<RecordedExchange> => loadRecordedExchange(fixtures(dir), name);

// The MasterInfo a real Mesos 1.12.0 master wrote (127.0.0.1:5060); its address is rewritten to
// a replay server's port, the rest kept as recorded.
const RECORDED_MASTER_INFO = readFileSync(
  fileURLToPath(
    new URL('../../master-url/src/__fixtures__/zookeeper_ha/zk-before/json.info_0000000000', import.meta.url),
  ),
  'utf8',
);

function masterInfoFor(port: number, id: string): Buffer {
  const info = JSON.parse(RECORDED_MASTER_INFO) as {
    address: { port: number };
    port: number;
    pid: string;
    id: string;
  };
  info.address.port = port;
  info.port = port;
  info.pid = `master@127.0.0.1:${port}`;
  info.id = id; // a new id per master, as each master start makes one
  return Buffer.from(JSON.stringify(info), 'utf8');
}

const FLOW_FRAMEWORK_ID = '5cdd377a-dae9-4944-98c2-8f0426d20e10-0004';
const SESSION_TIMEOUT_MS = 2000;
const WAIT_MS = 8000;

let zk: ZooKeeperTestServer | undefined;
let pathCounter = 0;
const servers: ReplayServer[] = [];
const clients: SchedulerClient[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function freshPath(): string {
  pathCounter += 1;
  return `/mesos-scheduler-${process.pid}-${pathCounter}`;
}

/** Fails with `what` (and the client's log) instead of hanging when `promise` takes too long. */
async function within<T>(promise: Promise<T>, what: string, log: LogLine[], timeoutMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; client log:\n${format(log)}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(condition: () => boolean, what: string, log: LogLine[], timeoutMs = WAIT_MS): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; client log:\n${format(log)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

const format = (lines: readonly LogLine[]): string =>
  lines.map((line) => `  ${line.level} ${line.message} ${line.fields ? JSON.stringify(line.fields) : ''}`).join('\n');

function capturingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    warn: (message, fields) => lines.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    info: (message, fields) => lines.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    debug: (message, fields) => lines.push({ level: 'debug', message, ...(fields ? { fields } : {}) }),
  };
}

/** A replay server standing in for one Mesos master: the recorded stream held open, 202 to the rest. */
async function fakeMasterHttp(): Promise<ReplayServer> {
  const subscribe = await load('flow', 'flow-subscribe');
  const ok = await load('flow', 'ok-revive-no-accept-header');
  const script: ReplayStep[] = [
    { match: { callType: 'SUBSCRIBE' }, respond: subscribe, hold: true, times: 5 },
    // Acknowledgements of the recorded updates and the implicit reconciliation.
    { match: { test: (request) => request.callType !== 'SUBSCRIBE' }, respond: ok, times: 100 },
  ];
  const server = await startReplayServer({ script });
  servers.push(server);
  return server;
}

/** A plain ZooKeeper session, connected (bounded wait). */
async function connectZk(): Promise<Client> {
  const client = zookeeper.createClient(zk!.connectionString, { sessionTimeout: SESSION_TIMEOUT_MS, spinDelay: 100 });
  await within(
    new Promise<void>((resolve) => {
      client.once('connected', () => resolve());
      client.connect();
    }),
    `a ZooKeeper session at ${zk!.connectionString}`,
    [],
  );
  return client;
}

/** Closes a session and waits (bounded) for it to end; its ephemeral nodes go with it. */
async function closeZk(client: Client): Promise<void> {
  await within(
    new Promise<void>((resolve) => {
      client.once('disconnected', () => resolve());
      client.close();
    }),
    'a ZooKeeper session to close',
    [],
  );
}

/** A fake Mesos master's registration: its own session holding a `json.info_` node. */
async function registerMaster(
  path: string,
  port: number,
  id: string,
): Promise<{ node: string; stop(): Promise<void> }> {
  const client = await connectZk();
  let open = true;
  const stop = async (): Promise<void> => {
    if (!open) return;
    open = false;
    await closeZk(client);
  };
  cleanups.push(stop);
  await new Promise<string>((resolve, reject) =>
    client.mkdirp(path, (error, created) => (error ? reject(error) : resolve(created))),
  );
  const node = await new Promise<string>((resolve, reject) =>
    client.create(`${path}/json.info_`, masterInfoFor(port, id), zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { node, stop };
}

function schedulerClient(
  options: Partial<SchedulerClientOptions> & Pick<SchedulerClientOptions, 'master' | 'frameworkInfo' | 'logger'>,
): SchedulerClient {
  const created = createSchedulerClient({ encoding: 'json', ...options });
  clients.push(created);
  return created;
}

/** The framework of the recorded SUBSCRIBE: no id, so any id the client sends it learnt from a master. */
async function recordedFrameworkInfo(): Promise<FrameworkInfo> {
  const subscribe = await load('flow', 'flow-subscribe');
  const info = SCHEDULER_CALL_CODECS.json.decode(subscribe.request!.body).subscribe!.framework_info;
  expect(info.id).toBeUndefined();
  return info;
}

const subscribes = (server: ReplayServer): ReceivedRequest[] =>
  server.requests.filter((request) => request.callType === 'SUBSCRIBE');

const decoded = (request: ReceivedRequest): SchedulerCall => SCHEDULER_CALL_CODECS.json.decode(request.body);

// With CI=true a missing ZooKeeper fails these tests instead of skipping them.
describe.skipIf(!findZooKeeper() && process.env.CI !== 'true')('scheduler client through a real ZooKeeper', () => {
  beforeAll(async () => {
    zk = await startZooKeeperServer({ tickTimeMs: 200 });
  });

  afterAll(async () => {
    await zk?.stop();
  });

  it('subscribes to the elected master, then follows a failover to the next one with its framework id', async () => {
    const path = freshPath();
    const a = await fakeMasterHttp();
    const b = await fakeMasterHttp();
    const masterA = await registerMaster(path, a.port, 'master-a');
    const masterB = await registerMaster(path, b.port, 'master-b');
    // The lowest sequence leads: A registered first.
    expect(masterA.node < masterB.node).toBe(true);

    const logger = capturingLogger();
    const scheduler = schedulerClient({
      // The string form: the client creates (and closes) its own ZooKeeper detector.
      master: `mesos://zk://${zk!.connectionString}${path}`,
      frameworkInfo: await recordedFrameworkInfo(),
      logger,
    });
    expect(scheduler.frameworkId).toBeUndefined();
    await within(scheduler.start(), 'SUBSCRIBED from master A', logger.lines);

    expect(scheduler.leaderUrl).toBe(`${a.url}/api/v1/scheduler`);
    expect(scheduler.frameworkId).toBe(FLOW_FRAMEWORK_ID);
    expect(subscribes(a)).toHaveLength(1);
    expect(subscribes(b)).toHaveLength(0);
    const first = decoded(subscribes(a)[0]!);
    expect(first.framework_id).toBeUndefined();

    // Master A dies: its session ends, its node vanishes, B is elected.
    await masterA.stop();
    await until(
      () => scheduler.state === 'subscribed' && scheduler.leaderUrl === `${b.url}/api/v1/scheduler`,
      'a subscription to master B after A left ZooKeeper',
      logger.lines,
    );

    expect(subscribes(b)).toHaveLength(1);
    const resubscribe = decoded(subscribes(b)[0]!);
    // The id A's SUBSCRIBED gave, in both places Mesos reads it on a re-subscription.
    expect(resubscribe.framework_id).toEqual({ value: FLOW_FRAMEWORK_ID });
    expect(resubscribe.subscribe!.framework_info.id).toEqual({ value: FLOW_FRAMEWORK_ID });
    expect(resubscribe.subscribe!.framework_info.name).toBe('probe-flow');
    // A was not subscribed to again after it left.
    expect(subscribes(a)).toHaveLength(1);
    expect(
      logger.lines.some((line) => line.fields?.code === 'SM_ERR_LEADER_CHANGED'),
      `a leader change in the log:\n${format(logger.lines)}`,
    ).toBe(true);
    expect(a.mismatches).toEqual([]);
    expect(b.mismatches).toEqual([]);

    await scheduler.close();
    expect(scheduler.state).toBe('closed');
  });

  // KNOWN BUG (fails until scheduler-client.ts is fixed): the ZooKeeper detector reports its
  // first leader to onChange listeners too (no leader → A is a change to it), and the client
  // takes that report for a failover: it aborts its first attempt while that attempt still
  // waits in detect(), and warns that the subscription is lost, on every clean start.
  it('starts without a spurious failover when the detector first reports the leader', async () => {
    const path = freshPath();
    const a = await fakeMasterHttp();
    await registerMaster(path, a.port, 'master-a');
    const logger = capturingLogger();
    const scheduler = schedulerClient({
      master: `mesos://zk://${zk!.connectionString}${path}`,
      frameworkInfo: await recordedFrameworkInfo(),
      logger,
    });
    await within(scheduler.start(), 'SUBSCRIBED from master A', logger.lines);
    expect(subscribes(a)).toHaveLength(1);
    const subscribedAt = logger.lines.findIndex((line) => line.message.startsWith('Subscribed to the Mesos master'));
    const beforeSubscribed = logger.lines.slice(0, subscribedAt);
    // With the default logger these warnings reach console.warn on every start through ZooKeeper.
    expect(
      beforeSubscribed.filter((line) => line.level === 'warn' || line.fields?.code === 'SM_ERR_LEADER_CHANGED'),
      `a clean start must not abort its first attempt nor warn "subscription is lost"; log:\n${format(logger.lines)}`,
    ).toEqual([]);
  });

  it('waits while no master is registered, then subscribes to the first one that is', async () => {
    const path = freshPath();
    const a = await fakeMasterHttp();
    const logger = capturingLogger();
    // The detector form; the client does not close a detector it was given.
    const url = parseMasterUrl(`mesos://zk://${zk!.connectionString}${path}`);
    if (url.kind !== 'mesos') throw new Error(`expected a mesos:// master URL, got ${url.kind}`);
    const detector: MasterDetector = createMasterDetector(url, { sessionTimeoutMs: SESSION_TIMEOUT_MS, logger });
    cleanups.push(() => detector.close());
    const scheduler = schedulerClient({ master: detector, frameworkInfo: await recordedFrameworkInfo(), logger });
    let subscribed = false;
    const started = scheduler.start().then(() => {
      subscribed = true;
    });
    // Long enough for the detector to connect and find the path missing.
    await until(
      () => logger.lines.some((line) => line.message.includes('does not exist yet')),
      'the detector to report the missing path',
      logger.lines,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(subscribed).toBe(false);
    expect(scheduler.state).toBe('connecting');
    expect(a.requests).toHaveLength(0);

    await registerMaster(path, a.port, 'master-a');
    await within(started, 'SUBSCRIBED once a master registered', logger.lines);
    expect(scheduler.leaderUrl).toBe(`${a.url}/api/v1/scheduler`);
    expect(subscribes(a)).toHaveLength(1);
    expect(decoded(subscribes(a)[0]!).framework_id).toBeUndefined();
    expect(a.mismatches).toEqual([]);
  });
});
