import type { SparkConf } from '@spark-mesos/config';
import type { LocalClusterMasterUrl } from '@spark-mesos/master-url';
import { type LocalCluster, type LocalClusterOptions, startLocalCluster } from '@spark-mesos/mesos-local';
import type { MesosBackendLog } from './mesos-backend-support.js';
import { createMesosCoarseBackend } from './mesos-coarse-backend.js';
import { prepareExecutorSource } from './mesos-executor-source.js';
import { createMesosFineBackend } from './mesos-fine-backend.js';
import type { SchedulerBackend } from './scheduler-backend.js';

/** Options of {@link createLocalClusterBackend}. */
export interface LocalClusterBackendOptions {
  /** Where the backend reports. @default warnings and errors to stderr */
  log?: MesosBackendLog;
  /** Options of the in-process cluster (heartbeats, allocation interval, credentials…), over the defaults here. @default {} */
  cluster?: Omit<LocalClusterOptions, 'agents' | 'resources'>;
  /** Called with the cluster once it runs (tests use its hooks). @default none */
  onCluster?: (cluster: LocalCluster) => void;
  /** The executor's runtime directory. @default the executor package's own */
  runtimeDirectory?: string;
}

/** Memory (MiB) Spark's default overhead adds at least (`max(0.1 × memory, 384)`). */
const MINIMUM_OVERHEAD_MIB = 384;

/**
 * The configuration a local cluster runs with: unless set, executor memory sized so that one
 * executor with its overhead fits an agent's `M` MiB, and the driver reachable on 127.0.0.1.
 */
export function localClusterConf(master: LocalClusterMasterUrl, conf: SparkConf): SparkConf {
  const copy = conf.clone();
  const memory = master.memoryPerAgentMb;
  if (!copy.contains('spark.executor.memory')) {
    if (memory - MINIMUM_OVERHEAD_MIB >= 32 || copy.contains('spark.mesos.executor.memoryOverhead')) {
      copy.set('spark.executor.memory', `${Math.max(32, memory - MINIMUM_OVERHEAD_MIB)}m`);
    } else {
      const half = Math.max(1, Math.floor(memory / 2));
      copy.set('spark.executor.memory', `${half}m`);
      copy.set('spark.mesos.executor.memoryOverhead', String(memory - half));
    }
  }
  copy.setIfMissing('spark.driver.host', '127.0.0.1');
  return copy;
}

/**
 * `local-cluster[A,C,M]`: starts `@spark-mesos/mesos-local` in this process (A agents of C
 * cores and M MiB each, on 127.0.0.1) and runs the Mesos backend (coarse, or fine with
 * `spark.mesos.coarse=false`) against it. Without `spark.executor.uri` or
 * `spark.mesos.executor.home` the executor is packed into a temporary directory and fetched
 * from there as `file://`. In fine-grained mode each agent gets the executor's
 * `spark.mesos.mesosExecutor.cores` on top of C, so that C tasks run at once as in coarse mode,
 * and `spark.mesos.fineGrained.memoryHeadroom` on top of M, which the offer matcher leaves unused.
 * `stop()` stops the backend, then the cluster, and removes the package.
 */
export function createLocalClusterBackend(
  master: LocalClusterMasterUrl,
  original: SparkConf,
  options: LocalClusterBackendOptions = {},
): SchedulerBackend {
  const conf = localClusterConf(master, original);
  const coarse = conf.getBoolean('spark.mesos.coarse', true);
  const name = `local-cluster[${master.agents},${master.coresPerAgent},${master.memoryPerAgentMb}]`;
  const parallelism = master.agents * master.coresPerAgent;
  let cluster: LocalCluster | undefined;
  let inner: SchedulerBackend | undefined;
  let cleanup: (() => void) | undefined;

  async function release(): Promise<void> {
    try {
      await inner?.stop();
    } finally {
      await cluster?.stop();
      cleanup?.();
    }
  }

  return {
    name,
    excludeOnFailureByDefault: false,
    defaultParallelism: () => parallelism,
    async start(events) {
      try {
        const executorCores = coarse ? 0 : conf.getDouble('spark.mesos.mesosExecutor.cores', 1);
        // The offer matcher leaves this much memory unused next to a new fine-grained executor
        // (MESOS-1688); the agents get it on top of M, as they get the executor's cores.
        const memoryHeadroom = coarse ? 0 : conf.getSizeAsMb('spark.mesos.fineGrained.memoryHeadroom', '32m');
        const prepared = await prepareExecutorSource(conf, {
          packLocally: true,
          ...(options.runtimeDirectory === undefined ? {} : { runtimeDirectory: options.runtimeDirectory }),
        });
        cleanup = prepared.cleanup;
        cluster = await startLocalCluster({
          // Offers follow freed resources within 20 ms (Mesos: 1 s): fine-grained tasks, which
          // wait for offers, run about 5 times faster than at mesos-local's default; a cycle
          // with nothing to offer costs microseconds.
          allocationIntervalMs: 20,
          ...options.cluster,
          agents: master.agents,
          resources: `cpus:${master.coresPerAgent + executorCores};mem:${master.memoryPerAgentMb + memoryHeadroom};disk:10000;ports:[31000-32000]`,
        });
        options.onCluster?.(cluster);
        const backendOptions = {
          conf,
          master: cluster.masterUrl,
          executor: prepared.source,
          name,
          bindHost: '127.0.0.1',
          advertisedHost: '127.0.0.1',
          defaultParallelism: parallelism,
          ...(options.log === undefined ? {} : { log: options.log }),
        };
        inner = coarse ? createMesosCoarseBackend(backendOptions) : createMesosFineBackend(backendOptions);
        await inner.start(events);
      } catch (error) {
        await release().catch(() => {});
        throw error;
      }
    },
    launch: (executorId, tasks) => inner?.launch(executorId, tasks),
    kill: (executorId, taskId, reason) => inner?.kill(executorId, taskId, reason),
    demandChanged: (demand) => inner?.demandChanged?.(demand),
    stop: release,
    // The in-process cluster's servers, timers and executor processes follow the backend's.
    ref() {
      cluster?.ref();
      inner?.ref?.();
    },
    unref() {
      cluster?.unref();
      inner?.unref?.();
    },
  };
}
