// One planning round of @spark-mesos/offer-matcher's planOffers, on one core, with generated
// offers (16 cpus, 64 GiB, ports; half of them reserved for role `spark`) and individual
// fine-grained task descriptions (1 or 2 cpus; 30 % prefer one or two hosts). Per size: the median
// of --runs rounds (after one warm-up round), and the heap the round's result holds. Sizes: the
// target (10,000 offers × 100,000 tasks), 50,000 offers, a coarse-grained round of 50,000 offers,
// and the curve as offers and tasks double together.
//
//   node --expose-gc --single-threaded-gc bench.mjs [--runs N] [--quick] [--build dist/index.js] [--out file.json]
//
// --single-threaded-gc keeps garbage collection on the planning thread, so the round is timed on
// one core; CPU time (user + system) is reported beside wall time, since other work on a shared
// machine stretches wall time.
//
// Not a test: nothing here asserts on speed.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { makeRound } from './workload.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    build: { type: 'string' },
    out: { type: 'string' },
  },
});
// --build times another build's index.js (e.g. a copy of the dist before a change).
const { planOffers } = await import(
  args.build === undefined ? '@spark-mesos/offer-matcher' : pathToFileURL(resolve(args.build)).href
);
const runs = Number(args.runs ?? (args.quick ? 3 : 7));

function measure(label, offerCount, taskCount, mode) {
  const input = makeRound(offerCount, taskCount, mode);
  const round = () => planOffers(input);
  round();
  const times = [];
  const cpuTimes = [];
  let result;
  for (let i = 0; i < runs; i++) {
    globalThis.gc?.();
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    result = round();
    const cpu = process.cpuUsage(cpuStart);
    times.push(performance.now() - start);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
  }
  times.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  result = undefined;
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  result = round();
  globalThis.gc?.();
  const held = process.memoryUsage().heapUsed - before;
  // Placed fine-grained tasks and executors (a build before the columnar launches has `tasks`).
  const placed = result.launches.reduce(
    (sum, launch) => sum + (launch.taskIds ?? launch.tasks).length + launch.executors.length,
    0,
  );
  const row = {
    label,
    mode,
    offers: offerCount,
    tasks: mode === 'fine' ? taskCount : 0,
    medianMs: Number(times[Math.floor(times.length / 2)].toFixed(1)),
    minMs: Number(times[0].toFixed(1)),
    maxMs: Number(times.at(-1).toFixed(1)),
    cpuMedianMs: Number(cpuTimes[Math.floor(cpuTimes.length / 2)].toFixed(1)),
    resultHeapMiB: Number((held / 2 ** 20).toFixed(1)),
    placed,
    launches: result.launches.length,
    declines: result.declines.length,
  };
  console.log(JSON.stringify(row));
  return row;
}

const rows = [];
const base = args.quick
  ? [[1250, 12_500]]
  : [
      [1250, 12_500],
      [2500, 25_000],
      [5000, 50_000],
      [10_000, 100_000],
      [20_000, 200_000],
    ];
for (const [offers, tasks] of base) rows.push(measure('curve', offers, tasks, 'fine'));
if (!args.quick) {
  rows.push(measure('50,000 offers', 50_000, 100_000, 'fine'));
  rows.push(measure('50,000 offers, coarse', 50_000, 100_000, 'coarse'));
}
const machine = {
  node: process.version,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  runs,
  loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))),
};
writeFileSync(
  args.out ?? new URL('./results.json', import.meta.url),
  `${JSON.stringify({ machine, rows }, null, 2)}\n`,
);
