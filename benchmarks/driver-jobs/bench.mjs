// Driver engine jobs end to end (issue 8's benchmark):
//   1. latency of a 100-task no-op job on warm executors;
//   2. tasks/s of a large no-op job (100,000 tasks; target ≥ 20,000 tasks/s in coarse mode);
//   3. Pi with 10^8 samples, beside Skale (npm `skale`) on the same job with as many workers;
//   4. driver memory per pending task (target ≤ 2 KB).
// Masters: local[2] always; local-cluster[2,1,1024] coarse and fine when this build's
// SparkContext.create accepts them (reported as not available otherwise). Baselines run in the
// same rounds, alternating with the cases: the executor's task runner driven directly (what
// local[N] runs on, without the driver engine), and the engine alone on a backend that answers
// at once (what the engine costs without any executor).
//
//   node bench.mjs [--quick] [--rounds R] [--latency-jobs K] [--tasks N] [--fine-tasks N]
//                  [--samples N] [--pending N] [--masters local,coarse,coarse4,coarse64,fine] [--no-skale]
//
// Not a test: nothing here asserts on timings. Writes results.json beside this file.
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as core from '@spark-mesos/core';
import { createTaskRunner } from '@spark-mesos/executor';
import * as sparkMesos from 'spark-mesos';

const { SparkConf, SparkContext } = sparkMesos;
// The Mesos backends (local-cluster[…], mesos://…) come as `createBackendForMaster`, given to
// SparkContext.create as `createBackend`; a build without them rejects local-cluster[…] with
// SM_ERR_UNSUPPORTED_MASTER and those rows say "not available in this build".
const createBackendForMaster = sparkMesos.createBackendForMaster ?? core.createBackendForMaster;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const fullGc = async () => {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await sleep(10);
  }
};

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    'latency-jobs': { type: 'string' },
    tasks: { type: 'string' },
    'fine-tasks': { type: 'string' },
    samples: { type: 'string' },
    pending: { type: 'string' },
    masters: { type: 'string' },
    'no-skale': { type: 'boolean', default: false },
    'job-timeout': { type: 'string' },
  },
});
const quick = args.quick;
const CONFIG = {
  rounds: Number(args.rounds ?? (quick ? 1 : 3)),
  // 100-task jobs timed per round and master (after one untimed warm-up job).
  latencyJobs: Number(args['latency-jobs'] ?? (quick ? 5 : 15)),
  latencyTasks: 100,
  // Tasks of the throughput job (issue 8: 100,000).
  tasks: Number(args.tasks ?? (quick ? 10_000 : 100_000)),
  // Fine-grained mode launches one Mesos task per task: fewer tasks, same tasks/s arithmetic.
  fineTasks: Number(args['fine-tasks'] ?? (quick ? 200 : 1_000)),
  samples: Number(args.samples ?? (quick ? 10_000_000 : 100_000_000)),
  piPartitions: 2,
  // Tasks pending on a backend with no free slots, for the memory case (issue 8: 1,000,000).
  pending: Number(args.pending ?? (quick ? 100_000 : 1_000_000)),
  masters: (args.masters ?? 'local,coarse,coarse4,fine').split(','),
  skale: !args['no-skale'],
  // A job without a result after this long fails its master's rows instead of hanging the run.
  jobTimeoutMs: Number(args['job-timeout'] ?? (quick ? 60 : 300)) * 1000,
};

const median = (values) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

// ---------------------------------------------------------------------------------------------
// CPU time of a process tree, from /proc: utime + stime + cutime + cstime of every live process
// under the root (threads included, reaped children through cutime/cstime). It counts the worker
// threads of local[N] and the executor processes of a local cluster, which process.cpuUsage()
// of the bench alone would not. Elsewhere than Linux it falls back to this process.
const CLOCK_TICK_MS = 10; // USER_HZ is 100 on Linux
const HAVE_PROC = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();
function readStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
    return {
      ppid: Number(fields[1]),
      own: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}
/** `{ total, root }`: CPU ms of the whole tree, and of the root process's own threads. */
function treeCpuMs(root, excluded = new Set()) {
  if (!HAVE_PROC) {
    const usage = process.cpuUsage();
    return { total: (usage.user + usage.system) / 1000, root: (usage.user + usage.system) / 1000 };
  }
  const children = new Map();
  const stats = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat === undefined) continue;
    const pid = Number(entry);
    stats.set(pid, stat);
    if (!children.has(stat.ppid)) children.set(stat.ppid, []);
    children.get(stat.ppid).push(pid);
  }
  let ticks = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop();
    if (excluded.has(pid)) continue;
    const stat = stats.get(pid);
    ticks += (stat?.own ?? 0) + (stat?.reaped ?? 0);
    stack.push(...(children.get(pid) ?? []));
  }
  return { total: ticks * CLOCK_TICK_MS, root: (stats.get(root)?.own ?? 0) * CLOCK_TICK_MS };
}

/**
 * Wall and CPU time of `fn`: `cpuMs` of the whole tree (the bench's own, Skale's child excluded),
 * `rootCpuMs` of the root process alone (for a local cluster: the driver with the in-process
 * mesos-local, without the executor processes).
 */
async function timed(fn, root = process.pid) {
  const excluded = new Set(skale?.pid !== undefined && root === process.pid ? [skale.pid] : []);
  const before = treeCpuMs(root, excluded);
  const start = performance.now();
  const value = await fn();
  const ms = performance.now() - start;
  const after = treeCpuMs(root, excluded);
  return { ms, cpuMs: after.total - before.total, rootCpuMs: after.root - before.root, value };
}

// ---------------------------------------------------------------------------------------------
// The jobs, the same on every master.
const noop = () => null;
const piFilter = () => {
  const x = Math.random() * 2 - 1;
  const y = Math.random() * 2 - 1;
  return x * x + y * y <= 1;
};
/** Rejects when `promise` has not settled within CONFIG.jobTimeoutMs. */
function withDeadline(promise, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no result after ${CONFIG.jobTimeoutMs / 1000} s (--job-timeout)`)),
      CONFIG.jobTimeoutMs,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
/** A job of `tasks` no-op tasks: one partition per task, nothing computed. */
const noopJob = (sc, tasks) => withDeadline(sc.runJob(sc.range(0, tasks, 1, tasks), noop), `a ${tasks}-task no-op job`);
const piJob = (sc, samples, partitions) =>
  withDeadline(sc.range(0, samples, 1, partitions).filter(piFilter).count(), 'the Pi job');

const MASTERS = {
  local: { name: 'local[2]', conf: (conf) => conf.setMaster('local[2]') },
  coarse: {
    name: 'local-cluster[2,1,1024] coarse',
    conf: (conf) => conf.setMaster('local-cluster[2,1,1024]').set('spark.mesos.coarse', 'true'),
  },
  // Coarse with 4 tasks sent per slot, so an executor starts its next task without a round trip.
  coarse4: {
    name: 'local-cluster[2,1,1024] coarse, pipelineDepth 4',
    conf: (conf) =>
      conf
        .setMaster('local-cluster[2,1,1024]')
        .set('spark.mesos.coarse', 'true')
        .set('spark.mesos.coarse.pipelineDepth', '4'),
  },
  // Coarse with 64 tasks per slot (the default is 16): fewer, larger launch and outcome frames.
  coarse64: {
    name: 'local-cluster[2,1,1024] coarse, pipelineDepth 64',
    conf: (conf) =>
      conf
        .setMaster('local-cluster[2,1,1024]')
        .set('spark.mesos.coarse', 'true')
        .set('spark.mesos.coarse.pipelineDepth', '64'),
  },
  fine: {
    name: 'local-cluster[2,1,1024] fine',
    conf: (conf) => conf.setMaster('local-cluster[2,1,1024]').set('spark.mesos.coarse', 'false'),
    fine: true,
  },
  // The engine alone: a backend with one executor of 2 slots that ends every task at once.
  engine: {
    name: 'engine alone (instant backend, 2 slots)',
    conf: (conf) => conf.setMaster('local[2]'),
    instant: true,
    // The TaskSpecs it was given, kept from the first round for the runner baseline.
    capture: [],
  },
};

const FINISHED_NULL = v8.serialize(null);
function instantBackend(capture) {
  let events;
  return {
    name: 'instant',
    excludeOnFailureByDefault: false,
    async start(e) {
      events = e;
      events.executorAdded({ executorId: 'instant', host: 'localhost', slots: 2 });
    },
    defaultParallelism: () => 2,
    launch(executorId, tasks) {
      // Ends the tasks in a later macrotask, as a real backend's messages arrive.
      if (capture !== undefined) capture.push(...tasks);
      setImmediate(() => {
        for (const task of tasks) {
          events.taskEnded(executorId, task.taskId, {
            state: 'finished',
            result: FINISHED_NULL,
            durationMs: 0,
            outputTail: '',
          });
        }
      });
    },
    kill() {},
    async stop() {},
  };
}

async function createContext(key) {
  const master = MASTERS[key];
  const conf = master.conf(new SparkConf().setAppName(`bench-driver-jobs ${key}`));
  // Only the first context records (the replay needs one job of each size).
  const capture = master.capture?.length === 0 ? master.capture : undefined;
  if (master.instant) return SparkContext.create(conf, { backend: instantBackend(capture) });
  return SparkContext.create(conf, createBackendForMaster ? { createBackend: createBackendForMaster } : {});
}

// ---------------------------------------------------------------------------------------------
// Baseline: the executor's task runner driven directly with the same no-op task, 2 slots. This
// is what local[2] runs tasks on; the difference is the driver engine (DAG and task scheduler,
// task composition, result handling) and the backend.
const runner = createTaskRunner({ slots: 2 });
const RUNNER_CAPTURED = v8.serialize(undefined);
const RUNNER_INPUT = v8.serialize(null);
let runnerTaskId = 0;
/**
 * Runs `tasks` tasks through the runner at once (it queues what its slots cannot take): the
 * bare no-op `() => null`, or, with `specs`, the very TaskSpecs the engine produced for the same
 * job (its composed task source, captured values and serialized inputs), recorded by the
 * instant backend.
 */
async function runnerJob(tasks, specs, inFlight = Number.POSITIVE_INFINITY) {
  const specFor = (partition) => {
    runnerTaskId += 1;
    const spec = specs?.[partition] ?? {
      stageId: 0,
      partition,
      attempt: 0,
      function: { kind: 'source', source: '() => null' },
      captured: RUNNER_CAPTURED,
      input: RUNNER_INPUT,
    };
    return { ...spec, taskId: `r${runnerTaskId}` };
  };
  let next = 0;
  let failed;
  // Each lane runs its next task when its previous one ended, as a backend with that many slots
  // does; with an infinite window every task is handed to the runner at once.
  const lane = async () => {
    while (next < tasks) {
      const outcome = await runner.run(specFor(next++));
      if (outcome.state !== 'finished') failed ??= outcome;
    }
  };
  const lanes = [];
  for (let i = 0; i < Math.min(inFlight, tasks); i += 1) lanes.push(lane());
  await Promise.all(lanes);
  if (failed)
    throw new Error(`task runner baseline: a task ${failed.state}: ${JSON.stringify(failed.error ?? failed.reason)}`);
}

/** Reference: the same sampling loop in this thread, no engine (one core). */
function plainLoop(samples) {
  let inside = 0;
  for (let i = 0; i < samples; i += 1) if (piFilter()) inside += 1;
  return inside;
}

// ---------------------------------------------------------------------------------------------
// Skale (npm `skale`) in its local mode, in a child process with SKALE_WORKERS=2.
let skale;
const skaleStatus = { available: false, reason: 'not started' };
const skaleTmp = mkdtempSync(path.join(os.tmpdir(), 'bench-driver-jobs-skale-'));
let skaleNextId = 0;
function skaleAsk(message) {
  skaleNextId += 1;
  const id = skaleNextId;
  return new Promise((resolve, reject) => {
    const onMessage = (reply) => {
      if (reply.id !== id) return;
      skale.off('message', onMessage);
      skale.off('exit', onExit);
      if (reply.error) reject(new Error(reply.error));
      else resolve(reply);
    };
    const onExit = (code) => reject(new Error(`skale child exited (${code})`));
    skale.on('message', onMessage);
    skale.once('exit', onExit);
    skale.send({ id, ...message });
  });
}
async function startSkale() {
  try {
    skale = fork(new URL('./skale-child.cjs', import.meta.url), [], {
      env: { ...process.env, SKALE_WORKERS: String(CONFIG.piPartitions), SKALE_TMP: skaleTmp },
      // aws-sdk v2 (a dependency of skale) prints an end-of-support notice in every process.
      execArgv: ['--no-deprecation'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    skale.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    await new Promise((resolve, reject) => {
      skale.once('message', resolve);
      skale.once('exit', (code) => reject(new Error(`skale child exited (${code}) before it was ready: ${stderr}`)));
    });
    // One small job: it forks the workers and checks the job runs here at all.
    const probe = await skaleAsk({ op: 'pi', samples: 100_000, partitions: CONFIG.piPartitions });
    if (!(probe.inside > 70_000 && probe.inside < 87_000))
      throw new Error(`skale probe counted ${probe.inside} of 100,000`);
    skaleStatus.available = true;
    skaleStatus.reason = undefined;
  } catch (error) {
    skaleStatus.available = false;
    skaleStatus.reason = String(error.message ?? error).slice(0, 2000);
    skale?.kill();
    skale = undefined;
  }
}
/** The pids under `root` (Skale's workers are children of its child process). */
function descendants(root) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat === undefined) continue;
    if (!children.has(stat.ppid)) children.set(stat.ppid, []);
    children.get(stat.ppid).push(Number(entry));
  }
  const found = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop();
    found.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return found;
}
// Interrupted (Ctrl-C, a timeout): leave no Skale processes or temporary files behind.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    if (skale?.pid !== undefined) {
      for (const pid of HAVE_PROC ? descendants(skale.pid) : []) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      skale.kill('SIGKILL');
    }
    rmSync(skaleTmp, { recursive: true, force: true });
    process.exit(130);
  });
}
async function stopSkale() {
  if (skale === undefined) return;
  await Promise.race([skaleAsk({ op: 'end' }).catch(() => {}), sleep(5000)]);
  skale.kill();
  skale = undefined;
}

// ---------------------------------------------------------------------------------------------
// Rounds. Each round visits every master in a rotated order: a fresh context, one warm-up job,
// then the latency jobs, the throughput job and Pi; the baselines run in the same rotation.
const runs = {}; // case name → [{ ms, cpuMs, ... }]
const record = (name, entry) => {
  if (!runs[name]) runs[name] = [];
  runs[name].push(entry);
};
const availability = {};
for (const key of CONFIG.masters) availability[MASTERS[key].name] = { available: undefined };

async function visitMaster(key, round) {
  const master = MASTERS[key];
  const status = availability[master.name];
  if (status.available === false) return;
  let sc;
  try {
    sc = await createContext(key);
    status.available = true;
  } catch (error) {
    status.available = false;
    status.reason = `${error.code ?? ''} ${error.message}`.trim();
    console.error(`  ${master.name}: not available in this build (${status.reason.split('\n')[0]})`);
    return;
  }
  try {
    // Warm-up: executors registered, worker threads started, functions compiled.
    await noopJob(sc, CONFIG.latencyTasks);
    await noopJob(sc, CONFIG.latencyTasks);
    const latency = [];
    const cpu = [];
    for (let job = 0; job < CONFIG.latencyJobs; job += 1) {
      const t = await timed(() => noopJob(sc, CONFIG.latencyTasks));
      latency.push(t.ms);
      cpu.push(t.cpuMs);
    }
    record(`latency ${master.name}`, {
      round,
      jobsMs: latency,
      cpuMsPerJob: cpu.reduce((a, b) => a + b, 0) / cpu.length,
    });
    const tasks = master.fine ? CONFIG.fineTasks : CONFIG.tasks;
    await fullGc();
    const t = await timed(() => noopJob(sc, tasks));
    if (t.value.length !== tasks) throw new Error(`${master.name}: ${t.value.length} results of ${tasks}`);
    record(`throughput ${master.name}`, { round, tasks, ms: t.ms, cpuMs: t.cpuMs, rootCpuMs: t.rootCpuMs });
    if (!master.instant && !master.fine) {
      await fullGc();
      const pi = await timed(() => piJob(sc, CONFIG.samples, CONFIG.piPartitions));
      record(`pi ${master.name}`, { round, ms: pi.ms, cpuMs: pi.cpuMs, estimate: (4 * pi.value) / CONFIG.samples });
    }
    console.error(
      `  ${master.name}: 100-task job ${median(latency).toFixed(1)} ms, ${tasks} tasks ${Math.round((tasks / t.ms) * 1000)}/s` +
        (runs[`pi ${master.name}`] ? `, pi ${runs[`pi ${master.name}`].at(-1).ms.toFixed(0)} ms` : ''),
    );
  } catch (error) {
    // A failed or hung job: the master's rows stop here, the rest of the run goes on.
    status.available = false;
    status.failed = true;
    status.reason = `${error.code ?? ''} ${error.message}`.trim();
    console.error(`  ${master.name}: failed (${status.reason.split('\n')[0]})`);
  } finally {
    await sc.stop();
  }
}

/** The engine's TaskSpecs of its last `tasks`-task job, from the instant backend's record. */
function engineSpecs(tasks) {
  const captured = MASTERS.engine.capture;
  for (let end = captured.length; end >= tasks; end -= 1) {
    const first = captured[end - tasks];
    if (
      first.partition === 0 &&
      captured[end - 1].partition === tasks - 1 &&
      first.stageId === captured[end - 1].stageId
    ) {
      return captured.slice(end - tasks, end);
    }
  }
  return undefined;
}

async function visitRunner(round, name, specsOf, inFlight) {
  const latencySpecs = specsOf(CONFIG.latencyTasks);
  const bulkSpecs = specsOf(CONFIG.tasks);
  if (specsOf !== noSpecs && (latencySpecs === undefined || bulkSpecs === undefined)) return; // not recorded yet
  await runnerJob(CONFIG.latencyTasks, latencySpecs, inFlight);
  const latency = [];
  const cpu = [];
  for (let job = 0; job < CONFIG.latencyJobs; job += 1) {
    const t = await timed(() => runnerJob(CONFIG.latencyTasks, latencySpecs, inFlight));
    latency.push(t.ms);
    cpu.push(t.cpuMs);
  }
  record(`latency ${name}`, { round, jobsMs: latency, cpuMsPerJob: cpu.reduce((a, b) => a + b, 0) / cpu.length });
  await fullGc();
  const t = await timed(() => runnerJob(CONFIG.tasks, bulkSpecs, inFlight));
  record(`throughput ${name}`, { round, tasks: CONFIG.tasks, ms: t.ms, cpuMs: t.cpuMs, rootCpuMs: t.rootCpuMs });
  console.error(`  ${name}: 100 tasks ${median(latency).toFixed(1)} ms, ${Math.round((CONFIG.tasks / t.ms) * 1000)}/s`);
}
const noSpecs = () => undefined;
const RUNNER_BARE = 'task runner alone';
const RUNNER_ENGINE_TASKS = "task runner alone, the engine's tasks";
const RUNNER_ENGINE_TASKS_2 = "task runner alone, the engine's tasks, 2 in flight";

async function visitSkale(round) {
  if (!skaleStatus.available) return;
  await fullGc();
  const t = await timed(
    () => skaleAsk({ op: 'pi', samples: CONFIG.samples, partitions: CONFIG.piPartitions }),
    skale.pid,
  );
  record('pi skale (local mode, 2 workers)', {
    round,
    ms: t.value.ms,
    wallMs: t.ms,
    cpuMs: t.cpuMs,
    estimate: (4 * t.value.inside) / CONFIG.samples,
  });
  console.error(`  skale: pi ${t.value.ms.toFixed(0)} ms`);
}

async function visitPlainLoop(round) {
  const t = await timed(() => plainLoop(CONFIG.samples));
  record('pi plain loop (1 thread, no engine)', {
    round,
    ms: t.ms,
    cpuMs: t.cpuMs,
    estimate: (4 * t.value) / CONFIG.samples,
  });
}

// ---------------------------------------------------------------------------------------------
// Memory per pending task: a backend that never has a free slot; a job of `pending` tasks is
// submitted and held; heap + external after a full GC, before and while it is pending.
async function measurePending(count) {
  let demand;
  const heldBackend = {
    name: 'held (no free slots)',
    excludeOnFailureByDefault: false,
    async start() {},
    defaultParallelism: () => 2,
    launch() {
      throw new Error('held backend: no slot was ever announced');
    },
    kill() {},
    demandChanged(d) {
      demand = d;
    },
    async stop() {},
  };
  const sc = await SparkContext.create(new SparkConf().setAppName('bench-driver-jobs pending').setMaster('local[2]'), {
    backend: heldBackend,
  });
  try {
    const dataset = sc.range(0, count, 1, count);
    await fullGc();
    const usage = () => {
      const m = process.memoryUsage();
      return { heapExternal: m.heapUsed + m.external, rss: m.rss };
    };
    const before = usage();
    const submitted = performance.now();
    const job = sc.runJob(dataset, noop);
    job.catch(() => {});
    while ((demand?.pendingTasks ?? 0) < count) {
      if (performance.now() - submitted > 120_000)
        throw new Error(`pending: ${demand?.pendingTasks} of ${count} after 120 s`);
      await sleep(20);
    }
    const submitMs = performance.now() - submitted;
    await fullGc();
    const during = usage();
    return {
      pendingTasks: demand.pendingTasks,
      submitMs,
      bytesPerPendingTask: (during.heapExternal - before.heapExternal) / count,
      rssBytesPerPendingTask: (during.rss - before.rss) / count,
      heapExternalBefore: before.heapExternal,
      heapExternalDuring: during.heapExternal,
    };
  } finally {
    await sc.stop();
  }
}

// ---------------------------------------------------------------------------------------------
const began = performance.now();
const loadBefore = os.loadavg();
console.log(
  `driver-jobs benchmark: ${CONFIG.rounds} round(s); ${CONFIG.latencyJobs} × ${CONFIG.latencyTasks}-task jobs, ` +
    `${CONFIG.tasks.toLocaleString('en-US')}-task job (fine: ${CONFIG.fineTasks.toLocaleString('en-US')}), ` +
    `Pi ${CONFIG.samples.toExponential(0)} samples, ${CONFIG.pending.toLocaleString('en-US')} pending tasks; ` +
    `load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')}`,
);
if (CONFIG.skale) await startSkale();
else skaleStatus.reason = 'skipped (--no-skale)';
if (!skaleStatus.available) console.error(`  skale: not run (${skaleStatus.reason.split('\n')[0]})`);

const visits = [
  ...CONFIG.masters.map((key) => (round) => visitMaster(key, round)),
  (round) => visitMaster('engine', round),
  (round) => visitRunner(round, RUNNER_BARE, noSpecs),
  (round) => visitRunner(round, RUNNER_ENGINE_TASKS, engineSpecs),
  (round) => visitRunner(round, RUNNER_ENGINE_TASKS_2, engineSpecs, 2),
  visitSkale,
  visitPlainLoop,
];
availability[MASTERS.engine.name] = { available: undefined };
for (let round = 0; round < CONFIG.rounds; round += 1) {
  console.error(`round ${round + 1}:`);
  for (let i = 0; i < visits.length; i += 1) await visits[(i + round) % visits.length](round);
}
// The engine's tasks were recorded during the rounds; if the rotation put their replay before the
// first recording, replay them once more now so the row exists.
if (!runs[`latency ${RUNNER_ENGINE_TASKS}`]) await visitRunner(CONFIG.rounds - 1, RUNNER_ENGINE_TASKS, engineSpecs);
if (!runs[`latency ${RUNNER_ENGINE_TASKS_2}`]) {
  await visitRunner(CONFIG.rounds - 1, RUNNER_ENGINE_TASKS_2, engineSpecs, 2);
}
MASTERS.engine.capture.length = 0;
await stopSkale();
await runner.close();
rmSync(skaleTmp, { recursive: true, force: true });

await fullGc();
const pending = await measurePending(CONFIG.pending);
const loadAfter = os.loadavg();

// ---------------------------------------------------------------------------------------------
// Summary
const summary = {};
const LATENCY_BASE = `latency ${RUNNER_BARE}`;
const THROUGHPUT_BASE = `throughput ${RUNNER_BARE}`;
for (const [name, entries] of Object.entries(runs)) {
  if (name.startsWith('latency ')) {
    const all = entries.flatMap((e) => e.jobsMs);
    summary[name] = {
      jobs: all.length,
      medianMs: median(all),
      p90Ms: quantile(all, 0.9),
      minMs: Math.min(...all),
      maxMs: Math.max(...all),
      roundMediansMs: entries.map((e) => median(e.jobsMs)),
      cpuMsPerJob: median(entries.map((e) => e.cpuMsPerJob)),
    };
  } else if (name.startsWith('throughput ')) {
    const rates = entries.map((e) => (e.tasks / e.ms) * 1000);
    summary[name] = {
      tasks: entries[0].tasks,
      tasksPerSecond: median(rates),
      minTasksPerSecond: Math.min(...rates),
      maxTasksPerSecond: Math.max(...rates),
      cpuMicrosecondsPerTask: median(entries.map((e) => (e.cpuMs * 1000) / e.tasks)),
      benchProcessCpuMicrosecondsPerTask: median(entries.map((e) => (e.rootCpuMs * 1000) / e.tasks)),
    };
  } else {
    summary[name] = {
      medianMs: median(entries.map((e) => e.ms)),
      minMs: Math.min(...entries.map((e) => e.ms)),
      maxMs: Math.max(...entries.map((e) => e.ms)),
      cpuMs: median(entries.map((e) => e.cpuMs)),
      estimates: entries.map((e) => e.estimate),
    };
  }
}
for (const [name, s] of Object.entries(summary)) {
  if (name.startsWith('latency ') && summary[LATENCY_BASE]) s.timesRunner = s.medianMs / summary[LATENCY_BASE].medianMs;
  if (name.startsWith('throughput ')) {
    if (summary[THROUGHPUT_BASE]) {
      s.vsRunner = s.tasksPerSecond / summary[THROUGHPUT_BASE].tasksPerSecond;
      s.cpuTimesRunner = s.cpuMicrosecondsPerTask / summary[THROUGHPUT_BASE].cpuMicrosecondsPerTask;
    }
    s.vsTarget = s.tasksPerSecond / 20_000;
  }
  if (name.startsWith('pi ') && summary['pi skale (local mode, 2 workers)']) {
    s.timesSkale = s.medianMs / summary['pi skale (local mode, 2 workers)'].medianMs;
    s.cpuTimesSkale = s.cpuMs / summary['pi skale (local mode, 2 workers)'].cpuMs;
  }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const x = (n) => (n === undefined ? '' : `${n.toFixed(2)}×`);
const table = (header, rows) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (row) =>
    `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`);
  for (const row of rows) console.log(line(row));
};
const rowsOf = (prefix) => Object.entries(summary).filter(([name]) => name.startsWith(prefix));
const strip = (name, prefix) => name.slice(prefix.length);

console.log('\n100-task no-op job on warm executors (ms per job; CPU of the process tree):');
table(
  ['master', 'median ms', 'p90 ms', 'range ms', 'CPU ms/job', 'vs runner alone'],
  rowsOf('latency ').map(([name, s]) => [
    strip(name, 'latency '),
    s.medianMs.toFixed(1),
    s.p90Ms.toFixed(1),
    `${s.minMs.toFixed(1)}–${s.maxMs.toFixed(1)}`,
    s.cpuMsPerJob.toFixed(1),
    name === LATENCY_BASE ? '1.00×' : x(s.timesRunner),
  ]),
);
console.log('\nLarge no-op job (tasks/s; target ≥ 20,000 in coarse mode):');
table(
  [
    'master',
    'tasks',
    'tasks/s',
    'range tasks/s',
    'CPU µs/task',
    'of it bench process',
    'vs target',
    'vs runner alone',
    'CPU vs runner alone',
  ],
  rowsOf('throughput ').map(([name, s]) => [
    strip(name, 'throughput '),
    fmt(s.tasks),
    fmt(s.tasksPerSecond),
    `${fmt(s.minTasksPerSecond)}–${fmt(s.maxTasksPerSecond)}`,
    s.cpuMicrosecondsPerTask.toFixed(1),
    s.benchProcessCpuMicrosecondsPerTask.toFixed(1),
    x(s.vsTarget),
    name === THROUGHPUT_BASE ? '1.00×' : x(s.vsRunner),
    name === THROUGHPUT_BASE ? '1.00×' : x(s.cpuTimesRunner),
  ]),
);
console.log(`\nPi, ${CONFIG.samples.toExponential(0)} samples, ${CONFIG.piPartitions} partitions:`);
table(
  ['engine', 'median s', 'range s', 'CPU s', 'time vs Skale', 'CPU vs Skale', 'estimate'],
  rowsOf('pi ').map(([name, s]) => [
    strip(name, 'pi '),
    (s.medianMs / 1000).toFixed(2),
    `${(s.minMs / 1000).toFixed(2)}–${(s.maxMs / 1000).toFixed(2)}`,
    (s.cpuMs / 1000).toFixed(2),
    x(s.timesSkale),
    x(s.cpuTimesSkale),
    s.estimates[0].toFixed(4),
  ]),
);
if (!skaleStatus.available) console.log(`Skale not run: ${skaleStatus.reason}`);
console.log(
  `\nDriver memory per pending task (${fmt(pending.pendingTasks)} pending, target ≤ 2,048 bytes): ` +
    `${fmt(pending.bytesPerPendingTask)} bytes heap+external (${x(pending.bytesPerPendingTask / 2048)} the target), ` +
    `${fmt(pending.rssBytesPerPendingTask)} bytes RSS; submitted in ${fmt(pending.submitMs)} ms`,
);
for (const [name, status] of Object.entries(availability)) {
  if (status.available === false) {
    const what = status.failed ? 'failed' : 'not available in this build';
    console.log(`${name}: ${what} (${status.reason.split('\n')[0]})`);
  }
}

const elapsed = (performance.now() - began) / 1000;
const output = {
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  platform: `${os.platform()} ${os.arch()}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  loadAverage: { before: loadBefore, after: loadAfter },
  config: CONFIG,
  units: {
    'latency medianMs': 'median wall time of one 100-task no-op job, over every timed job of every round',
    cpuMsPerJob:
      'CPU time (user + system) of the bench process tree (worker threads, executor processes) per job, median over rounds',
    tasksPerSecond: 'median over rounds of tasks / wall time of the job',
    cpuMicrosecondsPerTask: 'CPU time of the process tree / tasks, median over rounds',
    benchProcessCpuMicrosecondsPerTask:
      'the same for the bench process alone: driver, worker threads of local[N], in-process mesos-local; not the executor processes',
    vsTarget: 'tasks/s ÷ 20,000 (issue 8: coarse mode at least 20,000 tasks/s)',
    vsRunner: "tasks/s ÷ the executor's task runner driven directly with 2 slots (same run)",
    cpuTimesRunner: 'CPU µs/task ÷ the same of the task runner driven directly',
    timesSkale: 'Pi wall time ÷ Skale local mode with 2 workers on the same job (same run)',
    cpuTimesSkale: 'Pi CPU time of the process tree ÷ the same of Skale (its child process and workers)',
    bytesPerPendingTask: 'Δ(heapUsed + external) after forced GC ÷ pending tasks (target ≤ 2 KB)',
  },
  availability,
  skale: skaleStatus,
  summary,
  pending,
  runs,
  elapsedSeconds: Number(elapsed.toFixed(1)),
};
const resultsPath = new URL(quick ? './results.quick.json' : './results.json', import.meta.url);
writeFileSync(resultsPath, `${JSON.stringify(output, null, 2)}\n`);
console.log(
  `\n${elapsed.toFixed(1)} s; load average ${loadAfter.map((l) => l.toFixed(1)).join(' ')}; results in ${resultsPath.pathname}`,
);
process.exit(0);
