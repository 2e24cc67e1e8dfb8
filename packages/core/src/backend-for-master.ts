import type { SparkConf } from '@spark-mesos/config';
import { formatMasterUrl, type MasterUrl, type MesosMasterUrl } from '@spark-mesos/master-url';
import { createLocalClusterBackend, type LocalClusterBackendOptions } from './local-cluster.js';
import { registerMesosBackendKeys } from './mesos-backend-keys.js';
import type { MesosBackendLog, MesosBackendOptions } from './mesos-backend-support.js';
import { createMesosCoarseBackend } from './mesos-coarse-backend.js';
import { prepareExecutorSource } from './mesos-executor-source.js';
import { createMesosFineBackend } from './mesos-fine-backend.js';
import type { SchedulerBackend } from './scheduler-backend.js';

/** Options of {@link createBackendForMaster}. */
export interface BackendForMasterOptions {
  /** Where the Mesos backends report. @default warnings and errors to stderr */
  log?: MesosBackendLog;
  /** For `local-cluster[…]`: the in-process cluster's options and a hook to reach it (tests). @default {} */
  localCluster?: Omit<LocalClusterBackendOptions, 'log'>;
  /**
   * For `mesos://…`: pack the executor into a temporary directory and hand agents a `file://`
   * URI when neither `spark.executor.uri` nor `spark.mesos.executor.home` is set (agents on
   * this host only). @default false
   */
  packExecutorLocally?: boolean;
  /** Passed to the Mesos backends (subscribe timeout, scheduler client settings, clock). @default {} */
  mesos?: Pick<MesosBackendOptions, 'subscribeTimeoutMs' | 'schedulerClient' | 'now' | 'credentials'>;
}

/**
 * The scheduler backend of a master this package's Mesos support runs: `mesos://…` (coarse-
 * grained, or fine-grained with `spark.mesos.coarse=false`) and `local-cluster[A,C,M]`
 * (an in-process `mesos-local` cluster). Returns `undefined` for `local[…]`, which
 * `SparkContext` runs itself. The returned backend does its I/O in `start()`: packing or
 * uploading the executor (`spark.executor.uri` ending in `/`), starting the local cluster,
 * the driver endpoint and the Mesos subscription.
 *
 * Usable as `SparkContextOptions.createBackend`.
 */
export function createBackendForMaster(
  master: MasterUrl,
  conf: SparkConf,
  options: BackendForMasterOptions = {},
): SchedulerBackend | undefined {
  registerMesosBackendKeys(conf.registry);
  if (master.kind === 'local') return undefined;
  if (master.kind === 'local-cluster') {
    return createLocalClusterBackend(master, conf, {
      ...options.localCluster,
      ...(options.log === undefined ? {} : { log: options.log }),
    });
  }
  return createMesosBackend(master, conf, options);
}

function createMesosBackend(
  master: MesosMasterUrl,
  conf: SparkConf,
  options: BackendForMasterOptions,
): SchedulerBackend {
  const masterText = formatMasterUrl(master);
  const coarse = conf.getBoolean('spark.mesos.coarse', true);
  let inner: SchedulerBackend | undefined;
  let cleanup: (() => void) | undefined;
  // Shown in messages: a ZooKeeper password never is.
  const name = formatMasterUrl(master, { maskPassword: true });
  return {
    name,
    excludeOnFailureByDefault: false,
    defaultParallelism: () => inner?.defaultParallelism() ?? (coarse ? 2 : 8),
    async start(events) {
      const prepared = await prepareExecutorSource(conf, { packLocally: options.packExecutorLocally === true });
      cleanup = prepared.cleanup;
      const backendOptions: MesosBackendOptions = {
        conf,
        master: masterText,
        executor: prepared.source,
        name,
        ...options.mesos,
        ...(options.log === undefined ? {} : { log: options.log }),
      };
      inner = coarse ? createMesosCoarseBackend(backendOptions) : createMesosFineBackend(backendOptions);
      try {
        await inner.start(events);
      } catch (error) {
        cleanup();
        throw error;
      }
    },
    launch: (executorId, tasks) => inner?.launch(executorId, tasks),
    kill: (executorId, taskId, reason) => inner?.kill(executorId, taskId, reason),
    demandChanged: (demand) => inner?.demandChanged?.(demand),
    ref: () => inner?.ref?.(),
    unref: () => inner?.unref?.(),
    async stop() {
      try {
        await inner?.stop();
      } finally {
        cleanup?.();
      }
    },
  };
}
