// The life of containers on an agent: executor registration timeout, executor exit, resubscription
// with unacknowledged updates, disconnection without checkpointing, kills before delivery,
// memory limits, processes that fork, and secret environment variables.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import {
  createExecutorClient,
  createRecordIoDecoder,
  createSchedulerClient,
  EXECUTOR_EVENT_CODECS,
  type ExecutorCall,
  type ExecutorEvent,
  type FrameworkInfo,
  launchOperation,
  type Offer,
  type TaskInfo,
  type TaskStatus,
} from '@spark-mesos/mesos-client';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalAgent, randomUuidBytes } from './agent.js';
import { startLocalCluster } from './local-cluster.js';
import { parseResources } from './resources.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  readonly agent: LocalAgent;
  readonly updates: TaskStatus[];
  readonly exited: string[];
}

async function startAgent(options: Partial<ConstructorParameters<typeof LocalAgent>[0]> = {}): Promise<Harness> {
  const workDir = mkdtempSync(join(tmpdir(), 'mesos-local-containers-'));
  const updates: TaskStatus[] = [];
  const exited: string[] = [];
  const agent = new LocalAgent({
    id: 'M-S0',
    resources: parseResources('cpus:4;mem:4096'),
    workDir,
    statusUpdateRetryMs: 60_000,
    executorShutdownGracePeriodMs: 200,
    uplink: {
      statusUpdate: (_agent, _framework, status) => updates.push(status),
      executorTerminated: (_agent, _framework, executorId) => exited.push(executorId),
    },
    ...options,
  });
  await agent.start();
  cleanups.push(async () => {
    await agent.stop();
    rmSync(workDir, { recursive: true, force: true });
  });
  return { agent, updates, exited };
}

const until = async (check: () => boolean, what = 'the condition'): Promise<void> => {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check(), what).toBe(true);
};

const framework = (checkpoint: boolean): FrameworkInfo & { id: { value: string } } => ({
  id: { value: 'F-0000' },
  user: 'u',
  name: 'f',
  checkpoint,
});

function executorTask(taskId: string, command: string): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: 'M-S0' },
    resources: parseResources('cpus:0.1;mem:32'),
    executor: {
      executor_id: { value: 'e1' },
      framework_id: { value: 'F-0000' },
      command: { value: command },
      resources: parseResources('cpus:0.1;mem:32'),
    },
  };
}

function commandTask(taskId: string, command: string, mem = 32): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: 'M-S0' },
    resources: parseResources(`cpus:0.1;mem:${mem}`),
    command: { value: command },
  };
}

const ids = { executor_id: { value: 'e1' }, framework_id: { value: 'F-0000' } };

/**
 * A one-agent cluster and a started scheduler client on it (both stopped after the test), with
 * the offers and updates it received, once it has an offer.
 */
async function startSchedulerOnCluster(name: string, encoding: 'json' | 'protobuf') {
  const cluster = await startLocalCluster({ allocationIntervalMs: 50, heartbeatIntervalSeconds: 1 });
  cleanups.push(() => cluster.stop());
  const scheduler = createSchedulerClient({
    master: cluster.masterUrl,
    encoding,
    frameworkInfo: { user: userInfo().username, name, failover_timeout: 0 },
  });
  cleanups.push(async () => {
    await scheduler.teardown().catch(() => {});
    await scheduler.close();
  });
  const offers: Offer[] = [];
  const statuses: TaskStatus[] = [];
  scheduler.on('OFFERS', (event) => {
    offers.push(...(event.offers.offers ?? []));
  });
  scheduler.on('UPDATE', (event) => {
    statuses.push(event.update.status);
  });
  await scheduler.start();
  await until(() => offers.length > 0, 'an offer');
  return { cluster, scheduler, offers, statuses, offer: offers[0] as Offer };
}

function post(agent: LocalAgent, call: ExecutorCall, signal?: AbortSignal): Promise<Response> {
  return fetch(`${agent.url}/api/v1/executor`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: Buffer.from(
      JSON.stringify(call, (_key, value) =>
        value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
      ),
    ),
    ...(signal ? { signal } : {}),
  });
}

/** A JSON subscription: its events so far, and a way to drop it. */
async function subscribe(
  agent: LocalAgent,
  subscribeCall: ExecutorCall['subscribe'] = {},
): Promise<{ events: ExecutorEvent[]; drop: () => void }> {
  const abort = new AbortController();
  const response = await post(agent, { ...ids, type: 'SUBSCRIBE', subscribe: subscribeCall }, abort.signal);
  expect(response.status).toBe(200);
  const events: ExecutorEvent[] = [];
  const decoder = createRecordIoDecoder();
  void (async () => {
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        for (const record of decoder.push(chunk)) events.push(EXECUTOR_EVENT_CODECS.json.decode(record));
      }
    } catch {
      // Dropped on purpose.
    }
  })();
  cleanups.push(async () => abort.abort());
  return { events, drop: () => abort.abort() };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('custom executors', () => {
  it('kills an executor that does not SUBSCRIBE in time: TASK_FAILED, REASON_EXECUTOR_REGISTRATION_TIMEOUT', async () => {
    const { agent, updates, exited } = await startAgent({ executorRegistrationTimeoutMs: 300 });
    agent.launchTask(framework(false), executorTask('t1', 'exec sleep 60'));
    await until(() => updates.length === 1, 'the terminal update');
    expect(updates[0]).toMatchObject({
      task_id: { value: 't1' },
      state: 'TASK_FAILED',
      source: 'SOURCE_AGENT',
      reason: 'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
      message: 'Executor did not register within 300ms',
      executor_id: { value: 'e1' },
    });
    expect(exited).toEqual(['e1']);
  });

  it("fetches the executor's URIs into its sandbox before its command starts", async () => {
    const { agent, updates } = await startAgent();
    const source = mkdtempSync(join(tmpdir(), 'mesos-local-executor-uri-'));
    cleanups.push(async () => rmSync(source, { recursive: true, force: true }));
    writeFileSync(join(source, 'payload.txt'), 'fetched for the executor\n');
    const task = executorTask('t1', 'cat payload.txt; exit 3');
    const info = task.executor as NonNullable<TaskInfo['executor']>;
    agent.launchTask(framework(false), {
      ...task,
      executor: { ...info, command: { ...info.command, uris: [{ value: join(source, 'payload.txt') }] } },
    });
    await until(() => updates.length === 1, 'the terminal update');
    expect(updates[0]).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED' });
    const sandbox = agent.sandboxOf('F-0000', 'e1') as string;
    expect(readFileSync(join(sandbox, 'stdout'), 'utf8')).toBe('fetched for the executor\n');
  });

  it('fails the tasks of an executor whose URIs cannot be fetched: TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED', async () => {
    const { agent, updates, exited } = await startAgent();
    const task = executorTask('t1', 'echo started > started.txt; sleep 60');
    const info = task.executor as NonNullable<TaskInfo['executor']>;
    const missing = join(tmpdir(), `mesos-local-missing-${process.pid}`, 'executor.tar.gz');
    agent.launchTask(framework(false), {
      ...task,
      executor: { ...info, command: { ...info.command, uris: [{ value: missing }] } },
    });
    await until(() => updates.length === 1, 'the terminal update');
    expect(updates[0]).toMatchObject({
      state: 'TASK_FAILED',
      source: 'SOURCE_AGENT',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
    });
    expect(updates[0]?.message).toMatch(/^Failed to launch container: Failed to fetch all URIs for container/);
    expect(exited).toEqual(['e1']);
    const sandbox = agent.sandboxOf('F-0000', 'e1') as string;
    expect(readFileSync(join(sandbox, 'stderr'), 'utf8')).toContain(missing);
    expect(existsSync(join(sandbox, 'started.txt'))).toBe(false);
  });

  it("shuts an executor down on its scheduler's SHUTDOWN: its process group is killed after the grace period", async () => {
    const { agent, updates, exited } = await startAgent({ executorRegistrationTimeoutMs: 60_000 });
    agent.launchTask(framework(false), executorTask('t1', 'exec sleep 60'));
    const sandbox = agent.sandboxOf('F-0000', 'e1');
    expect(sandbox).toBeDefined();
    agent.shutdownExecutor('F-0000', 'e1');
    await until(() => exited.includes('e1'), 'the executor gone');
    await until(() => updates.length === 1, 'the terminal update of its task');
    expect(updates[0]).toMatchObject({
      task_id: { value: 't1' },
      source: 'SOURCE_AGENT',
      executor_id: { value: 'e1' },
    });
    expect(updates[0]).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED' });
  });

  it('fails the unfinished tasks of an executor that exits: TASK_FAILED, REASON_EXECUTOR_TERMINATED', async () => {
    const { agent, updates, exited } = await startAgent();
    agent.launchTask(framework(false), executorTask('t1', 'exit 3'));
    await until(() => updates.length === 1, 'the terminal update');
    expect(updates[0]).toMatchObject({
      state: 'TASK_FAILED',
      source: 'SOURCE_AGENT',
      reason: 'REASON_EXECUTOR_TERMINATED',
      message: 'Executor terminated',
    });
    expect(exited).toEqual(['e1']);
    agent.acknowledge('F-0000', 't1', updates[0]?.uuid as Uint8Array);
    const state = agent.state() as { completed_frameworks: Array<{ completed_executors: Array<{ id: string }> }> };
    expect(state.completed_frameworks[0]?.completed_executors.map((executor) => executor.id)).toEqual(['e1']);
  });

  it('takes a resubscription with unacknowledged updates and loses tasks the executor does not list', async () => {
    const { agent, updates } = await startAgent();
    agent.launchTask(framework(true), executorTask('t1', 'exec sleep 60'));
    agent.launchTask(framework(true), executorTask('t2', 'exec sleep 60'));
    const first = await subscribe(agent);
    await until(() => first.events.filter((event) => event.type === 'LAUNCH').length === 2, 'two LAUNCHes');
    first.drop();

    // TASK_RUNNING of t1 "was sent" as the connection broke: it comes again with the SUBSCRIBE.
    const uuid = randomUuidBytes();
    const running: TaskStatus = { task_id: { value: 't1' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid };
    const launched = first.events.filter((event) => event.type === 'LAUNCH').map((event) => event.launch?.task);
    const second = await subscribe(agent, {
      unacknowledged_tasks: launched.filter((task) => task?.task_id.value === 't1') as TaskInfo[],
      unacknowledged_updates: [{ status: running }],
    });
    await until(() => second.events.some((event) => event.type === 'ACKNOWLEDGED'), 'ACKNOWLEDGED');
    expect(second.events.map((event) => event.type)).toEqual(['SUBSCRIBED', 'ACKNOWLEDGED']);
    expect(Buffer.from(second.events[1]?.acknowledged?.uuid ?? []).equals(Buffer.from(uuid))).toBe(true);
    await until(() => updates.length === 2, 'two updates');
    const byTask = new Map(updates.map((status) => [status.task_id.value, status]));
    expect(byTask.get('t1')).toMatchObject({ state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR' });
    expect(Buffer.from(byTask.get('t1')?.uuid ?? []).equals(Buffer.from(uuid))).toBe(true);
    // The executor never heard of t2 (as far as it says): lost, as after an agent restart.
    expect(byTask.get('t2')).toMatchObject({
      state: 'TASK_LOST',
      source: 'SOURCE_AGENT',
      reason: 'REASON_AGENT_RESTARTED',
    });

    // The same update once more (a retried SUBSCRIBE): acknowledged again, not forwarded twice.
    second.drop();
    const third = await subscribe(agent, { unacknowledged_updates: [{ status: running }] });
    await until(() => third.events.some((event) => event.type === 'ACKNOWLEDGED'), 'ACKNOWLEDGED again');
    expect(updates).toHaveLength(2);
  });

  it('sends HEARTBEAT events on a subscription every executorHeartbeatIntervalMs', async () => {
    const { agent } = await startAgent({ executorHeartbeatIntervalMs: 100 });
    agent.launchTask(framework(false), executorTask('t1', 'exec sleep 60'));
    const subscription = await subscribe(agent);
    await until(
      () => subscription.events.filter((event) => event.type === 'HEARTBEAT').length >= 2,
      'two HEARTBEAT events',
    );
    expect(subscription.events.slice(0, 2).map((event) => event.type)).toEqual(['SUBSCRIBED', 'LAUNCH']);
  });

  it('shuts an executor down when its subscription closes and the framework does not checkpoint', async () => {
    const { agent, updates, exited } = await startAgent();
    agent.launchTask(framework(false), executorTask('t1', 'exec sleep 60'));
    const subscription = await subscribe(agent);
    await until(() => subscription.events.some((event) => event.type === 'LAUNCH'), 'LAUNCH');
    subscription.drop();
    await until(() => exited.includes('e1'), 'the executor killed after the grace period');
    await until(() => updates.length === 1, 'the terminal update');
    expect(updates[0]).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED' });
  });

  it('kills a task the executor has not received with TASK_KILLED, and the idle executor with it', async () => {
    const { agent, updates, exited } = await startAgent();
    agent.launchTask(framework(false), executorTask('t1', 'exec sleep 60'));
    agent.killTask('F-0000', 't1');
    expect(updates[0]).toMatchObject({
      state: 'TASK_KILLED',
      source: 'SOURCE_AGENT',
      reason: 'REASON_TASK_KILLED_DURING_LAUNCH',
    });
    await until(() => exited.includes('e1'), 'the executor shut down');
  });
});

describe('containers', () => {
  it('kills a container over its memory: TASK_FAILED, REASON_CONTAINER_LIMITATION_MEMORY', async () => {
    const { agent, updates } = await startAgent({ memoryCheckIntervalMs: 100 });
    // 32 MB for the task and 32 MB for the command executor, as Mesos counts it; this grows past.
    const grow = `exec ${process.execPath} -e "const a=[];setInterval(()=>a.push(Buffer.alloc(16<<20,1)),20)"`;
    agent.launchTask(framework(false), commandTask('hog', grow));
    const ackAll = (): void => {
      for (const update of updates) agent.acknowledge('F-0000', 'hog', update.uuid as Uint8Array);
    };
    await until(() => {
      ackAll();
      return updates.some((update) => update.state === 'TASK_FAILED');
    }, 'the memory limit enforced');
    expect(updates.find((update) => update.state === 'TASK_FAILED')).toMatchObject({
      source: 'SOURCE_AGENT',
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      message: expect.stringMatching(/^Memory limit exceeded: Requested: 64MB Maximum Used: \d+(KB|MB|B)$/),
    });
  });

  it('leaves no process of a killed task behind, even one it forked', async () => {
    const { agent, updates } = await startAgent();
    agent.launchTask(framework(false), commandTask('forks', 'sleep 60 & echo $! > child.pid; wait'));
    const sandbox = (): string => agent.sandboxOf('F-0000', 'forks') as string;
    let child = 0;
    await until(() => {
      try {
        child = Number(readFileSync(join(sandbox(), 'child.pid'), 'utf8'));
      } catch {
        child = 0;
      }
      return child > 0;
    }, 'the child started');
    expect(isAlive(child)).toBe(true);
    for (const update of updates) agent.acknowledge('F-0000', 'forks', update.uuid as Uint8Array);
    agent.killTask('F-0000', 'forks');
    await until(() => {
      for (const update of updates) agent.acknowledge('F-0000', 'forks', update.uuid as Uint8Array);
      return updates.some((update) => update.state === 'TASK_KILLED');
    }, 'TASK_KILLED');
    await until(() => !isAlive(child), 'the forked child gone');
  });

  it('resolves secret environment variables into the process and shows them nowhere', async () => {
    const secret = `s3cr3t-${randomUuidBytes().join('')}`;
    const { cluster, scheduler, offers, statuses, offer } = await startSchedulerOnCluster('secrets', 'json');
    const environment = {
      variables: [
        { name: 'PLAIN', value: 'visible' },
        // The ExecutorInfo's own environment wins over what the agent sets.
        { name: 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD', value: 'mine' },
        {
          name: 'SECRET_ENV',
          type: 'SECRET' as const,
          secret: { type: 'VALUE' as const, value: { data: Buffer.from(secret) } },
        },
      ],
    };
    const executor = {
      executor_id: { value: 'secret-executor' },
      command: {
        value: 'echo "$SECRET_ENV $PLAIN $MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD" > seen.txt; exec sleep 60',
        environment,
      },
      resources: parseResources('cpus:0.1;mem:32'),
    };
    const task = (taskId: string): TaskInfo => ({
      name: taskId,
      task_id: { value: taskId },
      agent_id: offer.agent_id,
      resources: parseResources('cpus:0.5;mem:64'),
      executor,
    });
    await scheduler.accept({
      offer_ids: [offer.id],
      operations: [
        launchOperation([
          task('a'),
          task('b'),
          {
            name: 'command',
            task_id: { value: 'c' },
            agent_id: offer.agent_id,
            resources: parseResources('cpus:0.1;mem:32'),
            command: { value: 'echo "$SECRET_ENV" > seen.txt; exec sleep 60', environment },
          },
        ]),
      ],
      filters: { refuse_seconds: 0 },
    });
    const agentUrl = cluster.agents[0]?.url as string;
    const agentState = async () => (await fetch(`${agentUrl}/state`)).text();
    await until(() => statuses.some((status) => status.task_id.value === 'c' && status.state === 'TASK_RUNNING'));
    const state = JSON.parse(await agentState()) as {
      frameworks: Array<{ executors: Array<{ id: string; directory: string; queued_tasks: unknown[] }> }>;
    };
    const executors = state.frameworks[0]?.executors ?? [];
    expect(executors.map((entry) => entry.id).sort()).toEqual(['c', 'secret-executor']);
    const seen = (id: string): string => {
      try {
        return readFileSync(join(executors.find((entry) => entry.id === id)?.directory as string, 'seen.txt'), 'utf8');
      } catch {
        return '';
      }
    };
    await until(() => seen('secret-executor') !== '' && seen('c') !== '', 'the processes wrote what they saw');
    expect(seen('secret-executor')).toBe(`${secret} visible mine\n`);
    expect(seen('c')).toBe(`${secret}\n`);

    const masterState = await (await fetch(`${cluster.httpUrl}/master/state`)).text();
    expect(await agentState()).not.toContain(secret);
    expect(masterState).not.toContain(secret);
    expect(masterState).not.toContain(Buffer.from(secret).toString('base64'));
    // The executor's resources count once for its two tasks: 2 × 0.5 + 0.1 + 0.1 cpus.
    const slave = (JSON.parse(masterState) as { slaves: Array<{ used_resources: { cpus: number; mem: number } }> })
      .slaves[0];
    expect(slave?.used_resources.cpus).toBeCloseTo(1.2);
    expect(slave?.used_resources.mem).toBe(64 + 64 + 32 + 32);
    // What is offered next on that agent leaves out the executor's resources too.
    const scalar = (of: Offer, name: string): number =>
      (of.resources ?? [])
        .filter((resource) => resource.name === name)
        .reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);
    await until(
      () => offers.some((next) => next !== offer && next.agent_id.value === offer.agent_id.value),
      'a second offer',
    );
    const next = offers.find(
      (candidate) => candidate !== offer && candidate.agent_id.value === offer.agent_id.value,
    ) as Offer;
    expect(scalar(next, 'cpus')).toBeCloseTo(scalar(offer, 'cpus') - 1.2);
    expect(scalar(next, 'mem')).toBe(scalar(offer, 'mem') - (64 + 64 + 32 + 32));
  });
});

describe('framework messages', () => {
  it('carries MESSAGE from an executor to its scheduler and back', async () => {
    const cluster = await startLocalCluster({ allocationIntervalMs: 50, heartbeatIntervalSeconds: 1 });
    cleanups.push(() => cluster.stop());
    const scheduler = createSchedulerClient({
      master: cluster.masterUrl,
      encoding: 'protobuf',
      frameworkInfo: { user: userInfo().username, name: 'messages', failover_timeout: 0 },
    });
    cleanups.push(async () => {
      await scheduler.teardown().catch(() => {});
      await scheduler.close();
    });
    const offers: Offer[] = [];
    const messages: string[] = [];
    scheduler.on('OFFERS', (event) => {
      offers.push(...(event.offers.offers ?? []));
    });
    scheduler.on('MESSAGE', (event) => {
      messages.push(`${event.message.executor_id.value}: ${Buffer.from(event.message.data).toString()}`);
    });
    await scheduler.start();
    await until(() => offers.length > 0, 'an offer');
    const offer = offers[0] as Offer;
    await scheduler.accept({
      offer_ids: [offer.id],
      operations: [
        launchOperation([
          {
            name: 't',
            task_id: { value: 't' },
            agent_id: offer.agent_id,
            resources: parseResources('cpus:0.1;mem:32'),
            executor: {
              executor_id: { value: 'talker' },
              command: { value: 'env > env.txt; exec sleep 60' },
              resources: parseResources('cpus:0.1;mem:32'),
            },
          },
        ]),
      ],
    });
    const agentUrl = cluster.agents[0]?.url as string;
    let env: Record<string, string> = {};
    await until(() => {
      void fetch(`${agentUrl}/state`)
        .then(
          (response) => response.json() as Promise<{ frameworks: Array<{ executors: Array<{ directory: string }> }> }>,
        )
        .then((state) => {
          const directory = state.frameworks[0]?.executors[0]?.directory;
          const text = directory === undefined ? '' : readFileSync(join(directory, 'env.txt'), 'utf8');
          env = Object.fromEntries(
            text.split('\n').map((line) => [line.split('=')[0], line.split('=').slice(1).join('=')]),
          );
        })
        .catch(() => {});
      return env.MESOS_EXECUTOR_ID === 'talker';
    }, 'the executor environment');
    const executor = createExecutorClient({ getEnv: (name) => env[name] });
    cleanups.push(() => executor.close());
    const received: string[] = [];
    executor.on('MESSAGE', (event) => {
      received.push(Buffer.from(event.message.data).toString());
    });
    await until(() => executor.state === 'subscribed', 'the executor subscribed');
    await executor.message(Buffer.from('hello scheduler'));
    await until(() => messages.length === 1, 'the MESSAGE event of the scheduler');
    expect(messages).toEqual(['talker: hello scheduler']);
    await scheduler.message({ agent_id: offer.agent_id, executor_id: { value: 'talker' }, data: Buffer.from('hi') });
    await until(() => received.length === 1, 'the MESSAGE event of the executor');
    expect(received).toEqual(['hi']);
  });
});

describe('executor exits', () => {
  it("sends the scheduler a FAILURE event with the executor's wait status when a custom executor exits", async () => {
    const { scheduler, offer } = await startSchedulerOnCluster('exited executors', 'protobuf');
    const failures: Array<{ agent?: string; executor?: string; status?: number }> = [];
    scheduler.on('FAILURE', (event) => {
      failures.push({
        agent: event.failure.agent_id?.value,
        executor: event.failure.executor_id?.value,
        status: event.failure.status,
      });
    });
    const task = (taskId: string, executorId: string, command: string): TaskInfo => ({
      name: taskId,
      task_id: { value: taskId },
      agent_id: offer.agent_id,
      resources: parseResources('cpus:0.1;mem:32'),
      executor: {
        executor_id: { value: executorId },
        command: { value: command },
        resources: parseResources('cpus:0.1;mem:32'),
      },
    });
    // Real processes: one exits with a code, one is killed by a signal (waitpid's encodings).
    await scheduler.accept({
      offer_ids: [offer.id],
      operations: [
        launchOperation([task('t-code', 'exits-3', 'sleep 0.2; exit 3'), task('t-signal', 'killed', 'kill -9 $$')]),
      ],
    });
    await until(() => failures.length === 2, 'two FAILURE events');
    const byExecutor = Object.fromEntries(failures.map((failure) => [failure.executor, failure]));
    expect(byExecutor['exits-3']).toEqual({ agent: offer.agent_id.value, executor: 'exits-3', status: 3 << 8 });
    expect(byExecutor.killed).toEqual({ agent: offer.agent_id.value, executor: 'killed', status: 9 });
  });
});

describe('the process lifetime', () => {
  it('cluster.unref(): servers, connections, timers and running executors stop holding the process; ref() again', async () => {
    // getActiveResourcesInfo lists what keeps the process alive (ref'd handles only).
    const holding = () => {
      const counts: Record<string, number> = {};
      for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
      return counts;
    };
    const before = holding();
    const { cluster, scheduler, offer, statuses } = await startSchedulerOnCluster('lifetime', 'json');
    await scheduler.accept({
      offer_ids: [offer.id],
      operations: [
        launchOperation([
          {
            name: 't',
            task_id: { value: 't' },
            agent_id: offer.agent_id,
            resources: parseResources('cpus:0.1;mem:32'),
            executor: {
              executor_id: { value: 'sleeper' },
              command: { value: 'exec sleep 30' },
              resources: parseResources('cpus:0.1;mem:32'),
            },
          },
        ]),
      ],
    });
    // The executor runs (it never subscribes: no update within the test).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(statuses).toEqual([]);
    // Snapshots taken synchronously around unref() (earlier tests' handles may still be closing,
    // so only what never grows is compared with the baseline).
    const running = holding();
    cluster.unref();
    scheduler.unref();
    const idle = holding();
    // The master's front and the agent's server; the launcher's channel (an executor runs).
    expect((running.TCPServerWrap ?? 0) - (idle.TCPServerWrap ?? 0)).toBe(2);
    expect(running.PipeWrap ?? 0).toBeGreaterThan(idle.PipeWrap ?? 0);
    // Nothing of the cluster's or the client's is left holding (idle undici sockets never do).
    for (const [name, count] of Object.entries(idle)) expect(count, name).toBeLessThanOrEqual(before[name] ?? 0);
    cluster.ref();
    scheduler.ref();
    expect(holding()).toEqual(running);
  });
});

describe('master validation of executors', () => {
  it('refuses a wrong framework id, a missing command and resources beyond the offer with TASK_ERROR', async () => {
    const { scheduler, statuses, offer } = await startSchedulerOnCluster('validation', 'json');
    const task = (taskId: string, executor: TaskInfo['executor']): TaskInfo => ({
      name: taskId,
      task_id: { value: taskId },
      agent_id: offer.agent_id,
      resources: parseResources('cpus:0.1;mem:32'),
      executor,
    });
    await scheduler.accept({
      offer_ids: [offer.id],
      operations: [
        launchOperation([
          task('foreign', {
            executor_id: { value: 'e1' },
            framework_id: { value: 'someone-else' },
            command: { value: 'true' },
          }),
          task('no-command', { executor_id: { value: 'e2' } }),
          task('too-big', {
            executor_id: { value: 'e3' },
            command: { value: 'true' },
            resources: parseResources('cpus:1000'),
          }),
        ]),
      ],
    });
    await until(() => statuses.length === 3, 'three TASK_ERROR updates');
    const byTask = new Map(statuses.map((status) => [status.task_id.value, status]));
    for (const status of statuses) {
      expect(status).toMatchObject({ state: 'TASK_ERROR', source: 'SOURCE_MASTER', reason: 'REASON_TASK_INVALID' });
    }
    expect(byTask.get('foreign')?.message).toBe(
      `ExecutorInfo has an invalid FrameworkID (Actual: someone-else vs Expected: ${scheduler.frameworkId})`,
    );
    expect(byTask.get('no-command')?.message).toBe("'ExecutorInfo.command' must be set");
    expect(byTask.get('too-big')?.message).toMatch(
      /^Total resources .* required by task and its executor is more than available /,
    );
  });
});
