import type { Offer, SchedulerCallKill, SchedulerCallShutdown, TaskStatus } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import { createLaunchToken, createLeftoverReaper, isLeftoverTask } from './mesos-backend-support.js';

function status(taskId: string, state: TaskStatus['state'], agentId = 'agent-1'): TaskStatus {
  return { task_id: { value: taskId }, state, agent_id: { value: agentId } } as TaskStatus;
}

function offer(agentId: string, executorIds: string[]): Offer {
  return {
    id: { value: `offer-${agentId}` },
    framework_id: { value: 'fw-0000' },
    agent_id: { value: agentId },
    hostname: `${agentId}.example`,
    ...(executorIds.length === 0 ? {} : { executor_ids: executorIds.map((value) => ({ value })) }),
  } as Offer;
}

/** A scheduler client that records KILL and SHUTDOWN calls, failing the first `failures` of each. */
function recordingClient(failures = 0) {
  const kills: SchedulerCallKill[] = [];
  const shutdowns: SchedulerCallShutdown[] = [];
  let killFailures = failures;
  let shutdownFailures = failures;
  return {
    kills,
    shutdowns,
    kill: (kill: SchedulerCallKill) => {
      kills.push(kill);
      return killFailures-- > 0 ? Promise.reject(new Error('not subscribed')) : Promise.resolve();
    },
    shutdown: (shutdown: SchedulerCallShutdown) => {
      shutdowns.push(shutdown);
      return shutdownFailures-- > 0 ? Promise.reject(new Error('not subscribed')) : Promise.resolve();
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('createLaunchToken', () => {
  it('gives 6 lowercase letters or digits, different at each call', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => createLaunchToken()));
    for (const token of tokens) expect(token).toMatch(/^[0-9a-z]{6}$/);
    // 200 draws from 2^30: a repeat would be a broken generator, not bad luck.
    expect(tokens.size).toBe(200);
  });
});

describe('isLeftoverTask', () => {
  const ours = (taskId: string) => taskId.startsWith('abc123-');
  it('is true for a running task this backend did not launch', () => {
    for (const state of ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_UNREACHABLE'] as const)
      expect(isLeftoverTask(status('0', state), ours), state).toBe(true);
  });
  it('is false for its own tasks and for ended ones', () => {
    expect(isLeftoverTask(status('abc123-0', 'TASK_RUNNING'), ours)).toBe(false);
    for (const state of [
      'TASK_FINISHED',
      'TASK_FAILED',
      'TASK_KILLED',
      'TASK_LOST',
      'TASK_ERROR',
      'TASK_GONE',
    ] as const)
      expect(isLeftoverTask(status('0', state), ours), state).toBe(false);
  });
});

describe('createLeftoverReaper', () => {
  it("KILLs a previous driver's running task once, on its agent, and says why", async () => {
    const client = recordingClient();
    const logs: string[] = [];
    const reaper = createLeftoverReaper({
      client: () => client,
      launchedTask: (taskId) => taskId.startsWith('new-'),
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    expect(reaper.update(status('old-3', 'TASK_RUNNING', 'agent-7'))).toBe(true);
    expect(reaper.update(status('old-3', 'TASK_RUNNING', 'agent-7'))).toBe(true);
    expect(reaper.update(status('new-0', 'TASK_RUNNING'))).toBe(false);
    expect(reaper.update(status('old-4', 'TASK_FINISHED'))).toBe(false);
    await settle();
    expect(client.kills).toEqual([{ task_id: { value: 'old-3' }, agent_id: { value: 'agent-7' } }]);
    expect(logs).toEqual([
      'info: killing Mesos task old-3 on agent agent-7 (TASK_RUNNING): a previous driver of this framework launched it, and it cannot serve this one',
    ]);
  });

  it('KILLs again at the next update when the call failed', async () => {
    const client = recordingClient(1);
    const logs: string[] = [];
    const reaper = createLeftoverReaper({
      client: () => client,
      launchedTask: () => false,
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    reaper.update(status('old-1', 'TASK_RUNNING'));
    await settle();
    expect(logs.at(-1)).toBe("warn: KILL of the previous driver's task old-1 failed: not subscribed");
    reaper.update(status('old-1', 'TASK_RUNNING'));
    await settle();
    expect(client.kills.map((kill) => kill.task_id.value)).toEqual(['old-1', 'old-1']);
  });

  it('SHUTs DOWN each executor of an offer it did not start, once per agent and executor', async () => {
    const client = recordingClient();
    const logs: string[] = [];
    const reaper = createLeftoverReaper({
      client: () => client,
      launchedTask: () => true,
      startedExecutor: (executorId) => executorId === 'agent-1-new',
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    reaper.offer(offer('agent-1', ['agent-1', 'agent-1-new']));
    reaper.offer(offer('agent-1', ['agent-1']));
    reaper.offer(offer('agent-2', []));
    await settle();
    expect(client.shutdowns).toEqual([{ executor_id: { value: 'agent-1' }, agent_id: { value: 'agent-1' } }]);
    expect(logs).toEqual([
      'info: shutting down executor agent-1 on agent agent-1 (agent-1.example): a previous driver of this framework started it, and it cannot serve this one',
    ]);
  });

  it('SHUTs DOWN again at the next offer when the call failed', async () => {
    const client = recordingClient(1);
    const reaper = createLeftoverReaper({ client: () => client, launchedTask: () => true, log: () => {} });
    reaper.offer(offer('agent-1', ['old']));
    await settle();
    reaper.offer(offer('agent-1', ['old']));
    await settle();
    expect(client.shutdowns).toHaveLength(2);
  });

  it('does nothing without a client, and does not count that as done', async () => {
    let client: ReturnType<typeof recordingClient> | undefined;
    const reaper = createLeftoverReaper({ client: () => client, launchedTask: () => false, log: () => {} });
    expect(reaper.update(status('old-1', 'TASK_RUNNING'))).toBe(true);
    reaper.offer(offer('agent-1', ['old']));
    client = recordingClient();
    reaper.update(status('old-1', 'TASK_RUNNING'));
    reaper.offer(offer('agent-1', ['old']));
    await settle();
    expect(client.kills).toHaveLength(1);
    expect(client.shutdowns).toHaveLength(1);
  });
});
