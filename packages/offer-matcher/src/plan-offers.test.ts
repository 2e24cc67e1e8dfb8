import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Attribute, Offer, Resource } from '@spark-mesos/mesos-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConstraintString } from './constraints.js';
import { initialPlanState, type PlanState, planOffers, recordAgentFailure } from './plan-offers.js';
import { createScalarCutter, resourcePoolKey, roundScalar, sumScalar } from './resources.js';
import { type OfferMatcherSettings, offerMatcherSettingsFrom, resolveOfferMatcherSettings } from './settings.js';
import { executorMemoryMiB } from './sizing.js';

interface OfferShape {
  mem: number;
  cpus: number;
  gpus?: number;
  disk?: number;
  ports?: [number, number];
  attributes?: Attribute[];
  hostname?: string;
  agent?: string;
}

const scalar = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({
  name,
  type: 'SCALAR',
  scalar: { value },
  ...extra,
});

function createOffer(id: string, shape: OfferShape): Offer {
  const agent = shape.agent ?? id.replace(/^o/, 's');
  const resources: Resource[] = [scalar('mem', shape.mem), scalar('cpus', shape.cpus)];
  if (shape.gpus !== undefined) resources.push(scalar('gpus', shape.gpus));
  if (shape.disk !== undefined) resources.push(scalar('disk', shape.disk));
  if (shape.ports !== undefined) {
    resources.push({
      name: 'ports',
      type: 'RANGES',
      ranges: { range: [{ begin: shape.ports[0], end: shape.ports[1] }] },
    });
  }
  return {
    id: { value: id },
    framework_id: { value: 'f1' },
    agent_id: { value: agent },
    hostname: shape.hostname ?? agent.replace(/^s/, 'host'),
    resources,
    attributes: shape.attributes ?? [],
  };
}

// Offers o1..oN on agents s1..sN, as Spark's suite numbers them.
const offersOf = (shapes: OfferShape[], startId = 1) => shapes.map((shape, i) => createOffer(`o${i + startId}`, shape));
const cpusOf = (resources: readonly Resource[]) => sumScalar(resources, 'cpus');
const EXECUTOR_MEMORY = executorMemoryMiB(resolveOfferMatcherSettings({}));

function coarse(offers: Offer[], settings: OfferMatcherSettings = {}, state?: PlanState, extra = {}) {
  return planOffers({ offers, demand: { mode: 'coarse', ...extra }, settings, now: 0, ...(state ? { state } : {}) });
}

describe('MesosCoarseGrainedSchedulerBackendSuite offer cases', () => {
  it('mesos supports killing and limiting executors', () => {
    const first = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4 }]));
    expect(first.launches.map((launch) => launch.offerId)).toEqual(['o1']);
    // After the executor was killed and the limit set to 0 the caller's state holds nothing.
    const killed: PlanState = { ...initialPlanState(), agents: { s1: { hostname: 'host1', executors: 0 } } };
    const limited = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4 }], 2), {}, killed, { executorLimit: 0 });
    expect(limited.launches).toEqual([]);
    expect(limited.declines[0]).toMatchObject({ offerId: 'o2', refuseSeconds: 5 });
    expect(limited.declines[0]?.reasons[0]?.code).toBe('EXECUTOR_LIMIT_REACHED');
    const raised = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4 }], 2), {}, killed, { executorLimit: 2 });
    expect(raised.launches.map((launch) => launch.offerId)).toEqual(['o2']);
  });

  it('mesos supports killing and relaunching tasks with executors', () => {
    const offers = offersOf([
      { mem: EXECUTOR_MEMORY + 1024, cpus: 4 },
      { mem: EXECUTOR_MEMORY + 1024, cpus: 1 },
    ]);
    const first = coarse([offers[0]!]);
    expect(first.launches.map((launch) => launch.offerId)).toEqual(['o1']);
    const afterKill: PlanState = { ...first.state, coresAcquired: 0, executors: 0, agents: {} };
    const second = coarse([offers[1]!], {}, afterKill);
    expect(second.launches.map((launch) => launch.offerId)).toEqual(['o2']);
    expect(second.launches[0]?.executors[0]?.cpus).toBe(1);
  });

  it('mesos supports spark.executor.cores', () => {
    const plan = coarse(offersOf([{ mem: EXECUTOR_MEMORY * 2, cpus: 5 }]), { executorCores: 4 });
    expect(plan.launches[0]?.executors).toHaveLength(1);
    expect(cpusOf(plan.launches[0]!.executors[0]!.resources)).toBe(4);
    expect(plan.launches[0]).toMatchObject({ taskIds: [], taskResources: [] });
  });

  it('mesos supports unset spark.executor.cores', () => {
    const plan = coarse(offersOf([{ mem: EXECUTOR_MEMORY * 2, cpus: 10 }]));
    expect(plan.launches[0]?.executors).toHaveLength(1);
    expect(cpusOf(plan.launches[0]!.executors[0]!.resources)).toBe(10);
  });

  it('mesos does not acquire more than spark.cores.max', () => {
    const plan = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 11 }]), { coresMax: 10 });
    expect(cpusOf(plan.launches[0]!.executors[0]!.resources)).toBe(10);
    expect(plan.state.coresAcquired).toBe(10);
  });

  it('mesos does not acquire gpus if not specified', () => {
    const plan = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 1, gpus: 1 }]));
    expect(sumScalar(plan.launches[0]!.executors[0]!.resources, 'gpus')).toBe(0);
  });

  it('mesos does not acquire more than spark.mesos.gpus.max', () => {
    const plan = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 1, gpus: 6 }]), { gpusMax: 5 });
    expect(sumScalar(plan.launches[0]!.executors[0]!.resources, 'gpus')).toBe(5);
    expect(plan.state.gpusAcquired).toBe(5);
  });

  it('mesos declines offers that violate attribute constraints', () => {
    const plan = coarse(
      offersOf([
        { mem: EXECUTOR_MEMORY, cpus: 4, attributes: [{ name: 'x', type: 'TEXT', text: { value: 'false' } }] },
      ]),
      {
        constraints: parseConstraintString('x:true'),
        rejectOfferDurationForUnmetConstraintsSeconds: 30,
      },
    );
    expect(plan.launches).toEqual([]);
    expect(plan.declines).toEqual([
      {
        offerId: 'o1',
        agentId: 's1',
        hostname: 'host1',
        refuseSeconds: 30,
        reasons: [{ code: 'UNMET_CONSTRAINT', message: 'constraint x:true unmet: offered false' }],
      },
    ]);
  });

  it('mesos declines offers with a filter when reached spark.cores.max', () => {
    const plan = coarse(
      offersOf([
        { mem: EXECUTOR_MEMORY, cpus: 4 },
        { mem: EXECUTOR_MEMORY, cpus: 4 },
      ]),
      { coresMax: 3, rejectOfferDurationForReachedMaxCoresSeconds: 600 },
    );
    expect(plan.launches.map((launch) => launch.offerId)).toEqual(['o1']);
    expect(plan.declines).toMatchObject([{ offerId: 'o2', refuseSeconds: 600 }]);
    expect(plan.declines[0]?.reasons[0]?.message).toContain('max cores 3 reached');
  });

  it('mesos declines offers with a filter when maxCores not a multiple of executor.cores', () => {
    const plan = coarse(
      offersOf([
        { mem: EXECUTOR_MEMORY, cpus: 5 },
        { mem: EXECUTOR_MEMORY, cpus: 5 },
      ]),
      { coresMax: 4, executorCores: 3 },
    );
    expect(plan.launches.map((launch) => launch.offerId)).toEqual(['o1']);
    expect(plan.declines).toMatchObject([{ offerId: 'o2', refuseSeconds: 120 }]);
  });

  it('mesos declines offers with a filter when reached spark.cores.max with executor.cores', () => {
    const plan = coarse(
      offersOf([
        { mem: EXECUTOR_MEMORY, cpus: 5 },
        { mem: EXECUTOR_MEMORY, cpus: 5 },
        { mem: EXECUTOR_MEMORY, cpus: 5 },
      ]),
      { coresMax: 4, executorCores: 2 },
    );
    expect(plan.launches.map((launch) => launch.offerId)).toEqual(['o1', 'o2']);
    expect(plan.declines).toMatchObject([{ offerId: 'o3', refuseSeconds: 120 }]);
  });

  it('mesos assigns tasks round-robin on offers', () => {
    const plan = coarse(
      offersOf([
        { mem: EXECUTOR_MEMORY * 2, cpus: 8 },
        { mem: EXECUTOR_MEMORY * 2, cpus: 8 },
      ]),
      { executorCores: 4, coresMax: 8 },
    );
    expect(plan.launches.map((launch) => [launch.offerId, launch.executors.length])).toEqual([
      ['o1', 1],
      ['o2', 1],
    ]);
  });

  it('pack fills the first offer before the next (beyond Spark)', () => {
    const plan = coarse(
      offersOf([
        { mem: EXECUTOR_MEMORY * 2, cpus: 8 },
        { mem: EXECUTOR_MEMORY * 2, cpus: 8 },
      ]),
      { executorCores: 4, coresMax: 8, placement: 'pack' },
    );
    expect(plan.launches.map((launch) => [launch.offerId, launch.executors.length])).toEqual([['o1', 2]]);
    expect(plan.declines).toMatchObject([{ offerId: 'o2', refuseSeconds: 120 }]);
  });

  it('mesos creates multiple executors on a single slave', () => {
    const plan = coarse(offersOf([{ mem: EXECUTOR_MEMORY * 2, cpus: 8 }]), { executorCores: 4 });
    expect(plan.launches[0]?.executors).toHaveLength(2);
    expect(plan.state.agents.s1?.executors).toBe(2);
  });

  it('one executor per agent when spark.executor.cores is unset', () => {
    const state: PlanState = {
      ...initialPlanState(),
      agents: { s1: { hostname: 'host1', executors: 1 } },
      executors: 1,
    };
    const plan = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4 }]), {}, state);
    expect(plan.launches).toEqual([]);
    expect(plan.declines[0]?.reasons[0]?.code).toBe('ONE_EXECUTOR_PER_AGENT');
  });

  it('Port offer decline when there is no appropriate range', () => {
    const plan = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4, ports: [31100, 31200] }]), {
      requiredPorts: [30100],
    });
    expect(plan.launches).toEqual([]);
    expect(plan.declines).toMatchObject([
      {
        offerId: 'o1',
        refuseSeconds: 5,
        reasons: [{ code: 'PORTS_UNAVAILABLE', message: 'needs port 30100, offers ports 31100-31200' }],
      },
    ]);
  });

  it('Port offer accepted when ephemeral ports are used', () => {
    const plan = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4, ports: [31100, 31200] }]));
    expect(plan.launches.map((launch) => launch.offerId)).toEqual(['o1']);
    expect(plan.launches[0]?.executors[0]?.ports).toEqual([]);
  });

  it('Port offer accepted with user defined port numbers', () => {
    const plan = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4, ports: [30000, 31000] }]), {
      requiredPorts: [30100],
    });
    const executor = plan.launches[0]!.executors[0]!;
    expect(executor.ports).toEqual([30100]);
    expect(executor.resources.find((resource) => resource.name === 'ports')?.ranges?.range).toEqual([
      { begin: 30100, end: 30100 },
    ]);
  });

  it('takes ports the caller names and a count of ephemeral ones, keeping the role (beyond Spark)', () => {
    const offer: Offer = {
      ...createOffer('o1', { mem: EXECUTOR_MEMORY, cpus: 4 }),
      resources: [
        scalar('mem', EXECUTOR_MEMORY),
        scalar('cpus', 4),
        { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31010 }] }, role: 'spark' },
        { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 40000, end: 40100 }] } },
      ],
    };
    const plan = coarse([offer], { requiredPorts: [40050] }, undefined, { ports: { named: [31005, 40050], count: 2 } });
    const executor = plan.launches[0]!.executors[0]!;
    expect(executor.ports).toEqual([31000, 31001, 31005, 40050]);
    expect(executor.resources.filter((piece) => piece.name === 'ports')).toEqual([
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 40050, end: 40050 }] } },
      {
        name: 'ports',
        type: 'RANGES',
        role: 'spark',
        ranges: {
          range: [
            { begin: 31000, end: 31001 },
            { begin: 31005, end: 31005 },
          ],
        },
      },
    ]);
  });

  it('gives a named port to one executor per agent only, and says which port is missing', () => {
    const offers = offersOf([{ mem: EXECUTOR_MEMORY * 2, cpus: 8, ports: [30000, 30010] }]);
    const plan = coarse(offers, { executorCores: 4 }, undefined, { ports: { named: [30005] } });
    expect(plan.launches[0]!.executors.map((executor) => executor.ports)).toEqual([[30005]]);
    expect(plan.launches[0]!.reasons).toEqual([
      { code: 'PORTS_UNAVAILABLE', message: 'needs port 30005, offers ports 30000-30004,30006-30010' },
    ]);
    const short = coarse(offers, {}, undefined, { ports: { count: 20 } });
    expect(short.declines[0]!.reasons[0]!.message).toBe('needs 20 ports (0 named, 20 more), offers ports 30000-30010');
  });

  it('rejects a port request that cannot be met by any offer', () => {
    const offers = offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4, ports: [30000, 30010] }]);
    expect(() => coarse(offers, {}, undefined, { ports: { named: [70000] } })).toThrow(
      expect.objectContaining({ code: 'SM_ERR_BAD_DEMAND' }),
    );
    expect(() => coarse(offers, {}, undefined, { ports: { count: 1.5 } })).toThrow(/demand.ports.count=1.5/);
  });

  it('supports data locality with dynamic allocation', () => {
    const settings = { localityWaitSeconds: 1 };
    const demand = { executorLimit: 2, preferredHosts: ['host10', 'host11'] };
    const offer = (id: number) => offersOf([{ mem: EXECUTOR_MEMORY, cpus: 1 }], id);
    // Non-local offers are declined while waiting.
    let plan = planOffers({ offers: offer(1), demand: { mode: 'coarse', ...demand }, settings, now: 0 });
    expect(plan.launches).toEqual([]);
    expect(plan.declines[0]?.reasons[0]?.code).toBe('LOCALITY_WAIT');
    plan = planOffers({
      offers: offer(2),
      demand: { mode: 'coarse', ...demand },
      settings,
      state: plan.state,
      now: 500,
    });
    expect(plan.launches).toEqual([]);
    // A local offer is accepted.
    plan = planOffers({
      offers: offer(10),
      demand: { mode: 'coarse', ...demand },
      settings,
      state: plan.state,
      now: 600,
    });
    expect(plan.launches.map((launch) => launch.agentId)).toEqual(['s10']);
    // After spark.locality.wait a non-local offer is accepted.
    plan = planOffers({
      offers: offer(1),
      demand: { mode: 'coarse', ...demand },
      settings,
      state: plan.state,
      now: 2000,
    });
    expect(plan.launches.map((launch) => launch.agentId)).toEqual(['s1']);
  });

  it('agents are excluded after spark.mesos.maxAgentFailures failures, until the exclusion expires', () => {
    let state = recordAgentFailure(initialPlanState(), 's1', 1000);
    expect(coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4 }]), {}, state).launches).toHaveLength(1);
    state = recordAgentFailure(state, 's1', 2000);
    const excluded = coarse(offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4 }]), {}, state);
    expect(excluded.launches).toEqual([]);
    expect(excluded.declines[0]).toMatchObject({
      refuseSeconds: 120,
      reasons: [
        { code: 'AGENT_EXCLUDED', message: 'agent excluded after 2 failures (spark.mesos.maxAgentFailures=2)' },
      ],
    });
    const expiring = planOffers({
      offers: offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4 }]),
      demand: { mode: 'coarse' },
      settings: { agentFailureExpirySeconds: 60 },
      state,
      now: 32_000,
    });
    expect(expiring.declines[0]?.refuseSeconds).toBe(30);
    const expired = planOffers({
      offers: offersOf([{ mem: EXECUTOR_MEMORY, cpus: 4 }]),
      demand: { mode: 'coarse' },
      settings: { agentFailureExpirySeconds: 60 },
      state,
      now: 62_000,
    });
    expect(expired.launches).toHaveLength(1);
  });

  it('explains an offer that is too small with the numbers', () => {
    const plan = coarse(offersOf([{ mem: 1024, cpus: 4 }]));
    expect(plan.declines[0]?.reasons).toEqual([
      { code: 'INSUFFICIENT_MEMORY', message: 'needs 1408 MB memory, offers 1024 MB' },
    ]);
  });

  it('uses only the configured role and unreserved resources, keeping the role on what it takes', () => {
    const offer: Offer = {
      ...createOffer('o1', { mem: 0, cpus: 0 }),
      resources: [
        scalar('cpus', 2, { allocation_info: { role: 'spark' }, reservations: [{ type: 'DYNAMIC', role: 'spark' }] }),
        scalar('mem', 4096, { allocation_info: { role: 'spark' } }),
        scalar('cpus', 8, { allocation_info: { role: 'other' }, reservations: [{ type: 'STATIC', role: 'other' }] }),
        scalar('cpus', 1, { revocable: {} }),
      ],
    };
    const plan = coarse([offer], { role: 'spark' });
    const resources = plan.launches[0]!.executors[0]!.resources;
    expect(cpusOf(resources)).toBe(2);
    expect(resources.find((resource) => resource.name === 'cpus')?.reservations).toEqual([
      { type: 'DYNAMIC', role: 'spark' },
    ]);
  });
});

function fine(
  offers: Offer[],
  tasks: { id: string; preferredHosts?: string[]; cpus?: number; memMiB?: number; diskMiB?: number }[],
  settings: OfferMatcherSettings = {},
  state?: PlanState,
  now = 0,
) {
  return planOffers({ offers, demand: { mode: 'fine', tasks }, settings, now, ...(state ? { state } : {}) });
}

describe('MesosFineGrainedSchedulerBackendSuite offer cases', () => {
  const settings: OfferMatcherSettings = { executorMemoryMiB: 100, taskCpus: 2 };
  const minMem = executorMemoryMiB(resolveOfferMatcherSettings(settings));

  it('mesos resource offers result in launching tasks', () => {
    // Spark's case launches on an offer of exactly the executor memory: it runs without our
    // memory headroom (spark.mesos.fineGrained.memoryHeadroom=0), which would keep 32 MB unused.
    const exactFit: OfferMatcherSettings = { ...settings, fineGrainedMemoryHeadroomMiB: 0 };
    expect(minMem).toBe(484);
    const offers = offersOf([
      { mem: minMem, cpus: 4 },
      { mem: minMem - 1, cpus: 4 },
      { mem: minMem, cpus: 4 },
    ]);
    const plan = fine(offers, [{ id: 'n1' }], exactFit);
    expect(plan.launches.map((launch) => launch.offerId)).toEqual(['o1']);
    expect(plan.launches[0]!.taskIds).toEqual(['n1']);
    expect(plan.launches[0]!.taskResources).toEqual([[scalar('cpus', 2)]]);
    expect(plan.launches[0]!.executors[0]).toMatchObject({ cpus: 1, memMiB: 484 });
    expect(plan.declines.map((decline) => decline.offerId)).toEqual(['o2', 'o3']);
    expect(plan.declines[0]?.reasons[0]?.message).toBe('needs 484 MB memory, offers 483 MB');
    // Unwanted resources offered on an existing node are declined.
    const again = fine(offersOf([{ mem: minMem, cpus: 4 }]), [], exactFit, plan.state);
    expect(again.launches).toEqual([]);
    expect(again.declines.map((decline) => decline.offerId)).toEqual(['o1']);
  });

  it('can handle multiple roles', () => {
    const offer: Offer = {
      ...createOffer('o1', { mem: 0, cpus: 0 }),
      resources: [
        scalar('mem', 500, { role: 'prod' }),
        scalar('cpus', 1, { role: 'prod' }),
        scalar('mem', 600, { role: 'dev' }),
        scalar('cpus', 2, { role: 'dev' }),
      ],
    };
    const plan = fine([offer], [{ id: 'n1' }], { executorMemoryMiB: 100, taskCpus: 1 });
    const launch = plan.launches[0]!;
    expect(launch.taskResources).toEqual([[scalar('cpus', 1, { role: 'dev' })]]);
    expect(launch.executors[0]?.resources).toEqual([
      scalar('cpus', 1, { role: 'prod' }),
      scalar('mem', 484, { role: 'prod' }),
    ]);
  });

  it('an agent already running our executor needs only task resources', () => {
    const state: PlanState = { ...initialPlanState(), agents: { s1: { hostname: 'host1', executors: 1 } } };
    const plan = fine(offersOf([{ mem: 10, cpus: 2 }]), [{ id: 't1' }], settings, state);
    expect(plan.launches[0]?.executors).toEqual([]);
    expect(plan.launches[0]?.taskIds).toEqual(['t1']);
  });

  it('pays the executor once per agent and spreads tasks round-robin', () => {
    const offers = offersOf([
      { mem: 1000, cpus: 9 },
      { mem: 1000, cpus: 9 },
    ]);
    const plan = fine(offers, [{ id: 't1' }, { id: 't2' }, { id: 't3' }, { id: 't4' }, { id: 't5' }], settings);
    expect(plan.launches.map((launch) => launch.taskIds)).toEqual([
      ['t1', 't3', 't5'],
      ['t2', 't4'],
    ]);
    expect(plan.launches.map((launch) => launch.executors.length)).toEqual([1, 1]);
    // Equal cuts from one piece share one (read-only) list.
    const [first, second, third] = plan.launches[0]!.taskResources;
    expect(first).toEqual([scalar('cpus', 2)]);
    expect(second).toBe(first);
    expect(third).toBe(first);
    // 9 cpus: 1 for the executor, 4 tasks of 2; the fifth task cannot fit on o1.
    const packed = fine(offers, [{ id: 't1' }, { id: 't2' }, { id: 't3' }, { id: 't4' }, { id: 't5' }], {
      ...settings,
      placement: 'pack',
    });
    expect(packed.launches.map((launch) => launch.taskIds)).toEqual([['t1', 't2', 't3', 't4'], ['t5']]);
  });

  it("ignores spark.cores.max, as Spark's fine-grained backend (which never reads it)", () => {
    const offers = offersOf([{ mem: 1000, cpus: 9 }]);
    const plan = fine(offers, [{ id: 't1' }, { id: 't2' }, { id: 't3' }], { ...settings, coresMax: 2 });
    expect(plan.launches[0]?.taskIds).toEqual(['t1', 't2', 't3']);
    expect(plan.state.coresAcquired).toBe(0);
  });

  it('waits for preferred hosts up to spark.locality.wait', () => {
    const offers = offersOf([{ mem: 1000, cpus: 4 }]);
    const waiting = fine(offers, [{ id: 't1', preferredHosts: ['host9'] }], settings, undefined, 0);
    expect(waiting.launches).toEqual([]);
    expect(waiting.unplacedTaskIds).toEqual(['t1']);
    expect(waiting.declines[0]?.reasons[0]?.code).toBe('LOCALITY_WAIT');
    expect(waiting.state.localityWaitStartedAt).toBe(0);
    const local = fine(
      offersOf([{ mem: 1000, cpus: 4 }], 9),
      [{ id: 't1', preferredHosts: ['host9'] }],
      settings,
      waiting.state,
      1000,
    );
    expect(local.launches.map((launch) => launch.hostname)).toEqual(['host9']);
    const late = fine(offers, [{ id: 't1', preferredHosts: ['host9'] }], settings, waiting.state, 3000);
    expect(late.launches.map((launch) => launch.hostname)).toEqual(['host1']);
  });
});

describe('fine-grained memory headroom (MESOS-1688; ours, spark.mesos.fineGrained.memoryHeadroom)', () => {
  const settings: OfferMatcherSettings = { executorMemoryMiB: 100, taskCpus: 1 };
  const executorMemory = executorMemoryMiB(resolveOfferMatcherSettings(settings));

  it('leaves 32 MB of the offered memory unused when it starts an executor', () => {
    const offers = offersOf([
      { mem: executorMemory + 31, cpus: 4 },
      { mem: executorMemory + 32, cpus: 4 },
    ]);
    const plan = fine(offers, [{ id: 't1' }], settings);
    expect(plan.launches.map((launch) => launch.offerId)).toEqual(['o2']);
    expect(sumScalar(plan.launches[0]!.executors[0]!.resources, 'mem')).toBe(executorMemory);
    expect(plan.declines.map((decline) => [decline.offerId, decline.refuseSeconds, decline.reasons])).toEqual([
      [
        'o1',
        5,
        [
          {
            code: 'INSUFFICIENT_MEMORY',
            message: `needs ${executorMemory} MB memory for the executor + 32 MB left unused (spark.mesos.fineGrained.memoryHeadroom, MESOS-1688), offers ${executorMemory + 31} MB`,
          },
        ],
      ],
    ]);
  });

  it('keeps the headroom from tasks that ask for memory in the same round, and says so', () => {
    const offers = offersOf([{ mem: executorMemory + 32 + 100, cpus: 4 }]);
    const plan = fine(
      offers,
      [
        { id: 't1', memMiB: 100 },
        { id: 't2', memMiB: 20 },
      ],
      settings,
    );
    expect(plan.launches[0]!.taskIds).toEqual(['t1']);
    expect(plan.unplacedTaskIds).toEqual(['t2']);
    expect(sumScalar(plan.launches[0]!.taskResources[0]!, 'mem')).toBe(100);
    expect(plan.launches[0]!.reasons).toEqual([
      {
        code: 'INSUFFICIENT_MEMORY',
        message:
          'kept 32 MB memory unused next to the new executor (spark.mesos.fineGrained.memoryHeadroom, MESOS-1688): 0 MB left for tasks',
      },
    ]);
  });

  it('does not hold an agent that already runs our executor to it', () => {
    const state: PlanState = { ...initialPlanState(), agents: { s1: { hostname: 'host1', executors: 1 } } };
    const plan = fine(offersOf([{ mem: 10, cpus: 1 }]), [{ id: 't1', memMiB: 10 }], settings, state);
    expect(plan.launches[0]!.taskIds).toEqual(['t1']);
  });

  it('takes any headroom from spark.mesos.fineGrained.memoryHeadroom, and 0 turns it off', () => {
    const offers = offersOf([{ mem: executorMemory + 100, cpus: 4 }]);
    const large = fine(offers, [{ id: 't1' }], {
      ...settings,
      ...offerMatcherSettingsFrom((key) => (key === 'spark.mesos.fineGrained.memoryHeadroom' ? '101m' : undefined)),
    });
    expect(large.launches).toEqual([]);
    expect(large.declines[0]!.reasons[0]!.message).toContain('+ 101 MB left unused');
    const off = offerMatcherSettingsFrom((key) => (key === 'spark.mesos.fineGrained.memoryHeadroom' ? '0' : undefined));
    expect(off).toEqual({ fineGrainedMemoryHeadroomMiB: 0 });
    const exact = fine(offersOf([{ mem: executorMemory, cpus: 4 }]), [{ id: 't1' }], { ...settings, ...off });
    expect(exact.launches.map((launch) => launch.offerId)).toEqual(['o1']);
  });
});

describe('several offers of one agent in a round (beyond Spark, which assumes one)', () => {
  it('combines them, so resources split across offers hold one executor', () => {
    const offers = [
      createOffer('o1', { mem: 800, cpus: 2, agent: 's1' }),
      createOffer('o2', { mem: 800, cpus: 2, agent: 's1' }),
      createOffer('o3', { mem: 800, cpus: 2, agent: 's2' }),
    ];
    const plan = coarse(offers, { executorCores: 4 });
    expect(plan.launches.map((launch) => [launch.offerIds, launch.executors.map((executor) => executor.cpus)])).toEqual(
      [[['o1', 'o2'], [4]]],
    );
    expect(cpusOf(plan.launches[0]!.executors[0]!.resources)).toBe(4);
    expect(sumScalar(plan.launches[0]!.executors[0]!.resources, 'mem')).toBe(EXECUTOR_MEMORY);
    expect(plan.declines.map((decline) => [decline.offerId, decline.reasons[0]?.code])).toEqual([
      ['o3', 'INSUFFICIENT_CPUS'],
    ]);
  });

  it('declines each offer of an unused agent, and pays the fine-grained executor once', () => {
    const unused = coarse([
      createOffer('o1', { mem: 100, cpus: 1, agent: 's1' }),
      createOffer('o2', { mem: 100, cpus: 1, agent: 's1' }),
    ]);
    expect(unused.declines.map((decline) => decline.offerId)).toEqual(['o1', 'o2']);
    const fineOffers = [
      createOffer('o1', { mem: 1000, cpus: 1, agent: 's1' }),
      createOffer('o2', { mem: 0, cpus: 2, agent: 's1' }),
    ];
    const plan = fine(fineOffers, [{ id: 't1' }, { id: 't2' }], { executorMemoryMiB: 100, taskCpus: 1 });
    expect(plan.launches.map((launch) => [launch.offerIds, launch.executors.length, launch.taskIds.length])).toEqual([
      [['o1', 'o2'], 1, 2],
    ]);
  });

  it('tells agents sharing a hostname apart, and combines only the offers of one agent', () => {
    // Offers are grouped by hostname first (the host index of preferred hosts); agents on one
    // host (e.g. several on localhost) must still be separate candidates.
    const offers = [
      createOffer('o1', { mem: 1000, cpus: 1, agent: 's1', hostname: 'localhost' }),
      createOffer('o2', { mem: 1000, cpus: 1, agent: 's2', hostname: 'localhost' }),
      createOffer('o3', { mem: 0, cpus: 2, agent: 's1', hostname: 'localhost' }),
      createOffer('o4', { mem: 1000, cpus: 1, agent: 's3', hostname: 'other' }),
      createOffer('o5', { mem: 0, cpus: 1, agent: 's2', hostname: 'localhost' }),
    ];
    const tasks = Array.from({ length: 8 }, (_, i) => ({ id: `t${i}`, preferredHosts: ['localhost'] }));
    const plan = fine(offers, tasks, { executorMemoryMiB: 100, taskCpus: 1, fineGrainedMemoryHeadroomMiB: 0 });
    expect(
      plan.launches.map((launch) => [launch.agentId, launch.offerIds, launch.executors.length, launch.taskIds]),
    ).toEqual([
      ['s1', ['o1', 'o3'], 1, ['t0', 't1']],
      ['s2', ['o2', 'o5'], 1, ['t2']],
    ]);
    // The other tasks wait for localhost (spark.locality.wait), so the other host's agent is unused.
    expect(plan.declines.map((decline) => decline.offerId)).toEqual(['o4']);
  });
});

describe('disk (ours; Spark requests none)', () => {
  const withDisk = (id: string, disk: Resource[], shape: OfferShape = { mem: 4000, cpus: 8 }): Offer => {
    const offer = createOffer(id, shape);
    return { ...offer, resources: [...(offer.resources ?? []), ...disk] };
  };
  const persistent = scalar('disk', 5000, {
    role: 'spark',
    reservations: [{ type: 'DYNAMIC', role: 'spark' }],
    disk: { persistence: { id: 'volume1' }, volume: { container_path: 'data', mode: 'RW' } },
  });
  const mount = scalar('disk', 5000, { disk: { source: { type: 'MOUNT', mount: { root: '/mnt/d1' } } } });
  const pathDisk = scalar('disk', 300, { disk: { source: { type: 'PATH', path: { root: '/mnt/p1' } } } });

  it('takes spark.mesos.executor.disk for each coarse executor from root or PATH disk only', () => {
    const offers = [
      withDisk('o1', [scalar('disk', 400), pathDisk]),
      withDisk('o2', [persistent, mount, scalar('disk', 100)]),
    ];
    const plan = coarse(offers, { executorCores: 4, executorDiskMiB: 600 });
    expect(plan.launches.map((launch) => launch.offerId)).toEqual(['o1']);
    const executor = plan.launches[0]!.executors[0]!;
    expect(executor.diskMiB).toBe(600);
    expect(sumScalar(executor.resources, 'disk')).toBe(600);
    expect(plan.launches[0]!.executors).toHaveLength(1);
    expect(plan.launches[0]!.reasons[0]).toEqual({
      code: 'INSUFFICIENT_DISK',
      message: 'needs 600 MB disk, offers 100 MB',
    });
    expect(plan.declines.map((decline) => decline.reasons[0]?.message)).toEqual(['needs 600 MB disk, offers 100 MB']);
    // Without a disk request, the offers are used as before and no disk is taken.
    const none = coarse(offers, { executorCores: 4 });
    for (const launch of none.launches)
      for (const item of launch.executors) expect(sumScalar(item.resources, 'disk')).toBe(0);
  });

  it('gives fine-grained tasks their diskMiB', () => {
    const offers = [withDisk('o1', [scalar('disk', 250), mount])];
    const plan = fine(offers, [{ id: 't1', diskMiB: 200 }, { id: 't2', diskMiB: 100 }, { id: 't3' }], {
      executorMemoryMiB: 100,
      taskCpus: 1,
    });
    const launch = plan.launches[0]!;
    expect(launch.taskIds).toEqual(['t1', 't3']);
    expect(launch.taskResources[0]).toEqual([scalar('cpus', 1), scalar('disk', 200)]);
    expect(plan.unplacedTaskIds).toEqual(['t2']);
  });
});

describe('maintenance windows (Offer.unavailability; beyond Spark, which ignores them)', () => {
  // Real epoch times: nanoseconds beyond 2^53, as the codecs decode them.
  const now = Date.UTC(2026, 10, 24, 12, 0, 0);
  const nanos = (ms: number) => ms * 1e6;
  const withWindow = (id: string, startMs: number, durationMs?: number): Offer => ({
    ...createOffer(id, { mem: 4000, cpus: 8 }),
    unavailability: {
      start: { nanoseconds: nanos(startMs) },
      ...(durationMs === undefined ? {} : { duration: { nanoseconds: nanos(durationMs) } }),
    },
  });

  it('starts no coarse executor on an agent whose maintenance starts within the horizon', () => {
    expect(nanos(now)).toBeGreaterThan(2 ** 53);
    const offers = [
      withWindow('o1', now + 600_000, 3_600_000),
      withWindow('o2', now + 7_200_000),
      withWindow('o3', now - 7_200_000, 3_600_000),
    ];
    const plan = planOffers({ offers, demand: { mode: 'coarse' }, settings: {}, now });
    expect(plan.launches.map((launch) => launch.offerId)).toEqual(['o2', 'o3']);
    expect(plan.declines).toEqual([
      {
        offerId: 'o1',
        agentId: 's1',
        hostname: 'host1',
        refuseSeconds: 120,
        reasons: [
          {
            code: 'AGENT_MAINTENANCE',
            message:
              'agent maintenance starts at 2026-11-24T12:10:00.000Z until 2026-11-24T13:10:00.000Z, in 600 s (within spark.mesos.maintenanceHorizon=3600 s)',
          },
        ],
      },
    ]);
    const wider = planOffers({
      offers,
      demand: { mode: 'coarse' },
      settings: { maintenanceHorizonSeconds: 10_800 },
      now,
    });
    expect(wider.launches.map((launch) => launch.offerId)).toEqual(['o3']);
  });

  it('places fine-grained tasks until the window starts, and declines until it ends', () => {
    const tasks = [{ id: 't1' }, { id: 't2' }, { id: 't3' }];
    const offers = [withWindow('o1', now + 60_000), withWindow('o2', now - 60_000, 90_000), withWindow('o3', now - 1)];
    const plan = planOffers({ offers, demand: { mode: 'fine', tasks }, settings: {}, now });
    expect(plan.launches.map((launch) => launch.offerId)).toEqual(['o1']);
    expect(
      plan.declines.map((decline) => [decline.offerId, decline.refuseSeconds, decline.reasons[0]?.message]),
    ).toEqual([
      ['o2', 30, 'agent under maintenance since 2026-11-24T11:59:00.000Z until 2026-11-24T12:00:30.000Z'],
      ['o3', 120, 'agent under maintenance since 2026-11-24T11:59:59.999Z'],
    ]);
  });
});

describe('planOffers properties', () => {
  const offerArbitrary = fc.record({
    mem: fc.integer({ min: 0, max: 8000 }),
    cpus: fc.integer({ min: 0, max: 16_000 }).map((milli) => milli / 1000),
    gpus: fc.integer({ min: 0, max: 4 }),
    disk: fc.integer({ min: 0, max: 2000 }),
    agent: fc.integer({ min: 1, max: 6 }).map((n) => `s${n}`),
  });
  const settingsArbitrary = fc.record({
    executorCores: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    coresMax: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
    gpusMax: fc.integer({ min: 0, max: 3 }),
    executorDiskMiB: fc.constantFrom(0, 300, 700),
    executorMemoryMiB: fc.integer({ min: 100, max: 2000 }),
    placement: fc.constantFrom('spread' as const, 'pack' as const),
  });

  function checkNotOverCommitted(offers: Offer[], launches: ReturnType<typeof planOffers>['launches']) {
    for (const launch of launches) {
      // The combined offers of the launch: all of one agent, and together never over-committed.
      const combined = offers.filter((item) => launch.offerIds.includes(item.id.value));
      expect(combined.map((item) => item.id.value)).toEqual(launch.offerIds);
      expect(launch.offerId).toBe(launch.offerIds[0]);
      for (const offer of combined) expect(offer.agent_id.value).toBe(launch.agentId);
      const offered = combined.flatMap((offer) => offer.resources ?? []);
      const used = [...launch.executors.flatMap((executor) => executor.resources), ...launch.taskResources.flat()];
      // The two columns of the fine-grained tasks are aligned: one resource list per task id.
      expect(launch.taskResources.length).toBe(launch.taskIds.length);
      const offeredKeys = new Set(offered.map(resourcePoolKey));
      for (const piece of used) expect(offeredKeys.has(resourcePoolKey(piece))).toBe(true);
      for (const key of new Set(used.map(resourcePoolKey))) {
        const ofKey = (list: Resource[]) => list.filter((piece) => resourcePoolKey(piece) === key);
        for (const name of ['cpus', 'mem', 'gpus', 'disk']) {
          expect(roundScalar(sumScalar(ofKey(used), name))).toBeLessThanOrEqual(sumScalar(ofKey(offered), name));
        }
      }
    }
    // Every agent has at most one launch: its offers are combined.
    const agents = launches.map((launch) => launch.agentId);
    expect(new Set(agents).size).toBe(agents.length);
  }

  it('coarse: never over-commits an offer, never exceeds caps, gives excluded agents nothing, accounts for every offer', () => {
    fc.assert(
      fc.property(
        fc.array(offerArbitrary, { maxLength: 8 }),
        settingsArbitrary,
        fc.integer({ min: 0, max: 10 }),
        fc.subarray(['s1', 's2', 's3']),
        (shapes, settings, limit, excludedAgents) => {
          const offers = shapes.map((shape, index) => createOffer(`o${index}`, shape));
          let state = initialPlanState();
          for (const agent of excludedAgents) state = recordAgentFailure(recordAgentFailure(state, agent, 0), agent, 0);
          const plan = planOffers({
            offers,
            demand: { mode: 'coarse', executorLimit: limit },
            settings,
            state,
            now: 0,
          });
          checkNotOverCommitted(offers, plan.launches);
          const coresMax =
            settings.coresMax === undefined
              ? Infinity
              : settings.coresMax - (settings.coresMax % (settings.executorCores ?? 1));
          expect(plan.state.coresAcquired).toBeLessThanOrEqual(coresMax);
          expect(plan.state.gpusAcquired).toBeLessThanOrEqual(settings.gpusMax);
          expect(plan.state.executors).toBeLessThanOrEqual(limit);
          const executors = plan.launches.flatMap((launch) => launch.executors);
          for (const executor of executors) {
            expect(sumScalar(executor.resources, 'disk')).toBe(settings.executorDiskMiB);
            expect(executor.diskMiB).toBe(settings.executorDiskMiB);
          }
          expect(executors.reduce((sum, executor) => sum + executor.cpus, 0)).toBe(plan.state.coresAcquired);
          for (const launch of plan.launches) expect(excludedAgents).not.toContain(launch.agentId);
          const decided = [
            ...plan.launches.flatMap((item) => item.offerIds),
            ...plan.declines.map((item) => item.offerId),
          ].sort();
          expect(decided).toEqual(offers.map((offer) => offer.id.value).sort());
          for (const decline of plan.declines) expect(decline.reasons.length).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('fine: never over-commits an offer, places each task at most once, pays the executor once per agent, keeps the memory headroom', () => {
    fc.assert(
      fc.property(
        fc.array(offerArbitrary, { maxLength: 8 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom('spread' as const, 'pack' as const),
        (shapes, taskCount, taskCpus, placement) => {
          const offers = shapes.map((shape, index) => createOffer(`o${index}`, shape));
          const tasks = Array.from({ length: taskCount }, (_, index) =>
            index % 3 === 0 ? { id: `t${index}`, diskMiB: 250 } : { id: `t${index}` },
          );
          const plan = planOffers({
            offers,
            demand: { mode: 'fine', tasks },
            settings: { executorMemoryMiB: 200, taskCpus, placement },
            now: 0,
          });
          checkNotOverCommitted(offers, plan.launches);
          const placed = plan.launches.flatMap((launch) => launch.taskIds);
          expect(new Set(placed).size).toBe(placed.length);
          expect(placed.length + plan.unplacedTaskIds.length).toBe(taskCount);
          const executorsByAgent = new Map<string, number>();
          for (const launch of plan.launches) {
            executorsByAgent.set(launch.agentId, (executorsByAgent.get(launch.agentId) ?? 0) + launch.executors.length);
            for (const resources of launch.taskResources) expect(sumScalar(resources, 'cpus')).toBe(taskCpus);
          }
          for (const count of executorsByAgent.values()) expect(count).toBe(1);
          // A new executor leaves the memory headroom (32 MB by default) of its agent's offers unused.
          for (const launch of plan.launches) {
            if (launch.executors.length === 0) continue;
            const offered = offers.filter((offer) => launch.offerIds.includes(offer.id.value));
            const used = [
              ...launch.executors.flatMap((executor) => executor.resources),
              ...launch.taskResources.flat(),
            ];
            const offeredMem = sumScalar(
              offered.flatMap((offer) => offer.resources ?? []),
              'mem',
            );
            expect(roundScalar(offeredMem - sumScalar(used, 'mem'))).toBeGreaterThanOrEqual(32);
          }
        },
      ),
    );
  });

  it('fine: cuts each launch exactly as createScalarCutter would, executor first, tasks in order (reference)', () => {
    // Offers with pieces of several roles (reserved first), split across offers of one agent.
    const piece = fc.record({
      name: fc.constantFrom('cpus', 'mem'),
      milli: fc.integer({ min: 0, max: 6000 }),
      reserved: fc.boolean(),
    });
    const offerShape = fc.record({
      agent: fc.integer({ min: 1, max: 4 }).map((n) => `s${n}`),
      pieces: fc.array(piece, { maxLength: 5 }),
    });
    const task = fc.record({
      cpus: fc.integer({ min: 1, max: 2500 }).map((milli) => milli / 1000),
      memMiB: fc.constantFrom(undefined, 0, 50, 300),
    });
    fc.assert(
      fc.property(fc.array(offerShape, { maxLength: 6 }), fc.array(task, { maxLength: 30 }), (shapes, tasks) => {
        const offers = shapes.map((shape, index): Offer => {
          const offer = createOffer(`o${index}`, { mem: 0, cpus: 0, agent: shape.agent });
          return {
            ...offer,
            resources: shape.pieces.map((item) =>
              scalar(
                item.name,
                item.name === 'mem' ? item.milli : item.milli / 1000,
                item.reserved ? { role: 'spark', reservations: [{ type: 'STATIC', role: 'spark' }] } : {},
              ),
            ),
          };
        });
        const demand = tasks.map((item, index) => ({ id: `t${index}`, ...item }));
        const settings = { executorMemoryMiB: 100, taskCpus: 1, fineGrainedMemoryHeadroomMiB: 0 };
        const plan = planOffers({ offers, demand: { mode: 'fine', tasks: demand }, settings, now: 0 });
        const memory = executorMemoryMiB(resolveOfferMatcherSettings(settings));
        for (const launch of plan.launches) {
          const offered = launch.offerIds.flatMap(
            (id) => offers.find((offer) => offer.id.value === id)?.resources ?? [],
          );
          const cutter = createScalarCutter(offered);
          for (const executor of launch.executors) {
            expect(executor.resources).toEqual(cutter.take({ cpus: 1, mem: memory }));
          }
          expect(launch.taskResources.length).toBe(launch.taskIds.length);
          for (let placed = 0; placed < launch.taskIds.length; placed++) {
            const wanted = demand.find((item) => item.id === launch.taskIds[placed])!;
            const mem = wanted.memMiB ?? 0;
            const expected = mem > 0 ? cutter.take({ cpus: wanted.cpus, mem }) : cutter.takeScalar('cpus', wanted.cpus);
            expect(launch.taskResources[placed]).toEqual(expected);
          }
        }
      }),
    );
  });

  it('coarse ports: each executor gets its named ports and count, inside the offered ranges, none twice on an agent', () => {
    // Each offer its own ten ports (Mesos never offers a port twice), some of them.
    const portOffer = fc.record({
      agent: fc.integer({ min: 1, max: 3 }).map((n) => `s${n}`),
      start: fc.integer({ min: 0, max: 5 }),
      size: fc.integer({ min: 0, max: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(portOffer, { maxLength: 6 }),
        fc.uniqueArray(fc.integer({ min: 100, max: 165 }), { maxLength: 2 }),
        fc.integer({ min: 0, max: 3 }),
        (shapes, named, count) => {
          const offers = shapes.map((shape, index) =>
            createOffer(`o${index}`, {
              mem: 10 * EXECUTOR_MEMORY,
              cpus: 8,
              agent: shape.agent,
              ports: [100 + index * 10 + shape.start, 100 + index * 10 + shape.start + shape.size],
            }),
          );
          const plan = coarse(offers, { executorCores: 2 }, undefined, { ports: { named, count } });
          checkNotOverCommitted(offers, plan.launches);
          for (const launch of plan.launches) {
            const offered = launch.offerIds.flatMap(
              (id) => offers.find((offer) => offer.id.value === id)?.resources ?? [],
            );
            const inOffered = (port: number) =>
              offered.some((piece) =>
                (piece.ranges?.range ?? []).some((range) => range.begin <= port && port <= range.end),
              );
            const taken: number[] = [];
            for (const executor of launch.executors) {
              expect(executor.ports).toHaveLength(named.length + count);
              for (const port of named) expect(executor.ports).toContain(port);
              for (const port of executor.ports) expect(inOffered(port)).toBe(true);
              const fromResources = executor.resources
                .filter((piece) => piece.name === 'ports')
                .flatMap((piece) => (piece.ranges?.range ?? []).flatMap((range) => [range.begin, range.end]));
              expect(Math.min(...fromResources, Number.POSITIVE_INFINITY)).toBe(
                executor.ports.length > 0 ? executor.ports[0] : Number.POSITIVE_INFINITY,
              );
              taken.push(...executor.ports);
            }
            expect(new Set(taken).size).toBe(taken.length);
          }
          for (const decline of plan.declines) expect(decline.reasons.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});

describe('what planOffers keeps between rounds', () => {
  // planOffers keeps one object of each shape of its latest round alive (so V8 keeps the hidden
  // classes its optimised code checks); the round's lists and the caller's input must still go.
  it('keeps neither the lists of offers and tasks nor the launches of a round', async () => {
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const refs = (() => {
      const offers = Array.from({ length: 200 }, (_, index) =>
        createOffer(`o${index}`, { cpus: 8, mem: 16_384, hostname: `host${index}` }),
      );
      const tasks = Array.from({ length: 1000 }, (_, index) => ({
        id: `t${index}`,
        preferredHosts: index % 3 === 0 ? [`host${index % 200}`] : undefined,
      }));
      const result = planOffers({
        offers,
        demand: { mode: 'fine', tasks },
        settings: { localityWaitSeconds: 0 },
        now: 0,
      });
      expect(result.launches.length).toBe(200);
      return {
        offers: new WeakRef(offers),
        tasks: new WeakRef(tasks),
        middleOffer: new WeakRef(offers[100]!),
        launches: new WeakRef(result.launches),
        middleLaunch: new WeakRef(result.launches[100]!),
        agents: new WeakRef(result.state.agents),
      };
    })();
    // A WeakRef's target stays alive until the job that made or read it ends.
    await new Promise((resolve) => setImmediate(resolve));
    collect();
    expect(refs.offers.deref()).toBeUndefined();
    expect(refs.tasks.deref()).toBeUndefined();
    expect(refs.middleOffer.deref()).toBeUndefined();
    expect(refs.launches.deref()).toBeUndefined();
    expect(refs.middleLaunch.deref()).toBeUndefined();
    expect(refs.agents.deref()).toBeUndefined();
  });
});
