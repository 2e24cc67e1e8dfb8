import { SparkMesosError } from '@spark-mesos/errors';
import type { Client, Event, State } from 'node-zookeeper-client';
import zookeeper from 'node-zookeeper-client';
import { formatHost } from './host.js';
import {
  type DetectOptions,
  defaultLogger,
  type LeaderListener,
  type Logger,
  type MasterAddress,
  type MasterDetector,
} from './master-detector.js';
import { parseMasterInfo } from './master-info.js';
import type { MasterScheme, ZooKeeperDigestAuth, ZooKeeperServer } from './master-url.js';
import { selectLeader } from './select-leader.js';

/** Options node-zookeeper-client's `createClient` takes, as the detector sets them. */
export interface ZooKeeperClientOptions {
  /** Requested session timeout in milliseconds. */
  readonly sessionTimeout: number;
  /** Longest random pause between rounds of connection attempts, in milliseconds. */
  readonly spinDelay: number;
  /** Retries of a failed operation by the client itself (0: the detector re-reads instead). */
  readonly retries: number;
}

/** Makes a ZooKeeper client; a seam for tests. */
export type CreateZooKeeperClient = (connectionString: string, options: ZooKeeperClientOptions) => Client;

/** Options of {@link createZooKeeperDetector}. */
export interface ZooKeeperDetectorOptions {
  /** The ZooKeeper ensemble (from `mesos://zk://h1:2181,h2:2181/…`). */
  readonly servers: readonly ZooKeeperServer[];
  /** The znode the masters register under, e.g. `/mesos`. */
  readonly path: string;
  /** Digest credentials, sent with `addAuthInfo('digest', 'user:password')`. @default undefined */
  readonly auth?: ZooKeeperDigestAuth;
  /** Scheme the detected leader is reached over. @default 'http' */
  readonly scheme?: MasterScheme;
  /** ZooKeeper session timeout requested (the server may clamp it). @default 10000 */
  readonly sessionTimeoutMs?: number;
  /**
   * How long a {@link MasterDetector.detect} call waits for a ZooKeeper connection before it
   * rejects with `SM_ERR_ZOOKEEPER`; the detector keeps trying in the background. @default 15000
   */
  readonly connectTimeoutMs?: number;
  /**
   * How long a {@link MasterDetector.detect} call waits for a leader before it rejects with
   * `SM_ERR_NO_LEADER`. Undefined waits as long as it takes, as Mesos schedulers do.
   * @default undefined
   */
  readonly leaderTimeoutMs?: number;
  /** Where connection changes, leader changes and problems are reported. @default defaultLogger */
  readonly logger?: Logger;
  /** Makes the ZooKeeper client. @default node-zookeeper-client's createClient */
  readonly createClient?: CreateZooKeeperClient;
}

interface Waiter {
  resolve(address: MasterAddress): void;
  reject(error: unknown): void;
}

/** What one reading of the znode found. */
type Outcome =
  | { readonly kind: 'leader'; readonly address: MasterAddress; readonly node: string }
  | { readonly kind: 'none'; readonly pathMissing: boolean }
  | { readonly kind: 'problem'; readonly error: SparkMesosError }
  // The connection dropped mid-read: read again once it is back.
  | { readonly kind: 'retry-on-connect' }
  // The znode changed between two calls: read again now.
  | { readonly kind: 'again' };

const { Exception, State: States } = zookeeper;

function errorCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number'
    ? (error as { code: number }).code
    : undefined;
}

function isState(state: State, expected: State): boolean {
  return state.code === expected.code;
}

/**
 * Detects the leading Mesos master through ZooKeeper, the way Mesos' ZooKeeper master detector
 * does: list the children of `path` (watching them), take the contender with the lowest numeric
 * sequence among `json.info_*` (and legacy `info_*`) nodes, read its `MasterInfo` JSON, and watch
 * for changes. The connection starts on the first {@link MasterDetector.detect} or
 * {@link MasterDetector.onChange} call.
 *
 * Behaviour worth knowing:
 * - A missing `path` is waited for (masters not started yet), not an error.
 * - While disconnected the last leader is kept; on session expiry the leader is reported lost
 *   (`undefined`), a new session is made and the children are listed and watched again.
 * - A session that has had no connection for a whole session timeout is treated as expired, as
 *   Mesos' ZooKeeper group does: the server has expired it by then, and a client whose
 *   handshake is never answered (a server still starting, or hung) would otherwise wait forever.
 * - Bad node data (`SM_ERR_BAD_MASTER_INFO`, naming the node), a legacy protobuf leader, and a
 *   NoAuth answer (`SM_ERR_ZOOKEEPER`) are logged and make pending and later `detect()` calls
 *   reject until the election changes; they never throw out of a callback.
 *
 * @see https://mesos.apache.org/documentation/latest/high-availability/
 * @see https://github.com/apache/mesos/blob/master/src/master/detector/zookeeper.cpp
 */
export function createZooKeeperDetector(options: ZooKeeperDetectorOptions): MasterDetector {
  return new ZooKeeperMasterDetector(options);
}

class ZooKeeperMasterDetector implements MasterDetector {
  readonly #servers: readonly ZooKeeperServer[];
  readonly #path: string;
  readonly #auth: ZooKeeperDigestAuth | undefined;
  readonly #scheme: MasterScheme;
  readonly #sessionTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #leaderTimeoutMs: number | undefined;
  readonly #logger: Logger;
  readonly #createClient: CreateZooKeeperClient;
  readonly #connectionString: string;
  readonly #where: string;

  #client: Client | undefined;
  /** False after unref(): the client's socket does not keep the process alive. */
  #holdsProcess = true;
  // Bumped for every new client and on close, so callbacks of an old session are ignored.
  #generation = 0;
  #started = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #connected = false;
  // Fires when a session has had no connection for a whole session timeout (see #connect).
  #sessionWatchdog: NodeJS.Timeout | undefined;
  #reading = false;
  #readAgain = false;
  #reportedMissingPath = false;
  #leader: MasterAddress | undefined;
  #leaderNode: string | undefined;
  #problem: SparkMesosError | undefined;
  readonly #waiters = new Set<Waiter>();
  readonly #listeners = new Set<LeaderListener>();

  constructor(options: ZooKeeperDetectorOptions) {
    if (options.servers.length === 0) {
      throw new SparkMesosError('SM_ERR_BAD_CONFIG', 'createZooKeeperDetector needs at least one ZooKeeper server.', {
        cause: { servers: options.servers },
      });
    }
    this.#servers = options.servers;
    this.#path = options.path;
    this.#auth = options.auth;
    this.#scheme = options.scheme ?? 'http';
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.#leaderTimeoutMs = options.leaderTimeoutMs;
    this.#logger = options.logger ?? defaultLogger;
    this.#createClient = options.createClient ?? ((text, clientOptions) => zookeeper.createClient(text, clientOptions));
    this.#connectionString = this.#servers.map((server) => `${formatHost(server.host)}:${server.port}`).join(',');
    // Never includes the password: used in every log line and message.
    this.#where = `zk://${this.#auth === undefined ? '' : `${this.#auth.username}:****@`}${this.#connectionString}${this.#path}`;
  }

  detect(options: DetectOptions = {}): Promise<MasterAddress> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    this.#start();
    if (this.#leader !== undefined) return Promise.resolve(this.#leader);
    if (this.#problem !== undefined) return Promise.reject(this.#problem);
    return new Promise<MasterAddress>((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      const onAbort = (): void => waiter.reject(signal?.reason);
      const settle = (): void => {
        this.#waiters.delete(waiter);
        for (const timer of timers) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        resolve: (address) => {
          settle();
          resolve(address);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      timers.push(
        setTimeout(() => {
          if (this.#connected) return;
          waiter.reject(
            new SparkMesosError(
              'SM_ERR_ZOOKEEPER',
              `Could not connect to ZooKeeper at ${this.#connectionString} within ${this.#connectTimeoutMs} ms ` +
                `(master URL ${this.#where}). Check that the servers are up and reachable from this machine, ` +
                'or raise connectTimeoutMs.',
              { cause: { servers: this.#connectionString }, details: { servers: this.#connectionString } },
            ),
          );
        }, this.#connectTimeoutMs),
      );
      if (this.#leaderTimeoutMs !== undefined) {
        const leaderTimeoutMs = this.#leaderTimeoutMs;
        timers.push(
          setTimeout(() => {
            waiter.reject(
              new SparkMesosError(
                'SM_ERR_NO_LEADER',
                `No leading Mesos master registered under ${this.#where} within ${leaderTimeoutMs} ms. ` +
                  'Check that the masters run with the same --zk URL, or raise leaderTimeoutMs.',
                { cause: { path: this.#path }, details: { path: this.#path, leaderTimeoutMs } },
              ),
            );
          }, leaderTimeoutMs),
        );
      }
    });
  }

  onChange(listener: LeaderListener): () => void {
    if (this.#closed) return () => {};
    this.#listeners.add(listener);
    this.#start();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  ref(): void {
    this.#holdsProcess = true;
    this.#applyHold();
  }

  unref(): void {
    this.#holdsProcess = false;
    this.#applyHold();
  }

  // node-zookeeper-client pings through the socket's idle timeout, so its socket is all that
  // holds the process once connected; each new connection is a new socket, set again here.
  #applyHold(): void {
    const socket = socketOf(this.#client);
    if (this.#holdsProcess) socket?.ref();
    else socket?.unref();
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#generation += 1;
    this.#stopSessionWatchdog();
    const error = this.#closedError();
    for (const waiter of [...this.#waiters]) waiter.reject(error);
    this.#listeners.clear();
    const client = this.#client;
    this.#client = undefined;
    this.#closing = client === undefined ? Promise.resolve() : closeClient(client);
    return this.#closing;
  }

  #closedError(): SparkMesosError {
    return new SparkMesosError(
      'SM_ERR_CLOSED',
      `The ZooKeeper master detector for ${this.#where} is closed; create a new one to detect again.`,
      { cause: { path: this.#path } },
    );
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#connect();
  }

  #connect(): void {
    this.#generation += 1;
    const generation = this.#generation;
    this.#connected = false;
    // Reads are serialised per session: one stuck on an abandoned client must not block these.
    this.#reading = false;
    this.#readAgain = false;
    this.#startSessionWatchdog(generation);
    const client = this.#createClient(this.#connectionString, {
      sessionTimeout: this.#sessionTimeoutMs,
      // Reconnect within a fraction of the session so a restarted server is found in time.
      spinDelay: Math.min(1000, Math.max(100, Math.floor(this.#sessionTimeoutMs / 10))),
      retries: 0,
    });
    this.#client = client;
    if (this.#auth !== undefined) {
      // Stored by the client and sent again on every (re)connection, as Mesos does.
      client.addAuthInfo('digest', Buffer.from(`${this.#auth.username}:${this.#auth.password}`));
    }
    client.on('state', (state: State) => this.#onState(generation, state));
    this.#logger.debug?.(`Connecting to ZooKeeper for ${this.#where}`);
    client.connect();
  }

  #onState(generation: number, state: State): void {
    if (generation !== this.#generation || this.#closed) return;
    if (isState(state, States.SYNC_CONNECTED) || isState(state, States.CONNECTED_READ_ONLY)) {
      this.#connected = true;
      this.#stopSessionWatchdog();
      this.#applyHold();
      this.#logger.info(`Connected to ZooKeeper for ${this.#where}`);
      // Read again after every reconnection: cheap, and it does not depend on the client
      // restoring every watch.
      this.#read();
    } else if (isState(state, States.DISCONNECTED)) {
      if (this.#connected) this.#startSessionWatchdog(generation);
      this.#connected = false;
      // Like Mesos, keep the last leader: the session (and its watches) may well survive.
      this.#logger.info(`Disconnected from ZooKeeper for ${this.#where}; reconnecting`);
    } else if (isState(state, States.EXPIRED)) {
      this.#connected = false;
      this.#logger.warn(`ZooKeeper session for ${this.#where} expired; starting a new session`);
      this.#renewSession();
    } else if (isState(state, States.AUTH_FAILED)) {
      this.#connected = false;
      this.#fail(
        new SparkMesosError(
          'SM_ERR_ZOOKEEPER',
          `ZooKeeper rejected the credentials for ${this.#where} (AUTH_FAILED). Check the user:password in the master URL.`,
          { cause: { state: state.name }, details: { path: this.#path } },
        ),
      );
    }
  }

  /** Drops the current session: reports the leader lost and connects a new client. */
  #renewSession(): void {
    const old = this.#client;
    this.#problem = undefined;
    this.#setLeader(undefined, undefined);
    this.#connect();
    // After expiry node-zookeeper-client has closed the old client; a stuck one is cut loose.
    if (old !== undefined) void closeClient(old);
  }

  #startSessionWatchdog(generation: number): void {
    this.#stopSessionWatchdog();
    this.#sessionWatchdog = setTimeout(() => {
      this.#sessionWatchdog = undefined;
      if (generation !== this.#generation || this.#closed || this.#connected) return;
      this.#logger.warn(
        `No ZooKeeper connection for ${this.#where} within the session timeout (${this.#sessionTimeoutMs} ms); ` +
          'treating the session as expired and starting a new one',
      );
      this.#renewSession();
    }, this.#sessionTimeoutMs);
    // Never the reason a process stays alive: the client's socket is.
    this.#sessionWatchdog.unref();
  }

  #stopSessionWatchdog(): void {
    if (this.#sessionWatchdog !== undefined) clearTimeout(this.#sessionWatchdog);
    this.#sessionWatchdog = undefined;
  }

  /** The one watcher of a session: any change under the znode means "read again". */
  #watcherFor(generation: number): (event: Event) => void {
    return (event) => {
      if (generation !== this.#generation || this.#closed) return;
      this.#logger.debug?.(`ZooKeeper event ${event.getName()} on ${event.getPath()}`);
      this.#read();
    };
  }

  // Reads are serialised: a change during a read triggers one more read afterwards, so answers
  // can never arrive out of order.
  #read(): void {
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    const client = this.#client;
    if (client === undefined || this.#closed) return;
    const generation = this.#generation;
    this.#reading = true;
    this.#readLeader(client, generation)
      .then((outcome) => {
        if (generation === this.#generation && !this.#closed) this.#apply(outcome);
      })
      .catch((error: unknown) => {
        this.#logger.warn(`Unexpected error while reading ${this.#where}: ${String(error)}`);
      })
      .finally(() => {
        // A read of an older session ends after #connect reset the flags: leave them alone.
        if (generation !== this.#generation) return;
        this.#reading = false;
        if (this.#readAgain) {
          this.#readAgain = false;
          this.#read();
        }
      });
  }

  async #readLeader(client: Client, generation: number): Promise<Outcome> {
    const watcher = this.#watcherFor(generation);
    let children: string[];
    try {
      children = await new Promise<string[]>((resolve, reject) =>
        client.getChildren(this.#path, watcher, (error, result) => (error ? reject(error) : resolve(result))),
      );
    } catch (error) {
      if (errorCode(error) !== Exception.NO_NODE) return this.#classify(error, this.#path);
      // Not created yet: watch for it to appear rather than fail.
      try {
        const stat = await new Promise<unknown>((resolve, reject) =>
          client.exists(this.#path, watcher, (existsError, result) =>
            existsError ? reject(existsError) : resolve(result),
          ),
        );
        if (stat) return { kind: 'again' };
      } catch (existsError) {
        return this.#classify(existsError, this.#path);
      }
      return { kind: 'none', pathMissing: true };
    }
    const contender = selectLeader(children);
    if (contender === undefined) return { kind: 'none', pathMissing: false };
    const node = `${this.#path}/${contender.name}`;
    if (contender.label === 'info') {
      return {
        kind: 'problem',
        error: new SparkMesosError(
          'SM_ERR_BAD_MASTER_INFO',
          `The leading master registered ${node} in the legacy protobuf format (label 'info_'), written by ` +
            'Mesos before 0.24, which is not supported. Upgrade the masters to Mesos 0.24 or later (they write json.info_ nodes).',
          { cause: { nodePath: node }, details: { nodePath: node } },
        ),
      };
    }
    let data: Buffer;
    try {
      data = await new Promise<Buffer>((resolve, reject) =>
        client.getData(node, watcher, (error, result) => (error ? reject(error) : resolve(result))),
      );
    } catch (error) {
      // The leader vanished between the listing and the read: list again.
      if (errorCode(error) === Exception.NO_NODE) return { kind: 'again' };
      return this.#classify(error, node);
    }
    try {
      return { kind: 'leader', address: parseMasterInfo(data ?? Buffer.alloc(0), node, this.#scheme), node };
    } catch (error) {
      if (error instanceof SparkMesosError) return { kind: 'problem', error };
      throw error;
    }
  }

  #classify(error: unknown, nodePath: string): Outcome {
    const code = errorCode(error);
    if (
      code === Exception.CONNECTION_LOSS ||
      code === Exception.SESSION_EXPIRED ||
      code === Exception.OPERATION_TIMEOUT
    ) {
      return { kind: 'retry-on-connect' };
    }
    if (code === Exception.NO_AUTH) {
      const message =
        this.#auth === undefined
          ? `ZooKeeper denied reading ${nodePath} (NoAuth): the path is protected by an ACL. Add the credentials to ` +
            `the master URL: mesos://zk://user:password@${this.#connectionString}${this.#path}`
          : `ZooKeeper denied reading ${nodePath} (NoAuth) for user '${this.#auth.username}'. Check that the ` +
            'user:password in the master URL matches the digest ACL the masters set.';
      return {
        kind: 'problem',
        error: new SparkMesosError('SM_ERR_ZOOKEEPER', message, { cause: error, details: { nodePath } }),
      };
    }
    const name = error instanceof Error ? error.message : String(error);
    return {
      kind: 'problem',
      error: new SparkMesosError(
        'SM_ERR_ZOOKEEPER',
        `Reading ${nodePath} from ZooKeeper (${this.#where}) failed: ${name}.`,
        { cause: error, details: { nodePath } },
      ),
    };
  }

  #apply(outcome: Outcome): void {
    switch (outcome.kind) {
      case 'leader':
        this.#problem = undefined;
        this.#reportedMissingPath = false;
        this.#setLeader(outcome.address, outcome.node);
        return;
      case 'none':
        this.#problem = undefined;
        if (outcome.pathMissing && !this.#reportedMissingPath) {
          this.#reportedMissingPath = true;
          this.#logger.info(`${this.#where} does not exist yet; waiting for the masters to create it`);
        }
        this.#setLeader(undefined, undefined);
        return;
      case 'problem':
        this.#fail(outcome.error);
        return;
      case 'retry-on-connect':
        // When disconnected, the next connection reads anyway.
        if (this.#connected) this.#readAgain = true;
        return;
      case 'again':
        this.#readAgain = true;
        return;
    }
  }

  #fail(error: SparkMesosError): void {
    if (this.#problem?.message !== error.message) this.#logger.warn(error.message, { code: error.code });
    this.#problem = error;
    this.#setLeader(undefined, undefined);
    for (const waiter of [...this.#waiters]) waiter.reject(error);
  }

  #setLeader(leader: MasterAddress | undefined, node: string | undefined): void {
    const previous = this.#leader;
    const same =
      previous === leader ||
      (previous !== undefined &&
        leader !== undefined &&
        this.#leaderNode === node &&
        previous.host === leader.host &&
        previous.port === leader.port &&
        previous.id === leader.id);
    this.#leader = leader;
    this.#leaderNode = node;
    if (!same) {
      if (leader === undefined) this.#logger.info(`No leading Mesos master under ${this.#where}`);
      else this.#logger.info(`Leading Mesos master is ${formatHost(leader.host)}:${leader.port} (${node})`);
      for (const listener of [...this.#listeners]) {
        try {
          listener(leader);
        } catch (error) {
          this.#logger.warn(`A leader change listener threw: ${String(error)}`);
        }
      }
    }
    if (leader !== undefined) for (const waiter of [...this.#waiters]) waiter.resolve(leader);
  }
}

/** How long {@link closeClient} waits for a connection to close politely. */
const CLOSE_WAIT_MS = 2000;
/** How long {@link closeClient} waits for a connecting client before abandoning it. */
const CONNECT_WAIT_MS = 500;

/**
 * Closes a client and waits (briefly) until its connection is gone, so processes exit cleanly.
 *
 * node-zookeeper-client 1.1.3 cannot close a client that is still connecting: `close()` throws
 * when no socket exists yet, and a connect answer arriving after `close()` is misread as a
 * reply (an uncaught "Unknown code" exception). So a connecting client is closed once it
 * connects, and one that never does is abandoned: its reconnect loop is cut and its socket
 * destroyed.
 */
function closeClient(client: Client): Promise<void> {
  return new Promise<void>((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      client.removeListener('connected', closeNow);
      client.removeListener('disconnected', finish);
      resolve();
    };
    const closeNow = (): void => {
      client.removeListener('connected', closeNow);
      client.once('disconnected', finish);
      try {
        client.close();
      } catch {
        abandon(client);
        finish();
      }
    };
    const state = client.getState();
    const connected = isState(state, States.SYNC_CONNECTED) || isState(state, States.CONNECTED_READ_ONLY);
    const timer = setTimeout(
      () => {
        abandon(client);
        finish();
      },
      connected ? CLOSE_WAIT_MS : CONNECT_WAIT_MS,
    );
    if (isState(state, States.EXPIRED) || isState(state, States.AUTH_FAILED)) {
      // Already dead: node-zookeeper-client closed the connection itself.
      finish();
    } else if (connected) {
      closeNow();
    } else {
      client.once('connected', closeNow);
    }
  });
}

/** The socket of a client's current connection, through its internals (node-zookeeper-client 1.1). */
function socketOf(client: Client | undefined): { ref(): void; unref(): void } | undefined {
  const manager = (client as unknown as { connectionManager?: { socket?: { ref(): void; unref(): void } } } | undefined)
    ?.connectionManager;
  return manager?.socket;
}

/** Stops a client's reconnect loop through its internals (see {@link closeClient}). */
function abandon(client: Client): void {
  const manager = (client as unknown as { connectionManager?: { connect?: unknown; socket?: { destroy(): void } } })
    .connectionManager;
  if (manager === undefined) return;
  manager.connect = () => {};
  manager.socket?.destroy();
}
