import { SparkMesosError } from '@spark-mesos/errors';
import { type AttributeConstraints, parseConstraintString } from './constraints.js';

/** How executors or tasks are spread over offers. */
export type PlacementPolicy = 'spread' | 'pack';

/**
 * The settings the offer matcher reads, as a plain typed object. Every field is optional; the
 * defaults are Spark's (3.x, `resource-managers/mesos` `config.scala` and core `config`).
 * Build it from Spark keys with {@link offerMatcherSettingsFrom}.
 * @see https://spark.apache.org/docs/3.5.0/running-on-mesos.html#configuration
 */
export interface OfferMatcherSettings {
  /** `spark.executor.memory` in MiB. @default 1024 */
  executorMemoryMiB?: number;
  /**
   * The executor memory overhead in MiB: `spark.mesos.executor.memoryOverhead`, else
   * `spark.executor.memoryOverhead`. When unset, max(factor × memory, 384).
   * @default undefined
   */
  executorMemoryOverheadMiB?: number;
  /** `spark.executor.memoryOverheadFactor`. @default 0.1 */
  executorMemoryOverheadFactor?: number;
  /**
   * `spark.executor.cores`: cores per coarse-grained executor. When unset, one executor per
   * agent takes all offered cores (up to what is left of `spark.cores.max`).
   * @default undefined
   */
  executorCores?: number;
  /**
   * `spark.cores.max`: the cores the application may hold in total. Coarse-grained only: as in
   * Spark 3.x, whose `MesosFineGrainedSchedulerBackend` never reads it, fine-grained planning
   * ignores it (the planner does not know the cores of running fine-grained tasks).
   * @default undefined (no cap)
   */
  coresMax?: number;
  /**
   * `spark.mesos.executor.disk` (ours; Spark requests no disk) in MiB: the disk each coarse-grained
   * executor takes from the offered `disk` (root or PATH disk; never a persistent volume or a MOUNT
   * disk, which cannot be split). Fine-grained tasks ask for theirs in `TaskDescription.diskMiB`.
   * @default 0
   */
  executorDiskMiB?: number;
  /** `spark.mesos.gpus.max`: the GPUs the application may hold in total. @default 0 */
  gpusMax?: number;
  /** `spark.task.cpus`: cores per fine-grained task. @default 1 */
  taskCpus?: number;
  /** `spark.mesos.mesosExecutor.cores`: cores of the fine-grained executor itself. @default 1 */
  mesosExecutorCores?: number;
  /**
   * `spark.mesos.fineGrained.memoryHeadroom` (ours) in MiB: when a new fine-grained executor is
   * placed on an agent, at least this much of the agent's offered memory is left unused for the
   * rest of the round. The executor holds its memory for its lifetime, and a master older than
   * Mesos 0.23 (or one started with `--min_allocatable_resources` requiring memory) stops offering
   * an agent's cpus once less than 32 MB of its memory is left (MESOS-1688), which would starve
   * the agent's later tasks. 0 turns it off (Spark's behaviour: an exact fit is used).
   * @default 32
   * @see https://issues.apache.org/jira/browse/MESOS-1688
   */
  fineGrainedMemoryHeadroomMiB?: number;
  /** `spark.mesos.constraints`, parsed. @default no constraints */
  constraints?: AttributeConstraints;
  /** `spark.mesos.rejectOfferDuration` in seconds. @default 120 */
  rejectOfferDurationSeconds?: number;
  /**
   * `spark.mesos.rejectOfferDurationForUnmetConstraints` in seconds.
   * @default rejectOfferDurationSeconds
   */
  rejectOfferDurationForUnmetConstraintsSeconds?: number;
  /**
   * `spark.mesos.rejectOfferDurationForReachedMaxCores` in seconds.
   * @default rejectOfferDurationSeconds
   */
  rejectOfferDurationForReachedMaxCoresSeconds?: number;
  /**
   * The filter of other declines (offer too small, waiting for locality): Spark declines them
   * without a filter, i.e. with Mesos' default `Filters.refuse_seconds`.
   * @default 5
   */
  shortRefuseSeconds?: number;
  /**
   * `spark.mesos.maxAgentFailures` (ours; Spark hard-codes 2): failed executors after which an
   * agent gets nothing more.
   * @default 2
   */
  maxAgentFailures?: number;
  /**
   * `spark.mesos.agentFailureExpiry` (ours) in seconds: an exclusion ends this long after the
   * agent's last failure. Unset: never (as Spark).
   * @default undefined
   */
  agentFailureExpirySeconds?: number;
  /**
   * `spark.mesos.maintenanceHorizon` (ours; Spark ignores `Offer.unavailability`) in seconds: a
   * coarse-grained executor is long-running, so it is not started on an agent whose maintenance
   * window starts within this horizon (or has started and not ended). Fine-grained tasks are short
   * and only avoid a window that has started.
   * @default 3600
   */
  maintenanceHorizonSeconds?: number;
  /** Non-zero `spark.blockManager.port`: a port each executor must get. @default [] */
  requiredPorts?: readonly number[];
  /** `spark.locality.wait` in seconds: how long to wait for a preferred host. @default 3 */
  localityWaitSeconds?: number;
  /** `spark.mesos.placement` (ours): `spread` (Spark's round-robin) or `pack`. @default 'spread' */
  placement?: PlacementPolicy;
  /**
   * `spark.mesos.role`: when set, only resources of this role (reserved or allocated) and
   * unreserved ones are used. @default undefined (every offered role)
   */
  role?: string;
  /** `spark.mesos.acceptRevocableResources` (ours): use revocable resources. @default false */
  acceptRevocable?: boolean;
}

/** {@link OfferMatcherSettings} with every default applied. */
export interface ResolvedOfferMatcherSettings
  extends Required<
    Omit<
      OfferMatcherSettings,
      'executorMemoryOverheadMiB' | 'executorCores' | 'coresMax' | 'agentFailureExpirySeconds' | 'role'
    >
  > {
  executorMemoryOverheadMiB: number | undefined;
  executorCores: number | undefined;
  coresMax: number | undefined;
  agentFailureExpirySeconds: number | undefined;
  role: string | undefined;
}

/** Applies Spark's defaults to `settings`. */
export function resolveOfferMatcherSettings(settings: OfferMatcherSettings = {}): ResolvedOfferMatcherSettings {
  const reject = settings.rejectOfferDurationSeconds ?? 120;
  return {
    executorMemoryMiB: settings.executorMemoryMiB ?? 1024,
    executorMemoryOverheadMiB: settings.executorMemoryOverheadMiB,
    executorMemoryOverheadFactor: settings.executorMemoryOverheadFactor ?? 0.1,
    executorCores: settings.executorCores,
    coresMax: settings.coresMax,
    executorDiskMiB: settings.executorDiskMiB ?? 0,
    gpusMax: settings.gpusMax ?? 0,
    taskCpus: settings.taskCpus ?? 1,
    mesosExecutorCores: settings.mesosExecutorCores ?? 1,
    fineGrainedMemoryHeadroomMiB: settings.fineGrainedMemoryHeadroomMiB ?? 32,
    constraints: settings.constraints ?? new Map(),
    rejectOfferDurationSeconds: reject,
    rejectOfferDurationForUnmetConstraintsSeconds: settings.rejectOfferDurationForUnmetConstraintsSeconds ?? reject,
    rejectOfferDurationForReachedMaxCoresSeconds: settings.rejectOfferDurationForReachedMaxCoresSeconds ?? reject,
    shortRefuseSeconds: settings.shortRefuseSeconds ?? 5,
    maxAgentFailures: settings.maxAgentFailures ?? 2,
    agentFailureExpirySeconds: settings.agentFailureExpirySeconds,
    maintenanceHorizonSeconds: settings.maintenanceHorizonSeconds ?? 3600,
    requiredPorts: settings.requiredPorts ?? [],
    localityWaitSeconds: settings.localityWaitSeconds ?? 3,
    placement: settings.placement ?? 'spread',
    role: settings.role,
    acceptRevocable: settings.acceptRevocable ?? false,
  };
}

function badConfig(key: string, value: string, expected: string): SparkMesosError {
  return new SparkMesosError(
    'SM_ERR_BAD_CONFIG',
    `${key}=${JSON.stringify(value)} is not valid: set it to ${expected}.`,
    {
      cause: { key, value },
      details: { key },
    },
  );
}

const SIZE_FACTORS_TO_MIB: Readonly<Record<string, number>> = {
  b: 1 / (1024 * 1024),
  k: 1 / 1024,
  kb: 1 / 1024,
  m: 1,
  mb: 1,
  g: 1024,
  gb: 1024,
  t: 1024 * 1024,
  tb: 1024 * 1024,
  p: 1024 ** 3,
  pb: 1024 ** 3,
};

/** A Spark size (`512`, `512m`, `2g`) in MiB; a bare number means MiB, as Spark's memory keys. */
function parseSizeMiB(key: string, value: string): number {
  const match = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(value);
  const factor = match === null ? undefined : SIZE_FACTORS_TO_MIB[(match[2] ?? '').toLowerCase() || 'm'];
  if (match === null || factor === undefined) throw badConfig(key, value, 'a size such as 512m or 2g');
  return Math.floor(Number(match[1]) * factor);
}

const DURATION_FACTORS_TO_SECONDS: Readonly<Record<string, number>> = {
  us: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  min: 60,
  h: 3600,
  d: 86_400,
};

/** A Spark duration (`120s`, `2min`, `500ms`) in seconds; a bare number means seconds. */
function parseDurationSeconds(key: string, value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const factor = match === null ? undefined : DURATION_FACTORS_TO_SECONDS[(match[2] ?? '').toLowerCase() || 's'];
  if (match === null || factor === undefined) throw badConfig(key, value, 'a duration such as 120s, 2min or 500ms');
  return Number(match[1]) * factor;
}

function parseNumber(key: string, value: string, options: { integer?: boolean; min?: number } = {}): number {
  const number = Number(value.trim());
  const valid =
    value.trim() !== '' &&
    Number.isFinite(number) &&
    (options.integer !== true || Number.isInteger(number)) &&
    number >= (options.min ?? 0);
  if (!valid) {
    const kind = options.integer === true ? 'an integer' : 'a number';
    throw badConfig(key, value, `${kind} ≥ ${options.min ?? 0}`);
  }
  return number;
}

/**
 * Reads {@link OfferMatcherSettings} from Spark configuration keys through `get` (for example
 * `(key) => sparkConf.get(key)`), so the environment is read only by the caller. Sizes take
 * Spark's units (`2g`; bare numbers are MiB), durations Spark's (`120s`, `2min`; bare numbers
 * are seconds).
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the key, the value and the fix, or
 *   `SM_ERR_BAD_CONSTRAINTS` for a bad `spark.mesos.constraints`.
 */
export function offerMatcherSettingsFrom(get: (key: string) => string | undefined): OfferMatcherSettings {
  const settings: OfferMatcherSettings = {};
  const read = (key: string): string | undefined => {
    const value = get(key);
    return value === undefined ? undefined : value;
  };
  const size = (key: string) => {
    const value = read(key);
    return value === undefined ? undefined : parseSizeMiB(key, value);
  };
  const duration = (key: string) => {
    const value = read(key);
    return value === undefined ? undefined : parseDurationSeconds(key, value);
  };
  const number = (key: string, options: { integer?: boolean; min?: number } = {}) => {
    const value = read(key);
    return value === undefined ? undefined : parseNumber(key, value, options);
  };
  const assign = <K extends keyof OfferMatcherSettings>(field: K, value: OfferMatcherSettings[K] | undefined) => {
    if (value !== undefined) settings[field] = value;
  };

  assign('executorMemoryMiB', size('spark.executor.memory'));
  assign(
    'executorMemoryOverheadMiB',
    size('spark.mesos.executor.memoryOverhead') ?? size('spark.executor.memoryOverhead'),
  );
  assign('executorMemoryOverheadFactor', number('spark.executor.memoryOverheadFactor'));
  assign('executorCores', number('spark.executor.cores', { integer: true, min: 1 }));
  assign('coresMax', number('spark.cores.max', { integer: true }));
  assign('executorDiskMiB', size('spark.mesos.executor.disk'));
  assign('gpusMax', number('spark.mesos.gpus.max', { integer: true }));
  assign('taskCpus', number('spark.task.cpus', { integer: true, min: 1 }));
  assign('mesosExecutorCores', number('spark.mesos.mesosExecutor.cores'));
  assign('fineGrainedMemoryHeadroomMiB', size('spark.mesos.fineGrained.memoryHeadroom'));
  const constraints = read('spark.mesos.constraints');
  if (constraints !== undefined) settings.constraints = parseConstraintString(constraints, 'spark.mesos.constraints');
  assign('rejectOfferDurationSeconds', duration('spark.mesos.rejectOfferDuration'));
  assign(
    'rejectOfferDurationForUnmetConstraintsSeconds',
    duration('spark.mesos.rejectOfferDurationForUnmetConstraints'),
  );
  assign('rejectOfferDurationForReachedMaxCoresSeconds', duration('spark.mesos.rejectOfferDurationForReachedMaxCores'));
  assign('maxAgentFailures', number('spark.mesos.maxAgentFailures', { integer: true, min: 1 }));
  assign('agentFailureExpirySeconds', duration('spark.mesos.agentFailureExpiry'));
  assign('maintenanceHorizonSeconds', duration('spark.mesos.maintenanceHorizon'));
  const blockManagerPort = number('spark.blockManager.port', { integer: true });
  if (blockManagerPort !== undefined && blockManagerPort !== 0) settings.requiredPorts = [blockManagerPort];
  assign('localityWaitSeconds', duration('spark.locality.wait'));
  const placement = read('spark.mesos.placement');
  if (placement !== undefined) {
    if (placement !== 'spread' && placement !== 'pack')
      throw badConfig('spark.mesos.placement', placement, 'spread or pack');
    settings.placement = placement;
  }
  const role = read('spark.mesos.role');
  if (role !== undefined && role.trim() !== '') settings.role = role.trim();
  const revocable = read('spark.mesos.acceptRevocableResources');
  if (revocable !== undefined) {
    const normalised = revocable.trim().toLowerCase();
    if (normalised !== 'true' && normalised !== 'false') {
      throw badConfig('spark.mesos.acceptRevocableResources', revocable, 'true or false');
    }
    settings.acceptRevocable = normalised === 'true';
  }
  return settings;
}
