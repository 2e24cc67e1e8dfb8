import { SparkMesosError } from '@spark-mesos/errors';

/**
 * A numeric range `start` (inclusive) to `end` (exclusive) by `step`, sliced without being
 * materialised (Spark's `Range` case of `ParallelCollectionRDD.slice`).
 */
export interface NumericRange {
  readonly start: number;
  readonly end: number;
  readonly step: number;
}

const numericRangeMarker = Symbol.for('@spark-mesos/core.NumericRange');

/**
 * A numeric range for `sc.parallelize`: `start` to `end` (exclusive) by `step`. Slicing it never
 * builds the array, so `sc.parallelize(numericRange(0, 1e9), 8)` costs eight small descriptors.
 *
 * @param step - @default 1
 */
export function numericRange(start: number, end: number, step = 1): NumericRange {
  checkRangeArguments(start, end, step);
  const range = { start, end, step };
  Object.defineProperty(range, numericRangeMarker, { value: true });
  return Object.freeze(range);
}

/** Whether `value` was made by {@link numericRange}. */
export function isNumericRange(value: unknown): value is NumericRange {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[numericRangeMarker] === true;
}

function checkRangeArguments(start: number, end: number, step: number): void {
  for (const [name, value] of [
    ['start', start],
    ['end', end],
    ['step', step],
  ] as const) {
    if (!Number.isSafeInteger(value)) {
      throw new SparkMesosError(
        'SM_ERR_BAD_RANGE',
        `the range ${name} ${value} is not a safe integer; use integers between ±(2^53 − 1)`,
        { cause: { start, end, step } },
      );
    }
  }
  if (step === 0) {
    throw new SparkMesosError('SM_ERR_BAD_RANGE', 'step cannot be 0; use a positive or negative step', {
      cause: { start, end, step },
    });
  }
}

/** The number of values of a range (0 when `end` is on the wrong side of `start`). */
export function rangeLength(range: NumericRange): number {
  const span = range.end - range.start;
  if (span === 0 || span > 0 !== range.step > 0) return 0;
  return Math.ceil(span / range.step);
}

/** Rejects a partition count as Spark does ("Positive number of partitions required"). */
export function checkSliceCount(numSlices: number, what = 'numSlices'): void {
  if (!Number.isSafeInteger(numSlices) || numSlices < 1) {
    throw new SparkMesosError(
      'SM_ERR_BAD_PARTITION_COUNT',
      `${what} is ${numSlices}: a positive whole number of partitions is required`,
      { cause: { [what]: numSlices } },
    );
  }
}

/**
 * Spark's slice positions: slice `i` of `numSlices` over `length` items covers
 * `[floor(i·length/n), floor((i+1)·length/n))`, so sizes differ by at most one and the larger
 * slices come last.
 */
export function slicePositions(length: number, numSlices: number): Array<[start: number, end: number]> {
  checkSliceCount(numSlices);
  const positions: Array<[number, number]> = [];
  for (let index = 0; index < numSlices; index++) {
    positions.push([sliceBoundary(index, length, numSlices), sliceBoundary(index + 1, length, numSlices)]);
  }
  return positions;
}

function sliceBoundary(index: number, length: number, numSlices: number): number {
  const product = index * length;
  // Exact integer division while the product is a safe integer, BigInt beyond.
  if (Number.isSafeInteger(product)) return Math.floor(product / numSlices);
  return Number((BigInt(index) * BigInt(length)) / BigInt(numSlices));
}

/** Slices an array as `sc.parallelize` does. */
export function sliceArray<T>(items: readonly T[], numSlices: number): T[][] {
  return slicePositions(items.length, numSlices).map(([start, end]) => items.slice(start, end));
}

/** Slices a numeric range into sub-ranges without materialising it. */
export function sliceNumericRange(range: NumericRange, numSlices: number): NumericRange[] {
  const length = rangeLength(range);
  return slicePositions(length, numSlices).map(([start, end]) => ({
    start: range.start + start * range.step,
    end: range.start + end * range.step,
    step: range.step,
  }));
}
