// Throughput and footprint of @spark-mesos/mesos-local with 10, 100 and 1,000 agents, driven by the
// real scheduler client (protobuf, autoAcknowledge) through the public API only, with the cluster
// in a child process (cluster-child.mjs) as a real master is another process. Per agent count:
//   1. offers/s: a framework that declines every offer (refuse_seconds 0), and the allocation
//      cycle time against the floor of serialising the same OFFERS event;
//   2. launches/s: a framework that launches 1-cpu `true` tasks on the offers it gets, at most
//      `--max-running` at a time, counting TASK_FINISHED; against the floor of spawning
//      `/bin/sh -c true` the way the agent does, in a fresh process, just before;
//   3. memory per agent: heap, RSS and descriptors of a cluster with N agents minus one with 0.
//
//   node bench.mjs [--agents 10,100,1000] [--window S] [--warmup S] [--interval MS]
//                  [--max-running K] [--launch-refuse-seconds S] [--command 'true'] [--quick]
//
// Not a test: nothing here asserts on speed. It fails loudly (exit 1) when the cluster breaks: a
// task that does not finish, a failed call, a lost subscription, a window without offers or
// launches, a cluster process that dies.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createSchedulerClient, filters, launchOperation, SCHEDULER_EVENT_CODECS } from '@spark-mesos/mesos-client';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string' },
    window: { type: 'string' },
    warmup: { type: 'string' },
    interval: { type: 'string' },
    'max-running': { type: 'string' },
    'launch-refuse-seconds': { type: 'string' },
    command: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = args.quick;
const CONFIG = {
  agentCounts: (args.agents ?? '10,100,1000').split(',').map(Number),
  resources: 'cpus:4;mem:4096;disk:10000;ports:[31000-32000]',
  // Short, so that the cycle rather than the timer bounds the rate; not a multiple of 1000, so
  // that cluster-child.mjs can tell the allocation timer from the heartbeat and retry timers.
  allocationIntervalMs: Number(args.interval ?? 10),
  heartbeatIntervalSeconds: 5,
  warmupSeconds: Number(args.warmup ?? (quick ? 0.5 : 2)),
  windowSeconds: Number(args.window ?? (quick ? 1.5 : 6)),
  // 2 cores: each `true` task is a fork + exec of /bin/sh plus four status updates and three
  // acknowledgements; 8 per core keeps both cores busy without forking thousands of processes
  // (1,000 agents × 4 cpus would allow 4,000 at once).
  maxRunning: Number(args['max-running'] ?? 16),
  // refuse_seconds of the launching framework's DECLINEs (offers it has no room for) and ACCEPTs.
  // 0: every unused agent comes back next cycle, the worst case for the master; a real framework
  // (Spark: spark.mesos.rejectOfferDuration, 120 s) filters them for longer. mesos-local filters
  // the whole agent, the ACCEPTed ones too, so with a longer refusal the framework soon has no
  // agent left to launch on until the filters expire.
  launchRefuseSeconds: Number(args['launch-refuse-seconds'] ?? 0),
  // The tasks' shell command (the issue's benchmark: `true`).
  command: args.command ?? 'true',
  floorSeconds: quick ? 1 : 3,
  idleSeconds: quick ? 0.5 : 1,
  taskMemMb: 32,
};
if (!(CONFIG.allocationIntervalMs > 0) || CONFIG.allocationIntervalMs % 1000 === 0) {
  throw new Error(
    `--interval: milliseconds > 0 and not whole seconds (those are heartbeat and retry timers); got ${args.interval}`,
  );
}
for (const n of CONFIG.agentCounts) {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--agents: whole numbers > 0, comma-separated; got ${n}`);
}

// ---------------------------------------------------------------------------------------------
// The cluster child
async function startChild() {
  const child = fork(new URL('./cluster-child.mjs', import.meta.url), [], {
    // BENCH_CHILD_EXEC_ARGV: extra node flags for the cluster process, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'.
    execArgv: ['--expose-gc', ...(process.env.BENCH_CHILD_EXEC_ARGV?.split(' ').filter(Boolean) ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map();
  let nextId = 0;
  let dead;
  child.on('message', (reply) => {
    const entry = pending.get(reply.id);
    if (!entry) return;
    pending.delete(reply.id);
    if (reply.error) entry.reject(new Error(`cluster child: ${reply.error}`));
    else entry.resolve(reply);
  });
  child.on('exit', (code, signal) => {
    dead = new Error(`the cluster child process exited (code ${code}, signal ${signal})`);
    for (const entry of pending.values()) entry.reject(dead);
    pending.clear();
  });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', () => reject(dead));
  });
  const ask = (op, message = {}) => {
    if (dead) return Promise.reject(dead);
    nextId += 1;
    const id = nextId;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.send({ id, op, ...message });
    });
  };
  const exit = async () => {
    if (dead) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ id: 0, op: 'exit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return { ask, exit, alive: () => !dead };
}

async function withCluster(agents, fn) {
  const child = await startChild();
  try {
    const began = performance.now();
    const { masterUrl } = await child.ask('start', {
      agents,
      resources: CONFIG.resources,
      allocationIntervalMs: CONFIG.allocationIntervalMs,
      heartbeatIntervalSeconds: CONFIG.heartbeatIntervalSeconds,
    });
    return await fn(child, masterUrl, performance.now() - began);
  } finally {
    await child.exit();
  }
}

// ---------------------------------------------------------------------------------------------
// Frameworks
const USER = os.userInfo().username;

/** A scheduler client whose problems (failed calls, lost subscription, errors) are collected. */
function frameworkClient(masterUrl, name) {
  const problems = [];
  const client = createSchedulerClient({
    master: masterUrl,
    frameworkInfo: { user: USER, name, failover_timeout: 0 },
    encoding: 'protobuf',
    autoAcknowledge: true,
    // Any warning is a re-subscription or a failed acknowledgement: the cluster broke.
    logger: { warn: (message) => problems.push(`scheduler client: ${message}`), info: () => {}, debug: () => {} },
  });
  client.on('error', (error) => problems.push(`scheduler client error: ${error.message}`));
  const call = (promise, what) => promise.catch((error) => problems.push(`${what}: ${error.message}`));
  const stop = async () => {
    await client.teardown().catch(() => {});
    await client.close();
  };
  return { client, problems, call, stop };
}

function check(problems, phase) {
  if (problems.length === 0) return;
  const unique = [...new Set(problems)];
  throw new Error(`${phase}: the cluster broke (${problems.length} problems):\n  ${unique.slice(0, 10).join('\n  ')}`);
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** CPU (user + system) of this process, the framework's, as % of one core over `seconds`. */
const cpuPercent = (cpu, seconds) => (cpu.user + cpu.system) / 1e4 / seconds;

/**
 * Median CPU time (user + system of this process) of one `fn()` call, in ms, over about `ms` of
 * calls in batches: CPU rather than wall time, as the cycle times it is compared with, so that
 * waiting for a core on this shared machine counts in neither.
 */
function cpuTimeIt(fn, ms = 300) {
  const samples = [];
  const until = performance.now() + ms;
  let batch = 1;
  while (performance.now() < until || samples.length < 5) {
    const start = process.cpuUsage();
    for (let i = 0; i < batch; i += 1) fn();
    const used = process.cpuUsage(start);
    const elapsed = (used.user + used.system) / 1000;
    if (elapsed < 2) batch *= 2;
    else samples.push(elapsed / batch);
  }
  return median(samples);
}

/** (1) A framework that declines every offer with refuse_seconds 0, one DECLINE per OFFERS event. */
async function offersPhase(child, masterUrl, agents) {
  const { client, problems, call, stop } = frameworkClient(masterUrl, 'bench-offers');
  let offers = 0;
  let offerEvents = 0;
  let largest = [];
  client.on('OFFERS', (event) => {
    const list = event.offers?.offers ?? [];
    offers += list.length;
    offerEvents += 1;
    if (list.length > largest.length) largest = list;
    call(
      client.decline({ offer_ids: list.map((offer) => offer.id), filters: filters({ refuseSeconds: 0 }) }),
      'DECLINE',
    );
  });
  try {
    await client.start();
    await sleep(CONFIG.warmupSeconds * 1000);
    offers = 0;
    offerEvents = 0;
    await child.ask('stats-reset');
    const start = performance.now();
    const cpu = process.cpuUsage();
    await sleep(CONFIG.windowSeconds * 1000);
    const counted = { offers, offerEvents, seconds: (performance.now() - start) / 1000, cpu: process.cpuUsage(cpu) };
    const stats = await child.ask('stats');
    check(problems, `offers, ${agents} agents`);
    if (counted.offers === 0) throw new Error(`offers, ${agents} agents: no offer in ${counted.seconds} s`);
    return {
      offersPerSecond: counted.offers / counted.seconds,
      offerEventsPerSecond: counted.offerEvents / counted.seconds,
      offersPerEvent: counted.offers / Math.max(1, counted.offerEvents),
      cycles: stats.cycles,
      masterCpuPercent: (100 * stats.cpuMs) / stats.elapsedMs,
      masterEventLoopUtilization: stats.eventLoopUtilization,
      frameworkCpuPercent: cpuPercent(counted.cpu, counted.seconds),
      largestEvent: { type: 'OFFERS', offers: { offers: largest } },
    };
  } finally {
    await stop();
  }
}

const NOT_FINISHED = new Set([
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
]);

const scalar = (offer, name) =>
  (offer.resources ?? []).filter((r) => r.name === name).reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);
const take = (offer, name, value) => {
  const resource = (offer.resources ?? []).find((r) => r.name === name);
  return { ...resource, scalar: { value } };
};

/**
 * (2) A framework that launches 1-cpu `true` tasks on every offer it gets while fewer than
 * `maxRunning` are unfinished, declining the rest (refuse_seconds 0); counts TASK_FINISHED.
 */
async function launchesPhase(child, masterUrl, agents) {
  const { client, problems, call, stop } = frameworkClient(masterUrl, 'bench-launches');
  const launched = new Map(); // task id → { at, startingAt, runningAt } (ms), until TASK_FINISHED
  let nextTask = 0;
  let finished = 0;
  let finishedTotal = 0;
  let launching = true;
  let latencies = [];
  let stages = { starting: [], running: [], finished: [] };
  client.on('OFFERS', (event) => {
    const declined = [];
    for (const offer of event.offers?.offers ?? []) {
      const room = launching ? CONFIG.maxRunning - launched.size : 0;
      const count = Math.min(
        room,
        Math.floor(scalar(offer, 'cpus')),
        Math.floor(scalar(offer, 'mem') / CONFIG.taskMemMb),
      );
      if (count <= 0) {
        declined.push(offer.id);
        continue;
      }
      const tasks = [];
      for (let i = 0; i < count; i += 1) {
        const taskId = `bench-${nextTask++}`;
        launched.set(taskId, { at: performance.now(), startingAt: undefined, runningAt: undefined });
        tasks.push({
          name: 'bench true',
          task_id: { value: taskId },
          agent_id: offer.agent_id,
          resources: [take(offer, 'cpus', 1), take(offer, 'mem', CONFIG.taskMemMb)],
          command: { shell: true, value: CONFIG.command },
        });
      }
      call(
        client.accept({
          offer_ids: [offer.id],
          operations: [launchOperation(tasks)],
          filters: filters({ refuseSeconds: CONFIG.launchRefuseSeconds }),
        }),
        'ACCEPT',
      );
    }
    if (declined.length > 0) {
      call(
        client.decline({ offer_ids: declined, filters: filters({ refuseSeconds: CONFIG.launchRefuseSeconds }) }),
        'DECLINE',
      );
    }
  });
  client.on('UPDATE', (event) => {
    const status = event.update?.status;
    if (!status) return;
    const taskId = status.task_id.value;
    const task = launched.get(taskId);
    if (status.state === 'TASK_STARTING' && task && task.startingAt === undefined) task.startingAt = performance.now();
    else if (status.state === 'TASK_RUNNING' && task && task.runningAt === undefined)
      task.runningAt = performance.now();
    else if (status.state === 'TASK_FINISHED') {
      if (task === undefined) return; // a re-sent update
      const now = performance.now();
      launched.delete(taskId);
      finished += 1;
      finishedTotal += 1;
      latencies.push(now - task.at);
      if (task.startingAt !== undefined && task.runningAt !== undefined) {
        stages.starting.push(task.startingAt - task.at);
        stages.running.push(task.runningAt - task.startingAt);
        stages.finished.push(now - task.runningAt);
      }
    } else if (NOT_FINISHED.has(status.state)) {
      problems.push(`task ${taskId}: ${status.state} ${status.reason ?? ''} ${status.message ?? ''}`.trim());
    }
  });
  try {
    const before = await child.ask('memory');
    await client.start();
    await sleep(CONFIG.warmupSeconds * 1000);
    finished = 0;
    latencies = [];
    stages = { starting: [], running: [], finished: [] };
    await child.ask('stats-reset');
    const start = performance.now();
    const cpu = process.cpuUsage();
    await sleep(CONFIG.windowSeconds * 1000);
    const counted = {
      finished,
      seconds: (performance.now() - start) / 1000,
      latencies,
      stages,
      cpu: process.cpuUsage(cpu),
    };
    const stats = await child.ask('stats');
    check(problems, `launches, ${agents} agents`);
    // Drain: no new launches, the unfinished ones finish (so none is killed by the teardown).
    launching = false;
    const drainUntil = performance.now() + 10_000;
    while (launched.size > 0 && performance.now() < drainUntil) await sleep(20);
    check(problems, `launches, ${agents} agents`);
    if (launched.size > 0) throw new Error(`launches, ${agents} agents: ${launched.size} tasks did not finish in 10 s`);
    if (counted.finished === 0) throw new Error(`launches, ${agents} agents: no task finished in ${counted.seconds} s`);
    await stop();
    const after = await child.ask('memory');
    const sorted = counted.latencies.sort((a, b) => a - b);
    return {
      launchesPerSecond: counted.finished / counted.seconds,
      finishedInWindow: counted.finished,
      latencyP50Ms: sorted[sorted.length >> 1],
      latencyP95Ms: sorted[Math.floor(sorted.length * 0.95)],
      // Where a task's time goes (p50 of each): ACCEPT → STARTING received, STARTING → RUNNING
      // (one acknowledgement round trip), RUNNING → FINISHED (another, and the process' exit).
      stagesP50Ms: {
        acceptToStarting: median(counted.stages.starting),
        startingToRunning: median(counted.stages.running),
        runningToFinished: median(counted.stages.finished),
      },
      cycles: stats.cycles,
      masterCpuPercent: (100 * stats.cpuMs) / stats.elapsedMs,
      frameworkCpuPercent: cpuPercent(counted.cpu, counted.seconds),
      // What the cluster keeps per finished task (master completed tasks, agent completed
      // executors, …), measured after the framework was torn down.
      heapBytesPerFinishedTask: (after.heapUsed - before.heapUsed) / finishedTotal,
      finishedTotal,
    };
  } finally {
    await stop();
  }
}

/** The floor of a launch: bare `/bin/sh -c true` spawns, as many at a time, in a fresh process. */
async function spawnFloor() {
  const child = await startChild();
  try {
    const { exited, failed, ms } = await child.ask('spawn-floor', {
      concurrency: CONFIG.maxRunning,
      seconds: CONFIG.floorSeconds,
    });
    if (failed > 0) throw new Error(`spawn floor: ${failed} of ${exited + failed} '/bin/sh -c true' failed`);
    return { spawnsPerSecond: (exited / ms) * 1000 };
  } finally {
    await child.exit();
  }
}

/** Master CPU with N agents and no framework, over `idleSeconds`. */
async function idleCpu(child) {
  await child.ask('stats-reset');
  await sleep(CONFIG.idleSeconds * 1000);
  const stats = await child.ask('stats');
  return { masterCpuPercent: (100 * stats.cpuMs) / stats.elapsedMs, cycles: stats.cycles };
}

/**
 * (3) Memory of an idle cluster (default allocation interval) with N agents minus one with 0
 * agents, both in the same fresh process after a warm-up cluster, so that code loaded and
 * compiled on first use is in both and the two differ by the agents only.
 */
async function clusterMemory(agents) {
  const child = await startChild();
  const idleCluster = async (count) => {
    const began = performance.now();
    await child.ask('start', { agents: count, resources: CONFIG.resources });
    const startMs = performance.now() - began;
    await sleep(200);
    const memory = await child.ask('memory');
    await child.ask('stop');
    return { startMs, ...memory };
  };
  try {
    await idleCluster(1);
    const empty = await idleCluster(0);
    const full = await idleCluster(agents);
    return {
      agents,
      startMs: full.startMs,
      heapBytes: (full.heapUsed - empty.heapUsed) / agents,
      heapExternalBytes: (full.heapUsed + full.external - empty.heapUsed - empty.external) / agents,
      rssBytes: (full.rss - empty.rss) / agents,
      fds: (full.fds - empty.fds) / agents,
      raw: { empty, full },
    };
  } finally {
    await child.exit();
  }
}

// ---------------------------------------------------------------------------------------------
// Run
const began = performance.now();
const loadAverageAtStart = os.loadavg();
console.log(
  `mesos-local throughput benchmark: ${CONFIG.agentCounts.join(', ')} agents of '${CONFIG.resources}', ` +
    `allocation every ${CONFIG.allocationIntervalMs} ms, ${CONFIG.warmupSeconds} s warm-up + ${CONFIG.windowSeconds} s ` +
    `window per phase, at most ${CONFIG.maxRunning} unfinished tasks, launch refuse_seconds ${CONFIG.launchRefuseSeconds}`,
);
const results = [];
try {
  for (const agents of CONFIG.agentCounts) {
    const floor = await spawnFloor();
    const result = await withCluster(agents, async (child, masterUrl, startMs) => {
      const idle = await idleCpu(child);
      const offers = await offersPhase(child, masterUrl, agents);
      const launches = await launchesPhase(child, masterUrl, agents);
      return { agents, startMs, idle, offers, launches };
    });
    result.floor = floor;
    // The floor of a cycle: serialising the largest OFFERS event received, in this process, once
    // the cluster is gone (so that its allocation loop does not compete for the cores).
    const { largestEvent } = result.offers;
    delete result.offers.largestEvent;
    result.offers.serialise = {
      offers: largestEvent.offers.offers.length,
      ms: cpuTimeIt(() => SCHEDULER_EVENT_CODECS.protobuf.encode(largestEvent)),
    };
    results.push(result);
    console.error(
      `  ${agents} agents: ${Math.round(result.offers.offersPerSecond)} offers/s, ` +
        `${Math.round(result.launches.launchesPerSecond)} launches/s (floor ${Math.round(floor.spawnsPerSecond)} spawns/s)`,
    );
  }
} catch (error) {
  console.error(`\nFAILED: ${error.message}`);
  process.exit(1);
}
const perAgent = [];
for (const agents of CONFIG.agentCounts) perAgent.push(await clusterMemory(agents));

// ---------------------------------------------------------------------------------------------
// Report
const fmt = (n, digits = 0) =>
  n === undefined || Number.isNaN(n)
    ? 'n/a'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const table = (header, rows) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (row) =>
    `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`);
  for (const row of rows) console.log(line(row));
};
console.log('');
table(
  [
    'agents',
    'offers/s',
    'offers/event',
    'cycle p50 wall/CPU (offers)',
    'cycle p50 CPU (empty)',
    'serialise event',
    'cycle CPU ÷ serialise',
    'master CPU',
    'framework CPU',
  ],
  results.map(({ agents, offers }) => {
    const { productive, empty } = offers.cycles;
    return [
      String(agents),
      fmt(offers.offersPerSecond),
      fmt(offers.offersPerEvent, 1),
      productive.wall.count ? `${fmt(productive.wall.p50Ms, 2)} / ${fmt(productive.cpu.p50Ms, 2)} ms` : 'n/a',
      empty.cpu.count ? `${fmt(empty.cpu.p50Ms, 2)} ms` : 'n/a',
      `${fmt(offers.serialise.ms, 3)} ms`,
      productive.cpu.count ? `${fmt(productive.cpu.p50Ms / offers.serialise.ms, 1)}×` : 'n/a',
      `${fmt(offers.masterCpuPercent)} %`,
      `${fmt(offers.frameworkCpuPercent)} %`,
    ];
  }),
);
console.log('');
table(
  [
    'agents',
    'launches/s',
    'floor spawns/s',
    'launches ÷ floor',
    'p50 launch→FINISHED',
    'p50 →STARTING/→RUNNING/→FINISHED',
    'master CPU',
    'framework CPU',
    'heap/task',
  ],
  results.map(({ agents, launches, floor }) => [
    String(agents),
    fmt(launches.launchesPerSecond),
    fmt(floor.spawnsPerSecond),
    `${fmt(launches.launchesPerSecond / floor.spawnsPerSecond, 2)}×`,
    `${fmt(launches.latencyP50Ms, 1)} ms`,
    `${fmt(launches.stagesP50Ms.acceptToStarting)} / ${fmt(launches.stagesP50Ms.startingToRunning)} / ${fmt(launches.stagesP50Ms.runningToFinished)} ms`,
    `${fmt(launches.masterCpuPercent)} %`,
    `${fmt(launches.frameworkCpuPercent)} %`,
    `${fmt(launches.heapBytesPerFinishedTask / 1024, 1)} KiB`,
  ]),
);
console.log('');
table(
  ['agents', 'start', 'heap/agent', 'heap+ext/agent', 'RSS/agent', 'fds/agent', 'idle master CPU'],
  perAgent.map((m) => [
    String(m.agents),
    `${fmt(m.startMs)} ms`,
    `${fmt(m.heapBytes / 1024, 1)} KiB`,
    `${fmt(m.heapExternalBytes / 1024, 1)} KiB`,
    `${fmt(m.rssBytes / 1024, 1)} KiB`,
    fmt(m.fds, 2),
    `${fmt(results.find((r) => r.agents === m.agents)?.idle.masterCpuPercent)} %`,
  ]),
);

const elapsed = (performance.now() - began) / 1000;
const output = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  loadAverage: { atStart: loadAverageAtStart, atEnd: os.loadavg() },
  config: CONFIG,
  units: {
    offersPerSecond: 'offers received by the declining framework / window seconds',
    cycles:
      'wall and CPU time of the allocation timer callback in the cluster process; productive = it wrote OFFERS, empty = it did not',
    serialise: 'median CPU time of SCHEDULER_EVENT_CODECS.protobuf.encode of the largest OFFERS event received',
    launchesPerSecond: 'TASK_FINISHED received / window seconds',
    spawnsPerSecond: "bare spawn('/bin/sh', ['-c', 'true']) exits / s, maxRunning at a time, fresh process",
    masterCpuPercent: 'user + system CPU of the cluster process (master, agents, not the tasks) / wall time',
    perAgent: '(cluster with N agents − cluster with 0 agents) ÷ N, after forced GC, idle',
  },
  results,
  memory: perAgent,
  elapsedSeconds: Number(elapsed.toFixed(1)),
};
const resultsPath = new URL('./results.json', import.meta.url);
writeFileSync(resultsPath, `${JSON.stringify(output, null, 2)}\n`);
console.log(`\n${elapsed.toFixed(1)} s; results in ${resultsPath.pathname}`);
process.exit(0);
