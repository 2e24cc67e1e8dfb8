import { createServer, type Server, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { SparkMesosError } from '@spark-mesos/errors';
import type { TaskOutcome, TaskSpec } from '../task-spec.js';
import { FramedSocket } from './framed-socket.js';
import { DEFAULT_MAX_FRAME_BYTES, type Frame } from './frames.js';
import { createNonce, DRIVER_LINK_PROTOCOL_VERSION, handshakeProof, parseNonce, proofMatches } from './handshake.js';
import {
  type DriverMessage,
  type ExecutorMessage,
  type ExecutorRegistration,
  type HandshakeMessage,
  type LinkLogger,
  STDERR_LINK_LOGGER,
} from './messages.js';
import { forEachFinished, packTasks } from './packed.js';

/** Options of {@link createDriverEndpoint}. */
export interface DriverEndpointOptions {
  /** The application secret (32 random bytes); executors must prove they hold it. */
  secret: Uint8Array;
  /** The address to listen on. @default '0.0.0.0' */
  host?: string;
  /** The port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /**
   * The host executors should dial (what `address.host` says).
   * @default `host`, or the machine's hostname when `host` is a wildcard address
   */
  advertisedHost?: string;
  /** How often each side sends a heartbeat. @default 2000 */
  heartbeatIntervalMs?: number;
  /** An executor silent for this long is lost. @default 20000 */
  heartbeatTimeoutMs?: number;
  /** A connection that has not finished the handshake and registered within this is closed. @default 10000 */
  handshakeTimeoutMs?: number;
  /** The largest frame accepted from an authenticated executor. @default 512 MiB */
  maxFrameBytes?: number;
  /** Where refused connections, lost executors and protocol errors are logged. @default warnings to stderr */
  log?: LinkLogger;
}

/** A registered executor, as the driver sees it. */
export interface RegisteredExecutor extends ExecutorRegistration {
  /** The executor's address as `host:port`. */
  remoteAddress: string;
}

/** The events of a {@link DriverEndpoint} and their payloads. */
export interface DriverEndpointEvents {
  /** An executor proved the secret and registered. */
  executorRegistered: RegisteredExecutor;
  /** A task ended on an executor. */
  taskOutcome: { executorId: string; taskId: string; outcome: TaskOutcome };
  /** A registered executor's connection ended (closed, silent, shut down, replaced). */
  executorLost: { executorId: string; reason: string };
  /** A connection was refused (wrong secret, bad protocol, no registration in time). */
  connectionRefused: { remoteAddress: string; reason: string };
}

/** The driver's end of the driver ↔ executor link. */
export interface DriverEndpoint {
  /** Where executors dial (`host` is the advertised host). */
  readonly address: { host: string; port: number };
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof DriverEndpointEvents>(event: E, listener: (payload: DriverEndpointEvents[E]) => void): () => void;
  /** The executors registered now. */
  executors(): RegisteredExecutor[];
  /**
   * Sends a batch of tasks to an executor. Returns at once (the executor queues what it cannot
   * start yet, so the driver may pipeline more than its slots). Throws
   * `SM_ERR_EXECUTOR_NOT_CONNECTED` for an executor that is not registered.
   */
  launch(executorId: string, tasks: TaskSpec[]): void;
  /**
   * Asks an executor to kill a task; its outcome comes back as `killed`. With `graceMs` the task
   * is first asked to stop (its `context.signal` aborts) and terminated only after that long.
   */
  kill(executorId: string, taskId: string, reason?: string, options?: { graceMs?: number }): void;
  /**
   * Tells an executor to stop: it kills running tasks after `timeoutMs` and exits. Resolves
   * when its connection has closed (destroyed after `timeoutMs` plus a second if it has not).
   */
  shutdown(executorId: string, options?: { timeoutMs?: number; reason?: string }): Promise<void>;
  /** Shuts every executor down (without waiting for them) and stops listening. */
  close(): Promise<void>;
  /** Lets the endpoint keep the Node process alive again (the default), after {@link DriverEndpoint.unref}. */
  ref(): void;
  /**
   * Stops the endpoint from keeping the Node process alive, as `server.unref()`: its listening
   * server and its executors' connections (those accepted later too) no longer count. Frames
   * are still exchanged while something else keeps the process running. For a driver with no
   * work under way, so that a program ends when its own work does.
   */
  unref(): void;
}

interface Connection {
  readonly link: FramedSocket;
  state: 'challenged' | 'authenticated' | 'registered' | 'closed';
  readonly driverNonce: Buffer;
  registration: RegisteredExecutor | undefined;
  readonly closedPromise: Promise<void>;
  resolveClosed: () => void;
  handshakeTimer: NodeJS.Timeout | undefined;
  readonly socket: Socket;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

function notConnected(executorId: string): SparkMesosError {
  return new SparkMesosError(
    'SM_ERR_EXECUTOR_NOT_CONNECTED',
    `executor "${executorId}" is not connected to this driver; wait for its executorRegistered event, or treat it as lost`,
    { cause: { executorId } },
  );
}

function isRegistration(value: unknown): value is ExecutorRegistration {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.executorId === 'string' &&
    r.executorId.length > 0 &&
    typeof r.hostname === 'string' &&
    typeof r.cores === 'number' &&
    typeof r.memoryMiB === 'number' &&
    (r.mode === 'coarse' || r.mode === 'fine') &&
    typeof r.slots === 'number' &&
    (r.agentId === undefined || typeof r.agentId === 'string')
  );
}

/**
 * Starts the driver's end of the link executors dial: a TCP server that admits an executor only
 * after it proves it holds the application secret (and proves the same to it), then takes its
 * registration and carries task batches, kills, shutdowns and outcomes.
 *
 * @see ../../README.md#driver-link for the wire format.
 */
export async function createDriverEndpoint(options: DriverEndpointOptions): Promise<DriverEndpoint> {
  if (!(options.secret instanceof Uint8Array) || options.secret.length < 16) {
    throw new SparkMesosError(
      'SM_ERR_BAD_APP_SECRET',
      `the application secret must be at least 16 bytes, got ${options.secret instanceof Uint8Array ? `${options.secret.length} bytes` : typeof options.secret}; use createAppSecret()`,
      { cause: { secretBytes: options.secret instanceof Uint8Array ? options.secret.length : undefined } },
    );
  }
  const secret = options.secret;
  const host = options.host ?? '0.0.0.0';
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 2000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 20_000;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const log = options.log ?? STDERR_LINK_LOGGER;
  const listeners = new Map<keyof DriverEndpointEvents, Set<(payload: never) => void>>();
  const connections = new Set<Connection>();
  const byExecutor = new Map<string, Connection>();

  function emit<E extends keyof DriverEndpointEvents>(event: E, payload: DriverEndpointEvents[E]): void {
    const set = listeners.get(event) as Set<(payload: DriverEndpointEvents[E]) => void> | undefined;
    if (set === undefined) return;
    for (const listener of set) {
      try {
        listener(payload);
      } catch (error) {
        log('error', `a ${event} listener threw: ${(error as Error)?.stack ?? String(error)}`);
      }
    }
  }

  function refuse(connection: Connection, reason: string): void {
    log('warn', `driver link: refused connection from ${connection.link.remote}: ${reason}`);
    emit('connectionRefused', { remoteAddress: connection.link.remote, reason });
    connection.link.sendJson({ type: 'refused', reason } satisfies HandshakeMessage);
    connection.state = 'closed';
    connection.link.close(reason);
  }

  function onHandshake(connection: Connection, message: HandshakeMessage): void {
    if (connection.state !== 'challenged') {
      refuse(connection, `unexpected handshake message "${message.type}" after the handshake`);
      return;
    }
    if (message.type === 'refused') {
      // The executor refused this driver: our proof did not match its secret.
      log('warn', `driver link: executor at ${connection.link.remote} refused this driver: ${message.reason}`);
      emit('connectionRefused', {
        remoteAddress: connection.link.remote,
        reason: `the executor refused: ${message.reason}`,
      });
      connection.state = 'closed';
      connection.link.close(message.reason);
      return;
    }
    if (message.type !== 'response') {
      refuse(connection, `expected a challenge response, got "${String(message.type)}"`);
      return;
    }
    if (message.protocol !== DRIVER_LINK_PROTOCOL_VERSION) {
      refuse(
        connection,
        `driver link protocol ${String(message.protocol)} is not ${DRIVER_LINK_PROTOCOL_VERSION}; use the same spark-mesos version on both sides`,
      );
      return;
    }
    const executorNonce = parseNonce(message.nonce);
    if (executorNonce === undefined) {
      refuse(connection, 'the challenge response has no valid nonce');
      return;
    }
    const expected = handshakeProof(secret, 'executor', connection.driverNonce, executorNonce);
    if (!proofMatches(expected, message.proof)) {
      refuse(connection, 'the executor did not prove it holds the application secret (wrong SPARK_MESOS_APP_SECRET?)');
      return;
    }
    connection.state = 'authenticated';
    connection.link.authenticated(maxFrameBytes);
    connection.link.sendJson({
      type: 'proof',
      proof: handshakeProof(secret, 'driver', connection.driverNonce, executorNonce).toString('hex'),
    } satisfies HandshakeMessage);
  }

  function onMessage(connection: Connection, message: ExecutorMessage): void {
    if (connection.state === 'authenticated') {
      if (message.type !== 'register' || !isRegistration(message.registration)) {
        refuse(connection, `expected a registration, got "${String((message as { type?: unknown }).type)}"`);
        return;
      }
      if (connection.handshakeTimer !== undefined) clearTimeout(connection.handshakeTimer);
      const registration: RegisteredExecutor = { ...message.registration, remoteAddress: connection.link.remote };
      const previous = byExecutor.get(registration.executorId);
      if (previous !== undefined) {
        // A reconnecting executor replaces its old connection; the old one is lost.
        previous.link.close(`executor ${registration.executorId} connected again from ${connection.link.remote}`);
      }
      connection.registration = registration;
      connection.state = 'registered';
      byExecutor.set(registration.executorId, connection);
      connection.link.startHeartbeats(heartbeatIntervalMs, heartbeatTimeoutMs);
      connection.link.send({ type: 'registered' } satisfies DriverMessage);
      log(
        'info',
        `driver link: executor ${registration.executorId} registered from ${connection.link.remote} (${registration.hostname}, ${registration.slots} slots)`,
      );
      emit('executorRegistered', registration);
      return;
    }
    const executorId = connection.registration?.executorId as string;
    switch (message.type) {
      case 'outcomes':
        if (message.finished !== undefined) {
          forEachFinished(message.finished, (taskId, outcome) => emit('taskOutcome', { executorId, taskId, outcome }));
        }
        for (const report of message.outcomes) {
          emit('taskOutcome', { executorId, taskId: report.taskId, outcome: report.outcome });
        }
        return;
      case 'goodbye':
        connection.link.closeReason ??= `executor said goodbye: ${message.reason}`;
        return;
      default:
        log(
          'warn',
          `driver link: executor ${executorId} sent an unknown message "${String((message as { type?: unknown }).type)}"; ignored`,
        );
    }
  }

  function onFrame(connection: Connection, frame: Frame): void {
    if (frame.kind === 'heartbeat') return;
    if (frame.kind === 'json') {
      onHandshake(connection, frame.value as HandshakeMessage);
      return;
    }
    if (connection.state === 'challenged') {
      refuse(connection, 'sent a message before proving it holds the application secret');
      return;
    }
    if (connection.state === 'closed') return;
    onMessage(connection, frame.value as ExecutorMessage);
  }

  function onConnection(socket: Socket): void {
    let resolveClosed: () => void = () => {};
    const closedPromise = new Promise<void>((resolve) => {
      resolveClosed = resolve;
    });
    const connection: Connection = {
      link: undefined as unknown as FramedSocket,
      state: 'challenged',
      driverNonce: createNonce(),
      registration: undefined,
      closedPromise,
      resolveClosed,
      handshakeTimer: undefined,
      socket,
    };
    if (!referenced) socket.unref();
    (connection as { link: FramedSocket }).link = new FramedSocket(socket, {
      frame: (frame) => onFrame(connection, frame),
      closed: (reason) => {
        const wasRegistered = connection.state === 'registered';
        const wasChallenged = connection.state === 'challenged' || connection.state === 'authenticated';
        connection.state = 'closed';
        if (connection.handshakeTimer !== undefined) clearTimeout(connection.handshakeTimer);
        connections.delete(connection);
        const registration = connection.registration;
        if (wasRegistered && registration !== undefined && byExecutor.get(registration.executorId) === connection) {
          byExecutor.delete(registration.executorId);
          log('info', `driver link: executor ${registration.executorId} lost: ${reason}`);
          emit('executorLost', { executorId: registration.executorId, reason });
        } else if (wasChallenged) {
          log('warn', `driver link: connection from ${connection.link.remote} closed before registering: ${reason}`);
          emit('connectionRefused', {
            remoteAddress: connection.link.remote,
            reason: `closed before registering: ${reason}`,
          });
        }
        connection.resolveClosed();
      },
    });
    connections.add(connection);
    connection.handshakeTimer = setTimeout(() => {
      if (connection.state === 'challenged' || connection.state === 'authenticated') {
        refuse(connection, `no handshake and registration within ${handshakeTimeoutMs} ms`);
      }
    }, handshakeTimeoutMs);
    connection.handshakeTimer.unref();
    connection.link.sendJson({
      type: 'challenge',
      protocol: DRIVER_LINK_PROTOCOL_VERSION,
      nonce: connection.driverNonce.toString('hex'),
    } satisfies HandshakeMessage);
  }

  // Whether the server and the connections keep the process alive (see unref()).
  let referenced = true;
  const server: Server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log('error', `driver link server error: ${error.message}`));
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : (options.port ?? 0);
  const advertisedHost = options.advertisedHost ?? (WILDCARDS.has(host) ? osHostname() : host);

  function registered(executorId: string): Connection {
    const connection = byExecutor.get(executorId);
    if (connection === undefined || connection.state !== 'registered') throw notConnected(executorId);
    return connection;
  }

  return {
    address: { host: advertisedHost, port },
    on(event, listener) {
      let set = listeners.get(event);
      if (set === undefined) {
        set = new Set();
        listeners.set(event, set);
      }
      const entry = listener as (payload: never) => void;
      set.add(entry);
      return () => {
        set.delete(entry);
      };
    },
    executors() {
      return [...byExecutor.values()].map((connection) => connection.registration as RegisteredExecutor);
    },
    launch(executorId, tasks) {
      if (tasks.length === 0) return;
      registered(executorId).link.send({ type: 'launch', tasks: packTasks(tasks) } satisfies DriverMessage);
    },
    kill(executorId, taskId, reason = 'killed by the driver', killOptions = {}) {
      const graceMs = killOptions.graceMs ?? 0;
      registered(executorId).link.send({
        type: 'kill',
        taskId,
        reason,
        ...(graceMs > 0 ? { graceMs } : {}),
      } satisfies DriverMessage);
    },
    async shutdown(executorId, shutdownOptions = {}) {
      const connection = byExecutor.get(executorId);
      if (connection === undefined) return;
      const timeoutMs = shutdownOptions.timeoutMs ?? 10_000;
      const reason = shutdownOptions.reason ?? 'shut down by the driver';
      connection.link.closeReason ??= reason;
      connection.link.send({ type: 'shutdown', timeoutMs, reason } satisfies DriverMessage);
      const timer = setTimeout(
        () => connection.link.destroy(`${reason} (did not exit within ${timeoutMs} ms)`),
        timeoutMs + 1000,
      );
      timer.unref();
      await connection.closedPromise;
      clearTimeout(timer);
    },
    async close() {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) {
        if (connection.state === 'registered') {
          connection.link.closeReason ??= 'the driver closed its endpoint';
          connection.link.send({
            type: 'shutdown',
            timeoutMs: 0,
            reason: 'the driver closed its endpoint',
          } satisfies DriverMessage);
        }
        connection.link.close('the driver closed its endpoint');
      }
      await Promise.all([...connections].map((connection) => connection.closedPromise));
      await closing;
    },
    ref() {
      referenced = true;
      server.ref();
      for (const connection of connections) connection.socket.ref();
    },
    unref() {
      referenced = false;
      server.unref();
      for (const connection of connections) connection.socket.unref();
    },
  };
}
