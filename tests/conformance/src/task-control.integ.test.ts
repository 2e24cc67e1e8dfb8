// Task control at the wire level: KILL of a running task, explicit and implicit RECONCILE.
// Runs against mesos-local or, unchanged, a real master (see ./scenario-support.ts).
// @see https://mesos.apache.org/documentation/latest/scheduler-http-api/ (KILL, RECONCILE)
// @see https://mesos.apache.org/documentation/latest/reconciliation/
// The expected answers follow the recorded traffic of a real Mesos 1.12 master
// (packages/mesos-client/src/__fixtures__/flow and flow2).
import { randomUUID } from 'node:crypto';
import { launchOperation, type MesosEncoding, type SchedulerClient, type TaskStatus } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import {
  commandTask,
  describeStatus,
  OFFER_WAIT_MS,
  TASK_WAIT_MS,
  targetName,
  updateOf,
  useConformanceMaster,
  waitForEvent,
  waitForSuitableOffer,
  waitForTaskState,
  waitForTerminal,
} from './scenario-support.js';

const master = useConformanceMaster();
const TEST_TIMEOUT_MS = OFFER_WAIT_MS + 2 * TASK_WAIT_MS + 10_000;

/** Starts the client, launches `command` on the first suitable offer; returns the task id and agent id. */
async function launch(
  client: SchedulerClient,
  command: string,
  wait: (taskId: string) => Promise<TaskStatus>,
): Promise<{ taskId: string; status: TaskStatus }> {
  const suitable = waitForSuitableOffer(client);
  await client.start();
  const offer = await suitable;
  const taskId = `task-${randomUUID()}`;
  const waited = wait(taskId);
  await client.accept({ offer_ids: [offer.id], operations: [launchOperation([commandTask(offer, taskId, command)])] });
  return { taskId, status: await waited };
}

function reconciliationOf(client: SchedulerClient, taskId: string): Promise<TaskStatus> {
  return waitForEvent(client, `reconciliation update of ${taskId}`, TASK_WAIT_MS, (event) => {
    const status = updateOf(event, taskId);
    return status?.reason === 'REASON_RECONCILIATION' ? status : undefined;
  });
}

describe(`task control against ${targetName}`, () => {
  it.each<MesosEncoding>(['protobuf', 'json'])(
    'KILL of a running task gives TASK_KILLED, after TASK_KILLING at most (%s)',
    async (encoding) => {
      const client = master.schedulerClient(encoding, {
        name: 'kill',
        capabilities: ['TASK_KILLING_STATE'],
        client: { reconcile: { enabled: false } },
      });
      const { taskId, status: running } = await launch(client, 'sleep 30', (id) =>
        waitForTaskState(client, id, 'TASK_RUNNING'),
      );
      expect(running, describeStatus(running)).toMatchObject({ state: 'TASK_RUNNING' });

      const states: string[] = [];
      client.on('UPDATE', (event) => {
        const status = updateOf(event, taskId);
        if (status !== undefined) states.push(status.state);
      });
      const terminal = waitForTerminal(client, taskId);
      await client.kill({ task_id: { value: taskId }, ...(running.agent_id ? { agent_id: running.agent_id } : {}) });
      const killed = await terminal;
      expect(killed, describeStatus(killed)).toMatchObject({ state: 'TASK_KILLED' });
      // A real agent re-sends an unacknowledged TASK_KILLING (same uuid): any number of them.
      expect(states.slice(0, -1).every((state) => state === 'TASK_KILLING')).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it.each<MesosEncoding>(['protobuf', 'json'])(
    'explicit RECONCILE of a finished, acknowledged task and of an unknown one: TASK_LOST, no uuid (%s)',
    async (encoding) => {
      // Acknowledged by hand, so that the ACKNOWLEDGE of the terminal update is known to have
      // reached the master (202) before the RECONCILE.
      const client = master.schedulerClient(encoding, {
        name: 'explicit reconcile',
        client: { autoAcknowledge: false, reconcile: { enabled: false } },
      });
      const acks: Promise<void>[] = [];
      client.on('UPDATE', (event) => {
        const status = event.update.status;
        if (status.uuid === undefined || status.agent_id === undefined) return;
        acks.push(client.acknowledge({ agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid }));
      });
      const { taskId, status } = await launch(client, 'true', (id) => waitForTerminal(client, id));
      expect(status, describeStatus(status)).toMatchObject({ state: 'TASK_FINISHED' });
      await Promise.all(acks);

      const unknownId = `never-launched-${randomUUID()}`;
      const finished = reconciliationOf(client, taskId);
      const unknown = reconciliationOf(client, unknownId);
      await client.reconcile({ tasks: [{ task_id: { value: taskId } }, { task_id: { value: unknownId } }] });
      // A master forgets a task once its terminal update is acknowledged; a framework that is not
      // PARTITION_AWARE hears TASK_LOST for what the master does not know (TASK_UNKNOWN otherwise).
      for (const reconciled of [await finished, await unknown]) {
        expect(reconciled, describeStatus(reconciled)).toMatchObject({
          state: 'TASK_LOST',
          source: 'SOURCE_MASTER',
          reason: 'REASON_RECONCILIATION',
        });
        // Reconciliation answers carry no uuid: never acknowledge them.
        expect(reconciled.uuid).toBeUndefined();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it.each<MesosEncoding>(['protobuf', 'json'])(
    'implicit RECONCILE reports a running task: TASK_RUNNING, REASON_RECONCILIATION, no uuid (%s)',
    async (encoding) => {
      const client = master.schedulerClient(encoding, {
        name: 'implicit reconcile',
        client: { reconcile: { enabled: false } },
      });
      const { taskId, status: running } = await launch(client, 'sleep 30', (id) =>
        waitForTaskState(client, id, 'TASK_RUNNING'),
      );
      expect(running, describeStatus(running)).toMatchObject({ state: 'TASK_RUNNING' });

      const reconciled = reconciliationOf(client, taskId);
      await client.reconcile({ tasks: [] });
      const status = await reconciled;
      expect(status, describeStatus(status)).toMatchObject({
        state: 'TASK_RUNNING',
        source: 'SOURCE_MASTER',
        reason: 'REASON_RECONCILIATION',
      });
      expect(status.agent_id?.value).toBe(running.agent_id?.value);
      expect(status.uuid).toBeUndefined();
    },
    TEST_TIMEOUT_MS,
  );
});
