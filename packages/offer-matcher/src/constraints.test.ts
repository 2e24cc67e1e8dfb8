import { isSparkMesosError } from '@spark-mesos/errors';
import type { Attribute } from '@spark-mesos/mesos-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesAttributeRequirements, parseConstraintString, unmetConstraints } from './constraints.js';

const text = (name: string, value: string): Attribute => ({ name, type: 'TEXT', text: { value } });
const set = (name: string, ...item: string[]): Attribute => ({ name, type: 'SET', set: { item } });
const scalar = (name: string, value: number): Attribute => ({ name, type: 'SCALAR', scalar: { value } });
const ranges = (name: string, ...range: [number, number][]): Attribute => ({
  name,
  type: 'RANGES',
  ranges: { range: range.map(([begin, end]) => ({ begin, end })) },
});
const asObject = (constraints: ReturnType<typeof parseConstraintString>) =>
  Object.fromEntries([...constraints].map(([name, values]) => [name, [...values].sort()]));

// The constraint cases of Spark's MesosSchedulerUtilsSuite, plus the RANGES fix.
describe('MesosSchedulerUtilsSuite constraint cases', () => {
  it('parse a non-empty constraint string correctly', () => {
    expect(asObject(parseConstraintString('os:centos7;zone:us-east-1a,us-east-1b'))).toEqual({
      os: ['centos7'],
      zone: ['us-east-1a', 'us-east-1b'],
    });
  });

  it('parse an empty constraint string correctly', () => {
    expect(parseConstraintString('').size).toBe(0);
  });

  // Spark's case expects "os;zone:us-east" to throw: Guava's MapSplitter rejects an entry without
  // ":". Our documented grammar (attr:v1,v2;attr2;attr3:) allows "os" alone — the attribute must be
  // present, with any value, as "os:" — so the case keeps its name and asserts that; truly
  // malformed input (more than one ":", no attribute name, an empty entry) still throws.
  it('throw an exception when the input is malformed', () => {
    expect(asObject(parseConstraintString('os;zone:us-east'))).toEqual({ os: [], zone: ['us-east'] });
    let error: unknown;
    try {
      parseConstraintString('os;zone:us-east:1');
    } catch (caught) {
      error = caught;
    }
    expect(isSparkMesosError(error, 'SM_ERR_BAD_CONSTRAINTS')).toBe(true);
    expect((error as Error).message).toContain('Bad constraint string');
    expect((error as Error).message).toContain('entry "zone:us-east:1"');
    expect(() => parseConstraintString('a:b:c')).toThrow(/entry "a:b:c" .* has more than one ":"/);
    expect(() => parseConstraintString(':x')).toThrow(/entry ":x" .* names no attribute/);
    expect(() => parseConstraintString('os:centos7;')).toThrow(/entry "" .* names no attribute/);
    expect(() => parseConstraintString('os;;zone:a')).toThrow(/names no attribute/);
  });

  it('an attribute without ":" must be present with any value, as "attr:" (the grammar attr:v1,v2;attr2;attr3:)', () => {
    const constraints = parseConstraintString('rack:r1,r2;gpu;zone:');
    expect(asObject(constraints)).toEqual({ rack: ['r1', 'r2'], gpu: [], zone: [] });
    expect(asObject(parseConstraintString(' gpu '))).toEqual(asObject(parseConstraintString('gpu:')));
    const attributes = [text('rack', 'r1'), text('zone', 'z'), scalar('gpu', 0)];
    expect(matchesAttributeRequirements(constraints, attributes)).toBe(true);
    expect(unmetConstraints(constraints, [text('rack', 'r1'), text('zone', 'z')])).toEqual([
      { attribute: 'gpu', required: [], offered: undefined },
    ]);
    expect(() => parseConstraintString('gpu;gpu:')).toThrow(/attribute "gpu" appears twice/);
  });

  it('rejects an attribute named twice', () => {
    expect(() => parseConstraintString('zone:a;zone:b')).toThrow(/attribute "zone" appears twice.*zone:value1,value2/);
  });

  it("empty values for attributes' constraints matches all values", () => {
    const constraints = parseConstraintString('os:');
    expect(asObject(constraints)).toEqual({ os: [] });
    expect(matchesAttributeRequirements(constraints, [set('zone', 'us-east-1a', 'us-east-1b')])).toBe(false);
    expect(matchesAttributeRequirements(constraints, [text('os', 'centos')])).toBe(true);
    expect(matchesAttributeRequirements(constraints, [text('os', 'ubuntu')])).toBe(true);
  });

  it('subset match is performed for set attributes', () => {
    const offered = [text('os', 'ubuntu'), set('zone', 'us-east-1a', 'us-east-1b', 'us-east-1c')];
    expect(matchesAttributeRequirements(parseConstraintString('os:;zone:us-east-1a,us-east-1c'), offered)).toBe(true);
    expect(matchesAttributeRequirements(parseConstraintString('zone:us-east-1a,us-west-1'), offered)).toBe(false);
  });

  it('less than equal match is performed on scalar attributes', () => {
    const offered = [scalar('gpus', 3)];
    expect(matchesAttributeRequirements(parseConstraintString('gpus:2'), offered)).toBe(true);
    expect(matchesAttributeRequirements(parseConstraintString('gpus:3'), offered)).toBe(true);
    expect(matchesAttributeRequirements(parseConstraintString('gpus:4'), offered)).toBe(false);
  });

  it('contains match is performed for range attributes (every offered range, unlike Spark)', () => {
    const offered = [ranges('ports', [7000, 8000])];
    expect(matchesAttributeRequirements(parseConstraintString('ports:6000'), offered)).toBe(false);
    expect(matchesAttributeRequirements(parseConstraintString('ports:7500'), offered)).toBe(true);
    expect(matchesAttributeRequirements(parseConstraintString('ports:8002'), offered)).toBe(false);
    expect(matchesAttributeRequirements(parseConstraintString('ports:5000,7500,8300'), offered)).toBe(true);
    // Real offers carry Value.Ranges with several ranges; Spark never matched these.
    const twoRanges = [ranges('ports', [1000, 2000], [7000, 8000])];
    expect(matchesAttributeRequirements(parseConstraintString('ports:7500'), twoRanges)).toBe(true);
    expect(matchesAttributeRequirements(parseConstraintString('ports:3000'), twoRanges)).toBe(false);
  });

  it('equality match is performed for text attributes', () => {
    const offered = [text('os', 'centos7')];
    expect(matchesAttributeRequirements(parseConstraintString('os:centos7'), offered)).toBe(true);
    expect(matchesAttributeRequirements(parseConstraintString('os:ubuntu'), offered)).toBe(false);
  });

  it('explains unmet constraints with the offered value', () => {
    expect(unmetConstraints(parseConstraintString('zone:us-east-1a;rack:'), [text('zone', 'us-east-1c')])).toEqual([
      { attribute: 'zone', required: ['us-east-1a'], offered: 'us-east-1c' },
      { attribute: 'rack', required: [], offered: undefined },
    ]);
  });
});

describe('parseConstraintString properties', () => {
  const word = fc.stringMatching(/^[a-z0-9_.-]{1,8}$/);
  it('parses what it is given back into the same map (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(word, fc.uniqueArray(word, { maxLength: 4 }), { maxKeys: 5 }), (expected) => {
        // An attribute with no values is written alone or with ":" (both mean any value).
        const textForm = Object.entries(expected)
          .map(([name, values], index) =>
            values.length === 0 && index % 2 === 0 ? name : `${name}:${values.join(',')}`,
          )
          .join(' ; ');
        const parsed = asObject(parseConstraintString(textForm));
        const sorted = Object.fromEntries(Object.entries(expected).map(([name, values]) => [name, [...values].sort()]));
        expect(parsed).toEqual(sorted);
      }),
    );
  });
});
