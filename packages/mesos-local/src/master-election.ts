import { SparkMesosError } from '@spark-mesos/errors';
import {
  createZooKeeperDetector,
  type MasterAddress,
  type MasterDetector,
  parseMasterUrl,
  type ZooKeeperMaster,
} from '@spark-mesos/master-url';
import type { MasterInfo } from '@spark-mesos/mesos-client';
import zookeeper, { type Client } from 'node-zookeeper-client';

/**
 * Leader election of several local masters through ZooKeeper, as Mesos masters do it: each
 * master registers an EPHEMERAL_SEQUENTIAL child `json.info_<10-digit sequence>` of the
 * election znode holding its `MasterInfo` as compact JSON, and the child with the lowest
 * sequence leads. When a master's ZooKeeper session closes its node vanishes and the next one
 * leads. Who leads is read back with `@spark-mesos/master-url`'s ZooKeeper detector, the same
 * code a scheduler uses.
 *
 * @see https://mesos.apache.org/documentation/latest/high-availability/
 * @see https://github.com/apache/mesos/blob/master/src/master/contender/zookeeper.cpp
 * @module
 */

/** The prefix of a master's znode; ZooKeeper appends the 10-digit sequence. */
export const MASTER_NODE_PREFIX = 'json.info_';

/** Options of {@link registerMaster}. */
export interface RegisterMasterOptions {
  /** The election znode's ensemble, from {@link parseZooKeeperUrl}. */
  readonly zookeeper: ZooKeeperMaster;
  /** What the node holds. */
  readonly masterInfo: MasterInfo;
  /** ZooKeeper session timeout requested (the server may clamp it). @default 10000 */
  readonly sessionTimeoutMs?: number;
  /** How long to wait for the ZooKeeper connection. @default 15000 */
  readonly connectTimeoutMs?: number;
}

/** A master registered in the election. */
export interface MasterRegistration {
  /** Its znode, e.g. `/mesos/json.info_0000000003`. */
  readonly node: string;
  /**
   * Closes the ZooKeeper session, as a master that dies: the node vanishes at once and the
   * next master is elected. Idempotent.
   */
  withdraw(): Promise<void>;
}

/**
 * Parses `zk://host:port[,host:port…]/path` (Mesos' `--zk` form).
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when it is not a ZooKeeper URL
 */
export function parseZooKeeperUrl(url: string): ZooKeeperMaster {
  const fail = (cause: unknown): never => {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `zookeeper must be a ZooKeeper URL like zk://127.0.0.1:2181/mesos, got ${JSON.stringify(url)}.`,
      { cause },
    );
  };
  if (!url.startsWith('zk://')) return fail({ zookeeper: url });
  let parsed: ReturnType<typeof parseMasterUrl> | undefined;
  try {
    parsed = parseMasterUrl(`mesos://${url}`);
  } catch (error) {
    return fail(error);
  }
  if (parsed.kind !== 'mesos' || parsed.master.kind !== 'zookeeper') return fail({ zookeeper: url });
  return parsed.master;
}

/** The JSON a Mesos master writes into its znode: compact, keys in alphabetical order. */
export function masterInfoJson(info: MasterInfo): string {
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
      );
    }
    return value;
  };
  return JSON.stringify(sorted(info));
}

function connectionString(master: ZooKeeperMaster): string {
  return master.servers.map((server) => `${server.host}:${server.port}`).join(',');
}

function zookeeperError(master: ZooKeeperMaster, what: string, cause: unknown): SparkMesosError {
  return new SparkMesosError(
    'SM_ERR_ZOOKEEPER',
    `Cannot ${what} in ZooKeeper at ${connectionString(master)}${master.path}: ${(cause as Error)?.message ?? String(cause)}. Check that ZooKeeper runs there.`,
    { cause },
  );
}

function connect(master: ZooKeeperMaster, sessionTimeoutMs: number, connectTimeoutMs: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = zookeeper.createClient(connectionString(master), {
      sessionTimeout: sessionTimeoutMs,
      spinDelay: 100,
      retries: 0,
    });
    const timer = setTimeout(() => {
      client.close();
      reject(zookeeperError(master, 'connect', new Error(`no connection within ${connectTimeoutMs} ms`)));
    }, connectTimeoutMs);
    client.once('connected', () => {
      clearTimeout(timer);
      if (master.auth !== undefined) {
        client.addAuthInfo('digest', Buffer.from(`${master.auth.username}:${master.auth.password}`));
      }
      resolve(client);
    });
    client.connect();
  });
}

/**
 * Registers a master in the election: connects a ZooKeeper session of its own, creates the
 * election znode's path when missing (persistent, as Mesos does), then the master's
 * EPHEMERAL_SEQUENTIAL `json.info_` node.
 *
 * @throws SparkMesosError `SM_ERR_ZOOKEEPER` when ZooKeeper cannot be reached or refuses
 */
export async function registerMaster(options: RegisterMasterOptions): Promise<MasterRegistration> {
  const master = options.zookeeper;
  const client = await connect(master, options.sessionTimeoutMs ?? 10_000, options.connectTimeoutMs ?? 15_000);
  try {
    await new Promise<void>((resolve, reject) =>
      client.mkdirp(master.path, (error) => (error ? reject(error) : resolve())),
    );
    const node = await new Promise<string>((resolve, reject) =>
      client.create(
        `${master.path}/${MASTER_NODE_PREFIX}`,
        Buffer.from(masterInfoJson(options.masterInfo), 'utf8'),
        zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
        (error, path) => (error ? reject(error) : resolve(path)),
      ),
    );
    let withdrawn: Promise<void> | undefined;
    return {
      node,
      withdraw() {
        withdrawn ??= new Promise<void>((resolve) => {
          client.once('disconnected', () => resolve());
          client.close();
          // close() of an already closed client emits nothing: do not wait for it.
          setTimeout(resolve, 1000).unref();
        });
        return withdrawn;
      },
    };
  } catch (error) {
    client.close();
    throw zookeeperError(master, 'register the master', error);
  }
}

/**
 * Follows the election of `zookeeper` with master-url's detector: `listener` hears every
 * leader change (`undefined` while none leads).
 */
export function watchLeader(
  zookeeper: ZooKeeperMaster,
  listener: (leader: MasterAddress | undefined) => void,
  sessionTimeoutMs = 10_000,
): MasterDetector {
  const detector = createZooKeeperDetector({
    servers: zookeeper.servers,
    path: zookeeper.path,
    ...(zookeeper.auth === undefined ? {} : { auth: zookeeper.auth }),
    sessionTimeoutMs,
    // The local cluster reports its own problems; the detector's info lines would be noise.
    logger: { info() {}, warn() {} },
  });
  detector.onChange(listener);
  return detector;
}
