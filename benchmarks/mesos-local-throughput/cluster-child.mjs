// The local cluster, in a child process of bench.mjs: like a real Mesos master it is another
// process than the framework, so the scheduler client and the master do not share an event loop,
// and the cluster's heap, sockets and descriptors are measured alone. Started with --expose-gc.
// Driven over IPC ({ id, op, ... } → { id, ... } or { id, error }):
//   start { agents, resources, allocationIntervalMs, heartbeatIntervalSeconds } → { masterUrl }
//   stats-reset                    → {}          (starts a measurement window)
//   stats                          → { cycles, cpuMs, elapsedMs, eventLoopUtilization }
//   memory                         → { heapUsed, external, rss, fds } after a forced GC
//   stop                           → {}          (cluster.stop(): kills tasks, closes servers)
//   spawn-floor { concurrency, seconds } → { exited, failed, ms }   (no cluster needed)
//   exit
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

// ---------------------------------------------------------------------------------------------
// Allocation cycle timing, from outside the package. The master runs its allocation cycle from a
// timer armed with `allocationIntervalMs`; the benchmark picks an interval no other timer of
// mesos-local uses (heartbeats and retries are whole seconds), wraps the global timer functions
// before mesos-local is loaded, and times the callbacks armed with exactly that delay. A cycle is
// "productive" when it wrote to an HTTP response (the OFFERS event on the framework's stream),
// "empty" otherwise (everything already offered or filtered). If mesos-local ever arms the cycle
// differently, no cycle is timed and the report says so rather than guessing.
let allocationIntervalMs = -1;
let responseWrites = 0;
// Wall time and CPU time (user + system of the process) of each cycle: on this shared 2-core
// machine the wall time includes waiting for a core, the CPU time does not.
const cycleTimes = { productive: { wall: [], cpu: [] }, empty: { wall: [], cpu: [] } };
const timed = (callback) =>
  function timedCycle(...args) {
    const writesBefore = responseWrites;
    const cpu = process.cpuUsage();
    const start = performance.now();
    try {
      return callback.apply(this, args);
    } finally {
      const ms = performance.now() - start;
      const used = process.cpuUsage(cpu);
      const kind = responseWrites > writesBefore ? cycleTimes.productive : cycleTimes.empty;
      kind.wall.push(ms);
      kind.cpu.push((used.user + used.system) / 1000);
    }
  };
for (const name of ['setInterval', 'setTimeout']) {
  const original = globalThis[name];
  globalThis[name] = function wrappedTimer(callback, delay, ...args) {
    const wrapped = delay === allocationIntervalMs && typeof callback === 'function' ? timed(callback) : callback;
    return original.call(this, wrapped, delay, ...args);
  };
}
const originalWrite = http.ServerResponse.prototype.write;
http.ServerResponse.prototype.write = function countedWrite(...args) {
  responseWrites += 1;
  return originalWrite.apply(this, args);
};

const { startLocalCluster } = await import('@spark-mesos/mesos-local');

const gc = globalThis.gc;
const fullGc = async () => {
  for (let i = 0; i < 3; i += 1) {
    gc?.();
    await sleep(20);
  }
};

let cluster;
let window = { at: performance.now(), cpu: process.cpuUsage(), elu: performance.eventLoopUtilization() };

const summary = (values) => {
  if (values.length === 0) return { count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    count: sorted.length,
    meanMs: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    maxMs: sorted.at(-1),
  };
};

/** The bare floor of a launch: `/bin/sh -c true` spawned as the agent does, `concurrency` at a time. */
async function spawnFloor({ concurrency, seconds }) {
  const dir = mkdtempSync(join(tmpdir(), 'mesos-local-bench-floor-'));
  let exited = 0;
  let failed = 0;
  let running = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  try {
    await new Promise((resolve) => {
      const launch = () => {
        while (running < concurrency && performance.now() < deadline) {
          running += 1;
          const out = openSync(join(dir, 'stdout'), 'a');
          const err = openSync(join(dir, 'stderr'), 'a');
          const child = spawn('/bin/sh', ['-c', 'true'], {
            cwd: dir,
            env: process.env,
            stdio: ['ignore', out, err],
            detached: true,
          });
          closeSync(out);
          closeSync(err);
          child.once('error', () => {});
          child.once('exit', (code) => {
            running -= 1;
            if (code === 0) exited += 1;
            else failed += 1;
            if (running === 0 && performance.now() >= deadline) resolve();
            else launch();
          });
        }
      };
      launch();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { exited, failed, ms: performance.now() - start };
}

const ops = {
  async start(message) {
    allocationIntervalMs = message.allocationIntervalMs ?? 1000;
    cluster = await startLocalCluster({
      agents: message.agents,
      resources: message.resources,
      allocationIntervalMs,
      heartbeatIntervalSeconds: message.heartbeatIntervalSeconds,
    });
    return { masterUrl: cluster.masterUrl };
  },
  'stats-reset'() {
    for (const kind of Object.values(cycleTimes)) {
      kind.wall.length = 0;
      kind.cpu.length = 0;
    }
    window = { at: performance.now(), cpu: process.cpuUsage(), elu: performance.eventLoopUtilization() };
    return {};
  },
  stats() {
    const cpu = process.cpuUsage(window.cpu);
    return {
      cycles: {
        productive: { wall: summary(cycleTimes.productive.wall), cpu: summary(cycleTimes.productive.cpu) },
        empty: { wall: summary(cycleTimes.empty.wall), cpu: summary(cycleTimes.empty.cpu) },
      },
      cpuMs: (cpu.user + cpu.system) / 1000,
      elapsedMs: performance.now() - window.at,
      eventLoopUtilization: performance.eventLoopUtilization(window.elu).utilization,
    };
  },
  async memory() {
    await fullGc();
    const usage = process.memoryUsage();
    return {
      heapUsed: usage.heapUsed,
      external: usage.external,
      rss: usage.rss,
      fds: readdirSync('/proc/self/fd').length,
    };
  },
  async stop() {
    await cluster?.stop();
    cluster = undefined;
    return {};
  },
  'spawn-floor': spawnFloor,
  async exit() {
    await cluster?.stop();
    process.exit(0);
  },
};

process.on('message', async (message) => {
  try {
    const reply = await ops[message.op](message);
    process.send({ id: message.id, ...reply });
  } catch (error) {
    process.send({ id: message.id, error: String(error?.stack ?? error) });
  }
});
// The parent may die without saying `exit`: take the cluster (and its tasks) down with it.
process.on('disconnect', () => {
  void (cluster?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});
process.send({ ready: true });
