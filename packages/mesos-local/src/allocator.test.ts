import type { Resource } from '@spark-mesos/mesos-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AllocatableAgent,
  type AllocatableFramework,
  allocate,
  dominantShare,
  isAllocatable,
  isRefused,
  type OfferFilter,
} from './allocator.js';
import { addResources, parseResources } from './resources.js';

const NOW = 1_000_000;

function agent(id: string, resources = 'cpus:4;mem:4096;disk:1000', available?: string): AllocatableAgent {
  return { id, total: parseResources(resources), available: parseResources(available ?? resources) };
}

function framework(id: string, options: Partial<AllocatableFramework> & { filters?: OfferFilter[] } = {}) {
  const { filters = [], ...rest } = options;
  return {
    id,
    role: '*',
    multiRole: false,
    wantsOffers: true,
    allocated: [] as Resource[],
    isFiltered: (agentId: string, resources: readonly Resource[], now: number) =>
      isRefused(filters, agentId, resources, now),
    ...rest,
  } satisfies AllocatableFramework;
}

const scalar = (resources: readonly Resource[], name: string): number =>
  resources.filter((r) => r.name === name).reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);

describe('dominantShare', () => {
  it('is the largest fraction over cpus, mem and disk', () => {
    const total = parseResources('cpus:10;mem:1000;disk:100;ports:[1-10]');
    expect(dominantShare(parseResources('cpus:1;mem:500'), total)).toBe(0.5);
    expect(dominantShare(parseResources('cpus:5;mem:10;ports:[1-10]'), total)).toBe(0.5);
    expect(dominantShare([], total)).toBe(0);
    expect(dominantShare(parseResources('gpus:1'), parseResources('cpus:1'))).toBe(0);
  });
});

describe('isAllocatable', () => {
  it("follows Mesos' minimum (cpus 0.01 or mem 32)", () => {
    expect(isAllocatable(parseResources('cpus:0.01'))).toBe(true);
    expect(isAllocatable(parseResources('mem:32'))).toBe(true);
    expect(isAllocatable(parseResources('cpus:0.001;mem:31;disk:1000;ports:[1-100]'))).toBe(false);
  });
});

describe('allocate', () => {
  it('offers each agent to the framework with the lowest dominant share', () => {
    const busy = framework('a', { allocated: parseResources('cpus:2') });
    const idle = framework('b');
    const allocations = allocate([agent('s0')], [busy, idle], NOW);
    expect(allocations.map((a) => [a.frameworkId, a.agentId])).toEqual([['b', 's0']]);
    expect(scalar(allocations[0]?.resources ?? [], 'cpus')).toBe(4);
  });

  it('shares several agents among several frameworks: each gets one before any gets two', () => {
    const agents = ['s0', 's1', 's2', 's3'].map((id) => agent(id));
    const frameworks = ['a', 'b', 'c'].map((id) => framework(id));
    const allocations = allocate(agents, frameworks, NOW);
    expect(allocations.map((a) => a.frameworkId)).toEqual(['a', 'b', 'c', 'a']);
    expect(allocations.map((a) => a.agentId)).toEqual(['s0', 's1', 's2', 's3']);
  });

  it('sorts roles first (DRF over what each role holds), then the frameworks of a role', () => {
    const a1 = framework('a1', { role: 'analytics', allocated: parseResources('cpus:1') });
    const a2 = framework('a2', { role: 'analytics' });
    const b1 = framework('b1', { role: 'batch', allocated: parseResources('cpus:0.5') });
    // a2 holds nothing, but its role holds 1 cpu: role batch (0.5 cpu) goes first.
    const allocations = allocate([agent('s0'), agent('s1')], [a1, a2, b1], NOW);
    expect(allocations.map((a) => a.frameworkId)).toEqual(['b1', 'a2']);
    // A suppressed framework's holdings still count for its role.
    const holder = framework('b0', { role: 'batch', wantsOffers: false, allocated: parseResources('cpus:4') });
    expect(allocate([agent('s0')], [a1, a2, b1, holder], NOW)[0]?.frameworkId).toBe('a2');
  });

  it('breaks share ties by the number of offers made so far', () => {
    const often = framework('a', { allocationCount: 7 });
    const seldom = framework('b', { allocationCount: 2 });
    expect(allocate([agent('s0')], [often, seldom], NOW)[0]?.frameworkId).toBe('b');
  });

  it('skips suppressed frameworks and those not taking offers', () => {
    const suppressed = framework('a', { wantsOffers: false });
    expect(allocate([agent('s0')], [suppressed], NOW)).toEqual([]);
  });

  it('gives reserved resources only to their role, the rest to anyone, in the same cycle', () => {
    const reservedAgent = agent('s0', 'cpus:2;mem:1024;cpus(spark):2;mem(spark):512');
    const spark = framework('z-spark', { role: 'spark', multiRole: true, allocated: parseResources('cpus:1') });
    const other = framework('a-other');
    const allocations = allocate([reservedAgent], [spark, other], NOW);
    const byFramework = new Map(allocations.map((a) => [a.frameworkId, a]));
    // The idle framework goes first and takes the unreserved part; spark still gets its reservation.
    expect(allocations.map((a) => a.frameworkId)).toEqual(['a-other', 'z-spark']);
    expect(byFramework.get('a-other')?.resources.every((r) => (r.role ?? '*') === '*')).toBe(true);
    const sparkOffer = byFramework.get('z-spark');
    expect(sparkOffer?.resources.every((r) => r.role === 'spark')).toBe(true);
    expect(sparkOffer?.resources.every((r) => r.allocation_info?.role === 'spark')).toBe(true);
  });

  it('makes no offer below the minimum allocatable resources', () => {
    const full = agent('s0', 'cpus:4;mem:4096', 'cpus:0.005;mem:16');
    expect(allocate([full], [framework('a')], NOW)).toEqual([]);
  });

  it('filters an agent only while the offer is contained in the refused resources', () => {
    const refused: OfferFilter = { agentId: 's0', resources: parseResources('cpus:2;mem:1024'), expiresAt: NOW + 5000 };
    const declining = framework('a', { filters: [refused] });
    expect(allocate([agent('s0', 'cpus:4;mem:4096', 'cpus:1;mem:512')], [declining], NOW)).toEqual([]);
    // More than was refused (a task ended): offered again.
    expect(allocate([agent('s0', 'cpus:4;mem:4096', 'cpus:3;mem:512')], [declining], NOW)).toHaveLength(1);
    // The filter expired.
    expect(allocate([agent('s0', 'cpus:4;mem:4096', 'cpus:1;mem:512')], [declining], NOW + 5000)).toHaveLength(1);
    // Another agent is not filtered; a filtered framework leaves the agent to the next one.
    const other = framework('b', { allocated: parseResources('cpus:3') });
    const allocations = allocate(
      [agent('s0', 'cpus:4;mem:4096', 'cpus:1;mem:512'), agent('s1', 'cpus:4;mem:4096', 'cpus:1;mem:512')],
      [declining, other],
      NOW,
    );
    expect(allocations.map((a) => [a.agentId, a.frameworkId])).toEqual([
      ['s0', 'b'],
      ['s1', 'a'],
    ]);
  });

  it('never offers more than an agent has free, nor one agent twice to a framework (property)', () => {
    const agentsArbitrary = fc.array(
      fc.record({ cpus: fc.integer({ min: 0, max: 16 }), mem: fc.integer({ min: 0, max: 8192 }) }),
      { minLength: 1, maxLength: 6 },
    );
    const frameworksArbitrary = fc.array(
      fc.record({
        held: fc.integer({ min: 0, max: 32 }),
        wants: fc.boolean(),
        role: fc.constantFrom('*', 'spark'),
      }),
      { minLength: 1, maxLength: 5 },
    );
    fc.assert(
      fc.property(agentsArbitrary, frameworksArbitrary, (agentSpecs, frameworkSpecs) => {
        const agents = agentSpecs.map((spec, index) =>
          agent(`s${index}`, `cpus:${spec.cpus};mem:${spec.mem};cpus(spark):1;mem(spark):64`),
        );
        const frameworks = frameworkSpecs.map((spec, index) =>
          framework(`f${index}`, {
            allocated: parseResources(`cpus:${spec.held}`),
            wantsOffers: spec.wants,
            role: spec.role,
          }),
        );
        const allocations = allocate(agents, frameworks, NOW);
        for (const candidate of agents) {
          const offers = allocations.filter((a) => a.agentId === candidate.id);
          const offered = offers.reduce<Resource[]>((sum, a) => addResources(sum, a.resources), []);
          expect(scalar(offered, 'cpus')).toBeLessThanOrEqual(scalar(candidate.available, 'cpus') + 1e-9);
          expect(scalar(offered, 'mem')).toBeLessThanOrEqual(scalar(candidate.available, 'mem') + 1e-9);
          expect(new Set(offers.map((a) => a.frameworkId)).size).toBe(offers.length);
        }
        for (const allocation of allocations) {
          const owner = frameworks.find((f) => f.id === allocation.frameworkId);
          expect(owner?.wantsOffers).toBe(true);
          expect(allocation.resources.every((r) => (r.role ?? '*') === '*' || r.role === owner?.role)).toBe(true);
        }
      }),
    );
  });

  it('converges to equal shares when identical frameworks keep accepting (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 3 }), (frameworkCount, rounds) => {
        // Agents as many as frameworks × rounds, each offer fully used: everyone ends with `rounds` agents.
        const agents = Array.from({ length: frameworkCount * rounds }, (_, i) => agent(`s${i}`));
        const frameworks = Array.from({ length: frameworkCount }, (_, i) => framework(`f${i}`));
        const allocations = allocate(agents, frameworks, NOW);
        for (const f of frameworks) {
          expect(allocations.filter((a) => a.frameworkId === f.id)).toHaveLength(rounds);
        }
      }),
    );
  });
});
