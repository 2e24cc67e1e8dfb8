// The fetcher at the wire level: a command task whose `command.uris` cannot be fetched fails with
// REASON_CONTAINER_LAUNCH_FAILED before its command starts, and the sandbox's stderr says which
// URI and why; a URI that can be fetched lands in the sandbox before the command runs.
// The URIs are served (or refused) by a loopback HTTP server of this test, so the scenario runs
// unchanged against a real master whose agents run on this host (see ./scenario-support.ts).
// @see https://mesos.apache.org/documentation/latest/fetcher/
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSparkMesosError } from '@spark-mesos/errors';
import {
  type CommandInfoURI,
  launchOperation,
  type MesosEncoding,
  type Offer,
  type SchedulerClient,
  type TaskInfo,
} from '@spark-mesos/mesos-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandTask,
  describeStatus,
  OFFER_WAIT_MS,
  TASK_WAIT_MS,
  targetName,
  updateOf,
  useConformanceMaster,
  waitForSuitableOffer,
  waitForTerminal,
} from './scenario-support.js';

const master = useConformanceMaster();
const TEST_TIMEOUT_MS = OFFER_WAIT_MS + TASK_WAIT_MS + 30_000;

// What the test's server serves: one file; every other path is a 404.
const served = `spark-mesos fetched content ${randomUUID()}`;
let server: Server | undefined;
let serverUrl = '';
// A loopback port with nothing listening (a server bound, then closed).
let refusedUrl = '';

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === '/files/payload.txt') response.writeHead(200, { 'content-type': 'text/plain' }).end(served);
    else response.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  refusedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/files/payload.txt`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

/** A small command task with `uris`. */
function taskWithUris(offer: Offer, taskId: string, command: string, uris: CommandInfoURI[]): TaskInfo {
  const task = commandTask(offer, taskId, command, 'spark-mesos conformance fetch task');
  return { ...task, command: { ...task.command, uris } };
}

/** Launches the task on the first suitable offer and waits for its terminal update. */
async function launchAndWait(client: SchedulerClient, command: string, uris: CommandInfoURI[]) {
  const suitable = waitForSuitableOffer(client);
  await client.start();
  const offer = await suitable;
  const taskId = `task-${randomUUID()}`;
  const terminal = waitForTerminal(client, taskId);
  const states: string[] = [];
  const off = client.on('event', (event) => {
    const state = updateOf(event, taskId)?.state;
    if (state !== undefined) states.push(state);
  });
  await client.accept({
    offer_ids: [offer.id],
    operations: [launchOperation([taskWithUris(offer, taskId, command, uris)])],
  });
  try {
    return { taskId, status: await terminal, states };
  } finally {
    off();
  }
}

/** Reads a file of the task's sandbox through the master and the agent, as a user debugging would. */
async function readSandbox(client: SchedulerClient, taskId: string, name: string): Promise<string> {
  const operator = master.operatorClient(client);
  const sandbox = await operator.locateTaskSandbox(taskId, client.frameworkId);
  const file = await operator
    .readFileTail(sandbox.agentUrl, `${sandbox.directory}/${name}`, 256 * 1024)
    .catch((error: unknown) => {
      // Some agents only serve the virtual path of a run.
      if (isSparkMesosError(error, 'SM_ERR_MESOS_NOT_FOUND')) {
        return operator.readFileTail(sandbox.agentUrl, `${sandbox.virtualDirectory}/${name}`, 256 * 1024);
      }
      throw error;
    });
  return file.data;
}

describe(`fetcher against ${targetName}`, () => {
  it.each<[MesosEncoding, 'a 404' | 'a refused connection']>([
    ['protobuf', 'a 404'],
    ['json', 'a 404'],
    ['protobuf', 'a refused connection'],
    ['json', 'a refused connection'],
  ])(
    'a URI that fails to fetch (%s, %s) fails the task with REASON_CONTAINER_LAUNCH_FAILED and the reason in stderr',
    async (encoding, failure) => {
      const uri = failure === 'a 404' ? `${serverUrl}/files/missing-${randomUUID()}.jar` : refusedUrl;
      const client = master.schedulerClient(encoding, { name: 'fetch failure' });
      const marker = `spark-mesos-must-not-run-${randomUUID()}`;
      const { taskId, status, states } = await launchAndWait(client, `echo ${marker}`, [{ value: uri }]);

      expect(status, describeStatus(status)).toMatchObject({
        state: 'TASK_FAILED',
        reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      });
      expect(status.message ?? '').toMatch(/^Failed to launch container: Failed to fetch all URIs for container '/);
      // The executor never started: no TASK_STARTING or TASK_RUNNING before the failure.
      expect(states.filter((state) => state !== 'TASK_FAILED')).toEqual([]);

      const stderr = await readSandbox(client, taskId, 'stderr');
      expect(stderr).toContain(`Failed to fetch '${uri}'`);
      if (failure === 'a 404') expect(stderr).toContain('404');
      // The command never started.
      expect(await readSandbox(client, taskId, 'stdout')).not.toContain(marker);
    },
    TEST_TIMEOUT_MS,
  );

  it.each<MesosEncoding>(['protobuf', 'json'])(
    'a URI served over HTTP is in the sandbox before the command runs (%s)',
    async (encoding) => {
      const client = master.schedulerClient(encoding, { name: 'fetch' });
      const uri = `${serverUrl}/files/payload.txt`;
      const { taskId, status } = await launchAndWait(client, 'cat payload.txt', [{ value: uri }]);

      expect(status, describeStatus(status)).toMatchObject({ state: 'TASK_FINISHED' });
      expect(await readSandbox(client, taskId, 'stdout')).toContain(served);
      expect(await readSandbox(client, taskId, 'stderr')).toContain(`Fetching URI '${uri}'`);
    },
    TEST_TIMEOUT_MS,
  );
});
