import { SparkMesosError } from '@spark-mesos/errors';
import type { Offer, Resource } from '@spark-mesos/mesos-client';
import { type UnmetConstraint, unmetConstraints } from './constraints.js';
import {
  preferenceOrderInto,
  type ResourceRequest,
  rangesContain,
  rangesOf,
  roundScalar,
  sumScalar,
  takeResources,
  usableResources,
} from './resources.js';
import {
  type OfferMatcherSettings,
  type ResolvedOfferMatcherSettings,
  resolveOfferMatcherSettings,
} from './settings.js';
import { coarseExecutorCores, effectiveCoresMax, executorMemoryMiB } from './sizing.js';

/** What the planner remembers about one agent between rounds. */
export interface AgentRecord {
  /** The agent's hostname, for locality. */
  hostname?: string;
  /** Our executors running on the agent. @default 0 */
  executors?: number;
  /** Failed executors of ours on the agent. @default 0 */
  failures?: number;
  /** When the last failure happened (ms since the epoch, the caller's clock). */
  lastFailureAt?: number;
}

/**
 * The caller's state, passed in and returned (the planner keeps none): agents, what is held,
 * and when the current locality wait began. Plain data, so it can be stored or logged.
 */
export interface PlanState {
  /** By agent id. */
  agents: Readonly<Record<string, AgentRecord>>;
  /** Cores held by running or launched executors (coarse-grained). */
  coresAcquired: number;
  /** GPUs held (coarse-grained). */
  gpusAcquired: number;
  /** Executors running or launched (coarse-grained). */
  executors: number;
  /**
   * When the planner started waiting for preferred hosts (ms); undefined when not waiting. Clear
   * it when the preferred hosts change: Spark restarts the wait on every executor request.
   */
  localityWaitStartedAt?: number;
}

/** A state with nothing held. */
export function initialPlanState(): PlanState {
  return { agents: {}, coresAcquired: 0, gpusAcquired: 0, executors: 0 };
}

/**
 * Records a failed executor on an agent; after `spark.mesos.maxAgentFailures` failures the
 * agent gets nothing more (until `spark.mesos.agentFailureExpiry` after the last failure, if set).
 */
export function recordAgentFailure(state: PlanState, agentId: string, now: number): PlanState {
  const agent = state.agents[agentId] ?? {};
  return {
    ...state,
    agents: { ...state.agents, [agentId]: { ...agent, failures: (agent.failures ?? 0) + 1, lastFailureAt: now } },
  };
}

/**
 * Ports each coarse-grained executor takes from the offered `ports` ranges, with the offered
 * piece's role and reservations kept.
 */
export interface PortDemand {
  /**
   * Port numbers each executor must get (e.g. one the driver chose), besides the settings'
   * `requiredPorts` (`spark.blockManager.port` when non-zero). Integers 1–65535. @default []
   */
  named?: readonly number[];
  /** How many further ports (any free ones, lowest first) each executor takes. @default 0 */
  count?: number;
}

/** Coarse-grained demand: executors sized by the settings. */
export interface CoarseDemand {
  /** Coarse-grained: long-running executors. */
  mode: 'coarse';
  /** Ports for each executor, besides `spark.blockManager.port`. @default none */
  ports?: PortDemand;
  /** The executors wanted in total (dynamic allocation's target). @default unlimited */
  executorLimit?: number;
  /** Hosts where executors are preferred (dynamic allocation's locality). @default [] */
  preferredHosts?: readonly string[];
}

/** One pending fine-grained task. */
export interface TaskDescription {
  /** The task's id, returned in the launch. */
  id: string;
  /** CPUs of the task. @default spark.task.cpus */
  cpus?: number;
  /** Memory of the task in MiB (Spark's fine-grained tasks take none). @default 0 */
  memMiB?: number;
  /** GPUs of the task. @default 0 */
  gpus?: number;
  /**
   * Disk of the task in MiB (ours; Spark requests none), from the offered root or PATH disk.
   * @default 0
   */
  diskMiB?: number;
  /** Hosts the task prefers (data locality). @default [] */
  preferredHosts?: readonly string[];
}

/** Fine-grained demand: individual tasks. */
export interface FineDemand {
  /** Fine-grained: one Mesos task per Spark task. */
  mode: 'fine';
  /** The pending tasks, in the order the application wants them placed. */
  tasks: readonly TaskDescription[];
}

/** What the application wants this round. */
export type Demand = CoarseDemand | FineDemand;

/** A stable code of a {@link DecisionReason}. */
export type DecisionReasonCode =
  | 'UNMET_CONSTRAINT'
  | 'AGENT_EXCLUDED'
  | 'AGENT_MAINTENANCE'
  | 'MAX_CORES_REACHED'
  | 'EXECUTOR_LIMIT_REACHED'
  | 'INSUFFICIENT_CPUS'
  | 'INSUFFICIENT_MEMORY'
  | 'INSUFFICIENT_DISK'
  | 'PORTS_UNAVAILABLE'
  | 'ONE_EXECUTOR_PER_AGENT'
  | 'LOCALITY_WAIT'
  | 'NO_TASK_FITS'
  | 'NO_DEMAND';

/** Why an offer was declined or only partly used, with the numbers. */
export interface DecisionReason {
  /** Stable, for programs (a UI, a `doctor` command). */
  code: DecisionReasonCode;
  /** For logs and UIs, e.g. `needs 1408 MB memory, offers 1024 MB`. */
  message: string;
}

/** A coarse-grained executor, or the fine-grained executor started with an agent's first task. */
export interface PlannedExecutor {
  /** The resources it takes, copied from the offer with their role and reservations. */
  resources: Resource[];
  /** Cores taken. */
  cpus: number;
  /** Memory taken in MiB (the executor memory with its overhead). */
  memMiB: number;
  /** GPUs taken. */
  gpus: number;
  /** Disk taken in MiB (`spark.mesos.executor.disk`; 0 for the fine-grained executor). */
  diskMiB: number;
  /**
   * The ports it takes, ascending: `spark.blockManager.port`, the demand's named ports and its
   * counted ones (coarse-grained only; the fine-grained executor takes none).
   */
  ports: number[];
}

/** What to ACCEPT on the offers of one agent. */
export interface PlannedLaunch {
  /** The first offer to ACCEPT (`offerIds[0]`). */
  offerId: string;
  /**
   * Every offer of the agent in this round, to ACCEPT together in one call (Mesos combines the
   * resources of offers of one agent named in one ACCEPT): the resources taken may span them.
   */
  offerIds: string[];
  /** The offer's agent. */
  agentId: string;
  /** The offer's hostname. */
  hostname: string;
  /** Coarse: the executors; fine: the executor, when the agent does not run ours yet. */
  executors: PlannedExecutor[];
  /**
   * The fine-grained tasks placed on the agent, in the order placed: the ids of their
   * {@link TaskDescription}s (the caller's strings). Empty in coarse mode. Columnar with
   * {@link PlannedLaunch.taskResources}, so a round makes no object per task.
   */
  taskIds: string[];
  /**
   * `taskResources[i]` is the resources of task `taskIds[i]`, copied from the offer with their
   * role and reservations. Read-only: equal cuts on an agent share one list (and its pieces).
   * Empty in coarse mode.
   */
  taskResources: (readonly Resource[])[];
  /** Why not more of the offer was used. */
  reasons: DecisionReason[];
}

/** What to DECLINE. */
export interface PlannedDecline {
  /** The offer to DECLINE. */
  offerId: string;
  /** The offer's agent. */
  agentId: string;
  /** The offer's hostname. */
  hostname: string;
  /** `Filters.refuse_seconds` for the DECLINE. */
  refuseSeconds: number;
  reasons: DecisionReason[];
}

/** Input of {@link planOffers}. */
export interface PlanOffersInput {
  /** The offers of this round (one OFFERS event, or several gathered). */
  offers: readonly Offer[];
  /** What the application wants. */
  demand: Demand;
  /** The settings; see {@link OfferMatcherSettings} for the defaults. @default {} */
  settings?: OfferMatcherSettings;
  /** @default initialPlanState() */
  state?: PlanState;
  /** The caller's clock, ms since the epoch. */
  now: number;
}

/** Output of {@link planOffers}. */
export interface PlanOffersResult {
  /** Offers to ACCEPT, with what to launch on each. */
  launches: PlannedLaunch[];
  /** Offers to DECLINE, with the filter and the reasons. */
  declines: PlannedDecline[];
  /** The state after the launches. */
  state: PlanState;
  /** Fine-grained tasks not placed this round. */
  unplacedTaskIds: string[];
}

interface Candidate {
  /** The agent's first offer of the round (hostname, attributes). */
  offer: Offer;
  /** The ids of all the agent's offers of the round, combined into this candidate. */
  offerIds: string[];
  agentId: string;
  /** The agent's record in the state passed in (read once: keyed reads of a large record cost). */
  agent: AgentRecord | undefined;
  remaining: Resource[];
  cpus: number;
  mem: number;
  gpus: number;
  /** Splittable disk (0 when nothing in the round asks for disk). */
  disk: number;
  // Made when first written: most candidates of a round never get some of them.
  executors: PlannedExecutor[] | undefined;
  taskIds: string[] | undefined;
  taskResources: Resource[][] | undefined;
  reasons: DecisionReason[] | undefined;
}

const NONE: readonly string[] = [];
const NONE_RESOURCES: readonly Resource[] = [];

// Reasons without numbers are the same for every offer: one frozen object each.
const NO_DEMAND: DecisionReason = Object.freeze({ code: 'NO_DEMAND', message: 'no pending tasks' });
const NO_TASK_FITS: DecisionReason = Object.freeze({
  code: 'NO_TASK_FITS',
  message: 'no pending task fits or may use this offer',
});

const NONE_UNMET: readonly UnmetConstraint[] = [];

/**
 * The sums of the scalars the planner counts, in one pass over the pieces (as {@link sumScalar}:
 * thousandths, so the sums are exact to Mesos' precision), written into `into`.
 */
function sumScalars(resources: readonly Resource[], into: { cpus: number; mem: number; gpus: number; disk: number }) {
  let cpus = 0;
  let mem = 0;
  let gpus = 0;
  let disk = 0;
  for (const resource of resources) {
    if (resource.type !== 'SCALAR') continue;
    const milli = Math.round((resource.scalar?.value ?? 0) * 1000);
    switch (resource.name) {
      case 'cpus':
        cpus += milli;
        break;
      case 'mem':
        mem += milli;
        break;
      case 'gpus':
        gpus += milli;
        break;
      case 'disk':
        disk += milli;
        break;
    }
  }
  into.cpus = cpus / 1000;
  into.mem = mem / 1000;
  into.gpus = gpus / 1000;
  into.disk = disk / 1000;
}

// Whether the record has a key, without listing its keys.
function hasKeys(record: Readonly<Record<string, unknown>>): boolean {
  for (const _ in record) return true;
  return false;
}

function reason(code: DecisionReasonCode, message: string): DecisionReason {
  return { code, message };
}

function isExcluded(
  agent: AgentRecord | undefined,
  settings: ResolvedOfferMatcherSettings,
  now: number,
): DecisionReason | undefined {
  const failures = agent?.failures ?? 0;
  if (failures < settings.maxAgentFailures) return undefined;
  const expiry = settings.agentFailureExpirySeconds;
  if (expiry !== undefined && now - (agent?.lastFailureAt ?? 0) >= expiry * 1000) return undefined;
  return reason(
    'AGENT_EXCLUDED',
    `agent excluded after ${failures} failures (spark.mesos.maxAgentFailures=${settings.maxAgentFailures})`,
  );
}

/**
 * Whether a `disk` piece can be cut for a request: root or PATH disk. Persistent volumes belong
 * to whoever created them, and MOUNT (or BLOCK, RAW) disks are taken whole or not at all.
 */
function isSplittableDisk(resource: Resource): boolean {
  const info = resource.disk;
  if (info === undefined) return true;
  if (info.persistence !== undefined) return false;
  return info.source === undefined || info.source.type === 'PATH';
}

/**
 * An offer's maintenance window (`Offer.unavailability`) that keeps it from this demand, with the
 * filter to decline it with: until the window ends (when its duration is known), at most
 * `rejectOfferDuration`. TimeInfo nanoseconds since the epoch exceed 2^53, so the codecs give the
 * nearest double: compare in milliseconds, where that rounding (≤ 256 ns) does not matter.
 */
function maintenanceBlocks(
  offer: Offer,
  mode: Demand['mode'],
  settings: ResolvedOfferMatcherSettings,
  now: number,
): { reason: DecisionReason; refuseSeconds: number } | undefined {
  const unavailability = offer.unavailability;
  if (unavailability === undefined) return undefined;
  const startMs = unavailability.start.nanoseconds / 1e6;
  const endMs =
    unavailability.duration === undefined
      ? Number.POSITIVE_INFINITY
      : startMs + unavailability.duration.nanoseconds / 1e6;
  if (now >= endMs) return undefined;
  const started = now >= startMs;
  // Fine-grained tasks are short: they may use the agent until the window starts.
  if (!started && (mode === 'fine' || startMs - now > settings.maintenanceHorizonSeconds * 1000)) return undefined;
  const start = new Date(startMs).toISOString();
  const until = endMs === Number.POSITIVE_INFINITY ? '' : ` until ${new Date(endMs).toISOString()}`;
  const message = started
    ? `agent under maintenance since ${start}${until}`
    : `agent maintenance starts at ${start}${until}, in ${Math.round((startMs - now) / 1000)} s (within spark.mesos.maintenanceHorizon=${settings.maintenanceHorizonSeconds} s)`;
  return {
    reason: reason('AGENT_MAINTENANCE', message),
    refuseSeconds: Math.max(0, Math.min(settings.rejectOfferDurationSeconds, (endMs - now) / 1000)),
  };
}

/**
 * Decides, for one round of offers, what to launch where and what to decline with which filter.
 * Pure: no I/O and no clock; the caller passes its state and `now` and keeps the returned state.
 *
 * Coarse-grained (Spark's `MesosCoarseGrainedSchedulerBackend`): one executor per agent unless
 * `spark.executor.cores` is set, then as many as fit; executors are placed round-robin across
 * offers (`spread`) or offer by offer (`pack`); `spark.cores.max` (rounded down to a multiple of
 * the executor cores), the executor limit, `spark.mesos.gpus.max`, named ports, constraints and
 * agent exclusions hold. Fine-grained (`MesosFineGrainedSchedulerBackend`): the executor
 * (`spark.mesos.mesosExecutor.cores`, executor memory) is paid once per agent, tasks take their
 * cpus; preferred hosts are waited for up to `spark.locality.wait`.
 *
 * Beyond Spark (which ignores `Offer.unavailability`): coarse executors are not started on an
 * agent whose maintenance starts within `maintenanceHorizonSeconds`, fine-grained tasks not once it
 * has started; such offers are declined until the window ends (at most `rejectOfferDuration`).
 *
 * Disk (beyond Spark): `executorDiskMiB` per coarse executor and `diskMiB` per fine task, cut from
 * root or PATH disk only.
 *
 * The offers of one agent in the round are combined (beyond Spark, which assumes one offer per
 * agent): a launch names them all in `offerIds`, to ACCEPT together.
 *
 * Declines carry `rejectOfferDurationForUnmetConstraints` (constraints),
 * `rejectOfferDurationForReachedMaxCores` (cap reached), `rejectOfferDuration` (excluded agent,
 * executor limit reached, no demand), else the short filter; every decline and partly used
 * offer carries its reasons.
 */
export function planOffers(input: PlanOffersInput): PlanOffersResult {
  const settings = resolveOfferMatcherSettings(input.settings);
  const state = input.state ?? initialPlanState();
  const declines: PlannedDecline[] = [];
  const candidates: Candidate[] = [];
  const roles = settings.role === undefined ? undefined : [settings.role, '*'];
  // Candidates by hostname: the first of each host, and a chain to the next one of that host (also
  // fine-grained planning's index of preferred hosts). An agent's offers carry its one hostname
  // (Mesos fills Offer.hostname from the agent's registration), so a second offer of an agent is
  // found among the candidates of its host: with one agent per host, no map by agent at all.
  const firstOfHost = new Map<string, number>();
  const nextOfHost = new Int32Array(input.offers.length);
  // The last candidate of each host's chain, at the index of the host's first: appended in O(1).
  const lastOfHost = new Int32Array(input.offers.length);
  // Made when a host first has a second offer, so that many agents sharing a hostname are not
  // compared one by one.
  let candidateOfAgent: Map<string, Candidate> | undefined;
  const demand = input.demand;
  const constrained = settings.constraints.size > 0;
  // Disk is looked at only when asked for, so rounds without disk pay nothing for it.
  const needsDisk =
    demand.mode === 'coarse'
      ? settings.executorDiskMiB > 0
      : demand.tasks.some((task) => task.diskMiB !== undefined && task.diskMiB > 0);

  const sums = { cpus: 0, mem: 0, gpus: 0, disk: 0 };
  const filter = { acceptRevocable: settings.acceptRevocable, roles };
  // A state that knows no agent yet (a first round) needs no lookup per offer.
  const knowsAgents = hasKeys(state.agents);
  for (const offer of input.offers) {
    const agentId = offer.agent_id.value;
    const agent = knowsAgents ? state.agents[agentId] : undefined;
    const excluded = isExcluded(agent, settings, input.now);
    if (excluded !== undefined) {
      // Beyond Spark (which declines these with the short filter): the agent will not be used,
      // so refuse it for rejectOfferDuration, or until its exclusion expires if sooner.
      const expiry = settings.agentFailureExpirySeconds;
      const untilExpiry =
        expiry === undefined ? Number.POSITIVE_INFINITY : expiry - (input.now - (agent?.lastFailureAt ?? 0)) / 1000;
      declines.push({
        offerId: offer.id.value,
        agentId,
        hostname: offer.hostname,
        refuseSeconds: Math.max(0, Math.min(settings.rejectOfferDurationSeconds, untilExpiry)),
        reasons: [excluded],
      });
      continue;
    }
    const maintenance = maintenanceBlocks(offer, input.demand.mode, settings, input.now);
    if (maintenance !== undefined) {
      declines.push({
        offerId: offer.id.value,
        agentId,
        hostname: offer.hostname,
        refuseSeconds: maintenance.refuseSeconds,
        reasons: [maintenance.reason],
      });
      continue;
    }
    const unmet = constrained ? unmetConstraints(settings.constraints, offer.attributes) : NONE_UNMET;
    if (unmet.length > 0) {
      declines.push({
        offerId: offer.id.value,
        agentId,
        hostname: offer.hostname,
        refuseSeconds: settings.rejectOfferDurationForUnmetConstraintsSeconds,
        reasons: unmet.map((item) =>
          reason(
            'UNMET_CONSTRAINT',
            `constraint ${item.attribute}${item.required.length > 0 ? `:${item.required.join(',')}` : ''} unmet: ${
              item.offered === undefined ? 'attribute not offered' : `offered ${item.offered}`
            }`,
          ),
        ),
      });
      continue;
    }
    let remaining = usableResources(offer.resources ?? NONE_RESOURCES, filter);
    if (needsDisk && remaining.some((piece) => piece.name === 'disk' && !isSplittableDisk(piece))) {
      remaining = remaining.filter((piece) => piece.name !== 'disk' || isSplittableDisk(piece));
    }
    sumScalars(remaining, sums);
    // Several offers of one agent become one candidate, accepted together: resources split across
    // them can then hold one executor, and every piece taken still comes from one of them.
    const hostname = offer.hostname;
    const firstOfItsHost = firstOfHost.get(hostname);
    let sameAgent: Candidate | undefined;
    if (firstOfItsHost !== undefined) {
      if (candidateOfAgent === undefined) {
        candidateOfAgent = new Map();
        for (const earlier of candidates) candidateOfAgent.set(earlier.agentId, earlier);
      }
      sameAgent = candidateOfAgent.get(agentId);
    }
    if (sameAgent !== undefined) {
      sameAgent.offerIds.push(offer.id.value);
      sameAgent.remaining = sameAgent.remaining.concat(remaining);
      sameAgent.cpus = roundScalar(sameAgent.cpus + sums.cpus);
      sameAgent.mem = roundScalar(sameAgent.mem + sums.mem);
      sameAgent.gpus = roundScalar(sameAgent.gpus + sums.gpus);
      if (needsDisk) sameAgent.disk = roundScalar(sameAgent.disk + sums.disk);
      continue;
    }
    // All fields set here, so every candidate has one shape.
    const candidate: Candidate = {
      offer,
      offerIds: [offer.id.value],
      agentId,
      agent,
      remaining,
      cpus: sums.cpus,
      mem: sums.mem,
      gpus: sums.gpus,
      disk: needsDisk ? sums.disk : 0,
      executors: undefined,
      taskIds: undefined,
      taskResources: undefined,
      reasons: undefined,
    };
    const index = candidates.length;
    candidates.push(candidate);
    candidateOfAgent?.set(agentId, candidate);
    nextOfHost[index] = -1;
    if (firstOfItsHost === undefined) {
      firstOfHost.set(hostname, index);
      lastOfHost[index] = index;
    } else {
      nextOfHost[lastOfHost[firstOfItsHost]!] = index;
      lastOfHost[firstOfItsHost] = index;
    }
  }

  const result =
    input.demand.mode === 'coarse'
      ? planCoarse(candidates, input.demand, settings, state, input.now)
      : planFine(candidates, firstOfHost, nextOfHost, input.demand, settings, state, input.now);

  const launches: PlannedLaunch[] = [];
  for (const candidate of candidates) {
    const offerId = candidate.offer.id.value;
    const agentId = candidate.agentId;
    const hostname = candidate.offer.hostname;
    const executors = candidate.executors;
    const taskIds = candidate.taskIds;
    if ((executors !== undefined && executors.length > 0) || (taskIds !== undefined && taskIds.length > 0)) {
      launches.push({
        offerId,
        offerIds: candidate.offerIds,
        agentId,
        hostname,
        executors: executors ?? [],
        taskIds: taskIds ?? [],
        taskResources: candidate.taskResources ?? [],
        reasons: candidate.reasons ?? [],
      });
    } else {
      // As Spark: only a reached spark.cores.max earns a long filter here; other misses (too
      // small, executor limit, waiting for locality, nothing pending) decline with the short one.
      const reasons = candidate.reasons ?? [];
      const refuseSeconds = reasons.some((item) => item.code === 'MAX_CORES_REACHED')
        ? settings.rejectOfferDurationForReachedMaxCoresSeconds
        : settings.shortRefuseSeconds;
      for (const id of candidate.offerIds) declines.push({ offerId: id, agentId, hostname, refuseSeconds, reasons });
    }
  }
  // A state made here (none passed in) is kept as it is: its records of agents are empty.
  keepShapesOf(settings, input.state === undefined ? state : undefined, result.state, candidates, launches, declines);
  return { launches, declines, state: result.state, unplacedTaskIds: result.unplacedTaskIds };
}

/**
 * The ports each coarse executor takes: the settings' required ports and the demand's named ones
 * (deduplicated, in that order) and a count of further ports.
 * @throws SparkMesosError `SM_ERR_BAD_DEMAND` for a port that is not an integer 1–65535, or a
 *   count that is not a non-negative integer.
 */
function portRequest(settings: ResolvedOfferMatcherSettings, demand: CoarseDemand): { named: number[]; count: number } {
  const named = [...new Set([...settings.requiredPorts, ...(demand.ports?.named ?? [])])];
  for (const port of named) {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new SparkMesosError(
        'SM_ERR_BAD_DEMAND',
        `Port ${port} cannot be requested: ask for integer ports from 1 to 65535 (spark.blockManager.port or demand.ports.named).`,
        { cause: { port }, details: { port } },
      );
    }
  }
  const count = demand.ports?.count ?? 0;
  if (!Number.isInteger(count) || count < 0) {
    throw new SparkMesosError(
      'SM_ERR_BAD_DEMAND',
      `demand.ports.count=${count} is not valid: ask for a whole number of ports, 0 or more.`,
      { cause: { count }, details: { count } },
    );
  }
  return { named, count };
}

/** Why an offer's ports cannot hold an executor's, with the numbers. */
function describePortShortage(remaining: readonly Resource[], named: readonly number[], count: number): string {
  const offered = rangesOf(remaining, 'ports');
  const offeredText =
    offered.length === 0
      ? 'offers no ports'
      : `offers ports ${offered.map((range) => (range.begin === range.end ? `${range.begin}` : `${range.begin}-${range.end}`)).join(',')}`;
  const missing = named.filter((port) => !rangesContain(offered, port));
  if (missing.length > 0) return `needs port${missing.length > 1 ? 's' : ''} ${missing.join(',')}, ${offeredText}`;
  return `needs ${named.length + count} ports (${named.length} named, ${count} more), ${offeredText}`;
}

// The ports taken, ascending (named and counted ones together).
function portsOf(resources: readonly Resource[]): number[] {
  const ports: number[] = [];
  for (const resource of resources) {
    if (resource.name !== 'ports' || resource.type !== 'RANGES') continue;
    for (const range of resource.ranges?.range ?? [])
      for (let port = range.begin; port <= range.end; port++) ports.push(port);
  }
  return ports.sort((a, b) => a - b);
}

function planCoarse(
  candidates: Candidate[],
  demand: CoarseDemand,
  settings: ResolvedOfferMatcherSettings,
  state: PlanState,
  now: number,
): { state: PlanState; unplacedTaskIds: string[] } {
  const memory = executorMemoryMiB(settings);
  const disk = settings.executorDiskMiB;
  const ports = portRequest(settings, demand);
  const portRanges: ResourceRequest['ranges'] =
    ports.named.length > 0 || ports.count > 0 ? { ports: { named: ports.named, count: ports.count } } : {};
  const coresMax = effectiveCoresMax(settings);
  const limit = demand.executorLimit ?? Number.POSITIVE_INFINITY;
  let coresAcquired = state.coresAcquired;
  let gpusAcquired = state.gpusAcquired;
  let executors = state.executors;
  const agents: Record<string, AgentRecord> = { ...state.agents };

  // Locality (Spark's satisfiesLocality): wait for preferred hosts without our executors, up
  // to spark.locality.wait from when the wait began.
  const hostsWithExecutors = new Set(
    Object.values(agents)
      .filter((agent) => (agent.executors ?? 0) > 0 && agent.hostname !== undefined)
      .map((agent) => agent.hostname as string),
  );
  const preferred = new Set((demand.preferredHosts ?? []).filter((host) => !hostsWithExecutors.has(host)));
  let localityWaitStartedAt = preferred.size > 0 ? (state.localityWaitStartedAt ?? now) : undefined;
  const waitOver = () =>
    localityWaitStartedAt === undefined || now - localityWaitStartedAt >= settings.localityWaitSeconds * 1000;

  // One attempt to start an executor on a candidate; records why not when it cannot.
  const tryLaunch = (candidate: Candidate): boolean => {
    const fail = (code: DecisionReasonCode, message: string) => {
      candidate.reasons = [reason(code, message)];
      return false;
    };
    if (executors >= limit) {
      return fail('EXECUTOR_LIMIT_REACHED', `executor limit ${limit} reached`);
    }
    if (coresAcquired >= coresMax) {
      return fail('MAX_CORES_REACHED', `max cores ${settings.coresMax} reached (spark.cores.max)`);
    }
    const agent = agents[candidate.agentId];
    if (settings.executorCores === undefined && (agent?.executors ?? 0) > 0) {
      return fail('ONE_EXECUTOR_PER_AGENT', 'the agent already runs an executor and spark.executor.cores is not set');
    }
    if (preferred.size > 0 && !preferred.has(candidate.offer.hostname) && !waitOver()) {
      return fail(
        'LOCALITY_WAIT',
        `waiting up to ${settings.localityWaitSeconds} s (spark.locality.wait) for preferred hosts ${[...preferred].join(',')}`,
      );
    }
    const cpus = coarseExecutorCores(settings, candidate.cpus, coresAcquired);
    if (cpus <= 0 || cpus > Math.floor(candidate.cpus)) {
      return fail('INSUFFICIENT_CPUS', `needs ${Math.max(cpus, 1)} cpus, offers ${roundScalar(candidate.cpus)}`);
    }
    if (coresAcquired + cpus > coresMax) {
      return fail(
        'MAX_CORES_REACHED',
        `max cores ${settings.coresMax} reached (spark.cores.max): holds ${coresAcquired}, an executor needs ${cpus}`,
      );
    }
    if (memory > candidate.mem) {
      return fail('INSUFFICIENT_MEMORY', `needs ${memory} MB memory, offers ${roundScalar(candidate.mem)} MB`);
    }
    if (disk > candidate.disk + 1e-9) {
      return fail('INSUFFICIENT_DISK', `needs ${disk} MB disk, offers ${roundScalar(candidate.disk)} MB`);
    }
    const gpus = Math.min(Math.max(0, settings.gpusMax - gpusAcquired), Math.floor(candidate.gpus));
    const scalars: Record<string, number> = { cpus, mem: memory };
    if (gpus > 0) scalars.gpus = gpus;
    if (disk > 0) scalars.disk = disk;
    const request: ResourceRequest = {
      scalars,
      ranges: portRanges,
    };
    const taken = takeResources(candidate.remaining, request);
    if (taken === undefined) {
      return fail('PORTS_UNAVAILABLE', describePortShortage(candidate.remaining, ports.named, ports.count));
    }
    candidate.remaining = taken.remaining;
    candidate.cpus = roundScalar(candidate.cpus - cpus);
    candidate.mem = roundScalar(candidate.mem - memory);
    candidate.gpus = roundScalar(candidate.gpus - gpus);
    candidate.disk = roundScalar(candidate.disk - disk);
    candidate.executors ??= [];
    candidate.executors.push({
      resources: taken.taken,
      cpus,
      memMiB: memory,
      gpus,
      diskMiB: disk,
      ports: portsOf(taken.taken),
    });
    coresAcquired += cpus;
    gpusAcquired += gpus;
    executors += 1;
    agents[candidate.agentId] = {
      ...agent,
      hostname: candidate.offer.hostname,
      executors: (agent?.executors ?? 0) + 1,
    };
    preferred.delete(candidate.offer.hostname);
    return true;
  };

  if (settings.placement === 'pack') {
    for (const candidate of candidates) while (tryLaunch(candidate));
  } else {
    // Spark's buildMesosTasks: one executor per offer per pass, until a pass launches nothing.
    let open = candidates;
    while (open.length > 0) open = open.filter(tryLaunch);
  }
  if (coresAcquired >= coresMax) {
    for (const candidate of candidates) {
      if (
        candidate.executors === undefined &&
        !(candidate.reasons?.some((item) => item.code === 'MAX_CORES_REACHED') ?? false)
      ) {
        candidate.reasons ??= [];
        candidate.reasons.push(reason('MAX_CORES_REACHED', `max cores ${settings.coresMax} reached (spark.cores.max)`));
      }
    }
  }
  if (preferred.size === 0) localityWaitStartedAt = undefined;
  const next: PlanState = { agents, coresAcquired, gpusAcquired, executors };
  if (localityWaitStartedAt !== undefined) next.localityWaitStartedAt = localityWaitStartedAt;
  return { state: next, unplacedTaskIds: [] };
}

// The fields of a candidate in FineRound.numbers.
const CPUS = 0;
const MEM = 1;
const GPUS = 2;
const DISK = 3;
const PAID = 4;
// 1 when this round starts our executor on the candidate (and so keeps the memory headroom).
const STARTED = 5;
// Cutting: the candidate's pieces in pieceLeft/pieceOrder (START … END - 1), its first `cpus`
// piece with something left (-1: look), and SHARED_SLOTS keys of shared cuts (-1: free) — next to
// the numbers a fit check reads, so a cpus-only task's cut reaches nothing else of the candidate.
const START = 6;
const END = 7;
const FIRST_CPUS = 8;
const SHARED = 9;
// Shared cuts remembered per candidate (1 cpu, 2 cpus, …); further distinct cuts are not shared.
const SHARED_SLOTS = 4;
const STRIDE = SHARED + SHARED_SLOTS;

/**
 * The numbers of one fine-grained round, per candidate side by side in one typed array (a round
 * touches them once per task tried: kept together in memory and out of the garbage collector's
 * way), with the resource cutting. A class, not closures in planFine: closures are new functions
 * every round, which would throw away planFine's optimised code each time ("wrong call target").
 */
class FineRound {
  readonly count: number;
  /**
   * Per candidate, side by side (one cache line per candidate for a fit check): cpus, memory,
   * gpus and disk left, and 1 when the agent runs (or will run) our executor — the offers of an
   * agent are one candidate, so the executor is paid once per agent.
   */
  readonly numbers: Float64Array;
  /** The candidates in the order of their first task. */
  readonly placedOrder: Candidate[] = [];
  /**
   * Tasks the numbers placed but the cut refused (only a rounding difference could): reported
   * unplaced after the others, per candidate in the order above.
   */
  cutFailures: Map<Candidate, string[]> | undefined = undefined;

  // The placed tasks, in the order placed: their candidate, their index in the demand and their
  // resources. Each candidate's two columns (ids and resources, of exactly its size) are made at
  // the end (finishTasks): no list grows task by task, and no object is made per task. The
  // resources are a number (see placedCut), so nothing per task is on the heap until then.
  readonly placedCandidate: Int32Array;
  readonly placedTask: Int32Array;
  /**
   * Per placed task, its resources: `c >= 0` is `sharedLists[c]` (the usual task), `c < 0` is
   * `otherCuts[-c - 1]` (a cut not shared: memory, gpus, disk, or several pieces).
   */
  readonly placedCut: Int32Array;
  readonly otherCuts: Resource[][] = [];
  /** Set by takeCpus: the sharedLists index of the list it returned, or -1 (not shared). */
  sharedSlot = -1;
  placedCount = 0;
  /** Tasks placed per candidate. */
  readonly taskCounts: Int32Array;
  /** Per candidate, its executor's resources when cut ahead of its first task (see the constructor). */
  readonly executorResources: (Resource[] | undefined)[];

  // The cutting state of every candidate in flat arrays rather than an object per offer (the
  // same rules as createScalarCutter: thousandths, reserved pieces first, pieces copied with
  // their role and reservations; equal single-piece cuts share one list). Candidate i's pieces
  // (candidate.remaining) sit at numbers[i * STRIDE + START] … numbers[i * STRIDE + END] - 1.
  /** Thousandths left per scalar piece (0 for other pieces). */
  readonly pieceLeft: Float64Array;
  /** Per slot, in cutting order: the index within candidate.remaining of the piece cut there. */
  readonly pieceOrder: Int32Array;
  /** 1 once a task is placed on the candidate. */
  readonly touched: Uint8Array;
  /** Per candidate, SHARED_SLOTS shared cuts (their keys are in numbers). */
  readonly sharedLists: (Resource[] | undefined)[];

  /** The memory a new executor makes unavailable: its own and the headroom left unused. */
  readonly executorMemoryWithHeadroom: number;

  // A cut's request (names and thousandths, `cutLength` of them) and the pieces it took, reused
  // by every cut: no record, key list or growing list per cut.
  readonly cutNames: string[] = ['', '', '', ''];
  readonly cutNeeds = new Float64Array(4);
  cutLength = 0;
  readonly cutTaken: (Resource | undefined)[] = [];

  constructor(
    readonly candidates: Candidate[],
    readonly tasks: readonly TaskDescription[],
    readonly agents: Record<string, AgentRecord>,
    readonly executorCpus: number,
    readonly executorMemory: number,
    readonly memoryHeadroom: number,
    taskCpus: number,
  ) {
    this.executorMemoryWithHeadroom = executorMemory + memoryHeadroom;
    const count = candidates.length;
    this.count = count;
    this.numbers = new Float64Array(count * STRIDE);
    let pieces = 0;
    for (let index = 0; index < count; index++) {
      const candidate = candidates[index]!;
      const at = index * STRIDE;
      this.numbers[at + CPUS] = candidate.cpus;
      this.numbers[at + MEM] = candidate.mem;
      this.numbers[at + GPUS] = candidate.gpus;
      this.numbers[at + DISK] = candidate.disk;
      this.numbers[at + PAID] = (candidate.agent?.executors ?? 0) > 0 ? 1 : 0;
      this.numbers[at + START] = pieces;
      pieces += candidate.remaining.length;
      this.numbers[at + END] = pieces;
      this.numbers[at + FIRST_CPUS] = -1;
      for (let slot = 0; slot < SHARED_SLOTS; slot++) this.numbers[at + SHARED + slot] = -1;
    }
    this.pieceLeft = new Float64Array(pieces);
    this.pieceOrder = new Int32Array(pieces);
    this.touched = new Uint8Array(count);
    this.sharedLists = new Array(count * SHARED_SLOTS).fill(undefined);
    this.placedCandidate = new Int32Array(tasks.length);
    this.placedTask = new Int32Array(tasks.length);
    this.placedCut = new Int32Array(tasks.length);
    this.taskCounts = new Int32Array(count);
    // Every candidate's pieces now, in order (they were just read): not at its first task, in
    // the order tasks reach candidates (at random, for preferred hosts). With at least as many
    // tasks as candidates, each is likely to get one: then its executor's cut and the list of a
    // default task's cpus are made now too, while its pieces are at hand. Both are what its
    // first placements would make (the executor is cut first, and equal cuts share a list).
    this.executorResources = new Array(count);
    const eager = tasks.length >= count;
    for (let index = 0; index < count; index++) {
      this.load(index);
      if (!eager) continue;
      if (this.numbers[index * STRIDE + PAID] === 0) this.executorResources[index] = this.takeExecutor(index);
      this.prepareShared(index, Math.round(taskCpus * 1000));
    }
  }

  /** Whether this round starts our executor on the candidate. */
  started(index: number): boolean {
    return this.numbers[index * STRIDE + STARTED] === 1;
  }

  /** Whether the candidate runs (or will run) our executor. */
  paid(index: number): boolean {
    return this.numbers[index * STRIDE + PAID] === 1;
  }

  /** What the candidate has left of a scalar (`CPUS`, `MEM`). */
  left(index: number, field: number): number {
    return this.numbers[index * STRIDE + field]!;
  }

  /** Whether a task of these needs (plus the executor, when not paid yet) fits the candidate. */
  fits(index: number, cpus: number, mem: number, gpus: number, disk: number): boolean {
    const numbers = this.numbers;
    const at = index * STRIDE;
    const free = numbers[at + PAID] === 1;
    return (
      numbers[at + CPUS]! - (free ? 0 : this.executorCpus) >= cpus - 1e-9 &&
      numbers[at + MEM]! - (free ? 0 : this.executorMemoryWithHeadroom) >= mem - 1e-9 &&
      numbers[at + GPUS]! >= gpus - 1e-9 &&
      numbers[at + DISK]! >= disk - 1e-9
    );
  }

  /** Loads a candidate's pieces for cutting. */
  private load(index: number): void {
    const pieces = this.candidates[index]!.remaining;
    const start = this.numbers[index * STRIDE + START]!;
    for (let at = 0; at < pieces.length; at++) {
      const piece = pieces[at]!;
      this.pieceLeft[start + at] = piece.type === 'SCALAR' ? Math.round((piece.scalar?.value ?? 0) * 1000) : 0;
    }
    preferenceOrderInto(pieces, this.pieceOrder, start);
  }

  /** Adds a scalar to the next cut's request (in thousandths, as ScalarCutter). */
  private request(name: string, amount: number): void {
    this.cutNames[this.cutLength] = name;
    this.cutNeeds[this.cutLength] = Math.round(amount * 1000);
    this.cutLength += 1;
  }

  /** Cuts the executor's cpus and memory (nothing when they do not fit, as the numbers said they do). */
  private takeExecutor(index: number): Resource[] {
    this.request('cpus', this.executorCpus);
    this.request('mem', this.executorMemory);
    return this.take(index) ?? [];
  }

  /**
   * Makes the shared list of a cut of `need` thousandths cpus from the candidate's first `cpus`
   * piece with something left, as takeCpus would at the first such task, without taking it.
   */
  private prepareShared(index: number, need: number): void {
    const numbers = this.numbers;
    const at = index * STRIDE;
    const start = numbers[at + START]!;
    const end = numbers[at + END]!;
    const pieces = this.candidates[index]!.remaining;
    let first = -1;
    for (let slot = start; slot < end; slot++) {
      const pieceIndex = this.pieceOrder[slot]!;
      const piece = pieces[pieceIndex]!;
      if (piece.name === 'cpus' && piece.type === 'SCALAR' && this.pieceLeft[start + pieceIndex]! > 0) {
        first = pieceIndex;
        break;
      }
    }
    numbers[at + FIRST_CPUS] = first;
    if (first === -1 || need <= 0 || this.pieceLeft[start + first]! < need) return;
    numbers[at + SHARED] = first * 1e9 + need;
    this.sharedLists[index * SHARED_SLOTS] = this.sharedCut(index, first, need);
  }

  /** A list of one copy of the candidate's piece with `need` thousandths (shared by equal cuts). */
  private sharedCut(index: number, pieceIndex: number, need: number): Resource[] {
    return [{ ...this.candidates[index]!.remaining[pieceIndex]!, scalar: { value: need / 1000 } }];
  }

  /**
   * Takes the request from the candidate's pieces (as ScalarCutter.take): all or nothing, names
   * in the order requested, each from the pieces in preference order.
   */
  private take(index: number): Resource[] | undefined {
    const length = this.cutLength;
    this.cutLength = 0;
    const pieces = this.candidates[index]!.remaining;
    const start = this.numbers[index * STRIDE + START]!;
    const end = this.numbers[index * STRIDE + END]!;
    const left = this.pieceLeft;
    const order = this.pieceOrder;
    const names = this.cutNames;
    const needs = this.cutNeeds;
    for (let request = 0; request < length; request++) {
      const name = names[request]!;
      let need = needs[request]!;
      for (let slot = start; slot < end && need > 0; slot++) {
        const pieceIndex = order[slot]!;
        const piece = pieces[pieceIndex]!;
        if (piece.name === name && piece.type === 'SCALAR') need -= left[start + pieceIndex]!;
      }
      if (need > 0) return undefined;
    }
    const taken = this.cutTaken;
    let count = 0;
    for (let request = 0; request < length; request++) {
      const name = names[request]!;
      let need = needs[request]!;
      for (let slot = start; slot < end && need > 0; slot++) {
        const pieceIndex = order[slot]!;
        const piece = pieces[pieceIndex]!;
        const have = left[start + pieceIndex]!;
        if (piece.name !== name || piece.type !== 'SCALAR' || have <= 0) continue;
        const use = Math.min(have, need);
        need -= use;
        left[start + pieceIndex] = have - use;
        taken[count++] = { ...piece, scalar: { value: use / 1000 } };
      }
    }
    // A task's cpus may have used up the piece remembered as the first.
    this.numbers[index * STRIDE + FIRST_CPUS] = -1;
    const list = taken.slice(0, count) as Resource[];
    taken.fill(undefined, 0, count);
    return list;
  }

  /** Takes `amount` cpus (as ScalarCutter.takeScalar): equal cuts from one piece share a list. */
  private takeCpus(index: number, amount: number): Resource[] | undefined {
    const numbers = this.numbers;
    const at = index * STRIDE;
    const start = numbers[at + START]!;
    const end = numbers[at + END]!;
    const left = this.pieceLeft;
    const order = this.pieceOrder;
    let need = Math.round(amount * 1000);
    // The first piece with something left stays the first until it is used up (amounts only
    // shrink), so it is remembered until then; the pieces themselves are read only to find it.
    let first = numbers[at + FIRST_CPUS]!;
    if (first === -1 || left[start + first]! <= 0) {
      const pieces = this.candidates[index]!.remaining;
      first = -1;
      for (let slot = start; slot < end; slot++) {
        const pieceIndex = order[slot]!;
        const piece = pieces[pieceIndex]!;
        if (piece.name === 'cpus' && piece.type === 'SCALAR' && left[start + pieceIndex]! > 0) {
          first = pieceIndex;
          break;
        }
      }
      numbers[at + FIRST_CPUS] = first;
    }
    if (first === -1 || left[start + first]! < need) {
      const pieces = this.candidates[index]!.remaining;
      let have = 0;
      for (let slot = start; slot < end; slot++) {
        const pieceIndex = order[slot]!;
        const piece = pieces[pieceIndex]!;
        if (piece.name === 'cpus' && piece.type === 'SCALAR' && left[start + pieceIndex]! > 0)
          have += left[start + pieceIndex]!;
      }
      if (have < need) return undefined;
    }
    if (need > 0 && left[start + first]! >= need) {
      left[start + first] = left[start + first]! - need;
      const key = first * 1e9 + need;
      let free = -1;
      for (let slot = 0; slot < SHARED_SLOTS; slot++) {
        const slotKey = numbers[at + SHARED + slot]!;
        if (slotKey === key) {
          this.sharedSlot = index * SHARED_SLOTS + slot;
          return this.sharedLists[index * SHARED_SLOTS + slot]!;
        }
        if (slotKey === -1 && free === -1) free = slot;
      }
      const shared = this.sharedCut(index, first, need);
      if (free !== -1) {
        numbers[at + SHARED + free] = key;
        this.sharedLists[index * SHARED_SLOTS + free] = shared;
        this.sharedSlot = index * SHARED_SLOTS + free;
      }
      return shared;
    }
    const pieces = this.candidates[index]!.remaining;
    const taken: Resource[] = [];
    for (let slot = start; slot < end && need > 0; slot++) {
      const pieceIndex = order[slot]!;
      const piece = pieces[pieceIndex]!;
      const available = left[start + pieceIndex]!;
      if (piece.name !== 'cpus' || piece.type !== 'SCALAR' || available <= 0) continue;
      const use = Math.min(available, need);
      need -= use;
      left[start + pieceIndex] = available - use;
      taken.push({ ...piece, scalar: { value: use / 1000 } });
    }
    return taken;
  }

  /**
   * Places a task (and the executor first, when the agent has none). Resource pieces are cut at
   * once — the executor first, then the tasks in the order they are placed — so each launch keeps
   * the offered roles and reservations.
   */
  place(index: number, taskIndex: number, cpus: number, mem: number, gpus: number, disk: number): void {
    const candidate = this.candidates[index]!;
    if (this.touched[index] === 0) {
      this.touched[index] = 1;
      this.placedOrder.push(candidate);
    }
    const numbers = this.numbers;
    const at = index * STRIDE;
    if (numbers[at + PAID] === 0) {
      numbers[at + PAID] = 1;
      numbers[at + CPUS] = numbers[at + CPUS]! - this.executorCpus;
      // The headroom stays unused for the rest of the round (MESOS-1688).
      numbers[at + MEM] = numbers[at + MEM]! - this.executorMemoryWithHeadroom;
      numbers[at + STARTED] = 1;
      // One candidate per agent, and this runs once per candidate: the state's record is current.
      const agent = candidate.agent;
      this.agents[candidate.agentId] =
        agent === undefined
          ? { hostname: candidate.offer.hostname, executors: 1 }
          : { ...agent, hostname: candidate.offer.hostname, executors: (agent.executors ?? 0) + 1 };
      // The only executor of the candidate this round: a list of one, not a grown one.
      candidate.executors = [
        {
          resources: this.executorResources[index] ?? this.takeExecutor(index),
          cpus: this.executorCpus,
          memMiB: this.executorMemory,
          gpus: 0,
          diskMiB: 0,
          ports: [],
        },
      ];
    }
    numbers[at + CPUS] = numbers[at + CPUS]! - cpus;
    numbers[at + MEM] = numbers[at + MEM]! - mem;
    numbers[at + GPUS] = numbers[at + GPUS]! - gpus;
    numbers[at + DISK] = numbers[at + DISK]! - disk;
    let resources: Resource[] | undefined;
    this.sharedSlot = -1;
    if (mem > 0 || gpus > 0 || disk > 0) {
      this.request('cpus', cpus);
      if (mem > 0) this.request('mem', mem);
      if (gpus > 0) this.request('gpus', gpus);
      if (disk > 0) this.request('disk', disk);
      resources = this.take(index);
    } else {
      // The usual fine-grained task needs cpus only: equal cuts share one list.
      resources = this.takeCpus(index, cpus);
    }
    if (resources !== undefined) {
      const placed = this.placedCount++;
      this.placedCandidate[placed] = index;
      this.placedTask[placed] = taskIndex;
      const slot = this.sharedSlot;
      this.placedCut[placed] = slot >= 0 ? slot : -this.otherCuts.push(resources);
      this.taskCounts[index] = this.taskCounts[index]! + 1;
    } else {
      this.cutFailures ??= new Map();
      const id = this.tasks[taskIndex]!.id;
      const failed = this.cutFailures.get(candidate);
      if (failed === undefined) this.cutFailures.set(candidate, [id]);
      else failed.push(id);
    }
  }

  /**
   * Makes each candidate's columns of placed tasks (ids, resources), of exactly its size, in the
   * order placed. The ids are the caller's strings, not copies.
   */
  finishTasks(): void {
    const candidates = this.candidates;
    const counts = this.taskCounts;
    for (let index = 0; index < this.count; index++) {
      const count = counts[index]!;
      if (count === 0) continue;
      const candidate = candidates[index]!;
      candidate.taskIds = new Array<string>(count);
      candidate.taskResources = new Array<Resource[]>(count);
    }
    const filled = new Int32Array(this.count);
    const tasks = this.tasks;
    const placedCandidate = this.placedCandidate;
    const placedTask = this.placedTask;
    const placedCut = this.placedCut;
    const sharedLists = this.sharedLists;
    const otherCuts = this.otherCuts;
    for (let placed = 0; placed < this.placedCount; placed++) {
      const index = placedCandidate[placed]!;
      const candidate = candidates[index]!;
      const at = filled[index]!++;
      candidate.taskIds![at] = tasks[placedTask[placed]!]!.id;
      const cut = placedCut[placed]!;
      candidate.taskResources![at] = cut >= 0 ? sharedLists[cut]! : otherCuts[-cut - 1]!;
    }
  }
}

/**
 * One object of each shape a round makes, kept alive between rounds. V8 forgets a hidden class at
 * a full collection once no object of it is alive, and throws away the optimised code that checks
 * it: the next round then runs unoptimised while V8 compiles it again. A driver's heap is collected
 * between its rounds, so every round paid that (10,000 offers × 100,000 tasks with a collection
 * before each round: 90 ms a round instead of 46; see the package README). What is kept is small:
 * a FineRound made here (with doubles where a round may store doubles, so that no round's values
 * change its hidden class) and single objects of the latest round — never its lists of offers,
 * tasks or launches, nor the caller's records of agents.
 */
const shapes: { round: FineRound; latest: unknown[] } = {
  round: new FineRound([], [], {}, 0.5, 0.5, 0.5, 0.5),
  latest: [],
};

function keepShapesOf(
  settings: ResolvedOfferMatcherSettings,
  stateIn: PlanState | undefined,
  stateOut: PlanState,
  candidates: readonly Candidate[],
  launches: readonly PlannedLaunch[],
  declines: readonly PlannedDecline[],
): void {
  const first = candidates[0];
  const last = candidates.at(-1);
  shapes.latest = [
    settings,
    // The states' shapes, without the caller's records of agents (a state the caller passed in
    // is the caller's to keep).
    stateIn,
    { ...stateOut, agents: {} },
    first,
    last,
    first === undefined ? undefined : stateOut.agents[first.agentId],
    launches[0],
    launches.at(-1),
    declines[0],
  ];
}

function planFine(
  candidates: Candidate[],
  firstOfHost: ReadonlyMap<string, number>,
  nextOfHost: Int32Array,
  demand: FineDemand,
  settings: ResolvedOfferMatcherSettings,
  state: PlanState,
  now: number,
): { state: PlanState; unplacedTaskIds: string[] } {
  const memory = executorMemoryMiB(settings);
  const executorCpus = settings.mesosExecutorCores;
  const agents: Record<string, AgentRecord> = { ...state.agents };
  const unplaced: string[] = [];
  const count = candidates.length;
  const headroom = settings.fineGrainedMemoryHeadroomMiB;
  const round = new FineRound(candidates, demand.tasks, agents, executorCpus, memory, headroom, settings.taskCpus);

  if (demand.tasks.length === 0) {
    for (const candidate of candidates) candidate.reasons = [NO_DEMAND];
    return { state, unplacedTaskIds: [] };
  }

  const waitStart = state.localityWaitStartedAt ?? now;
  const waitOver = now - waitStart >= settings.localityWaitSeconds * 1000;
  let waitingForLocality = false;

  // Pass 1: tasks with preferred hosts go there when they fit. The others (by index) wait for pass 2.
  const tasks = demand.tasks;
  const rest = new Int32Array(tasks.length);
  let restCount = 0;
  // Each task's first preferred host, looked up first in a loop of lookups only: they do not
  // wait for one another there (-2: no preference, -1: no offer of the host).
  const firstHostCandidate = new Int32Array(tasks.length);
  for (let taskIndex = 0; taskIndex < tasks.length; taskIndex++) {
    const hosts = tasks[taskIndex]!.preferredHosts;
    firstHostCandidate[taskIndex] = hosts === undefined || hosts.length === 0 ? -2 : (firstOfHost.get(hosts[0]!) ?? -1);
  }
  for (let taskIndex = 0; taskIndex < tasks.length; taskIndex++) {
    const firstCandidate = firstHostCandidate[taskIndex]!;
    if (firstCandidate === -2) {
      rest[restCount++] = taskIndex;
      continue;
    }
    const task = tasks[taskIndex]!;
    const hosts = task.preferredHosts!;
    const cpus = task.cpus ?? settings.taskCpus;
    const mem = task.memMiB ?? 0;
    const gpus = task.gpus ?? 0;
    const disk = task.diskMiB ?? 0;
    let done = false;
    for (let hostIndex = 0; hostIndex < hosts.length && !done; hostIndex++) {
      const first = hostIndex === 0 ? firstCandidate : (firstOfHost.get(hosts[hostIndex]!) ?? -1);
      for (let index = first; index !== -1; index = nextOfHost[index]!) {
        if (round.fits(index, cpus, mem, gpus, disk)) {
          round.place(index, taskIndex, cpus, mem, gpus, disk);
          done = true;
          break;
        }
      }
    }
    if (done) continue;
    if (!waitOver) {
      waitingForLocality = true;
      unplaced.push(task.id);
    } else {
      rest[restCount++] = taskIndex;
    }
  }

  // Pass 2: the others, round-robin over offers (spread, as TaskSchedulerImpl) or offer by
  // offer (pack). A need that fitted nowhere is remembered, so equal or larger needs skip the scan.
  // An offer with less than one default task left drops out of the rotation; the order of the
  // others is kept.
  const open = new Int32Array(count);
  for (let index = 0; index < count; index++) open[index] = index;
  let openCount = count;
  const pack = settings.placement === 'pack';
  let cursor = 0;
  let misfit = false;
  let misfitCpus = 0;
  let misfitMem = 0;
  let misfitGpus = 0;
  let misfitDisk = 0;
  // The least memory an unplaced task (one that fitted nowhere) asks for, for the reasons.
  let smallestUnplacedMem = Number.POSITIVE_INFINITY;
  for (let restIndex = 0; restIndex < restCount; restIndex++) {
    const taskIndex = rest[restIndex]!;
    const task = tasks[taskIndex]!;
    const cpus = task.cpus ?? settings.taskCpus;
    const mem = task.memMiB ?? 0;
    const gpus = task.gpus ?? 0;
    const disk = task.diskMiB ?? 0;
    if (misfit && cpus >= misfitCpus && mem >= misfitMem && gpus >= misfitGpus && disk >= misfitDisk) {
      unplaced.push(task.id);
      if (mem > 0 && mem < smallestUnplacedMem) smallestUnplacedMem = mem;
      continue;
    }
    let at = -1;
    for (let tried = 0, position = cursor; tried < openCount; tried++, position++) {
      if (position === openCount) position = 0;
      if (round.fits(open[position]!, cpus, mem, gpus, disk)) {
        at = position;
        break;
      }
    }
    if (at === -1) {
      misfit = true;
      misfitCpus = cpus;
      misfitMem = mem;
      misfitGpus = gpus;
      misfitDisk = disk;
      unplaced.push(task.id);
      if (mem > 0 && mem < smallestUnplacedMem) smallestUnplacedMem = mem;
      continue;
    }
    const index = open[at]!;
    round.place(index, taskIndex, cpus, mem, gpus, disk);
    cursor = pack ? at : at + 1;
    if (!round.fits(index, settings.taskCpus, 0, 0, 0)) {
      open.copyWithin(at, at + 1, openCount);
      openCount -= 1;
      if (at < cursor) cursor -= 1;
    }
    if (cursor >= openCount) cursor = 0;
  }

  round.finishTasks();
  const cutFailures = round.cutFailures;
  if (cutFailures !== undefined) {
    for (const candidate of round.placedOrder) unplaced.push(...(cutFailures.get(candidate) ?? NONE));
  }

  // Why the candidates without tasks (or, when tasks are left, every candidate) got no more.
  for (let index = 0; index < count; index++) {
    const candidate = candidates[index]!;
    const placedTasks = round.taskCounts[index]!;
    if (placedTasks > 0 && unplaced.length === 0) continue;
    const hasExecutor = round.paid(index);
    const cpusLeft = round.left(index, CPUS);
    const memLeft = round.left(index, MEM);
    const cpusNeeded = (hasExecutor ? 0 : executorCpus) + settings.taskCpus;
    if (placedTasks === 0 && waitingForLocality && restCount === 0) {
      candidate.reasons = [
        reason(
          'LOCALITY_WAIT',
          `waiting up to ${settings.localityWaitSeconds} s (spark.locality.wait) for preferred hosts`,
        ),
      ];
    } else if (!hasExecutor && memLeft < memory + headroom - 1e-9) {
      candidate.reasons = [
        reason(
          'INSUFFICIENT_MEMORY',
          headroom > 0
            ? `needs ${memory} MB memory for the executor + ${headroom} MB left unused (spark.mesos.fineGrained.memoryHeadroom, MESOS-1688), offers ${roundScalar(memLeft)} MB`
            : `needs ${memory} MB memory, offers ${roundScalar(memLeft)} MB`,
        ),
      ];
    } else if (cpusLeft < cpusNeeded - 1e-9) {
      candidate.reasons = [
        reason('INSUFFICIENT_CPUS', `needs ${roundScalar(cpusNeeded)} cpus, offers ${roundScalar(cpusLeft)}`),
      ];
    } else if (placedTasks === 0) {
      candidate.reasons = [NO_TASK_FITS];
    } else if (
      headroom > 0 &&
      round.started(index) &&
      smallestUnplacedMem > memLeft + 1e-9 &&
      smallestUnplacedMem <= memLeft + headroom + 1e-9
    ) {
      // Partly used with cpus to spare while tasks wait: say what the headroom kept back.
      candidate.reasons = [
        reason(
          'INSUFFICIENT_MEMORY',
          `kept ${headroom} MB memory unused next to the new executor (spark.mesos.fineGrained.memoryHeadroom, MESOS-1688): ${roundScalar(memLeft)} MB left for tasks`,
        ),
      ];
    }
  }

  const next: PlanState = { ...state, agents };
  if (waitingForLocality) next.localityWaitStartedAt = waitStart;
  else delete next.localityWaitStartedAt;
  return { state: next, unplacedTaskIds: unplaced };
}
