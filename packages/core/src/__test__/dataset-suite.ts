import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numericRange } from '../slicing.js';
import type { SparkContext } from '../spark-context.js';

/**
 * Every transformation and action against plain-JavaScript expected values, on whatever backend
 * `makeContext` gives (the in-process test double, or local[2] with the executor's runner).
 */
export function describeDatasetSuite(name: string, makeContext: () => Promise<SparkContext>): void {
  describe(name, () => {
    let sc: SparkContext;
    let directory: string;
    const numbers = Array.from({ length: 100 }, (_, index) => index - 20);

    beforeAll(async () => {
      sc = await makeContext();
      directory = await mkdtemp(join(tmpdir(), 'spark-mesos-core-'));
    });
    afterAll(async () => {
      await sc?.stop();
      if (directory) await rm(directory, { recursive: true, force: true });
    });

    it('parallelize + collect keeps the order and slices as Spark does', async () => {
      const ds = sc.parallelize(numbers, 7);
      expect(await ds.getNumPartitions()).toBe(7);
      expect(await ds.collect()).toEqual(numbers);
      const sizes = await sc.runJob(ds, (items) => Array.from(items).length);
      // floor(i·100/7): 0, 14, 28, 42, 57, 71, 85, 100
      expect(sizes).toEqual([14, 14, 14, 15, 14, 14, 15]);
    });

    it('range streams without materialising, in positive and negative steps', async () => {
      expect(await sc.range(0, 10, 3, 4).collect()).toEqual([0, 3, 6, 9]);
      expect(await sc.range(10, -5, -4, 3).collect()).toEqual([10, 6, 2, -2]);
      expect(await sc.range(5, 0, 1, 2).collect()).toEqual([]);
      expect(await sc.range(0, 1_000_000, 1, 4).count()).toBe(1_000_000);
    });

    it('parallelize(numericRange) slices a range as Spark slices a Scala Range', async () => {
      expect(await sc.parallelize(numericRange(0, 11, 2), 3).collect()).toEqual([0, 2, 4, 6, 8, 10]);
    });

    it('map, filter and flatMap (with captured values and a generator)', async () => {
      const ds = sc
        .parallelize(numbers, 4)
        .map((x, { k }) => x * k, { k: 3 })
        .filter((x, { limit }) => x > limit, { limit: 0 })
        .flatMap(function* (x) {
          yield x;
          yield -x;
        });
      const expected = numbers
        .map((x) => x * 3)
        .filter((x) => x > 0)
        .flatMap((x) => [x, -x]);
      expect(await ds.collect()).toEqual(expected);
    });

    it('mapPartitions and mapPartitionsWithIndex see their own partition after a union', async () => {
      const left = sc.parallelize([1, 2, 3], 2);
      const right = sc.parallelize([10, 20, 30, 40], 2);
      const tagged = left
        .mapPartitionsWithIndex((index, items) => Array.from(items, (x) => `L${index}:${x}`))
        .union(right.mapPartitionsWithIndex((index, items) => Array.from(items, (x) => `R${index}:${x}`)));
      expect(await tagged.getNumPartitions()).toBe(4);
      expect(await tagged.collect()).toEqual(['L0:1', 'L1:2', 'L1:3', 'R0:10', 'R0:20', 'R1:30', 'R1:40']);
      const sums = sc.parallelize(numbers, 5).mapPartitions((items) => [Array.from(items).reduce((a, b) => a + b, 0)]);
      expect((await sums.collect()).reduce((a, b) => a + b, 0)).toBe(numbers.reduce((a, b) => a + b, 0));
    });

    it('zipWithIndex numbers items across partitions (after a counting job)', async () => {
      const words = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
      const zipped = sc
        .parallelize(words, 3)
        .filter((word) => word !== 'c')
        .zipWithIndex();
      expect(await zipped.collect()).toEqual(
        words.filter((word) => word !== 'c').map((word, index) => [word, index] as [string, number]),
      );
      expect(await sc.parallelize([], 3).zipWithIndex().collect()).toEqual([]);
    });

    it('keyBy and mapValues', async () => {
      const pairs = sc.parallelize(['apple', 'banana', 'cherry'], 2).keyBy((word) => word.length);
      expect(await pairs.collect()).toEqual([
        [5, 'apple'],
        [6, 'banana'],
        [6, 'cherry'],
      ]);
      expect(await pairs.mapValues((word, { suffix }) => word + suffix, { suffix: '!' }).collect()).toEqual([
        [5, 'apple!'],
        [6, 'banana!'],
        [6, 'cherry!'],
      ]);
    });

    it('count, reduce, fold and aggregate', async () => {
      const ds = sc.parallelize(numbers, 6);
      expect(await ds.count()).toBe(numbers.length);
      expect(await ds.reduce((a, b) => a + b)).toBe(numbers.reduce((a, b) => a + b));
      expect(await ds.fold(0, (a, b) => a + b)).toBe(numbers.reduce((a, b) => a + b));
      const [sum, count] = await ds.aggregate(
        [0, 0] as [number, number],
        ([s, c], x) => [s + x, c + 1] as [number, number],
        ([s1, c1], [s2, c2]) => [s1 + s2, c1 + c2] as [number, number],
      );
      expect([sum, count]).toEqual([numbers.reduce((a, b) => a + b), numbers.length]);
      await expect(sc.parallelize<number>([], 2).reduce((a, b) => a + b)).rejects.toMatchObject({
        code: 'SM_ERR_EMPTY_DATASET',
      });
      // As in Spark, the zero value is used once per partition and once on the driver.
      expect(await sc.parallelize<number>([], 2).fold(7, (a, b) => a + b)).toBe(21);
    });

    it('take scans partitions incrementally and first returns the first item', async () => {
      const sparse = sc.parallelize(numbers, 10).filter((x) => x > 70);
      expect(await sparse.take(3)).toEqual([71, 72, 73]);
      expect(await sparse.take(1000)).toEqual(numbers.filter((x) => x > 70));
      expect(await sparse.take(0)).toEqual([]);
      expect(await sparse.first()).toBe(71);
      await expect(sc.parallelize<number>([], 2).first()).rejects.toMatchObject({ code: 'SM_ERR_EMPTY_DATASET' });
    });

    it('foreach and foreachPartition run where the tasks run', async () => {
      const out = join(directory, 'foreach');
      await sc.parallelize(['x', 'y', 'z'], 3).foreach(
        async (item, { out }) => {
          const fs = process.getBuiltinModule('node:fs/promises') as typeof import('node:fs/promises');
          await fs.mkdir(out, { recursive: true });
          await fs.writeFile(`${out}/${item}`, item);
        },
        { out },
      );
      expect((await readdir(out)).sort()).toEqual(['x', 'y', 'z']);
      const sizes = join(directory, 'sizes');
      await sc.parallelize(numbers, 4).foreachPartition(
        async (items, { sizes }) => {
          const fs = process.getBuiltinModule('node:fs/promises') as typeof import('node:fs/promises');
          await fs.mkdir(sizes, { recursive: true });
          const all = Array.from(items);
          await fs.writeFile(`${sizes}/${all[0]}`, String(all.length));
        },
        { sizes },
      );
      const written = await readdir(sizes);
      expect(written.map(Number).sort((a, b) => a - b)).toEqual([-20, 5, 30, 55]);
      expect(await readFile(join(sizes, '-20'), 'utf8')).toBe('25');
    });

    it('saveAsTextFile writes part files and _SUCCESS, refuses an existing directory, and textFile reads it back', async () => {
      const out = join(directory, 'saved');
      await sc.parallelize(numbers, 3).saveAsTextFile(out);
      expect((await readdir(out)).sort()).toEqual(['_SUCCESS', 'part-00000', 'part-00001', 'part-00002']);
      expect(await readFile(join(out, 'part-00000'), 'utf8')).toBe(`${numbers.slice(0, 33).join('\n')}\n`);
      await expect(sc.parallelize([1], 1).saveAsTextFile(out)).rejects.toMatchObject({ code: 'SM_ERR_OUTPUT_EXISTS' });
      const back = await sc
        .textFile(out, 4)
        .map((line) => Number(line))
        .collect();
      expect(back).toEqual(numbers);
    });

    it('textFile splits a file on line boundaries', async () => {
      const lines = Array.from({ length: 500 }, (_, index) => `line ${index} ${'x'.repeat(index % 13)}`);
      const file = join(directory, 'lines.txt');
      await writeFile(file, `${lines.join('\r\n')}\n`);
      const ds = sc.textFile(file, 7);
      expect(await ds.getNumPartitions()).toBeGreaterThanOrEqual(7);
      expect(await ds.collect()).toEqual(lines);
      expect(await ds.count()).toBe(lines.length);
    });

    it('textFile reads a directory with a gzipped file, one partition per .gz file', async () => {
      const { gzipSync } = await import('node:zlib');
      const folder = join(directory, 'mixed');
      const { mkdir } = await import('node:fs/promises');
      await mkdir(folder);
      await writeFile(join(folder, 'a.txt'), 'a1\na2\n');
      await writeFile(join(folder, 'b.txt.gz'), gzipSync('b1\nb2\nb3'));
      const ds = sc.textFile(folder, 1);
      expect(await ds.getNumPartitions()).toBe(2);
      expect(await ds.collect()).toEqual(['a1', 'a2', 'b1', 'b2', 'b3']);
    });

    it('runJob runs a function on chosen partitions with the task context', async () => {
      const ds = sc.parallelize(numbers, 4);
      const results = await sc.runJob(
        ds,
        async (items, context, { add }) => ({ partition: context.partition, size: Array.from(items).length + add }),
        [3, 1],
        { add: 1000 },
      );
      expect(results).toEqual([
        { partition: 3, size: 1025 },
        { partition: 1, size: 1025 },
      ]);
    });

    it('a driver-only variable fails the job naming the variable and the rule', async () => {
      const factor = 3;
      await expect(
        sc
          .parallelize([1, 2], 2)
          .map((x) => x * factor)
          .collect(),
      ).rejects.toMatchObject({
        code: 'SM_ERR_DRIVER_VARIABLE',
        message: expect.stringMatching(
          /"factor"[\s\S]*The function using "factor": dataset\.map\(fn\) at .*dataset-suite\.ts:\d+:\d+/,
        ),
      });
    });

    it('a driver variable named like a runtime local is still reported, not shadowed', async () => {
      const items = [10];
      await expect(
        sc
          .parallelize([1], 1)
          .map((x) => x + items.length)
          .collect(),
      ).rejects.toMatchObject({ code: 'SM_ERR_DRIVER_VARIABLE', message: expect.stringContaining('"items"') });
    });

    it('a task that always fails fails the job with its error and stack', async () => {
      const error = await sc
        .parallelize([1, 2, 3], 3)
        .map((x) => {
          if (x === 2) throw new RangeError(`bad item ${x}`);
          return x;
        })
        .collect()
        .then(
          () => ({ code: 'none', message: 'the job succeeded' }),
          (caught: unknown) => caught as Error & { code: string },
        );
      expect(error.code).toBe('SM_ERR_JOB_FAILED');
      expect(error.message).toContain('Task 1 in stage');
      expect(error.message).toContain('RangeError: bad item 2');
      expect(error.message).toMatch(/\n\s+at /);
      expect(error.message).toMatch(/Functions of the stage: dataset\.map\(fn\) at .*dataset-suite\.ts:\d+:\d+$/);
    });
  });
}
