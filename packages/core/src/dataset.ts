import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStoreWriter, isStoredFileUri, type StoreReaderOptions } from '@spark-mesos/artifact-uploader';
import { SparkMesosError } from '@spark-mesos/errors';
import { type ActionDefinition, type LineageNode, newNodeId } from './lineage.js';
import { checkCapturedValues, type ShippableOptions, shippableFunction } from './shippable-function.js';
import type { StepOp } from './task-runtime.js';
import type { TaskContext } from './task-spec.js';

/** What a dataset needs from its context. @internal */
export interface DatasetHost {
  runJob(node: LineageNode, action: ActionDefinition, partitions?: readonly number[]): Promise<unknown[]>;
  partitions(node: LineageNode): Promise<number>;
  /** A conf value, for the keys of `take`. */
  getInt(key: string, defaultValue: number): number;
  /** How stores are reached (`spark.hadoop.*`, the presigned URL expiry), for `saveAsTextFile`. */
  storeOptions(): StoreReaderOptions;
}

/**
 * A lazy, partitioned, immutable collection (Spark's RDD). Transformations build a lineage and
 * run nothing; actions (`collect`, `count`, …) run a job and return a promise.
 *
 * Functions given to transformations and actions run where the tasks run, from their source
 * text: they may use their parameters, globals, and the captured values passed as the argument
 * after the function, which the function receives as its last parameter:
 *
 * ```ts
 * const k = 3;
 * ds.map((x, { k }) => x * k, { k }); // not ds.map((x) => x * k)
 * ```
 */
export class Dataset<T> {
  readonly #host: DatasetHost;
  /** @internal */
  readonly node: LineageNode;

  /** @internal Use `sc.parallelize`, `sc.range` or `sc.textFile`. */
  constructor(host: DatasetHost, node: LineageNode) {
    this.#host = host;
    this.node = node;
  }

  #step<U>(api: string, op: StepOp, fn: unknown, captured: unknown, options: ShippableOptions = {}): Dataset<U> {
    const shippable = shippableFunction(api, fn, options);
    checkCapturedValues(api, captured, shippable.callSite);
    return new Dataset<U>(this.#host, {
      kind: 'step',
      id: newNodeId(),
      parent: this.node,
      op,
      fn: shippable,
      captured,
    });
  }

  /** Applies `fn` to every item. `captured` reaches `fn` as its last parameter. */
  map<U, C = undefined>(fn: (item: T, captured: C) => U, captured?: C): Dataset<U> {
    return this.#step('dataset.map(fn)', 'map', fn, captured);
  }

  /** Keeps the items `fn` returns a truthy value for. */
  filter<C = undefined>(fn: (item: T, captured: C) => unknown, captured?: C): Dataset<T> {
    return this.#step('dataset.filter(fn)', 'filter', fn, captured);
  }

  /** Applies `fn` to every item and flattens the iterables it returns (a generator function works too). */
  flatMap<U, C = undefined>(fn: (item: T, captured: C) => Iterable<U>, captured?: C): Dataset<U> {
    return this.#step('dataset.flatMap(fn)', 'flatMap', fn, captured, { allowGenerator: true });
  }

  /** Transforms each partition's items at once; `fn` returns an iterable (a generator function works too). */
  mapPartitions<U, C = undefined>(fn: (items: Iterable<T>, captured: C) => Iterable<U>, captured?: C): Dataset<U> {
    return this.#step('dataset.mapPartitions(fn)', 'mapPartitions', fn, captured, { allowGenerator: true });
  }

  /** Like {@link mapPartitions}, with the partition's index first. */
  mapPartitionsWithIndex<U, C = undefined>(
    fn: (index: number, items: Iterable<T>, captured: C) => Iterable<U>,
    captured?: C,
  ): Dataset<U> {
    return this.#step('dataset.mapPartitionsWithIndex(fn)', 'mapPartitionsWithIndex', fn, captured, {
      allowGenerator: true,
    });
  }

  /** Pairs every item with the key `fn` computes: `[key, item]`. */
  keyBy<K, C = undefined>(fn: (item: T, captured: C) => K, captured?: C): Dataset<[K, T]> {
    return this.#step('dataset.keyBy(fn)', 'keyBy', fn, captured);
  }

  /** On a dataset of `[key, value]` pairs, applies `fn` to every value and keeps the keys. */
  mapValues<K, V, W, C = undefined>(
    this: Dataset<readonly [K, V]> | Dataset<[K, V]>,
    fn: (value: V, captured: C) => W,
    captured?: C,
  ): Dataset<[K, W]> {
    return (this as Dataset<[K, V]>).#step('dataset.mapValues(fn)', 'mapValues', fn, captured);
  }

  /** The partitions of this dataset followed by those of `others` (no deduplication, as Spark). */
  union(...others: Dataset<T>[]): Dataset<T> {
    for (const other of others) {
      if (!(other instanceof Dataset) || other.#host !== this.#host) {
        throw new SparkMesosError(
          'SM_ERR_BAD_ARGUMENT',
          'dataset.union(other): every argument must be a dataset of the same SparkContext',
          { cause: { other } },
        );
      }
    }
    return new Dataset<T>(this.#host, {
      kind: 'union',
      id: newNodeId(),
      parents: [this.node, ...others.map((other) => other.node)],
    });
  }

  /**
   * Pairs every item with its index, `[item, index]`, ordered by partition then position. As in
   * Spark, a first job counts the items of every partition but the last (when the dataset is
   * first used).
   */
  zipWithIndex(): Dataset<[T, number]> {
    return new Dataset<[T, number]>(this.#host, { kind: 'zipWithIndex', id: newNodeId(), parent: this.node });
  }

  /** The number of partitions (lists input files first for `textFile`). */
  getNumPartitions(): Promise<number> {
    return this.#host.partitions(this.node);
  }

  #action(api: string, op: ActionDefinition['op'], fn: unknown, captured: unknown, extra: unknown, options = {}) {
    const shippable = fn === null ? null : shippableFunction(api, fn, options);
    if (shippable) checkCapturedValues(api, captured, shippable.callSite);
    return { op, fn: shippable, captured, extra } satisfies ActionDefinition;
  }

  /** Every item, in partition order. */
  async collect(): Promise<T[]> {
    const parts = (await this.#host.runJob(
      this.node,
      this.#action('collect', 'collect', null, undefined, null),
    )) as T[][];
    return parts.flat() as T[];
  }

  /** The number of items. */
  async count(): Promise<number> {
    const counts = (await this.#host.runJob(
      this.node,
      this.#action('count', 'count', null, undefined, null),
    )) as number[];
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /**
   * Combines the items with `fn`, which must be associative and commutative: each partition is
   * reduced by its task, the partial results on the driver. An empty dataset is an error.
   */
  async reduce<C = undefined>(fn: (left: T, right: T, captured: C) => T, captured?: C): Promise<T> {
    const action = this.#action('dataset.reduce(fn)', 'reduce', fn, captured, null);
    const parts = (await this.#host.runJob(this.node, action)) as Array<{ empty: boolean; value?: T }>;
    let result: { value: T } | undefined;
    for (const part of parts) {
      if (part.empty) continue;
      result =
        result === undefined ? { value: part.value as T } : { value: fn(result.value, part.value as T, captured as C) };
    }
    if (result === undefined) {
      throw new SparkMesosError(
        'SM_ERR_EMPTY_DATASET',
        'dataset.reduce: empty collection; use fold with a zero value',
        {
          cause: null,
        },
      );
    }
    return result.value;
  }

  /**
   * Folds each partition from a copy of `zeroValue` with `fn`, then the partial results on the
   * driver from another copy (Spark's `fold`: `zeroValue` should be a neutral element).
   */
  async fold<C = undefined>(zeroValue: T, fn: (accumulated: T, item: T, captured: C) => T, captured?: C): Promise<T> {
    const action = this.#action('dataset.fold(zeroValue, fn)', 'fold', fn, captured, { zero: zeroValue });
    checkCapturedValues('dataset.fold(zeroValue, fn): the zero value', zeroValue, action.fn!.callSite);
    const parts = (await this.#host.runJob(this.node, action)) as T[];
    return parts.reduce((accumulated, part) => fn(accumulated, part, captured as C), structuredClone(zeroValue));
  }

  /**
   * Aggregates each partition from a copy of `zeroValue` with `seqOp`, then merges the partial
   * results on the driver with `combOp`. Both receive `captured` as their last parameter.
   */
  async aggregate<U, C = undefined>(
    zeroValue: U,
    seqOp: (accumulated: U, item: T, captured: C) => U,
    combOp: (left: U, right: U, captured: C) => U,
    captured?: C,
  ): Promise<U> {
    const action = this.#action('dataset.aggregate(zeroValue, seqOp, combOp)', 'fold', seqOp, captured, {
      zero: zeroValue,
    });
    shippableFunction('dataset.aggregate(zeroValue, seqOp, combOp): combOp', combOp);
    checkCapturedValues('dataset.aggregate: the zero value', zeroValue, action.fn!.callSite);
    const parts = (await this.#host.runJob(this.node, action)) as U[];
    return parts.reduce((accumulated, part) => combOp(accumulated, part, captured as C), structuredClone(zeroValue));
  }

  /**
   * The first `count` items, scanning as few partitions as Spark does: one partition first, then
   * more (interpolated from what was found, at most `spark.rdd.limit.scaleUpFactor` times the
   * partitions scanned so far) until enough items are found.
   */
  async take(count: number): Promise<T[]> {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new SparkMesosError('SM_ERR_BAD_ARGUMENT', `dataset.take(${count}): give a whole number ≥ 0`, {
        cause: { count },
      });
    }
    if (count === 0) return [];
    const scaleUpFactor = Math.max(this.#host.getInt('spark.rdd.limit.scaleUpFactor', 4), 2);
    const initialPartitions = this.#host.getInt('spark.rdd.limit.initialNumPartitions', 1);
    const totalPartitions = await this.#host.partitions(this.node);
    const taken: T[] = [];
    let scanned = 0;
    while (taken.length < count && scanned < totalPartitions) {
      const partsToTry = takePartitionsToTry(taken.length, count, scanned, initialPartitions, scaleUpFactor);
      const partitions = Array.from({ length: Math.min(partsToTry, totalPartitions - scanned) }, (_, i) => scanned + i);
      const left = count - taken.length;
      const action = this.#action('take', 'take', null, undefined, { count: left });
      const parts = (await this.#host.runJob(this.node, action, partitions)) as T[][];
      for (const part of parts) {
        for (const item of part) {
          if (taken.length >= count) break;
          taken.push(item);
        }
      }
      scanned += partitions.length;
    }
    return taken;
  }

  /** The first item; an empty dataset is an error. */
  async first(): Promise<T> {
    const taken = await this.take(1);
    if (taken.length === 0) {
      throw new SparkMesosError('SM_ERR_EMPTY_DATASET', 'dataset.first: empty collection', { cause: null });
    }
    return taken[0] as T;
  }

  /** Calls `fn` on every item where the tasks run (an async `fn` is awaited item by item). */
  async foreach<C = undefined>(fn: (item: T, captured: C) => unknown, captured?: C): Promise<void> {
    await this.#host.runJob(
      this.node,
      this.#action('dataset.foreach(fn)', 'foreach', fn, captured, null, { allowAsync: true }),
    );
  }

  /** Calls `fn` once per partition with its items, where the tasks run. */
  async foreachPartition<C = undefined>(fn: (items: Iterable<T>, captured: C) => unknown, captured?: C): Promise<void> {
    await this.#host.runJob(
      this.node,
      this.#action('dataset.foreachPartition(fn)', 'foreachPartition', fn, captured, null, { allowAsync: true }),
    );
  }

  /**
   * Writes the items as text, one line each (`String(item)`; plain objects as JSON), into a new
   * directory: one `part-NNNNN` file per partition, then an empty `_SUCCESS`. Like Spark, an
   * existing directory is refused (`SM_ERR_OUTPUT_EXISTS`).
   *
   * A local path is written by the tasks with `node:fs`, so on a cluster it must be on a file
   * system every executor and the driver share. A store URI (`s3://`, `s3a://`, `s3n://`,
   * `hdfs://`, `webhdfs://`, `swebhdfs://`) is checked by the driver with its credentials (an
   * object at the key or under the prefix, an HDFS path, is refused; HDFS gets the directory
   * made), which then gives each task a write URL of its own part — a presigned S3 PUT, a WebHDFS
   * CREATE with `overwrite=true` — so executors need no SDK and no credentials; a task PUTs its
   * whole part at once (a retried attempt replaces it), and the driver writes `_SUCCESS` last.
   */
  async saveAsTextFile(path: string): Promise<void> {
    if (isStoredFileUri(path)) return this.#saveToStore(path);
    const directory = resolve(path.startsWith('file:') ? fileURLToPath(path) : path);
    const exists = await stat(directory).then(
      () => true,
      () => false,
    );
    if (exists) {
      throw new SparkMesosError(
        'SM_ERR_OUTPUT_EXISTS',
        `Output directory ${directory} already exists; remove it or choose another path`,
        { cause: { directory }, details: { directory } },
      );
    }
    await mkdir(directory, { recursive: true });
    await this.#host.runJob(
      this.node,
      this.#action('saveAsTextFile', 'saveAsTextFile', null, undefined, { directory }),
    );
    await writeFile(join(directory, '_SUCCESS'), '');
  }

  async #saveToStore(location: string): Promise<void> {
    const writer = createStoreWriter(this.#host.storeOptions());
    const output = await writer.prepareOutput(location);
    const partitions = await this.#host.partitions(this.node);
    const targets: SaveTarget[] = [];
    for (let partition = 0; partition < partitions; partition++) {
      // Hadoop's part names: five digits, more when there are more partitions.
      const uri = `${output}/part-${String(partition).padStart(5, '0')}`;
      const write = await writer.writeUrlOf(uri);
      targets.push({
        url: write.url,
        source: uri,
        ...(write.redirect !== undefined ? { redirect: write.redirect } : {}),
        ...(write.headers !== undefined ? { headers: { ...write.headers } } : {}),
      });
    }
    const action = this.#action('saveAsTextFile', 'saveAsTextFile', null, undefined, null);
    await this.#host.runJob(this.node, { ...action, extraOf: (partition) => ({ target: targets[partition] }) });
    await writer.writeFile(`${output}/_SUCCESS`, new Uint8Array(0));
  }

  /** @internal The job runner, for `sc.runJob`. */
  get host(): DatasetHost {
    return this.#host;
  }
}

/** Where a `saveAsTextFile` task writes its part in a store (see the action in task-runtime.ts). */
interface SaveTarget {
  /** The write URL (a credential: never shown). */
  readonly url: string;
  /** The store URI of the part, for messages. */
  readonly source: string;
  /** `'location'`: an empty PUT first, then the bytes to its 307's Location (WebHDFS CREATE). */
  readonly redirect?: 'location';
  readonly headers?: Record<string, string>;
}

/**
 * How many partitions Spark's `take` tries next: `initialPartitions` first; after an empty scan
 * `scanned × scaleUpFactor`; otherwise `ceil(1.5 × left × scanned / found)` capped at
 * `scanned × scaleUpFactor`.
 */
export function takePartitionsToTry(
  found: number,
  wanted: number,
  scanned: number,
  initialPartitions: number,
  scaleUpFactor: number,
): number {
  if (scanned === 0) return Math.max(initialPartitions, 1);
  if (found === 0) return scanned * scaleUpFactor;
  const left = wanted - found;
  return Math.max(1, Math.min(Math.ceil((1.5 * left * scanned) / found), scanned * scaleUpFactor));
}

/** The parameters of `sc.runJob`'s function. */
export type RunJobFunction<T, U, C> = (items: Iterable<T>, context: TaskContext, captured: C) => U | Promise<U>;
