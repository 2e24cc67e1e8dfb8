import { readFile as readFileFromDisk, stat } from 'node:fs/promises';

/**
 * Reads one environment variable; `undefined` when it is not set. Library code reads the
 * environment only through this seam so tests and embedders control it.
 */
export type EnvironmentGetter = (name: string) => string | undefined;

/** The file-system seam the loader and validator use: only reads, never writes. */
export interface ConfigFileSystem {
  /** Reads a whole file as UTF-8 text; rejects when it cannot be read. */
  readFile(path: string): Promise<string>;
  /** Whether a regular file exists at `path`. */
  exists(path: string): Promise<boolean>;
}

/** Where warnings (unknown or deprecated keys) and notices go. Messages are already redacted. */
export interface ConfigLogger {
  /** Something probably wrong that does not stop the program. */
  warn(message: string): void;
  /** Something worth knowing that needs no action. */
  info(message: string): void;
}

/** An environment with no variables: the default of `new SparkConf()`, so it never reads `process.env`. */
export const emptyEnvironment: EnvironmentGetter = () => undefined;

/**
 * An {@link EnvironmentGetter} over a plain record, e.g. `environmentFrom(process.env)` or a
 * test's `{ SPARK_HOME: '/opt/spark' }`. Only own properties count, so `constructor` is unset.
 */
export function environmentFrom(variables: Readonly<Record<string, string | undefined>>): EnvironmentGetter {
  return (name) => (Object.hasOwn(variables, name) ? variables[name] : undefined);
}

/** The real file system through `node:fs/promises`. */
export const nodeFileSystem: ConfigFileSystem = {
  readFile: (path) => readFileFromDisk(path, 'utf8'),
  async exists(path) {
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  },
};

/** Writes `WARN`/`INFO` lines to stderr, prefixed so they are easy to grep. */
export const stderrLogger: ConfigLogger = {
  warn: (message) => {
    process.stderr.write(`[spark-mesos] WARN ${message}\n`);
  },
  info: (message) => {
    process.stderr.write(`[spark-mesos] INFO ${message}\n`);
  },
};
