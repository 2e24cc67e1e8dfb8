import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';
import {
  createMasterDetector,
  defaultLogger,
  type Logger,
  type MasterAddress,
  type MasterDetector,
  parseMasterUrl,
} from '@spark-mesos/master-url';
import { Agent, type Dispatcher } from 'undici';
import { type BackoffOptions, createBackoff } from './backoff.js';
import { MESOS_CONTENT_TYPES, type MesosEncoding, SCHEDULER_CALL_CODECS, SCHEDULER_EVENT_CODECS } from './codec.js';
import type {
  FrameworkInfo,
  SchedulerCall,
  SchedulerCallAccept,
  SchedulerCallAcceptInverseOffers,
  SchedulerCallAcknowledge,
  SchedulerCallAcknowledgeOperationStatus,
  SchedulerCallDecline,
  SchedulerCallDeclineInverseOffers,
  SchedulerCallKill,
  SchedulerCallMessage,
  SchedulerCallReconcile,
  SchedulerCallReconcileOperations,
  SchedulerCallReconcileTask,
  SchedulerCallRequest,
  SchedulerCallRevive,
  SchedulerCallShutdown,
  SchedulerCallSuppress,
  SchedulerCallUpdateFramework,
  SchedulerEvent,
  SchedulerEventType,
} from './generated/mesos-types.js';
import { createHeartbeatWatchdog, type HeartbeatWatchdog } from './heartbeat-watchdog.js';
import { type MesosAuthorization, type MesosEventStream, openMesosStream, sendMesosCall } from './mesos-http.js';
import { isRetryable, isSubscriptionLost } from './mesos-http-error.js';
import type { MesosStreamTlsOptions } from './mesos-stream-socket.js';
import { createReconciler, type Reconciler } from './reconciliation.js';
import {
  createAcknowledgementTracker,
  operationAcknowledgementKey,
  taskAcknowledgementKey,
} from './scheduler-acknowledgements.js';
import {
  buildSchedulerCall,
  buildSubscribeCall,
  type SchedulerCallPayload,
  type SchedulerCallWithPayload,
} from './scheduler-calls.js';
import { EventBuffer, EventDelivery } from './scheduler-event-queue.js';
import {
  type ReferenceableTimers,
  referenceableTimers,
  type SchedulerTimers,
  SYSTEM_TIMERS,
  sleep,
} from './scheduler-timers.js';

/**
 * The scheduler client: subscribes a framework to a Mesos master over the v1 HTTP API, keeps the
 * subscription alive (heartbeat watchdog, re-subscription with backoff, leader changes),
 * acknowledges status updates, reconciles after each subscription, and sends calls.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @see https://mesos.apache.org/documentation/latest/high-availability-framework-guide/
 * @module
 */

/**
 * Codes of the errors the scheduler client adds to those of `mesos-http-error`
 * (`SM_ERR_MESOS_*`, `SM_ERR_NOT_LEADER`).
 */
export type SchedulerClientErrorCode =
  /** Mesos sent an ERROR event ("Framework failed over", "Framework has been removed"): the client ended. */
  | 'SM_ERR_FRAMEWORK_ERROR'
  /** The client was closed (or had ended) when it was used. */
  | 'SM_ERR_CLOSED'
  /** A call was made while there is no subscription (before SUBSCRIBED or while re-subscribing). */
  | 'SM_ERR_SCHEDULER_NOT_SUBSCRIBED'
  /** No event (not even a HEARTBEAT) arrived for `heartbeatMissLimit` heartbeat intervals. */
  | 'SM_ERR_HEARTBEAT_TIMEOUT'
  /** The event stream ended without an ERROR event or a TEARDOWN from us (master gone). */
  | 'SM_ERR_SUBSCRIPTION_ENDED'
  /** The master detector reported another leader (or none). */
  | 'SM_ERR_LEADER_CHANGED'
  /** An option is invalid. */
  | 'SM_ERR_BAD_CONFIG';

/** TLS settings of the connections the client creates. */
export interface SchedulerTlsOptions {
  /** Trusted CA certificates (PEM). @default Node's bundled CAs */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Client certificate (PEM), for masters requiring mutual TLS. @default undefined */
  readonly cert?: string | Buffer;
  /** Private key of `cert` (PEM). @default undefined */
  readonly key?: string | Buffer;
  /** Verify the master's certificate. @default true */
  readonly rejectUnauthorized?: boolean;
}

/** A task the framework believes is non-terminal, for explicit reconciliation. */
export type KnownTask = SchedulerCallReconcileTask;

/** Reconciliation settings. */
export interface SchedulerReconcileOptions {
  /** Reconcile after every SUBSCRIBED. @default true */
  readonly enabled?: boolean;
  /**
   * The framework's non-terminal tasks (read after each SUBSCRIBED): reconciled explicitly first.
   * @default () => [] (implicit reconciliation only)
   */
  readonly knownTasks?: () => readonly KnownTask[];
  /** Delays between repeated explicit requests. @default { initialMs: 1000, maxMs: 30000 } */
  readonly backoff?: BackoffOptions;
}

/** Options of {@link createSchedulerClient}. */
export interface SchedulerClientOptions {
  /**
   * The master: a {@link MasterDetector} (followed through leader changes; not closed by the
   * client), or a URL: `mesos://host:5050`, `mesos+https://host:5050`, `mesos://zk://…/mesos`
   * (a detector the client creates and closes), or `http(s)://host:5050` (path
   * `/api/v1/scheduler` unless another is given).
   */
  readonly master: MasterDetector | string;
  /**
   * The framework. `user` and `name` are required by Mesos. Its `id` is filled in from
   * SUBSCRIBED and reused on every re-subscription; set it to re-attach to a running framework
   * (within its `failover_timeout`).
   */
  readonly frameworkInfo: FrameworkInfo;
  /** Encoding of calls and events. @default 'protobuf' */
  readonly encoding?: MesosEncoding;
  /**
   * The undici dispatcher of the calls, and of the SUBSCRIBE stream too unless
   * {@link SchedulerClientOptions.streamDispatcher} is given (proxies, custom TLS, a `MockAgent`).
   * Not closed by the client.
   *
   * The stream holds its connection for as long as the subscription lives, and calls must go
   * on another one (Mesos' C++ scheduler library also uses two connections). One dispatcher for
   * both must therefore be able to open a second connection to the master: undici's `Agent`,
   * `Pool` and `ProxyAgent` with their default (unlimited) `connections` can. One that cannot —
   * a `Client`, or an `Agent`/`Pool` with `connections: 1` — would leave every call waiting
   * behind the stream until its timeout: pass a `streamDispatcher` with it. The client refuses
   * such a dispatcher alone (`SM_ERR_BAD_CONFIG`) where it can tell: undici's own classes.
   *
   * @default an undici Agent created (and closed) by the client, with the `tls` settings
   */
  readonly dispatcher?: Dispatcher;
  /**
   * The undici dispatcher of the SUBSCRIBE stream alone, so that the stream and the calls never
   * share a connection whatever the dispatchers' connection limits: e.g. two `Agent`s with
   * `connections: 1`. Not closed by the client.
   *
   * @default `dispatcher` when given, else no dispatcher: the client reads the stream from a
   *   `node:net`/`node:tls` socket of its own, with the `tls` settings (cheaper per event than
   *   undici's body stream; see `openMesosStream`'s `direct`)
   */
  readonly streamDispatcher?: Dispatcher;
  /** Framework credentials (HTTP Basic; the secret is never logged). @default undefined */
  readonly auth?: { readonly principal: string; readonly secret: string };
  /** TLS settings, used only for the dispatchers the client creates (not for those passed in). @default undefined */
  readonly tls?: SchedulerTlsOptions;
  /** Timeouts, in milliseconds. */
  readonly timeouts?: {
    /** Wait for the answer of a call (and for the head of the SUBSCRIBE answer). @default 30000 */
    readonly callMs?: number;
  };
  /**
   * How many heartbeat intervals (`heartbeat_interval_seconds` of SUBSCRIBED, 15 s in Mesos 1.x)
   * may pass without ANY event before the stream is declared dead and the client re-subscribes.
   * @default 5
   */
  readonly heartbeatMissLimit?: number;
  /** Re-subscription backoff. @default { initialMs: 500, maxMs: 15000, jitter: 0.5 } */
  readonly backoff?: BackoffOptions;
  /**
   * Acknowledge task (and operation) status updates that carry a `uuid`, once handled (see
   * {@link SchedulerClient.events}). Set `false` to call {@link SchedulerClient.acknowledge}
   * yourself. @default true
   */
  readonly autoAcknowledge?: boolean;
  /** Reconciliation after each SUBSCRIBED. @default { enabled: true } */
  readonly reconcile?: SchedulerReconcileOptions;
  /** Events buffered per {@link SchedulerClient.events} iterator before reading pauses. @default 256 */
  readonly eventBufferSize?: number;
  /** Redirects (307 from a non-leading master) followed per request. @default 3 */
  readonly maxRedirects?: number;
  /**
   * How many times a call (any call but SUBSCRIBE, which re-subscribes by itself) is sent again
   * after an answer that says Mesos did NOT process it: 503 (no leader elected yet, master
   * recovering) and 429 (rate-limited; its `Retry-After` is honoured when given). Each wait
   * follows the client's jittered {@link SchedulerClientOptions.backoff}, restarted per call;
   * retries stop when the next one would end past `timeouts.callMs` from the first attempt, or at
   * {@link SchedulerClient.close}, and the call then rejects with the last error
   * (`SM_ERR_MESOS_UNAVAILABLE`, `SM_ERR_MESOS_TOO_MANY_REQUESTS`). `0` disables retries.
   *
   * Never retried: network errors (`SM_ERR_MESOS_NETWORK`: refused, reset, timed out) and 5xx
   * answers other than 503 (`SM_ERR_MESOS_SERVER`). The call may have reached the master and been
   * processed, and most calls are not idempotent (an ACCEPT with LAUNCH operations sent twice may
   * launch twice or be refused for a used offer): the caller decides, e.g. by reconciling. A 307
   * is not a retry: it is followed to the leader (see `maxRedirects`).
   * @default 3
   */
  readonly callRetries?: number;
  /** Where the client reports what it does. @default warnings to console.warn, the rest dropped */
  readonly logger?: Logger;
  /** The clock (tests inject scaled-down timers). @default Node's timers */
  readonly timers?: SchedulerTimers;
}

/** An event of type `T`, with its payload field present. */
export type SchedulerEventOf<T extends SchedulerEventType> = SchedulerEvent & {
  readonly type: T;
} & (T extends keyof PayloadFields ? Required<Pick<SchedulerEvent, PayloadFields[T]>> : unknown);

interface PayloadFields {
  SUBSCRIBED: 'subscribed';
  OFFERS: 'offers';
  RESCIND: 'rescind';
  UPDATE: 'update';
  MESSAGE: 'message';
  FAILURE: 'failure';
  ERROR: 'error';
  INVERSE_OFFERS: 'inverse_offers';
  RESCIND_INVERSE_OFFER: 'rescind_inverse_offer';
  UPDATE_OPERATION_STATUS: 'update_operation_status';
}

/** A listener of events; a returned promise is awaited (and slows the stream down meanwhile). */
export type SchedulerEventListener<E> = (event: E) => void | Promise<void>;

/** Where the client is. */
export type SchedulerClientState = 'idle' | 'connecting' | 'subscribed' | 'closed' | 'failed';

/** A scheduler client; see {@link createSchedulerClient}. */
export interface SchedulerClient {
  /** Framework id: given in `frameworkInfo.id`, else known after the first SUBSCRIBED. */
  readonly frameworkId: string | undefined;
  /** `Mesos-Stream-Id` of the current subscription, `undefined` while not subscribed. */
  readonly streamId: string | undefined;
  /** URL of the master of the current (or last) subscription, after redirects. */
  readonly leaderUrl: string | undefined;
  /** Where the client is. */
  readonly state: SchedulerClientState;
  /** The error that ended the client, if one did. */
  readonly error: SparkMesosError | undefined;

  /**
   * Subscribes (once; later calls return the same promise). Resolves at the first SUBSCRIBED;
   * rejects with the error that ended the client before that (401, 400, ERROR event, close()).
   */
  start(): Promise<void>;
  /** Same as {@link SchedulerClient.start}. */
  subscribe(): Promise<void>;
  /**
   * Stops for good: closes the event stream, ends iterators (`done`, buffered events dropped and
   * not acknowledged), stops timers, closes the connections and detector it created. Sends
   * nothing to Mesos (the framework stays registered until its `failover_timeout`; use
   * {@link SchedulerClient.teardown} to remove it). Idempotent.
   */
  close(): Promise<void>;

  /**
   * The events, from now on, as an async iterator; starts the client if needed. Several
   * iterators may be open; each gets every event.
   *
   * Back-pressure: each iterator buffers at most `eventBufferSize` events. When one is full the
   * client stops reading the stream (the socket's TCP window fills and Mesos buffers on its
   * side) and pauses the heartbeat watchdog (that silence is ours, not the master's) until the
   * consumer catches up. A consumer that stays stuck for long enough may be disconnected by Mesos.
   *
   * A status update is acknowledged (when `autoAcknowledge`) once handled: the iterator was
   * asked for the next event (or closed) after yielding it, and every listener returned. Events
   * still buffered when an iterator is closed are not acknowledged (Mesos re-sends them).
   *
   * The iterator ends (`done`) after {@link SchedulerClient.close} or TEARDOWN, and throws the
   * error that ended the client (e.g. `SM_ERR_FRAMEWORK_ERROR`) after the events before it.
   */
  events(): AsyncIterableIterator<SchedulerEvent>;
  /** Calls `listener` with each event of `type`. Returns a function that removes it. */
  on<T extends SchedulerEventType>(type: T, listener: SchedulerEventListener<SchedulerEventOf<T>>): () => void;
  /** Calls `listener` with every event. */
  on(type: 'event', listener: SchedulerEventListener<SchedulerEvent>): () => void;
  /** Calls `listener` with the error that ends the client (ERROR event, 401, …). */
  on(type: 'error', listener: (error: SparkMesosError) => void): () => void;

  /** ACCEPT: use offers for operations (see `launchOperation`, `filters`…). */
  accept(accept: SchedulerCallAccept): Promise<void>;
  /** DECLINE offers. */
  decline(decline: SchedulerCallDecline): Promise<void>;
  /** REVIVE: remove filters, ask for offers again (all roles, or `roles`). */
  revive(revive?: SchedulerCallRevive): Promise<void>;
  /** SUPPRESS: stop receiving offers (all roles, or `roles`). */
  suppress(suppress?: SchedulerCallSuppress): Promise<void>;
  /** KILL a task. */
  kill(kill: SchedulerCallKill): Promise<void>;
  /** SHUTDOWN an executor. */
  shutdown(shutdown: SchedulerCallShutdown): Promise<void>;
  /** ACKNOWLEDGE a status update (manual mode; `uuid` as received). */
  acknowledge(acknowledge: SchedulerCallAcknowledge): Promise<void>;
  /** ACKNOWLEDGE_OPERATION_STATUS. */
  acknowledgeOperationStatus(acknowledge: SchedulerCallAcknowledgeOperationStatus): Promise<void>;
  /** RECONCILE tasks (an empty or absent list: implicit reconciliation of all tasks). */
  reconcile(reconcile?: SchedulerCallReconcile): Promise<void>;
  /** RECONCILE_OPERATIONS. */
  reconcileOperations(reconcile?: SchedulerCallReconcileOperations): Promise<void>;
  /** MESSAGE to an executor. */
  message(message: SchedulerCallMessage): Promise<void>;
  /** REQUEST resources (not implemented by Mesos' built-in allocator). */
  request(request: SchedulerCallRequest): Promise<void>;
  /** TEARDOWN: remove the framework, kill its tasks; the client then ends (`done`). */
  teardown(): Promise<void>;
  /** ACCEPT_INVERSE_OFFERS (maintenance). */
  acceptInverseOffers(accept: SchedulerCallAcceptInverseOffers): Promise<void>;
  /** DECLINE_INVERSE_OFFERS (maintenance). */
  declineInverseOffers(decline: SchedulerCallDeclineInverseOffers): Promise<void>;
  /**
   * UPDATE_FRAMEWORK: change the framework's info (`id` is filled in); later re-subscriptions
   * use the new info.
   */
  updateFramework(update: SchedulerCallUpdateFramework): Promise<void>;

  /**
   * Lets the client keep the Node process alive again (the default), after
   * {@link SchedulerClient.unref}.
   */
  ref(): void;
  /**
   * Stops the client from keeping the Node process alive, as `socket.unref()`: its event
   * stream's own socket and its timers (heartbeat watchdog, backoff, reconciliation) no longer
   * count. Events are still received and handled while something else keeps the process
   * running; calls in flight still count (undici holds their sockets while they run). For a
   * driver with no work under way, so that a program ends when its own work does. The ZooKeeper
   * connection of a detector the client made from a `mesos://zk://…` URL is unref'd too (a
   * detector passed in is the caller's). A stream carried by a user-given dispatcher is not
   * affected.
   */
  unref(): void;
}

const DEFAULT_CALL_TIMEOUT_MS = 30_000;
const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 15;
const DEFAULT_EVENT_BUFFER_SIZE = 256;
const DEFAULT_MAX_REDIRECTS = 3;
const DEFAULT_CALL_RETRIES = 3;
const SCHEDULER_PATH = '/api/v1/scheduler';

// Errors after which subscribing again may work. Anything else (400, 401, 403, 404, 405, 406,
// 415, an encoding error of our own call) would fail the same way: it ends the client.
const RESUBSCRIBABLE_CODES: ReadonlySet<string> = new Set([
  'SM_ERR_HEARTBEAT_TIMEOUT',
  'SM_ERR_SUBSCRIPTION_ENDED',
  'SM_ERR_LEADER_CHANGED',
  'SM_ERR_RECORDIO_BAD_LENGTH',
  'SM_ERR_RECORDIO_TOO_LARGE',
  'SM_ERR_RECORDIO_TRUNCATED',
  'SM_ERR_MESOS_DECODE',
  'SM_ERR_NO_LEADER',
]);

function canResubscribe(error: unknown): boolean {
  if (isRetryable(error) || isSubscriptionLost(error)) return true;
  return isSparkMesosError(error) && RESUBSCRIBABLE_CODES.has(error.code);
}

/** Waits for `promise`, or less when one of `signals` aborts (listeners removed either way). */
async function untilAborted(promise: Promise<unknown>, signals: ReadonlyArray<AbortSignal | undefined>): Promise<void> {
  let stop: () => void = () => {};
  const aborted = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const live = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  if (live.some((signal) => signal.aborted)) return;
  for (const signal of live) signal.addEventListener('abort', stop, { once: true });
  try {
    await Promise.race([promise, aborted]);
  } finally {
    for (const signal of live) signal.removeEventListener('abort', stop);
  }
}

function badConfig(message: string, key: string, value: unknown): SparkMesosError {
  return new SparkMesosError('SM_ERR_BAD_CONFIG', message, { cause: { key, value }, details: { key } });
}

function schedulerUrlOf(address: MasterAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${address.scheme}://${host}:${address.port}${SCHEDULER_PATH}`;
}

/** A URL master: `http(s)://…` as given, others through parseMasterUrl + createMasterDetector. */
function resolveMaster(
  master: MasterDetector | string,
  logger: Logger,
): { detector?: MasterDetector; ownDetector: boolean; fixedUrl?: string } {
  if (typeof master !== 'string') return { detector: master, ownDetector: false };
  const text = master.trim();
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch (cause) {
      throw new SparkMesosError(
        'SM_ERR_BAD_MASTER_URL',
        `Invalid master URL: ${JSON.stringify(text.replace(/\/\/[^@/]*@/, '//****@'))} is not a URL. Use http://host:5050, mesos://host:5050 or mesos://zk://host:2181/mesos.`,
        { cause },
      );
    }
    if (url.pathname === '/' || url.pathname === '') url.pathname = SCHEDULER_PATH;
    return { fixedUrl: url.href, ownDetector: false };
  }
  const parsed = parseMasterUrl(text);
  if (parsed.kind !== 'mesos') {
    throw badConfig(
      `The scheduler client needs a Mesos master (mesos://host:5050, mesos://zk://host:2181/mesos, http://host:5050), not a ${parsed.kind} master URL.`,
      'master',
      parsed.kind,
    );
  }
  return { detector: createMasterDetector(parsed, { logger }), ownDetector: true };
}

function validateOptions(options: SchedulerClientOptions): void {
  if (options === null || typeof options !== 'object') {
    throw badConfig('createSchedulerClient needs options with at least master and frameworkInfo.', 'options', options);
  }
  if (options.frameworkInfo === undefined || typeof options.frameworkInfo !== 'object') {
    throw badConfig('frameworkInfo is required (at least { user, name }).', 'frameworkInfo', options.frameworkInfo);
  }
  if (options.encoding !== undefined && options.encoding !== 'protobuf' && options.encoding !== 'json') {
    throw badConfig(
      `encoding must be 'protobuf' or 'json', got ${String(options.encoding)}.`,
      'encoding',
      options.encoding,
    );
  }
  const positive: Array<[string, number | undefined]> = [
    ['heartbeatMissLimit', options.heartbeatMissLimit],
    ['eventBufferSize', options.eventBufferSize],
    ['timeouts.callMs', options.timeouts?.callMs],
  ];
  for (const [key, value] of positive) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw badConfig(`${key} must be a positive number, got ${String(value)}.`, key, value);
    }
  }
  if (options.maxRedirects !== undefined && !(Number.isInteger(options.maxRedirects) && options.maxRedirects >= 0)) {
    throw badConfig(
      `maxRedirects must be a non-negative integer, got ${String(options.maxRedirects)}.`,
      'maxRedirects',
      options.maxRedirects,
    );
  }
  if (options.callRetries !== undefined && !(Number.isInteger(options.callRetries) && options.callRetries >= 0)) {
    throw badConfig(
      `callRetries must be a non-negative integer, got ${String(options.callRetries)}.`,
      'callRetries',
      options.callRetries,
    );
  }
  if (
    options.dispatcher !== undefined &&
    options.streamDispatcher === undefined &&
    allowsOneConnection(options.dispatcher)
  ) {
    throw badConfig(
      `dispatcher (an undici ${options.dispatcher.constructor.name} with one connection per origin) would carry both the SUBSCRIBE stream and the calls, and every call would wait behind the stream until its timeout: pass streamDispatcher as well (e.g. another Agent with connections: 1), or a dispatcher without a connection limit.`,
      'dispatcher',
      options.dispatcher.constructor.name,
    );
  }
}

/**
 * Whether `dispatcher` is one of undici's own that can hold only one connection to a master: a
 * `Client`, or an `Agent` or `Pool` created with `connections: 1` (read, best effort, from the
 * options undici keeps on the instance; any other dispatcher passes).
 */
function allowsOneConnection(dispatcher: Dispatcher): boolean {
  const name = dispatcher.constructor?.name;
  if (name === 'Client') return true;
  if (name !== 'Agent' && name !== 'Pool') return false;
  const fields = dispatcher as unknown as Record<symbol, unknown>;
  for (const symbol of Object.getOwnPropertySymbols(dispatcher)) {
    const value = fields[symbol];
    if (symbol.description === 'connections' && value === 1) return true;
    if (symbol.description === 'options' && (value as { connections?: unknown } | null)?.connections === 1) return true;
  }
  return false;
}

// Answers saying Mesos did not process the call: sending it again cannot do anything twice.
const CALL_RETRY_CODES: ReadonlySet<string> = new Set(['SM_ERR_MESOS_UNAVAILABLE', 'SM_ERR_MESOS_TOO_MANY_REQUESTS']);

type AnyListener = (value: never) => void | Promise<void>;

class MesosSchedulerClient implements SchedulerClient {
  readonly #options: SchedulerClientOptions;
  readonly #logger: Logger;
  readonly #timers: SchedulerTimers;
  readonly #referenceable: ReferenceableTimers;
  /** Whether the stream's socket and the timers keep the process alive ({@link SchedulerClient.unref}). */
  #referenced = true;
  readonly #encoding: MesosEncoding;
  readonly #authorization: MesosAuthorization | undefined;
  readonly #callTimeoutMs: number;
  readonly #maxRedirects: number;
  readonly #callRetries: number;
  readonly #bufferSize: number;
  readonly #missLimit: number;
  readonly #autoAcknowledge: boolean;
  readonly #backoff;
  readonly #acknowledgements = createAcknowledgementTracker();
  readonly #reconciler: Reconciler | undefined;
  readonly #detector: MasterDetector | undefined;
  readonly #ownDetector: boolean;
  readonly #fixedUrl: string | undefined;
  /** The user's dispatcher of the stream, if any (else the stream reads its own socket). */
  readonly #subscriptionDispatcher: Dispatcher | undefined;
  /** The direct stream's settings (TLS), when no user dispatcher carries the stream. */
  readonly #directStream: { readonly tls?: MesosStreamTlsOptions } | undefined;
  readonly #callDispatcher: Dispatcher;
  readonly #ownDispatchers: Agent[] = [];
  readonly #lifetime = new AbortController();
  readonly #buffers = new Set<EventBuffer>();
  readonly #listeners = new Map<string, Set<AnyListener>>();
  // Per event type, the listeners an event of that type goes to (its type's, then 'event'):
  // built on first use, dropped whenever a listener is added or removed. An array is never
  // changed once built, so a dispatch in progress keeps its own snapshot.
  readonly #listenerSnapshots = new Map<string, readonly AnyListener[]>();

  #frameworkInfo: FrameworkInfo;
  #frameworkId: string | undefined;
  #streamId: string | undefined;
  #leaderUrl: string | undefined;
  #detecting = false;
  #state: SchedulerClientState = 'idle';
  #error: SparkMesosError | undefined;
  #tornDown = false;
  // The master ended the stream after our TEARDOWN: the teardown took effect.
  #endedByTeardown = false;
  #attempt: AbortController | undefined;
  #attemptStream: MesosEventStream | undefined;
  #attemptLoss: SparkMesosError | undefined;
  #wake: AbortController | undefined;
  #skipBackoff = false;
  #loop: Promise<void> | undefined;
  #started: Promise<void> | undefined;
  #startedSettle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #unwatchLeader: (() => void) | undefined;

  constructor(options: SchedulerClientOptions) {
    validateOptions(options);
    this.#options = options;
    this.#logger = options.logger ?? defaultLogger;
    this.#referenceable = referenceableTimers(options.timers ?? SYSTEM_TIMERS);
    this.#timers = this.#referenceable.timers;
    this.#encoding = options.encoding ?? 'protobuf';
    this.#callTimeoutMs = options.timeouts?.callMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.#maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    this.#callRetries = options.callRetries ?? DEFAULT_CALL_RETRIES;
    this.#bufferSize = options.eventBufferSize ?? DEFAULT_EVENT_BUFFER_SIZE;
    this.#missLimit = options.heartbeatMissLimit ?? 5;
    this.#autoAcknowledge = options.autoAcknowledge ?? true;
    this.#backoff = createBackoff(options.backoff);
    this.#authorization =
      options.auth === undefined
        ? undefined
        : { kind: 'basic', principal: options.auth.principal, secret: options.auth.secret };
    this.#frameworkInfo = { ...options.frameworkInfo };
    this.#frameworkId = options.frameworkInfo.id?.value;
    if (options.reconcile?.enabled !== false) {
      this.#reconciler = createReconciler({
        send: (tasks) => this.#call('RECONCILE', { tasks: [...tasks] }),
        backoff: createBackoff({ initialMs: 1000, maxMs: 30_000, ...options.reconcile?.backoff }),
        timers: this.#timers,
        logger: this.#logger,
      });
    }
    const master = resolveMaster(options.master, this.#logger);
    this.#detector = master.detector;
    this.#ownDetector = master.ownDetector;
    this.#fixedUrl = master.fixedUrl;
    const tls = options.tls;
    let connect:
      | {
          ca?: string | Buffer | Array<string | Buffer>;
          cert?: string | Buffer;
          key?: string | Buffer;
          rejectUnauthorized?: boolean;
        }
      | undefined;
    if (tls !== undefined) {
      connect = {};
      if (tls.ca !== undefined)
        connect.ca = typeof tls.ca === 'string' || Buffer.isBuffer(tls.ca) ? tls.ca : [...tls.ca];
      if (tls.cert !== undefined) connect.cert = tls.cert;
      if (tls.key !== undefined) connect.key = tls.key;
      if (tls.rejectUnauthorized !== undefined) connect.rejectUnauthorized = tls.rejectUnauthorized;
    }
    const own = (connections?: number): Agent => {
      const agent = new Agent({
        ...(connections === undefined ? {} : { connections }),
        ...(connect ? { connect } : {}),
      });
      this.#ownDispatchers.push(agent);
      return agent;
    };
    // The calls' dispatcher never carries the stream unless the user gave one dispatcher for both
    // (checked by validateOptions to be able to open a second connection, where it can tell).
    this.#callDispatcher = options.dispatcher ?? own();
    // The stream's connection carries nothing else: calls never queue behind the endless answer.
    // Without a user dispatcher it is a socket of its own, read without undici (cheaper per
    // event; see openMesosStream's `direct`); a user dispatcher (a proxy, a MockAgent) keeps it.
    this.#subscriptionDispatcher = options.streamDispatcher ?? options.dispatcher;
    this.#directStream =
      this.#subscriptionDispatcher === undefined ? { ...(connect ? { tls: connect } : {}) } : undefined;
  }

  get frameworkId(): string | undefined {
    return this.#frameworkId;
  }
  get streamId(): string | undefined {
    return this.#streamId;
  }
  get leaderUrl(): string | undefined {
    return this.#leaderUrl;
  }
  get state(): SchedulerClientState {
    return this.#state;
  }
  get error(): SparkMesosError | undefined {
    return this.#error;
  }

  start(): Promise<void> {
    if (this.#started !== undefined) return this.#started;
    if (this.#state === 'closed' || this.#state === 'failed') return Promise.reject(this.#closedError('start'));
    this.#started = new Promise<void>((resolve, reject) => {
      this.#startedSettle = { resolve, reject };
    });
    // start() may be called just for its side effect (events(), on()): never an unhandled rejection.
    this.#started.catch(() => {});
    this.#state = 'connecting';
    this.#unwatchLeader = this.#detector?.onChange((leader) => this.#onLeaderChange(leader));
    this.#loop = this.#run();
    return this.#started;
  }

  subscribe(): Promise<void> {
    return this.start();
  }

  ref(): void {
    this.#referenced = true;
    this.#referenceable.ref();
    this.#attemptStream?.ref?.();
    // A detector the caller gave is the caller's to ref or unref.
    if (this.#ownDetector) this.#detector?.ref?.();
  }

  unref(): void {
    this.#referenced = false;
    this.#referenceable.unref();
    this.#attemptStream?.unref?.();
    if (this.#ownDetector) this.#detector?.unref?.();
  }

  async close(): Promise<void> {
    if (this.#state !== 'closed' && this.#state !== 'failed') this.#state = 'closed';
    if (this.#lifetime.signal.aborted) {
      await this.#loop;
      return;
    }
    this.#lifetime.abort(this.#closedError('close'));
    this.#startedSettle?.reject(this.#error ?? this.#closedError('start'));
    this.#abortAttempt(undefined);
    this.#wake?.abort();
    this.#reconciler?.stop();
    this.#unwatchLeader?.();
    for (const buffer of [...this.#buffers]) buffer.end(undefined, true);
    this.#streamId = undefined;
    await this.#loop;
    if (this.#ownDetector) await this.#detector?.close();
    await Promise.all(this.#ownDispatchers.map((agent) => agent.destroy()));
  }

  events(): AsyncIterableIterator<SchedulerEvent> {
    const buffer = new EventBuffer(this.#bufferSize, (closed) => this.#buffers.delete(closed));
    if (this.#state === 'closed' || this.#state === 'failed') {
      buffer.end(this.#state === 'failed' ? this.#error : undefined);
      return buffer;
    }
    this.#buffers.add(buffer);
    void this.start();
    return buffer;
  }

  on(type: string, listener: AnyListener): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener);
    this.#listenerSnapshots.clear();
    return () => {
      if (set.delete(listener)) this.#listenerSnapshots.clear();
    };
  }

  accept(accept: SchedulerCallAccept): Promise<void> {
    return this.#call('ACCEPT', accept);
  }
  decline(decline: SchedulerCallDecline): Promise<void> {
    return this.#call('DECLINE', decline);
  }
  revive(revive: SchedulerCallRevive = {}): Promise<void> {
    return this.#call('REVIVE', revive);
  }
  suppress(suppress: SchedulerCallSuppress = {}): Promise<void> {
    return this.#call('SUPPRESS', suppress);
  }
  kill(kill: SchedulerCallKill): Promise<void> {
    return this.#call('KILL', kill);
  }
  shutdown(shutdown: SchedulerCallShutdown): Promise<void> {
    return this.#call('SHUTDOWN', shutdown);
  }
  acknowledge(acknowledge: SchedulerCallAcknowledge): Promise<void> {
    return this.#call('ACKNOWLEDGE', acknowledge);
  }
  acknowledgeOperationStatus(acknowledge: SchedulerCallAcknowledgeOperationStatus): Promise<void> {
    return this.#call('ACKNOWLEDGE_OPERATION_STATUS', acknowledge);
  }
  reconcile(reconcile: SchedulerCallReconcile = { tasks: [] }): Promise<void> {
    return this.#call('RECONCILE', reconcile);
  }
  reconcileOperations(reconcile: SchedulerCallReconcileOperations = { operations: [] }): Promise<void> {
    return this.#call('RECONCILE_OPERATIONS', reconcile);
  }
  message(message: SchedulerCallMessage): Promise<void> {
    return this.#call('MESSAGE', message);
  }
  request(request: SchedulerCallRequest): Promise<void> {
    return this.#call('REQUEST', request);
  }
  async teardown(): Promise<void> {
    // Set first: the master may end the stream before the 202 reaches us.
    this.#tornDown = true;
    try {
      await this.#send('TEARDOWN', (frameworkId) => buildSchedulerCall(frameworkId, 'TEARDOWN'));
    } catch (error) {
      // The master may end the stream (and with it the client, cancelling this call) before its
      // 202 reaches us: the framework is gone all the same.
      if (this.#endedByTeardown) return;
      this.#tornDown = false;
      throw error;
    }
  }
  acceptInverseOffers(accept: SchedulerCallAcceptInverseOffers): Promise<void> {
    return this.#call('ACCEPT_INVERSE_OFFERS', accept);
  }
  declineInverseOffers(decline: SchedulerCallDeclineInverseOffers): Promise<void> {
    return this.#call('DECLINE_INVERSE_OFFERS', decline);
  }
  async updateFramework(update: SchedulerCallUpdateFramework): Promise<void> {
    const frameworkInfo: FrameworkInfo = {
      ...update.framework_info,
      ...(this.#frameworkId === undefined ? {} : { id: { value: this.#frameworkId } }),
    };
    await this.#call('UPDATE_FRAMEWORK', { ...update, framework_info: frameworkInfo });
    this.#frameworkInfo = frameworkInfo;
  }

  // ---- calls ----

  #call<T extends SchedulerCallWithPayload>(type: T, payload: SchedulerCallPayload<T>): Promise<void> {
    return this.#send(type, (frameworkId) => buildSchedulerCall(frameworkId, type, payload));
  }

  async #send(type: string, build: (frameworkId: string) => SchedulerCall): Promise<void> {
    if (this.#hasEnded() || this.#state === 'closed') throw this.#closedError(type);
    const streamId = this.#streamId;
    const frameworkId = this.#frameworkId;
    let url = this.#leaderUrl;
    if (streamId === undefined || frameworkId === undefined || url === undefined) {
      throw new SparkMesosError(
        'SM_ERR_SCHEDULER_NOT_SUBSCRIBED',
        `Cannot send ${type}: the scheduler client is not subscribed (state ${this.#state}). Wait for start() or the SUBSCRIBED event; after a lost connection the client re-subscribes by itself.`,
        { cause: { state: this.#state }, details: { callType: type, state: this.#state } },
      );
    }
    const codec = SCHEDULER_CALL_CODECS[this.#encoding];
    const body = codec.encode(build(frameworkId));
    const deadline = this.#timers.now() + this.#callTimeoutMs;
    let backoff: ReturnType<typeof createBackoff> | undefined;
    let redirects = 0;
    for (let retries = 0; ; ) {
      try {
        await sendMesosCall({
          url,
          body,
          contentType: codec.contentType,
          accept: MESOS_CONTENT_TYPES[this.#encoding],
          streamId,
          callType: type,
          timeoutMs: this.#callTimeoutMs,
          signal: this.#lifetime.signal,
          ...(this.#authorization === undefined ? {} : { authorization: this.#authorization }),
          dispatcher: this.#callDispatcher,
        });
        return;
      } catch (error) {
        if (this.#lifetime.signal.aborted) throw this.#closedError(type, error);
        const leaderUrl = isSparkMesosError(error, 'SM_ERR_NOT_LEADER') ? error.details.leaderUrl : undefined;
        if (typeof leaderUrl === 'string' && redirects < this.#maxRedirects) {
          this.#logger.info(`${type} was redirected to the leading master.`, { leaderUrl });
          url = leaderUrl;
          redirects += 1;
          continue;
        }
        if (isSparkMesosError(error) && CALL_RETRY_CODES.has(error.code) && retries < this.#callRetries) {
          const retryAfterSeconds = error.details.retryAfterSeconds;
          backoff ??= createBackoff(this.#options.backoff);
          const delayMs =
            typeof retryAfterSeconds === 'number' && Number.isFinite(retryAfterSeconds)
              ? retryAfterSeconds * 1000
              : backoff.next();
          // Never past the call timeout: give up now rather than wait for an answer we cannot await.
          if (this.#timers.now() + delayMs < deadline) {
            retries += 1;
            this.#logger.warn(
              `${type} was not processed (${error.code}); sending it again in ${Math.round(delayMs)} ms (retry ${retries} of ${this.#callRetries}).`,
              { code: error.code, delayMs, retry: retries, callType: type },
            );
            await sleep(this.#timers, delayMs, this.#lifetime.signal);
            if (this.#lifetime.signal.aborted) throw this.#closedError(type, error);
            // The subscription this call belonged to is gone: its stream id would be refused.
            if (streamId === this.#streamId) continue;
          }
        }
        // A call that finds the subscription gone (stream id replaced, framework disconnected)
        // means our stream is stale even if it has not noticed yet: subscribe again.
        if (isSubscriptionLost(error) && streamId === this.#streamId) {
          this.#abortAttempt(error as SparkMesosError);
        }
        throw error;
      }
    }
  }

  // ---- subscription loop ----

  async #run(): Promise<void> {
    while (!this.#lifetime.signal.aborted) {
      const attempt = new AbortController();
      this.#attempt = attempt;
      this.#attemptLoss = undefined;
      this.#state = 'connecting';
      let failure: unknown;
      try {
        const url = await this.#masterUrl(attempt.signal);
        const stream = await this.#openSubscription(url, attempt.signal);
        this.#attemptStream = stream;
        if (!this.#referenced) stream.unref?.();
        if (attempt.signal.aborted) stream.close();
        failure = await this.#consume(stream, attempt);
      } catch (error) {
        failure = this.#attemptLoss ?? error;
      } finally {
        this.#attemptStream?.close();
        this.#attemptStream = undefined;
        this.#streamId = undefined;
        this.#attempt = undefined;
      }
      if (this.#hasEnded()) break;
      if (this.#tornDown) {
        // TEARDOWN ends the stream with its final chunk: the framework is gone, so is the client.
        this.#logger.info('The framework was torn down; the scheduler client ends.', {
          frameworkId: this.#frameworkId,
        });
        this.#endedByTeardown = true;
        this.#finish(undefined);
        break;
      }
      if (!canResubscribe(failure)) {
        this.#finish(failure);
        break;
      }
      this.#state = 'connecting';
      const delayMs = this.#skipBackoff ? 0 : this.#backoff.next();
      this.#skipBackoff = false;
      this.#logger.warn(`The Mesos subscription is lost; subscribing again in ${Math.round(delayMs)} ms.`, {
        code: (failure as { code?: unknown }).code,
        error: (failure as Error).message,
        frameworkId: this.#frameworkId,
      });
      this.#wake = new AbortController();
      await sleep(this.#timers, delayMs, this.#wake.signal);
      this.#wake = undefined;
    }
  }

  async #masterUrl(signal: AbortSignal): Promise<string> {
    if (this.#fixedUrl !== undefined) return this.#fixedUrl;
    this.#detecting = true;
    try {
      const address = await this.#detector!.detect({ signal });
      return schedulerUrlOf(address);
    } finally {
      this.#detecting = false;
    }
  }

  async #openSubscription(startUrl: string, signal: AbortSignal): Promise<MesosEventStream> {
    const codec = SCHEDULER_CALL_CODECS[this.#encoding];
    const body = codec.encode(buildSubscribeCall(this.#frameworkInfo, this.#frameworkId));
    let url = startUrl;
    for (let redirects = 0; ; redirects += 1) {
      try {
        const stream = await openMesosStream({
          url,
          body,
          contentType: codec.contentType,
          accept: MESOS_CONTENT_TYPES[this.#encoding],
          callType: 'SUBSCRIBE',
          timeoutMs: this.#callTimeoutMs,
          signal,
          ...(this.#authorization === undefined ? {} : { authorization: this.#authorization }),
          ...(this.#subscriptionDispatcher === undefined ? {} : { dispatcher: this.#subscriptionDispatcher }),
          ...(this.#directStream === undefined ? {} : { direct: this.#directStream }),
        });
        this.#leaderUrl = url;
        return stream;
      } catch (error) {
        const leaderUrl = isSparkMesosError(error, 'SM_ERR_NOT_LEADER') ? error.details.leaderUrl : undefined;
        if (typeof leaderUrl === 'string' && redirects < this.#maxRedirects && !signal.aborted) {
          this.#logger.info('SUBSCRIBE was redirected to the leading master.', { leaderUrl });
          url = leaderUrl;
          continue;
        }
        throw error;
      }
    }
  }

  /** Reads the stream until it ends; returns why it ended (undefined: the client ended). */
  async #consume(stream: MesosEventStream, attempt: AbortController): Promise<unknown> {
    this.#streamId = stream.streamId;
    const codec = SCHEDULER_EVENT_CODECS[this.#encoding];
    const watchdog = this.#watch(DEFAULT_HEARTBEAT_INTERVAL_SECONDS, attempt);
    try {
      // One await per read from the socket, not per event: the events a read completed are
      // decoded and handled in a plain loop, and the loop waits only when handling an event has
      // something to wait for (a full iterator buffer, an async listener, SUBSCRIBED).
      for await (const batch of stream.batches) {
        // The batch arrived now (its records together); after a wait, we read on from then.
        watchdog.beat();
        for (let i = 0; i < batch.length; i += 1) {
          const event = codec.decode(batch[i]!);
          const handling = this.#handle(event, watchdog);
          if (handling !== undefined) {
            await handling;
            watchdog.beat();
          }
          if (this.#state === 'failed' || this.#lifetime.signal.aborted) return undefined;
        }
      }
    } catch (error) {
      return this.#attemptLoss ?? error;
    } finally {
      watchdog.stop();
    }
    return (
      this.#attemptLoss ??
      new SparkMesosError(
        'SM_ERR_SUBSCRIPTION_ENDED',
        `The master at "${this.#leaderUrl}" ended the event stream of framework ${this.#frameworkId ?? '(unsubscribed)'} without an ERROR event; subscribing again.`,
        { cause: { leaderUrl: this.#leaderUrl }, details: { leaderUrl: this.#leaderUrl } },
      )
    );
  }

  #watch(intervalSeconds: number, attempt: AbortController): HeartbeatWatchdog {
    return createHeartbeatWatchdog({
      timeoutMs: this.#missLimit * intervalSeconds * 1000,
      timers: this.#timers,
      onExpire: (silentMs) => {
        this.#abortAttempt(
          new SparkMesosError(
            'SM_ERR_HEARTBEAT_TIMEOUT',
            `No event from the master at "${this.#leaderUrl}" for ${Math.round(silentMs)} ms (${this.#missLimit} heartbeat intervals): the connection is considered lost; subscribing again.`,
            { cause: { silentMs }, details: { silentMs, heartbeatMissLimit: this.#missLimit } },
          ),
          attempt,
        );
      },
    });
  }

  /** Ends the current attempt (its stream) with `reason`, leading to a re-subscription. */
  #abortAttempt(reason: SparkMesosError | undefined, attempt: AbortController | undefined = this.#attempt): void {
    if (attempt === undefined || attempt !== this.#attempt || attempt.signal.aborted) return;
    this.#attemptLoss ??= reason;
    attempt.abort(reason);
    this.#attemptStream?.close();
  }

  #onLeaderChange(leader: MasterAddress | undefined): void {
    if (this.#lifetime.signal.aborted || this.#state === 'failed') return;
    // A detector reports its first leader as a change just before detect() returns it: while
    // detect() is under way it returns the newest leader anyway. A report naming the master in
    // use is no change either.
    if (this.#detecting) return;
    if (leader !== undefined && this.#leaderUrl !== undefined && schedulerUrlOf(leader) === this.#leaderUrl) return;
    this.#logger.info(
      leader ? 'The leading Mesos master changed; subscribing to it.' : 'The leading Mesos master is lost.',
      {
        leader: leader ? `${leader.host}:${leader.port}` : undefined,
      },
    );
    this.#skipBackoff = true;
    this.#abortAttempt(
      new SparkMesosError(
        'SM_ERR_LEADER_CHANGED',
        `The master detector reported ${leader ? `a new leader at ${leader.host}:${leader.port}` : 'no leader'}; subscribing again.`,
        { cause: { leader }, details: { leader: leader ? `${leader.host}:${leader.port}` : undefined } },
      ),
    );
    this.#wake?.abort();
  }

  // ---- events ----

  /**
   * Handles one event: returns a promise only when the stream must wait (see {@link #dispatch}),
   * `undefined` when the event was handled synchronously.
   */
  #handle(event: SchedulerEvent, watchdog: HeartbeatWatchdog): void | Promise<void> {
    switch (event.type) {
      case 'SUBSCRIBED': {
        const subscribed = event.subscribed!;
        this.#frameworkId = subscribed.framework_id.value;
        watchdog.setTimeoutMs(
          this.#missLimit * (subscribed.heartbeat_interval_seconds ?? DEFAULT_HEARTBEAT_INTERVAL_SECONDS) * 1000,
        );
        this.#backoff.reset();
        // A new stream, maybe on a new master: an ack that got a 202 before may not have reached the agent.
        this.#acknowledgements.reset();
        this.#state = 'subscribed';
        this.#logger.info('Subscribed to the Mesos master.', {
          frameworkId: this.#frameworkId,
          leaderUrl: this.#leaderUrl,
          streamId: this.#streamId,
        });
        this.#startedSettle?.resolve();
        return this.#afterSubscribed(this.#dispatch(event, watchdog));
      }
      case 'ERROR': {
        const dispatched = this.#dispatch(event, watchdog);
        if (dispatched !== undefined) return dispatched.then(() => this.#failWith(event));
        this.#failWith(event);
        return;
      }
      case 'UPDATE': {
        const status = event.update?.status;
        if (status !== undefined) this.#reconciler?.observe(status);
        const key = status === undefined || !this.#autoAcknowledge ? undefined : taskAcknowledgementKey(status);
        if (status === undefined || key === undefined) return this.#dispatch(event, watchdog);
        return this.#dispatch(event, watchdog, () => {
          if (!this.#acknowledgements.claim(key)) return;
          if (status.agent_id === undefined) {
            this.#logger.warn('A status update with a uuid has no agent_id; it cannot be acknowledged.', {
              taskId: status.task_id.value,
            });
            return;
          }
          this.acknowledge({ agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid! }).catch(
            (error: unknown) => this.#acknowledgementFailed(key, status.task_id.value, error),
          );
        });
      }
      case 'UPDATE_OPERATION_STATUS': {
        const status = event.update_operation_status?.status;
        const key = status === undefined || !this.#autoAcknowledge ? undefined : operationAcknowledgementKey(status);
        if (status === undefined || key === undefined) return this.#dispatch(event, watchdog);
        return this.#dispatch(event, watchdog, () => {
          if (!this.#acknowledgements.claim(key)) return;
          this.acknowledgeOperationStatus({
            uuid: status.uuid!.value,
            operation_id: status.operation_id!,
            ...(status.agent_id === undefined ? {} : { agent_id: status.agent_id }),
            ...(status.resource_provider_id === undefined ? {} : { resource_provider_id: status.resource_provider_id }),
          }).catch((error: unknown) => this.#acknowledgementFailed(key, status.operation_id!.value, error));
        });
      }
      default:
        return this.#dispatch(event, watchdog);
    }
  }

  /**
   * After SUBSCRIBED was dispatched: reconcile, then let the code awaiting `start()` (which has
   * just resolved) run before the events after SUBSCRIBED are dispatched, so that an `events()`
   * iterator opened right after `await client.start()` sees them even when they arrived in the
   * same read as SUBSCRIBED (a macrotask turn, once per subscription).
   */
  async #afterSubscribed(dispatched: void | Promise<void>): Promise<void> {
    if (dispatched !== undefined) await dispatched;
    this.#reconciler?.start(this.#options.reconcile?.knownTasks?.() ?? []);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** After an ERROR event was dispatched: the client ends. */
  #failWith(event: SchedulerEvent): void {
    const message = event.error?.message ?? '(no message)';
    this.#finish(
      new SparkMesosError(
        'SM_ERR_FRAMEWORK_ERROR',
        `Mesos ended the subscription of framework ${this.#frameworkId ?? '(unknown)'}: ${message}. The client stops: another scheduler instance took over the framework ("failed over"), or it was removed; do not subscribe again blindly.`,
        { cause: event.error ?? {}, details: { message, frameworkId: this.#frameworkId } },
      ),
    );
  }

  #acknowledgementFailed(key: string, id: string, error: unknown): void {
    // Mesos re-sends the update (same uuid) after ~10 s: that copy must be acknowledged.
    this.#acknowledgements.release(key);
    if (this.#lifetime.signal.aborted) return;
    this.#logger.warn('Acknowledging a status update failed; it will be acknowledged when Mesos sends it again.', {
      id,
      code: (error as { code?: unknown }).code,
      error: (error as Error).message,
    });
  }

  /**
   * Hands `event` to every iterator and listener; `onHandled` runs once all handled it. Returns a
   * promise only when the stream must wait: an iterator's buffer is full (back-pressure), or a
   * listener returned a promise; otherwise the event was delivered synchronously.
   */
  #dispatch(event: SchedulerEvent, watchdog: HeartbeatWatchdog, onHandled?: () => void): void | Promise<void> {
    // Most clients have only listeners: no iterator over the set for each of their events.
    if (this.#buffers.size !== 0) {
      for (const buffer of this.#buffers) {
        if (!buffer.hasRoom) return this.#dispatchWhenRoom(event, watchdog, onHandled);
      }
    }
    return this.#deliver(event, onHandled);
  }

  /** {@link #dispatch} once every full buffer has room (the watchdog paused meanwhile). */
  async #dispatchWhenRoom(event: SchedulerEvent, watchdog: HeartbeatWatchdog, onHandled?: () => void): Promise<void> {
    const full = [...this.#buffers].filter((buffer) => !buffer.hasRoom);
    watchdog.pause();
    try {
      await untilAborted(Promise.all(full.map((buffer) => buffer.waitForRoom())), [
        this.#lifetime.signal,
        this.#attempt?.signal,
      ]);
    } finally {
      watchdog.resume();
    }
    if (this.#lifetime.signal.aborted) return;
    await this.#deliver(event, onHandled);
  }

  #deliver(event: SchedulerEvent, onHandled: (() => void) | undefined): void | Promise<void> {
    const type = event.type ?? 'UNKNOWN';
    let listeners = this.#listenerSnapshots.get(type);
    if (listeners === undefined) {
      listeners = [...(this.#listeners.get(type) ?? []), ...(this.#listeners.get('event') ?? [])];
      this.#listenerSnapshots.set(type, listeners);
    }
    // Someone must learn when every consumer is done: only an acknowledgement (onHandled) or an
    // iterator needs that; listeners alone need no bookkeeping per event.
    const delivery =
      onHandled === undefined && this.#buffers.size === 0 ? undefined : new EventDelivery(event, onHandled);
    if (delivery !== undefined) for (const buffer of this.#buffers) buffer.push(delivery);
    let pending: Promise<void>[] | undefined;
    for (let i = 0; i < listeners.length; i += 1) {
      delivery?.hold();
      try {
        const result = (listeners[i] as SchedulerEventListener<SchedulerEvent>)(event);
        if (result instanceof Promise) {
          pending ??= [];
          pending.push(
            result.then(
              () => delivery?.settle(true),
              (error: unknown) => this.#listenerFailed(event, error, delivery),
            ),
          );
        } else delivery?.settle(true);
      } catch (error) {
        this.#listenerFailed(event, error, delivery);
      }
    }
    delivery?.settle(true);
    if (pending !== undefined) return Promise.all(pending).then(() => undefined);
  }

  #listenerFailed(event: SchedulerEvent, error: unknown, delivery: EventDelivery | undefined): void {
    this.#logger.warn(`A ${event.type} listener threw; the event is not acknowledged.`, {
      error: (error as Error)?.message ?? String(error),
    });
    delivery?.settle(false);
  }

  /** Ends the client: `error` undefined for a normal end (TEARDOWN). */
  #finish(error: unknown): void {
    if (this.#state === 'failed' || this.#lifetime.signal.aborted) return;
    const failure =
      error === undefined
        ? undefined
        : isSparkMesosError(error)
          ? error
          : new SparkMesosError(
              'SM_ERR_MESOS_NETWORK',
              `The Mesos subscription failed: ${(error as Error)?.message ?? String(error)}`,
              {
                cause: error,
              },
            );
    this.#error = failure;
    this.#state = failure === undefined ? 'closed' : 'failed';
    this.#reconciler?.stop();
    this.#abortAttempt(undefined);
    if (failure !== undefined) {
      this.#logger.warn('The scheduler client ended with an error.', { code: failure.code, error: failure.message });
      this.#startedSettle?.reject(failure);
      const listeners = this.#listeners.get('error') ?? new Set();
      for (const listener of listeners) {
        try {
          (listener as (error: SparkMesosError) => void)(failure);
        } catch (listenerError) {
          this.#logger.warn('An error listener threw.', { error: (listenerError as Error)?.message });
        }
      }
    } else {
      this.#startedSettle?.reject(this.#closedError('start'));
    }
    for (const buffer of [...this.#buffers]) buffer.end(failure);
    // Release connections, timers and the detector without waiting for the caller's close().
    queueMicrotask(() => {
      void this.#release();
    });
  }

  async #release(): Promise<void> {
    this.#unwatchLeader?.();
    this.#lifetime.abort(this.#error ?? this.#closedError('release'));
    if (this.#ownDetector) await this.#detector?.close().catch(() => {});
    await Promise.all(this.#ownDispatchers.map((agent) => agent.destroy().catch(() => {})));
  }

  #hasEnded(): boolean {
    return this.#lifetime.signal.aborted || this.#state === 'failed';
  }

  #closedError(what: string, cause?: unknown): SparkMesosError {
    const ended = this.#error;
    return new SparkMesosError(
      'SM_ERR_CLOSED',
      ended === undefined
        ? `Cannot ${what === 'start' ? 'start' : `send ${what}`}: the scheduler client is closed. Create a new client.`
        : `Cannot ${what === 'start' ? 'start' : `send ${what}`}: the scheduler client ended with ${ended.code}: ${ended.message}`,
      { cause: cause ?? ended ?? { state: this.#state }, details: { state: this.#state } },
    );
  }
}

/**
 * Creates a scheduler client for one framework. Nothing happens until {@link SchedulerClient.start}
 * (or {@link SchedulerClient.events}) is called.
 *
 * - SUBSCRIBE goes on its own connection; every other call carries `Mesos-Stream-Id` and goes on
 *   another connection. A 307 from a non-leading master is followed (keeping our scheme, at most
 *   `maxRedirects` times); 503, network errors and lost streams lead to re-subscription with
 *   jittered exponential backoff; 400/401/403/404/405/406/415 end the client with their typed error.
 * - Other calls answered 503 or 429 (not processed by Mesos) are sent again with the same
 *   backoff, at most `callRetries` times and within `timeouts.callMs`; network errors and other
 *   5xx are not (the call may have been processed): see {@link SchedulerClientOptions.callRetries}.
 * - Status updates with a `uuid` are acknowledged once handled, each (task, uuid) once per
 *   subscription (again if the first acknowledgement failed); master-generated updates (no uuid)
 *   never are.
 * - A heartbeat watchdog re-subscribes after `heartbeatMissLimit` silent heartbeat intervals;
 *   re-subscriptions carry the framework id (top-level `framework_id` and `framework_info.id`).
 *   A detector's leader change re-subscribes at once. An ERROR event ends the client with
 *   `SM_ERR_FRAMEWORK_ERROR`.
 * - After each SUBSCRIBED: explicit reconciliation of `reconcile.knownTasks()`, then implicit.
 *
 * @example
 * ```ts
 * const client = createSchedulerClient({ master: 'mesos://zk://zk1:2181/mesos', frameworkInfo: { user: 'spark', name: 'pi' } });
 * for await (const event of client.events()) {
 *   if (event.type === 'OFFERS') await client.decline({ offer_ids: event.offers!.offers!.map((o) => o.id), filters: filters({ refuseSeconds: 5 }) });
 * }
 * ```
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for invalid options, `SM_ERR_BAD_MASTER_URL` for a bad master URL.
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @see https://mesos.apache.org/documentation/latest/reconciliation/
 */
export function createSchedulerClient(options: SchedulerClientOptions): SchedulerClient {
  return new MesosSchedulerClient(options);
}
