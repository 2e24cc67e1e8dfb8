// A/B timing of two builds of @spark-mesos/offer-matcher in one process (or, with --separate, in
// alternating processes of their own, so neither build's heap or compiled code affects the
// other's timing): the same round, planned
// by build A and build B alternately (ABBA order, so neither always runs first after a
// collection), after checking that both make the same decisions (launches, declines, state and
// unplaced tasks compared as JSON; a build before 0.x's columnar launches, whose launches carry
// `tasks: [{ taskId, resources }]`, is compared through its `taskIds` / `taskResources` columns).
// Reports each build's median and range.
//
//   node --expose-gc ab.mjs <dist-a/index.js> <dist-b/index.js> [--offers 10000] [--tasks 100000]
//        [--mode fine|coarse] [--rounds 21]
//
// Keep a copy of the build before a change (e.g. `cp -r packages/offer-matcher/dist
// packages/offer-matcher/.tmp/base`, where @spark-mesos/* still resolve) and compare it with the
// new dist. Wall time and CPU time (user + system of the whole process) per round; run with
// --single-threaded-gc so that garbage collection is counted on the one core that plans, and CPU
// time is less disturbed by other work on the machine. Not a test: nothing here asserts on speed.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { makeRound } from './workload.mjs';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    offers: { type: 'string', default: '10000' },
    tasks: { type: 'string', default: '100000' },
    mode: { type: 'string', default: 'fine' },
    rounds: { type: 'string', default: '21' },
    // Time each build in processes of its own (A, B, B, A, …), --pairs of them, --rounds each.
    separate: { type: 'boolean', default: false },
    pairs: { type: 'string', default: '4' },
    child: { type: 'string' },
  },
});
// A child of --separate: times one build alone and prints its round times.
if (args.child !== undefined) {
  const { planOffers } = await import(pathToFileURL(resolve(args.child)).href);
  const input = makeRound(Number(args.offers), Number(args.tasks), args.mode);
  for (let i = 0; i < 3; i++) planOffers(input);
  const wall = [];
  const cpu = [];
  for (let i = 0; i < Number(args.rounds); i++) {
    globalThis.gc?.();
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    planOffers(input);
    const used = process.cpuUsage(cpuStart);
    wall.push(performance.now() - start);
    cpu.push((used.user + used.system) / 1000);
  }
  console.log(JSON.stringify({ wall, cpu }));
  process.exit(0);
}
if (positionals.length !== 2) throw new Error('usage: ab.mjs <build-a/index.js> <build-b/index.js> [options]');
const builds = await Promise.all(positionals.map((path) => import(pathToFileURL(resolve(path)).href)));
const input = makeRound(Number(args.offers), Number(args.tasks), args.mode);
const plan = (build) => build.planOffers(input);

// The decisions in one shape, whichever build made them: the fine-grained tasks as the columns
// `taskIds` and `taskResources` (converted from an older build's `tasks` records), every launch's
// fields in one order.
function decisions(result) {
  const launches = result.launches.map((launch) => ({
    offerId: launch.offerId,
    offerIds: launch.offerIds,
    agentId: launch.agentId,
    hostname: launch.hostname,
    executors: launch.executors,
    taskIds: launch.taskIds ?? launch.tasks.map((task) => task.taskId),
    taskResources: launch.taskResources ?? launch.tasks.map((task) => task.resources),
    reasons: launch.reasons,
    // Anything else a build adds is compared too.
    ...Object.fromEntries(
      Object.entries(launch).filter(
        ([key]) =>
          ![
            'offerId',
            'offerIds',
            'agentId',
            'hostname',
            'executors',
            'tasks',
            'taskIds',
            'taskResources',
            'reasons',
          ].includes(key),
      ),
    ),
  }));
  return JSON.stringify({ ...result, launches });
}

// Compared once, then dropped: two JSON copies of a large round would otherwise stay on the heap
// and slow every collection during the timed rounds.
const sameDecisions = decisions(plan(builds[0])) === decisions(plan(builds[1]));
if (!sameDecisions) {
  console.error('the two builds decide differently on this round');
  process.exitCode = 1;
}

const times = [[], []];
const cpuTimes = [[], []];
const rounds = Number(args.rounds);
if (args.separate) {
  const pairs = Number(args.pairs);
  for (let pair = 0; pair < pairs; pair++) {
    for (const which of pair % 2 === 0 ? [0, 1] : [1, 0]) {
      const child = spawnSync(
        process.execPath,
        [
          ...process.execArgv,
          fileURLToPath(import.meta.url),
          '--child',
          positionals[which],
          '--offers',
          args.offers,
          '--tasks',
          args.tasks,
          '--mode',
          args.mode,
          '--rounds',
          args.rounds,
        ],
        { encoding: 'utf8' },
      );
      if (child.status !== 0) throw new Error(`child for ${positionals[which]} failed: ${child.stderr}`);
      const { wall, cpu } = JSON.parse(child.stdout);
      times[which].push(...wall);
      cpuTimes[which].push(...cpu);
    }
  }
}
for (let round = 0; round < (args.separate ? 0 : rounds); round++) {
  const order = round % 2 === 0 ? [0, 1] : [1, 0];
  for (const which of order) {
    globalThis.gc?.();
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    plan(builds[which]);
    const cpu = process.cpuUsage(cpuStart);
    times[which].push(performance.now() - start);
    cpuTimes[which].push((cpu.user + cpu.system) / 1000);
  }
}
const summary = (list) => {
  const sorted = list.slice().sort((a, b) => a - b);
  const at = (i) => Number(sorted[i].toFixed(1));
  return { median: at(Math.floor(sorted.length / 2)), min: at(0), max: at(sorted.length - 1) };
};
console.log(
  JSON.stringify({
    offers: Number(args.offers),
    tasks: Number(args.tasks),
    mode: args.mode,
    rounds: args.separate ? `${args.pairs} processes × ${rounds} per build` : rounds,
    sameDecisions,
    a: { build: positionals[0], wallMs: summary(times[0]), cpuMs: summary(cpuTimes[0]) },
    b: { build: positionals[1], wallMs: summary(times[1]), cpuMs: summary(cpuTimes[1]) },
  }),
);
