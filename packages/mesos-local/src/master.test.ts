// The master without HTTP: subscriptions as plain objects, allocation cycles run by hand.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SchedulerEvent } from '@spark-mesos/mesos-client';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalAgent } from './agent.js';
import { LocalMaster, type Subscription } from './master.js';
import { parseResources } from './resources.js';

const masters: LocalMaster[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const master of masters.splice(0)) master.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(agentCount = 1): LocalMaster {
  const master = new LocalMaster({ id: 'M', heartbeatIntervalSeconds: 60, allocationIntervalMs: 60_000 });
  masters.push(master);
  const workDir = mkdtempSync(join(tmpdir(), 'mesos-local-master-'));
  dirs.push(workDir);
  for (let i = 0; i < agentCount; i++) {
    // Never started: the master reads only its id, resources and attributes.
    master.addAgent(
      new LocalAgent({ id: `M-S${i}`, resources: parseResources('cpus:4;mem:4096'), workDir, uplink: master }),
    );
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
