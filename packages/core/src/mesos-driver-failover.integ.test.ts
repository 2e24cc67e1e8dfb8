// A driver that comes back onto its own framework ID (spark.mesos.driver.frameworkId with
// spark.mesos.driver.failoverTimeout > 0, as Spark's supervised drivers do): the first driver
// process is SIGKILLed with its executors running (mid-job or idle); a second one with the same
// settings must run its job (its task and executor ids must not collide with the old ones Mesos
// still lists) and stop what the old one left within a few seconds (an old coarse executor
// would give up only after its 30 s reconnection timeout, an old fine one never).
// Each driver is `node program.mjs` on the built package. On an in-process mesos-local cluster,
// or, unchanged, on the real master named by SPARK_MESOS_TEST_MASTER (see
// mesos-backends.integ.test.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createOperatorClient, getMesosJson, type MasterState } from '@spark-mesos/mesos-client';
import { type LocalCluster, startLocalCluster } from '@spark-mesos/mesos-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const realMaster = process.env.SPARK_MESOS_TEST_MASTER || undefined;
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));
let directory: string;

beforeAll(() => {
  if (!existsSync(built)) throw new Error(`@spark-mesos/core is not built (${built} is missing): run pnpm build first`);
  directory = mkdtempSync(join(tmpdir(), 'spark-mesos-failover-'));
  // argv: master, coarse, framework id, mode: 'busy' (SIGKILLed in a job of blocked tasks),
  // 'idle' (SIGKILLed between jobs), 'second' (one job, then stops when its stdin ends).
  writeFileSync(
    join(directory, 'driver.mjs'),
    [
      `import { createBackendForMaster, SparkConf, SparkContext } from ${JSON.stringify(pathToFileURL(built).href)};`,
      'const [master, coarse, frameworkId, mode] = process.argv.slice(2);',
      "const conf = new SparkConf().setMaster(master).setAppName('failover ' + mode)",
      "  .set('spark.mesos.coarse', coarse).set('spark.driver.host', '127.0.0.1')",
      "  .set('spark.mesos.driver.frameworkId', frameworkId).set('spark.mesos.driver.failoverTimeout', '600')",
      "  .set('spark.cores.max', '2').set('spark.executor.cores', '1').set('spark.executor.memory', '256m')",
      "  .set('spark.mesos.coarse.shutdownTimeout', '3s');",
      'const env = process.env;',
      "if (env.SPARK_MESOS_TEST_PRINCIPAL) conf.set('spark.mesos.principal', env.SPARK_MESOS_TEST_PRINCIPAL);",
      "if (env.SPARK_MESOS_TEST_SECRET) conf.set('spark.mesos.secret', env.SPARK_MESOS_TEST_SECRET);",
      "if (env.SPARK_MESOS_TEST_ROLE) conf.set('spark.mesos.role', env.SPARK_MESOS_TEST_ROLE);",
      'const sc = await SparkContext.create(conf, {',
      '  createBackend: (parsed, c) => createBackendForMaster(parsed, c, {',
      '    packExecutorLocally: true,',
      "    log: (level, message) => process.stderr.write(level + ': ' + message + '\\n'),",
      '  }),',
      '});',
      "console.log('count', await sc.range(0, 100, 1, 4).count());",
      "if (mode === 'second') {",
      "  process.stdin.on('data', () => {});",
      "  process.stdin.on('end', () => sc.stop().then(() => console.log('stopped')));",
      "} else if (mode === 'busy') {",
      '  // Tasks that block until the process is killed.',
      '  void sc.range(0, 2, 1, 2).map((x) => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000); return x; }).count();',
      "  console.log('busy');",
      '  setInterval(() => {}, 1000);',
      '} else {',
      "  console.log('idle');",
      '  setInterval(() => {}, 1000);',
      '}',
    ].join('\n'),
  );
});

afterAll(() => {
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

interface Driver {
  readonly process: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
  /** Resolves when stdout holds `text`; rejects (quoting its stderr) when the process ends first or after `timeoutMs`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

function startDriver(master: string, coarse: boolean, frameworkId: string, mode: string): Driver {
  const child = spawn(process.execPath, ['driver.mjs', master, String(coarse), frameworkId, mode], {
    cwd: directory,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const driver: Driver = {
    process: child,
    stdout: '',
    stderr: '',
    exited,
    waitFor: (text, timeoutMs = 45_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.stdout?.off('data', check);
          reject(new Error(`the driver (${mode}) did not print "${text}" within ${timeoutMs} ms:\n${driver.stderr}`));
        }, timeoutMs);
        const check = () => {
          if (driver.stdout.includes(text)) {
            clearTimeout(timer);
            child.stdout?.off('data', check);
            resolve();
          }
        };
        child.stdout?.on('data', check);
        check();
        void exited.then((code) => {
          clearTimeout(timer);
          if (!driver.stdout.includes(text))
            reject(new Error(`the driver (${mode}) exited with ${code} before printing "${text}":\n${driver.stderr}`));
        });
      }),
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    driver.stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    driver.stderr += chunk;
  });
  return driver;
}

async function stopDriver(driver: Driver | undefined): Promise<void> {
  if (driver === undefined || driver.process.exitCode !== null || driver.process.signalCode !== null) return;
  driver.process.kill('SIGKILL');
  await driver.exited;
}

/** The framework's live task ids and the ids of its executors on the agents. */
async function frameworkFootprint(
  httpUrl: string,
  frameworkId: string,
): Promise<{ tasks: Array<{ id: string; state: string }>; executors: string[] }> {
  const state: MasterState = await createOperatorClient({ master: httpUrl }).getMasterState();
  const framework = state.frameworks.find((candidate) => candidate.id === frameworkId);
  const executors: string[] = [];
  for (const agent of state.slaves) {
    // pid: slave(1)@host:port
    const address = agent.pid.slice(agent.pid.indexOf('@') + 1);
    const agentState = await getMesosJson<{
      frameworks: Array<{ id: string; executors: Array<{ id: string }> }>;
    }>(`${httpUrl.startsWith('https:') ? 'https' : 'http'}://${address}/state`);
    for (const candidate of agentState.frameworks)
      if (candidate.id === frameworkId) executors.push(...candidate.executors.map((executor) => executor.id));
  }
  return { tasks: (framework?.tasks ?? []).map((task) => ({ id: task.id, state: task.state })), executors };
}

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}

describe(`a driver restarted onto its framework ID (${realMaster ?? 'mesos-local'})`, () => {
  for (const coarse of [true, false]) {
    for (const when of ['busy', 'idle'] as const) {
      const mode = coarse ? 'coarse' : 'fine';
      it(`${mode}-grained, the first driver killed ${when === 'busy' ? 'mid-job' : 'while idle'}: the second runs its job and stops what the first left`, {
        timeout: 120_000,
      }, async () => {
        let cluster: LocalCluster | undefined;
        let first: Driver | undefined;
        let second: Driver | undefined;
        try {
          let master = realMaster;
          let httpUrl = realMaster?.replace(/^mesos(\+https)?:\/\//, (_, https) => (https ? 'https://' : 'http://'));
          if (master === undefined || httpUrl === undefined) {
            cluster = await startLocalCluster({
              agents: 1,
              allocationIntervalMs: 50,
              heartbeatIntervalSeconds: 1,
              statusUpdateRetryMs: 500,
            });
            master = cluster.masterUrl;
            httpUrl = cluster.httpUrl;
          }
          const frameworkIdPrefix = `failover-${mode}-${when}-${Date.now()}`;
          const frameworkId = `${frameworkIdPrefix}-0000`;

          first = startDriver(master, coarse, frameworkIdPrefix, when);
          await first.waitFor(when);
          // Its executors (and, mid-job, its blocked fine-grained tasks) run.
          const before = await poll(
            () => frameworkFootprint(httpUrl, frameworkId),
            (footprint) =>
              // Coarse: its executors are its tasks; fine, mid-job: its two blocked tasks.
              footprint.tasks.filter((task) => task.state === 'TASK_RUNNING').length >=
                (coarse ? 1 : when === 'busy' ? 2 : 0) && footprint.executors.length > 0,
            20_000,
          );
          expect(before.executors.length, first.stderr).toBeGreaterThan(0);
          // Coarse, mid-job: Mesos does not see the blocked tasks; give them time to reach the executors.
          if (coarse && when === 'busy') await new Promise((resolve) => setTimeout(resolve, 500));
          first.process.kill('SIGKILL');
          await first.exited;

          second = startDriver(master, coarse, frameworkIdPrefix, 'second');
          await second.waitFor('count 100\n');
          const oldTasks = new Set(before.tasks.map((task) => task.id));
          const oldExecutors = new Set(before.executors);
          const left = (footprint: { tasks: Array<{ id: string }>; executors: string[] }) => [
            ...footprint.tasks.filter((task) => oldTasks.has(task.id)).map((task) => `task ${task.id}`),
            ...footprint.executors.filter((executor) => oldExecutors.has(executor)).map((id) => `executor ${id}`),
          ];
          const after = await poll(
            () => frameworkFootprint(httpUrl, frameworkId),
            (footprint) => left(footprint).length === 0,
            10_000,
          );
          expect(left(after), second.stderr).toEqual([]);
          // The second driver said what it stopped, and why.
          expect(second.stderr).toMatch(
            coarse
              ? /info: killing Mesos task \S+ on agent \S+ \(TASK_RUNNING\): a previous driver of this framework launched it/
              : /info: (shutting down executor|killing Mesos task) \S+ on agent \S+ .*: a previous driver of this framework/,
          );
          // None of its own ids was refused as a duplicate of the old ones.
          expect(second.stderr).not.toMatch(/duplicate ID|not compatible/);

          if (process.env.SPARK_MESOS_TEST_VERBOSE)
            process.stderr.write(`--- first driver ---\n${first.stderr}--- second driver ---\n${second.stderr}`);
          second.process.stdin?.end();
          await second.waitFor('stopped\n');
          expect(await second.exited, second.stderr).toBe(0);
        } finally {
          await stopDriver(first);
          await stopDriver(second);
          await cluster?.stop();
        }
      });
    }
  }
});
