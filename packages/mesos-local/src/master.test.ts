// The master without HTTP: subscriptions as plain objects, allocation cycles run by hand.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SchedulerEvent } from '@spark-mesos/mesos-client';
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
