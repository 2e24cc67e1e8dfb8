import { SparkConf } from '@spark-mesos/config';
import type { MasterStateAgent } from '@spark-mesos/mesos-client';
import { parseConstraintString, planOffers } from '@spark-mesos/offer-matcher';
import { describe, expect, it } from 'vitest';
import { checkDriverAddress, formatReport, offerFromAgentState } from './doctor-command.js';

const quiet = { warn: () => {}, info: () => {} };

function conf(entries: Record<string, string>): SparkConf {
  const sparkConf = new SparkConf({ loadDefaults: false, logger: quiet });
  for (const [key, value] of Object.entries(entries)) sparkConf.set(key, value);
  return sparkConf;
}

/** An agent as a real master's /master/state prints it (numbers as floats, ports as text). */
const agent: MasterStateAgent = {
  id: 'S0',
  hostname: 'agent-1.example',
  port: 5051,
  pid: 'slave(1)@10.0.0.5:5051',
  attributes: { zone: 'us-east-1a', rack: 3, slots: '[1-4]', disks: '{ssd,hdd}' },
  resources: { cpus: 8.0, mem: 8192.0, disk: 20000.0, gpus: 0.0, ports: '[31000-32000]' },
  used_resources: { cpus: 1.5, mem: 2048.0, disk: 0.0, gpus: 0.0, ports: '[31000-31001]' },
  offered_resources: { cpus: 0.0, mem: 0.0, disk: 0.0, gpus: 0.0 },
  reserved_resources: { spark: { cpus: 2.0, mem: 1024.0 } },
  unreserved_resources: { cpus: 6.0, mem: 7168.0, disk: 20000.0, gpus: 0.0, ports: '[31000-32000]' },
  active: true,
  deactivated: false,
  registered_time: 1795470145.4,
};

describe('offerFromAgentState', () => {
  it('offers the unreserved resources minus the used ones, with the used ports removed', () => {
    const offer = offerFromAgentState(agent, undefined);
    expect(offer.agent_id.value).toBe('S0');
    expect(offer.hostname).toBe('agent-1.example');
    expect(offer.resources).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 4.5 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 5120 } },
      { name: 'disk', type: 'SCALAR', scalar: { value: 20000 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31002, end: 32000 }] } },
    ]);
  });

  it('adds what is reserved for the role, with its reservation, once the used part is taken from the unreserved', () => {
    const offer = offerFromAgentState({ ...agent, used_resources: { cpus: 7.0, mem: 0.0 } }, 'spark');
    const reserved = offer.resources!.filter((resource) => resource.reservations !== undefined);
    // 7 cpus used: the 6 unreserved, then 1 of the 2 reserved for spark.
    expect(offer.resources!.filter((resource) => resource.name === 'cpus')).toEqual([
      {
        name: 'cpus',
        type: 'SCALAR',
        scalar: { value: 1 },
        role: 'spark',
        reservations: [{ type: 'STATIC', role: 'spark' }],
        allocation_info: { role: 'spark' },
      },
    ]);
    expect(reserved.map((resource) => resource.name)).toEqual(['cpus', 'mem']);
  });

  it('converts the attributes back: numbers are scalars, [a-b] ranges, {a,b} sets, the rest text', () => {
    expect(offerFromAgentState(agent, undefined).attributes).toEqual([
      { name: 'zone', type: 'TEXT', text: { value: 'us-east-1a' } },
      { name: 'rack', type: 'SCALAR', scalar: { value: 3 } },
      { name: 'slots', type: 'RANGES', ranges: { range: [{ begin: 1, end: 4 }] } },
      { name: 'disks', type: 'SET', set: { item: ['ssd', 'hdd'] } },
    ]);
  });

  it('is planned by the offer matcher as a real offer (whole cores): constraints see the attributes', () => {
    const offers = [offerFromAgentState(agent, undefined)];
    const fits = planOffers({ offers, demand: { mode: 'coarse' }, settings: {}, now: 0 });
    expect(fits.launches[0]?.executors).toMatchObject([{ cpus: 4, memMiB: 1408 }]);
    const constrained = planOffers({
      offers,
      demand: { mode: 'coarse' },
      settings: { constraints: parseConstraintString('zone:us-east-1c', 'spark.mesos.constraints') },
      now: 0,
    });
    expect(constrained.declines[0]?.reasons[0]?.message).toBe('constraint zone:us-east-1c unmet: offered us-east-1a');
  });
});

describe('checkDriverAddress', () => {
  it('warns when the driver address is loopback while agents run on other hosts', async () => {
    const check = await checkDriverAddress(
      conf({ 'spark.driver.host': 'localhost', 'spark.driver.port': '7078' }),
      ['127.0.0.1', 'agent-1.example'],
      async () => ['127.0.0.1'],
    );
    expect(check.status).toBe('warn');
    expect(check.summary).toContain('localhost:7078 (spark.driver.host)');
    expect(check.summary).toContain('agents on host agent-1.example cannot reach 127.0.0.1');
    expect(check.summary).toContain('set spark.driver.host');
  });

  it('is ok with a loopback address when every agent is on this host', async () => {
    const check = await checkDriverAddress(conf({ 'spark.driver.host': '127.0.0.1' }), ['127.0.0.1'], async () => [
      '127.0.0.1',
    ]);
    expect(check.status).toBe('ok');
  });

  it("uses the bind address when it is not a wildcard, else this host's name, as core does", async () => {
    const bound = await checkDriverAddress(conf({ 'spark.driver.bindAddress': '10.0.0.9' }), [], async () => [
      '10.0.0.9',
    ]);
    expect(bound.summary).toMatch(
      /^executors dial the driver at 10\.0\.0\.9:<a free port> \(spark\.driver\.bindAddress/,
    );
    const named = await checkDriverAddress(conf({}), [], async () => ['10.0.0.7']);
    expect(named.summary).toContain("(this host's name; resolves to 10.0.0.7)");
  });

  it('warns when the address does not resolve', async () => {
    const check = await checkDriverAddress(conf({ 'spark.driver.host': 'nowhere.invalid' }), [], async () => {
      throw new Error('getaddrinfo ENOTFOUND nowhere.invalid');
    });
    expect(check.status).toBe('warn');
    expect(check.summary).toContain('nowhere.invalid does not resolve here (getaddrinfo ENOTFOUND nowhere.invalid)');
  });
});

describe('formatReport', () => {
  it('prints one line a check and its lines indented below', () => {
    const text = formatReport({
      master: 'mesos://m:5050',
      exitCode: 1,
      checks: [
        { name: 'agents', status: 'ok', summary: '1 active agent(s)', lines: [{ status: 'ok', text: 'a1 (S0): …' }] },
        { name: 'executors', status: 'FAIL', summary: 'no agent fits an executor', lines: [] },
      ],
    });
    expect(text).toBe(
      'ok    agents     1 active agent(s)\n                 ok    a1 (S0): …\nFAIL  executors  no agent fits an executor\n',
    );
  });
});
