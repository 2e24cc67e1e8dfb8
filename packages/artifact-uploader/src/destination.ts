// The contract between the upload flow (upload.ts) and each kind of store. A store only moves
// bytes; deciding whether to upload, verifying and explaining failures is the flow's job.

/** What a store holds under a name. */
export interface StoredArtifact {
  /** Size in bytes. */
  readonly size: number;
  /** Hex SHA-256 of the content, when the store records it (object metadata, a sidecar). */
  readonly sha256?: string;
  /**
   * True when the stat itself fetched `uriOf(name)` the way an agent's fetcher does (an HTTP
   * GET answered with a `Content-Length`, a local file read), so the upload flow need not call
   * `checkFetchable` again: a no-op re-upload then costs one round trip.
   * @default false
   */
  readonly fetchable?: boolean;
}

/** The local file being uploaded. */
export interface ArtifactFile {
  /** Absolute path of the file. */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /** Hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

/** Per-operation context handed to a store by the upload flow. */
export interface DestinationOperationContext {
  /** Aborts the operation. */
  readonly signal?: AbortSignal;
  /** Called as bytes are sent, for the progress bar. */
  readonly onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** What a fetch check found: the agent-side view of the stored package. */
export interface FetchCheck {
  /** The size the store announces (`Content-Length`, a file status length). */
  readonly size: number;
}

/**
 * One kind of store (file, HTTP, S3, WebHDFS) bound to one destination prefix. Names are plain
 * file names (`spark-mesos-executor-<sha>.tgz`), placed under the prefix.
 */
export interface ArtifactDestination {
  /** The URI an agent's fetcher is given for `name` (what goes into `CommandInfo.URI.value`). */
  uriOf(name: string): string;
  /** What is stored under `name`, or `undefined` when nothing is. */
  stat(name: string, context?: DestinationOperationContext): Promise<StoredArtifact | undefined>;
  /**
   * Stores `file` under `name` such that nothing half-written is ever visible under `name`:
   * write to a temporary name and rename where the store allows, otherwise verify size (and
   * checksum where possible) after writing and remove on mismatch.
   */
  put(name: string, file: ArtifactFile, context?: DestinationOperationContext): Promise<void>;
  /** Removes `name`; succeeds when it is already absent. */
  remove(name: string, context?: DestinationOperationContext): Promise<void>;
  /**
   * Checks that `name` can be fetched the way an agent fetches it and reports the size the
   * store announces; throws an `SM_ERR_ARTIFACT_UNREACHABLE` error naming the URI otherwise.
   */
  checkFetchable(name: string, context?: DestinationOperationContext): Promise<FetchCheck>;
}

/**
 * What every store factory receives. Stores add their own options (`s3`, `webHdfs`, …) in
 * their own modules; these are the common ones.
 */
export interface DestinationOptions {
  /**
   * Reads Spark configuration (`spark.hadoop.dfs.namenode.http-address`,
   * `spark.hadoop.fs.s3a.endpoint`, …).
   * @default () => undefined
   */
  readonly conf?: (key: string) => string | undefined;
  /**
   * Reads the environment; the edge passes `process.env`, tests pass their own.
   * @default () => undefined
   */
  readonly env?: (name: string) => string | undefined;
  /** undici dispatcher for HTTP-based stores. @default undici's global dispatcher */
  readonly dispatcher?: import('undici').Dispatcher;
  /**
   * Credentials for HTTP-based stores: basic (`username`/`password`) or bearer (`token`).
   * Credentials in the URI's user-info are used when this is absent.
   * @default undefined
   */
  readonly credentials?: { readonly username?: string; readonly password?: string; readonly token?: string };
  /**
   * How long an HTTP-based store waits without any progress (no byte sent or received) before
   * it gives up on a request as a network error (retried like one).
   * @default 120000
   */
  readonly idleTimeoutMs?: number;
}

/**
 * Creates the store for one destination URI (a prefix ending in `/`, or the directory of a
 * finished package). Stores throw `SparkMesosError`s with code `SM_ERR_ARTIFACT_UPLOAD`
 * (`details.retryable: boolean`, `details.status?: number`) or `SM_ERR_ARTIFACT_UNREACHABLE`;
 * the upload flow retries only what is retryable.
 */
export type DestinationFactory = (uri: string, options: DestinationOptions) => ArtifactDestination;
