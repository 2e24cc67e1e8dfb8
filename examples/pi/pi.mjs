#!/usr/bin/env node
// Estimates π as Spark's SparkPi does: random points in the square [-1, 1]², the share inside the
// unit circle is π/4.
//
//   node pi.mjs [slices]            MASTER=local[4] node pi.mjs 8
//   npx spark-mesos submit --master local[4] pi.mjs 8   (--master wins over MASTER)
import { pathToFileURL } from 'node:url';
import { SparkConf, SparkContext } from 'spark-mesos';

/**
 * Throws `samples` points over `slices` partitions and returns the estimate. The range is never
 * materialised: each task generates its own slice of indices.
 */
export async function estimatePi(sc, samples, slices) {
  const inside = await sc
    .range(0, samples, 1, slices)
    .filter(() => {
      const x = Math.random() * 2 - 1;
      const y = Math.random() * 2 - 1;
      return x * x + y * y <= 1;
    })
    .count();
  return (4 * inside) / samples;
}

async function main() {
  const slices = Number(process.argv[2] ?? 2);
  const samples = 100_000 * slices;
  const conf = new SparkConf().setAppName('Spark Pi').setIfMissing('spark.master', process.env.MASTER ?? 'local[*]');
  const sc = await SparkContext.create(conf);
  try {
    const pi = await estimatePi(sc, samples, slices);
    console.log(`Pi is roughly ${pi}`);
  } finally {
    await sc.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
