import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numericRange, rangeLength, sliceArray, sliceNumericRange, slicePositions } from './slicing.js';

function expand(range: { start: number; end: number; step: number }): number[] {
  const values: number[] = [];
  if (range.step > 0) for (let value = range.start; value < range.end; value += range.step) values.push(value);
  // biome-ignore lint/correctness/useValidForDirection: the step is negative on this branch.
  else for (let value = range.start; value > range.end; value += range.step) values.push(value);
  return values;
}

describe('slicing as Spark slices a collection', () => {
  it('matches ParallelCollectionRDD.positions on known values', () => {
    expect(slicePositions(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(slicePositions(2, 4)).toEqual([
      [0, 0],
      [0, 1],
      [1, 1],
      [1, 2],
    ]);
    expect(() => slicePositions(5, 0)).toThrow(/positive whole number of partitions/);
  });

  it('property: slices are contiguous, cover everything, and differ in size by at most one', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 1, max: 64 }), (items, numSlices) => {
        const slices = sliceArray(items, numSlices);
        expect(slices).toHaveLength(numSlices);
        expect(slices.flat()).toEqual(items);
        const sizes = slices.map((slice) => slice.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        // Spark's slices grow toward the end: a slice is never larger than a later one by more than 0.
        expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(items.length);
      }),
    );
  });

  it('property: a numeric range is sliced without materialising, into the same items', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: -50, max: 50 }).filter((step) => step !== 0),
        fc.integer({ min: 1, max: 20 }),
        (start, end, step, numSlices) => {
          const range = numericRange(start, end, step);
          const all = expand(range);
          expect(rangeLength(range)).toBe(all.length);
          const slices = sliceNumericRange(range, numSlices);
          expect(slices.flatMap(expand)).toEqual(all);
          expect(slices.map((slice) => expand(slice).length)).toEqual(
            sliceArray(all, numSlices).map((slice) => slice.length),
          );
        },
      ),
    );
  });

  it('slices a huge range in constant memory', () => {
    const slices = sliceNumericRange(numericRange(0, 2 ** 52, 1), 3);
    expect(slices[2]).toEqual({ start: Math.floor((2 * 2 ** 52) / 3), end: 2 ** 52, step: 1 });
  });

  it('rejects a zero step and non-integers', () => {
    expect(() => numericRange(0, 10, 0)).toThrow(/step cannot be 0/);
    expect(() => numericRange(0.5, 10)).toThrow(/not a safe integer/);
  });
});
