import type { ResolvedOfferMatcherSettings } from './settings.js';

/** Spark's minimum executor memory overhead in MiB (`MEMORY_OVERHEAD_MINIMUM`). */
export const MEMORY_OVERHEAD_MINIMUM_MIB = 384;

/**
 * The memory an executor asks Mesos for, in MiB: `spark.executor.memory` plus the overhead
 * (`spark.mesos.executor.memoryOverhead`, else `spark.executor.memoryOverhead`, else
 * max(`spark.executor.memoryOverheadFactor` × memory, 384), truncated to whole MiB as Spark's
 * `.toInt`). 512 → 896, 1024 → 1408, 4096 → 4505.
 */
export function executorMemoryMiB(
  settings: Pick<
    ResolvedOfferMatcherSettings,
    'executorMemoryMiB' | 'executorMemoryOverheadMiB' | 'executorMemoryOverheadFactor'
  >,
): number {
  const memory = settings.executorMemoryMiB;
  const overhead =
    settings.executorMemoryOverheadMiB ??
    Math.trunc(Math.max(settings.executorMemoryOverheadFactor * memory, MEMORY_OVERHEAD_MINIMUM_MIB));
  return memory + overhead;
}

/**
 * `spark.cores.max` rounded down to a multiple of `spark.executor.cores` (the smallest executor
 * that can be launched), as Spark does; `Infinity` when unset.
 */
export function effectiveCoresMax(settings: Pick<ResolvedOfferMatcherSettings, 'coresMax' | 'executorCores'>): number {
  if (settings.coresMax === undefined) return Number.POSITIVE_INFINITY;
  const step = settings.executorCores ?? 1;
  return settings.coresMax - (settings.coresMax % step);
}

/**
 * The cores of the next coarse-grained executor: `spark.executor.cores` when set, else all
 * whole offered cpus up to what is left of `spark.cores.max` (Spark's `executorCores`).
 */
export function coarseExecutorCores(
  settings: Pick<ResolvedOfferMatcherSettings, 'coresMax' | 'executorCores'>,
  offeredCpus: number,
  coresAcquired: number,
): number {
  if (settings.executorCores !== undefined) return settings.executorCores;
  return Math.max(0, Math.min(Math.floor(offeredCpus), effectiveCoresMax(settings) - coresAcquired));
}
