#!/usr/bin/env node
// A stand-in for Mesos' example executor `test-http-executor` (src/examples/test_http_executor.cpp),
// which the recorded test-http-framework run launched from /usr/local/libexec/mesos-examples (not
// installed here). It does what that one does: SUBSCRIBE to the agent's v1 executor API, and for
// each LAUNCH send TASK_RUNNING then TASK_FINISHED (SOURCE_EXECUTOR, a fresh uuid each); it exits
// on SHUTDOWN or when the agent ends the stream. JSON over Node 20's fetch, no dependencies.
//
// @see https://mesos.apache.org/documentation/latest/executor-http-api/
import { randomUUID } from 'node:crypto';

const env = process.env;
const agentUrl = `http://${env.MESOS_AGENT_ENDPOINT}/api/v1/executor`;
const ids = { framework_id: { value: env.MESOS_FRAMEWORK_ID }, executor_id: { value: env.MESOS_EXECUTOR_ID } };

// Never outlive the test that started it.
setTimeout(() => process.exit(2), 60_000).unref();

function post(call) {
  return fetch(agentUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ ...ids, ...call }),
  });
}

async function update(task, state) {
  const uuid = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64');
  const status = { task_id: task.task_id, executor_id: ids.executor_id, state, source: 'SOURCE_EXECUTOR', uuid };
  const answer = await post({ type: 'UPDATE', update: { status } });
  if (answer.status !== 202) console.error(`UPDATE ${state}: ${answer.status} ${await answer.text()}`);
}

const response = await post({ type: 'SUBSCRIBE', subscribe: {} });
if (response.status !== 200 || response.body === null) {
  console.error(`SUBSCRIBE: ${response.status} ${await response.text()}`);
  process.exit(1);
}
let buffer = Buffer.alloc(0);
for await (const chunk of response.body) {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const newline = buffer.indexOf(0x0a);
    if (newline < 0) break;
    const length = Number(buffer.subarray(0, newline).toString('latin1'));
    if (buffer.length < newline + 1 + length) break;
    const event = JSON.parse(buffer.subarray(newline + 1, newline + 1 + length).toString('utf8'));
    buffer = buffer.subarray(newline + 1 + length);
    if (event.type === 'LAUNCH') {
      console.log(`Starting task ${event.launch.task.task_id.value}`);
      await update(event.launch.task, 'TASK_RUNNING');
      console.log(`Finishing task ${event.launch.task.task_id.value}`);
      await update(event.launch.task, 'TASK_FINISHED');
    } else if (event.type === 'SHUTDOWN') {
      process.exit(0);
    }
  }
}
process.exit(0);
