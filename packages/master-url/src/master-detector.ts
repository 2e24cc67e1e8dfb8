import type { MasterScheme } from './master-url.js';

/**
 * Where the leading Mesos master can be reached. Built from the master's `MasterInfo` when
 * detected through ZooKeeper, or from the URL for a static master.
 */
export interface MasterAddress {
  /** Host to connect to: `address.hostname`, else `address.ip`, else the legacy fields. */
  readonly host: string;
  /** Port of the master's HTTP API. */
  readonly port: number;
  /** Scheme the master is reached over (from `mesos://` or `mesos+https://`). */
  readonly scheme: MasterScheme;
  /** The master's `MasterInfo.id` (changes on every master start). */
  readonly id?: string;
  /** The master's advertised host name, when it has one. */
  readonly hostname?: string;
  /** The Mesos version of the master, e.g. `1.12.0`. */
  readonly version?: string;
}

/** Options of {@link MasterDetector.detect}. */
export interface DetectOptions {
  /** Stops waiting; the promise then rejects with `signal.reason`. @default undefined */
  readonly signal?: AbortSignal;
}

/** Reports changes of the leading master; `undefined` means there is none right now. */
export type LeaderListener = (leader: MasterAddress | undefined) => void;

/**
 * Finds the leading Mesos master and follows it through failovers.
 *
 * @see https://mesos.apache.org/documentation/latest/high-availability/
 */
export interface MasterDetector {
  /**
   * Resolves with the current leader, waiting for one when there is none. Rejects with
   * `SM_ERR_CLOSED` after {@link MasterDetector.close}, and with the detector's specific errors
   * (`SM_ERR_NO_LEADER`, `SM_ERR_BAD_MASTER_INFO`, `SM_ERR_ZOOKEEPER`).
   */
  detect(options?: DetectOptions): Promise<MasterAddress>;
  /**
   * Calls `listener` on each later change: a new leader, or `undefined` when the leader is lost.
   * It is not called with the current leader; use {@link MasterDetector.detect} for that.
   * Returns a function that unsubscribes.
   */
  onChange(listener: LeaderListener): () => void;
  /** Stops detecting and releases connections. Idempotent. */
  close(): Promise<void>;
  /**
   * Lets the detector's connection keep the Node process alive again (the default), after
   * {@link MasterDetector.unref}. Absent on detectors that hold no connection.
   */
  ref?(): void;
  /**
   * Stops the detector's connection from keeping the Node process alive, as `socket.unref()`:
   * it keeps following the leader while something else keeps the process running. (While it
   * reconnects, the new connection holds the process until it is established.)
   */
  unref?(): void;
}

/** Where detectors report what they do. `debug` is optional. */
export interface Logger {
  /** Problems the detector recovers from or reports to callers. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Connection and leadership changes. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Details useful when debugging detection. */
  debug?(message: string, fields?: Record<string, unknown>): void;
}

/**
 * The default logger: warnings go to `console.warn`, everything else is dropped, so that a
 * misconfiguration is visible without a library chattering on stdout.
 */
export const defaultLogger: Logger = {
  warn: (message, fields) => {
    if (fields === undefined) console.warn(message);
    else console.warn(message, fields);
  },
  info: () => {},
};
