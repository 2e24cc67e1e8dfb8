// A driver program that never calls sc.stop() ends by itself after its last job, as a Spark
// driver does when main returns (Spark's shutdown hook stops the context): between jobs the
// context holds nothing that keeps Node alive, and at beforeExit it stops gracefully. Each case
// runs `node program.mjs` on the built package, as a user would.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findZooKeeper, startZooKeeperServer } from '@spark-mesos/master-url/testing';
import { createOperatorClient } from '@spark-mesos/mesos-client';
import { startLocalCluster } from '@spark-mesos/mesos-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));
let directory: string;

beforeAll(() => {
  if (!existsSync(built)) throw new Error(`@spark-mesos/core is not built (${built} is missing): run pnpm build first`);
  directory = mkdtempSync(join(tmpdir(), 'spark-mesos-exit-'));
  // One job, then the end of the program: no sc.stop().
  writeFileSync(
    join(directory, 'no-stop.mjs'),
    [
      `import { createBackendForMaster, SparkConf, SparkContext } from ${JSON.stringify(pathToFileURL(built).href)};`,
      'const [master, coarse, name] = process.argv.slice(2);',
      "const conf = new SparkConf().setMaster(master).setAppName(name).set('spark.mesos.coarse', coarse);",
      // A framework that outlives its scheduler's connection: only a TEARDOWN removes it at once.
      "if (master.startsWith('mesos://')) conf.set('spark.driver.host', '127.0.0.1').set('spark.mesos.driver.failoverTimeout', '600');",
      'const sc = await SparkContext.create(conf, {',
      '  createBackend: (parsed, c) => createBackendForMaster(parsed, c, { packExecutorLocally: true }),',
      '});',
      "process.on('exit', (code) => console.log('exit ' + code + ', stopped ' + sc.isStopped));",
      "console.log('count', await sc.range(0, 100, 1, 4).count());",
    ].join('\n'),
  );
});

afterAll(() => {
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

function runProgram(
  master: string,
  coarse: boolean,
  name = 'no-stop',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['no-stop.mjs', master, String(coarse), name],
      // A program that hangs is killed (and fails the test) after this long.
      { cwd: directory, timeout: 60_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
      },
    );
  });
}

describe('a program that never stops its SparkContext', () => {
  const cases: Array<[string, string, boolean]> = [
    ['local[2]', 'local[2]', true],
    ['local-cluster coarse-grained', 'local-cluster[2,1,1024]', true],
    ['local-cluster fine-grained', 'local-cluster[2,1,1024]', false],
  ];
  for (const [label, master, coarse] of cases) {
    it(`exits with status 0 after its last job on ${label}, the context stopped`, { timeout: 90_000 }, async () => {
      const { code, stdout, stderr } = await runProgram(master, coarse);
      expect(code, stderr).toBe(0);
      expect(stdout).toContain('count 100\n');
      expect(stdout).toContain('exit 0, stopped true\n');
    });
  }

  it('runs its jobs and exits 0 when given as node --input-type=module -e <program> (local[2])', {
    timeout: 90_000,
  }, async () => {
    // The task workers must not inherit --input-type=module (their CommonJS source would fail to
    // load, and the pool would replace them forever: a busy CPU and no output).
    const program = [
      `import { SparkConf, SparkContext } from ${JSON.stringify(pathToFileURL(built).href)};`,
      "const sc = await SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('eval'));",
      "console.log('sum', await sc.range(0, 10, 1, 2).map((x) => x * 2).reduce((a, b) => a + b));",
    ].join('\n');
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          ['--input-type=module', '-e', program],
          { cwd: directory, timeout: 60_000, killSignal: 'SIGKILL' },
          (error, out, err) =>
            resolve({
              code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
              stdout: out,
              stderr: err,
            }),
        );
      },
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('sum 90\n');
  });

  it.skipIf(!findZooKeeper() && process.env.CI !== 'true')(
    'exits and tears its framework down on a master found in ZooKeeper (mesos://zk://…)',
    { timeout: 90_000 },
    async () => {
      // The scheduler client's ZooKeeper session must not hold the process either.
      const zookeeper = await startZooKeeperServer();
      const cluster = await startLocalCluster({
        agents: 1,
        allocationIntervalMs: 50,
        heartbeatIntervalSeconds: 1,
        zookeeper: `zk://${zookeeper.connectionString}/mesos-exit`,
      });
      try {
        expect(cluster.masterUrl).toMatch(/^mesos:\/\/zk:\/\//);
        const name = `no-stop zk ${Date.now()}`;
        const { code, stdout, stderr } = await runProgram(cluster.masterUrl, true, name);
        expect(code, stderr).toBe(0);
        expect(stdout).toContain('count 100\n');
        const state = await createOperatorClient({ master: cluster.httpUrl }).getMasterState();
        expect(state.completed_frameworks.some((framework) => framework.name === name)).toBe(true);
      } finally {
        await cluster.stop();
        await zookeeper.stop();
      }
    },
  );

  for (const coarse of [true, false]) {
    it(`tears its framework down on a Mesos master at exit (${coarse ? 'coarse' : 'fine'}-grained)`, {
      timeout: 90_000,
    }, async () => {
      const cluster = await startLocalCluster({ agents: 1, allocationIntervalMs: 50, heartbeatIntervalSeconds: 1 });
      try {
        const name = `no-stop ${coarse ? 'coarse' : 'fine'} ${Date.now()}`;
        const { code, stdout, stderr } = await runProgram(cluster.masterUrl, coarse, name);
        expect(code, stderr).toBe(0);
        expect(stdout).toContain('count 100\n');
        const state = await createOperatorClient({ master: cluster.httpUrl }).getMasterState();
        expect(state.frameworks.some((framework) => framework.name === name)).toBe(false);
        expect(state.completed_frameworks.some((framework) => framework.name === name)).toBe(true);
      } finally {
        await cluster.stop();
      }
    });
  }
});
