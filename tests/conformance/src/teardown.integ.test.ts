// TEARDOWN at the wire level: the master removes the framework, kills its tasks and ends the
// event stream with the final chunk and no ERROR event; the client ends without an error.
// Runs against mesos-local or, unchanged, a real master (see ./scenario-support.ts).
// @see https://mesos.apache.org/documentation/latest/scheduler-http-api/ (TEARDOWN)
import { randomUUID } from 'node:crypto';
import { launchOperation, type MesosEncoding } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import {
  commandTask,
  describeStatus,
  OFFER_WAIT_MS,
  TASK_WAIT_MS,
  targetName,
  useConformanceMaster,
  waitForSuitableOffer,
  waitForTaskState,
  within,
} from './scenario-support.js';

const master = useConformanceMaster();
const STREAM_END_WAIT_MS = 10_000;

describe(`TEARDOWN against ${targetName}`, () => {
  it.each<MesosEncoding>(['protobuf', 'json'])(
    'ends the event stream without an error and removes the framework with its running task (%s)',
    async (encoding) => {
      const client = master.schedulerClient(encoding, { name: 'teardown', client: { reconcile: { enabled: false } } });
      const suitable = waitForSuitableOffer(client);
      await client.start();
      const offer = await suitable;
      const frameworkId = client.frameworkId as string;
      const taskId = `task-${randomUUID()}`;
      const running = waitForTaskState(client, taskId, 'TASK_RUNNING');
      await client.accept({
        offer_ids: [offer.id],
        operations: [launchOperation([commandTask(offer, taskId, 'sleep 30')])],
      });
      const status = await running;
      expect(status, describeStatus(status)).toMatchObject({ state: 'TASK_RUNNING' });

      const operator = master.operatorClient(client);
      const iterator = client.events();
      const drained = (async () => {
        const types: string[] = [];
        for await (const event of iterator) types.push(event.type ?? '(no type)');
        return types;
      })();
      // The master may end the stream before its 202 reaches us (mesos-local always does; a
      // real master writes both in the same turn, on two connections): teardown() resolves
      // either way.
      const sent = client.teardown().then(
        () => undefined,
        (error: unknown) => error,
      );
      // The iterator ends (`done`, nothing thrown) once the master ended the stream.
      const types = await within(drained, STREAM_END_WAIT_MS, 'end of the event stream after TEARDOWN');
      expect(types).not.toContain('ERROR');
      const outcome = await within(sent, STREAM_END_WAIT_MS, 'answer to TEARDOWN');
      expect(outcome).toBeUndefined();
      expect(client.state).toBe('closed');
      expect(client.error).toBeUndefined();
      await expect(client.revive()).rejects.toMatchObject({ code: 'SM_ERR_CLOSED' });

      // The master no longer lists the framework, nor the task as live anywhere.
      const state = await operator.getMasterState();
      expect(state.frameworks.map((framework) => framework.id)).not.toContain(frameworkId);
      const live = state.frameworks.flatMap((framework) => (framework.tasks ?? []).map((task) => task.id));
      expect(live).not.toContain(taskId);
    },
    OFFER_WAIT_MS + TASK_WAIT_MS + 2 * STREAM_END_WAIT_MS,
  );
});
