// Tasks and executors that ask for a container mesos-local cannot create (Docker, images, secret
// files) fail at launch as on a Mesos agent without those containerizers, never run on the host.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerInfo, TaskStatus } from '@spark-mesos/mesos-client';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalAgent } from './agent.js';
import { unsupportedContainer } from './container-support.js';
import { parseResources } from './resources.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

interface Started {
  agent: LocalAgent;
  updates: TaskStatus[];
  terminated: Array<{ executorId: string; status: number }>;
  directory: string;
}

async function startAgent(): Promise<Started> {
  const directory = mkdtempSync(join(tmpdir(), 'mesos-local-container-'));
  const updates: TaskStatus[] = [];
  const terminated: Array<{ executorId: string; status: number }> = [];
  const agent = new LocalAgent({
    id: 'M-S0',
    resources: parseResources('cpus:1;mem:128'),
    workDir: join(directory, 'work'),
    statusUpdateRetryMs: 50,
    uplink: {
      statusUpdate: (_agent, _framework, status) => updates.push(status),
      executorTerminated: (_agent, _framework, executorId, status) => terminated.push({ executorId, status }),
    },
  });
  await agent.start();
  cleanups.push(async () => {
    await agent.stop();
    rmSync(directory, { recursive: true, force: true });
  });
  return { agent, updates, terminated, directory };
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
};

const framework = { id: { value: 'M-0000' }, user: 'u', name: 'f' };
const dockerContainer: ContainerInfo = { type: 'DOCKER', docker: { image: 'node:20' } };
const imageContainer: ContainerInfo = {
  type: 'MESOS',
  mesos: { image: { type: 'DOCKER', docker: { name: 'node:20' }, cached: true } },
};

describe('containers mesos-local cannot create', () => {
  it('fails a DOCKER command task as an agent without the docker containerizer does, without running it', async () => {
    const { agent, updates, directory } = await startAgent();
    const marker = join(directory, 'ran');
    agent.launchTask(framework, {
      name: 't',
      task_id: { value: 't1' },
      agent_id: { value: 'M-S0' },
      command: { value: `touch ${marker}` },
      container: dockerContainer,
    });
    await until(() => updates.length > 0);
    expect(updates[0]).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_EXECUTOR_TERMINATED',
      message: 'Abnormal executor termination: unknown container',
    });
    expect(existsSync(marker)).toBe(false);
  });

  it('fails a command task in a MESOS container with an image (no image provider)', async () => {
    const { agent, updates, directory } = await startAgent();
    const marker = join(directory, 'ran');
    agent.launchTask(framework, {
      name: 't',
      task_id: { value: 't2' },
      agent_id: { value: 'M-S0' },
      // Not even fetched: the containerizer refuses the container first.
      command: { value: `touch ${marker}`, uris: [{ value: join(directory, 'missing.tgz') }] },
      container: imageContainer,
    });
    await until(() => updates.length > 0);
    expect(updates[0]).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message: 'Failed to launch container: Unsupported container image type: DOCKER',
    });
    expect(existsSync(marker)).toBe(false);
  });

  it("fails a custom executor's task when the ExecutorInfo asks for an image, with wait status -1", async () => {
    const { agent, updates, terminated, directory } = await startAgent();
    const marker = join(directory, 'ran');
    agent.launchTask(framework, {
      name: 't',
      task_id: { value: 't3' },
      agent_id: { value: 'M-S0' },
      executor: {
        executor_id: { value: 'e1' },
        command: { value: `touch ${marker}` },
        container: imageContainer,
      },
    });
    await until(() => updates.length > 0 && terminated.length > 0);
    expect(updates[0]).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message: 'Failed to launch container: Unsupported container image type: DOCKER',
    });
    expect(terminated).toEqual([{ executorId: 'e1', status: -1 }]);
    expect(existsSync(marker)).toBe(false);
  });

  it('fails secret files (no volume/secret isolator) but runs a MESOS container with only a network', async () => {
    const { agent, updates, directory } = await startAgent();
    agent.launchTask(framework, {
      name: 't',
      task_id: { value: 't4' },
      agent_id: { value: 'M-S0' },
      command: { value: 'true' },
      container: {
        type: 'MESOS',
        volumes: [
          {
            container_path: 'pw',
            mode: 'RO',
            source: { type: 'SECRET', secret: { type: 'VALUE', value: { data: new Uint8Array([1]) } } },
          },
        ],
      },
    });
    await until(() => updates.some((update) => update.task_id.value === 't4'));
    expect(updates.find((update) => update.task_id.value === 't4')).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message:
        "Failed to launch container: mesos-local has no volume/secret isolator for the secret volume 'pw'; use an agent run with --isolation=volume/secret",
    });

    const marker = join(directory, 'ran');
    agent.launchTask(framework, {
      name: 't',
      task_id: { value: 't5' },
      agent_id: { value: 'M-S0' },
      command: { value: `touch ${marker}` },
      container: { type: 'MESOS', network_infos: [{ name: 'cni-net' }] },
    });
    await until(() => updates.some((update) => update.task_id.value === 't5' && update.state === 'TASK_STARTING'));
    await until(() => existsSync(marker));
  });

  it('accepts no container and a plain MESOS container', () => {
    expect(unsupportedContainer(undefined)).toBeUndefined();
    expect(unsupportedContainer({ type: 'MESOS' })).toBeUndefined();
  });
});
