import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  encodeRecordIo,
  type FrameworkInfo,
  MESOS_CONTENT_TYPES,
  type MesosEncoding,
  SCHEDULER_CALL_CODECS,
  SCHEDULER_EVENT_CODECS,
  type SchedulerCall,
} from '@spark-mesos/mesos-client';
import { acceptsMediaType, decodeCallBody, HttpProblem, readBody } from './http-support.js';
import type { LocalMaster, Subscription } from './master.js';

/**
 * The master's HTTP endpoints: the v1 scheduler API (`POST /api/v1/scheduler`) with a real
 * 1.12 master's validation order, status codes, texts and header order (see
 * `__fixtures__/flow/README.txt`), basic framework authentication, leader redirects, and the
 * operator reads `/master/state`, `/master/redirect`, `/health`, `/version`.
 *
 * One handler serves one master front-end (one HTTP port). Several fronts may share one
 * {@link LocalMaster}: only the leading one serves, the others redirect to it as a non-leading
 * Mesos master does.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @see https://mesos.apache.org/documentation/latest/authentication/
 * @see https://mesos.apache.org/documentation/latest/high-availability/
 * @module
 */

/** A framework principal and its secret, as in Mesos' `--credentials` file. */
export interface FrameworkCredential {
  /** The principal, e.g. `spark`. */
  readonly principal: string;
  /** Its secret (the basic-auth password). */
  readonly secret: string;
}

/** Where the leading master is reached. */
export interface LeaderAddress {
  /** Host name of the leader, as in its `MasterInfo.hostname`. */
  readonly hostname: string;
  /** Port of the leader. */
  readonly port: number;
}

/** Options of {@link createMasterHttpHandler}. */
export interface MasterHttpOptions {
  /** The port this front-end listens on. */
  readonly port: () => number;
  /**
   * Who leads: `'self'` when this front-end does, the leader's address when another one does,
   * `undefined` while no leader is elected (answers 503 "No leader elected"). @default () => 'self'
   */
  readonly leader?: () => 'self' | LeaderAddress | undefined;
  /**
   * Principals and secrets allowed on the scheduler API (Mesos' `--authenticate_http_frameworks`
   * with the `basic` authenticator). @default undefined (no authentication)
   */
  readonly credentials?: readonly FrameworkCredential[];
  /**
   * When it returns true, a scheduler stream that closes is not reported to the master: this
   * front-end is going away as a dying master does, and the new leader ends the streams.
   * @default () => false
   */
  readonly detached?: () => boolean;
}

/** The realm of the scheduler API's basic authentication, as Mesos names it. */
export const SCHEDULER_AUTHENTICATION_REALM = 'mesos-master-scheduler';

/**
 * Writes the status line and headers as libprocess does: `Date` first, then the given headers
 * in order, and no `Connection`/`Keep-Alive` headers (the connection still stays open).
 */
function writeHead(response: ServerResponse, status: number, headers: Readonly<Record<string, string>>): void {
  response.sendDate = false;
  // Node then leaves out its own `Connection: keep-alive` and `Keep-Alive` lines, as libprocess never sends them.
  response.removeHeader('Connection');
  response.writeHead(status, { Date: new Date().toUTCString(), ...headers });
}

function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  writeHead(response, status, {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

function sendEmpty(response: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  writeHead(response, status, { ...headers, 'Content-Length': '0' });
  response.end();
}

/** A JSON answer as libprocess writes it; with `?jsonp=cb`, wrapped as `cb(…);` JavaScript. */
function sendJson(request: IncomingMessage, response: ServerResponse, value: unknown): void {
  const jsonp = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('jsonp');
  const json = JSON.stringify(value);
  const body = jsonp === null ? json : `${jsonp}(${json});`;
  writeHead(response, 200, {
    'Content-Length': String(Buffer.byteLength(body)),
    'Content-Type': jsonp === null ? 'application/json' : 'text/javascript',
  });
  response.end(body);
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
  RECONCILE: 'reconcile',
  ACCEPT_INVERSE_OFFERS: 'accept_inverse_offers',
  DECLINE_INVERSE_OFFERS: 'decline_inverse_offers',
  ACKNOWLEDGE_OPERATION_STATUS: 'acknowledge_operation_status',
  RECONCILE_OPERATIONS: 'reconcile_operations',
  UPDATE_FRAMEWORK: 'update_framework',
};

function validateCall(call: SchedulerCall, principal: string | undefined): void {
  const fail = (message: string): never => {
    throw new HttpProblem(400, `Failed to validate scheduler::Call: ${message}`);
  };
  const type = call.type;
  if (type === undefined) {
    fail("Expecting 'type' to be present");
    return;
  }
  const payload = PAYLOAD[type];
  const needsPayload = (): void => {
    if (payload !== undefined && call[payload] === undefined) fail(`Expecting '${payload}' to be present`);
  };
  if (type === 'SUBSCRIBE') {
    needsPayload();
    const info = call.subscribe?.framework_info;
    // Mesos compares the two optional ids as messages: both absent, or both with the same value.
    if (info?.id?.value !== call.framework_id?.value) {
      fail("'framework_id' differs from 'subscribe.framework_info.id'");
    }
    if (principal !== undefined && info?.principal !== undefined && info.principal !== principal) {
      fail(mismatchedPrincipal(principal, info.principal));
    }
    return;
  }
  // Every other call names its framework first, then its payload.
  if (call.framework_id === undefined) fail("Expecting 'framework_id' to be present");
  needsPayload();
  if (type === 'UPDATE_FRAMEWORK' && call.update_framework?.framework_info.id?.value !== call.framework_id?.value) {
    fail("'framework_id' differs from 'update_framework.framework_info.id'");
  }
  const uuid = call.acknowledge?.uuid ?? call.acknowledge_operation_status?.uuid;
  if ((type === 'ACKNOWLEDGE' || type === 'ACKNOWLEDGE_OPERATION_STATUS') && !isUuid(uuid)) fail('Not a valid UUID');
  if (type === 'ACKNOWLEDGE_OPERATION_STATUS' && call.acknowledge_operation_status?.agent_id === undefined) {
    fail("Expecting 'agent_id' to be present");
  }
}

/** Whether `bytes` is a UUID as stout's `UUID::fromBytes` takes one: 16 bytes of version 1 to 5. */
function isUuid(bytes: Uint8Array | undefined): boolean {
  if (bytes === undefined || bytes.length !== 16) return false;
  const version = (bytes[6] ?? 0) >> 4;
  return version >= 1 && version <= 5;
}

/**
 * Mesos' validateUpdate of an UPDATE_FRAMEWORK: principal, user and checkpoint cannot change.
 * Returns the problem, if any.
 */
function updateProblem(current: FrameworkInfo, update: FrameworkInfo): string | undefined {
  if (current.principal !== update.principal) return "Changing framework's principal is not allowed.";
  if (current.user !== update.user) {
    return `Updating 'FrameworkInfo.user' is unsupported; attempted to update from '${current.user}' to '${update.user}'`;
  }
  if ((current.checkpoint ?? false) !== (update.checkpoint ?? false)) {
    return `Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '${current.checkpoint ?? false}' to '${update.checkpoint ?? false}'`;
  }
  return undefined;
}

function mismatchedPrincipal(authenticated: string, declared: string): string {
  return `Authenticated principal '${authenticated}' does not match principal '${declared}' set in \`FrameworkInfo\``;
}

/**
 * The principal a request authenticates as, checked like libprocess' basic authenticator:
 * `Authorization: Basic base64(principal:secret)` naming a known principal with its secret.
 * Anything else is a 401 with the realm's challenge and libprocess' body.
 */
function authenticate(request: IncomingMessage, credentials: readonly FrameworkCredential[]): string {
  const refuse = (): never => {
    throw new HttpProblem(401, '401 Unauthorized.', {
      'WWW-Authenticate': `Basic realm="${SCHEDULER_AUTHENTICATION_REALM}"`,
    });
  };
  const parts = (request.headers.authorization ?? '').split(' ');
  if (parts.length !== 2 || parts[0] !== 'Basic') return refuse();
  // libprocess splits the decoded text on every ':', so a principal or secret with one is refused.
  const pair = Buffer.from(parts[1] ?? '', 'base64')
    .toString('utf8')
    .split(':');
  if (pair.length !== 2) return refuse();
  const [principal = '', secret = ''] = pair;
  const known = credentials.find((credential) => credential.principal === principal);
  if (known === undefined) return refuse();
  const expected = Buffer.from(known.secret, 'utf8');
  const given = Buffer.from(secret, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return refuse();
  return principal;
}

function subscribe(
  master: LocalMaster,
  call: SchedulerCall,
  principal: string | undefined,
  request: IncomingMessage,
  response: ServerResponse,
  masterPort: number,
  detached: () => boolean,
): void {
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
  if (request.headers['mesos-stream-id'] !== undefined) {
    throw new HttpProblem(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
  }
  const codec = SCHEDULER_EVENT_CODECS[encoding];
  const streamId = randomUUID();
  writeHead(response, 200, {
    'Transfer-Encoding': 'chunked',
    'Mesos-Stream-Id': streamId,
    'Content-Type': MESOS_CONTENT_TYPES[encoding],
  });
  response.flushHeaders();
  const subscription: Subscription = {
    streamId,
    masterPort,
    send(event) {
      if (!response.writableEnded && !response.destroyed) response.write(encodeRecordIo(codec.encode(event)));
    },
    end() {
      if (!response.writableEnded) response.end();
    },
    abort() {
      response.destroy();
    },
  };
  const info = call.subscribe?.framework_info ?? { user: '', name: '' };
  // An authenticated framework that names no principal gets the authenticated one, as in Mesos.
  const frameworkInfo = principal !== undefined && info.principal === undefined ? { ...info, principal } : info;
  const suppressedRoles = call.subscribe?.suppressed_roles ?? [];
  const frameworkId = master.subscribe(
    frameworkInfo,
    subscription,
    suppressedRoles.length > 0 ? { suppressedRoles } : {},
  );
  response.once('close', () => {
    if (!detached()) master.disconnected(frameworkId, subscription);
  });
}

async function scheduler(
  master: LocalMaster,
  options: MasterHttpOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  // libprocess authenticates before the endpoint's handler runs: even a redirect needs credentials.
  const principal = options.credentials === undefined ? undefined : authenticate(request, options.credentials);
  if (redirectToLeader(options, request, response)) return;
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
  const call = decodeCallBody(SCHEDULER_CALL_CODECS, encoding, await readBody(request));
  validateCall(call, principal);
  if (call.type === 'SUBSCRIBE') {
    subscribe(master, call, principal, request, response, options.port(), options.detached ?? (() => false));
    return;
  }
  const frameworkId = call.framework_id?.value ?? '';
  const known = master.frameworkStatus(frameworkId);
  if (known.status === 'unknown') throw new HttpProblem(400, 'Framework cannot be found');
  if (principal !== undefined && principal !== known.principal) {
    throw new HttpProblem(400, mismatchedPrincipal(principal, known.principal ?? ''));
  }
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
  if (call.type === 'UPDATE_FRAMEWORK' && known.info !== undefined && call.update_framework !== undefined) {
    const problem = updateProblem(known.info, call.update_framework.framework_info);
    if (problem !== undefined) throw new HttpProblem(400, `FrameworkInfo update is not valid: ${problem}`);
  }
  master.handleCall(frameworkId, call);
  // UPDATE_FRAMEWORK is answered 200 (Mesos' Master::updateFramework), every other call 202.
  sendEmpty(response, call.type === 'UPDATE_FRAMEWORK' ? 200 : 202);
}

/**
 * Answers for a master that does not lead, as Mesos' `Master::Http::redirect`: 503 "No leader
 * elected" while there is none, else 307 to the same path (with `/master` in front, as libprocess
 * routes it) and query on the leader, protocol-relative. Returns whether it answered.
 */
function redirectToLeader(options: MasterHttpOptions, request: IncomingMessage, response: ServerResponse): boolean {
  const leader = (options.leader ?? (() => 'self'))();
  if (leader === 'self') return false;
  if (leader === undefined) throw new HttpProblem(503, 'No leader elected');
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const path = url.pathname.startsWith('/master/') ? url.pathname : `/master${url.pathname}`;
  sendEmpty(response, 307, { Location: `//${leader.hostname}:${leader.port}${path}${url.search}` });
  return true;
}

/** `/master/redirect`: 307 to the leader's base URL (itself when it leads), 503 without a leader. */
function redirect(options: MasterHttpOptions, response: ServerResponse): void {
  const leader = (options.leader ?? (() => 'self'))();
  if (leader === undefined) throw new HttpProblem(503, 'No leader elected');
  const address = leader === 'self' ? { hostname: '127.0.0.1', port: options.port() } : leader;
  sendEmpty(response, 307, { Location: `//${address.hostname}:${address.port}` });
}

/** The request handler of one master front-end's HTTP server. */
export function createMasterHttpHandler(
  master: LocalMaster,
  options: MasterHttpOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const work = async (): Promise<void> => {
      switch (path) {
        case '/api/v1/scheduler':
        case '/master/api/v1/scheduler':
          await scheduler(master, options, request, response);
          return;
        case '/master/state':
        case '/master/state.json':
        case '/state':
        case '/state.json':
          if (!redirectToLeader(options, request, response)) sendJson(request, response, master.state());
          return;
        case '/master/redirect':
        case '/redirect':
          redirect(options, response);
          return;
        case '/health':
        case '/master/health':
          sendEmpty(response, 200);
          return;
        case '/metrics/snapshot':
          sendJson(request, response, master.metrics());
          return;
        case '/version':
          sendJson(request, response, { build_date: '', build_time: 0, build_user: '', version: '1.12.0' });
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
