// The scheduler scenario of a real job, at the wire level: subscribe, take an offer, launch a
// command task, see it finish, read its stdout from the sandbox. It runs against an in-process
// @spark-mesos/mesos-local cluster by default and, unchanged, against a real Mesos master named
// by SPARK_MESOS_TEST_MASTER (see ./scenario-support.ts).
import { randomUUID } from 'node:crypto';
import { isSparkMesosError } from '@spark-mesos/errors';
import { filters, launchOperation, type MesosEncoding } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import {
  commandTask,
  describeStatus,
  OFFER_WAIT_MS,
  TASK_WAIT_MS,
  targetName,
  useConformanceMaster,
  waitForSuitableOffer,
  waitForTerminal,
} from './scenario-support.js';

const master = useConformanceMaster();

describe(`scheduler scenario against ${targetName}`, () => {
  it.each<MesosEncoding>(['protobuf', 'json'])(
    'subscribes, launches a command task on an offer, sees it finish and reads its stdout (%s)',
    async (encoding) => {
      const marker = `spark-mesos-live-${randomUUID()}`;
      const client = master.schedulerClient(encoding, { name: 'live test' });

      const suitable = waitForSuitableOffer(client);
      await client.start();
      expect(client.frameworkId).toBeTruthy();
      expect(client.streamId).toBeTruthy();
      const offer = await suitable;

      const taskId = `task-${randomUUID()}`;
      const terminal = waitForTerminal(client, taskId);
      await client.accept({
        offer_ids: [offer.id],
        operations: [launchOperation([commandTask(offer, taskId, `echo ${marker}`, 'spark-mesos live test task')])],
        filters: filters({ refuseSeconds: 1 }),
      });
      const status = await terminal;
      expect(status, describeStatus(status)).toMatchObject({ state: 'TASK_FINISHED' });

      // The debugging path: find the task's sandbox through the master and read its stdout.
      const operator = master.operatorClient(client);
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
