#!/usr/bin/env node
// Counts words: each task reads its byte range of the file, splits lines into words and counts
// them; the driver merges the per-partition counts. (With the shuffle this becomes
// reduceByKey; until then the merge happens on the driver.)
//
//   node word-count.mjs [file] [top]      MASTER=local[4] node word-count.mjs README.md 20
//   npx spark-mesos submit --master local[4] word-count.mjs README.md 20
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SparkConf, SparkContext } from 'spark-mesos';

/** The words of `path` with their counts, most frequent first (ties by word). */
export async function countWords(sc, path, minPartitions = 2) {
  const partial = await sc
    .textFile(path, minPartitions)
    .flatMap((line) => line.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [])
    .mapPartitions((words) => {
      const counts = new Map();
      for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
      return counts;
    })
    .collect();
  const counts = new Map();
  for (const [word, count] of partial) counts.set(word, (counts.get(word) ?? 0) + count);
  return [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
}

async function main() {
  const path = process.argv[2] ?? fileURLToPath(new URL('./input.txt', import.meta.url));
  const top = Number(process.argv[3] ?? 10);
  const conf = new SparkConf().setAppName('Word Count').setIfMissing('spark.master', process.env.MASTER ?? 'local[*]');
  const sc = await SparkContext.create(conf);
  try {
    const counts = await countWords(sc, path);
    const total = counts.reduce((sum, [, count]) => sum + count, 0);
    console.log(`${total} words, ${counts.length} distinct; the ${Math.min(top, counts.length)} most frequent:`);
    for (const [word, count] of counts.slice(0, top)) console.log(`${String(count).padStart(6)}  ${word}`);
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
