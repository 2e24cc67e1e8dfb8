import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  EXECUTOR_CALL_CODECS,
  EXECUTOR_EVENT_CODECS,
  type ExecutorCall,
  encodeRecordIo,
  MESOS_CONTENT_TYPES,
  type MesosEncoding,
} from '@spark-mesos/mesos-client';
import type { ExecutorConnection, LocalAgent } from './agent.js';
import { acceptsMediaType, decodeCallBody, HttpProblem, readBody } from './http-support.js';

/**
 * The agent's v1 executor API, `POST /api/v1/executor` (also `/slave(1)/api/v1/executor`):
 * SUBSCRIBE streams RecordIO events; UPDATE, MESSAGE and HEARTBEAT answer 202. The validation
 * order, status codes and texts follow `Http::executor` of a Mesos 1.12 agent
 * (src/slave/http.cpp) and `validateExecutorCall` (src/common/validation.cpp); the recorded
 * traffic is in `__fixtures__/executor_pb`.
 *
 * @see https://mesos.apache.org/documentation/latest/executor-http-api/
 * @module
 */

function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response
    .writeHead(status, {
      ...headers,
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(text)),
    })
    .end(text);
}

// stout's UUID::fromBytes: 16 bytes with a known version (1 to 5) in the high nibble of byte 6.
function isValidUuid(uuid: Uint8Array): boolean {
  const version = (uuid[6] ?? 0) >> 4;
  return uuid.length === 16 && version >= 1 && version <= 5;
}

// Mesos' common::validation::validateExecutorCall.
function validateCall(call: ExecutorCall): void {
  const fail = (message: string): never => {
    throw new HttpProblem(400, `Failed to validate Executor::Call: ${message}`);
  };
  if (call.type === undefined) fail("Expecting 'type' to be present");
  const who = `executor ${call.executor_id.value} of framework ${call.framework_id.value}`;
  if (call.type === 'SUBSCRIBE' && call.subscribe === undefined) fail("Expecting 'subscribe' to be present");
  if (call.type === 'MESSAGE' && call.message === undefined) fail("Expecting 'message' to be present");
  if (call.type === 'UPDATE') {
    const status = call.update?.status;
    if (status === undefined) {
      fail("Expecting 'update' to be present");
      return;
    }
    if (status.uuid === undefined) fail("Expecting 'uuid' to be present");
    if (!isValidUuid(status.uuid as Uint8Array)) fail('Not a valid UUID');
    if (status.executor_id !== undefined && status.executor_id.value !== call.executor_id.value) {
      fail(
        `ExecutorID in Call: ${call.executor_id.value} does not match ExecutorID in TaskStatus: ${status.executor_id.value}`,
      );
    }
    if (status.source !== 'SOURCE_EXECUTOR') {
      fail(`Received Call from ${who} with invalid source, expecting 'SOURCE_EXECUTOR'`);
    }
    if (status.state === 'TASK_STAGING') fail(`Received TASK_STAGING from ${who} which is not allowed`);
  }
}

function subscribe(agent: LocalAgent, call: ExecutorCall, request: IncomingMessage, response: ServerResponse): void {
  const encoding: MesosEncoding = acceptsMediaType(request.headers.accept, MESOS_CONTENT_TYPES.json)
    ? 'json'
    : 'protobuf';
  const codec = EXECUTOR_EVENT_CODECS[encoding];
  // As a Mesos agent: 200, chunked, only Content-Type (no stream id on the executor API).
  response.writeHead(200, { 'Content-Type': MESOS_CONTENT_TYPES[encoding] });
  response.flushHeaders();
  const frameworkId = call.framework_id.value;
  const executorId = call.executor_id.value;
  const connection: ExecutorConnection = {
    send(event) {
      if (!response.writableEnded && !response.destroyed) response.write(encodeRecordIo(codec.encode(event)));
    },
    end() {
      if (!response.writableEnded) response.end();
    },
  };
  response.once('close', () => agent.executorDisconnected(frameworkId, executorId, connection));
  agent.subscribeExecutor(frameworkId, executorId, call.subscribe ?? {}, connection);
}

async function handle(agent: LocalAgent, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'POST') {
    throw new HttpProblem(
      405,
      `405 Method Not Allowed. Expecting one of { 'POST' }, but received '${request.method}'.`,
      { Allow: 'POST' },
    );
  }
  const contentType = request.headers['content-type'];
  if (contentType === undefined) throw new HttpProblem(400, "Expecting 'Content-Type' to be present");
  // Exact match, as Mesos: "application/json; charset=utf-8" is refused.
  const encoding = (Object.keys(MESOS_CONTENT_TYPES) as MesosEncoding[]).find(
    (candidate) => MESOS_CONTENT_TYPES[candidate] === contentType,
  );
  if (encoding === undefined) {
    throw new HttpProblem(415, "Expecting 'Content-Type' of application/json or application/x-protobuf");
  }
  const call = decodeCallBody(EXECUTOR_CALL_CODECS, encoding, await readBody(request));
  validateCall(call);
  if (call.type === 'SUBSCRIBE') {
    const accept = request.headers.accept;
    if (
      !acceptsMediaType(accept, MESOS_CONTENT_TYPES.json) &&
      !acceptsMediaType(accept, MESOS_CONTENT_TYPES.protobuf)
    ) {
      throw new HttpProblem(406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
    }
  } else if (call.type === 'HEARTBEAT') {
    // Answered before any lookup, as Mesos does (its library may send placeholder ids).
    response.writeHead(202, { 'Content-Length': '0' }).end();
    return;
  }
  const lookup = agent.lookupExecutor(call.framework_id.value, call.executor_id.value);
  if (lookup === 'no-framework') throw new HttpProblem(400, 'Framework cannot be found');
  if (lookup === 'no-executor') throw new HttpProblem(400, 'Executor cannot be found');
  if (lookup === 'registering' && call.type !== 'SUBSCRIBE') {
    throw new HttpProblem(403, 'Executor is not subscribed');
  }
  switch (call.type) {
    case 'SUBSCRIBE':
      subscribe(agent, call, request, response);
      return;
    case 'UPDATE': {
      const status = call.update?.status;
      if (status) agent.executorUpdate(call.framework_id.value, call.executor_id.value, status);
      break;
    }
    case 'MESSAGE':
      agent.executorMessage(call.framework_id.value, call.executor_id.value, call.message?.data ?? new Uint8Array());
      break;
    default:
      throw new HttpProblem(501, '');
  }
  response.writeHead(202, { 'Content-Length': '0' }).end();
}

/** Whether `path` (without the query) is the executor API. */
export function isExecutorApiPath(path: string): boolean {
  return path === '/api/v1/executor' || path === '/slave(1)/api/v1/executor';
}

/** Handles one request of the executor API. */
export function handleExecutorApi(agent: LocalAgent, request: IncomingMessage, response: ServerResponse): void {
  handle(agent, request, response).catch((error: unknown) => {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof HttpProblem) sendText(response, error.status, error.text, { ...error.headers });
    else sendText(response, 500, String(error));
  });
}
