#!/usr/bin/env node
// A scripted custom executor for the executor-resubscribe conformance scenario. It speaks the
// v1 executor API in JSON over plain HTTP (Node 20's fetch, no dependencies), so that a real
// Mesos agent on the same host can run it as `node <this file>`:
//
//  1. SUBSCRIBE, wait for the LAUNCH of its task;
//  2. drop the subscription, then send TASK_RUNNING (its ACKNOWLEDGED has no stream to go to);
//  3. SUBSCRIBE again, listing the task and the update as unacknowledged (same uuid);
//  4. wait for the ACKNOWLEDGED of that update, send TASK_FINISHED whose message reports, as
//     JSON, what the second subscription delivered; wait for its ACKNOWLEDGED and exit 0.
//
// @see https://mesos.apache.org/documentation/latest/executor-http-api/
import { randomUUID } from 'node:crypto';

const env = process.env;
const agentUrl = `http://${env.MESOS_AGENT_ENDPOINT}/api/v1/executor`;
const ids = { framework_id: { value: env.MESOS_FRAMEWORK_ID }, executor_id: { value: env.MESOS_EXECUTOR_ID } };

// Never outlive the scenario, whatever happens.
setTimeout(() => {
  console.error('resubscribe-executor: gave up after 120 s');
  process.exit(2);
}, 120_000).unref();

function log(message) {
  console.log(`${new Date().toISOString()} ${message}`);
}

function post(call, signal) {
  return fetch(agentUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ ...ids, ...call }),
    signal,
  });
}

/** 16 bytes of a version 4 UUID, base64 (Mesos' JSON for bytes). */
function uuid() {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64');
}

/** Opens a subscription; calls `onEvent` for each event; resolves the AbortController at once. */
async function subscribe(subscribeCall, onEvent) {
  const abort = new AbortController();
  const response = await post({ type: 'SUBSCRIBE', subscribe: subscribeCall }, abort.signal);
  if (response.status !== 200) throw new Error(`SUBSCRIBE answered ${response.status}: ${await response.text()}`);
  void (async () => {
    let buffer = Buffer.alloc(0);
    try {
      for await (const chunk of response.body) {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          const newline = buffer.indexOf(0x0a);
          if (newline < 0) break;
          const length = Number(buffer.subarray(0, newline).toString('latin1'));
          if (buffer.length < newline + 1 + length) break;
          const record = buffer.subarray(newline + 1, newline + 1 + length);
          buffer = buffer.subarray(newline + 1 + length);
          onEvent(JSON.parse(record.toString('utf8')));
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) log(`subscription failed: ${error}`);
    }
  })();
  return abort;
}

function waitFor(events, predicate, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within 60 s`)), 60_000);
    const check = () => {
      const found = events.find(predicate);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      } else setTimeout(check, 20);
    };
    check();
  });
}

async function update(status) {
  const response = await post({
    type: 'UPDATE',
    update: { status: { ...status, executor_id: ids.executor_id, source: 'SOURCE_EXECUTOR' } },
  });
  if (response.status !== 202) throw new Error(`UPDATE answered ${response.status}: ${await response.text()}`);
}

async function main() {
  const first = [];
  const firstAbort = await subscribe({}, (event) => first.push(event));
  const launch = await waitFor(first, (event) => event.type === 'LAUNCH', 'LAUNCH');
  const task = launch.launch.task;
  log(`launched ${task.task_id.value}; dropping the subscription`);
  firstAbort.abort();
  await new Promise((resolve) => setTimeout(resolve, 500));

  const running = { task_id: task.task_id, state: 'TASK_RUNNING', uuid: uuid(), timestamp: Date.now() / 1000 };
  await update(running);
  log(`sent TASK_RUNNING ${running.uuid} while not subscribed`);

  const second = [];
  const secondAbort = await subscribe(
    {
      unacknowledged_tasks: [task],
      unacknowledged_updates: [{ status: { ...running, executor_id: ids.executor_id, source: 'SOURCE_EXECUTOR' } }],
    },
    (event) => second.push(event),
  );
  await waitFor(
    second,
    (event) => event.type === 'ACKNOWLEDGED' && event.acknowledged.uuid === running.uuid,
    'ACKNOWLEDGED of TASK_RUNNING',
  );
  log('resubscribed; TASK_RUNNING acknowledged');

  const report = {
    runningUuid: running.uuid,
    resubscribed: second.map((event) =>
      event.type === 'ACKNOWLEDGED' ? `ACKNOWLEDGED ${event.acknowledged.uuid}` : event.type,
    ),
  };
  const finished = {
    task_id: task.task_id,
    state: 'TASK_FINISHED',
    uuid: uuid(),
    message: JSON.stringify(report),
    timestamp: Date.now() / 1000,
  };
  await update(finished);
  await waitFor(
    second,
    (event) => event.type === 'ACKNOWLEDGED' && event.acknowledged.uuid === finished.uuid,
    'ACKNOWLEDGED of TASK_FINISHED',
  );
  log('TASK_FINISHED acknowledged; exiting');
  secondAbort.abort();
  process.exit(0);
}

main().catch((error) => {
  console.error(`resubscribe-executor: ${error?.stack ?? error}`);
  process.exit(1);
});
