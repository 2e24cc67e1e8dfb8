// End to end on Mesos: the coarse- and fine-grained backends run jobs on an in-process
// local-cluster (mesos-local), or, unchanged, on the real master named by SPARK_MESOS_TEST_MASTER
// (e.g. mesos://127.0.0.1:5050, on this host, whose agents have Node 20 on PATH; the executor is
// packed into a temporary directory and fetched as file://). Optional: SPARK_MESOS_TEST_PRINCIPAL /
// SPARK_MESOS_TEST_SECRET, SPARK_MESOS_TEST_ROLE.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SparkConf } from '@spark-mesos/config';
import { createOperatorClient, getMesosJson } from '@spark-mesos/mesos-client';
import { type LocalCluster, startLocalCluster } from '@spark-mesos/mesos-local';
import { afterEach, describe, expect, it } from 'vitest';
import { type BackendForMasterOptions, createBackendForMaster } from './backend-for-master.js';
import { prepareExecutorSource } from './mesos-executor-source.js';
import { SparkContext } from './spark-context.js';

const realMaster = process.env.SPARK_MESOS_TEST_MASTER || undefined;
const principal = process.env.SPARK_MESOS_TEST_PRINCIPAL;
const secret = process.env.SPARK_MESOS_TEST_SECRET;
const role = process.env.SPARK_MESOS_TEST_ROLE;
const target = realMaster ?? 'local-cluster[2,2,1024]';

/** Quiet logs (warnings are expected in the failure cases); errors still show. */
const quiet: BackendForMasterOptions['log'] = (level, message) => {
  if (level === 'error' && process.env.SPARK_MESOS_TEST_VERBOSE) process.stderr.write(`${message}\n`);
};

function backendOptions(extra: BackendForMasterOptions = {}): BackendForMasterOptions {
  return {
    log: quiet,
    packExecutorLocally: true,
    localCluster: {
      cluster: { heartbeatIntervalSeconds: 1, allocationIntervalMs: 50, statusUpdateRetryMs: 500 },
      ...extra.localCluster,
    },
    ...(extra.mesos === undefined ? {} : { mesos: extra.mesos }),
  };
}

function clusterConf(name: string, settings: Record<string, string> = {}): SparkConf {
  const conf = new SparkConf().setMaster(target).setAppName(`spark-mesos ${name}`);
  // Polite on a shared real cluster; a local cluster has 4 cores anyway.
  conf.set('spark.cores.max', '4');
  conf.set('spark.mesos.coarse.shutdownTimeout', '3s');
  if (realMaster !== undefined) {
    conf.set('spark.driver.host', '127.0.0.1');
    if (principal !== undefined) conf.set('spark.mesos.principal', principal);
    if (secret !== undefined) conf.set('spark.mesos.secret', secret);
    if (role !== undefined) conf.set('spark.mesos.role', role);
  }
  conf.setAll(settings);
  return conf;
}

/** Warnings of the current test's backend. */
let warnings: string[] = [];

function start(conf: SparkConf, extra: BackendForMasterOptions = {}): Promise<SparkContext> {
  warnings = [];
  const options: BackendForMasterOptions = {
    ...backendOptions(extra),
    log: (level, message) => {
      if (level !== 'info') warnings.push(message);
      quiet?.(level, message);
    },
  };
  return SparkContext.create(conf, { createBackend: (master, c) => createBackendForMaster(master, c, options) });
}

let active: SparkContext | undefined;
afterEach(async () => {
  await active?.stop();
  active = undefined;
});

/** The job both modes must answer as local[2] does. */
async function referenceJob(sc: SparkContext): Promise<{ sum: number; evens: number[]; count: number }> {
  const numbers = sc.range(0, 2000, 1, 8);
  const sum = await numbers.map((x, { k }) => x * k, { k: 3 }).reduce((a, b) => a + b);
  const evens = await numbers.filter((x) => x % 400 === 0).collect();
  const count = await sc
    .parallelize(['a b', 'c', 'd e f'], 3)
    .flatMap((line) => line.split(' '))
    .count();
  return { sum, evens, count };
}

async function localAnswer(): Promise<Awaited<ReturnType<typeof referenceJob>>> {
  const sc = await SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('reference'));
  try {
    return await referenceJob(sc);
  } finally {
    await sc.stop();
  }
}

describe(`Mesos backends on ${target}`, () => {
  for (const mode of ['coarse', 'fine'] as const) {
    it(`${mode}-grained: a job answers as on local[2]`, { timeout: 120_000 }, async () => {
      const expected = await localAnswer();
      active = await start(clusterConf(`${mode} answer`, { 'spark.mesos.coarse': String(mode === 'coarse') }));
      expect(await referenceJob(active)).toEqual(expected);
      // Warm executors: a second job on the same context.
      expect(await active.range(0, 100, 1, 4).count()).toBe(100);
      // Results over the 1 MiB status-data limit (fine-grained: they travel over the driver link).
      const large = await active.runJob(active.range(0, 2, 1, 2), (_items, context) =>
        String(context.partition).repeat(1_500_000),
      );
      expect(large.map((text) => [text.length, text[0]])).toEqual([
        [1_500_000, '0'],
        [1_500_000, '1'],
      ]);
      if (mode === 'coarse') expect(active.executors().length).toBeGreaterThan(0);
    });

    // The counters are the master's, so this needs a master URL to read them: a static real one, or the local cluster.
    it.skipIf(realMaster?.includes('zk://') === true)(
      `${mode}-grained: SUPPRESS while no task waits, REVIVE when tasks come`,
      { timeout: 120_000 },
      async () => {
        let httpUrl = realMaster?.replace(/^mesos(\+https)?:\/\//, (_, https) => (https ? 'https://' : 'http://'));
        active = await start(clusterConf(`${mode} suppress`, { 'spark.mesos.coarse': String(mode === 'coarse') }), {
          localCluster: {
            onCluster: (cluster) => {
              httpUrl = cluster.httpUrl;
            },
          },
        });
        const counters = async () => {
          const snapshot = await getMesosJson<Record<string, number>>(`${httpUrl}/metrics/snapshot`);
          return {
            suppress: snapshot['master/messages_suppress_offers'] ?? 0,
            revive: snapshot['master/messages_revive_offers'] ?? 0,
          };
        };
        const waitFor = async (check: (value: { suppress: number; revive: number }) => boolean) => {
          for (let waited = 0; waited < 10_000; waited += 50) {
            const value = await counters();
            if (check(value)) return value;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          throw new Error(`the counters never matched: ${JSON.stringify(await counters())}`);
        };
        // Nothing to run after start: offers are suppressed.
        const idle = await waitFor((value) => value.suppress >= 1);
        expect(await active.range(0, 10, 1, 2).count()).toBe(10);
        const after = await waitFor((value) => value.suppress > idle.suppress);
        expect(after.revive).toBeGreaterThan(idle.revive);
      },
    );

    it(`${mode}-grained: spark.executorEnv.* and spark.mesos.uris reach the executors`, {
      timeout: 120_000,
    }, async () => {
      const directory = mkdtempSync(join(tmpdir(), 'spark-mesos-uris-'));
      chmodSync(directory, 0o755); // a real agent's fetcher may run as another user
      try {
        writeFileSync(join(directory, 'extra-data.txt'), 'fetched next to the executor');
        active = await start(
          clusterConf(`${mode} env`, {
            'spark.mesos.coarse': String(mode === 'coarse'),
            'spark.executorEnv.SPARK_MESOS_TEST_GREETING': 'hello from the driver',
            'spark.mesos.uris': ` ${pathToFileURL(join(directory, 'extra-data.txt')).href} `,
          }),
        );
        const seen = await active.runJob(active.range(0, 2, 1, 2), () => {
          const fs = process.getBuiltinModule('node:fs');
          const path = process.getBuiltinModule('node:path');
          const sandbox = process.env.MESOS_SANDBOX ?? path.resolve('..');
          return [process.env.SPARK_MESOS_TEST_GREETING, fs.readFileSync(path.join(sandbox, 'extra-data.txt'), 'utf8')];
        });
        expect(seen).toEqual([
          ['hello from the driver', 'fetched next to the executor'],
          ['hello from the driver', 'fetched next to the executor'],
        ]);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    });

    it(`${mode}-grained: runs the executor from spark.mesos.executor.home`, { timeout: 120_000 }, async () => {
      // An installed executor: the package extracted into a directory every agent (this host) sees.
      const packed = await prepareExecutorSource(new SparkConf(), { packLocally: true });
      const home = mkdtempSync(join(tmpdir(), 'spark-mesos-home-'));
      chmodSync(home, 0o755); // a real agent may run the executor as another user
      try {
        const file = fileURLToPath((packed.source as { executorUri: string }).executorUri);
        execFileSync('tar', ['-xzf', file, '-C', home]);
        active = await start(
          clusterConf(`${mode} home`, {
            'spark.mesos.coarse': String(mode === 'coarse'),
            'spark.mesos.executor.home': join(home, 'spark-mesos-executor'),
          }),
        );
        const cwd = await active.runJob(active.range(0, 1, 1, 1), () => process.cwd());
        expect(cwd).toEqual([join(home, 'spark-mesos-executor')]);
      } finally {
        packed.cleanup();
        rmSync(home, { recursive: true, force: true });
      }
    });

    it(`${mode}-grained: a job completes when an executor crashes in the middle`, { timeout: 120_000 }, async () => {
      active = await start(clusterConf(`${mode} crash`, { 'spark.mesos.coarse': String(mode === 'coarse') }));
      const results = await active.runJob(active.range(0, 40, 1, 4), async (items, context) => {
        if (context.partition === 1 && context.attempt === 0) {
          // Kill the whole executor process (not only this worker thread), as a crash would.
          process.kill(process.pid, 'SIGKILL');
          await new Promise((resolve) => setTimeout(resolve, 10_000));
        }
        let total = 0;
        for (const item of items) total += item;
        return total;
      });
      expect(results).toEqual([45, 145, 245, 345]);
      // The executor did die (a thrown error would also have been retried).
      expect(warnings.some((warning) => /^executor \S+ on \S+ lost: /.test(warning))).toBe(true);
    });

    // Killing an agent needs mesos-local's test hooks: skipped against a real master.
    it.skipIf(realMaster !== undefined)(
      `${mode}-grained: an agent lost in the middle of a job: the job completes on the other`,
      { timeout: 120_000 },
      async () => {
        let cluster: LocalCluster | undefined;
        active = await start(clusterConf(`${mode} agent lost`, { 'spark.mesos.coarse': String(mode === 'coarse') }), {
          localCluster: {
            onCluster: (started) => {
              cluster = started;
            },
          },
        });
        const sc = active;
        const job = sc.runJob(sc.range(0, 8, 1, 8), async (items) => {
          await new Promise((resolve) => setTimeout(resolve, 300));
          let total = 0;
          for (const item of items) total += item;
          return total;
        });
        for (let waited = 0; sc.executors().length < 2 && waited < 30_000; waited += 20) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(sc.executors().length).toBe(2);
        // Kill an agent that runs one of our Mesos tasks now (in fine-grained mode an agent's
        // executor may be idle at this moment, and an idle one is lost without a task to tell).
        let busyAgent: string | undefined;
        for (let waited = 0; busyAgent === undefined && waited < 30_000; waited += 20) {
          const state = (await (await fetch(`${cluster!.httpUrl}/master/state`)).json()) as {
            frameworks: Array<{ tasks: Array<{ state: string; slave_id: string }> }>;
          };
          busyAgent = state.frameworks
            .flatMap((framework) => framework.tasks)
            .find((task) => task.state === 'TASK_RUNNING')?.slave_id;
          if (busyAgent === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(busyAgent).toBeDefined();
        await cluster!.hooks.killAgent(busyAgent!);
        expect(await job).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
        expect(warnings.some((warning) => /^executor \S+ on \S+ lost: /.test(warning))).toBe(true);
      },
    );

    if (mode === 'fine') {
      // The executor process is found through what a task sees (a task runs in a worker thread
      // of its executor's process); killing it needs this host: skipped against a real master.
      it.skipIf(realMaster !== undefined)(
        'fine-grained: an idle executor whose process dies is forgotten (FAILURE), and the next task on its agent starts a new one',
        { timeout: 120_000 },
        async () => {
          active = await start(clusterConf('fine idle executor lost', { 'spark.mesos.coarse': 'false' }));
          const sc = active;
          const whereTasksRan = async () =>
            sc.runJob(sc.range(0, 8, 1, 8), async () => {
              await new Promise((resolve) => setTimeout(resolve, 50));
              return { agent: process.env.MESOS_SLAVE_ID, executor: process.env.MESOS_EXECUTOR_ID, pid: process.pid };
            });
          const before = await whereTasksRan();
          const victim = before[0]!;
          expect(victim.agent).toBeDefined();
          // The job is over: the executor is idle, no task of it will tell its death.
          process.kill(victim.pid, 'SIGKILL');
          const lost = new RegExp(`^executor ${victim.executor} on \\S+ lost: its process `);
          for (let waited = 0; !warnings.some((warning) => lost.test(warning)) && waited < 10_000; waited += 20) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          expect(warnings.find((warning) => lost.test(warning))).toBeDefined();
          expect(sc.executors().map((executor) => executor.executorId)).not.toContain(victim.executor);
          // Jobs still run, and one lands on that agent again, in a new executor.
          let again: Awaited<ReturnType<typeof whereTasksRan>>[number] | undefined;
          for (let job = 0; again === undefined && job < 10; job++) {
            const ran = await whereTasksRan();
            expect(ran).toHaveLength(8);
            again = ran.find((place) => place.agent === victim.agent);
          }
          expect(again).toBeDefined();
          expect(again?.executor).not.toBe(victim.executor);
          expect(again?.pid).not.toBe(victim.pid);
        },
      );

      it.skipIf(realMaster !== undefined)(
        'fine-grained: an executor that exits cleanly is not held against its agent; one killed is (spark.mesos.maxAgentFailures)',
        { timeout: 120_000 },
        async () => {
          active = await start(
            clusterConf('fine agent failures', { 'spark.mesos.coarse': 'false', 'spark.mesos.maxAgentFailures': '1' }),
          );
          const sc = active;
          const whereTasksRan = async () =>
            sc.runJob(sc.range(0, 8, 1, 8), async () => {
              await new Promise((resolve) => setTimeout(resolve, 50));
              return { agent: process.env.MESOS_SLAVE_ID, executor: process.env.MESOS_EXECUTOR_ID, pid: process.pid };
            });
          const lostWarning = async (executorId: string | undefined): Promise<string> => {
            const lost = new RegExp(`^executor ${executorId} on \\S+ lost: its process `);
            for (let waited = 0; !warnings.some((warning) => lost.test(warning)) && waited < 10_000; waited += 20) {
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
            return warnings.find((warning) => lost.test(warning)) ?? '(no warning)';
          };
          const onAgent = async (agent: string | undefined) => {
            for (let job = 0; job < 10; job++) {
              const found = (await whereTasksRan()).find((place) => place.agent === agent);
              if (found !== undefined) return found;
            }
            return undefined;
          };
          const first = (await whereTasksRan())[0]!;
          // SIGTERM: the executor shuts down and exits with code 0.
          process.kill(first.pid, 'SIGTERM');
          expect(await lostWarning(first.executor)).toMatch(/exited with code 0$/);
          const second = await onAgent(first.agent);
          expect(second?.executor).toBeDefined();
          expect(second?.executor).not.toBe(first.executor);
          // SIGKILL: a failure of the agent; with spark.mesos.maxAgentFailures=1 it gets no more tasks.
          process.kill(second!.pid, 'SIGKILL');
          expect(await lostWarning(second!.executor)).toMatch(/(killed by signal 9 \(SIGKILL\)|exited with code 137)$/);
          for (let job = 0; job < 3; job++) {
            expect((await whereTasksRan()).map((place) => place.agent)).not.toContain(first.agent);
          }
        },
      );

      // Removing an agent needs mesos-local's test hooks: skipped against a real master.
      it.skipIf(realMaster !== undefined)(
        'fine-grained: an idle executor on an agent Mesos removes is lost (FAILURE with the agent only)',
        { timeout: 120_000 },
        async () => {
          let cluster: LocalCluster | undefined;
          active = await start(clusterConf('fine agent removed', { 'spark.mesos.coarse': 'false' }), {
            localCluster: {
              onCluster: (started) => {
                cluster = started;
              },
            },
          });
          const sc = active;
          const agents = await sc.runJob(sc.range(0, 4, 1, 4), () => process.env.MESOS_SLAVE_ID);
          const removed = agents[0]!;
          cluster!.hooks.setAgentReachable(removed, false);
          const lost = /^executor \S+ on \S+ lost: its agent was removed$/;
          for (let waited = 0; !warnings.some((warning) => lost.test(warning)) && waited < 10_000; waited += 20) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          expect(warnings.filter((warning) => lost.test(warning))).toHaveLength(1);
          // The job runs on the agent left.
          expect(new Set(await sc.runJob(sc.range(0, 4, 1, 4), () => process.env.MESOS_SLAVE_ID))).not.toContain(
            removed,
          );
        },
      );
    }

    // Failing the master over needs mesos-local's test hooks: skipped against a real master.
    it.skipIf(realMaster !== undefined)(
      `${mode}-grained: a master failover in the middle of a job: the framework subscribes again and the job completes`,
      { timeout: 120_000 },
      async () => {
        let cluster: LocalCluster | undefined;
        active = await start(clusterConf(`${mode} failover`, { 'spark.mesos.coarse': String(mode === 'coarse') }), {
          localCluster: {
            onCluster: (started) => {
              cluster = started;
            },
          },
        });
        const sc = active;
        const job = sc.runJob(sc.range(0, 12, 1, 12), async (items) => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          let total = 0;
          for (const item of items) total += item;
          return total;
        });
        for (let waited = 0; sc.executors().length < 2 && waited < 30_000; waited += 20) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        cluster!.hooks.failoverMaster();
        expect(await job).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        // And the next job runs too, on the new master.
        expect(await sc.range(0, 20, 1, 4).count()).toBe(20);
      },
    );

    it(`${mode}-grained: a task that always fails fails the job after spark.task.maxFailures, with its error and sandbox stderr`, {
      timeout: 120_000,
    }, async () => {
      active = await start(
        clusterConf(`${mode} always fails`, {
          'spark.mesos.coarse': String(mode === 'coarse'),
          'spark.task.maxFailures': '2',
        }),
      );
      const error = (await active
        .runJob(active.range(0, 4, 1, 2), (_items, context) => {
          console.error(`diagnostic line of partition ${context.partition}`);
          throw new Error(`boom in partition ${context.partition}`);
        })
        .catch((caught: unknown) => caught)) as { code: string; message: string };
      expect(error.code).toBe('SM_ERR_JOB_FAILED');
      expect(error.message).toMatch(/failed 2 times/);
      expect(error.message).toMatch(/boom in partition \d/);
      expect(error.message).toContain('tail of the stderr in the sandbox of');
    });

    it(`${mode}-grained: an unreachable executor URI fails fast naming the URI and the fetch error`, {
      timeout: 90_000,
    }, async () => {
      const port = await closedPort();
      const uri = `http://127.0.0.1:${port}/spark-mesos-executor-0123456789abcdef.tgz`;
      active = await start(
        clusterConf(`${mode} bad uri`, { 'spark.mesos.coarse': String(mode === 'coarse'), 'spark.executor.uri': uri }),
      );
      const error = (await active
        .range(0, 10, 1, 2)
        .count()
        .catch((caught: unknown) => caught)) as { code: string; message: string };
      expect(error.code).toBe('SM_ERR_EXECUTOR_LAUNCH_FAILED');
      expect(error.message).toContain(uri);
      expect(error.message).toContain('tail of the stderr in the sandbox of');
      // The fetcher's own words, read from the sandbox: the URI again, and the refused connection.
      const sandboxPart = error.message.slice(error.message.indexOf('tail of the stderr'));
      expect(sandboxPart).toContain(`127.0.0.1:${port}`);
    });
  }

  it('coarse-grained: short tasks are pipelined (spark.mesos.coarse.pipelineDepth) while a backlog lasts', {
    timeout: 120_000,
  }, async () => {
    active = await start(clusterConf('pipelined', { 'spark.mesos.coarse.pipelineDepth': '8' }));
    const sc = active;
    const baseSlots = async () => {
      await sc.range(0, 4, 1, 4).count();
      return Math.max(...sc.executors().map((executor) => executor.slots));
    };
    const base = await baseSlots();
    let most = 0;
    const sampler = setInterval(() => {
      for (const executor of sc.executors()) most = Math.max(most, executor.slots);
    }, 5);
    try {
      expect(await sc.range(0, 3000, 1, 3000).count()).toBe(3000);
    } finally {
      clearInterval(sampler);
    }
    expect(most).toBe(base * 8);
    // The backlog is gone: one task per slot again.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Math.max(...sc.executors().map((executor) => executor.slots))).toBe(base);
    // Long tasks are not pipelined (once the average shows they are long).
    const long = async () => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      return 1;
    };
    await sc.runJob(sc.range(0, 40, 1, 40), long);
    most = 0;
    const longSampler = setInterval(() => {
      for (const executor of sc.executors()) most = Math.max(most, executor.slots);
    }, 5);
    try {
      expect(await sc.runJob(sc.range(0, 40, 1, 40), long)).toHaveLength(40);
    } finally {
      clearInterval(longSampler);
    }
    expect(most).toBe(base);
  });

  it('coarse-grained with spark.mesos.coarse.pipelineDepth=1: one task per slot, as Spark', {
    timeout: 120_000,
  }, async () => {
    const expected = await localAnswer();
    active = await start(clusterConf('not pipelined', { 'spark.mesos.coarse.pipelineDepth': '1' }));
    const sc = active;
    let most = 0;
    const sampler = setInterval(() => {
      for (const executor of sc.executors()) most = Math.max(most, executor.slots);
    }, 5);
    try {
      expect(await referenceJob(sc)).toEqual(expected);
      expect(await sc.range(0, 1000, 1, 1000).count()).toBe(1000);
    } finally {
      clearInterval(sampler);
    }
    // Never more than an executor's cores / spark.task.cpus.
    expect(most).toBe(Math.max(...sc.executors().map((executor) => executor.slots)));
  });

  it.skipIf(realMaster?.includes('zk://') === true)(
    'coarse-grained: stop() lets the executors exit, then tears the framework down',
    { timeout: 120_000 },
    async () => {
      // A master that outlives the context: the real one, or a cluster of this test's own.
      let cluster: LocalCluster | undefined;
      if (realMaster === undefined) cluster = await startLocalCluster({ agents: 1, allocationIntervalMs: 50 });
      try {
        const masterUrl = realMaster ?? (cluster as LocalCluster).masterUrl;
        const httpUrl = masterUrl.replace(/^mesos(\+https)?:\/\//, (_, https) => (https ? 'https://' : 'http://'));
        const name = `spark-mesos stop ${Date.now()}`;
        const conf = clusterConf('stop').setMaster(masterUrl).setAppName(name).set('spark.driver.host', '127.0.0.1');
        active = await start(conf);
        expect(await active.range(0, 10, 1, 2).count()).toBe(10);
        await active.stop();
        active = undefined;
        const state = await createOperatorClient({ master: httpUrl }).getMasterState();
        expect(state.frameworks.some((framework) => framework.name === name)).toBe(false);
        const finished = state.completed_frameworks.find((framework) => framework.name === name);
        expect(finished).toBeDefined();
        const executorTasks = finished?.completed_tasks ?? [];
        expect(executorTasks.length).toBeGreaterThan(0);
        // Asked to exit before TEARDOWN, each executor ended by itself (TEARDOWN would kill it).
        expect(new Set(executorTasks.map((task) => task.state))).toEqual(new Set(['TASK_FINISHED']));
      } finally {
        await cluster?.stop();
      }
    },
  );

  it('an unknown master fails SparkContext.create with a clear error', { timeout: 30_000 }, async () => {
    const port = await closedPort();
    const conf = new SparkConf()
      .setMaster(`mesos://127.0.0.1:${port}`)
      .setAppName('unknown master')
      .set('spark.mesos.subscribeTimeout', '2s');
    const error = (await start(conf).catch((caught: unknown) => caught)) as { code: string; message: string };
    expect(error.code).toBe('SM_ERR_MESOS_UNREACHABLE');
    expect(error.message).toContain(`mesos://127.0.0.1:${port}`);
    expect(error.message).toContain('spark.master');
  });

  // A real master's credentials are not ours to choose: skipped there.
  it.skipIf(realMaster !== undefined)(
    'authenticates with SPARK_MESOS_PRINCIPAL and spark.mesos.secret.file',
    { timeout: 60_000 },
    async () => {
      const directory = mkdtempSync(join(tmpdir(), 'spark-mesos-secret-'));
      try {
        writeFileSync(join(directory, 'secret'), 'the-secret');
        const conf = new SparkConf({ env: (name) => (name === 'SPARK_MESOS_PRINCIPAL' ? 'spark' : undefined) })
          .setMaster(target)
          .setAppName('auth accepted')
          .set('spark.mesos.secret.file', join(directory, 'secret'));
        active = await start(conf, {
          localCluster: { cluster: { credentials: [{ principal: 'spark', secret: 'the-secret' }] } },
        });
        expect(await active.range(0, 10, 1, 2).count()).toBe(10);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
  );

  // A real master's credentials are not ours to get wrong on purpose: skipped there.
  it.skipIf(realMaster !== undefined)(
    'Mesos authentication refused is a clear driver error',
    { timeout: 60_000 },
    async () => {
      const conf = clusterConf('auth refused', {
        'spark.mesos.principal': 'spark',
        'spark.mesos.secret': 'not-the-secret',
      });
      const error = (await start(conf, {
        localCluster: { cluster: { credentials: [{ principal: 'spark', secret: 'the-secret' }] } },
      }).catch((caught: unknown) => caught)) as { code: string; message: string };
      expect(error.code).toBe('SM_ERR_MESOS_AUTHENTICATION');
      expect(error.message).toContain('Mesos authentication refused');
      expect(error.message).toContain('principal "spark"');
      expect(error.message).not.toContain('not-the-secret');
    },
  );
});

/** A port nothing listens on (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
