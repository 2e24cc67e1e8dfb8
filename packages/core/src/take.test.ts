import { SparkConf } from '@spark-mesos/config';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessBackend } from './__test__/in-process-backend.js';
import { SparkContext } from './spark-context.js';

/** Spark's RDD.take loop, written out independently: the partition ranges each round scans. */
function sparkTakeRounds(sizes: number[], num: number, scaleUpFactor = 4): number[][] {
  const rounds: number[][] = [];
  let found = 0;
  let partsScanned = 0;
  while (found < num && partsScanned < sizes.length) {
    let numPartsToTry = 1;
    const left = num - found;
    if (partsScanned > 0) {
      if (found === 0) numPartsToTry = partsScanned * scaleUpFactor;
      else {
        numPartsToTry = Math.ceil((1.5 * left * partsScanned) / found);
        numPartsToTry = Math.min(numPartsToTry, partsScanned * scaleUpFactor);
      }
    }
    const parts: number[] = [];
    for (let p = partsScanned; p < Math.min(partsScanned + numPartsToTry, sizes.length); p++) parts.push(p);
    rounds.push(parts);
    for (const p of parts) found += Math.min(sizes[p]!, num - found);
    partsScanned += parts.length;
  }
  return rounds;
}

describe('take', () => {
  let sc: SparkContext;
  const backend = createInProcessBackend({ executors: [{ executorId: 'e', host: 'h', slots: 4 }] });
  beforeAll(async () => {
    sc = await SparkContext.create(new SparkConf().setMaster('local[4]').setAppName('take-test'), { backend });
  });
  afterAll(() => sc.stop());

  it('property: take(n) is the first n items and scans partitions as Spark does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 60 }),
        async (sizes, num) => {
          const ds = sc
            .parallelize(sizes, sizes.length)
            .flatMap((size) => Array.from({ length: size }, (_, index) => `${size}:${index}`));
          const all = sizes.flatMap((size) => Array.from({ length: size }, (_, index) => `${size}:${index}`));
          const before = backend.launched.length;
          expect(await ds.take(num)).toEqual(all.slice(0, num));
          const launched = backend.launched.slice(before).map(({ task }) => task);
          const stages = [...new Set(launched.map((task) => task.stageId))];
          const rounds = stages.map((stage) =>
            launched.filter((task) => task.stageId === stage).map((task) => task.partition),
          );
          expect(rounds).toEqual(sparkTakeRounds(sizes, num));
        },
      ),
      { numRuns: 60 },
    );
  });
});
