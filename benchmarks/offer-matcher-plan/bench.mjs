// One planning round of @spark-mesos/offer-matcher's planOffers, on one core, with generated
// offers (16 cpus, 64 GiB, ports; half of them reserved for role `spark`) and individual
// fine-grained task descriptions (1 or 2 cpus; 30 % prefer one or two hosts). Per size: the median
// of --runs rounds after --warmup rounds (a driver plans round after round, so the rounds that
// matter run V8's optimised code; the first, cold round is reported apart as firstMs), and the
// heap the round's result holds; each size in a process of its own. Sizes: the target (10,000
// offers × 100,000 tasks), 50,000 offers, a coarse-grained round of 50,000 offers, and the curve
// as offers and tasks double together.
//
//   node --expose-gc --single-threaded-gc bench.mjs [--runs N] [--warmup N] [--quick] [--build dist/index.js]
//        [--same-process] [--out file.json]
//
// --single-threaded-gc keeps garbage collection on the planning thread, so the round is timed on
// one core; CPU time (user + system) is reported beside wall time, since other work on a shared
// machine stretches wall time.
//
// Not a test: nothing here asserts on speed.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { makeRound } from './workload.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    warmup: { type: 'string' },
    size: { type: 'string' },
    'same-process': { type: 'boolean', default: false },
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
const warmup = Number(args.warmup ?? (args.quick ? 3 : 10));

function measure(label, offerCount, taskCount, mode) {
  const input = makeRound(offerCount, taskCount, mode);
  const round = () => planOffers(input);
  // Each size is a new round shape for V8 too, so its first round is cold whatever ran before.
  globalThis.gc?.();
  const firstStart = performance.now();
  round();
  const firstMs = performance.now() - firstStart;
  for (let i = 1; i < warmup; i++) {
    globalThis.gc?.();
    round();
  }
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
    firstMs: Number(firstMs.toFixed(1)),
    minMs: Number(times[0].toFixed(1)),
    maxMs: Number(times.at(-1).toFixed(1)),
    cpuMedianMs: Number(cpuTimes[Math.floor(cpuTimes.length / 2)].toFixed(1)),
    resultHeapMiB: Number((held / 2 ** 20).toFixed(1)),
    placed,
    launches: result.launches.length,
    declines: result.declines.length,
  };
  return row;
}

// Each size runs in a process of its own (as a driver plans rounds for one cluster): in one
// process, V8's decisions trained on the smaller rounds (which allocation sites allocate straight
// into the old generation) made the 20,000 × 200,000 round about 1.3× slower than on its own.
// --size runs one size here and prints its row; --same-process runs them all in this one.
if (args.size !== undefined) {
  const [label, offers, tasks, mode] = JSON.parse(args.size);
  console.log(JSON.stringify(measure(label, offers, tasks, mode)));
  process.exit(0);
}
function measureApart(label, offers, tasks, mode) {
  if (args['same-process']) {
    const row = measure(label, offers, tasks, mode);
    console.log(JSON.stringify(row));
    return row;
  }
  const childArgs = ['--size', JSON.stringify([label, offers, tasks, mode]), '--runs', String(runs)];
  childArgs.push('--warmup', String(warmup));
  if (args.build !== undefined) childArgs.push('--build', args.build);
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...childArgs], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`the ${offers} × ${tasks} ${mode} round failed (exit ${child.status})`);
  const row = JSON.parse(child.stdout.trim().split('\n').at(-1));
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
for (const [offers, tasks] of base) rows.push(measureApart('curve', offers, tasks, 'fine'));
if (!args.quick) {
  rows.push(measureApart('50,000 offers', 50_000, 100_000, 'fine'));
  rows.push(measureApart('50,000 offers, coarse', 50_000, 100_000, 'coarse'));
}
const machine = {
  node: process.version,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  runs,
  warmup,
  processes: args['same-process'] ? 'one for all sizes' : 'one per size',
  loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))),
};
writeFileSync(
  args.out ?? new URL('./results.json', import.meta.url),
  `${JSON.stringify({ machine, rows }, null, 2)}\n`,
);
