/**
 * The scheme a Mesos master's HTTP API is reached over. Written `mesos://` (http) or
 * `mesos+https://` (https) in a master URL.
 */
export type MasterScheme = 'http' | 'https';

/**
 * `local`, `local[N]`, `local[*]`, `local[N,F]` or `local[*,F]`: run every task in the driver
 * process, as Spark does.
 */
export interface LocalMasterUrl {
  /** Discriminant. */
  readonly kind: 'local';
  /** Worker threads, or `'*'` for one per logical CPU. @default 1 */
  readonly threads: number | '*';
  /** How many times a task may fail before the job fails (Spark's `local[N,F]`). @default 1 */
  readonly maxFailures: number;
}

/**
 * `local-cluster[A,C,M]`: a pretend cluster of `A` agents with `C` cores and `M` MiB each, run on
 * this machine (Spark's test mode).
 */
export interface LocalClusterMasterUrl {
  /** Discriminant. */
  readonly kind: 'local-cluster';
  /** Number of agents (Spark's workers), at least 1. */
  readonly agents: number;
  /** Cores per agent, at least 1. */
  readonly coresPerAgent: number;
  /** Memory per agent in MiB, at least 1. */
  readonly memoryPerAgentMb: number;
}

/** One Mesos master at a fixed address: `mesos://host:5050` or `mesos+https://host:5050`. */
export interface StaticMaster {
  /** Discriminant. */
  readonly kind: 'static';
  /** `https` when written `mesos+https://`. @default 'http' */
  readonly scheme: MasterScheme;
  /** Host name, IPv4 address, or IPv6 address without brackets. */
  readonly host: string;
  /** Master port. @default 5050 */
  readonly port: number;
}

/** One ZooKeeper server of an ensemble. */
export interface ZooKeeperServer {
  /** Host name, IPv4 address, or IPv6 address without brackets. */
  readonly host: string;
  /** Client port. @default 2181 */
  readonly port: number;
}

/**
 * ZooKeeper credentials from `zk://user:password@…`, sent with `addAuth digest user:password`, as
 * the Mesos masters do with their `--zk` URL.
 */
export interface ZooKeeperDigestAuth {
  /** Only `digest` is supported, as in Mesos. */
  readonly scheme: 'digest';
  /** The user name (no `:`). */
  readonly username: string;
  /** The password. Never printed: errors and {@link formatMasterUrl} with `maskPassword` show `****`. */
  readonly password: string;
}

/**
 * Masters that elect a leader through ZooKeeper: `mesos://zk://h1:2181,h2:2181/mesos`.
 *
 * @see https://mesos.apache.org/documentation/latest/high-availability/
 */
export interface ZooKeeperMaster {
  /** Discriminant. */
  readonly kind: 'zookeeper';
  /** Scheme the detected leader is reached over; `https` when written `mesos+https://zk://`. @default 'http' */
  readonly scheme: MasterScheme;
  /** The ensemble, in the order written. */
  readonly servers: readonly ZooKeeperServer[];
  /** The znode the masters register under, e.g. `/mesos`. Never `/`, no trailing slash. */
  readonly path: string;
  /** Digest credentials, when the URL has `user:password@`. @default undefined */
  readonly auth?: ZooKeeperDigestAuth;
}

/** `mesos://…`: a real Mesos cluster. */
export interface MesosMasterUrl {
  /** Discriminant. */
  readonly kind: 'mesos';
  /** Where the master is: one fixed address, or a ZooKeeper election. */
  readonly master: StaticMaster | ZooKeeperMaster;
}

/** A parsed Spark master URL; see {@link parseMasterUrl} for the accepted forms. */
export type MasterUrl = LocalMasterUrl | LocalClusterMasterUrl | MesosMasterUrl;

/** Port a Mesos master listens on unless told otherwise. */
export const DEFAULT_MESOS_PORT = 5050;

/** Port a ZooKeeper server listens on unless told otherwise. */
export const DEFAULT_ZOOKEEPER_PORT = 2181;
