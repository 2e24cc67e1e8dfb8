// Framework failover at the wire level (high-availability framework guide): a second scheduler
// subscribing with the framework id within `failover_timeout` takes the framework over, tasks
// included, and the first one gets ERROR "Framework failed over"; past the timeout the master
// removes the framework, kills its tasks, and answers a later SUBSCRIBE with that id with ERROR
// "Framework has been removed" (master.cpp, validateFramework).
// Runs against mesos-local or, unchanged, a real master (see ./scenario-support.ts): no hook.
// @see https://mesos.apache.org/documentation/latest/high-availability-framework-guide/
import { randomUUID } from 'node:crypto';
import type { SparkMesosError } from '@spark-mesos/errors';
import { launchOperation, type MesosEncoding } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import {
  commandTask,
  describeStatus,
  OFFER_WAIT_MS,
  sleep,
  TASK_WAIT_MS,
  targetName,
  useConformanceMaster,
  waitForEvent,
  waitForSuitableOffer,
  waitForTaskState,
  waitForTerminal,
  within,
} from './scenario-support.js';

const master = useConformanceMaster();
/** Bound on the ERROR event, the stream end, and the master's removal of a framework. */
const MASTER_WAIT_MS = 20_000;

describe(`framework failover against ${targetName}`, () => {
  it.each<MesosEncoding>(['protobuf', 'json'])(
    'a scheduler subscribing with the framework id within failover_timeout takes over its running task (%s)',
    async (encoding) => {
      const first = master.schedulerClient(encoding, {
        name: 'failover within the timeout',
        frameworkInfo: { failover_timeout: 60 },
        client: { reconcile: { enabled: false } },
      });
      const suitable = waitForSuitableOffer(first);
      await first.start();
      const offer = await suitable;
      const frameworkId = first.frameworkId as string;
      const taskId = `task-${randomUUID()}`;
      const running = waitForTaskState(first, taskId, 'TASK_RUNNING');
      await first.accept({
        offer_ids: [offer.id],
        operations: [launchOperation([commandTask(offer, taskId, 'sleep 30')])],
      });
      const status = await running;
      expect(status, describeStatus(status)).toMatchObject({ state: 'TASK_RUNNING' });
      const oldStreamId = first.streamId;

      // The first client ends with the master's ERROR: it must not subscribe again by itself.
      const failedOver = new Promise<SparkMesosError>((resolve) => first.on('error', resolve));
      const errorEvent = new Promise<string | undefined>((resolve) =>
        first.on('ERROR', (event) => resolve(event.error.message)),
      );
      const second = master.schedulerClient(encoding, {
        name: 'failover within the timeout',
        frameworkInfo: { failover_timeout: 60, id: { value: frameworkId } },
        // Implicit reconciliation after SUBSCRIBED reports the framework's tasks.
        client: { reconcile: { enabled: true } },
      });
      const reconciled = waitForEvent(second, `reconciliation update of ${taskId}`, TASK_WAIT_MS, (event) => {
        const update = event.type === 'UPDATE' ? event.update?.status : undefined;
        return update?.task_id.value === taskId && update.reason === 'REASON_RECONCILIATION' ? update : undefined;
      });
      await second.start();
      expect(second.frameworkId).toBe(frameworkId);
      expect(second.streamId).not.toBe(oldStreamId);

      expect(await within(errorEvent, MASTER_WAIT_MS, 'ERROR event on the first stream')).toBe('Framework failed over');
      const error = await within(failedOver, MASTER_WAIT_MS, 'end of the first client');
      expect(error.code).toBe('SM_ERR_FRAMEWORK_ERROR');
      expect(first.state).toBe('failed');

      const latest = await reconciled;
      expect(latest, describeStatus(latest)).toMatchObject({ state: 'TASK_RUNNING', source: 'SOURCE_MASTER' });

      // The new scheduler owns the task: it can kill it.
      const killed = waitForTerminal(second, taskId);
      await second.kill({ task_id: { value: taskId } });
      const terminal = await killed;
      expect(terminal, describeStatus(terminal)).toMatchObject({ state: 'TASK_KILLED' });
    },
    OFFER_WAIT_MS + 3 * TASK_WAIT_MS + 2 * MASTER_WAIT_MS,
  );

  it.each<MesosEncoding>(['protobuf', 'json'])(
    'past failover_timeout the framework is removed with its task, and its id is refused (%s)',
    async (encoding) => {
      const first = master.schedulerClient(encoding, {
        name: 'failover past the timeout',
        frameworkInfo: { failover_timeout: 1 },
        client: { reconcile: { enabled: false } },
      });
      const suitable = waitForSuitableOffer(first);
      await first.start();
      const offer = await suitable;
      const frameworkId = first.frameworkId as string;
      const operator = master.operatorClient(first);
      const taskId = `task-${randomUUID()}`;
      const running = waitForTaskState(first, taskId, 'TASK_RUNNING');
      await first.accept({
        offer_ids: [offer.id],
        operations: [launchOperation([commandTask(offer, taskId, 'sleep 30')])],
      });
      const status = await running;
      expect(status, describeStatus(status)).toMatchObject({ state: 'TASK_RUNNING' });

      // The scheduler goes away without TEARDOWN: the master waits failover_timeout, then removes it.
      await first.close();
      let removed = false;
      for (const deadline = Date.now() + MASTER_WAIT_MS; !removed && Date.now() < deadline; ) {
        const state = await operator.getMasterState();
        removed = state.completed_frameworks.some((framework) => framework.id === frameworkId);
        if (!removed) await sleep(250);
      }
      expect(removed, `framework ${frameworkId} in completed_frameworks within ${MASTER_WAIT_MS} ms`).toBe(true);
      const state = await operator.getMasterState();
      expect(state.frameworks.map((framework) => framework.id)).not.toContain(frameworkId);
      const live = state.frameworks.flatMap((framework) => (framework.tasks ?? []).map((task) => task.id));
      expect(live).not.toContain(taskId);
      const completed = state.completed_frameworks
        .filter((framework) => framework.id === frameworkId)
        .flatMap((framework) => framework.completed_tasks)
        .find((task) => task.id === taskId);
      expect(completed?.state).toBe('TASK_KILLED');

      const late = master.schedulerClient(encoding, {
        name: 'failover past the timeout',
        frameworkInfo: { failover_timeout: 1, id: { value: frameworkId } },
        client: { reconcile: { enabled: false } },
      });
      const refused = late.start().then(
        () => undefined,
        (error: unknown) => error as SparkMesosError,
      );
      const error = await within(refused, MASTER_WAIT_MS, 'answer to SUBSCRIBE with the removed framework id');
      expect(error?.code).toBe('SM_ERR_FRAMEWORK_ERROR');
      expect(error?.message).toContain('Framework has been removed');
      expect(late.state).toBe('failed');
    },
    OFFER_WAIT_MS + TASK_WAIT_MS + 3 * MASTER_WAIT_MS,
  );
});
