import type { Resource } from '@spark-mesos/mesos-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  countRanges,
  createScalarCutter,
  mergeRanges,
  rangesOf,
  reservationRole,
  roundScalar,
  subtractRanges,
  sumScalar,
  takeResources,
  usableResources,
} from './resources.js';

const scalar = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({
  name,
  type: 'SCALAR',
  scalar: { value },
  ...extra,
});
const ports = (begin: number, end: number, extra: Partial<Resource> = {}): Resource => ({
  name: 'ports',
  type: 'RANGES',
  ranges: { range: [{ begin, end }] },
  ...extra,
});

describe('ranges', () => {
  it('merges overlapping and adjacent ranges', () => {
    expect(
      mergeRanges([
        { begin: 10, end: 12 },
        { begin: 1, end: 3 },
        { begin: 4, end: 5 },
        { begin: 11, end: 20 },
      ]),
    ).toEqual([
      { begin: 1, end: 5 },
      { begin: 10, end: 20 },
    ]);
  });

  it('subtracts and counts', () => {
    const left = subtractRanges(
      [{ begin: 1, end: 10 }],
      [
        { begin: 3, end: 4 },
        { begin: 10, end: 12 },
      ],
    );
    expect(left).toEqual([
      { begin: 1, end: 2 },
      { begin: 5, end: 9 },
    ]);
    expect(countRanges(left)).toBe(7);
  });

  it('subtraction removes exactly the values removed (property)', () => {
    const range = fc
      .tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 }))
      .map(([begin, size]) => ({ begin, end: begin + size }));
    fc.assert(
      fc.property(fc.array(range, { maxLength: 6 }), fc.array(range, { maxLength: 6 }), (a, b) => {
        const left = subtractRanges(a, b);
        for (let value = 0; value <= 221; value++) {
          const expected =
            a.some((r) => r.begin <= value && value <= r.end) && !b.some((r) => r.begin <= value && value <= r.end);
          if (left.some((r) => r.begin <= value && value <= r.end) !== expected) return false;
        }
        return true;
      }),
    );
  });
});

describe('roles and filters', () => {
  it('takes the role from the reservation stack, then role, then *', () => {
    expect(reservationRole(scalar('cpus', 1))).toBe('*');
    expect(reservationRole(scalar('cpus', 1, { role: 'spark' }))).toBe('spark');
    expect(
      reservationRole(
        scalar('cpus', 1, {
          reservations: [
            { type: 'STATIC', role: 'eng' },
            { type: 'DYNAMIC', role: 'eng/spark' },
          ],
        }),
      ),
    ).toBe('eng/spark');
  });

  it('uses revocable resources only when opted in', () => {
    const offered = [scalar('cpus', 1), scalar('cpus', 2, { revocable: {} })];
    expect(sumScalar(usableResources(offered), 'cpus')).toBe(1);
    expect(sumScalar(usableResources(offered, { acceptRevocable: true }), 'cpus')).toBe(3);
  });

  it('filters by allocation role for MULTI_ROLE frameworks', () => {
    const offered = [
      scalar('cpus', 1, { allocation_info: { role: 'a' } }),
      scalar('cpus', 2, { allocation_info: { role: 'b' }, reservations: [{ type: 'DYNAMIC', role: 'b' }] }),
    ];
    expect(sumScalar(usableResources(offered, { roles: ['b'] }), 'cpus')).toBe(2);
    expect(sumScalar(usableResources(offered, { roles: ['a', 'b'] }), 'cpus')).toBe(3);
  });
});

describe('takeResources', () => {
  it('takes reserved pieces first and keeps their role, allocation_info and reservations', () => {
    const reserved = scalar('cpus', 1.5, {
      allocation_info: { role: 'spark' },
      reservations: [{ type: 'DYNAMIC', role: 'spark', principal: 'p' }],
    });
    const result = takeResources([scalar('cpus', 4, { allocation_info: { role: 'spark' } }), reserved], {
      scalars: { cpus: 2 },
    });
    expect(result?.taken).toEqual([
      { ...reserved, scalar: { value: 1.5 } },
      scalar('cpus', 0.5, { allocation_info: { role: 'spark' } }),
    ]);
    expect(result?.remaining).toEqual([scalar('cpus', 3.5, { allocation_info: { role: 'spark' } })]);
  });

  it('returns undefined when the request does not fit', () => {
    expect(takeResources([scalar('mem', 1024)], { scalars: { mem: 1408 } })).toBeUndefined();
    expect(takeResources([ports(31100, 31200)], { ranges: { ports: { named: [30100] } } })).toBeUndefined();
    expect(takeResources([ports(1, 2)], { ranges: { ports: { count: 3 } } })).toBeUndefined();
  });

  it('takes named ports from the range that holds them, and counted ports lowest first', () => {
    const result = takeResources([ports(2000, 2500, { role: 'other' }), ports(3000, 5000, { role: 'mine' })], {
      ranges: { ports: { named: [4000], count: 2 } },
    });
    expect(result?.taken).toEqual([ports(4000, 4000, { role: 'mine' }), ports(2000, 2001, { role: 'other' })]);
    expect(rangesOf(result?.remaining ?? [], 'ports')).toEqual([
      { begin: 2002, end: 2500 },
      { begin: 3000, end: 3999 },
      { begin: 4001, end: 5000 },
    ]);
  });

  it('rounds to three decimal places', () => {
    expect(roundScalar(0.1 + 0.2)).toBe(0.3);
    const result = takeResources([scalar('cpus', 0.3)], { scalars: { cpus: 0.1 + 0.2 } });
    expect(result?.remaining).toEqual([]);
    expect(takeResources([scalar('cpus', 1)], { scalars: { cpus: 1.0004 } })).toBeDefined();
  });

  const pieceArbitrary = fc.oneof(
    fc
      .record({
        name: fc.constantFrom('cpus', 'mem', 'gpus'),
        value: fc.integer({ min: 0, max: 100_000 }).map((milli) => milli / 1000),
        role: fc.constantFrom('*', 'spark', 'other'),
      })
      .map(({ name, value, role }) => scalar(name, value, { role })),
    fc
      .record({ begin: fc.integer({ min: 1000, max: 2000 }), size: fc.integer({ min: 0, max: 50 }) })
      .map(({ begin, size }) => ports(begin, begin + size)),
  );

  it('conserves resources: taken + remaining = offered, per name; never negative (property)', () => {
    fc.assert(
      fc.property(
        // Mesos never offers one port twice: each generated range gets its own band.
        fc
          .array(pieceArbitrary, { maxLength: 8 })
          .map((pieces) =>
            pieces.map((piece, index) =>
              piece.type === 'RANGES'
                ? ports(piece.ranges!.range![0]!.begin + index * 10_000, piece.ranges!.range![0]!.end + index * 10_000)
                : piece,
            ),
          ),
        fc.record({ cpus: fc.integer({ min: 0, max: 50_000 }), mem: fc.integer({ min: 0, max: 50_000 }) }),
        fc.integer({ min: 0, max: 60 }),
        (offered, milli, portCount) => {
          const result = takeResources(offered, {
            scalars: { cpus: milli.cpus / 1000, mem: milli.mem / 1000 },
            ranges: { ports: { count: portCount } },
          });
          const have = (name: string) => sumScalar(offered, name);
          if (result === undefined) {
            return (
              have('cpus') < milli.cpus / 1000 ||
              have('mem') < milli.mem / 1000 ||
              countRanges(rangesOf(offered, 'ports')) < portCount
            );
          }
          for (const name of ['cpus', 'mem', 'gpus']) {
            const sum = roundScalar(sumScalar(result.taken, name) + sumScalar(result.remaining, name));
            if (sum !== have(name)) return false;
          }
          if (sumScalar(result.taken, 'cpus') !== milli.cpus / 1000) return false;
          if (countRanges(rangesOf(result.taken, 'ports')) !== portCount) return false;
          const portTotal =
            countRanges(rangesOf(result.taken, 'ports')) + countRanges(rangesOf(result.remaining, 'ports'));
          if (portTotal !== countRanges(rangesOf(offered, 'ports'))) return false;
          return [...result.taken, ...result.remaining].every(
            (piece) =>
              (piece.scalar?.value ?? 0) >= 0 && roundScalar(piece.scalar?.value ?? 0) === (piece.scalar?.value ?? 0),
          );
        },
      ),
    );
  });
});

// Spark's partitionPortResources cases: named ports are cut from the offered ranges with their
// role; "random" (ephemeral, port 0) ports reserve nothing, as Spark's executors bind port 0.
describe('MesosSchedulerUtilsSuite port cases', () => {
  const portsOfTaken = (taken: readonly Resource[]) =>
    taken.flatMap((piece) => (piece.ranges?.range ?? []).map((range) => [range.begin, range.end]));

  it('Port reservation is done correctly with user specified ports only', () => {
    const result = takeResources([ports(3000, 5000, { role: 'my_role' })], { ranges: { ports: { named: [4000] } } });
    expect(result?.taken).toEqual([ports(4000, 4000, { role: 'my_role' })]);
    expect(portsOfTaken(result?.taken ?? [])).toEqual([[4000, 4000]]);
  });

  it('Port reservation is done correctly with all random ports', () => {
    const result = takeResources([ports(3000, 5000, { role: 'my_role' })], { ranges: { ports: { named: [] } } });
    expect(portsOfTaken(result?.taken ?? [])).toEqual([]);
    expect(result?.remaining).toEqual([ports(3000, 5000, { role: 'my_role' })]);
  });

  it('Port reservation is done correctly with user specified ports only - multiple ranges', () => {
    const offered = [ports(3000, 5000, { role: 'my_role' }), ports(2000, 2500, { role: 'other_role' })];
    const result = takeResources(offered, { ranges: { ports: { named: [4000] } } });
    expect(result?.taken).toEqual([ports(4000, 4000, { role: 'my_role' })]);
    expect(result?.remaining).toEqual([
      {
        ...ports(3000, 5000, { role: 'my_role' }),
        ranges: {
          range: [
            { begin: 3000, end: 3999 },
            { begin: 4001, end: 5000 },
          ],
        },
      },
      ports(2000, 2500, { role: 'other_role' }),
    ]);
  });

  it('Port reservation is done correctly with all random ports - multiple ranges', () => {
    const offered = [ports(3000, 5000, { role: 'my_role' }), ports(2000, 2500, { role: 'other_role' })];
    const result = takeResources(offered, { ranges: { ports: { named: [] } } });
    expect(portsOfTaken(result?.taken ?? [])).toEqual([]);
  });
});

describe('createScalarCutter', () => {
  it('cuts like takeResources, reserved pieces first, and shares equal single-piece cuts', () => {
    const reserved = scalar('cpus', 2, { reservations: [{ type: 'STATIC', role: 'spark' }] });
    const cutter = createScalarCutter([scalar('cpus', 2), reserved, scalar('mem', 100)]);
    const first = cutter.takeScalar('cpus', 1);
    const second = cutter.takeScalar('cpus', 1);
    expect(first).toEqual([{ ...reserved, scalar: { value: 1 } }]);
    expect(second).toBe(first);
    expect(cutter.take({ cpus: 1.5, mem: 40 })).toEqual([scalar('cpus', 1.5), scalar('mem', 40)]);
    expect(cutter.takeScalar('cpus', 1)).toBeUndefined();
    expect(cutter.remaining()).toEqual([scalar('cpus', 0.5), scalar('mem', 60)]);
  });
});
