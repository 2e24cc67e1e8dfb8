import { availableParallelism } from 'node:os';
import { serialize } from 'node:v8';
import { SparkConf } from '@spark-mesos/config';
import { SparkMesosError } from '@spark-mesos/errors';
import { createTaskRunner as createExecutorTaskRunner } from '@spark-mesos/executor';
import { type MasterUrl, parseMasterUrl } from '@spark-mesos/master-url';
import { createBackendForMaster } from './backend-for-master.js';
import { registerCoreKeys } from './core-keys.js';
import { DagScheduler } from './dag-scheduler.js';
import { Dataset, type DatasetHost, type RunJobFunction } from './dataset.js';
import type { HealthTrackerSettings } from './health-tracker.js';
import { type ActionDefinition, type LineageNode, newNodeId, type SourceNode } from './lineage.js';
import { createLocalBackend, type LocalTaskRunner } from './local-backend.js';
import { registerMesosBackendKeys } from './mesos-backend-keys.js';
import type { SchedulerBackend } from './scheduler-backend.js';
import { checkCapturedValues, shippableFunction, userCallSite } from './shippable-function.js';
import {
  checkSliceCount,
  isNumericRange,
  type NumericRange,
  numericRange,
  sliceArray,
  sliceNumericRange,
} from './slicing.js';
import { type StageProgress, TaskScheduler } from './task-scheduler.js';
import {
  computeTextSplits,
  listTextFiles,
  renewTextSplits,
  type TextSplit,
  textFileStoreOptions,
  textSplitsRenewAt,
} from './text-splits.js';

/** Options of {@link SparkContext.create}. */
export interface SparkContextOptions {
  /**
   * Builds the backend for masters this package does not run itself (`mesos://…`,
   * `local-cluster[…]`); the `spark-mesos` package passes the Mesos backends here. Returning
   * undefined means "not mine". @default none
   */
  createBackend?: (
    master: MasterUrl,
    conf: SparkConf,
  ) => SchedulerBackend | undefined | Promise<SchedulerBackend | undefined>;
  /**
   * The task runner of `local[N]` (the executor package's `createTaskRunner`).
   * @default `createTaskRunner` of `@spark-mesos/executor`
   */
  createTaskRunner?: (options: { slots: number }) => LocalTaskRunner;
  /** A ready backend, which wins over the master URL's (for tests and embedding). @default none */
  backend?: SchedulerBackend;
}

// One active context per process, as Spark has one per JVM; shared across copies of the package.
const activeKey = Symbol.for('@spark-mesos/core.activeSparkContext');
const globalState = globalThis as typeof globalThis & { [activeKey]?: Promise<SparkContext> };

// Listeners of contexts being started, process-wide and shared across copies of the package, so
// a launcher (`spark-mesos submit`) can show progress and stop at exit the contexts that the
// application it runs creates.
const startedListenersKey = Symbol.for('@spark-mesos/core.sparkContextStartedListeners');
const listenerState = globalThis as typeof globalThis & {
  [startedListenersKey]?: Set<(context: SparkContext) => void>;
};

/**
 * Calls `listener` with every {@link SparkContext} started in this process from now on (for
 * launchers: `spark-mesos submit` draws progress lines and stops at exit a context the
 * application left running). Returns a function that removes it.
 */
export function onSparkContextStarted(listener: (context: SparkContext) => void): () => void {
  listenerState[startedListenersKey] ??= new Set();
  const listeners = listenerState[startedListenersKey];
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/**
 * The entry point of a driver program: it connects to a master, makes datasets and runs jobs.
 * One may be active per process.
 *
 * ```ts
 * const sc = await SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('pi'));
 * const inside = await sc.range(0, 1e6).filter(() => Math.random() ** 2 + Math.random() ** 2 < 1).count();
 * await sc.stop();
 * ```
 */
export class SparkContext {
  /** The configuration the context was created with (a copy; changing it has no effect). */
  readonly conf: SparkConf;
  /** The parsed master URL. */
  readonly master: MasterUrl;
  /** `spark.app.name`. */
  readonly appName: string;
  /** The application id, e.g. `local-1732412345678`. */
  readonly applicationId: string;
  readonly #backend: SchedulerBackend;
  readonly #taskScheduler: TaskScheduler;
  readonly #dagScheduler: DagScheduler;
  readonly #host: DatasetHost;
  readonly #progressListeners: Set<(progress: StageProgress) => void>;
  #stopped: Promise<void> | undefined;
  /** Jobs running now: while there are none, the backend does not keep the process alive. */
  #runningJobs = 0;
  readonly #stopAtExit = (): void => {
    if (this.#stopped !== undefined) return;
    this.stop().catch((error: unknown) => {
      process.stderr.write(
        `spark-mesos: stopping the SparkContext "${this.appName}" at exit failed: ${(error as Error).message}\n`,
      );
    });
  };

  private constructor(
    conf: SparkConf,
    master: MasterUrl,
    backend: SchedulerBackend,
    taskScheduler: TaskScheduler,
    progressListeners: Set<(progress: StageProgress) => void>,
  ) {
    this.#progressListeners = progressListeners;
    this.conf = conf;
    this.master = master;
    this.appName = conf.get('spark.app.name');
    this.applicationId = `${master.kind === 'local' ? 'local' : 'app'}-${Date.now()}`;
    this.#backend = backend;
    this.#taskScheduler = taskScheduler;
    this.#dagScheduler = new DagScheduler(taskScheduler);
    this.#host = {
      runJob: (node, action, partitions) => {
        this.#checkRunning();
        return this.#whileRunning(() => this.#dagScheduler.runJob(node, action, partitions));
      },
      partitions: (node) => this.#dagScheduler.partitions(node),
      getInt: (key, defaultValue) => this.conf.getInt(key, defaultValue),
      storeOptions: () => textFileStoreOptions(this.conf),
    };
    // As Spark's shutdown hook stops the context when main returns: no job runs, so the backend
    // holds nothing, and once nothing else keeps the process alive it stops gracefully (the
    // stop's own work keeping the process alive until it is done), then the process exits.
    backend.unref?.();
    process.on('beforeExit', this.#stopAtExit);
  }

  async #whileRunning<R>(run: () => Promise<R>): Promise<R> {
    if (this.#runningJobs++ === 0) this.#backend.ref?.();
    try {
      return await run();
    } finally {
      if (--this.#runningJobs === 0 && this.#stopped === undefined) this.#backend.unref?.();
    }
  }

  /**
   * Creates the context: reads `spark.master` and `spark.app.name`, starts the backend, and makes
   * the context the active one.
   *
   * @throws SparkMesosError `SM_ERR_NO_MASTER` when no master is set, `SM_ERR_NO_APP_NAME` when no
   *   application name is set, `SM_ERR_BAD_MASTER_URL` for a malformed master,
   *   `SM_ERR_CONTEXT_ACTIVE` when another context is active, `SM_ERR_UNSUPPORTED_MASTER` for a
   *   master no backend runs.
   */
  static async create(conf: SparkConf = new SparkConf(), options: SparkContextOptions = {}): Promise<SparkContext> {
    if (globalState[activeKey] !== undefined) {
      throw new SparkMesosError(
        'SM_ERR_CONTEXT_ACTIVE',
        'Only one SparkContext may be active in a process; call stop() on the active one first, or use SparkContext.getOrCreate()',
        { cause: null },
      );
    }
    const creating = SparkContext.#start(conf, options);
    globalState[activeKey] = creating;
    try {
      const context = await creating;
      for (const listener of listenerState[startedListenersKey] ?? []) listener(context);
      return context;
    } catch (error) {
      if (globalState[activeKey] === creating) delete globalState[activeKey];
      throw error;
    }
  }

  /** The active context, or a new one from `conf` (which is ignored when one is active, as in Spark). */
  static async getOrCreate(conf?: SparkConf, options?: SparkContextOptions): Promise<SparkContext> {
    const active = globalState[activeKey];
    if (active !== undefined) return active;
    return SparkContext.create(conf, options);
  }

  static async #start(original: SparkConf, options: SparkContextOptions): Promise<SparkContext> {
    registerCoreKeys(original.registry);
    registerMesosBackendKeys(original.registry);
    const conf = original.clone();
    const masterText = conf.getOption('spark.master');
    if (masterText === undefined || masterText.trim() === '') {
      throw new SparkMesosError(
        'SM_ERR_NO_MASTER',
        'A master URL must be set in your configuration: set spark.master (in spark-defaults.conf or with --conf spark.master=URL), pass --master URL to spark-mesos submit, or call SparkConf.setMaster(URL), e.g. setMaster("local[*]") or setMaster("mesos://host:5050")',
        { cause: { key: 'spark.master' } },
      );
    }
    const appName = conf.getOption('spark.app.name');
    if (appName === undefined || appName.trim() === '') {
      throw new SparkMesosError(
        'SM_ERR_NO_APP_NAME',
        'An application name must be set in your configuration: set spark.app.name, pass --name to spark-mesos submit, or call SparkConf.setAppName(name)',
        { cause: { key: 'spark.app.name' } },
      );
    }
    const master = parseMasterUrl(masterText);
    const backend = options.backend ?? (await createBackendFor(master, conf, options));
    const maxFailures = master.kind === 'local' ? master.maxFailures : conf.getInt('spark.task.maxFailures', 4);
    if (!Number.isSafeInteger(maxFailures) || maxFailures < 1) {
      throw new SparkMesosError(
        'SM_ERR_BAD_CONFIG',
        `spark.task.maxFailures is ${maxFailures}: it must be at least 1 (1 means no retries)`,
        { cause: { key: 'spark.task.maxFailures', value: maxFailures } },
      );
    }
    const progressListeners = new Set<(progress: StageProgress) => void>();
    const taskScheduler = new TaskScheduler(backend, {
      onProgress: (progress) => {
        for (const listener of progressListeners) listener(progress);
      },
      maxFailures,
      healthTracker: healthTrackerSettings(conf, backend),
      unschedulableTaskSetTimeoutMs: conf.getTimeAsMs(
        'spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout',
        '120s',
      ),
    });
    try {
      await backend.start(taskScheduler.events);
    } catch (error) {
      await backend.stop().catch(() => {});
      throw error;
    }
    return new SparkContext(conf, master, backend, taskScheduler, progressListeners);
  }

  /**
   * The number of partitions datasets get by default: `spark.default.parallelism`, else the
   * backend's (threads for `local[N]`).
   */
  get defaultParallelism(): number {
    return this.conf.contains('spark.default.parallelism')
      ? this.conf.getInt('spark.default.parallelism')
      : this.#backend.defaultParallelism();
  }

  /** Whether `stop()` was called (Spark's `sc.isStopped`). */
  get isStopped(): boolean {
    return this.#stopped !== undefined;
  }

  /** The backend's name, e.g. `local[2]`. */
  get backendName(): string {
    return this.#backend.name;
  }

  /**
   * Calls `listener` on every change of a running stage (tasks finished, running, failed
   * attempts), for progress lines. Returns a function that removes it.
   */
  onStageProgress(listener: (progress: StageProgress) => void): () => void {
    this.#progressListeners.add(listener);
    return () => this.#progressListeners.delete(listener);
  }

  /** The executors known now, with their slots. */
  executors(): Array<{ executorId: string; host: string; slots: number }> {
    return this.#taskScheduler.executors();
  }

  /**
   * A dataset of `data` in `numSlices` partitions, cut as Spark does: slice `i` holds items
   * `[floor(i·n/numSlices), floor((i+1)·n/numSlices))`. A {@link numericRange} is sliced into
   * sub-ranges without building the array. Items are copied with `v8.serialize` to the tasks.
   *
   * @param numSlices - @default sc.defaultParallelism
   */
  parallelize(data: NumericRange, numSlices?: number): Dataset<number>;
  parallelize<T>(data: Iterable<T>, numSlices?: number): Dataset<T>;
  parallelize<T>(data: Iterable<T> | NumericRange, numSlices: number = this.defaultParallelism): Dataset<T> {
    this.#checkRunning();
    checkSliceCount(numSlices);
    if (isNumericRange(data)) {
      const node: LineageNode = {
        kind: 'source',
        id: newNodeId(),
        op: 'range',
        inputs: sliceNumericRange(data, numSlices),
      };
      return new Dataset<T>(this.#host, node);
    }
    if (data === null || typeof data !== 'object' || !(Symbol.iterator in data)) {
      throw new SparkMesosError(
        'SM_ERR_BAD_ARGUMENT',
        `sc.parallelize(data) at ${userCallSite()}: data must be an array or another iterable, or numericRange(start, end, step)`,
        { cause: { type: typeof data } },
      );
    }
    const items = Array.isArray(data) ? (data as T[]) : Array.from(data as Iterable<T>);
    try {
      serialize(items);
    } catch (error) {
      throw new SparkMesosError(
        'SM_ERR_DATA_NOT_SERIALIZABLE',
        `sc.parallelize(data) at ${userCallSite()}: the items cannot be copied to tasks (${(error as Error).message}); give plain data (numbers, strings, arrays, plain objects, Maps, Sets, typed arrays, Dates)`,
        { cause: error },
      );
    }
    return new Dataset<T>(this.#host, {
      kind: 'source',
      id: newNodeId(),
      op: 'items',
      inputs: sliceArray(items, numSlices),
    });
  }

  /**
   * The integers from `start` (inclusive) to `end` (exclusive) by `step`, in `numSlices`
   * partitions, never materialised (Spark's `sc.range`).
   *
   * @param step - @default 1
   * @param numSlices - @default sc.defaultParallelism
   */
  range(start: number, end: number, step = 1, numSlices: number = this.defaultParallelism): Dataset<number> {
    return this.parallelize(numericRange(start, end, step), numSlices);
  }

  /**
   * The lines of a text file, a directory of text files (names starting with `_` or `.` are
   * skipped, so `_SUCCESS` is; sub-directories too), a pattern in the last path component
   * (`/logs/*.txt`), an `http(s)://` URL, or the same forms in a store the uploader writes to:
   * `s3://`, `s3a://`, `s3n://` (a key, a prefix, a pattern) and `hdfs://`, `webhdfs://`,
   * `swebhdfs://` (over WebHDFS) — or a comma-separated list of these. `.gz` files are gunzipped
   * (one partition each); others are split by byte ranges on line boundaries as Hadoop's
   * `TextInputFormat` does (`\n`, `\r` and `\r\n` end lines; terminators are dropped).
   *
   * Files are listed at the dataset's first job. Tasks read the files themselves: on a cluster a
   * local path must exist on every agent. Stores are listed by the driver with its settings and
   * credentials (`spark.hadoop.fs.s3a.endpoint`, `.access.key`, `.secret.key`, `.endpoint.region`,
   * `.path.style.access`, else the AWS credential chain; `spark.hadoop.dfs.namenode.http-address`
   * or an HA nameservice, `spark.hadoop.hadoop.user.name` — see `@spark-mesos/artifact-uploader`'s
   * README), and tasks read them through plain HTTP URLs the driver makes then: a presigned S3 GET
   * (valid for `spark.mesos.textFile.presignedUrlExpiry`, 1 h by default, and renewed before a
   * job once past half of it, for the same files and splits) or
   * the WebHDFS OPEN URL (the namenode redirects to a datanode, which executors must reach). So
   * executors need no credentials or SDKs; the URLs travel inside the tasks. Errors:
   * `SM_ERR_INPUT_NOT_FOUND` naming a missing path, key, bucket or an empty pattern;
   * `SM_ERR_INPUT_READ` explaining a refused or failing store (wrong access key, access denied,
   * Kerberos), never with a secret or a signature in it.
   *
   * @param minPartitions - @default min(sc.defaultParallelism, 2)
   */
  textFile(path: string, minPartitions: number = Math.min(this.defaultParallelism, 2)): Dataset<string> {
    this.#checkRunning();
    if (typeof path !== 'string' || path === '') {
      throw new SparkMesosError('SM_ERR_BAD_ARGUMENT', `sc.textFile(path) at ${userCallSite()}: give a path or URL`, {
        cause: { path },
      });
    }
    checkSliceCount(minPartitions, 'minPartitions');
    const store = textFileStoreOptions(this.conf);
    const node: SourceNode = {
      kind: 'source',
      id: newNodeId(),
      op: 'text',
      inputs: async () => {
        const files = await listTextFiles(path, { store });
        // Presigned read URLs expire: the scheduler renews them before a later job needs them.
        const renewAt = textSplitsRenewAt(files, Date.now());
        if (renewAt !== undefined) {
          node.renewInputsAt = renewAt;
          node.renewInputs = async (inputs) => {
            const renewed = await renewTextSplits(inputs as TextSplit[], { store });
            return { inputs: renewed.splits, ...(renewed.renewAt === undefined ? {} : { renewAt: renewed.renewAt }) };
          };
        }
        return computeTextSplits(files, minPartitions);
      },
    };
    return new Dataset<string>(this.#host, node);
  }

  /** The partitions of every dataset, one after the other. */
  union<T>(first: Dataset<T>, ...others: Dataset<T>[]): Dataset<T> {
    return first.union(...others);
  }

  /**
   * Runs `fn` on the items of the given partitions (all by default) where the tasks run, and
   * returns its (awaited) results in the order of `partitions`. `fn(items, context, captured)`
   * may be async.
   */
  async runJob<T, U, C = undefined>(
    dataset: Dataset<T>,
    fn: RunJobFunction<T, U, C>,
    partitions?: readonly number[],
    captured?: C,
  ): Promise<U[]> {
    if (!(dataset instanceof Dataset) || dataset.host !== this.#host) {
      throw new SparkMesosError(
        'SM_ERR_BAD_ARGUMENT',
        `sc.runJob(dataset, fn) at ${userCallSite()}: the dataset must come from this SparkContext`,
        { cause: null },
      );
    }
    const shippable = shippableFunction('sc.runJob(dataset, fn)', fn, { allowAsync: true, allowGenerator: false });
    checkCapturedValues('sc.runJob(dataset, fn)', captured, shippable.callSite);
    const action: ActionDefinition = { op: 'runJob', fn: shippable, captured, extra: null };
    return (await this.#host.runJob(dataset.node, action, partitions)) as U[];
  }

  /**
   * Stops the context: running jobs fail with `SM_ERR_CONTEXT_STOPPED`, the backend stops its
   * executors, and another context may be created. Calling it again waits for the first call.
   *
   * A context left running stops by itself when the program is done, as Spark's shutdown hook
   * stops it when `main` returns: between jobs it does not keep Node's event loop alive, and at
   * `beforeExit` (nothing else left to do) it stops, so `node app.js` exits after its last job.
   */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      process.off('beforeExit', this.#stopAtExit);
      // The stop's own work (executors exiting, TEARDOWN) keeps the process alive until done.
      this.#backend.ref?.();
      this.#taskScheduler.stop(
        new SparkMesosError('SM_ERR_CONTEXT_STOPPED', 'The SparkContext was stopped while the job ran', {
          cause: null,
        }),
      );
      try {
        await this.#backend.stop();
      } finally {
        delete globalState[activeKey];
      }
    })();
    return this.#stopped;
  }

  #checkRunning(): void {
    if (this.#stopped !== undefined) {
      throw new SparkMesosError(
        'SM_ERR_CONTEXT_STOPPED',
        'This SparkContext was stopped; create a new one with SparkContext.create(conf)',
        { cause: null },
      );
    }
  }
}

async function createBackendFor(
  master: MasterUrl,
  conf: SparkConf,
  options: SparkContextOptions,
): Promise<SchedulerBackend> {
  const custom = await options.createBackend?.(master, conf);
  if (custom !== undefined) return custom;
  if (master.kind === 'local') {
    const createTaskRunner = options.createTaskRunner ?? createExecutorTaskRunner;
    const threads = master.threads === '*' ? availableParallelism() : master.threads;
    // Spark's LocalSchedulerBackend offers its threads as cores; each task takes spark.task.cpus.
    const cpusPerTask = conf.getInt('spark.task.cpus', 1);
    if (!Number.isSafeInteger(cpusPerTask) || cpusPerTask < 1 || cpusPerTask > threads) {
      throw new SparkMesosError(
        'SM_ERR_BAD_CONFIG',
        `spark.task.cpus is ${cpusPerTask}, but ${master.threads === '*' ? `local[*] has ${threads}` : `local[${threads}] has ${threads}`} thread(s): it must be between 1 and the thread count`,
        { cause: { key: 'spark.task.cpus', value: cpusPerTask, threads } },
      );
    }
    return createLocalBackend({
      threads: Math.floor(threads / cpusPerTask),
      createTaskRunner,
      name: master.threads === 1 ? 'local' : `local[${master.threads}]`,
    });
  }
  const mesos = createBackendForMaster(master, conf);
  if (mesos !== undefined) return mesos;
  throw new SparkMesosError(
    'SM_ERR_UNSUPPORTED_MASTER',
    `No backend runs the master kind "${master.kind}"; use local[N], local-cluster[A,C,M] or mesos://…`,
    { cause: { master: master.kind } },
  );
}

function healthTrackerSettings(conf: SparkConf, backend: SchedulerBackend): HealthTrackerSettings {
  return {
    enabled: conf.contains('spark.excludeOnFailure.enabled')
      ? conf.getBoolean('spark.excludeOnFailure.enabled')
      : backend.excludeOnFailureByDefault,
    maxTaskAttemptsPerExecutor: conf.getInt('spark.excludeOnFailure.task.maxTaskAttemptsPerExecutor', 1),
    maxFailedTasksPerExecutor: conf.getInt('spark.excludeOnFailure.application.maxFailedTasksPerExecutor', 2),
    maxFailedExecutorsPerNode: conf.getInt('spark.excludeOnFailure.application.maxFailedExecutorsPerNode', 2),
    timeoutMs: conf.getTimeAsMs('spark.excludeOnFailure.timeout', '1h'),
  };
}
