// The master without HTTP: subscriptions as plain objects, allocation cycles run by hand.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OfferID, SchedulerEvent } from '@spark-mesos/mesos-client';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalAgent } from './agent.js';
import { LocalMaster, type LocalMasterOptions, type Subscription } from './master.js';
import { parseResources } from './resources.js';

const masters: LocalMaster[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const master of masters.splice(0)) master.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(agentCount = 1, options: Partial<LocalMasterOptions> = {}, resources = 'cpus:4;mem:4096'): LocalMaster {
  const master = new LocalMaster({ id: 'M', heartbeatIntervalSeconds: 60, allocationIntervalMs: 60_000, ...options });
  masters.push(master);
  const workDir = mkdtempSync(join(tmpdir(), 'mesos-local-master-'));
  dirs.push(workDir);
  for (let i = 0; i < agentCount; i++) {
    // Never started: the master reads only its id, resources and attributes.
    master.addAgent(new LocalAgent({ id: `M-S${i}`, resources: parseResources(resources), workDir, uplink: master }));
  }
  return master;
}

function stream(events: SchedulerEvent[], streamId = `s-${events.length}-${Math.random()}`): Subscription {
  return {
    streamId,
    send: (event) => events.push(event),
    end: () => events.push({ type: 'UNKNOWN' }),
    abort: () => events.push({ type: 'UNKNOWN' }),
  };
}

const offersIn = (events: readonly SchedulerEvent[]) =>
  events.flatMap((event) => (event.type === 'OFFERS' ? (event.offers?.offers ?? []) : []));

describe('LocalMaster', () => {
  it("starts a subscription suppressed for SUBSCRIBE's suppressed_roles", () => {
    const master = setup();
    const quiet: SchedulerEvent[] = [];
    const eager: SchedulerEvent[] = [];
    master.subscribe({ user: 'u', name: 'quiet' }, stream(quiet), { suppressedRoles: ['*'] });
    master.subscribe({ user: 'u', name: 'eager' }, stream(eager));
    master.allocate();
    expect(offersIn(quiet)).toEqual([]);
    expect(offersIn(eager)).toHaveLength(1);
  });

  it('a DECLINE filters only the declined resources; REVIVE clears the filter', () => {
    const master = setup();
    const events: SchedulerEvent[] = [];
    const frameworkId = master.subscribe({ user: 'u', name: 'f' }, stream(events));
    master.allocate();
    const [offer] = offersIn(events);
    master.handleCall(frameworkId, {
      type: 'DECLINE',
      framework_id: { value: frameworkId },
      decline: { offer_ids: [offer?.id ?? { value: '' }], filters: { refuse_seconds: 60 } },
    });
    const before = events.length;
    master.allocate();
    expect(offersIn(events.slice(before))).toEqual([]);
    master.handleCall(frameworkId, { type: 'REVIVE', framework_id: { value: frameworkId } });
    master.allocate();
    expect(offersIn(events.slice(before))).toHaveLength(1);
  });

  it('a re-subscription within the failover timeout discards outstanding offers without RESCIND', () => {
    const master = setup();
    const first: SchedulerEvent[] = [];
    const frameworkId = master.subscribe({ user: 'u', name: 'f', failover_timeout: 60 }, stream(first));
    master.allocate();
    expect(offersIn(first)).toHaveLength(1);
    const second: SchedulerEvent[] = [];
    master.subscribe({ user: 'u', name: 'f', failover_timeout: 60, id: { value: frameworkId } }, stream(second));
    expect(first.slice(-2)).toEqual([
      { type: 'ERROR', error: { message: 'Framework failed over' } },
      { type: 'UNKNOWN' },
    ]);
    expect([...first, ...second].some((event) => event.type === 'RESCIND')).toBe(false);
    // The agent is whole again and goes to the new subscription.
    master.allocate();
    expect(offersIn(second)[0]?.resources?.find((r) => r.name === 'cpus')?.scalar?.value).toBe(4);
  });
});

interface StateTask {
  readonly id: string;
  readonly state: string;
}
interface StateFramework {
  readonly id: string;
  readonly completed_tasks: readonly StateTask[];
}

/**
 * Launches `count` tasks of 1 cpu on agent M-S0 (whose process is replaced by no-ops: nothing
 * runs) and finishes them in order, each TASK_FINISHED acknowledged.
 */
function finishTasks(master: LocalMaster, frameworkId: string, events: SchedulerEvent[], count: number): void {
  const agent = master.agents[0] as LocalAgent;
  vi.spyOn(agent, 'launchTask').mockImplementation(() => {});
  vi.spyOn(agent, 'acknowledge').mockImplementation(() => {});
  master.allocate();
  const [offer] = offersIn(events);
  master.handleCall(frameworkId, {
    type: 'ACCEPT',
    framework_id: { value: frameworkId },
    accept: {
      offer_ids: [offer?.id ?? { value: '' }],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: Array.from({ length: count }, (_, index) => ({
              name: `t${index}`,
              task_id: { value: `t${index}` },
              agent_id: { value: 'M-S0' },
              resources: parseResources('cpus:1;mem:1'),
              command: { value: 'true' },
            })),
          },
        },
      ],
    },
  });
  for (let index = 0; index < count; index++) {
    const uuid = new Uint8Array(16);
    new DataView(uuid.buffer).setUint32(0, index + 1);
    master.statusUpdate('M-S0', frameworkId, {
      task_id: { value: `t${index}` },
      state: 'TASK_FINISHED',
      source: 'SOURCE_EXECUTOR',
      uuid,
    });
    master.handleCall(frameworkId, {
      type: 'ACKNOWLEDGE',
      framework_id: { value: frameworkId },
      acknowledge: { agent_id: { value: 'M-S0' }, task_id: { value: `t${index}` }, uuid },
    });
  }
}

describe('LocalMaster: bounded history of finished work (as Mesos)', () => {
  it("keeps the newest 1,000 completed tasks per framework (Mesos' default)", () => {
    const master = setup(1, {}, 'cpus:2000;mem:4096');
    const events: SchedulerEvent[] = [];
    const frameworkId = master.subscribe({ user: 'u', name: 'f' }, stream(events));
    finishTasks(master, frameworkId, events, 1005);
    const [framework] = master.state().frameworks as StateFramework[];
    const completed = framework?.completed_tasks ?? [];
    expect(completed).toHaveLength(1000);
    expect(completed[0]?.id).toBe('t5');
    expect(completed.at(-1)?.id).toBe('t1004');
    expect(completed.every((task) => task.state === 'TASK_FINISHED')).toBe(true);
  });

  it('maxCompletedTasksPerFramework bounds the tasks kept, also for a removed framework', () => {
    const master = setup(1, { maxCompletedTasksPerFramework: 2 }, 'cpus:8;mem:4096');
    const events: SchedulerEvent[] = [];
    const frameworkId = master.subscribe({ user: 'u', name: 'f' }, stream(events));
    finishTasks(master, frameworkId, events, 3);
    const ids = () => (master.state().frameworks as StateFramework[])[0]?.completed_tasks.map((task) => task.id) ?? [];
    expect(ids()).toEqual(['t1', 't2']);
    master.handleCall(frameworkId, { type: 'TEARDOWN', framework_id: { value: frameworkId } });
    const [removed] = master.state().completed_frameworks as StateFramework[];
    expect(removed?.completed_tasks.map((task) => task.id)).toEqual(['t1', 't2']);
  });

  it("keeps the newest 50 torn-down frameworks (Mesos' default), and fewer when asked", () => {
    for (const [options, kept] of [
      [{}, 50],
      [{ maxCompletedFrameworks: 3 }, 3],
    ] as const) {
      const master = setup(0, options);
      const ids: string[] = [];
      for (let index = 0; index < 51; index++) {
        const frameworkId = master.subscribe({ user: 'u', name: `f${index}` }, stream([]));
        master.handleCall(frameworkId, { type: 'TEARDOWN', framework_id: { value: frameworkId } });
        ids.push(frameworkId);
      }
      const completed = (master.state().completed_frameworks as StateFramework[]).map((framework) => framework.id);
      expect(completed).toEqual(ids.slice(-kept));
      // A forgotten framework's id is still refused at SUBSCRIBE.
      const refused: SchedulerEvent[] = [];
      master.subscribe({ user: 'u', name: 'f0', id: { value: ids[0] as string } }, stream(refused));
      expect(refused[0]).toEqual({ type: 'ERROR', error: { message: 'Framework has been removed' } });
    }
  });

  it('refuses a bound that is not a whole number ≥ 0', () => {
    expect(() => setup(0, { maxCompletedTasksPerFramework: -1 })).toThrow(/maxCompletedTasksPerFramework/);
    expect(() => setup(0, { maxCompletedFrameworks: 1.5 })).toThrow(/whole number/);
  });
});

describe('LocalMaster: free resources kept between allocation cycles', () => {
  const operation = fc.oneof(
    { arbitrary: fc.constant({ type: 'allocate' as const }), weight: 3 },
    {
      arbitrary: fc.record({
        type: fc.constant('launch' as const),
        pick: fc.nat(),
        cpus: fc.integer({ min: 1, max: 3 }),
      }),
      weight: 3,
    },
    { arbitrary: fc.record({ type: fc.constant('finish' as const), pick: fc.nat() }), weight: 2 },
    fc.record({ type: fc.constant('decline' as const), pick: fc.nat(), refuse: fc.constantFrom(0, 60) }),
    fc.record({ type: fc.constant('acknowledge' as const), pick: fc.nat() }),
    fc.record({ type: fc.constant('revive' as const) }),
    fc.record({ type: fc.constant('teardown' as const) }),
    fc.record({ type: fc.constant('subscribe' as const), checkpoint: fc.boolean() }),
    fc.record({ type: fc.constant('agentDisconnected' as const), pick: fc.nat() }),
    fc.record({ type: fc.constant('agentRestarted' as const), pick: fc.nat() }),
  );

  it('equal a full recomputation (total − live tasks − outstanding offers) after any operations', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 40 }), (operations) => {
        const master = setup(3, {}, 'cpus:4;mem:1024;ports:[31000-31009]');
        for (const agent of master.agents) {
          for (const method of ['launchTask', 'killTask', 'acknowledge', 'shutdownFramework'] as const) {
            vi.spyOn(agent, method).mockImplementation(() => {});
          }
        }
        let frameworkId = '';
        let events: SchedulerEvent[] = [];
        let seen = 0;
        const offers: Array<{ id: OfferID; agentId: string }> = [];
        const tasks: Array<{ id: string; agentId: string; uuid?: Uint8Array }> = [];
        let nextTask = 0;
        const subscribe = (checkpoint: boolean): void => {
          events = [];
          seen = 0;
          offers.length = 0;
          tasks.length = 0;
          frameworkId = master.subscribe({ user: 'u', name: 'f', checkpoint }, stream(events));
        };
        const take = <T>(list: T[], pick: number): T | undefined =>
          list.length === 0 ? undefined : list.splice(pick % list.length, 1)[0];
        subscribe(false);
        for (const step of operations) {
          switch (step.type) {
            case 'allocate':
              master.allocate();
              break;
            case 'launch': {
              const offer = take(offers, step.pick);
              if (!offer) break;
              const id = `t${nextTask++}`;
              master.handleCall(frameworkId, {
                type: 'ACCEPT',
                framework_id: { value: frameworkId },
                accept: {
                  offer_ids: [offer.id],
                  operations: [
                    {
                      type: 'LAUNCH',
                      launch: {
                        task_infos: [
                          {
                            name: id,
                            task_id: { value: id },
                            agent_id: { value: offer.agentId },
                            resources: parseResources(`cpus:${step.cpus};mem:100;ports:[31000-31001]`),
                            command: { value: 'true' },
                          },
                        ],
                      },
                    },
                  ],
                  filters: { refuse_seconds: 0 },
                },
              });
              tasks.push({ id, agentId: offer.agentId });
              break;
            }
            case 'decline': {
              const offer = take(offers, step.pick);
              if (!offer) break;
              master.handleCall(frameworkId, {
                type: 'DECLINE',
                framework_id: { value: frameworkId },
                decline: { offer_ids: [offer.id], filters: { refuse_seconds: step.refuse } },
              });
              break;
            }
            case 'finish': {
              const running = tasks.filter((candidate) => candidate.uuid === undefined);
              const task = running[step.pick % Math.max(1, running.length)];
              if (!task) break;
              task.uuid = new Uint8Array(16).fill(nextTask++ % 256);
              master.statusUpdate(task.agentId, frameworkId, {
                task_id: { value: task.id },
                state: 'TASK_FINISHED',
                source: 'SOURCE_EXECUTOR',
                uuid: task.uuid,
              });
              break;
            }
            case 'acknowledge': {
              const task = take(
                tasks.filter((candidate) => candidate.uuid !== undefined),
                step.pick,
              );
              if (!task?.uuid) break;
              tasks.splice(tasks.indexOf(task), 1);
              master.handleCall(frameworkId, {
                type: 'ACKNOWLEDGE',
                framework_id: { value: frameworkId },
                acknowledge: { agent_id: { value: task.agentId }, task_id: { value: task.id }, uuid: task.uuid },
              });
              break;
            }
            case 'revive':
              master.handleCall(frameworkId, { type: 'REVIVE', framework_id: { value: frameworkId } });
              break;
            case 'teardown':
              master.handleCall(frameworkId, { type: 'TEARDOWN', framework_id: { value: frameworkId } });
              subscribe(false);
              break;
            case 'subscribe':
              master.handleCall(frameworkId, { type: 'TEARDOWN', framework_id: { value: frameworkId } });
              subscribe(step.checkpoint);
              break;
            case 'agentDisconnected':
              master.agentDisconnected(`M-S${step.pick % 3}`);
              break;
            case 'agentRestarted': {
              const agent = master.agents[step.pick % 3] as LocalAgent;
              master.agentRestarted(agent);
              break;
            }
          }
          // Offers made and rescinded since the last step.
          for (const event of events.slice(seen)) {
            if (event.type === 'OFFERS') {
              for (const offer of event.offers?.offers ?? [])
                offers.push({ id: offer.id, agentId: offer.agent_id.value });
            }
            if (event.type === 'RESCIND') {
              const gone = offers.findIndex((offer) => offer.id.value === event.rescind?.offer_id.value);
              if (gone >= 0) offers.splice(gone, 1);
            }
          }
          seen = events.length;
          // The full recomputation, from /master/state: resources − used − offered.
          const slaves = master.state().slaves as Array<{
            id: string;
            resources: Record<string, number>;
            used_resources: Record<string, number>;
            offered_resources: Record<string, number>;
          }>;
          for (const slave of slaves) {
            const free = master.freeResources(slave.id);
            for (const name of ['cpus', 'mem']) {
              const expected =
                Math.round(
                  ((slave.resources[name] ?? 0) -
                    (slave.used_resources[name] ?? 0) -
                    (slave.offered_resources[name] ?? 0)) *
                    1000,
                ) / 1000;
              const actual = free
                .filter((resource) => resource.name === name)
                .reduce((sum, resource) => sum + (resource.scalar?.value ?? 0), 0);
              expect(actual, `${name} free on ${slave.id} after ${step.type}`).toBe(expected);
            }
          }
        }
        master.stop();
      }),
      { numRuns: 150 },
    );
  });
});
