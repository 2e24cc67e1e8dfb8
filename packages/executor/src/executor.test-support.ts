// What the executor's integration tests share: a real packed executor (built from the sources,
// packed by the artifact uploader's packExecutor as contract §1 says) served over HTTP from
// loopback; the master under test (an in-process mesos-local by
// default, or the real Mesos master named by SPARK_MESOS_TEST_MASTER, on this host, whose agents
// have Node 20 on PATH); and a small framework that launches tasks on offers and collects updates.
//
// Nothing here depends on mesos-local internals, so the tests run unchanged against a real master.
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packExecutor } from '@spark-mesos/artifact-uploader';
import {
  createSchedulerClient,
  launchOperation,
  type Offer,
  type Resource,
  type SchedulerClient,
  type TaskInfo,
  type TaskStatus,
} from '@spark-mesos/mesos-client';
import { type LocalCluster, startLocalCluster } from '@spark-mesos/mesos-local';
import { buildExecutorRuntime } from './runtime-build.js';

/** The real master under test, if any. */
export const realMaster = process.env.SPARK_MESOS_TEST_MASTER || undefined;
/** Where the tests run, for titles. */
export const targetName = realMaster ?? 'an in-process mesos-local cluster';

/** Bound on waiting for an offer (a real master allocates every second by default). */
export const OFFER_WAIT_MS = 60_000;
/** Bound on waiting for a task's update (fetching, starting Node, running). */
export const TASK_WAIT_MS = 60_000;

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));

/** A packed executor served over HTTP. */
export interface ServedExecutor {
  /** The `spark.executor.uri` to give agents. */
  readonly uri: string;
  /** The .tgz on disk. */
  readonly file: string;
  /** Stops the server and removes the files. */
  close(): Promise<void>;
}

/**
 * Builds the runtime from the sources, writes a small application (a module task and a
 * dependency in its own node_modules), packs both with the artifact uploader's `packExecutor`
 * (contract §1: `spark-mesos-executor-<sha256:16>.tgz`) and serves the package from 127.0.0.1.
 */
export async function serveExecutorPackage(): Promise<ServedExecutor> {
  const directory = mkdtempSync(join(tmpdir(), 'spark-mesos-executor-pack-'));
  const runtime = join(directory, 'runtime');
  await buildExecutorRuntime({ packageDirectory, outDirectory: runtime });
  const app = join(directory, 'app');
  mkdirSync(join(app, 'node_modules', 'greeting'), { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'executor-test-app',
      version: '1.0.0',
      type: 'module',
      main: 'main.js',
      dependencies: { greeting: '1.0.0' },
    }),
  );
  writeFileSync(
    join(app, 'main.js'),
    "import { greet } from 'greeting';\nexport function hello(input, captured, context) { return greet(input) + ' from partition ' + context.partition; }\n",
  );
  writeFileSync(
    join(app, 'node_modules', 'greeting', 'package.json'),
    JSON.stringify({ name: 'greeting', version: '1.0.0', type: 'module', main: 'index.js' }),
  );
  writeFileSync(join(app, 'node_modules', 'greeting', 'index.js'), "export const greet = (name) => 'hello ' + name;\n");
  const packed = await packExecutor({
    runtimeDirectory: runtime,
    application: { directory: app },
    outputDirectory: join(directory, 'out'),
  });
  const file = packed.file;

  const server: Server = createServer((request, response) => {
    if (request.url !== `/${basename(file)}`) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/gzip' });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    uri: `http://127.0.0.1:${port}/${basename(file)}`,
    file,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The master under test. */
export interface TestMaster {
  readonly url: string;
  stop(): Promise<void>;
}

/** An in-process mesos-local cluster with two agents, or the real master when one is named. */
export async function startTestMaster(): Promise<TestMaster> {
  if (realMaster !== undefined) return { url: realMaster, stop: async () => {} };
  const cluster: LocalCluster = await startLocalCluster({
    agents: 2,
    heartbeatIntervalSeconds: 1,
    allocationIntervalMs: 50,
    statusUpdateRetryMs: 500,
  });
  return { url: cluster.masterUrl, stop: () => cluster.stop() };
}

function scalar(resources: readonly Resource[] | undefined, name: string): number {
  return (resources ?? [])
    .filter((resource) => resource.name === name && resource.type === 'SCALAR' && resource.revocable === undefined)
    .reduce((sum, resource) => sum + (resource.scalar?.value ?? 0), 0);
}

/** Takes `amount` of scalar `name` from the offer, keeping each piece's role and allocation. */
export function take(offer: Offer, name: string, amount: number): Resource[] {
  const taken: Resource[] = [];
  let left = amount;
  for (const resource of offer.resources ?? []) {
    if (left <= 1e-9) break;
    if (resource.name !== name || resource.type !== 'SCALAR' || resource.revocable !== undefined) continue;
    const value = Math.min(left, resource.scalar?.value ?? 0);
    if (value <= 0) continue;
    taken.push({ ...resource, scalar: { value: Math.round(value * 1000) / 1000 } });
    left -= value;
  }
  return taken;
}

/** A framework for one test: offers kept until used, every update collected. */
export class TestFramework {
  readonly client: SchedulerClient;
  private readonly offers = new Map<string, Offer>();
  private readonly updates = new Map<string, TaskStatus[]>();
  private readonly waiters = new Set<() => void>();
  private readonly agentUrls = new Map<string, string>();

  constructor(masterUrl: string, name: string, options: { checkpoint?: boolean } = {}) {
    this.client = createSchedulerClient({
      master: masterUrl,
      frameworkInfo: {
        user: userInfo().username,
        name: `spark-mesos executor test: ${name}`,
        failover_timeout: 0,
        ...(options.checkpoint ? { checkpoint: true } : {}),
      },
      reconcile: { enabled: false },
    });
    this.client.on('event', (event) => {
      for (const offer of event.type === 'OFFERS' ? (event.offers?.offers ?? []) : []) {
        this.offers.set(offer.id.value, offer);
        const address = offer.url?.address;
        if (address !== undefined) {
          this.agentUrls.set(
            offer.agent_id.value,
            `${offer.url?.scheme ?? 'http'}://${address.ip ?? address.hostname}:${address.port}`,
          );
        }
      }
      if (event.type === 'RESCIND' && event.rescind) this.offers.delete(event.rescind.offer_id.value);
      if (event.type === 'UPDATE' && event.update) {
        const status = event.update.status;
        const list = this.updates.get(status.task_id.value) ?? [];
        list.push(status);
        this.updates.set(status.task_id.value, list);
      }
      for (const waiter of this.waiters) waiter();
    });
  }

  start(): Promise<void> {
    return this.client.start();
  }

  /** Waits until `check` returns a value, re-checked on every event. */
  waitFor<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const attempt = (): void => {
        let value: T | undefined;
        try {
          value = check();
        } catch (error) {
          cleanup();
          reject(error);
          return;
        }
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(attempt);
      };
      this.waiters.add(attempt);
      attempt();
    });
  }

  /** Launches the tasks `build` makes from an offer with at least `cpus` and `memMiB`. */
  async launch(
    cpus: number,
    memMiB: number,
    build: (offer: Offer) => TaskInfo[],
    agentId?: string,
  ): Promise<TaskInfo[]> {
    const offer = await this.waitFor(`an offer with ${cpus} cpus and ${memMiB} MiB`, OFFER_WAIT_MS, () =>
      [...this.offers.values()].find(
        (candidate) =>
          scalar(candidate.resources, 'cpus') >= cpus - 1e-9 &&
          scalar(candidate.resources, 'mem') >= memMiB &&
          (agentId === undefined || candidate.agent_id.value === agentId),
      ),
    );
    this.offers.delete(offer.id.value);
    const tasks = build(offer);
    await this.client.accept({
      offer_ids: [offer.id],
      operations: [launchOperation(tasks)],
      filters: { refuse_seconds: 0 },
    });
    return tasks;
  }

  /** The HTTP URL of an agent this framework had offers from. */
  async agentUrl(agentId: string): Promise<string | undefined> {
    return this.agentUrls.get(agentId);
  }

  /** The updates of a task so far. */
  statuses(taskId: string): TaskStatus[] {
    return this.updates.get(taskId) ?? [];
  }

  /** Waits for an update of `taskId` in one of `states`. */
  waitForState(taskId: string, states: readonly string[], timeoutMs = TASK_WAIT_MS): Promise<TaskStatus> {
    return this.waitFor(`${states.join('/')} of ${taskId}`, timeoutMs, () =>
      this.statuses(taskId).find((status) => states.includes(status.state)),
    );
  }

  /** Waits for the terminal update of `taskId`. */
  waitForTerminal(taskId: string, timeoutMs = TASK_WAIT_MS): Promise<TaskStatus> {
    return this.waitForState(
      taskId,
      ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE'],
      timeoutMs,
    );
  }

  async close(): Promise<void> {
    await this.client.teardown().catch(() => {});
    await this.client.close();
  }
}

/** A fresh id for a test's tasks and executors. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A temporary directory removed by the caller. */
export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
