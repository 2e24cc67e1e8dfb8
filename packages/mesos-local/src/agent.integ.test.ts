// The agent's status update manager: re-send with the same uuid until acknowledged, in order.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskStatus } from '@spark-mesos/mesos-client';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalAgent } from './agent.js';
import { parseResources } from './resources.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function agentWith(
  updates: TaskStatus[],
  options: Partial<ConstructorParameters<typeof LocalAgent>[0]> = {},
): Promise<LocalAgent> {
  const workDir = mkdtempSync(join(tmpdir(), 'mesos-local-agent-'));
  const agent = new LocalAgent({
    id: 'M-S0',
    resources: parseResources('cpus:1;mem:128'),
    workDir,
    statusUpdateRetryMs: 50,
    uplink: { statusUpdate: (_agent, _framework, status) => updates.push(status) },
    ...options,
  });
  await agent.start();
  cleanups.push(async () => {
    await agent.stop();
    rmSync(workDir, { recursive: true, force: true });
  });
  return agent;
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
};

const framework = { id: { value: 'M-0000' }, user: 'u', name: 'f' };

describe('LocalAgent', () => {
  it('re-sends an unacknowledged update with the same uuid and holds the next one back', async () => {
    const updates: TaskStatus[] = [];
    const agent = await agentWith(updates);
    agent.launchTask(framework, {
      name: 't',
      task_id: { value: 't1' },
      agent_id: { value: 'M-S0' },
      command: { value: 'echo out; echo err >&2; exit 3' },
    });
    await until(() => updates.length >= 3);
    expect(updates.every((u) => u.state === 'TASK_STARTING')).toBe(true);
    expect(new Set(updates.map((u) => Buffer.from(u.uuid as Uint8Array).toString('hex'))).size).toBe(1);
    const ack = (state: string): void => {
      const update = updates.find((u) => u.state === state) as TaskStatus;
      agent.acknowledge('M-0000', 't1', update.uuid as Uint8Array);
    };
    ack('TASK_STARTING');
    await until(() => updates.some((u) => u.state === 'TASK_RUNNING'));
    ack('TASK_RUNNING');
    await until(() => updates.some((u) => u.state === 'TASK_FAILED'));
    const failed = updates.find((u) => u.state === 'TASK_FAILED') as TaskStatus;
    expect(failed).toMatchObject({
      message: 'Command exited with status 3',
      source: 'SOURCE_EXECUTOR',
      agent_id: { value: 'M-S0' },
      executor_id: { value: 't1' },
    });
    expect(failed.uuid).toHaveLength(16);
    ack('TASK_FAILED');
    const state = agent.state() as {
      completed_frameworks: Array<{ completed_executors: Array<{ directory: string }> }>;
    };
    const directory = state.completed_frameworks[0]?.completed_executors[0]?.directory as string;
    expect(directory).toMatch(/\/frameworks\/M-0000\/executors\/t1\/runs\/[0-9a-f-]{36}$/);
    const read = await fetch(`${agent.url}/files/read?path=${directory}/stderr&offset=0&length=100`);
    expect(await read.json()).toEqual({ data: 'err\n', offset: 0 });
    const size = await fetch(
      `${agent.url}/files/read?path=/frameworks/M-0000/executors/t1/runs/latest/stdout&offset=-1`,
    );
    expect(await size.json()).toEqual({ data: '', offset: 4 });
    const missing = await fetch(`${agent.url}/files/read?path=${directory}/nope&offset=0`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('');
    const browse = (await (await fetch(`${agent.url}/files/browse?path=${directory}`)).json()) as Array<{
      path: string;
    }>;
    expect(browse.map((entry) => entry.path)).toEqual([`${directory}/stderr`, `${directory}/stdout`]);
  });

  it('kills a task with its whole process group: TASK_KILLING (capability), then TASK_KILLED', async () => {
    const updates: TaskStatus[] = [];
    const agent = await agentWith(updates);
    agent.launchTask(
      { ...framework, capabilities: [{ type: 'TASK_KILLING_STATE' }] },
      { name: 't', task_id: { value: 't2' }, agent_id: { value: 'M-S0' }, command: { value: 'sleep 60 & sleep 60' } },
    );
    const ackAll = (): void => {
      for (const update of updates) agent.acknowledge('M-0000', 't2', update.uuid as Uint8Array);
    };
    await until(() => updates.some((u) => u.state === 'TASK_STARTING'));
    ackAll();
    await until(() => updates.some((u) => u.state === 'TASK_RUNNING'));
    ackAll();
    agent.killTask('M-0000', 't2');
    await until(() => updates.some((u) => u.state === 'TASK_KILLING'));
    ackAll();
    await until(() => updates.some((u) => u.state === 'TASK_KILLED'));
    expect(updates.find((u) => u.state === 'TASK_KILLED')?.message).toBe('Command terminated with signal Terminated');
  });

  it('keeps a bounded number of completed executors and frameworks; their sandboxes stay on disk', async () => {
    const updates: TaskStatus[] = [];
    const current: { agent?: LocalAgent } = {};
    // Acknowledges every update as a scheduler would, so that tasks complete.
    const acknowledging = (frameworkId: string, status: TaskStatus): void => {
      updates.push(status);
      setImmediate(() => current.agent?.acknowledge(frameworkId, status.task_id.value, status.uuid as Uint8Array));
    };
    const agent = await agentWith(updates, {
      maxCompletedExecutorsPerFramework: 2,
      maxCompletedFrameworks: 1,
      uplink: { statusUpdate: (_agent, frameworkId, status) => acknowledging(frameworkId, status) },
    });
    current.agent = agent;
    type State = {
      frameworks: Array<{ id: string }>;
      completed_frameworks: Array<{ id: string; completed_executors: Array<{ id: string; directory: string }> }>;
    };
    const run = async (frameworkId: string, taskId: string): Promise<void> => {
      agent.launchTask(
        { ...framework, id: { value: frameworkId } },
        { name: 't', task_id: { value: taskId }, agent_id: { value: 'M-S0' }, command: { value: 'true' } },
      );
      await until(() => updates.some((u) => u.task_id.value === taskId && u.state === 'TASK_FINISHED'));
      // Completed once the terminal update is acknowledged.
      await until(() =>
        (agent.state() as State).completed_frameworks.some((f) =>
          f.completed_executors.some((executor) => executor.id === taskId),
        ),
      );
    };
    await run('F-1', 't1');
    const firstSandbox = agent.sandboxOf('F-1', 't1') as string;
    await run('F-1', 't2');
    await run('F-1', 't3');
    let state = agent.state() as State;
    expect(state.frameworks).toEqual([]);
    expect(state.completed_frameworks.map((f) => f.id)).toEqual(['F-1']);
    // The oldest executor left memory (and /files), not the disk.
    expect(state.completed_frameworks[0]?.completed_executors.map((executor) => executor.id)).toEqual(['t2', 't3']);
    expect(agent.sandboxOf('F-1', 't1')).toBeUndefined();
    expect(existsSync(`${firstSandbox}/stdout`)).toBe(true);
    // A second completed framework pushes the first one out.
    await run('F-2', 't4');
    state = agent.state() as State;
    expect(state.completed_frameworks.map((f) => f.id)).toEqual(['F-2']);
    expect(agent.sandboxOf('F-1', 't3')).toBeUndefined();
    // A completed framework that launches again is active again, with its completed executors.
    await run('F-2', 't5');
    state = agent.state() as State;
    expect(state.completed_frameworks[0]?.completed_executors.map((executor) => executor.id)).toEqual(['t4', 't5']);
  });
});
