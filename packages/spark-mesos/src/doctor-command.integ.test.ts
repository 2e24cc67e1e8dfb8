// `spark-mesos doctor` against a local Mesos cluster (or, unchanged, the real master named by
// SPARK_MESOS_TEST_MASTER) and a local HTTP server standing in for the executor package's host.
// The CLI cases run the built dist/cli.js: run `pnpm build` first when running this file alone.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findZooKeeper, startZooKeeperServer, type ZooKeeperTestServer } from '@spark-mesos/master-url/testing';
import { createSchedulerClient, type MasterState, type Offer, type SchedulerClient } from '@spark-mesos/mesos-client';
import { type LocalCluster, startLocalCluster } from '@spark-mesos/mesos-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DoctorReport, runDoctorCommand } from './doctor-command.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const realMaster = process.env.SPARK_MESOS_TEST_MASTER || undefined;
const PACKAGE_BYTES = 'not really a package, but it has a length';

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The built CLI in a process of its own, with no SPARK_* or MASTER of the test's environment. */
function cli(args: string[]): Promise<Result> {
  expect(existsSync(CLI), `${CLI} is missing: build spark-mesos first (pnpm build)`).toBe(true);
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('SPARK_') || name === 'MASTER') delete env[name];
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

/** The command in this process, with an empty environment (no spark-defaults.conf, no SPARK_*). */
async function doctor(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await runDoctorCommand(args, {
    env: options.env ?? {},
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

/** The line of the text report that starts check `name`. */
function checkLine(stdout: string, name: string): string {
  const line = stdout.split('\n').find((text) => new RegExp(`^\\S+\\s+${name}\\s`).test(text));
  expect(line, stdout).toBeDefined();
  return line!;
}

describe('spark-mesos doctor', () => {
  let cluster: LocalCluster | undefined;
  let master: string;
  let packageServer: Server;
  let packageUrl: string;
  let missingUrl: string;

  beforeAll(async () => {
    if (realMaster === undefined) {
      cluster = await startLocalCluster({
        agents: 2,
        resources: 'cpus:4;mem:4096;disk:10000;ports:[31000-32000]',
        attributes: 'zone:a',
        allocationIntervalMs: 50,
        heartbeatIntervalSeconds: 1,
      });
      master = cluster.masterUrl;
    } else {
      master = realMaster;
    }
    packageServer = createServer((request, response) => {
      if (request.url === '/spark-mesos-executor.tgz') {
        response.setHeader('content-length', String(Buffer.byteLength(PACKAGE_BYTES)));
        response.end(PACKAGE_BYTES);
      } else {
        response.statusCode = 404;
        response.end('not found');
      }
    });
    await new Promise<void>((resolve) => packageServer.listen(0, '127.0.0.1', resolve));
    const { port } = packageServer.address() as AddressInfo;
    packageUrl = `http://127.0.0.1:${port}/spark-mesos-executor.tgz`;
    missingUrl = `http://127.0.0.1:${port}/missing/spark-mesos-executor.tgz`;
  });

  afterAll(async () => {
    await cluster?.stop();
    packageServer.closeAllConnections();
    await new Promise<void>((resolve) => packageServer.close(() => resolve()));
  });

  it('passes a healthy setup (the built CLI): lists the agents and says how many executors would start', async () => {
    const { code, stdout, stderr } = await cli([
      'doctor',
      '--master',
      master,
      '--conf',
      `spark.executor.uri=${packageUrl}`,
    ]);
    expect(code, stdout + stderr).toBe(0);
    expect(checkLine(stdout, 'master')).toMatch(/^ok\s+master\s+.*answers, \d+ active agent\(s\)/);
    expect(checkLine(stdout, 'agents')).toMatch(/^ok\s+agents\s+\d+ active agent\(s\)/);
    expect(checkLine(stdout, 'executors')).toMatch(
      /^(ok|warn)\s+executors\s+would start \d+ executor\(s\) on \d+ of \d+ agent/,
    );
    expect(checkLine(stdout, 'executor-package')).toContain(
      `${packageUrl} (from --conf #1) answered 200, ${Buffer.byteLength(PACKAGE_BYTES)} bytes`,
    );
    if (cluster !== undefined) {
      // Each agent listed with its resources and attributes; one executor of all its cores each
      // (spark.executor.cores unset), 1024 MB + the 384 MB minimum overhead.
      for (const agent of cluster.agents) {
        expect(stdout).toMatch(
          new RegExp(
            `ok\\s+127\\.0\\.0\\.1 \\(${agent.id}\\): unreserved cpus 4, mem 4096 MB, disk 10000 MB, gpus 0, ports \\[31000-32000\\]; used .*; attributes zone:a`,
          ),
        );
        expect(stdout).toMatch(
          new RegExp(`ok\\s+127\\.0\\.0\\.1 \\(${agent.id}\\): would start 1 executor\\(s\\) of 4 cpus / 1408 MB`),
        );
      }
      expect(checkLine(stdout, 'executors')).toContain('would start 2 executor(s) on 2 of 2 agent(s)');
    }
  });

  it('fails when executors need more memory than any agent has, with the planner numbers', async () => {
    const { code, stdout } = await doctor([
      '--master',
      master,
      '--conf',
      'spark.executor.memory=1000g',
      '--conf',
      `spark.executor.uri=${packageUrl}`,
    ]);
    expect(code, stdout).toBe(1);
    expect(checkLine(stdout, 'executors')).toMatch(/^FAIL\s+executors\s+no agent fits an executor/);
    // 1000 GiB + 10 % overhead = 1126400 MB.
    expect(stdout).toMatch(/would start nothing: needs 1126400 MB memory, offers \d+ MB/);
    if (cluster !== undefined) expect(stdout).toContain('needs 1126400 MB memory, offers 4096 MB');
  });

  it('names the unmet constraint and what the agents offer', async () => {
    const { code, stdout } = await doctor([
      '--master',
      master,
      '--conf',
      'spark.mesos.constraints=zone:nowhere',
      '--conf',
      `spark.executor.uri=${packageUrl}`,
    ]);
    expect(code, stdout).toBe(1);
    expect(checkLine(stdout, 'executors')).toMatch(/^FAIL/);
    expect(stdout).toMatch(/would start nothing: constraint zone:nowhere unmet/);
    if (cluster !== undefined) expect(stdout).toContain('constraint zone:nowhere unmet: offered a');
  });

  it('fails the executor package when its URI answers 404, naming the URI', async () => {
    const { code, stdout } = await doctor(['--master', master, '--conf', `spark.executor.uri=${missingUrl}`]);
    expect(code, stdout).toBe(1);
    expect(checkLine(stdout, 'executor-package')).toMatch(
      new RegExp(
        `^FAIL\\s+executor-package\\s+spark\\.executor\\.uri ${missingUrl.replace(/[.?]/g, '\\$&')} .*answered 404`,
      ),
    );
    // The other checks still ran and passed.
    // (A real cluster may have agents too small for an executor: warn, not FAIL.)
    expect(checkLine(stdout, 'executors')).toMatch(/^(ok|warn)\s/);
  });

  it('fails the executor package with the fix when neither spark.executor.uri nor spark.mesos.executor.home is set', async () => {
    const { code, stdout } = await doctor(['--master', master]);
    expect(code, stdout).toBe(1);
    expect(checkLine(stdout, 'executor-package')).toMatch(/^FAIL.*set spark\.executor\.uri \(or SPARK_EXECUTOR_URI\)/);
  });

  it('exits 4 when the master cannot be reached (the built CLI), and still checks the rest', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { code, stdout } = await cli([
      'doctor',
      '--master',
      `mesos://127.0.0.1:${port}`,
      '--conf',
      'spark.mesos.executor.home=/opt/spark-mesos',
    ]);
    expect(code, stdout).toBe(4);
    expect(checkLine(stdout, 'master')).toMatch(
      new RegExp(`^FAIL\\s+master\\s+mesos://127\\.0\\.0\\.1:${port} could not be reached: .*ECONNREFUSED`),
    );
    expect(checkLine(stdout, 'agents')).toMatch(/^skip/);
    expect(checkLine(stdout, 'executor-package')).toMatch(/^ok.*\/opt\/spark-mesos.*must exist.*on every agent/);
  });

  it('reads the configuration as submit does: SPARK_EXECUTOR_URI and the properties file', async () => {
    const fromEnv = await doctor(['--master', master], { env: { SPARK_EXECUTOR_URI: packageUrl } });
    expect(fromEnv.code, fromEnv.stdout).toBe(0);
    expect(checkLine(fromEnv.stdout, 'executor-package')).toContain(
      `${packageUrl} (from env SPARK_EXECUTOR_URI) answered 200`,
    );
    const directory = mkdtempSync(join(tmpdir(), 'spark-mesos-doctor-'));
    try {
      const properties = join(directory, 'app.conf');
      writeFileSync(properties, `spark.master ${master}\nspark.executor.uri ${missingUrl}\n`);
      const fromFile = await doctor(['--properties-file', properties]);
      expect(fromFile.code, fromFile.stdout).toBe(1);
      expect(checkLine(fromFile.stdout, 'executor-package')).toContain(
        `${missingUrl} (from ${properties}:2) answered 404`,
      );
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("reads the master with the driver's credentials, and refuses a secret without a principal (exit 3)", async () => {
    const withPrincipal = await doctor([
      '--master',
      master,
      '--conf',
      'spark.mesos.principal=doctor-principal',
      '--conf',
      'spark.mesos.secret=doctor-secret',
      '--conf',
      `spark.executor.uri=${packageUrl}`,
    ]);
    expect(withPrincipal.code, withPrincipal.stdout).toBe(0);
    expect(checkLine(withPrincipal.stdout, 'master')).toContain('read as principal "doctor-principal"');
    const secretOnly = await doctor(['--master', master, '--conf', 'spark.mesos.secret=doctor-secret']);
    expect(secretOnly.code, secretOnly.stderr).toBe(3);
    expect(secretOnly.stderr).toContain('spark.mesos.principal must be configured when spark.mesos.secret is set');
  });

  it('prints the same checks as JSON with --json', async () => {
    const { code, stdout } = await doctor(['--master', master, '--json', '--conf', `spark.executor.uri=${packageUrl}`]);
    expect(code, stdout).toBe(0);
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report.exitCode).toBe(0);
    expect(report.checks.map((check) => check.name)).toEqual([
      'master',
      'agents',
      'executors',
      'executor-package',
      'driver-address',
    ]);
    const executors = report.checks.find((check) => check.name === 'executors')!;
    expect(executors.status).not.toBe('FAIL');
    if (cluster !== undefined) expect(executors.status).toBe('ok');
    expect(executors.lines.some((line) => /would start \d+ executor/.test(line.text))).toBe(true);
    if (cluster !== undefined) expect(report.checks[1]!.lines).toHaveLength(2);
  });

  it('plans fine-grained mode with its probe tasks', async () => {
    const { code, stdout } = await doctor([
      '--master',
      master,
      '--conf',
      'spark.mesos.coarse=false',
      '--conf',
      `spark.executor.uri=${packageUrl}`,
    ]);
    expect(code, stdout).toBe(0);
    expect(checkLine(stdout, 'executors')).toMatch(/would place \d+ of 8 task\(s\)/);
    expect(stdout).toMatch(
      /would start the fine-grained executor \(1 cpus \/ 1408 MB\) and \d+ task\(s\) of 1 cpu\(s\)/,
    );
  });
});

describe.skipIf(realMaster !== undefined)('spark-mesos doctor with resources reserved for a role', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startLocalCluster({
      agents: 1,
      resources: 'cpus:1;mem:1024;disk:1000;ports:[31000-31010];cpus(spark):3;mem(spark):2048',
      allocationIntervalMs: 50,
      heartbeatIntervalSeconds: 1,
    });
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('plans with the unreserved resources and those reserved for spark.mesos.role', async () => {
    const agentId = cluster.agents[0]!.id;
    const withRole = await doctor([
      '--master',
      cluster.masterUrl,
      '--conf',
      'spark.mesos.role=spark',
      '--conf',
      'spark.mesos.executor.home=/opt/spark-mesos',
    ]);
    expect(withRole.code, withRole.stdout).toBe(0);
    expect(withRole.stdout).toContain('reserved for spark cpus 3, mem 2048 MB');
    // 1 unreserved + 3 reserved cpus; 1408 MB of 1024 unreserved + 2048 reserved.
    expect(withRole.stdout).toMatch(new RegExp(`\\(${agentId}\\): would start 1 executor\\(s\\) of 4 cpus / 1408 MB`));
    const withoutRole = await doctor([
      '--master',
      cluster.masterUrl,
      '--conf',
      'spark.mesos.executor.home=/opt/spark-mesos',
    ]);
    // Without the role only the unreserved 1024 MB are offered: too little for 1408 MB.
    expect(withoutRole.code, withoutRole.stdout).toBe(1);
    expect(withoutRole.stdout).toContain('reserved for other roles: spark');
    expect(withoutRole.stdout).toContain('would start nothing: needs 1408 MB memory, offers 1024 MB');
  });
});

describe.skipIf(realMaster !== undefined)('spark-mesos doctor with resources in use', () => {
  let cluster: LocalCluster;
  let scheduler: SchedulerClient;
  beforeAll(async () => {
    cluster = await startLocalCluster({
      agents: 1,
      resources: 'cpus:4;mem:4096;disk:1000;ports:[31000-31010]',
      allocationIntervalMs: 50,
      heartbeatIntervalSeconds: 1,
    });
    scheduler = createSchedulerClient({
      master: cluster.masterUrl,
      encoding: 'json',
      reconcile: { enabled: false },
      frameworkInfo: { user: userInfo().username, name: 'spark-mesos doctor test' },
    });
    const offered = new Promise<Offer>((resolve) => {
      scheduler.on('event', (event) => {
        const offer = event.type === 'OFFERS' ? event.offers?.offers?.[0] : undefined;
        if (offer !== undefined) resolve(offer);
      });
    });
    await scheduler.start();
    const offer = await offered;
    // Another framework's task holds 3 cpus, 3000 MB and two ports of the agent.
    await scheduler.accept({
      offer_ids: [offer.id],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              {
                name: 'holder',
                task_id: { value: 'holder' },
                agent_id: offer.agent_id,
                resources: [
                  { name: 'cpus', type: 'SCALAR', scalar: { value: 3 } },
                  { name: 'mem', type: 'SCALAR', scalar: { value: 3000 } },
                  { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31001 }] } },
                ],
                command: { value: 'sleep 60', shell: true },
              },
            ],
          },
        },
      ],
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const state = (await (await fetch(`${cluster.httpUrl}/master/state`)).json()) as MasterState;
      if (state.slaves[0]?.used_resources.cpus === 3) break;
      if (Date.now() > deadline) throw new Error('the holder task never showed in used_resources');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await scheduler?.teardown().catch(() => {});
    await scheduler?.close();
    await cluster?.stop();
  });

  it('plans with what is free: total minus what other tasks use', async () => {
    const { code, stdout } = await doctor([
      '--master',
      cluster.masterUrl,
      '--conf',
      'spark.mesos.executor.home=/opt/spark-mesos',
    ]);
    expect(code, stdout).toBe(1);
    expect(stdout).toMatch(/used cpus 3, mem 3000 MB, disk 0 MB, gpus 0, ports \[31000-31001\]/);
    // 4096 − 3000 = 1096 MB left, for an executor of 1024 + 384 MB.
    expect(stdout).toContain('would start nothing: needs 1408 MB memory, offers 1096 MB');
    const small = await doctor([
      '--master',
      cluster.masterUrl,
      '--conf',
      'spark.executor.memory=512m',
      '--conf',
      'spark.mesos.executor.home=/opt/spark-mesos',
    ]);
    expect(small.code, small.stdout).toBe(0);
    expect(small.stdout).toContain('would start 1 executor(s) of 1 cpus / 896 MB');
  });
});

// With CI=true a missing ZooKeeper fails the suite instead of skipping it.
const zookeeper = findZooKeeper();
describe.skipIf((zookeeper === undefined && process.env.CI !== 'true') || realMaster !== undefined)(
  'spark-mesos doctor with masters elected through ZooKeeper',
  () => {
    let server: ZooKeeperTestServer;
    let cluster: LocalCluster | undefined;
    // The JVM may start slowly on a busy machine.
    beforeAll(async () => {
      server = await startZooKeeperServer({ startTimeoutMs: 90_000 });
      cluster = await startLocalCluster({
        masters: 2,
        zookeeper: `zk://${server.connectionString}/doctor-${process.pid}`,
        zookeeperSessionTimeoutMs: 2000,
        heartbeatIntervalSeconds: 1,
        allocationIntervalMs: 50,
      });
    }, 120_000);
    afterAll(async () => {
      await cluster?.stop();
      await server?.stop();
    });

    it('finds the leader of a mesos://zk:// URL through ZooKeeper', async () => {
      const { code, stdout } = await doctor([
        '--master',
        cluster!.masterUrl,
        '--conf',
        'spark.mesos.executor.home=/opt/x',
      ]);
      expect(code, stdout).toBe(0);
      const leader = cluster!.masters.find((candidate) => candidate.leading())!;
      expect(stdout).toContain(`ZooKeeper names the leader ${leader.url} (Mesos 1.12.0)`);
      expect(checkLine(stdout, 'master')).toContain(`leader ${leader.url} (Mesos 1.12.0) answers, 1 active agent(s)`);
    });

    it('follows a static URL of a master that is not the leader to the leader', async () => {
      const other = cluster!.masters.find((candidate) => !candidate.leading())!;
      const leader = cluster!.masters.find((candidate) => candidate.leading())!;
      const { code, stdout } = await doctor([
        '--master',
        other.url.replace('http://', 'mesos://'),
        '--conf',
        'spark.mesos.executor.home=/opt/x',
      ]);
      expect(code, stdout).toBe(0);
      expect(stdout).toContain(`${other.url} is not the leader; the leader is ${leader.url}`);
    });

    it('exits 4 when ZooKeeper names no leader', async () => {
      const { code, stdout } = await doctor(
        ['--master', `mesos://zk://${server.connectionString}/nobody-here`, '--conf', 'spark.mesos.executor.home=/x'],
        { timeoutMs: 1000 },
      );
      expect(code, stdout).toBe(4);
      expect(checkLine(stdout, 'master')).toMatch(/^FAIL.*could not be reached: \[SM_ERR_NO_LEADER\]/);
    });
  },
);

describe('spark-mesos doctor without a cluster', () => {
  it('has nothing to check on local[N] or local-cluster[…] masters', async () => {
    const local = await doctor(['--master', 'local[2]']);
    expect(local.code).toBe(0);
    expect(local.stdout).toMatch(
      /^ok\s+master\s+local\[2\] runs the job in this process: no cluster, nothing to check/,
    );
    const embedded = await doctor(['--master', 'local-cluster[2,1,1024]']);
    expect(embedded.code).toBe(0);
    expect(embedded.stdout).toContain('is an embedded cluster (mesos-local)');
  });

  it('exits 2 on bad usage and 3 on bad configuration', async () => {
    const usage = await doctor(['app.js']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('[SM_ERR_USAGE] unexpected argument "app.js"');
    const unknown = await doctor(['--frobnicate']);
    expect(unknown.code).toBe(2);
    const config = await doctor(['--master', 'mesos://127.0.0.1:1', '--conf', 'spark.executor.memory=lots']);
    expect(config.code, config.stderr).toBe(3);
    expect(config.stderr).toContain('spark.executor.memory');
    const constraints = await doctor(['--master', 'mesos://127.0.0.1:1', '--conf', 'spark.mesos.constraints=zone:a:b']);
    expect(constraints.code, constraints.stderr).toBe(3);
  });
});
