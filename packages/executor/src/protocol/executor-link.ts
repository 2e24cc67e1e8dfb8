import { connect } from 'node:net';
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
  type TaskOutcomeReport,
} from './messages.js';

/** What the executor does with the driver's messages. */
export interface ExecutorLinkHandlers {
  /** A batch of tasks to run. */
  launch(tasks: TaskSpec[]): void;
  /** Kill one task, after asking it to stop and waiting `graceMs` (0: at once). */
  kill(taskId: string, reason: string, graceMs: number): void;
  /** Stop: kill what still runs after `timeoutMs`, then exit. */
  shutdown(timeoutMs: number, reason: string): void;
  /** The connection ended (after it was established); `reason` says why. */
  disconnected(reason: string): void;
}

/** Options of {@link connectDriverLink}. */
export interface ExecutorLinkOptions {
  /** The driver's address. */
  driver: { host: string; port: number };
  /** The application secret (the bytes the driver generated). */
  secret: Uint8Array;
  /** What this executor registers as. */
  registration: ExecutorRegistration;
  /** The executor's reactions to the driver's messages. */
  handlers: ExecutorLinkHandlers;
  /** How often heartbeats go to the driver. @default 2000 */
  heartbeatIntervalMs?: number;
  /** A driver silent for this long is treated as gone (the connection is closed). @default 20000 */
  heartbeatTimeoutMs?: number;
  /** Connecting, the handshake and registration must end within this. @default 10000 */
  connectTimeoutMs?: number;
  /** The largest frame accepted from the authenticated driver. @default 512 MiB */
  maxFrameBytes?: number;
  /** Where refusals and protocol problems are logged. @default warnings to stderr */
  log?: LinkLogger;
}

/** An executor's established, authenticated connection to its driver. */
export interface ExecutorLink {
  /** Reports a task's ending; reports of the same tick go out as one frame. */
  sendOutcome(taskId: string, outcome: TaskOutcome): void;
  /** Says goodbye and closes the connection. */
  close(reason: string): Promise<void>;
  /** Whether the connection is still open. */
  readonly connected: boolean;
}

/**
 * Dials the driver, answers its challenge, checks the driver's own proof (the executor takes no
 * work from a peer that cannot prove it holds the secret), registers, and resolves once the
 * driver has confirmed. Rejects with `SM_ERR_DRIVER_LINK_REFUSED` when either side refuses, and
 * with `SM_ERR_DRIVER_UNREACHABLE` when the driver cannot be reached in time.
 */
export function connectDriverLink(options: ExecutorLinkOptions): Promise<ExecutorLink> {
  const log = options.log ?? STDERR_LINK_LOGGER;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 2000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 20_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const driverText = `${options.driver.host}:${options.driver.port}`;
  return new Promise<ExecutorLink>((resolve, reject) => {
    let state: 'connecting' | 'challenged' | 'proved' | 'registered' | 'closed' = 'connecting';
    const executorNonce = createNonce();
    let driverNonce: Buffer | undefined;
    let driverProved = false;
    let pending: TaskOutcomeReport[] = [];
    let flushScheduled = false;
    let closedResolve: () => void = () => {};
    const closed = new Promise<void>((resolveClosed) => {
      closedResolve = resolveClosed;
    });
    let failure: SparkMesosError | undefined;

    const socket = connect({ host: options.driver.host, port: options.driver.port });
    const timer = setTimeout(() => {
      failure ??= new SparkMesosError(
        'SM_ERR_DRIVER_UNREACHABLE',
        `the driver at ${driverText} did not complete the handshake within ${connectTimeoutMs} ms; check --driver and that the driver is running`,
        { cause: { driver: driverText, connectTimeoutMs } },
      );
      link.destroy(failure.message);
    }, connectTimeoutMs);

    function refuse(reason: string): void {
      log('warn', `driver link: refused the driver at ${driverText}: ${reason}`);
      failure = new SparkMesosError('SM_ERR_DRIVER_LINK_REFUSED', `refused the driver at ${driverText}: ${reason}`, {
        cause: { driver: driverText },
      });
      link.sendJson({ type: 'refused', reason } satisfies HandshakeMessage);
      state = 'closed';
      link.close(reason);
    }

    function flush(): void {
      flushScheduled = false;
      if (pending.length === 0) return;
      const outcomes = pending;
      pending = [];
      link.send({ type: 'outcomes', outcomes } satisfies ExecutorMessage);
    }

    const established: ExecutorLink = {
      sendOutcome(taskId, outcome) {
        if (state !== 'registered') return;
        pending.push({ taskId, outcome });
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      },
      async close(reason) {
        if (state === 'registered') {
          flush();
          link.send({ type: 'goodbye', reason } satisfies ExecutorMessage);
          state = 'closed';
          link.close(reason);
        }
        await closed;
      },
      get connected() {
        return state === 'registered';
      },
    };

    function onHandshake(message: HandshakeMessage): void {
      if (message.type === 'refused') {
        log('warn', `driver link: the driver at ${driverText} refused this executor: ${message.reason}`);
        failure = new SparkMesosError(
          'SM_ERR_DRIVER_LINK_REFUSED',
          `the driver at ${driverText} refused this executor: ${message.reason}`,
          { cause: { driver: driverText } },
        );
        state = 'closed';
        link.close(message.reason);
        return;
      }
      if (state === 'challenged' && message.type === 'challenge') {
        if (message.protocol !== DRIVER_LINK_PROTOCOL_VERSION) {
          refuse(
            `driver link protocol ${String(message.protocol)} is not ${DRIVER_LINK_PROTOCOL_VERSION}; use the same spark-mesos version on both sides`,
          );
          return;
        }
        driverNonce = parseNonce(message.nonce);
        if (driverNonce === undefined) {
          refuse('the challenge has no valid nonce');
          return;
        }
        link.sendJson({
          type: 'response',
          protocol: DRIVER_LINK_PROTOCOL_VERSION,
          nonce: executorNonce.toString('hex'),
          proof: handshakeProof(options.secret, 'executor', driverNonce, executorNonce).toString('hex'),
        } satisfies HandshakeMessage);
        state = 'proved';
        return;
      }
      if (state === 'proved' && message.type === 'proof' && driverNonce !== undefined) {
        const expected = handshakeProof(options.secret, 'driver', driverNonce, executorNonce);
        if (!proofMatches(expected, message.proof)) {
          refuse('the driver did not prove it holds the application secret');
          return;
        }
        driverProved = true;
        link.authenticated(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
        link.send({ type: 'register', registration: options.registration } satisfies ExecutorMessage);
        return;
      }
      refuse(`unexpected handshake message "${String(message.type)}"`);
    }

    function onMessage(message: DriverMessage): void {
      if (state === 'proved') {
        if (message.type !== 'registered') {
          refuse(`expected the registration to be confirmed, got "${String(message.type)}"`);
          return;
        }
        state = 'registered';
        clearTimeout(timer);
        link.startHeartbeats(heartbeatIntervalMs, heartbeatTimeoutMs);
        resolve(established);
        return;
      }
      if (state !== 'registered') return;
      switch (message.type) {
        case 'launch':
          options.handlers.launch(message.tasks);
          return;
        case 'kill':
          options.handlers.kill(message.taskId, message.reason, message.graceMs ?? 0);
          return;
        case 'shutdown':
          options.handlers.shutdown(message.timeoutMs, message.reason);
          return;
        default:
          log(
            'warn',
            `driver link: unknown message "${String((message as { type?: unknown }).type)}" from the driver; ignored`,
          );
      }
    }

    function onFrame(frame: Frame): void {
      if (frame.kind === 'heartbeat' || state === 'closed') return;
      if (frame.kind === 'json') {
        onHandshake(frame.value as HandshakeMessage);
        return;
      }
      // Work is taken only from a driver that proved it holds the secret.
      if (!driverProved) {
        refuse('the driver sent a message before proving it holds the application secret');
        return;
      }
      onMessage(frame.value as DriverMessage);
    }

    const link = new FramedSocket(socket, {
      frame: onFrame,
      closed: (reason) => {
        clearTimeout(timer);
        const wasRegistered = state === 'registered';
        state = 'closed';
        closedResolve();
        if (wasRegistered) {
          options.handlers.disconnected(reason);
          return;
        }
        reject(
          failure ??
            new SparkMesosError(
              'SM_ERR_DRIVER_UNREACHABLE',
              `could not register with the driver at ${driverText}: ${reason}; check --driver and that the driver is running`,
              { cause: { driver: driverText, reason } },
            ),
        );
      },
    });
    socket.on('connect', () => {
      if (state === 'connecting') state = 'challenged';
    });
  });
}
