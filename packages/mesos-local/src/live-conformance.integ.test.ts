// The scenario of mesos-client's scheduler-client.live.integ.test.ts, run through the public
// clients against a local cluster: what works here must work against a real master, and back.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import {
  createOperatorClient,
  createSchedulerClient,
  filters,
  launchOperation,
  type MesosEncoding,
  type Offer,
  type Resource,
  type SchedulerClient,
  type SchedulerEvent,
  type TaskInfo,
  type TaskStatus,
} from '@spark-mesos/mesos-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from './local-cluster.js';

let cluster: LocalCluster;
const clients: SchedulerClient[] = [];

beforeAll(async () => {
  cluster = await startLocalCluster({ heartbeatIntervalSeconds: 1, allocationIntervalMs: 50 });
});
afterEach(async () => {
  for (const client of clients.splice(0)) {
    await client.teardown().catch(() => {});
    await client.close();
  }
});
afterAll(() => cluster.stop());

function waitForEvent<T>(client: SchedulerClient, timeoutMs: number, pick: (event: SchedulerEvent) => T | undefined) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      offEvent();
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const offEvent = client.on('event', (event) => {
      const value = pick(event);
      if (value === undefined) return;
      clearTimeout(timer);
      offEvent();
      resolve(value);
    });
  });
}

function scalar(resources: readonly Resource[] | undefined, name: string): number {
  return (resources ?? []).filter((r) => r.name === name).reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);
}

function take(offer: Offer, name: string, amount: number): Resource[] {
  const resource = (offer.resources ?? []).find((r) => r.name === name && r.type === 'SCALAR');
  return resource ? [{ ...resource, scalar: { value: amount } }] : [];
}

describe('the live scheduler scenario against a local cluster', () => {
  it.each<MesosEncoding>(['protobuf', 'json'])(
    'subscribes, launches a command task on an offer, sees it finish and reads its stdout (%s)',
    async (encoding) => {
      const marker = `mesos-local-${randomUUID()}`;
      const client = createSchedulerClient({
        master: cluster.masterUrl,
        encoding,
        frameworkInfo: {
          user: userInfo().username,
          name: `mesos-local conformance (${encoding})`,
          failover_timeout: 0,
        },
      });
      clients.push(client);
      const offerPromise = waitForEvent(client, 10_000, (event) =>
        event.type === 'OFFERS'
          ? event.offers?.offers?.find((o) => scalar(o.resources, 'cpus') >= 0.1 && scalar(o.resources, 'mem') >= 32)
          : undefined,
      );
      await client.start();
      expect(client.frameworkId).toMatch(new RegExp(`^${cluster.masterId}-\\d{4}$`));
      expect(client.streamId).toBeTruthy();
      const offer = await offerPromise;
      // A framework without roles gets "role":"*" and no allocation_info, as from a real master.
      expect(offer.resources?.[0]?.role).toBe('*');
      expect(offer.resources?.[0]?.allocation_info).toBeUndefined();

      const taskId = `task-${randomUUID()}`;
      const task: TaskInfo = {
        name: 'conformance task',
        task_id: { value: taskId },
        agent_id: offer.agent_id,
        resources: [...take(offer, 'cpus', 0.1), ...take(offer, 'mem', 32)],
        command: { shell: true, value: `echo ${marker}` },
      };
      const states: string[] = [];
      const terminal = waitForEvent<TaskStatus>(client, 15_000, (event) => {
        const status = event.type === 'UPDATE' ? event.update?.status : undefined;
        if (status?.task_id?.value !== taskId) return undefined;
        states.push(status.state);
        return ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING'].includes(status.state) ? undefined : status;
      });
      await client.accept({
        offer_ids: [offer.id],
        operations: [launchOperation([task])],
        filters: filters({ refuseSeconds: 1 }),
      });
      const status = await terminal;
      expect(status).toMatchObject({
        state: 'TASK_FINISHED',
        message: 'Command exited with status 0',
        source: 'SOURCE_EXECUTOR',
      });
      expect(states).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
      expect(status.uuid?.length).toBe(16);

      const operator = createOperatorClient({ master: new URL(client.leaderUrl as string).origin });
      const sandbox = await operator.locateTaskSandbox(taskId, client.frameworkId);
      const stdout = await operator.readFileTail(sandbox.agentUrl, `${sandbox.directory}/stdout`, 64 * 1024);
      expect(stdout.data).toContain(marker);
      const virtual = await operator.readFileTail(sandbox.agentUrl, `${sandbox.virtualDirectory}/stdout`, 1024);
      expect(virtual.data).toContain(marker);
      expect(sandbox.directory.startsWith(cluster.workDir)).toBe(true);
    },
    30_000,
  );
});
