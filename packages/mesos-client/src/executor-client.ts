import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';
import type { Dispatcher } from 'undici';
import { createBackoff } from './backoff.js';
import { EXECUTOR_CALL_CODECS, EXECUTOR_EVENT_CODECS, MESOS_CONTENT_TYPES, type MesosEncoding } from './codec.js';
import { type EnvironmentGetter, type ExecutorConfig, executorConfigFromEnv } from './executor-config.js';
import type {
  AgentID,
  ExecutorCall,
  ExecutorCallUpdate,
  ExecutorEvent,
  ExecutorEventAcknowledged,
  ExecutorEventError,
  ExecutorEventKill,
  ExecutorEventLaunch,
  ExecutorEventLaunchGroup,
  ExecutorEventMessage,
  ExecutorEventSubscribed,
  ExecutorEventType,
  TaskInfo,
  TaskStatus,
} from './generated/mesos-types.js';
import { type MesosAuthorization, type MesosEventStream, openMesosStream, sendMesosCall } from './mesos-http.js';
import { isRetryable } from './mesos-http-error.js';
import { formatStoutDuration } from './stout-duration.js';
import { isTerminalTaskState } from './task-state.js';

// Mesos' agent parses an update's uuid with UUID::fromBytes and refuses bytes that are not an
// RFC 4122 UUID of a known version; random bytes pass only about 5 times in 16.
function uuidVersion4(bytes: Uint8Array): Uint8Array {
  const uuid = Uint8Array.from(bytes);
  uuid[6] = ((uuid[6] ?? 0) & 0x0f) | 0x40;
  uuid[8] = ((uuid[8] ?? 0) & 0x3f) | 0x80;
  return uuid;
}

/**
 * The executor side of the Mesos v1 HTTP API: subscribe with the agent, receive LAUNCH/KILL/…
 * events, send status updates reliably, and survive agent restarts when the framework
 * checkpoints.
 *
 * @see https://mesos.apache.org/documentation/latest/executor-http-api/
 * @module
 */

/** Clock and timers, injectable so tests control time. */
export interface ExecutorTimers {
  /** Schedules `callback` after `ms` milliseconds; returns a handle for {@link clearTimeout}. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a scheduled callback. */
  clearTimeout(handle: unknown): void;
  /** Milliseconds since the epoch (status timestamps are taken from it). */
  now(): number;
}

/** Node's own timers and `Date.now`. */
export const SYSTEM_EXECUTOR_TIMERS: ExecutorTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => Date.now(),
};

/** Where the client reports what it does; every method is optional. */
export interface ExecutorLogger {
  /** Connection changes (subscribed, disconnected, reconnecting). */
  info?(message: string, fields?: Record<string, unknown>): void;
  /** Problems the client recovers from. */
  warn?(message: string, fields?: Record<string, unknown>): void;
  /** Details for debugging (each event, each call). */
  debug?(message: string, fields?: Record<string, unknown>): void;
}

/** Options of {@link createExecutorClient}. */
export interface ExecutorClientOptions {
  /** The configuration; when absent it is read with {@link executorConfigFromEnv} from `getEnv`. @default undefined */
  readonly config?: ExecutorConfig;
  /** Reads the `MESOS_*` environment when `config` is absent. @default undefined (then `config` is required) */
  readonly getEnv?: EnvironmentGetter;
  /** Encoding of calls and events. @default 'protobuf' (what Mesos' own executors use) */
  readonly encoding?: MesosEncoding;
  /**
   * The undici dispatcher of the calls (UPDATE, MESSAGE), and of the SUBSCRIBE stream too unless
   * {@link ExecutorClientOptions.streamDispatcher} is given (TLS options, a proxy, a `MockAgent`).
   * Not closed by the client. The stream holds its connection for as long as it lives, so one
   * dispatcher for both must be able to open a second connection to the agent, as undici's
   * `Agent` and `Pool` do by default; with `connections: 1` (or a `Client`) pass a
   * `streamDispatcher` too, or every call waits behind the stream until its timeout.
   * @default undici's global dispatcher
   */
  readonly dispatcher?: Dispatcher;
  /**
   * The undici dispatcher of the SUBSCRIBE stream alone, so that the stream and the calls never
   * share a connection whatever the dispatchers' connection limits. Not closed by the client.
   * @default `dispatcher` when given, else no dispatcher: the client reads the stream from a
   *   `node:net`/`node:tls` socket of its own (cheaper per event than undici's body stream; see
   *   `openMesosStream`'s `direct`)
   */
  readonly streamDispatcher?: Dispatcher;
  /** Clock and timers. @default {@link SYSTEM_EXECUTOR_TIMERS} */
  readonly timers?: ExecutorTimers;
  /** Uniform random numbers in [0, 1), for the reconnection jitter. @default Math.random */
  readonly random?: () => number;
  /**
   * Random bytes, for status update uuids. The client sets the version and variant bits of the 16
   * bytes it draws, so that every uuid is a valid RFC 4122 version 4 UUID: a real agent refuses
   * an UPDATE whose uuid is not one ("Not a valid UUID"). @default node:crypto randomBytes
   */
  readonly randomBytes?: (size: number) => Uint8Array;
  /** Where to report. @default no logging */
  readonly logger?: ExecutorLogger;
  /**
   * How often to send a HEARTBEAT call while subscribed (keeps idle connections alive through
   * proxies), in milliseconds; 0 disables. @default 1800000 (30 minutes, as Mesos' own library)
   */
  readonly heartbeatIntervalMs?: number;
}

/** An executor event whose `type` is `T`, with the matching payload field present. */
export type ExecutorEventOf<T extends ExecutorEventType> = ExecutorEvent & { type: T } & ExecutorEventPayloads[T];

/** The payload field each executor event type carries. */
export interface ExecutorEventPayloads {
  UNKNOWN: unknown;
  SUBSCRIBED: { subscribed: ExecutorEventSubscribed };
  LAUNCH: { launch: ExecutorEventLaunch };
  LAUNCH_GROUP: { launch_group: ExecutorEventLaunchGroup };
  KILL: { kill: ExecutorEventKill };
  ACKNOWLEDGED: { acknowledged: ExecutorEventAcknowledged };
  MESSAGE: { message: ExecutorEventMessage };
  ERROR: { error: ExecutorEventError };
  SHUTDOWN: unknown;
  HEARTBEAT: unknown;
}

/** A lost subscription, as told to `disconnected` listeners. */
export interface ExecutorDisconnection {
  /** What happened, e.g. "the agent closed the subscription stream". */
  readonly reason: string;
  /** The failure, when there was one. @default undefined */
  readonly error?: unknown;
  /** Whether the client reconnects (framework checkpointing, no SHUTDOWN received). */
  readonly willReconnect: boolean;
}

/** How an executor client ended. */
export interface ExecutorClientEnd {
  /**
   * `closed`: {@link ExecutorClient.close} was called; `disconnected`: the subscription was lost
   * and the framework does not checkpoint, so the executor should exit; `shutdown`: the stream
   * ended after a SHUTDOWN event; `failed`: see `error`.
   */
  readonly outcome: 'closed' | 'disconnected' | 'shutdown' | 'failed';
  /** Why, in words. */
  readonly reason: string;
  /** The failure when `outcome` is `failed`. @default undefined */
  readonly error?: SparkMesosError;
}

/** What each listener of {@link ExecutorClient.on} receives. */
export type ExecutorClientListeners = { [T in ExecutorEventType]: ExecutorEventOf<T> } & {
  /** Every event, whatever its type. */
  event: ExecutorEvent;
  /** The subscription was lost. */
  disconnected: ExecutorDisconnection;
  /** The client ended (once). */
  end: ExecutorClientEnd;
};

/** A status update to send: `task_id` and `state` at least; the client fills in the rest. */
export type ExecutorStatusInput = Omit<TaskStatus, 'uuid' | 'timestamp' | 'source'> &
  Partial<Pick<TaskStatus, 'uuid' | 'timestamp' | 'source'>>;

/** Where the client is in its life. */
export type ExecutorClientState = 'connecting' | 'subscribed' | 'reconnecting' | 'ended';

/** A running executor client. */
export interface ExecutorClient extends AsyncIterable<ExecutorEvent> {
  /** The configuration in use. */
  readonly config: ExecutorConfig;
  /** The current state. */
  readonly state: ExecutorClientState;
  /** The latest SUBSCRIBED payload (executor, framework and agent info). @default undefined */
  readonly subscribed: ExecutorEventSubscribed | undefined;
  /** Updates sent (or queued) but not yet ACKNOWLEDGED by the agent, oldest first. */
  readonly unacknowledgedUpdates: readonly ExecutorCallUpdate[];
  /**
   * Tasks received by LAUNCH/LAUNCH_GROUP none of whose updates the agent has acknowledged yet
   * ("a task is considered acknowledged if at least one of the status updates for this task is
   * acknowledged"), sent again with a re-SUBSCRIBE.
   */
  readonly unacknowledgedTasks: readonly TaskInfo[];
  /** Tasks launched and not yet given a terminal update by this executor (what SHUTDOWN must kill). */
  readonly activeTasks: readonly TaskInfo[];
  /** Resolves once, when the client ends (never rejects; see `outcome`). */
  readonly done: Promise<ExecutorClientEnd>;
  /**
   * The events, buffered from the start, for one consumer. The iteration ends when the client
   * ends gracefully and throws the `error` of a `failed` end.
   */
  events(): AsyncIterableIterator<ExecutorEvent>;
  /** Adds a listener, called synchronously as each event is read; returns its remover. */
  on<K extends keyof ExecutorClientListeners>(
    type: K,
    listener: (value: ExecutorClientListeners[K]) => void,
  ): () => void;
  /**
   * Sends a status update, filling in `uuid` (16 random bytes), `timestamp` (now, in seconds),
   * `source` (`SOURCE_EXECUTOR`), `executor_id` and `agent_id` when absent. The update is kept in
   * {@link unacknowledgedUpdates} until the agent ACKNOWLEDGES it (same task id and uuid).
   * While reconnecting it is only queued: it goes with the next SUBSCRIBE. A network failure
   * rejects but keeps the update queued for the next SUBSCRIBE; do not send it again.
   *
   * @returns the status as sent
   * @throws SparkMesosError `SM_ERR_EXECUTOR_BAD_UPDATE` (no task id or state, uuid not 16 bytes),
   *   `SM_ERR_EXECUTOR_NOT_SUBSCRIBED` (before the first subscription), `SM_ERR_CLOSED`, or the
   *   agent's `SM_ERR_MESOS_*` answer.
   */
  update(status: ExecutorStatusInput): Promise<TaskStatus>;
  /**
   * Sends a MESSAGE (arbitrary bytes, to the scheduler; no delivery guarantee).
   * @throws SparkMesosError `SM_ERR_EXECUTOR_NOT_SUBSCRIBED`, `SM_ERR_CLOSED`, or the agent's answer.
   */
  message(data: Uint8Array): Promise<void>;
  /** Closes the subscription and ends the client (`outcome: 'closed'`). Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_HEARTBEAT_INTERVAL_MS = 30 * 60_000;
// The first reconnection wait is at most this (or the backoff max, if smaller), doubling after.
const INITIAL_BACKOFF_MS = 100;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A buffered queue of events for one async-iterator consumer. */
function createEventQueue<T>() {
  const items: T[] = [];
  const waiters: Array<{ resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void }> = [];
  let finished = false;
  let failure: unknown;
  let failed = false;
  return {
    push(item: T): void {
      if (finished) return;
      const waiter = waiters.shift();
      if (waiter) waiter.resolve({ value: item, done: false });
      else items.push(item);
    },
    end(error?: unknown): void {
      if (finished) return;
      finished = true;
      if (error !== undefined) {
        failed = true;
        failure = error;
      }
      for (const waiter of waiters.splice(0)) {
        if (failed) waiter.reject(failure);
        else waiter.resolve({ value: undefined, done: true });
      }
    },
    next(): Promise<IteratorResult<T>> {
      if (items.length > 0) return Promise.resolve({ value: items.shift()!, done: false });
      if (finished) {
        if (failed) {
          // Report the failure once; later calls just see the end.
          failed = false;
          return Promise.reject(failure);
        }
        return Promise.resolve({ value: undefined, done: true });
      }
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
  };
}

/**
 * Creates an executor client and starts subscribing with the agent at once (SUBSCRIBE to
 * `http://MESOS_AGENT_ENDPOINT/api/v1/executor`, with `Authorization: Bearer` when
 * `MESOS_EXECUTOR_AUTHENTICATION_TOKEN` is set). Events are delivered to listeners ({@link
 * ExecutorClient.on}) and to one async iterator ({@link ExecutorClient.events}).
 *
 * When the subscription is lost: with framework checkpointing (`MESOS_CHECKPOINT=1`) the client
 * re-subscribes, sending its unacknowledged tasks and updates, waiting a jittered, exponentially
 * growing delay of at most `MESOS_SUBSCRIPTION_BACKOFF_MAX` between attempts, for at most
 * `MESOS_RECOVERY_TIMEOUT` (then it ends `failed` with `SM_ERR_EXECUTOR_RECOVERY_TIMEOUT`).
 * Without checkpointing it ends `disconnected`, so the executor can exit, as Mesos requires.
 * Before the first subscription, agents that are not ready (network errors, 503, 404) are
 * retried the same way; a rejection (400, 401, 403, …) ends it `failed` with the agent's error.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when neither `config` nor a valid environment is given.
 * @see https://mesos.apache.org/documentation/latest/executor-http-api/
 */
export function createExecutorClient(options: ExecutorClientOptions): ExecutorClient {
  if (options.config === undefined && options.getEnv === undefined) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      'createExecutorClient needs a config or a getEnv to read the MESOS_* environment: pass { getEnv: (name) => process.env[name] }.',
      { cause: { config: undefined, getEnv: undefined } },
    );
  }
  const config = options.config ?? executorConfigFromEnv(options.getEnv!);
  const encoding = options.encoding ?? 'protobuf';
  const contentType = MESOS_CONTENT_TYPES[encoding];
  const callCodec = EXECUTOR_CALL_CODECS[encoding];
  const eventCodec = EXECUTOR_EVENT_CODECS[encoding];
  const timers = options.timers ?? SYSTEM_EXECUTOR_TIMERS;
  const random = options.random ?? Math.random;
  const randomBytes = options.randomBytes ?? ((size: number) => new Uint8Array(cryptoRandomBytes(size)));
  const logger = options.logger ?? {};
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const authorization: MesosAuthorization | undefined =
    config.authenticationToken === undefined ? undefined : { kind: 'bearer', token: config.authenticationToken };
  const ids = { framework_id: { value: config.frameworkId }, executor_id: { value: config.executorId } };

  const queue = createEventQueue<ExecutorEvent>();
  const listeners = new Map<string, Set<(value: never) => void>>();
  const updates = new Map<string, ExecutorCallUpdate>();
  const unacknowledgedTasks = new Map<string, TaskInfo>();
  const activeTasks = new Map<string, TaskInfo>();
  const abort = new AbortController();

  let state: ExecutorClientState = 'connecting';
  let subscribed: ExecutorEventSubscribed | undefined;
  let agentId: AgentID | undefined;
  let shutdownReceived = false;
  let stream: MesosEventStream | undefined;
  let heartbeatTimer: unknown;
  let wait: { handle: unknown; resolve: () => void } | undefined;
  let iteratorTaken = false;
  let resolveDone!: (end: ExecutorClientEnd) => void;
  const done = new Promise<ExecutorClientEnd>((resolve) => {
    resolveDone = resolve;
  });

  function emit<K extends keyof ExecutorClientListeners>(type: K, value: ExecutorClientListeners[K]): void {
    for (const listener of listeners.get(type) ?? []) {
      try {
        (listener as (value: ExecutorClientListeners[K]) => void)(value);
      } catch (error) {
        // A listener's bug must not stop the event stream or the acknowledgements.
        logger.warn?.(`An executor client "${type}" listener threw; the client carries on.`, { error });
      }
    }
  }

  function finish(end: ExecutorClientEnd): void {
    if (state === 'ended') return;
    state = 'ended';
    stopHeartbeat();
    logger.info?.(`Executor client ended (${end.outcome}): ${end.reason}`);
    emit('end', end);
    queue.end(end.outcome === 'failed' ? end.error : undefined);
    resolveDone(end);
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = timers.setTimeout(() => {
        wait = undefined;
        resolve();
      }, ms);
      wait = { handle, resolve };
    });
  }

  function stopHeartbeat(): void {
    if (heartbeatTimer !== undefined) timers.clearTimeout(heartbeatTimer);
    heartbeatTimer = undefined;
  }

  function scheduleHeartbeat(): void {
    stopHeartbeat();
    if (heartbeatIntervalMs <= 0) return;
    heartbeatTimer = timers.setTimeout(() => {
      heartbeatTimer = undefined;
      if (state !== 'subscribed') return;
      send({ ...ids, type: 'HEARTBEAT' }).catch((error: unknown) => {
        logger.warn?.('The HEARTBEAT call failed; the subscription stream decides whether the agent is gone.', {
          error,
        });
      });
      scheduleHeartbeat();
    }, heartbeatIntervalMs);
  }

  const streamDispatcher = options.streamDispatcher ?? options.dispatcher;

  function send(call: ExecutorCall): Promise<unknown> {
    return sendMesosCall({
      url: config.agentUrl,
      body: callCodec.encode(call),
      contentType,
      callType: call.type,
      ...(authorization === undefined ? {} : { authorization }),
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
      signal: abort.signal,
    });
  }

  function subscribeCall(): ExecutorCall {
    const subscribe: NonNullable<ExecutorCall['subscribe']> = {};
    if (unacknowledgedTasks.size > 0) subscribe.unacknowledged_tasks = [...unacknowledgedTasks.values()];
    if (updates.size > 0) subscribe.unacknowledged_updates = [...updates.values()];
    return { ...ids, type: 'SUBSCRIBE', subscribe };
  }

  function track(task: TaskInfo): void {
    unacknowledgedTasks.set(task.task_id.value, task);
    activeTasks.set(task.task_id.value, task);
  }

  function handle(event: ExecutorEvent): void {
    switch (event.type) {
      case 'SUBSCRIBED':
        if (event.subscribed) {
          subscribed = event.subscribed;
          agentId = event.subscribed.agent_info.id ?? agentId;
        }
        state = 'subscribed';
        scheduleHeartbeat();
        logger.info?.('Subscribed with the agent.', { agentUrl: config.agentUrl });
        break;
      case 'LAUNCH':
        if (event.launch) track(event.launch.task);
        break;
      case 'LAUNCH_GROUP':
        for (const task of event.launch_group?.task_group.tasks ?? []) track(task);
        break;
      case 'ACKNOWLEDGED': {
        const acknowledged = event.acknowledged;
        if (!acknowledged) break;
        const key = hex(acknowledged.uuid);
        const update = updates.get(key);
        if (update && update.status.task_id.value === acknowledged.task_id.value) updates.delete(key);
        else logger.debug?.('ACKNOWLEDGED names an update this client does not hold.', { uuid: key });
        unacknowledgedTasks.delete(acknowledged.task_id.value);
        break;
      }
      case 'SHUTDOWN':
        shutdownReceived = true;
        break;
      default:
        break;
    }
    emit('event', event);
    if (event.type !== undefined) emit(event.type, event as never);
    queue.push(event);
  }

  /** Reads one subscription until it ends; resolves to whether SUBSCRIBED was received, and the failure. */
  async function readSubscription(): Promise<{ subscribedNow: boolean; error?: unknown }> {
    let subscribedNow = false;
    try {
      stream = await openMesosStream({
        url: config.agentUrl,
        body: callCodec.encode(subscribeCall()),
        contentType,
        callType: 'SUBSCRIBE',
        ...(authorization === undefined ? {} : { authorization }),
        // Without a user dispatcher, a socket of its own read without undici (see `direct`).
        ...(streamDispatcher === undefined ? { direct: true } : { dispatcher: streamDispatcher }),
        signal: abort.signal,
      });
      // Handling is synchronous: the events of one read from the socket go in a plain loop.
      for await (const batch of stream.batches) {
        for (const record of batch) {
          const event = eventCodec.decode(record);
          logger.debug?.(`Received ${event.type ?? 'an unknown event'}.`);
          if (event.type === 'SUBSCRIBED') subscribedNow = true;
          handle(event);
        }
      }
      return { subscribedNow };
    } catch (error) {
      return { subscribedNow, error };
    } finally {
      stream?.close();
      stream = undefined;
      stopHeartbeat();
      // From here on, updates can only go with the next SUBSCRIBE (if there is one).
      if (state === 'subscribed') state = config.checkpoint && !shutdownReceived ? 'reconnecting' : 'connecting';
    }
  }

  async function run(): Promise<void> {
    let everSubscribed = false;
    let deadline: number | undefined;
    let attempt = 0;
    // Full jitter over an exponential ceiling capped at MESOS_SUBSCRIPTION_BACKOFF_MAX, so every
    // wait stays within it, as the agent requires of a recovering executor.
    // https://mesos.apache.org/documentation/latest/executor-http-api/#backoff-strategies
    const backoffMaxMs = Math.max(1, config.subscriptionBackoffMaxMs);
    const backoff = createBackoff({
      initialMs: Math.min(INITIAL_BACKOFF_MS, backoffMaxMs),
      maxMs: backoffMaxMs,
      jitter: 1,
      random,
    });
    for (;;) {
      const { subscribedNow, error } = await readSubscription();
      if (abort.signal.aborted) return finish({ outcome: 'closed', reason: 'the executor closed the client' });
      if (isSparkMesosError(error, 'SM_ERR_MESOS_DECODE')) {
        // Garbage on the stream would come back on every re-subscription.
        return finish({ outcome: 'failed', reason: error.message, error });
      }
      const reason =
        error === undefined
          ? 'the agent closed the subscription stream'
          : `the subscription failed: ${error instanceof Error ? error.message : String(error)}`;
      if (subscribedNow) {
        everSubscribed = true;
        deadline = undefined;
        attempt = 0;
        backoff.reset();
        const willReconnect = config.checkpoint && !shutdownReceived;
        logger.info?.(`Disconnected from the agent: ${reason}.`, { willReconnect });
        emit('disconnected', { reason, ...(error === undefined ? {} : { error }), willReconnect });
        if (shutdownReceived) return finish({ outcome: 'shutdown', reason: `after SHUTDOWN, ${reason}` });
        if (!config.checkpoint) {
          return finish({
            outcome: 'disconnected',
            reason: `${reason}; the framework does not checkpoint (MESOS_CHECKPOINT is not 1), so the executor should exit`,
          });
        }
      } else if (error !== undefined && !isRetryable(error) && !isSparkMesosError(error, 'SM_ERR_MESOS_NOT_FOUND')) {
        const failure =
          error instanceof SparkMesosError
            ? error
            : new SparkMesosError('SM_ERR_MESOS_NETWORK', `The executor subscription failed: ${String(error)}.`, {
                cause: error,
              });
        return finish({ outcome: 'failed', reason: failure.message, error: failure });
      } else if (everSubscribed && !config.checkpoint) {
        return finish({ outcome: 'disconnected', reason });
      }
      state = everSubscribed ? 'reconnecting' : 'connecting';
      const now = timers.now();
      deadline ??= now + config.recoveryTimeoutMs;
      if (attempt > 0 || !subscribedNow) {
        const remaining = deadline - now;
        if (remaining <= 0) {
          const failure = new SparkMesosError(
            'SM_ERR_EXECUTOR_RECOVERY_TIMEOUT',
            `Could not subscribe with the agent at "${config.agentUrl}" within MESOS_RECOVERY_TIMEOUT (${formatStoutDuration(config.recoveryTimeoutMs)}); last problem: ${reason}. The executor should exit; the agent will consider it gone.`,
            {
              cause: error ?? { reason },
              details: { agentUrl: config.agentUrl, recoveryTimeoutMs: config.recoveryTimeoutMs, attempts: attempt },
            },
          );
          return finish({ outcome: 'failed', reason: failure.message, error: failure });
        }
        const delay = Math.min(remaining, backoff.next());
        logger.info?.(`Subscribing again in ${Math.round(delay)} ms: ${reason}.`);
        await sleep(delay);
        if (abort.signal.aborted) return finish({ outcome: 'closed', reason: 'the executor closed the client' });
      }
      // Mesos' own library re-connects at once after a disconnection, then backs off.
      attempt += 1;
    }
  }

  function notSubscribed(what: string): SparkMesosError {
    if (state === 'ended') {
      return new SparkMesosError('SM_ERR_CLOSED', `The executor client has ended; cannot send ${what}.`, {
        cause: { state },
      });
    }
    return new SparkMesosError(
      'SM_ERR_EXECUTOR_NOT_SUBSCRIBED',
      `Cannot send ${what} before the executor is subscribed with the agent: wait for the SUBSCRIBED event.`,
      { cause: { state } },
    );
  }

  async function update(input: ExecutorStatusInput): Promise<TaskStatus> {
    if (input?.task_id?.value === undefined || input.state === undefined) {
      throw new SparkMesosError(
        'SM_ERR_EXECUTOR_BAD_UPDATE',
        'A status update needs task_id ({ value }) and state (e.g. TASK_RUNNING).',
        { cause: { task_id: input?.task_id, state: input?.state } },
      );
    }
    if (input.uuid !== undefined && input.uuid.length !== 16) {
      throw new SparkMesosError(
        'SM_ERR_EXECUTOR_BAD_UPDATE',
        `The status update uuid of task "${input.task_id.value}" has ${input.uuid.length} bytes; Mesos needs 16 (leave it out to get a random one).`,
        { cause: { uuidLength: input.uuid.length }, details: { taskId: input.task_id.value } },
      );
    }
    if (state === 'ended' || state === 'connecting') throw notSubscribed('a status update');
    const status: TaskStatus = {
      ...input,
      uuid: input.uuid ?? uuidVersion4(randomBytes(16)),
      timestamp: input.timestamp ?? timers.now() / 1000,
      source: input.source ?? 'SOURCE_EXECUTOR',
      executor_id: input.executor_id ?? ids.executor_id,
      ...((input.agent_id ?? agentId) ? { agent_id: input.agent_id ?? agentId } : {}),
    };
    const key = hex(status.uuid!);
    // Tracked before anything is awaited, so that an ACKNOWLEDGED read meanwhile finds it.
    updates.set(key, { status });
    if (isTerminalTaskState(status.state)) activeTasks.delete(status.task_id.value);
    if (state !== 'subscribed') return status; // goes with the next SUBSCRIBE
    try {
      await send({ ...ids, type: 'UPDATE', update: { status } });
    } catch (error) {
      // A rejected update would be rejected again; a lost one goes with the next SUBSCRIBE.
      if (!isSparkMesosError(error, 'SM_ERR_MESOS_NETWORK')) updates.delete(key);
      if (abort.signal.aborted) throw notSubscribed('a status update');
      throw error;
    }
    return status;
  }

  async function message(data: Uint8Array): Promise<void> {
    if (state !== 'subscribed') throw notSubscribed('a message');
    await send({ ...ids, type: 'MESSAGE', message: { data } });
  }

  async function close(): Promise<void> {
    if (!abort.signal.aborted) {
      abort.abort();
      stream?.close();
      if (wait) {
        timers.clearTimeout(wait.handle);
        const { resolve } = wait;
        wait = undefined;
        resolve();
      }
    }
    await done;
  }

  const events = (): AsyncIterableIterator<ExecutorEvent> => {
    if (iteratorTaken) {
      throw new SparkMesosError(
        'SM_ERR_EXECUTOR_EVENTS_TAKEN',
        'The executor events are already being iterated: iterate once, or use on() listeners for more consumers.',
        { cause: { iteratorTaken } },
      );
    }
    iteratorTaken = true;
    const iterator: AsyncIterableIterator<ExecutorEvent> = {
      next: () => queue.next(),
      return: async () => ({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  };

  void run().catch((error: unknown) => {
    const failure =
      error instanceof SparkMesosError
        ? error
        : new SparkMesosError('SM_ERR_MESOS_NETWORK', `The executor client failed: ${String(error)}.`, {
            cause: error,
          });
    finish({ outcome: 'failed', reason: failure.message, error: failure });
  });

  return {
    config,
    get state() {
      return state;
    },
    get subscribed() {
      return subscribed;
    },
    get unacknowledgedUpdates() {
      return [...updates.values()];
    },
    get unacknowledgedTasks() {
      return [...unacknowledgedTasks.values()];
    },
    get activeTasks() {
      return [...activeTasks.values()];
    },
    done,
    events,
    [Symbol.asyncIterator]: events,
    on(type, listener) {
      let set = listeners.get(type);
      if (!set) {
        set = new Set();
        listeners.set(type, set);
      }
      set.add(listener as (value: never) => void);
      return () => {
        set.delete(listener as (value: never) => void);
      };
    },
    update,
    message,
    close,
  };
}
