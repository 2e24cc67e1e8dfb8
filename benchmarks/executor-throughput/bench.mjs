// Throughput of the spark-mesos executor (not a test: it asserts nothing about speed, but exits 1
// when a task does not finish). Uses the built packages (`pnpm build` first, or `pnpm bench`).
//
// 1. Coarse-grained: this process is the driver (createDriverEndpoint); one or two executors are
//    the runtime directory's bin/spark-mesos-executor started as child processes (what an agent
//    runs, without the agent). Empty tasks (`() => null`) are sent in batches, with a window of
//    tasks in flight per executor; tasks/s over the run, latency from the send of a task's batch
//    to the arrival of its outcome.
// 2. Fine-grained: a mesos-local cluster (one agent) and a scheduler client launch empty tasks
//    on a warm fine-grained executor; latency from ACCEPT to TASK_FINISHED, one at a time and
//    with several in flight, against a command task running `true`.
// 3. Memory: RSS of an idle coarse executor (registered, before any task; and after its workers
//    started), from /proc/<pid>/status.
//
// Options: --tasks N (coarse tasks per run, default 200000), --batch N (default 256),
// --window N (tasks in flight per executor, default 2048), --cores N (per executor, default 2),
// --fine N (fine tasks per measurement, default 60), --quick (smaller runs).
// A/B: --ab OLD_DIST_DIR [--rounds N] runs only the coarse part, alternating the built package
// with another build (a copy of packages/executor/dist of an earlier commit, kept under
// packages/executor/.tmp/ so its imports resolve: its protocol.js plays the driver for its own
// runtime/), N rounds of 1 and 2 executors each, and writes ab.json: tasks/s and the executors' CPU time per task (user+system
// of the executor processes, all their threads, from /proc), the better figure on a loaded
// machine.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { serialize } from 'node:v8';
import {
  appSecretVariable,
  buildExecutorCommand,
  createAppSecret,
  encodeFineExecutorData,
  encodeFineTask,
} from '@spark-mesos/executor';
import { createDriverEndpoint } from '@spark-mesos/executor/protocol';
import { executorRuntimeDirectory } from '@spark-mesos/executor/runtime';
import { createSchedulerClient, launchOperation } from '@spark-mesos/mesos-client';
import { startLocalCluster } from '@spark-mesos/mesos-local';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string' },
    batch: { type: 'string' },
    window: { type: 'string' },
    cores: { type: 'string' },
    fine: { type: 'string' },
    quick: { type: 'boolean' },
    ab: { type: 'string' },
    rounds: { type: 'string' },
  },
});
const quick = values.quick === true;
const TASKS = Number(values.tasks ?? (quick ? 30_000 : 200_000));
const BATCH = Number(values.batch ?? 256);
const WINDOW = Number(values.window ?? 2048);
const CORES = Number(values.cores ?? 2);
const FINE_TASKS = Number(values.fine ?? (quick ? 20 : 60));

const runtime = executorRuntimeDirectory();
const emptyInput = serialize(null);
const emptyCaptured = serialize(undefined);

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function rssKiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}

// utime + stime of a process (all its threads), in ms, from /proc/<pid>/stat (clock ticks of 10 ms).
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const logDirectory = mkdtempSync(join(tmpdir(), 'bench-executor-'));
process.on('exit', () => rmSync(logDirectory, { recursive: true, force: true }));

function startExecutor(endpoint, secret, executorId, cores, runtimeDirectory = runtime) {
  const path = join(logDirectory, `${executorId}-${process.hrtime.bigint()}.stderr`);
  const stderrFile = { path, fd: openSync(path, 'w') };
  const child = spawn(
    process.execPath,
    [
      // e.g. BENCH_EXECUTOR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the executors.
      ...(process.env.BENCH_EXECUTOR_NODE_ARGS ?? '').split(' ').filter(Boolean),
      join(runtimeDirectory, 'bin', 'spark-mesos-executor'),
      '--mode',
      'coarse',
      '--driver',
      `127.0.0.1:${endpoint.address.port}`,
      '--executor-id',
      executorId,
      '--cores',
      String(cores),
      '--memory',
      '1024',
    ],
    {
      env: { ...process.env, SPARK_MESOS_APP_SECRET: Buffer.from(secret).toString('base64') },
      // Its log goes to a file, as an agent's sandbox stderr does: a pipe read by this busy
      // process would make the executor wait on the pipe.
      stdio: ['ignore', 'ignore', stderrFile.fd],
    },
  );
  closeSync(stderrFile.fd);
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) {
      const text = readFileSync(stderrFile.path, 'utf8');
      process.stderr.write(`executor ${executorId} exited ${code}:\n${text.slice(-4000)}\n`);
    }
  });
  return child;
}

async function waitFor(check, what, timeoutMs = 30_000) {
  const started = Date.now();
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function coarseRun(executorCount, build = { runtimeDirectory: runtime, createDriverEndpoint }) {
  const { runtimeDirectory } = build;
  const secret = createAppSecret();
  const endpoint = await build.createDriverEndpoint({ secret, host: '127.0.0.1', log: () => {} });
  const registered = new Set();
  endpoint.on('executorRegistered', (event) => registered.add(event.executorId));
  const children = [];
  const ids = [];
  for (let index = 0; index < executorCount; index += 1) {
    const id = `bench-exec-${index}`;
    ids.push(id);
    children.push(startExecutor(endpoint, secret, id, CORES, runtimeDirectory));
  }
  await waitFor(() => registered.size === executorCount, 'registrations');
  const executorCpuStart = children.map((child) => cpuMs(child.pid));

  const idleRssKiB = children.map((child) => rssKiB(child.pid));
  const sentAt = new Float64Array(TASKS);
  const latency = new Float64Array(TASKS);
  const inFlight = new Map(ids.map((id) => [id, 0]));
  let next = 0;
  let done = 0;
  let failed = 0;
  let resolveAll;
  const all = new Promise((resolve) => {
    resolveAll = resolve;
  });
  // Task ids are the index as text, so the outcome finds its send time without a map.
  const spec = (index) => ({
    taskId: String(index),
    stageId: 0,
    partition: index,
    attempt: 0,
    function: { kind: 'source', source: '() => null' },
    captured: emptyCaptured,
    input: emptyInput,
  });
  function refill(executorId) {
    while (next < TASKS && inFlight.get(executorId) + BATCH <= WINDOW) {
      const batch = [];
      const now = performance.now();
      for (let count = 0; count < BATCH && next < TASKS; count += 1) {
        sentAt[next] = now;
        batch.push(spec(next));
        next += 1;
      }
      inFlight.set(executorId, inFlight.get(executorId) + batch.length);
      endpoint.launch(executorId, batch);
    }
  }
  endpoint.on('taskOutcome', ({ executorId, taskId, outcome }) => {
    const index = Number(taskId);
    latency[index] = performance.now() - sentAt[index];
    if (outcome.state !== 'finished') failed += 1;
    done += 1;
    inFlight.set(executorId, inFlight.get(executorId) - 1);
    if (done === TASKS) resolveAll();
    else refill(executorId);
  });
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  for (const id of ids) refill(id);
  await all;
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const busyRssKiB = children.map((child) => rssKiB(child.pid));
  const executorCpuMs = children.reduce((sum, child, index) => sum + cpuMs(child.pid) - executorCpuStart[index], 0);
  await Promise.all(ids.map((id) => endpoint.shutdown(id, { timeoutMs: 2000 })));
  await endpoint.close();
  await Promise.all(
    children.map((child) =>
      child.exitCode === null ? new Promise((resolve) => child.on('exit', resolve)) : undefined,
    ),
  );
  if (failed > 0) throw new Error(`${failed} tasks did not finish`);
  const sorted = Float64Array.from(latency).sort();
  return {
    executors: executorCount,
    coresPerExecutor: CORES,
    tasks: TASKS,
    batch: BATCH,
    windowPerExecutor: WINDOW,
    tasksPerSecond: Math.round((TASKS / elapsedMs) * 1000),
    p50Ms: Number(percentile(sorted, 50).toFixed(2)),
    p99Ms: Number(percentile(sorted, 99).toFixed(2)),
    driverCpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100),
    executorCpuUsPerTask: Math.round((executorCpuMs * 1000) / TASKS),
    driverCpuUsPerTask: Math.round((cpu.user + cpu.system) / TASKS),
    executorIdleRssMiB: idleRssKiB.map((kib) => Number((kib / 1024).toFixed(1))),
    executorBusyRssMiB: busyRssKiB.map((kib) => Number((kib / 1024).toFixed(1))),
  };
}

async function fineRun() {
  const cluster = await startLocalCluster({ agents: 1, allocationIntervalMs: 10, heartbeatIntervalSeconds: 5 });
  const secret = createAppSecret();
  const endpoint = await createDriverEndpoint({ secret, host: '127.0.0.1', log: () => {} });
  const client = createSchedulerClient({
    master: cluster.masterUrl,
    frameworkInfo: { user: userInfo().username, name: 'executor bench (fine)', failover_timeout: 0 },
    reconcile: { enabled: false },
  });
  const offers = [];
  const finishedAt = new Map();
  const failures = [];
  const waiters = new Set();
  client.on('OFFERS', (event) => {
    offers.push(...event.offers.offers);
    for (const waiter of waiters) waiter();
  });
  client.on('UPDATE', (event) => {
    const status = event.update.status;
    if (status.state === 'TASK_FINISHED') finishedAt.set(status.task_id.value, performance.now());
    else if (['TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR'].includes(status.state)) failures.push(status);
    for (const waiter of waiters) waiter();
  });
  await client.start();
  const scalar = (offer, name) =>
    (offer.resources ?? [])
      .filter((r) => r.name === name && r.type === 'SCALAR')
      .reduce((sum, r) => sum + r.scalar.value, 0);
  const takeScalar = (offer, name, amount) => {
    const resource = offer.resources.find((r) => r.name === name && r.type === 'SCALAR');
    return [{ ...resource, scalar: { value: amount } }];
  };
  async function nextOffer(cpusNeeded, memNeeded) {
    await waitFor(
      () => offers.some((o) => scalar(o, 'cpus') >= cpusNeeded && scalar(o, 'mem') >= memNeeded),
      'an offer',
    );
    const index = offers.findIndex((o) => scalar(o, 'cpus') >= cpusNeeded && scalar(o, 'mem') >= memNeeded);
    const [offer] = offers.splice(index, 1);
    // Give back the others so the master re-offers all of it next cycle.
    const others = offers.splice(0);
    if (others.length > 0) await client.decline({ offer_ids: others.map((o) => o.id), filters: { refuse_seconds: 0 } });
    return offer;
  }
  // The executor runs from the runtime directory in place (executorHome), like a pre-installed home.
  let executorInfo;
  let counter = 0;
  async function launchFine(count) {
    const first = executorInfo === undefined;
    const offer = await nextOffer(0.1 * count + (first ? 0.1 : 0), 32 * count + (first ? 192 : 0));
    if (first) {
      executorInfo = {
        executor_id: { value: 'bench-fine' },
        name: 'bench fine executor',
        command: buildExecutorCommand({ mode: 'fine', executorHome: runtime }),
        resources: [...takeScalar(offer, 'cpus', 0.1), ...takeScalar(offer, 'mem', 192)],
        data: encodeFineExecutorData({ driver: endpoint.address, slots: 2 }),
      };
      executorInfo.command.environment = { variables: [appSecretVariable(secret)] };
    }
    const started = performance.now();
    const ids = [];
    const tasks = Array.from({ length: count }, () => {
      counter += 1;
      const taskId = `fine-${counter}`;
      ids.push(taskId);
      return {
        name: taskId,
        task_id: { value: taskId },
        agent_id: offer.agent_id,
        resources: [...takeScalar(offer, 'cpus', 0.1), ...takeScalar(offer, 'mem', 32)],
        executor: executorInfo,
        data: encodeFineTask({
          taskId,
          stageId: 0,
          partition: counter,
          attempt: 0,
          function: { kind: 'source', source: '() => null' },
          captured: emptyCaptured,
          input: emptyInput,
        }),
      };
    });
    await client.accept({
      offer_ids: [offer.id],
      operations: [launchOperation(tasks)],
      filters: { refuse_seconds: 0 },
    });
    await waitFor(() => ids.every((id) => finishedAt.has(id)) || failures.length > 0, 'fine tasks to finish');
    if (failures.length > 0) throw new Error(`fine task failed: ${JSON.stringify(failures[0])}`);
    return ids.map((id) => finishedAt.get(id) - started);
  }
  async function launchCommand() {
    const offer = await nextOffer(0.1, 32);
    counter += 1;
    const taskId = `cmd-${counter}`;
    const started = performance.now();
    await client.accept({
      offer_ids: [offer.id],
      operations: [
        launchOperation([
          {
            name: taskId,
            task_id: { value: taskId },
            agent_id: offer.agent_id,
            resources: [...takeScalar(offer, 'cpus', 0.1), ...takeScalar(offer, 'mem', 32)],
            command: { shell: true, value: 'true' },
          },
        ]),
      ],
      filters: { refuse_seconds: 0 },
    });
    await waitFor(() => finishedAt.has(taskId) || failures.length > 0, 'command task to finish');
    if (failures.length > 0) throw new Error(`command task failed: ${JSON.stringify(failures[0])}`);
    return finishedAt.get(taskId) - started;
  }
  const coldMs = (await launchFine(1))[0];
  const sequential = [];
  for (let index = 0; index < FINE_TASKS; index += 1) sequential.push(...(await launchFine(1)));
  const parallelStarted = performance.now();
  const parallel = [];
  for (let index = 0; index < FINE_TASKS / 10; index += 1) parallel.push(...(await launchFine(10)));
  const parallelElapsed = performance.now() - parallelStarted;
  const command = [];
  for (let index = 0; index < Math.min(FINE_TASKS, 20); index += 1) command.push(await launchCommand());
  await client.teardown().catch(() => {});
  await client.close();
  await endpoint.close();
  await cluster.stop();
  const sortedSequential = [...sequential].sort((a, b) => a - b);
  const sortedParallel = [...parallel].sort((a, b) => a - b);
  const sortedCommand = [...command].sort((a, b) => a - b);
  return {
    coldStartMs: Number(coldMs.toFixed(1)),
    oneAtATime: {
      tasks: sequential.length,
      p50Ms: Number(percentile(sortedSequential, 50).toFixed(1)),
      p99Ms: Number(percentile(sortedSequential, 99).toFixed(1)),
    },
    tenPerAccept: {
      tasks: parallel.length,
      p50Ms: Number(percentile(sortedParallel, 50).toFixed(1)),
      p99Ms: Number(percentile(sortedParallel, 99).toFixed(1)),
      tasksPerSecond: Math.round((parallel.length / parallelElapsed) * 1000),
    },
    commandTaskTrue: {
      tasks: command.length,
      p50Ms: Number(percentile(sortedCommand, 50).toFixed(1)),
      p99Ms: Number(percentile(sortedCommand, 99).toFixed(1)),
    },
  };
}

async function idleMemory() {
  const secret = createAppSecret();
  const endpoint = await createDriverEndpoint({ secret, host: '127.0.0.1', log: () => {} });
  const registered = new Set();
  const outcomes = new Set();
  endpoint.on('executorRegistered', (event) => registered.add(event.executorId));
  endpoint.on('taskOutcome', (event) => outcomes.add(event.taskId));
  const child = startExecutor(endpoint, secret, 'idle', CORES);
  await waitFor(() => registered.has('idle'), 'registration');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const registeredRss = rssKiB(child.pid);
  const tasks = Array.from({ length: CORES * 4 }, (_, index) => ({
    taskId: `warm-${index}`,
    stageId: 0,
    partition: index,
    attempt: 0,
    function: { kind: 'source', source: '() => null' },
    captured: emptyCaptured,
    input: emptyInput,
  }));
  endpoint.launch('idle', tasks);
  await waitFor(() => outcomes.size === tasks.length, 'warm-up tasks');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const warmRss = rssKiB(child.pid);
  await endpoint.shutdown('idle', { timeoutMs: 2000 });
  await endpoint.close();
  return {
    registeredNoWorkersMiB: Number((registeredRss / 1024).toFixed(1)),
    idleWithWorkersMiB: Number((warmRss / 1024).toFixed(1)),
    workers: CORES,
  };
}

const machine = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: availableParallelism(),
  loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))),
};
console.log(`executor bench on ${machine.cpu} (${machine.cores} cores), load ${machine.loadAverageAtStart.join(' ')}`);
if (values.ab !== undefined) {
  const oldDist = resolve(values.ab);
  const builds = {
    new: { runtimeDirectory: runtime, createDriverEndpoint },
    old: {
      runtimeDirectory: join(oldDist, 'runtime'),
      createDriverEndpoint: (await import(pathToFileURL(join(oldDist, 'protocol.js')).href)).createDriverEndpoint,
    },
  };
  const runs = [];
  const rounds = Number(values.rounds ?? 3);
  for (let round = 0; round < rounds; round += 1) {
    // Alternate which build goes first, so a drift of the machine's load hits both alike.
    const order = round % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
    for (const executors of [1, 2]) {
      for (const build of order) {
        const result = await coarseRun(executors, builds[build]);
        runs.push({ round, build, ...result, load: loadavg()[0] });
        console.log(
          `round ${round} ${build} ${executors} executor(s): ${result.tasksPerSecond.toLocaleString('en')} tasks/s, executors ${result.executorCpuUsPerTask} µs CPU/task, driver ${result.driverCpuUsPerTask} µs/task, p50 ${result.p50Ms} ms`,
        );
      }
    }
  }
  const summary = [];
  for (const executors of [1, 2]) {
    for (const build of ['old', 'new']) {
      const mine = runs.filter((run) => run.executors === executors && run.build === build);
      const stat = (key) => {
        const sorted = mine.map((run) => run[key]).sort((a, b) => a - b);
        return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1] };
      };
      const line = {
        executors,
        build,
        tasksPerSecond: stat('tasksPerSecond'),
        executorCpuUsPerTask: stat('executorCpuUsPerTask'),
      };
      summary.push(line);
      console.log(JSON.stringify(line));
    }
  }
  writeFileSync(
    new URL('./ab.json', import.meta.url),
    `${JSON.stringify({ machine, loadAverageAtEnd: loadavg().map((value) => Number(value.toFixed(2))), old: values.ab, summary, runs }, null, 2)}
`,
  );
  process.exit(0);
}
const coarse = [];
for (const executors of [1, 2]) {
  const result = await coarseRun(executors);
  coarse.push(result);
  console.log(
    `coarse, ${executors} executor(s) × ${CORES} slots: ${result.tasksPerSecond.toLocaleString('en')} tasks/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, driver CPU ${result.driverCpuPercent} %`,
  );
}
const memory = await idleMemory();
console.log(
  `idle coarse executor: ${memory.registeredNoWorkersMiB} MiB registered, ${memory.idleWithWorkersMiB} MiB with ${memory.workers} workers started`,
);
const fine = await fineRun();
console.log(
  `fine: cold start ${fine.coldStartMs} ms; one at a time p50 ${fine.oneAtATime.p50Ms} ms / p99 ${fine.oneAtATime.p99Ms} ms; ten per ACCEPT p50 ${fine.tenPerAccept.p50Ms} ms (${fine.tenPerAccept.tasksPerSecond} tasks/s); command task 'true' p50 ${fine.commandTaskTrue.p50Ms} ms`,
);
const results = { machine, loadAverageAtEnd: loadavg().map((value) => Number(value.toFixed(2))), coarse, memory, fine };
writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
