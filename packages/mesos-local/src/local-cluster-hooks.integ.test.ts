// The test hooks of startLocalCluster and the master behaviour they expose, seen through the real
// scheduler client: agent loss (RESCIND before the task updates), partitions, master failover,
// silent heartbeats, cut connections, latency, framework failover and removal, /metrics/snapshot.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import {
  createSchedulerClient,
  type FrameworkInfo,
  launchOperation,
  type Offer,
  type SchedulerClient,
  type SchedulerClientOptions,
  type SchedulerEvent,
  type TaskInfo,
  type TaskStatus,
} from '@spark-mesos/mesos-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalCluster, type LocalClusterOptions, startLocalCluster } from './local-cluster.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function cluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const started = await startLocalCluster({
    heartbeatIntervalSeconds: 1,
    allocationIntervalMs: 50,
    statusUpdateRetryMs: 200,
    ...options,
  });
  cleanups.push(() => started.stop());
  return started;
}

interface Recorded {
  readonly client: SchedulerClient;
  readonly events: SchedulerEvent[];
}

function client(
  target: LocalCluster,
  frameworkInfo: Partial<FrameworkInfo> = {},
  options: Partial<SchedulerClientOptions> = {},
): Recorded {
  const created = createSchedulerClient({
    master: target.masterUrl,
    encoding: 'json',
    reconcile: { enabled: false },
    ...options,
    frameworkInfo: { user: userInfo().username, name: 'hooks test', failover_timeout: 60, ...frameworkInfo },
  });
  const events: SchedulerEvent[] = [];
  created.on('event', (event) => {
    events.push(event);
  });
  cleanups.push(async () => {
    await created.teardown().catch(() => {});
    await created.close();
  });
  return { client: created, events };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`No ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const offerAfter = (recorded: Recorded, from: number, agentId?: string): Promise<Offer> =>
  until('offer', () =>
    recorded.events
      .slice(from)
      .flatMap((event) => (event.type === 'OFFERS' ? (event.offers?.offers ?? []) : []))
      .find((offer) => agentId === undefined || offer.agent_id.value === agentId),
  );

const statusAfter = (recorded: Recorded, taskId: string, state: string, from = 0): Promise<TaskStatus> =>
  until(`${state} of ${taskId}`, () =>
    recorded.events
      .slice(from)
      .map((event) => (event.type === 'UPDATE' ? event.update?.status : undefined))
      .find((status) => status?.task_id.value === taskId && status.state === state),
  );

const indexOf = (recorded: Recorded, match: (event: SchedulerEvent) => boolean): number =>
  recorded.events.findIndex(match);

function sleepTask(offer: Offer, taskId: string): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: offer.agent_id,
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, role: '*' },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32 }, role: '*' },
    ],
    command: { value: 'sleep 30' },
  };
}

/** Launches `sleep 30` on the first offer; resolves with its RUNNING status and the offer of what is left. */
async function launchSleeper(recorded: Recorded, taskId: string): Promise<{ running: TaskStatus; rest: Offer }> {
  const offer = await offerAfter(recorded, 0);
  const from = recorded.events.length;
  await recorded.client.accept({
    offer_ids: [offer.id],
    operations: [launchOperation([sleepTask(offer, taskId)])],
    filters: { refuse_seconds: 0 },
  });
  const running = await statusAfter(recorded, taskId, 'TASK_RUNNING', from);
  const rest = await offerAfter(recorded, from, offer.agent_id.value);
  return { running, rest };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function masterState(target: LocalCluster): Promise<MasterStateJson> {
  return (await (await fetch(`${target.httpUrl}/master/state`)).json()) as MasterStateJson;
}

interface TaskJson {
  readonly id: string;
  readonly state: string;
  readonly statuses: ReadonlyArray<{ readonly state: string; readonly reason?: string; readonly message?: string }>;
}
interface FrameworkJson {
  readonly id: string;
  readonly tasks: readonly TaskJson[];
  readonly completed_tasks: readonly TaskJson[];
  readonly unreachable_tasks: readonly TaskJson[];
}
interface MasterStateJson {
  readonly id: string;
  readonly elected_time: number;
  readonly frameworks: readonly FrameworkJson[];
  readonly completed_frameworks: readonly FrameworkJson[];
  readonly slaves: ReadonlyArray<{ readonly id: string; readonly active: boolean }>;
  readonly unreachable_slaves: number;
}

describe('cluster.hooks', () => {
  it('killAgent: RESCIND of its offers first, then TASK_LOST (REASON_AGENT_DISCONNECTED); the process is gone; restartAgent offers it again', async () => {
    const target = await cluster();
    const scheduler = client(target);
    await scheduler.client.start();
    const { running, rest } = await launchSleeper(scheduler, 'doomed');
    const pid = running.container_status?.executor_pid as number;
    expect(isAlive(pid)).toBe(true);
    const agentId = rest.agent_id.value;

    await target.hooks.killAgent(agentId);
    const lost = await statusAfter(scheduler, 'doomed', 'TASK_LOST');
    expect(lost).toMatchObject({
      source: 'SOURCE_MASTER',
      reason: 'REASON_AGENT_DISCONNECTED',
      message: 'Agent 127.0.0.1 disconnected',
    });
    const rescinded = indexOf(scheduler, (e) => e.type === 'RESCIND' && e.rescind?.offer_id.value === rest.id.value);
    const lostAt = indexOf(scheduler, (e) => e.type === 'UPDATE' && e.update?.status.state === 'TASK_LOST');
    expect(rescinded).toBeGreaterThanOrEqual(0);
    expect(rescinded).toBeLessThan(lostAt);
    await until('the task process to die', () => (isAlive(pid) ? undefined : true));
    const state = await masterState(target);
    expect(state.slaves.find((slave) => slave.id === agentId)?.active).toBe(false);
    expect(state.frameworks[0]?.completed_tasks.map((task) => [task.id, task.state])).toEqual([
      ['doomed', 'TASK_LOST'],
    ]);

    const from = scheduler.events.length;
    await target.hooks.restartAgent(agentId);
    const again = await offerAfter(scheduler, from, agentId);
    expect(again.resources?.find((r) => r.name === 'cpus')?.scalar?.value).toBe(4);
    expect(target.agents[0]?.url).toBe(`http://127.0.0.1:${again.url?.address.port}`);
  });

  it('restartAgent: tasks of a checkpointing framework left on it become TASK_LOST (task unknown to the agent)', async () => {
    const target = await cluster();
    const scheduler = client(target, { checkpoint: true });
    await scheduler.client.start();
    const { rest } = await launchSleeper(scheduler, 'kept');
    await target.hooks.killAgent(rest.agent_id.value);
    // A checkpointing framework's task waits for the agent to come back.
    expect((await masterState(target)).frameworks[0]?.tasks.map((task) => task.id)).toEqual(['kept']);
    await target.hooks.restartAgent(rest.agent_id.value);
    const lost = await statusAfter(scheduler, 'kept', 'TASK_LOST');
    expect(lost).toMatchObject({
      reason: 'REASON_RECONCILIATION',
      message: 'Reconciliation: task unknown to the agent',
      source: 'SOURCE_AGENT',
    });
  });

  it('restartAgent (running agent, checkpointing framework): same url, the task process keeps running, no update; a kill still works', async () => {
    const target = await cluster();
    const scheduler = client(target, { checkpoint: true });
    await scheduler.client.start();
    const { running, rest } = await launchSleeper(scheduler, 'recovered');
    const pid = running.container_status?.executor_pid as number;
    const agentId = rest.agent_id.value;
    const url = target.agents[0]?.url;
    const from = scheduler.events.length;

    await target.hooks.restartAgent(agentId);
    expect(target.agents[0]?.url).toBe(url);
    const agentState = (await (await fetch(`${url}/state`)).json()) as { flags: Record<string, string> };
    expect(agentState.flags).toMatchObject({
      recover: 'reconnect',
      recovery_timeout: '15mins',
      executor_reregistration_timeout: '2secs',
    });
    await offerAfter(scheduler, from, agentId);
    expect(isAlive(pid)).toBe(true);
    expect((await masterState(target)).frameworks[0]?.tasks.map((task) => [task.id, task.state])).toEqual([
      ['recovered', 'TASK_RUNNING'],
    ]);
    // Nothing new: at most re-sends of an update not acknowledged before the restart.
    const uuidsOf = (events: readonly SchedulerEvent[]): string[] =>
      events.flatMap((event) => (event.update ? [Buffer.from(event.update.status.uuid ?? []).toString('hex')] : []));
    const before = new Set(uuidsOf(scheduler.events.slice(0, from)));
    expect(uuidsOf(scheduler.events.slice(from)).filter((uuid) => !before.has(uuid))).toEqual([]);

    await scheduler.client.kill({ task_id: { value: 'recovered' }, agent_id: rest.agent_id });
    await statusAfter(scheduler, 'recovered', 'TASK_KILLED', from);
    await until('the task process to die', () => (isAlive(pid) ? undefined : true));
  });

  it('restartAgent (running agent, no checkpoint): the task process is killed and the task TASK_LOST', async () => {
    const target = await cluster();
    const scheduler = client(target);
    await scheduler.client.start();
    const { running, rest } = await launchSleeper(scheduler, 'forgotten');
    const pid = running.container_status?.executor_pid as number;
    await target.hooks.restartAgent(rest.agent_id.value);
    expect(await statusAfter(scheduler, 'forgotten', 'TASK_LOST')).toMatchObject({
      reason: 'REASON_AGENT_DISCONNECTED',
    });
    await until('the task process to die', () => (isAlive(pid) ? undefined : true));
    expect(scheduler.events.filter((event) => event.update?.status.task_id.value === 'forgotten').length).toBe(3);
  });

  it('restartAgent: a checkpointing executor that does not subscribe again is killed, its task TASK_LOST (REASON_EXECUTOR_REREGISTRATION_TIMEOUT)', async () => {
    const target = await cluster({ executorReregistrationTimeoutMs: 300 });
    const scheduler = client(target, { checkpoint: true });
    await scheduler.client.start();
    const offer = await offerAfter(scheduler, 0);
    const from = scheduler.events.length;
    // An executor that subscribes, runs its task, and stays alive without ever subscribing again.
    const silent = [
      "const url = 'http://' + process.env.MESOS_AGENT_ENDPOINT + '/api/v1/executor';",
      'const ids = { framework_id: { value: process.env.MESOS_FRAMEWORK_ID }, executor_id: { value: process.env.MESOS_EXECUTOR_ID } };',
      "const post = (call) => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify({ ...ids, ...call }) });",
      'setTimeout(() => process.exit(2), 30000);',
      "const response = await post({ type: 'SUBSCRIBE', subscribe: {} });",
      'try { for await (const chunk of response.body) { const text = Buffer.from(chunk).toString();',
      '  const match = /"task_id":\\{"value":"([^"]+)"/.exec(text);',
      "  if (text.includes('LAUNCH') && match) { const uuid = Buffer.from(crypto.randomUUID().replaceAll('-', ''), 'hex').toString('base64');",
      "    await post({ type: 'UPDATE', update: { status: { task_id: { value: match[1] }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid } } }); } } } catch {}",
    ].join('\n');
    await scheduler.client.accept({
      offer_ids: [offer.id],
      operations: [
        launchOperation([
          {
            ...sleepTask(offer, 'orphan'),
            command: undefined,
            executor: {
              executor_id: { value: 'silent' },
              command: { value: `exec node --input-type=module -e '${silent.replaceAll("'", "'\\''")}'` },
              resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 }, role: '*' }],
            },
          },
        ]),
      ],
    });
    const running = await statusAfter(scheduler, 'orphan', 'TASK_RUNNING', from);
    const pid = running.container_status?.executor_pid as number;
    expect(isAlive(pid)).toBe(true);
    await target.hooks.restartAgent(offer.agent_id.value);
    const lost = await statusAfter(scheduler, 'orphan', 'TASK_LOST', from);
    expect(lost).toMatchObject({
      source: 'SOURCE_AGENT',
      reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT',
      message: 'Executor did not reregister within 300ms',
    });
    await until('the executor process to die', () => (isAlive(pid) ? undefined : true));
  });

  it('setAgentReachable: TASK_UNREACHABLE for a PARTITION_AWARE framework, no offers; back, the task is RUNNING again', async () => {
    const target = await cluster();
    const scheduler = client(target, { capabilities: [{ type: 'PARTITION_AWARE' }] });
    await scheduler.client.start();
    const { running, rest } = await launchSleeper(scheduler, 'partitioned');
    const agentId = rest.agent_id.value;

    target.hooks.setAgentReachable(agentId, false);
    const unreachable = await statusAfter(scheduler, 'partitioned', 'TASK_UNREACHABLE');
    expect(unreachable).toMatchObject({ reason: 'REASON_AGENT_REMOVED', message: 'health check timed out' });
    // When it became unreachable, in nanoseconds since the epoch (beyond 2^53, as from a real master).
    expect(unreachable.unreachable_time?.nanoseconds).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    expect(Math.abs((unreachable.unreachable_time?.nanoseconds ?? 0) / 1e6 - Date.now())).toBeLessThan(60_000);
    expect(indexOf(scheduler, (e) => e.type === 'RESCIND')).toBeLessThan(
      indexOf(scheduler, (e) => e.update?.status.state === 'TASK_UNREACHABLE'),
    );
    await until('FAILURE naming the agent', () =>
      scheduler.events.find((e) => e.type === 'FAILURE' && e.failure?.agent_id?.value === agentId),
    );
    const quietFrom = scheduler.events.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(scheduler.events.slice(quietFrom).filter((e) => e.type === 'OFFERS')).toEqual([]);
    expect(isAlive(running.container_status?.executor_pid as number)).toBe(true);
    const partitioned = await masterState(target);
    expect(partitioned.unreachable_slaves).toBe(1);
    expect(partitioned.frameworks[0]?.unreachable_tasks.map((task) => task.state)).toEqual(['TASK_UNREACHABLE']);

    const from = scheduler.events.length;
    target.hooks.setAgentReachable(agentId, true);
    await scheduler.client.reconcile({ tasks: [{ task_id: { value: 'partitioned' } }] });
    expect(await statusAfter(scheduler, 'partitioned', 'TASK_RUNNING', from)).toMatchObject({
      reason: 'REASON_RECONCILIATION',
    });
    await offerAfter(scheduler, from, agentId);
  });

  it('a task reusing the id of an unreachable task is TASK_ERROR, as Mesos validateUniqueTaskID', async () => {
    const target = await cluster({ agents: 2 });
    const scheduler = client(target, { capabilities: [{ type: 'PARTITION_AWARE' }] });
    await scheduler.client.start();
    const { rest } = await launchSleeper(scheduler, 'behind-partition');
    target.hooks.setAgentReachable(rest.agent_id.value, false);
    await statusAfter(scheduler, 'behind-partition', 'TASK_UNREACHABLE');
    const from = scheduler.events.length;
    // The other agent's offer may be outstanding since before the partition.
    const other = await until('an offer of the other agent', () =>
      scheduler.events
        .flatMap((event) => (event.type === 'OFFERS' ? (event.offers?.offers ?? []) : []))
        .findLast((offer) => offer.agent_id.value !== rest.agent_id.value),
    );
    await scheduler.client.accept({
      offer_ids: [other.id],
      operations: [launchOperation([sleepTask(other, 'behind-partition')])],
    });
    expect(await statusAfter(scheduler, 'behind-partition', 'TASK_ERROR', from)).toMatchObject({
      reason: 'REASON_TASK_INVALID',
      message: 'Task reuses the ID of an unreachable task: behind-partition',
    });
  });

  it('setAgentReachable: TASK_LOST (REASON_AGENT_REMOVED) for a framework that is not partition-aware', async () => {
    const target = await cluster();
    const scheduler = client(target);
    await scheduler.client.start();
    const { rest } = await launchSleeper(scheduler, 'lost-in-partition');
    target.hooks.setAgentReachable(rest.agent_id.value, false);
    expect(await statusAfter(scheduler, 'lost-in-partition', 'TASK_LOST')).toMatchObject({
      reason: 'REASON_AGENT_REMOVED',
      source: 'SOURCE_MASTER',
    });
  });

  it('failoverMaster: the client re-subscribes to the new master with its id and keeps its task', async () => {
    const target = await cluster();
    // failover_timeout 0: a new Mesos master runs no failover timeout for recovered frameworks.
    const scheduler = client(target, { failover_timeout: 0 }, { reconcile: { enabled: true } });
    await scheduler.client.start();
    const frameworkId = scheduler.client.frameworkId;
    await launchSleeper(scheduler, 'survivor');
    const before = await masterState(target);

    const from = scheduler.events.length;
    target.hooks.failoverMaster();
    const subscribed = await until('SUBSCRIBED after the master failover', () =>
      scheduler.events.slice(from).find((event) => event.type === 'SUBSCRIBED'),
    );
    expect(subscribed.subscribed?.framework_id.value).toBe(frameworkId);
    expect(subscribed.subscribed?.master_info?.id).not.toBe(before.id);
    expect(target.masterId).toBe(subscribed.subscribed?.master_info?.id);
    // The client's implicit reconciliation after SUBSCRIBED reports the task.
    expect(await statusAfter(scheduler, 'survivor', 'TASK_RUNNING', from)).toMatchObject({
      reason: 'REASON_RECONCILIATION',
    });
    expect(scheduler.events.some((event) => event.type === 'ERROR')).toBe(false);
    const after = await masterState(target);
    expect(after.elected_time).toBeGreaterThan(before.elected_time);
  });

  it('failoverMaster: a framework that does not come back stays recovered (no failover timeout runs)', async () => {
    const target = await cluster();
    const gone = client(target, { failover_timeout: 0.2 });
    await gone.client.start();
    const frameworkId = gone.client.frameworkId as string;
    await gone.client.close();
    // The old master's timer (0.2 s) dies with it.
    target.hooks.failoverMaster();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const state = await masterState(target);
    expect(state.frameworks.map((framework) => framework.id)).toEqual([frameworkId]);
    expect(state.frameworks[0]).toMatchObject({ recovered: true, active: false, connected: false });
  });

  it('pauseHeartbeats: the client heartbeat watchdog re-subscribes; resumeHeartbeats ends the silence', async () => {
    const target = await cluster();
    const scheduler = client(target, {}, { heartbeatMissLimit: 2 });
    await scheduler.client.start();
    // No offers either: any event would feed the watchdog.
    await scheduler.client.suppress();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const from = scheduler.events.length;
    target.hooks.pauseHeartbeats();
    const resubscribed = await until(
      'SUBSCRIBED after the heartbeats stopped',
      () => scheduler.events.slice(from).find((event) => event.type === 'SUBSCRIBED'),
      8000,
    );
    expect(resubscribed.subscribed?.framework_id.value).toBe(scheduler.client.frameworkId);
    expect(scheduler.events.slice(from).some((event) => event.type === 'HEARTBEAT')).toBe(false);
    target.hooks.resumeHeartbeats();
    const resumed = scheduler.events.length;
    await until('HEARTBEAT after resumeHeartbeats', () =>
      scheduler.events.slice(resumed).find((event) => event.type === 'HEARTBEAT'),
    );
  });

  it('dropSchedulerConnections: the client reconnects without an ERROR and keeps its task', async () => {
    // Two agents: DRF shares them, one offer each.
    const target = await cluster({ agents: 2 });
    const scheduler = client(target);
    const bystander = client(target, { name: 'bystander' });
    await scheduler.client.start();
    await bystander.client.start();
    await launchSleeper(scheduler, 'connected');
    const oldStream = scheduler.client.streamId;
    const from = scheduler.events.length;
    const bystanderFrom = bystander.events.length;

    expect(target.hooks.dropSchedulerConnections(scheduler.client.frameworkId)).toBe(1);
    await until('SUBSCRIBED after the cut', () =>
      scheduler.events.slice(from).find((event) => event.type === 'SUBSCRIBED'),
    );
    expect(scheduler.client.streamId).not.toBe(oldStream);
    expect(scheduler.events.some((event) => event.type === 'ERROR')).toBe(false);
    expect(bystander.events.slice(bystanderFrom).some((event) => event.type === 'SUBSCRIBED')).toBe(false);
    const reconciled = scheduler.events.length;
    await scheduler.client.reconcile();
    await statusAfter(scheduler, 'connected', 'TASK_RUNNING', reconciled);
  });

  it('setLatency: answers and events come later, in order', async () => {
    const target = await cluster();
    const scheduler = client(target);
    await scheduler.client.start();
    await offerAfter(scheduler, 0);
    target.hooks.setLatency(300);
    const from = scheduler.events.length;
    const sentAt = Date.now();
    await scheduler.client.reconcile({ tasks: [{ task_id: { value: 'a' } }, { task_id: { value: 'b' } }] });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(250);
    const b = await statusAfter(scheduler, 'b', 'TASK_LOST', from);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(550);
    const order = scheduler.events
      .slice(from)
      .flatMap((e) => (e.type === 'UPDATE' ? [e.update?.status.task_id.value] : []));
    expect(order).toEqual(['a', 'b']);
    expect(b.message).toBe('Reconciliation: Task is unknown');
    target.hooks.setLatency(0);
    expect(() => target.hooks.setLatency(-1)).toThrow(/latency/);
    expect(() => target.hooks.setAgentReachable('nope', false)).toThrow(/No agent "nope"/);
  });
});

describe('framework failover and removal', () => {
  it('a re-subscription with the framework id takes over: ERROR "Framework failed over" to the old stream, unacknowledged updates reach the new one', async () => {
    const target = await cluster();
    const first = client(target, {}, { autoAcknowledge: false });
    await first.client.start();
    const frameworkId = first.client.frameworkId as string;
    const offer = await offerAfter(first, 0);
    await first.client.accept({ offer_ids: [offer.id], operations: [launchOperation([sleepTask(offer, 'held')])] });
    // TASK_STARTING stays unacknowledged: the agent re-sends it, and TASK_RUNNING waits behind it.
    const starting = await statusAfter(first, 'held', 'TASK_STARTING');
    const oldStream = first.client.streamId as string;

    const second = client(target, { id: { value: frameworkId } });
    await second.client.start();
    await until('the old client to fail', () => (first.client.state === 'failed' ? true : undefined));
    expect(first.client.error).toMatchObject({ code: 'SM_ERR_FRAMEWORK_ERROR' });
    expect(first.events.at(-1)).toEqual({ type: 'ERROR', error: { message: 'Framework failed over' } });
    const resent = await statusAfter(second, 'held', 'TASK_STARTING');
    expect(Buffer.from(resent.uuid as Uint8Array).equals(Buffer.from(starting.uuid as Uint8Array))).toBe(true);
    await statusAfter(second, 'held', 'TASK_RUNNING');

    // The recorded answer to a call with the old stream id (flow2/failover-old-stream-id-after-failover).
    const answer = await fetch(`${target.httpUrl}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Mesos-Stream-Id': oldStream },
      body: JSON.stringify({ type: 'REVIVE', framework_id: { value: frameworkId } }),
    });
    expect(answer.status).toBe(400);
    expect(await answer.text()).toBe(
      `The stream ID '${oldStream}' included in this request didn't match the stream ID currently associated with framework ID ${frameworkId}`,
    );
  });

  it('past failover_timeout the framework is removed: tasks killed (processes gone), TASK_KILLED in completed tasks, "Framework has been removed" to a later SUBSCRIBE', async () => {
    const target = await cluster();
    const first = client(target, { failover_timeout: 0.5 });
    await first.client.start();
    const frameworkId = first.client.frameworkId as string;
    const { running } = await launchSleeper(first, 'orphan');
    const pid = running.container_status?.executor_pid as number;
    await first.client.close();

    let removed: MasterStateJson | undefined;
    for (let i = 0; i < 100 && removed === undefined; i++) {
      const current = await masterState(target);
      if (current.completed_frameworks.some((framework) => framework.id === frameworkId)) removed = current;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(removed?.frameworks.map((framework) => framework.id)).not.toContain(frameworkId);
    const task = removed?.completed_frameworks[0]?.completed_tasks.find((t) => t.id === 'orphan');
    expect(task?.state).toBe('TASK_KILLED');
    expect(task?.statuses.at(-1)).toMatchObject({
      state: 'TASK_KILLED',
      reason: 'REASON_FRAMEWORK_REMOVED',
      message: `Framework ${frameworkId} removed`,
    });
    await until('the task process to die', () => (isAlive(pid) ? undefined : true));

    const late = client(target, { id: { value: frameworkId } });
    await expect(late.client.start()).rejects.toMatchObject({ code: 'SM_ERR_FRAMEWORK_ERROR' });
    expect(late.events).toEqual([{ type: 'ERROR', error: { message: 'Framework has been removed' } }]);
  });
});

describe('re-subscription checks', () => {
  it('refuses another principal with ERROR and keeps the current subscription; user and checkpoint stay as first given', async () => {
    const target = await cluster();
    const first = client(target, { principal: 'alice', checkpoint: true });
    await first.client.start();
    const frameworkId = first.client.frameworkId as string;
    const intruder = client(target, { id: { value: frameworkId }, principal: 'mallory' });
    await expect(intruder.client.start()).rejects.toMatchObject({ code: 'SM_ERR_FRAMEWORK_ERROR' });
    expect(intruder.events).toEqual([
      { type: 'ERROR', error: { message: "Changing framework's principal is not allowed." } },
    ]);
    expect(first.client.state).toBe('subscribed');
    await first.client.revive();

    const second = client(target, {
      id: { value: frameworkId },
      principal: 'alice',
      user: 'someone-else',
      checkpoint: false,
    });
    await second.client.start();
    const framework = (await masterState(target)).frameworks[0] as unknown as { user: string; checkpoint: boolean };
    expect(framework).toMatchObject({ user: userInfo().username, checkpoint: true });
  });
});

describe('allocation and UPDATE_FRAMEWORK', () => {
  it('shares two agents between two frameworks, one agent each (DRF)', async () => {
    const target = await cluster({ agents: 2 });
    const first = client(target, { name: 'fair A' });
    const second = client(target, { name: 'fair B' });
    await Promise.all([first.client.start(), second.client.start()]);
    const [a, b] = await Promise.all([offerAfter(first, 0), offerAfter(second, 0)]);
    expect(a.agent_id.value).not.toBe(b.agent_id.value);
    // Each holds half of the cluster in its offer: neither gets the other's agent meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const agentsOf = (recorded: Recorded): Set<string> =>
      new Set(
        recorded.events
          .flatMap((e) => (e.type === 'OFFERS' ? (e.offers?.offers ?? []) : []))
          .map((o) => o.agent_id.value),
      );
    expect([...agentsOf(first)]).toEqual([a.agent_id.value]);
    expect([...agentsOf(second)]).toEqual([b.agent_id.value]);
  });

  it('UPDATE_FRAMEWORK replaces the FrameworkInfo; suppressed_roles suppress offers', async () => {
    const target = await cluster();
    const scheduler = client(target, { name: 'before' });
    await scheduler.client.start();
    await offerAfter(scheduler, 0);
    await scheduler.client.updateFramework({
      framework_info: { user: userInfo().username, name: 'after', failover_timeout: 60 },
      suppressed_roles: ['*'],
    });
    const state = await masterState(target);
    expect((state.frameworks[0] as unknown as { name: string }).name).toBe('after');
    // The outstanding offer goes back; suppressed, no new one comes.
    const offered = scheduler.events.flatMap((e) => (e.type === 'OFFERS' ? (e.offers?.offers ?? []) : []));
    await scheduler.client.decline({ offer_ids: offered.map((o) => o.id), filters: { refuse_seconds: 0 } });
    const from = scheduler.events.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(scheduler.events.slice(from).filter((e) => e.type === 'OFFERS')).toEqual([]);
  });
});

describe('/metrics/snapshot', () => {
  it("has a 1.12 master's master/*, per-framework and system/* keys, with live values", async () => {
    const target = await cluster({ agents: 2 });
    const scheduler = client(target);
    await scheduler.client.start();
    await launchSleeper(scheduler, 'counted');
    const recorded = JSON.parse(
      readFileSync(new URL('./__fixtures__/operator/http-metrics_snapshot.body', import.meta.url), 'utf8'),
    ) as Record<string, number>;
    // Per-framework keys are compared below (their names carry framework names and ids).
    const relevant = (key: string): boolean =>
      (key.startsWith('master/') && !key.startsWith('master/frameworks/')) || key.startsWith('system/');
    const answer = await fetch(`${target.httpUrl}/metrics/snapshot`);
    expect(answer.headers.get('content-type')).toBe('application/json');
    const snapshot = (await answer.json()) as Record<string, number>;
    expect(Object.keys(snapshot).filter(relevant).sort()).toEqual(Object.keys(recorded).filter(relevant).sort());
    expect(snapshot).toMatchObject({
      'master/elected': 1,
      'master/slaves_active': 2,
      'master/frameworks_active': 1,
      'master/tasks_running': 1,
      'master/cpus_total': 8,
      'master/cpus_used': 0.1,
      'master/mem_used': 32,
      'master/messages_register_framework': 1,
      'master/messages_launch_tasks': 1,
    });
    expect(snapshot['master/uptime_secs']).toBeGreaterThan(0);
    expect(snapshot['master/outstanding_offers']).toBeGreaterThanOrEqual(1);

    // Per framework: the same keys as a recorded framework's, under master/frameworks/<name>/<id>/.
    const suffixes = (keys: readonly string[], prefix: string): string[] =>
      keys.filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
    const recordedPrefix = 'master/frameworks/probe-failover/5cdd377a-dae9-4944-98c2-8f0426d20e10-0007/';
    const prefix = `master/frameworks/hooks test/${scheduler.client.frameworkId}/`;
    expect(suffixes(Object.keys(snapshot), prefix).sort()).toEqual(
      suffixes(Object.keys(recorded), recordedPrefix).sort(),
    );
    expect(snapshot).toMatchObject({
      [`${prefix}calls/subscribe`]: 1,
      [`${prefix}calls/accept`]: 1,
      [`${prefix}events/subscribed`]: 1,
      [`${prefix}offers/accepted`]: 1,
      [`${prefix}tasks/active/task_running`]: 1,
      [`${prefix}subscribed`]: 1,
    });
    expect(snapshot[`${prefix}offers/sent`]).toBeGreaterThanOrEqual(2);
    expect(snapshot[`${prefix}events/update`]).toBeGreaterThanOrEqual(2);
  });
});
