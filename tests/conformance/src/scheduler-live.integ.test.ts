// The scheduler scenario of a real job, at the wire level: subscribe, take an offer, launch a
// command task, see it finish, read its stdout from the sandbox. It runs against an in-process
// @spark-mesos/mesos-local cluster by default and, unchanged, against a real Mesos master named
// by SPARK_MESOS_TEST_MASTER (e.g. mesos://127.0.0.1:5050 or mesos://zk://127.0.0.1:2181/mesos),
// whose agents can run `sh`.
// Optional: SPARK_MESOS_TEST_PRINCIPAL / SPARK_MESOS_TEST_SECRET (framework authentication),
// SPARK_MESOS_TEST_ROLE (the framework's role).
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { isSparkMesosError } from '@spark-mesos/errors';
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
import { type LocalCluster, startLocalCluster } from '@spark-mesos/mesos-local';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const realMaster = process.env.SPARK_MESOS_TEST_MASTER || undefined;
let master: string;
let cluster: LocalCluster | undefined;

beforeAll(async () => {
  if (realMaster !== undefined) {
    master = realMaster;
    return;
  }
  cluster = await startLocalCluster({ agents: 2, heartbeatIntervalSeconds: 1, allocationIntervalMs: 50 });
  master = cluster.masterUrl;
});

afterAll(async () => {
  await cluster?.stop();
});
const principal = process.env.SPARK_MESOS_TEST_PRINCIPAL;
const secret = process.env.SPARK_MESOS_TEST_SECRET;
const role = process.env.SPARK_MESOS_TEST_ROLE;

// What one tiny command task asks for; Mesos offers nothing below 32 MB of memory (MESOS-1688).
const TASK_CPUS = 0.1;
const TASK_MEM_MB = 32;
const OFFER_WAIT_MS = 60_000;
const TASK_WAIT_MS = 90_000;

const clients: SchedulerClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) {
    // Leave nothing behind on a shared cluster, even when the test failed half-way.
    await client.teardown().catch(() => {});
    await client.close();
  }
});

/** Resolves with the first event `pick` returns a value for; rejects on the client's error or a timeout. */
function waitForEvent<T>(
  client: SchedulerClient,
  what: string,
  timeoutMs: number,
  pick: (event: SchedulerEvent) => T | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => {
      clearTimeout(timer);
      offEvent();
      offError();
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`No ${what} from ${master} within ${timeoutMs} ms`));
    }, timeoutMs);
    const offEvent = client.on('event', (event) => {
      const value = pick(event);
      if (value === undefined) return;
      stop();
      resolve(value);
    });
    const offError = client.on('error', (error) => {
      stop();
      reject(error);
    });
  });
}

function scalar(resources: readonly Resource[] | undefined, name: string): number {
  return (resources ?? [])
    .filter((resource) => resource.name === name && resource.type === 'SCALAR')
    .reduce((sum, resource) => sum + (resource.scalar?.value ?? 0), 0);
}

/**
 * Takes `amount` of the scalar resource `name` from the offer, keeping each piece's role,
 * allocation and reservations so that the ACCEPT is valid for any framework role.
 */
function take(offer: Offer, name: string, amount: number): Resource[] {
  const taken: Resource[] = [];
  let left = amount;
  for (const resource of offer.resources ?? []) {
    if (left <= 0) break;
    if (resource.name !== name || resource.type !== 'SCALAR' || resource.revocable !== undefined) continue;
    const value = Math.min(left, resource.scalar?.value ?? 0);
    if (value <= 0) continue;
    taken.push({ ...resource, scalar: { value: Math.round(value * 1000) / 1000 } });
    left -= value;
  }
  return taken;
}

describe(`scheduler scenario against ${realMaster ?? 'an in-process mesos-local cluster'}`, () => {
  it.each<MesosEncoding>(['protobuf', 'json'])(
    'subscribes, launches a command task on an offer, sees it finish and reads its stdout (%s)',
    async (encoding) => {
      const marker = `spark-mesos-live-${randomUUID()}`;
      const client = createSchedulerClient({
        master,
        encoding,
        frameworkInfo: {
          user: userInfo().username,
          name: `spark-mesos live test (${encoding})`,
          failover_timeout: 0,
          ...(principal === undefined ? {} : { principal }),
          ...(role === undefined ? {} : { roles: [role], capabilities: [{ type: 'MULTI_ROLE' }] }),
        },
        ...(principal !== undefined && secret !== undefined ? { auth: { principal, secret } } : {}),
      });
      clients.push(client);

      const suitable = waitForEvent(client, 'offer with room for a small task', OFFER_WAIT_MS, (event) =>
        event.type === 'OFFERS'
          ? event.offers?.offers?.find(
              (offer) => scalar(offer.resources, 'cpus') >= TASK_CPUS && scalar(offer.resources, 'mem') >= TASK_MEM_MB,
            )
          : undefined,
      );
      await client.start();
      expect(client.frameworkId).toBeTruthy();
      expect(client.streamId).toBeTruthy();
      const offer = await suitable;

      const taskId = `task-${randomUUID()}`;
      const task: TaskInfo = {
        name: 'spark-mesos live test task',
        task_id: { value: taskId },
        agent_id: offer.agent_id,
        resources: [...take(offer, 'cpus', TASK_CPUS), ...take(offer, 'mem', TASK_MEM_MB)],
        command: { shell: true, value: `echo ${marker}` },
      };
      const terminal = waitForEvent<TaskStatus>(client, `terminal update of ${taskId}`, TASK_WAIT_MS, (event) => {
        const status = event.type === 'UPDATE' ? event.update?.status : undefined;
        if (status?.task_id?.value !== taskId) return undefined;
        return ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING'].includes(status.state ?? '') ? undefined : status;
      });
      await client.accept({
        offer_ids: [offer.id],
        operations: [launchOperation([task])],
        filters: filters({ refuseSeconds: 1 }),
      });
      const status = await terminal;
      expect(status, `${status.state}: ${status.message ?? ''} (${status.reason ?? 'no reason'})`).toMatchObject({
        state: 'TASK_FINISHED',
      });

      // The debugging path: find the task's sandbox through the master and read its stdout.
      const leader = new URL(client.leaderUrl as string);
      const operator = createOperatorClient({
        master: leader.origin,
        ...(principal !== undefined && secret !== undefined
          ? { authorization: { kind: 'basic', principal, secret } as const }
          : {}),
      });
      const sandbox = await operator.locateTaskSandbox(taskId, client.frameworkId);
      const stdout = await operator
        .readFileTail(sandbox.agentUrl, `${sandbox.directory}/stdout`, 64 * 1024)
        .catch((error: unknown) => {
          // Some agents only serve the virtual path of a run.
          if (isSparkMesosError(error, 'SM_ERR_MESOS_NOT_FOUND')) {
            return operator.readFileTail(sandbox.agentUrl, `${sandbox.virtualDirectory}/stdout`, 64 * 1024);
          }
          throw error;
        });
      expect(stdout.data).toContain(marker);
    },
    TASK_WAIT_MS + OFFER_WAIT_MS + 30_000,
  );
});
