// Faults of the cluster itself, made to happen with mesos-local's test hooks: an agent dies, the
// master fails over. Against a real master (SPARK_MESOS_TEST_MASTER) a test cannot kill the
// agent or the master, so these scenarios are reported as skipped there, never passed.
// @see https://mesos.apache.org/documentation/latest/high-availability-framework-guide/
// @see https://mesos.apache.org/documentation/latest/reconciliation/
import { randomUUID } from 'node:crypto';
import { launchOperation, type MesosEncoding, type SchedulerEvent } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import {
  commandTask,
  describeStatus,
  fitsSmallTask,
  hooksUnavailable,
  OFFER_WAIT_MS,
  offersOf,
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
const TEST_TIMEOUT_MS = 2 * OFFER_WAIT_MS + 3 * TASK_WAIT_MS;

describe(`cluster faults against ${targetName} (mesos-local test hooks)`, () => {
  it.skipIf(hooksUnavailable).each<MesosEncoding>(['protobuf', 'json'])(
    'an agent dies: its outstanding offer is rescinded, then its task is TASK_LOST (%s)',
    async (encoding) => {
      const hooks = master.hooks!;
      const client = master.schedulerClient(encoding, {
        name: 'agent loss',
        client: { reconcile: { enabled: false } },
      });
      const events: SchedulerEvent[] = [];
      client.on('event', (event) => {
        events.push(event);
      });
      const suitable = waitForSuitableOffer(client);
      await client.start();
      const offer = await suitable;
      const agentId = offer.agent_id.value;
      const taskId = `task-${randomUUID()}`;
      const running = waitForTaskState(client, taskId, 'TASK_RUNNING');
      // What the task leaves of the agent comes back at once (refuse_seconds 0) as a new offer.
      const leftover = waitForEvent(client, `a new offer on agent ${agentId}`, OFFER_WAIT_MS, (event) =>
        offersOf(event).find(
          (candidate) => candidate.agent_id.value === agentId && candidate.id.value !== offer.id.value,
        ),
      );
      await client.accept({
        offer_ids: [offer.id],
        operations: [launchOperation([commandTask(offer, taskId, 'sleep 60')])],
        filters: { refuse_seconds: 0 },
      });
      const status = await running;
      expect(status, describeStatus(status)).toMatchObject({ state: 'TASK_RUNNING' });
      const held = await leftover;

      const rescinded = waitForEvent(client, `RESCIND of ${held.id.value}`, TASK_WAIT_MS, (event) =>
        event.type === 'RESCIND' && event.rescind?.offer_id.value === held.id.value ? event : undefined,
      );
      const lost = waitForTerminal(client, taskId);
      await hooks.killAgent(agentId);
      await rescinded;
      const terminal = await lost;
      expect(terminal, describeStatus(terminal)).toMatchObject({
        state: 'TASK_LOST',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_DISCONNECTED',
      });
      // Mesos rescinds the agent's offers before it tells about its tasks.
      const rescindAt = events.findIndex((event) => event.type === 'RESCIND');
      const lostAt = events.findIndex((event) => updateOf(event, taskId)?.state === 'TASK_LOST');
      expect(rescindAt).toBeLessThan(lostAt);

      // The agent comes back (same id, empty) and is offered again.
      const offeredAgain = waitForEvent(client, `an offer on the restarted agent ${agentId}`, OFFER_WAIT_MS, (event) =>
        offersOf(event).find((candidate) => candidate.agent_id.value === agentId && fitsSmallTask(candidate)),
      );
      await hooks.restartAgent(agentId);
      await client.revive();
      await offeredAgain;
    },
    TEST_TIMEOUT_MS,
  );

  it.skipIf(hooksUnavailable).each<MesosEncoding>(['protobuf', 'json'])(
    'the master fails over: the client subscribes again with its framework id and its task is still running (%s)',
    async (encoding) => {
      const hooks = master.hooks!;
      const client = master.schedulerClient(encoding, {
        name: 'master failover',
        frameworkInfo: { failover_timeout: 60 },
      });
      const subscribed: SchedulerEvent[] = [];
      client.on('SUBSCRIBED', (event) => {
        subscribed.push(event);
      });
      const suitable = waitForSuitableOffer(client);
      await client.start();
      const offer = await suitable;
      const frameworkId = client.frameworkId;
      const taskId = `task-${randomUUID()}`;
      const running = waitForTaskState(client, taskId, 'TASK_RUNNING');
      await client.accept({
        offer_ids: [offer.id],
        operations: [launchOperation([commandTask(offer, taskId, 'sleep 60')])],
      });
      expect((await running).state).toBe('TASK_RUNNING');

      // After the new SUBSCRIBED the client reconciles: the new master reports the task.
      const reconciled = waitForEvent(
        client,
        `reconciliation of ${taskId} after the failover`,
        TASK_WAIT_MS,
        (event) => {
          const status = updateOf(event, taskId);
          return status?.reason === 'REASON_RECONCILIATION' && subscribed.length >= 2 ? status : undefined;
        },
      );
      hooks.failoverMaster();
      const status = await reconciled;
      expect(status, describeStatus(status)).toMatchObject({ state: 'TASK_RUNNING' });
      expect(subscribed).toHaveLength(2);
      expect(subscribed[1]?.subscribed?.framework_id.value).toBe(frameworkId);
      expect(subscribed[1]?.subscribed?.master_info?.id).not.toBe(subscribed[0]?.subscribed?.master_info?.id);

      const killed = waitForTerminal(client, taskId);
      await client.kill({ task_id: { value: taskId }, agent_id: offer.agent_id });
      expect((await killed).state).toBe('TASK_KILLED');
    },
    TEST_TIMEOUT_MS,
  );
});
