import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  encodeRecordIo,
  MESOS_CONTENT_TYPES,
  type MesosEncoding,
  SCHEDULER_CALL_CODECS,
  SCHEDULER_EVENT_CODECS,
  type SchedulerCall,
} from '@spark-mesos/mesos-client';
import type { LocalMaster, Subscription } from './master.js';

/**
 * The master's HTTP endpoints: the v1 scheduler API (`POST /api/v1/scheduler`) with a real
 * 1.12 master's validation order, status codes and texts (see mesos-client's
 * `__fixtures__/flow/README.txt`), and the operator reads `/master/state`, `/master/redirect`,
 * `/health`, `/version`.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @module
 */

// Larger bodies are not calls a scheduler sends; refuse them rather than buffer without bound.
const MAX_BODY_BYTES = 64 * 1024 * 1024;

class HttpProblem {
  constructor(
    readonly status: number,
    readonly text: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response
    .writeHead(status, {
      ...headers,
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(text)),
    })
    .end(text);
}

function sendJson(response: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy(new Error('Request body too large'));
      else chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

/** Whether `accept` (an `Accept` header) allows `mediaType`; no header allows everything. */
export function acceptsMediaType(accept: string | undefined, mediaType: string): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  const [type] = mediaType.split('/');
  return accept.split(',').some((entry) => {
    const [range = '', ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) return false;
    return range === mediaType || range === '*/*' || range === `${type}/*`;
  });
}

function decodeCall(encoding: MesosEncoding, body: Buffer): SchedulerCall {
  if (encoding === 'json') {
    try {
      JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpProblem(400, 'Failed to parse body into JSON: syntax error at line 1 near: ');
    }
    try {
      return SCHEDULER_CALL_CODECS.json.decode(body);
    } catch (error) {
      const message = (error as Error).message;
      const missing = /at field '([^']+)': the required field/.exec(message);
      throw new HttpProblem(
        400,
        `Failed to convert JSON into Call protobuf: ${missing ? `Missing required fields: ${missing[1]}` : message}`,
      );
    }
  }
  try {
    return SCHEDULER_CALL_CODECS.protobuf.decode(body);
  } catch {
    throw new HttpProblem(400, 'Failed to parse body into Call protobuf');
  }
}

// The payload field each call type must carry (Mesos' scheduler::validation).
const PAYLOAD: Partial<Record<NonNullable<SchedulerCall['type']>, keyof SchedulerCall>> = {
  SUBSCRIBE: 'subscribe',
  ACCEPT: 'accept',
  DECLINE: 'decline',
  ACKNOWLEDGE: 'acknowledge',
  KILL: 'kill',
  SHUTDOWN: 'shutdown',
  MESSAGE: 'message',
  REQUEST: 'request',
};

function validateCall(call: SchedulerCall): void {
  const fail = (what: string): never => {
    throw new HttpProblem(400, `Failed to validate scheduler::Call: Expecting '${what}' to be present`);
  };
  const type = call.type;
  if (type === undefined) {
    fail('type');
    return;
  }
  const payload = PAYLOAD[type];
  if (payload !== undefined && call[payload] === undefined) fail(payload);
  if (call.type !== 'SUBSCRIBE' && call.framework_id === undefined) fail('framework_id');
}

function subscribe(master: LocalMaster, call: SchedulerCall, request: IncomingMessage, response: ServerResponse): void {
  if (request.headers['mesos-stream-id'] !== undefined) {
    throw new HttpProblem(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
  }
  // As Mesos: JSON when the client accepts it, else protobuf; the request's Content-Type plays no part.
  const accept = request.headers.accept;
  const encoding: MesosEncoding | undefined = acceptsMediaType(accept, MESOS_CONTENT_TYPES.json)
    ? 'json'
    : acceptsMediaType(accept, MESOS_CONTENT_TYPES.protobuf)
      ? 'protobuf'
      : undefined;
  if (encoding === undefined) {
    throw new HttpProblem(406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
  }
  const codec = SCHEDULER_EVENT_CODECS[encoding];
  const streamId = randomUUID();
  response.writeHead(200, { 'Mesos-Stream-Id': streamId, 'Content-Type': MESOS_CONTENT_TYPES[encoding] });
  response.flushHeaders();
  const subscription: Subscription = {
    streamId,
    send(event) {
      if (!response.writableEnded && !response.destroyed) response.write(encodeRecordIo(codec.encode(event)));
    },
    end() {
      if (!response.writableEnded) response.end();
    },
  };
  const frameworkId = master.subscribe(call.subscribe?.framework_info ?? { user: '', name: '' }, subscription);
  response.once('close', () => master.disconnected(frameworkId, subscription));
}

async function scheduler(master: LocalMaster, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'POST') {
    throw new HttpProblem(
      405,
      `405 Method Not Allowed. Expecting one of { 'POST' }, but received '${request.method}'.`,
      {
        Allow: 'POST',
      },
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
  const call = decodeCall(encoding, await readBody(request));
  validateCall(call);
  if (call.type === 'SUBSCRIBE') {
    subscribe(master, call, request, response);
    return;
  }
  const frameworkId = call.framework_id?.value ?? '';
  const known = master.frameworkStatus(frameworkId);
  if (known.status === 'unknown') throw new HttpProblem(400, 'Framework cannot be found');
  if (known.status === 'disconnected') throw new HttpProblem(403, 'Framework is not subscribed');
  const streamId = request.headers['mesos-stream-id'];
  if (streamId === undefined) {
    throw new HttpProblem(400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
  }
  if (streamId !== known.streamId) {
    throw new HttpProblem(
      400,
      `The stream ID '${streamId}' included in this request didn't match the stream ID currently associated with framework ID ${frameworkId}`,
    );
  }
  master.handleCall(frameworkId, call);
  response.writeHead(202, { 'Content-Length': '0' }).end();
}

/** The request handler of the master's HTTP server. */
export function createMasterHttpHandler(
  master: LocalMaster,
  port: () => number,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const work = async (): Promise<void> => {
      switch (path) {
        case '/api/v1/scheduler':
        case '/master/api/v1/scheduler':
          await scheduler(master, request, response);
          return;
        case '/master/state':
        case '/master/state.json':
        case '/state':
        case '/state.json':
          sendJson(response, master.state());
          return;
        case '/master/redirect':
        case '/redirect':
          response.writeHead(307, { Location: `//127.0.0.1:${port()}`, 'Content-Length': '0' }).end();
          return;
        case '/health':
        case '/master/health':
          response.writeHead(200, { 'Content-Length': '0' }).end();
          return;
        case '/metrics/snapshot':
          sendJson(response, master.metrics());
          return;
        case '/version':
          sendJson(response, { build_date: '', build_time: 0, build_user: '', version: '1.12.0' });
          return;
        default:
          sendText(response, 404, '');
      }
    };
    work().catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof HttpProblem) sendText(response, error.status, error.text, { ...error.headers });
      else sendText(response, 500, String(error));
    });
  };
}
