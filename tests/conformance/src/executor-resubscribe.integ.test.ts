// A custom executor that loses its subscription and resubscribes with an unacknowledged update.
// Runs against mesos-local or, unchanged, a real master whose agents run on this host with
// Node 20 on PATH (see ./scenario-support.ts); the executor is ../executors/resubscribe-executor.mjs,
// which speaks the executor API in JSON whatever the scheduler's encoding.
//
// What a Mesos 1.x agent does, and this checks: an update the executor sends while it has no
// subscription is forwarded, its ACKNOWLEDGED is lost; listed again in the next SUBSCRIBE it is
// not forwarded twice (same uuid) but ACKNOWLEDGED on the new stream. The agent acknowledges an
// executor's update once it has it (not when the scheduler does); towards the scheduler the
// updates of a task stay in order, each held until the previous one is acknowledged.
// @see https://mesos.apache.org/documentation/latest/executor-http-api/
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { launchOperation, type MesosEncoding, type Offer, type TaskInfo } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import {
  describeStatus,
  expectNoEvent,
  OFFER_WAIT_MS,
  offersOf,
  scalar,
  TASK_WAIT_MS,
  take,
  targetName,
  updateOf,
  useConformanceMaster,
  waitForEvent,
  waitForTaskState,
  waitForTerminal,
} from './scenario-support.js';

const master = useConformanceMaster();
const TEST_TIMEOUT_MS = OFFER_WAIT_MS + 2 * TASK_WAIT_MS + 10_000;
const EXECUTOR = fileURLToPath(new URL('../executors/resubscribe-executor.mjs', import.meta.url));
// A Node process needs about 50 MB resident; a memory-enforcing agent must leave it room.
const EXECUTOR_CPUS = 0.1;
const EXECUTOR_MEM_MB = 64;
const TASK_CPUS = 0.1;
const TASK_MEM_MB = 32;

function fits(offer: Offer): boolean {
  return (
    scalar(offer.resources, 'cpus') >= EXECUTOR_CPUS + TASK_CPUS &&
    scalar(offer.resources, 'mem') >= EXECUTOR_MEM_MB + TASK_MEM_MB
  );
}

function executorTask(offer: Offer, taskId: string): TaskInfo {
  return {
    name: 'spark-mesos conformance: executor resubscribe',
    task_id: { value: taskId },
    agent_id: offer.agent_id,
    resources: [...take(offer, 'cpus', TASK_CPUS), ...take(offer, 'mem', TASK_MEM_MB)],
    executor: {
      executor_id: { value: `executor-${taskId}` },
      name: 'spark-mesos conformance: resubscribe-executor',
      command: { shell: true, value: `exec node '${EXECUTOR}'` },
      resources: [...take(offer, 'cpus', EXECUTOR_CPUS), ...take(offer, 'mem', EXECUTOR_MEM_MB)],
    },
  };
}

interface ExecutorReport {
  readonly runningUuid: string;
  readonly resubscribed: readonly string[];
}

describe(`executor resubscription against ${targetName}`, () => {
  it.each<MesosEncoding>(['protobuf', 'json'])(
    'an update sent without a subscription and listed again on resubscribing reaches the scheduler once (%s)',
    async (encoding) => {
      const client = master.schedulerClient(encoding, {
        name: 'executor resubscribe',
        client: { autoAcknowledge: false, reconcile: { enabled: false } },
        frameworkInfo: { checkpoint: true },
      });
      const suitable = waitForEvent(client, 'offer with room for an executor and its task', OFFER_WAIT_MS, (event) =>
        offersOf(event).find(fits),
      );
      await client.start();
      const offer = await suitable;
      const taskId = `task-${randomUUID()}`;
      const uuids: string[] = [];
      client.on('UPDATE', (event) => {
        const status = updateOf(event, taskId);
        if (status?.uuid !== undefined) uuids.push(`${status.state} ${Buffer.from(status.uuid).toString('base64')}`);
      });
      const running = waitForTaskState(client, taskId, 'TASK_RUNNING');
      await client.accept({ offer_ids: [offer.id], operations: [launchOperation([executorTask(offer, taskId)])] });
      const runningStatus = await running;
      expect(runningStatus, describeStatus(runningStatus)).toMatchObject({
        state: 'TASK_RUNNING',
        source: 'SOURCE_EXECUTOR',
        executor_id: { value: `executor-${taskId}` },
      });
      const runningUuid = Buffer.from(runningStatus.uuid ?? []).toString('base64');

      // Unacknowledged, TASK_RUNNING holds the task's later updates back at the agent.
      await expectNoEvent(client, 'TASK_FINISHED before TASK_RUNNING is acknowledged', 2_000, (event) =>
        isFinished(updateOf(event, taskId)?.state),
      );
      const finished = waitForTerminal(client, taskId);
      await client.acknowledge({ agent_id: offer.agent_id, task_id: { value: taskId }, uuid: runningStatus.uuid! });
      const finishedStatus = await finished;
      expect(finishedStatus, describeStatus(finishedStatus)).toMatchObject({
        state: 'TASK_FINISHED',
        source: 'SOURCE_EXECUTOR',
      });
      await client.acknowledge({ agent_id: offer.agent_id, task_id: { value: taskId }, uuid: finishedStatus.uuid! });

      // The executor's own account: the update it listed when resubscribing was the one the
      // scheduler got, and the new stream acknowledged it.
      const report = JSON.parse(finishedStatus.message ?? '{}') as ExecutorReport;
      expect(report.runningUuid).toBe(runningUuid);
      expect(report.resubscribed[0]).toBe('SUBSCRIBED');
      expect(report.resubscribed).toContain(`ACKNOWLEDGED ${runningUuid}`);
      // Sent twice by the executor, TASK_RUNNING reached the scheduler with one uuid only
      // (re-sends until acknowledged carry the same one).
      const runningUpdates = uuids.filter((entry) => entry.startsWith('TASK_RUNNING '));
      expect(new Set(runningUpdates)).toEqual(new Set([`TASK_RUNNING ${runningUuid}`]));
    },
    TEST_TIMEOUT_MS,
  );
});

function isFinished(state: string | undefined): boolean {
  return state === 'TASK_FINISHED';
}
