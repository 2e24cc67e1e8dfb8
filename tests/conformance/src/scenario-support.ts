// What every conformance scenario shares: the master under test (an in-process mesos-local
// cluster by default, or the real Mesos master named by SPARK_MESOS_TEST_MASTER, e.g.
// mesos://127.0.0.1:5050 or mesos://zk://127.0.0.1:2181/mesos, whose agents can run `sh`),
// scheduler clients that are torn down and closed after each test, bounded waits for events and
// the resource arithmetic of a small command task.
// Optional: SPARK_MESOS_TEST_PRINCIPAL / SPARK_MESOS_TEST_SECRET (framework authentication),
// SPARK_MESOS_TEST_ROLE (the framework's role).
//
// Nothing here may depend on mesos-local internals: the scenarios must hold, unchanged, against
// a real Mesos 1.x master.
import { userInfo } from 'node:os';
import {
  createOperatorClient,
  createSchedulerClient,
  type FrameworkInfo,
  type MesosEncoding,
  type Offer,
  type OperatorClient,
  type Resource,
  type SchedulerClient,
  type SchedulerClientOptions,
  type SchedulerEvent,
  type TaskInfo,
  type TaskStatus,
} from '@spark-mesos/mesos-client';
import { type LocalCluster, type LocalClusterHooks, startLocalCluster } from '@spark-mesos/mesos-local';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** The real master under test, if any. */
export const realMaster = process.env.SPARK_MESOS_TEST_MASTER || undefined;
/** Where the scenarios run, for test titles. */
export const targetName = realMaster ?? 'an in-process mesos-local cluster';

const principal = process.env.SPARK_MESOS_TEST_PRINCIPAL;
const secret = process.env.SPARK_MESOS_TEST_SECRET;
const role = process.env.SPARK_MESOS_TEST_ROLE;

// What one tiny command task asks for; Mesos offers nothing below 32 MB of memory (MESOS-1688).
export const TASK_CPUS = 0.1;
export const TASK_MEM_MB = 32;
/** Bound on waiting for an offer (a real master allocates every second by default). */
export const OFFER_WAIT_MS = 60_000;
/** Bound on waiting for a task's update (fetching, forking, killing on a real agent). */
export const TASK_WAIT_MS = 90_000;

/** Extra settings of one scenario's scheduler client. */
export interface ScenarioClientOptions {
  /** Framework name suffix (the encoding is added). */
  readonly name: string;
  /** Framework capabilities besides MULTI_ROLE (added when a role is configured). */
  readonly capabilities?: readonly string[];
  /** Other client options (reconcile, autoAcknowledge, …). */
  readonly client?: Partial<Omit<SchedulerClientOptions, 'master' | 'encoding' | 'frameworkInfo'>>;
  /** FrameworkInfo fields over the defaults (`failover_timeout: 0`), e.g. a failover timeout or an `id` to take over. */
  readonly frameworkInfo?: Partial<Omit<FrameworkInfo, 'user' | 'name' | 'capabilities'>>;
}

/** The master of the current test file and the clients of the current test. */
export interface ConformanceMaster {
  /** The master URL (valid once the file's `beforeAll` ran). */
  readonly url: string;
  /** A scheduler client (not started) that is torn down and closed after the test. */
  schedulerClient(encoding: MesosEncoding, options: ScenarioClientOptions): SchedulerClient;
  /** An operator client of the leader `client` subscribed to. */
  operatorClient(client: SchedulerClient): OperatorClient;
  /**
   * mesos-local's test hooks, for scenarios that make a fault happen; undefined against a real
   * master, where such scenarios are skipped (`it.skipIf(hooksUnavailable)`).
   */
  readonly hooks: LocalClusterHooks | undefined;
}

/**
 * Whether the scenarios that need a test hook (kill an agent, fail the master over, …) are
 * skipped: against a real master they cannot make the fault happen, and are reported skipped
 * rather than passed.
 */
export const hooksUnavailable = realMaster !== undefined;

/**
 * Registers the hooks of a test file: a two-agent mesos-local cluster for the file (unless a real
 * master is named), and the teardown and close of every client after each test.
 */
export function useConformanceMaster(): ConformanceMaster {
  let url: string | undefined;
  let cluster: LocalCluster | undefined;
  const clients: SchedulerClient[] = [];

  beforeAll(async () => {
    if (realMaster !== undefined) {
      url = realMaster;
      return;
    }
    cluster = await startLocalCluster({
      agents: 2,
      heartbeatIntervalSeconds: 1,
      allocationIntervalMs: 50,
      statusUpdateRetryMs: 500,
    });
    url = cluster.masterUrl;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) {
      // Leave nothing behind on a shared cluster, even when the test failed half-way.
      await client.teardown().catch(() => {});
      await client.close();
    }
  });

  const masterUrl = (): string => {
    if (url === undefined) throw new Error('The master is known only once beforeAll ran');
    return url;
  };

  return {
    get url(): string {
      return masterUrl();
    },
    get hooks(): LocalClusterHooks | undefined {
      return cluster?.hooks;
    },
    schedulerClient(encoding, options) {
      const capabilities = [...(options.capabilities ?? []), ...(role === undefined ? [] : ['MULTI_ROLE'])].map(
        (type) => ({ type }) as NonNullable<FrameworkInfo['capabilities']>[number],
      );
      const client = createSchedulerClient({
        ...options.client,
        master: masterUrl(),
        encoding,
        frameworkInfo: {
          user: userInfo().username,
          name: `spark-mesos conformance: ${options.name} (${encoding})`,
          failover_timeout: 0,
          ...options.frameworkInfo,
          ...(principal === undefined ? {} : { principal }),
          ...(role === undefined ? {} : { roles: [role] }),
          ...(capabilities.length === 0 ? {} : { capabilities }),
        },
        ...(principal !== undefined && secret !== undefined ? { auth: { principal, secret } } : {}),
      });
      clients.push(client);
      return client;
    },
    operatorClient(client) {
      const leader = new URL(client.leaderUrl as string);
      return createOperatorClient({
        master: leader.origin,
        ...(principal !== undefined && secret !== undefined
          ? { authorization: { kind: 'basic', principal, secret } as const }
          : {}),
      });
    },
  };
}

/** Resolves with the first event `pick` returns a value for; rejects on the client's error or a timeout. */
export function waitForEvent<T>(
  client: SchedulerClient,
  what: string,
  timeoutMs: number,
  pick: (event: SchedulerEvent) => T | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => {
      clearTimeout(timer);
      offEvent();
      offError();
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`No ${what} from ${client.leaderUrl ?? realMaster ?? 'the master'} within ${timeoutMs} ms`));
    }, timeoutMs);
    const offEvent = client.on('event', (event) => {
      const value = pick(event);
      if (value === undefined) return;
      stop();
      resolve(value);
    });
    const offError = client.on('error', (error) => {
      stop();
      reject(error);
    });
  });
}

/**
 * Watches the events for `windowMs`: resolves when none matched `forbidden`, rejects with the
 * first that did (or with the client's error).
 */
export function expectNoEvent(
  client: SchedulerClient,
  what: string,
  windowMs: number,
  forbidden: (event: SchedulerEvent) => boolean,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stop = (): void => {
      clearTimeout(timer);
      offEvent();
      offError();
    };
    const timer = setTimeout(() => {
      stop();
      resolve();
    }, windowMs);
    const offEvent = client.on('event', (event) => {
      if (!forbidden(event)) return;
      stop();
      reject(new Error(`Unexpected ${what} within ${windowMs} ms: ${JSON.stringify(event)}`));
    });
    const offError = client.on('error', (error) => {
      stop();
      reject(error);
    });
  });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The offers of an OFFERS event (none for other events). */
export function offersOf(event: SchedulerEvent): readonly Offer[] {
  return event.type === 'OFFERS' ? (event.offers?.offers ?? []) : [];
}

/** The offers of an OFFERS event with at least one, else undefined (a `waitForEvent` pick). */
export function someOffers(event: SchedulerEvent): readonly Offer[] | undefined {
  const offers = offersOf(event);
  return offers.length > 0 ? offers : undefined;
}

/** The status of an UPDATE event for task `taskId`, if it is one. */
export function updateOf(event: SchedulerEvent, taskId: string): TaskStatus | undefined {
  const status = event.type === 'UPDATE' ? event.update?.status : undefined;
  return status?.task_id?.value === taskId ? status : undefined;
}

export function scalar(resources: readonly Resource[] | undefined, name: string): number {
  return (resources ?? [])
    .filter((resource) => resource.name === name && resource.type === 'SCALAR')
    .reduce((sum, resource) => sum + (resource.scalar?.value ?? 0), 0);
}

/** Whether the offer has room for one small command task. */
export function fitsSmallTask(offer: Offer): boolean {
  return scalar(offer.resources, 'cpus') >= TASK_CPUS && scalar(offer.resources, 'mem') >= TASK_MEM_MB;
}

/** Waits for an offer with room for one small command task. Register before `start()`. */
export function waitForSuitableOffer(client: SchedulerClient): Promise<Offer> {
  return waitForEvent(client, 'offer with room for a small task', OFFER_WAIT_MS, (event) =>
    offersOf(event).find(fitsSmallTask),
  );
}

/**
 * Takes `amount` of the scalar resource `name` from the offer, keeping each piece's role,
 * allocation and reservations so that the ACCEPT is valid for any framework role.
 */
export function take(offer: Offer, name: string, amount: number): Resource[] {
  const taken: Resource[] = [];
  let left = amount;
  for (const resource of offer.resources ?? []) {
    if (left <= 0) break;
    if (resource.name !== name || resource.type !== 'SCALAR' || resource.revocable !== undefined) continue;
    const value = Math.min(left, resource.scalar?.value ?? 0);
    if (value <= 0) continue;
    taken.push({ ...resource, scalar: { value: Math.round(value * 1000) / 1000 } });
    left -= value;
  }
  return taken;
}

/** A small shell command task on the offer's agent. */
export function commandTask(
  offer: Offer,
  taskId: string,
  command: string,
  name = 'spark-mesos conformance task',
): TaskInfo {
  return {
    name,
    task_id: { value: taskId },
    agent_id: offer.agent_id,
    resources: [...take(offer, 'cpus', TASK_CPUS), ...take(offer, 'mem', TASK_MEM_MB)],
    command: { shell: true, value: command },
  };
}

const NON_TERMINAL = new Set(['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING']);

/** Whether `state` is terminal. */
export function isTerminal(state: string | undefined): boolean {
  return state !== undefined && !NON_TERMINAL.has(state);
}

/** Waits for the first update of `taskId` in `state` or a terminal one. Register before the ACCEPT. */
export function waitForTaskState(client: SchedulerClient, taskId: string, state: string): Promise<TaskStatus> {
  return waitForEvent(client, `${state} (or terminal) update of ${taskId}`, TASK_WAIT_MS, (event) => {
    const status = updateOf(event, taskId);
    return status !== undefined && (status.state === state || isTerminal(status.state)) ? status : undefined;
  });
}

/** Waits for the terminal update of `taskId`. Register before the ACCEPT. */
export function waitForTerminal(client: SchedulerClient, taskId: string): Promise<TaskStatus> {
  return waitForEvent(client, `terminal update of ${taskId}`, TASK_WAIT_MS, (event) => {
    const status = updateOf(event, taskId);
    return status !== undefined && isTerminal(status.state) ? status : undefined;
  });
}

/** A readable description of a status for assertion messages. */
export function describeStatus(status: TaskStatus): string {
  return `${status.state}: ${status.message ?? ''} (${status.reason ?? 'no reason'})`;
}

/** Settles like `promise`, or rejects when it has not within `timeoutMs`. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`No ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
