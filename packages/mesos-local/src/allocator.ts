import type { Resource } from '@spark-mesos/mesos-client';
import { subtractResources } from './resources.js';

/**
 * The allocator: every cycle, each agent's free resources are offered to the eligible framework
 * of the role with the lowest dominant share, and within that role to the framework with the
 * lowest dominant share (DRF at both levels, as Mesos' hierarchical allocator with its DRF
 * sorters), respecting roles (reserved resources only to their role, unreserved ones to anyone),
 * suppression and offer filters. A framework gets at most one offer per agent per cycle; what it
 * cannot use (another role's reservation) may go to another framework in the same cycle.
 *
 * Simplifications (see the README): flat roles (no hierarchy), no weights, no quota, no
 * separate stage for reservations, agents in a fixed order (Mesos shuffles them every cycle).
 *
 * @see https://mesos.apache.org/documentation/latest/app-framework-development-guide/
 * @see https://github.com/apache/mesos/blob/master/src/master/allocator/mesos/hierarchical.cpp
 * @module
 */

/** The resources whose shares count toward a framework's dominant share. */
export const FAIRNESS_RESOURCE_NAMES: readonly string[] = ['cpus', 'mem', 'disk'];

/**
 * Mesos' default `--min_allocatable_resources` (`cpus:0.01|mem:32`): an offer is made only when
 * it holds at least one of these quantities (MESOS-1688: no offers of a few megabytes).
 */
const MIN_ALLOCATABLE: ReadonlyArray<readonly [string, number]> = [
  ['cpus', 0.01],
  ['mem', 32],
];

/** An agent as the allocator sees it. */
export interface AllocatableAgent {
  /** Agent id. */
  readonly id: string;
  /** Its total resources (counted in the cluster total that shares divide by). */
  readonly total: readonly Resource[];
  /** Resources neither used by tasks nor offered. */
  readonly available: readonly Resource[];
}

/** A framework as the allocator sees it. */
export interface AllocatableFramework {
  /** Framework id (the last tie-breaker, as Mesos' sorter uses client names). */
  readonly id: string;
  /** The role its offers are allocated to. */
  readonly role: string;
  /** Whether offers carry `allocation_info` (MULTI_ROLE frameworks). */
  readonly multiRole: boolean;
  /** Whether it takes offers now (subscribed, not suppressed). */
  readonly wantsOffers: boolean;
  /** What it holds now, on every agent: resources of its live tasks and of its outstanding offers. */
  readonly allocated: readonly Resource[];
  /** How many offers it was ever made (Mesos' sorter breaks share ties by this count). @default 0 */
  readonly allocationCount?: number;
  /** Whether a filter of it refuses `resources` of agent `agentId` at `now` (ms since the epoch). */
  isFiltered(agentId: string, resources: readonly Resource[], now: number): boolean;
}

/** One offer to make. */
export interface Allocation {
  /** Framework id. */
  readonly frameworkId: string;
  /** Agent id. */
  readonly agentId: string;
  /** The offered resources, with `allocation_info` for MULTI_ROLE frameworks. */
  readonly resources: Resource[];
  /** The role the resources are allocated to. */
  readonly role: string;
  /** Whether the offer carries `allocation_info`. */
  readonly multiRole: boolean;
}

function scalarOf(resources: readonly Resource[], name: string): number {
  return resources
    .filter((resource) => resource.name === name && resource.type === 'SCALAR')
    .reduce((sum, resource) => sum + (resource.scalar?.value ?? 0), 0);
}

/**
 * The dominant share of `allocated` in a cluster of `total` resources: the largest fraction,
 * over cpus, mem and disk, that it holds (0 for a resource the cluster has none of).
 */
export function dominantShare(allocated: readonly Resource[], total: readonly Resource[]): number {
  let share = 0;
  for (const name of FAIRNESS_RESOURCE_NAMES) {
    const whole = scalarOf(total, name);
    if (whole > 0) share = Math.max(share, scalarOf(allocated, name) / whole);
  }
  return share;
}

/** Whether `resources` are worth an offer (Mesos' minimum allocatable resources). */
export function isAllocatable(resources: readonly Resource[]): boolean {
  return MIN_ALLOCATABLE.some(([name, minimum]) => scalarOf(resources, name) >= minimum);
}

/** Whether a framework of `role` may be offered `resource`: unreserved, or reserved for its role. */
function usableBy(resource: Resource, role: string): boolean {
  const reservedFor = resource.reservations?.at(-1)?.role ?? resource.role ?? '*';
  return reservedFor === '*' || reservedFor === role;
}

interface Contender {
  readonly framework: AllocatableFramework;
  // Its cpus, mem and disk, kept as numbers: shares are compared many times per cycle.
  readonly held: Map<string, number>;
  count: number;
}

function fairnessQuantities(resources: readonly Resource[]): Map<string, number> {
  return new Map(FAIRNESS_RESOURCE_NAMES.map((name) => [name, scalarOf(resources, name)]));
}

/** One allocation cycle at time `now` (ms since the epoch). */
export function allocate(
  agents: readonly AllocatableAgent[],
  frameworks: readonly AllocatableFramework[],
  now: number,
): Allocation[] {
  const allocations: Allocation[] = [];
  const contenders: Contender[] = frameworks
    .filter((framework) => framework.wantsOffers)
    .map((framework) => ({
      framework,
      held: fairnessQuantities(framework.allocated),
      count: framework.allocationCount ?? 0,
    }));
  if (contenders.length === 0) return allocations;
  const total = new Map(FAIRNESS_RESOURCE_NAMES.map((name) => [name, 0]));
  for (const agent of agents) {
    for (const name of FAIRNESS_RESOURCE_NAMES) total.set(name, (total.get(name) ?? 0) + scalarOf(agent.total, name));
  }
  // What each role holds: all its frameworks', suppressed or not (Mesos' role sorter).
  const roleHeld = new Map<string, Map<string, number>>();
  const addTo = (held: Map<string, number>, resources: readonly Resource[]): void => {
    for (const name of FAIRNESS_RESOURCE_NAMES) held.set(name, (held.get(name) ?? 0) + scalarOf(resources, name));
  };
  for (const framework of frameworks) {
    const held = roleHeld.get(framework.role) ?? new Map<string, number>();
    roleHeld.set(framework.role, held);
    addTo(held, framework.allocated);
  }
  // The same computation as dominantShare, on the kept numbers.
  const shareOf = (held: ReadonlyMap<string, number> | undefined): number => {
    let dominant = 0;
    for (const [name, whole] of total) {
      if (whole > 0) dominant = Math.max(dominant, (held?.get(name) ?? 0) / whole);
    }
    return dominant;
  };
  for (const agent of agents) {
    // Nothing worth an offer on the agent: no part of it is either, whoever asks.
    if (!isAllocatable(agent.available)) continue;
    let left: Resource[] = [...agent.available];
    const served = new Set<Contender>();
    for (;;) {
      // The role with the lowest dominant share first (ties by name), then within it the
      // framework with the lowest share; ties go to the framework offered less often, then by id.
      const ranked = contenders
        .filter((contender) => !served.has(contender))
        .map((contender) => ({
          contender,
          role: contender.framework.role,
          roleShare: shareOf(roleHeld.get(contender.framework.role)),
          share: shareOf(contender.held),
        }))
        .sort(
          (a, b) =>
            a.roleShare - b.roleShare ||
            (a.role === b.role ? 0 : a.role < b.role ? -1 : 1) ||
            a.share - b.share ||
            a.contender.count - b.contender.count ||
            (a.contender.framework.id < b.contender.framework.id ? -1 : 1),
        );
      let chosen: { contender: Contender; resources: Resource[] } | undefined;
      for (const { contender } of ranked) {
        const resources = left.filter((resource) => usableBy(resource, contender.framework.role));
        if (!isAllocatable(resources)) continue;
        if (contender.framework.isFiltered(agent.id, resources, now)) continue;
        chosen = { contender, resources };
        break;
      }
      if (!chosen) break;
      const { contender, resources } = chosen;
      const { framework } = contender;
      served.add(contender);
      // All of what is left (the usual case: nothing reserved) leaves nothing, without the arithmetic.
      left = resources.length === left.length ? [] : (subtractResources(left, resources) ?? []);
      addTo(contender.held, resources);
      addTo(roleHeld.get(framework.role) as Map<string, number>, resources);
      contender.count++;
      allocations.push({
        frameworkId: framework.id,
        agentId: agent.id,
        resources: resources.map((resource) =>
          framework.multiRole ? { ...resource, allocation_info: { role: framework.role } } : { ...resource },
        ),
        role: framework.role,
        multiRole: framework.multiRole,
      });
    }
  }
  return allocations;
}

/** A refusal of some resources of one agent, until a time (Mesos' `RefusedOfferFilter`). */
export interface OfferFilter {
  /** The agent. */
  readonly agentId: string;
  /** The refused resources (without allocation info). */
  readonly resources: readonly Resource[];
  /** Until when it applies (ms since the epoch). */
  readonly expiresAt: number;
}

/**
 * Whether `filters` refuse an offer of `resources` on `agentId` at `now`: as in Mesos, a filter
 * applies only while the new offer is contained in the refused resources, so more resources
 * (a task ended, another offer declined) get past it.
 */
export function isRefused(
  filters: readonly OfferFilter[],
  agentId: string,
  resources: readonly Resource[],
  now: number,
): boolean {
  return filters.some(
    (filter) =>
      filter.agentId === agentId &&
      filter.expiresAt > now &&
      subtractResources(filter.resources, resources) !== undefined,
  );
}
