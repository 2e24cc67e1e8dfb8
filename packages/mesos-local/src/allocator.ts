import type { Resource } from '@spark-mesos/mesos-client';

/**
 * The allocator of this slice: every cycle, each agent's unused resources go, as one offer, to
 * the first subscribed, unsuppressed framework (round-robin over cycles) that is not filtering
 * that agent and may use them. Mesos' DRF comes in a later slice.
 *
 * @see https://mesos.apache.org/documentation/latest/app-framework-development-guide/
 * @module
 */

/** An agent as the allocator sees it. */
export interface AllocatableAgent {
  /** Agent id. */
  readonly id: string;
  /** Resources neither used by tasks nor offered. */
  readonly available: readonly Resource[];
}

/** A framework as the allocator sees it. */
export interface AllocatableFramework {
  /** Framework id. */
  readonly id: string;
  /** The role its offers are allocated to. */
  readonly role: string;
  /** Whether offers carry `allocation_info` (MULTI_ROLE frameworks). */
  readonly multiRole: boolean;
  /** Whether it takes offers now (subscribed, not suppressed). */
  readonly wantsOffers: boolean;
  /** Whether it declined (or filtered) agent `agentId` until later than `now`. */
  isFiltering(agentId: string, now: number): boolean;
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

/**
 * One allocation cycle.
 *
 * @param rotation which framework goes first (incremented by the caller every cycle, so that
 *   frameworks take turns)
 */
export function allocate(
  agents: readonly AllocatableAgent[],
  frameworks: readonly AllocatableFramework[],
  rotation: number,
  now: number,
): Allocation[] {
  const candidates = frameworks.filter((framework) => framework.wantsOffers);
  const allocations: Allocation[] = [];
  if (candidates.length === 0) return allocations;
  for (const agent of agents) {
    for (let i = 0; i < candidates.length; i++) {
      const framework = candidates[(rotation + i) % candidates.length] as AllocatableFramework;
      if (framework.isFiltering(agent.id, now)) continue;
      // Unreserved resources go to anyone; reserved ones only to their role.
      const usable = agent.available.filter(
        (resource) => (resource.role ?? '*') === '*' || resource.role === framework.role,
      );
      if (usable.length === 0) continue;
      const resources = usable.map((resource) =>
        framework.multiRole ? { ...resource, allocation_info: { role: framework.role } } : { ...resource },
      );
      allocations.push({
        frameworkId: framework.id,
        agentId: agent.id,
        resources,
        role: framework.role,
        multiRole: framework.multiRole,
      });
      break;
    }
  }
  return allocations;
}
