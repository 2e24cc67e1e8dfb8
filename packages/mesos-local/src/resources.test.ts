import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import {
  addResources,
  DEFAULT_AGENT_RESOURCES,
  parseAttributes,
  parseResources,
  reservedQuantities,
  resourceQuantities,
  subtractResources,
} from './resources.js';

describe('parseResources', () => {
  it('parses the default agent as a real agent offers it (role "*", no allocation_info)', () => {
    expect(parseResources(DEFAULT_AGENT_RESOURCES)).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 4 }, role: '*' },
      { name: 'mem', type: 'SCALAR', scalar: { value: 4096 }, role: '*' },
      { name: 'disk', type: 'SCALAR', scalar: { value: 10000 }, role: '*' },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] }, role: '*' },
    ]);
  });

  it('parses roles, several ranges, sets and fractions; merges repeated names', () => {
    expect(parseResources('cpus(spark):2; cpus:0.5;ports:[1-2, 5-6];gpus_ids:{a,b};cpus:0.25')).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, role: 'spark' },
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.75 }, role: '*' },
      {
        name: 'ports',
        type: 'RANGES',
        ranges: {
          range: [
            { begin: 1, end: 2 },
            { begin: 5, end: 6 },
          ],
        },
        role: '*',
      },
      { name: 'gpus_ids', type: 'SET', set: { item: ['a', 'b'] }, role: '*' },
    ]);
  });

  it.each(['cpus', 'cpus:abc', 'cpus:-1', 'ports:[5-1]', 'ports:[a-b]', '(x):1'])('rejects %j', (text) => {
    try {
      parseResources(text);
      expect.unreachable();
    } catch (error) {
      expect(isSparkMesosError(error, 'SM_ERR_BAD_RESOURCES')).toBe(true);
      expect((error as Error).message).toContain(text);
    }
  });
});

describe('resource arithmetic', () => {
  const agent = parseResources('cpus:4;mem:4096;ports:[31000-32000]');

  it('subtracts what fits, ignoring allocation_info, with three-decimal scalars', () => {
    const task = [
      { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 }, role: '*', allocation_info: { role: '*' } },
      { name: 'ports', type: 'RANGES' as const, ranges: { range: [{ begin: 31000, end: 31000 }] } },
    ];
    const left = subtractResources(agent, task);
    expect(resourceQuantities(left ?? [])).toMatchObject({ cpus: 3.9, mem: 4096, ports: '[31001-32000]' });
    expect(resourceQuantities(addResources(left ?? [], task))).toMatchObject({ cpus: 4, ports: '[31000-32000]' });
  });

  it('refuses what does not fit (more, another role, a port outside the ranges)', () => {
    expect(subtractResources(agent, parseResources('cpus:4.001'))).toBeUndefined();
    expect(subtractResources(agent, parseResources('cpus(spark):1'))).toBeUndefined();
    expect(subtractResources(agent, parseResources('ports:[80-80]'))).toBeUndefined();
    expect(subtractResources(agent, parseResources('gpus:1'))).toBeUndefined();
  });

  it('never changes its inputs (results share nested values with them, without deep copies)', () => {
    const deepFreeze = <T>(value: T): T => {
      if (value !== null && typeof value === 'object') {
        for (const nested of Object.values(value)) deepFreeze(nested);
        Object.freeze(value);
      }
      return value;
    };
    const total = deepFreeze(parseResources('cpus:4;mem:4096;ports:[31000-31010,31020-31030];ids:{a,b,c}'));
    const some = deepFreeze(parseResources('cpus:1.5;ports:[31005-31006,31020-31020];ids:{b}'));
    const left = subtractResources(total, some) ?? [];
    expect(resourceQuantities(left)).toMatchObject({
      cpus: 2.5,
      mem: 4096,
      ports: '[31000-31004, 31007-31010, 31021-31030]',
      ids: '{a, c}',
    });
    const back = addResources(left, some);
    expect(resourceQuantities(back)).toEqual({ ...resourceQuantities(total), ids: '{a, c, b}' });
    expect(resourceQuantities(addResources(total, total))).toMatchObject({ cpus: 8, mem: 8192 });
    // The sums are new objects: changing one leaves the frozen inputs as they were.
    (back[0] as { scalar: { value: number } }).scalar.value = 99;
    expect(total[0]?.scalar?.value).toBe(4);
  });
});

describe('parseAttributes', () => {
  it('types values as Mesos does', () => {
    expect(parseAttributes('rack:r1;level:2;ports:[1-3]')).toEqual([
      { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
      { name: 'level', type: 'SCALAR', scalar: { value: 2 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 3 }] } },
    ]);
  });
  it('rejects a pair without a colon', () => {
    expect(() => parseAttributes('rack')).toThrow(/rack/);
  });
});

describe('reservedQuantities', () => {
  it("groups the static reservations by role as /master/state's reserved_resources, leaving out *", () => {
    const resources = parseResources('cpus:1;mem:1024;cpus(spark):3;mem(spark):2048;disk(etl):100');
    expect(reservedQuantities(resources)).toEqual({
      spark: { cpus: 3, mem: 2048, disk: 0, gpus: 0 },
      etl: { cpus: 0, mem: 0, disk: 100, gpus: 0 },
    });
    expect(reservedQuantities(parseResources('cpus:4;mem:4096'))).toEqual({});
  });
});
