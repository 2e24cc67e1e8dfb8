// Master behaviour through the scheduler client: invalid ACCEPTs, KILL, RECONCILE, DECLINE.
import { userInfo } from 'node:os';
import {
  createSchedulerClient,
  launchOperation,
  type Offer,
  type SchedulerClient,
  type SchedulerEvent,
  type TaskStatus,
} from '@spark-mesos/mesos-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from './local-cluster.js';

let cluster: LocalCluster;
let client: SchedulerClient;
const events: SchedulerEvent[] = [];
// The offer not yet used: a real master re-offers nothing while resources sit in an offer.
let outstanding: Offer;
// Where the events after the KILL of the last test begin.
let killedFrom = 0;

beforeAll(async () => {
  cluster = await startLocalCluster({ heartbeatIntervalSeconds: 1, allocationIntervalMs: 50 });
  client = createSchedulerClient({
    master: cluster.masterUrl,
    encoding: 'protobuf',
    frameworkInfo: { user: userInfo().username, name: 'master test', failover_timeout: 0 },
  });
  client.on('event', (event) => {
    events.push(event);
  });
  await client.start();
});
afterAll(async () => {
  await client.teardown().catch(() => {});
  await client.close();
  await cluster.stop();
});

async function next<T>(pick: (event: SchedulerEvent) => T | undefined, from = events.length): Promise<T> {
  for (let i = 0; i < 500; i++) {
    for (const event of events.slice(from)) {
      const value = pick(event);
      if (value !== undefined) return value;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no such event');
}

const offer = (from?: number): Promise<Offer> =>
  next((event) => (event.type === 'OFFERS' ? event.offers?.offers?.[0] : undefined), from);
const update = (taskId: string, state: string, from = 0): Promise<TaskStatus> =>
  next((event) => {
    const status = event.type === 'UPDATE' ? event.update?.status : undefined;
    return status?.task_id.value === taskId && status.state === state ? status : undefined;
  }, from);

describe('LocalMaster', () => {
  it('answers an ACCEPT of an unknown offer with TASK_LOST (REASON_INVALID_OFFERS), no uuid', async () => {
    const task = { name: 'x', task_id: { value: 'lost' }, agent_id: { value: 'none' }, command: { value: 'true' } };
    await client.accept({ offer_ids: [{ value: 'no-such-offer' }], operations: [launchOperation([task])] });
    const status = await update('lost', 'TASK_LOST');
    expect(status).toMatchObject({ reason: 'REASON_INVALID_OFFERS', source: 'SOURCE_MASTER' });
    expect(status.uuid).toBeUndefined();
  });

  it('answers a task asking more than its offer with TASK_ERROR, and re-offers the resources', async () => {
    const first = await offer(0);
    const task = {
      name: 'x',
      task_id: { value: 'too-big' },
      agent_id: first.agent_id,
      resources: [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 99 }, role: '*' }],
      command: { value: 'true' },
    };
    const from = events.length;
    await client.accept({
      offer_ids: [first.id],
      operations: [launchOperation([task])],
      filters: { refuse_seconds: 0 },
    });
    expect(await update('too-big', 'TASK_ERROR')).toMatchObject({ reason: 'REASON_TASK_INVALID' });
    // Refused tasks count as ended, as in Mesos' metrics (the unknown-offer one of the test before too).
    const metrics = (await (await fetch(`${cluster.httpUrl}/metrics/snapshot`)).json()) as Record<string, number>;
    expect(metrics).toMatchObject({ 'master/tasks_error': 1, 'master/tasks_lost': 1 });
    const again = await offer(from);
    expect(again.resources?.find((r) => r.name === 'cpus')?.scalar?.value).toBe(4);
    outstanding = again;
  });

  it('kills a running task and reconciles it; an unknown task reconciles as TASK_LOST', async () => {
    const current = outstanding;
    const task = {
      name: 'sleeper',
      task_id: { value: 'sleeper' },
      agent_id: current.agent_id,
      resources: [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 }, role: '*' }],
      command: { value: 'sleep 30' },
    };
    const beforeAccept = events.length;
    await client.accept({
      offer_ids: [current.id],
      operations: [launchOperation([task])],
      filters: { refuse_seconds: 0 },
    });
    await update('sleeper', 'TASK_RUNNING');
    outstanding = await offer(beforeAccept);
    let from = events.length;
    await client.reconcile({ tasks: [{ task_id: { value: 'sleeper' } }, { task_id: { value: 'ghost' } }] });
    expect(await update('sleeper', 'TASK_RUNNING', from)).toMatchObject({ reason: 'REASON_RECONCILIATION' });
    const ghost = await update('ghost', 'TASK_LOST', from);
    expect(ghost).toMatchObject({ message: 'Reconciliation: Task is unknown', source: 'SOURCE_MASTER' });
    expect(ghost.uuid).toBeUndefined();
    from = events.length;
    killedFrom = from;
    await client.kill({ task_id: { value: 'sleeper' } });
    expect(await update('sleeper', 'TASK_KILLED', from)).toMatchObject({ source: 'SOURCE_EXECUTOR' });
  });

  it('does not re-offer declined resources before refuse_seconds, unless more are free', async () => {
    // The killed task's resources came back in a second offer of that agent. Declined together
    // (each a filter of its own, as in Mesos), the agent is whole again: more than either
    // refused part, so it is offered at once.
    const freed = await next(
      (event) =>
        event.type === 'OFFERS' ? event.offers?.offers?.find((o) => o.id.value !== outstanding.id.value) : undefined,
      killedFrom,
    );
    let from = events.length;
    await client.decline({ offer_ids: [outstanding.id, freed.id], filters: { refuse_seconds: 30 } });
    const whole = await offer(from);
    expect(whole.resources?.find((r) => r.name === 'cpus')?.scalar?.value).toBe(4);
    // The same resources declined again stay away until the filter expires.
    await client.decline({ offer_ids: [whole.id], filters: { refuse_seconds: 1 } });
    from = events.length;
    const declinedAt = Date.now();
    await offer(from);
    expect(Date.now() - declinedAt).toBeGreaterThanOrEqual(900);
  });
});
