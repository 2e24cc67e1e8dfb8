// The fine-grained executor across an agent restart, with framework checkpointing: a stand-in
// agent (a node:http server speaking the v1 executor API through mesos-client's public codecs)
// closes the subscription while a task runs and leaves an update unacknowledged; the executor
// must re-subscribe with the task and the update, keep the task running, and report its end.
// mesos-local's agent restart (fine-executor-agent-restart.integ.test.ts) is nearly instant, so
// it never leaves an update unacknowledged across the restart; the stand-in controls that moment.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { deserialize, serialize } from 'node:v8';
import {
  EXECUTOR_CALL_CODECS,
  EXECUTOR_EVENT_CODECS,
  type ExecutorCall,
  type ExecutorEvent,
  executorConfigFromEnv,
  MESOS_CONTENT_TYPES,
} from '@spark-mesos/mesos-client';
import { encodeRecordIo } from '@spark-mesos/mesos-client/recordio';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAppSecret } from './app-secret.js';
import { runFineExecutor } from './fine-executor.js';
import { encodeFineExecutorData, encodeFineTask } from './fine-task.js';
import { decodeFineStatusData } from './protocol/fine-status-data.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

describe('fine-grained executor with checkpointing', () => {
  it('re-subscribes after the agent went away, with its unacknowledged task and updates, and finishes the task', async () => {
    const calls: ExecutorCall[] = [];
    const streams: ServerResponse[] = [];
    const task = {
      name: 'slow',
      task_id: { value: 'slow-task' },
      agent_id: { value: 'agent-1' },
      data: encodeFineTask({
        taskId: 'slow-task',
        stageId: 0,
        partition: 0,
        attempt: 0,
        function: {
          kind: 'source',
          source: '() => new Promise((resolve) => setTimeout(() => resolve("survived"), 800))',
        },
        captured: serialize(undefined),
        input: serialize(null),
      }),
    };
    const subscribed: ExecutorEvent = {
      type: 'SUBSCRIBED',
      subscribed: {
        executor_info: { executor_id: { value: 'fine-1' }, data: encodeFineExecutorData({ slots: 1 }) },
        framework_info: { user: 'test', name: 'test', id: { value: 'framework-1' }, checkpoint: true },
        agent_info: { hostname: 'localhost', id: { value: 'agent-1' } },
      },
    };
    const send = (response: ServerResponse, event: ExecutorEvent) =>
      response.write(encodeRecordIo(EXECUTOR_EVENT_CODECS.protobuf.encode(event)));
    let acknowledging = false;

    const server: Server = createServer(async (request, response) => {
      const call = EXECUTOR_CALL_CODECS.protobuf.decode(await readBody(request));
      calls.push(call);
      if (call.type === 'SUBSCRIBE') {
        response.writeHead(200, { 'Content-Type': MESOS_CONTENT_TYPES.protobuf });
        streams.push(response);
        send(response, subscribed);
        if (streams.length === 1) send(response, { type: 'LAUNCH', launch: { task } });
        return;
      }
      response.writeHead(202, { 'Content-Length': '0' }).end();
      const update = call.update;
      if (call.type !== 'UPDATE' || update === undefined) return;
      const stream = streams.at(-1);
      if (!acknowledging) {
        // The agent "restarts" on the first update: it is never acknowledged on this stream.
        if (stream !== undefined) stream.destroy();
        acknowledging = true;
        return;
      }
      if (stream !== undefined && !stream.destroyed) {
        send(stream, {
          type: 'ACKNOWLEDGED',
          acknowledged: { task_id: update.status.task_id, uuid: update.status.uuid as Uint8Array },
        });
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const port = (server.address() as { port: number }).port;
    const env: Record<string, string> = {
      MESOS_FRAMEWORK_ID: 'framework-1',
      MESOS_EXECUTOR_ID: 'fine-1',
      MESOS_AGENT_ENDPOINT: `127.0.0.1:${port}`,
      MESOS_CHECKPOINT: '1',
      MESOS_RECOVERY_TIMEOUT: '20secs',
      MESOS_SUBSCRIPTION_BACKOFF_MAX: '100ms',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
    };
    const logs: string[] = [];
    const exit = runFineExecutor({
      config: executorConfigFromEnv((name) => env[name]),
      secret: createAppSecret(),
      log: (level, message) => logs.push(`${level} ${message}`),
    });

    await vi.waitFor(
      () => {
        const finished = calls.find((call) => call.type === 'UPDATE' && call.update?.status.state === 'TASK_FINISHED');
        expect(finished).toBeDefined();
      },
      { timeout: 15_000 },
    );
    const subscribes = calls.filter((call) => call.type === 'SUBSCRIBE');
    expect(subscribes.length).toBeGreaterThanOrEqual(2);
    const resubscribe = subscribes[1]?.subscribe;
    expect(resubscribe?.unacknowledged_tasks?.map((unacknowledged) => unacknowledged.task_id.value)).toEqual([
      'slow-task',
    ]);
    expect(resubscribe?.unacknowledged_updates?.map((unacknowledged) => unacknowledged.status.state)).toContain(
      'TASK_STARTING',
    );
    const states = calls
      .filter((call) => call.type === 'UPDATE')
      .map((call) => call.update?.status.state)
      .filter((state, index, all) => all.indexOf(state) === index);
    expect(states).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    const finished = calls.find((call) => call.update?.status.state === 'TASK_FINISHED')?.update?.status;
    const outcome = decodeFineStatusData(finished?.data as Uint8Array).outcome;
    expect('result' in outcome && deserialize(outcome.result)).toBe('survived');

    const stream = streams.at(-1) as ServerResponse;
    send(stream, { type: 'SHUTDOWN' });
    expect(await exit).toBe(0);
  });
});
