// A driver program for the submit tests: reports what its new SparkConf() sees, with the code
// layer on top, and what process.argv it got.
import { SparkConf, SparkContext } from 'spark-mesos';

const conf = new SparkConf().set('spark.default.parallelism', '5');
const keys = [
  'spark.master',
  'spark.app.name',
  'spark.cores.max',
  'spark.executor.memory',
  'spark.default.parallelism',
  'spark.executor.uri',
];
const sc = await SparkContext.create(conf);
const report = {
  argv: process.argv.slice(1),
  explain: Object.fromEntries(keys.map((key) => [key, conf.explain(key)])),
  count: await sc.parallelize([1, 2, 3]).count(),
};
console.log(JSON.stringify(report));
// The context is left running on purpose: submit stops it, and the exit code stays this one.
process.exitCode = Number(process.argv[2] ?? 0);
