import { SparkMesosError } from '@spark-mesos/errors';
import { buildExecutorCommand, createAppSecret } from '@spark-mesos/executor';
import type { DriverEndpoint } from '@spark-mesos/executor/protocol';
import {
  filters,
  launchOperation,
  type Offer,
  type SchedulerClient,
  type TaskInfo,
  type TaskStatus,
} from '@spark-mesos/mesos-client';
import {
  effectiveCoresMax,
  initialPlanState,
  type PlannedLaunch,
  type PlanState,
  planOffers,
  recordAgentFailure,
} from '@spark-mesos/offer-matcher';
import {
  createLaunchToken,
  createLeftoverReaper,
  createSandboxReader,
  describeStatus,
  isFailureState,
  isGoneState,
  type MesosBackendOptions,
  type MesosLaunchSettings,
  type MesosSubscription,
  neverLaunched,
  readMesosLaunchSettings,
  type SandboxReader,
  STDERR_MESOS_BACKEND_LOG,
  sandboxTailSection,
  startDriverEndpoint,
  subscribeToMesos,
} from './mesos-backend-support.js';
import { describeExecutorContainer, withSecretVariables } from './mesos-container.js';
import type { SchedulerBackend, SchedulerBackendEvents, SchedulerDemand } from './scheduler-backend.js';
import type { TaskOutcome, TaskSpec } from './task-spec.js';

/** Options of {@link createMesosCoarseBackend}. */
export interface MesosCoarseBackendOptions extends MesosBackendOptions {
  /**
   * Failed launches in a row (executors that end before registering, none registered) after
   * which jobs fail instead of waiting. A fetch failure (`REASON_CONTAINER_LAUNCH_FAILED`) fails
   * them at once. @default 3
   */
  maxLaunchFailures?: number;
}

/**
 * The most tasks sent to a coarse-grained executor per task slot while tasks are short
 * (`spark.mesos.coarse.pipelineDepth`): the executor queues them and starts the next one without
 * a round trip to the driver. Only while the tasks of the running stages take less than
 * {@link PIPELINE_TASK_MS} on average and more are waiting than the slots hold; otherwise one
 * task per slot, as Spark (queued long tasks could wait on one executor while another idles).
 * 1 turns it off. 64 keeps at most about 1.3 s (64 × 20 ms) of short tasks queued per slot and
 * halves the driver's writes against 16 (benchmarks/driver-jobs: 31,750 against 16,757–20,943
 * tasks/s for a 100,000-task job).
 */
export const DEFAULT_PIPELINE_DEPTH = 64;

/** Average task duration (ms) under which tasks are pipelined. */
export const PIPELINE_TASK_MS = 20;

interface CoarseExecutor {
  readonly executorId: string;
  readonly agentId: string;
  readonly hostname: string;
  readonly cpus: number;
  readonly gpus: number;
  state: 'launching' | 'registered' | 'gone';
  /** Whether it ever registered (its cores count in the default parallelism until it is lost). */
  registered: boolean;
  /** Whether `executorLost` was reported (once). */
  lostReported: boolean;
}

/**
 * Spark's `MesosCoarseGrainedSchedulerBackend` (the default Mesos mode): long-running executors,
 * one command task each, started from accepted offers with the executor package's command; they
 * dial the driver endpoint, and tasks then go over that link.
 *
 * - Offers are planned with the offer matcher (`spark.cores.max`, `spark.executor.cores`,
 *   `spark.executor.memory` and overhead, constraints, gpus, agent failures); the offers of one
 *   agent are accepted together in one ACCEPT; the rest are declined with the filters it gives.
 *   Offers of hosts the task scheduler excluded are declined for `spark.mesos.rejectOfferDuration`.
 * - SUPPRESS while no task waits (or `spark.cores.max` is held), REVIVE when tasks wait again.
 * - An executor that registers becomes `executorAdded` with `cores / spark.task.cpus` slots; its
 *   loss (link closed, or its Mesos task ended) becomes `executorLost`; a failed executor counts
 *   against its agent.
 * - An executor that ends before registering is reported with the tail of its sandbox stderr;
 *   when none runs, a fetch failure (or `maxLaunchFailures` in a row) fails the waiting jobs with
 *   that text, naming `spark.executor.uri`.
 * - A task's last allowed failure (`spark.task.maxFailures`) carries the tail of its executor's
 *   sandbox stderr.
 * - `stop()` asks every executor to exit, bounded by `spark.mesos.coarse.shutdownTimeout`, then
 *   sends TEARDOWN.
 *
 * @see https://github.com/apache/spark/blob/v3.5.0/resource-managers/mesos/src/main/scala/org/apache/spark/scheduler/cluster/mesos/MesosCoarseGrainedSchedulerBackend.scala
 */
export function createMesosCoarseBackend(options: MesosCoarseBackendOptions): SchedulerBackend {
  const { conf } = options;
  const log = options.log ?? STDERR_MESOS_BACKEND_LOG;
  const now = options.now ?? Date.now;
  const maxLaunchFailures = options.maxLaunchFailures ?? 3;
  const name = options.name ?? (typeof options.master === 'string' ? options.master : 'mesos');
  const executors = new Map<string, CoarseExecutor>();
  const launchedTasks = new Map<string, { executorId: string; attempt: number }>();
  const pendingLaunches = new Map<string, TaskSpec[]>();
  let settings: MesosLaunchSettings | undefined;
  let events: SchedulerBackendEvents | undefined;
  let endpoint: DriverEndpoint | undefined;
  let subscription: MesosSubscription | undefined;
  /** The scheduler client from its creation (reconciliation's updates can come before `subscription` is set). */
  let subscribedClient: SchedulerClient | undefined;
  let sandbox: SandboxReader | undefined;
  let secret: Uint8Array | undefined;
  let planState: PlanState = initialPlanState();
  let demand: SchedulerDemand = { pendingTasks: 0, runningTasks: 0, excludedHosts: new Set() };
  let suppressed = false;
  let stopping = false;
  let fatal: Error | undefined;
  let launchFailuresInARow = 0;
  let nextExecutorId = 0;
  /** In every executor id (`<token>-<n>`): new at each start, so a restarted driver's ids are new. */
  let launchToken = createLaunchToken();
  let registeredCores = 0;
  let pipelineDepth = DEFAULT_PIPELINE_DEPTH;
  /** Whether registered executors get `pipelineDepth` tasks per slot now. */
  let pipelined = false;
  let pipelineCheckQueued = false;
  /** Moving average of finished tasks' durations (ms); starts high, so pipelining is earned. */
  let averageTaskMs = Number.POSITIVE_INFINITY;

  const client = (): SchedulerClient => subscription!.client;
  const registeredCount = () =>
    [...executors.values()].filter((executor) => executor.registered && !executor.lostReported).length;
  const executorSourceText = () =>
    'executorUri' in options.executor
      ? `spark.executor.uri ${options.executor.executorUri}`
      : `spark.mesos.executor.home ${options.executor.executorHome}`;

  function wantsOffers(): boolean {
    if (stopping || fatal !== undefined || settings === undefined) return false;
    return demand.pendingTasks > 0 && planState.coresAcquired < effectiveCoresMax(settings.offerSettings);
  }

  function call(what: string, promise: Promise<void>): Promise<void> {
    return promise.catch((error: Error) => {
      if (!stopping) log('warn', `${what} failed: ${error.message}`);
    });
  }

  /**
   * SUPPRESS or REVIVE as demand says. `resourcesFreed`: an executor went away while tasks wait;
   * REVIVE even when not suppressed, so that offers declined with a long filter (cap reached)
   * come back now rather than when the filter ends.
   */
  function updateOfferInterest(resourcesFreed = false): void {
    if (subscription === undefined || stopping) return;
    const wanted = wantsOffers();
    if (wanted && (suppressed || resourcesFreed)) {
      suppressed = false;
      void call('REVIVE', client().revive());
    } else if (!wanted && !suppressed) {
      suppressed = true;
      void call('SUPPRESS', client().suppress());
    }
  }

  function fail(error: Error): void {
    fatal = error;
    log('error', error.message);
    const target = events;
    queueMicrotask(() => target?.backendFailed?.(error));
    updateOfferInterest();
  }

  function executorTask(launch: PlannedLaunch, index: number): { task: TaskInfo; executor: CoarseExecutor } {
    const planned = launch.executors[index]!;
    const executorId = `${launchToken}-${nextExecutorId++}`;
    const source = options.executor;
    const command = buildExecutorCommand({
      mode: 'coarse',
      ...('executorUri' in source ? { executorUri: source.executorUri } : { executorHome: source.executorHome }),
      cache: settings!.useFetcherCache,
      node: settings!.node,
      bundledNode: settings!.bundledNode,
      driverAddress: endpoint!.address,
      executorId,
      cores: planned.cpus,
      memoryMiB: settings!.executorMemoryMiB,
      taskCpus: settings!.taskCpus,
      extraUris: settings!.extraUris,
      environment: settings!.environment,
      appSecret: secret!,
    });
    const { container, secretVariables } = settings!.container;
    const task: TaskInfo = {
      name: `Task ${executorId}`,
      task_id: { value: executorId },
      agent_id: { value: launch.agentId },
      resources: planned.resources,
      command: withSecretVariables(command, secretVariables),
      ...(container === undefined ? {} : { container }),
      ...(settings!.taskLabels.length === 0 ? {} : { labels: { labels: settings!.taskLabels } }),
    };
    const executor: CoarseExecutor = {
      executorId,
      agentId: launch.agentId,
      hostname: launch.hostname,
      cpus: planned.cpus,
      gpus: planned.gpus,
      state: 'launching',
      registered: false,
      lostReported: false,
    };
    return { task, executor };
  }

  async function onOffers(offers: readonly Offer[]): Promise<void> {
    const calls: Promise<void>[] = [];
    const decline = (offerId: string, refuseSeconds: number) =>
      calls.push(
        call('DECLINE', client().decline({ offer_ids: [{ value: offerId }], filters: filters({ refuseSeconds }) })),
      );
    if (stopping || fatal !== undefined || settings === undefined) {
      for (const offer of offers) decline(offer.id.value, settings?.rejectOfferDurationSeconds ?? 120);
      await Promise.all(calls);
      return;
    }
    const usable: Offer[] = [];
    for (const offer of offers) {
      // The task scheduler excluded the host after repeated task failures: Spark declines its offers.
      if (demand.excludedHosts.has(offer.hostname)) decline(offer.id.value, settings.rejectOfferDurationSeconds);
      else usable.push(offer);
    }
    const plan = planOffers({
      offers: usable,
      // Without waiting tasks no executor is added: the limit is what is held.
      demand: { mode: 'coarse', ...(wantsOffers() ? {} : { executorLimit: planState.executors }) },
      settings: settings.offerSettings,
      state: planState,
      now: now(),
    });
    planState = plan.state;
    for (const launch of plan.launches) {
      const tasks: TaskInfo[] = [];
      for (let index = 0; index < launch.executors.length; index++) {
        const { task, executor } = executorTask(launch, index);
        executors.set(executor.executorId, executor);
        tasks.push(task);
      }
      log(
        'info',
        `launching ${tasks.length} executor(s) on ${launch.hostname} (${launch.offerIds.length} offer(s)): ${tasks.map((task) => task.task_id.value).join(', ')}`,
      );
      const launched = tasks.map((task) => executors.get(task.task_id.value) as CoarseExecutor);
      calls.push(
        client()
          .accept({ offer_ids: launch.offerIds.map((value) => ({ value })), operations: [launchOperation(tasks)] })
          .catch((error: Error) => {
            // No status update will come for tasks Mesos never saw: give their resources back.
            if (!stopping) log('warn', `ACCEPT on ${launch.hostname} failed: ${error.message}`);
            for (const executor of launched) {
              if (executor.state !== 'launching') continue;
              executor.state = 'gone';
              executor.lostReported = true;
              release(executor);
              executors.delete(executor.executorId);
            }
            updateOfferInterest(true);
          }),
      );
    }
    for (const planned of plan.declines) decline(planned.offerId, planned.refuseSeconds);
    updateOfferInterest();
    await Promise.all(calls);
  }

  function release(executor: CoarseExecutor): void {
    const agent = planState.agents[executor.agentId];
    planState = {
      ...planState,
      coresAcquired: Math.max(0, planState.coresAcquired - executor.cpus),
      gpusAcquired: Math.max(0, planState.gpusAcquired - executor.gpus),
      executors: Math.max(0, planState.executors - 1),
      agents: {
        ...planState.agents,
        [executor.agentId]: { ...agent, executors: Math.max(0, (agent?.executors ?? 1) - 1) },
      },
    };
  }

  function reportLost(executor: CoarseExecutor, reason: string, causedByApp: boolean): void {
    if (executor.lostReported) return;
    executor.lostReported = true;
    if (!stopping) log('warn', `executor ${executor.executorId} on ${executor.hostname} lost: ${reason}`);
    if (executor.registered) registeredCores -= executor.cpus;
    for (const [taskId, launched] of launchedTasks)
      if (launched.executorId === executor.executorId) launchedTasks.delete(taskId);
    events?.executorLost(executor.executorId, reason, { causedByApp });
  }

  // The executor is its Mesos task: a task id without this start's token is a previous driver's.
  const leftovers = createLeftoverReaper({
    client: () => subscribedClient,
    launchedTask: (taskId) => taskId.startsWith(`${launchToken}-`),
    log,
  });

  async function onUpdate(status: TaskStatus): Promise<void> {
    if (!stopping && leftovers.update(status)) return;
    const executor = executors.get(status.task_id.value);
    if (executor === undefined || executor.state === 'gone' || !isGoneState(status.state)) return;
    executor.state = 'gone';
    release(executor);
    if (!stopping) executors.delete(executor.executorId);
    if (!executor.registered && neverLaunched(status)) {
      // Its offers were gone (a rescind, a master failover): try again on new offers.
      executor.lostReported = true;
      log('info', `executor ${executor.executorId} was not launched: ${describeStatus(status)}`);
      updateOfferInterest(true);
      return;
    }
    if (isFailureState(status.state) && !stopping) planState = recordAgentFailure(planState, executor.agentId, now());
    if (executor.registered || executor.lostReported) {
      // The link may still be open (a partitioned agent): report the loss now (once).
      reportLost(executor, `its Mesos task ended: ${describeStatus(status)}`, status.state !== 'TASK_KILLED');
      updateOfferInterest(true);
      return;
    }
    executor.lostReported = true;
    if (stopping) return;
    launchFailuresInARow++;
    const tail = await sandbox!.tail(executor.executorId);
    const message = `Executor ${executor.executorId} on ${executor.hostname} ended before registering with the driver: ${describeStatus(status)}. It was started from ${executorSourceText()}.${sandboxTailSection(`executor ${executor.executorId}`, tail)}`;
    log('warn', message);
    const launchFailed = status.reason === 'REASON_CONTAINER_LAUNCH_FAILED';
    // Another executor still starting may yet register (a fault of one agent): wait for it.
    const starting = [...executors.values()].some((other) => other.state === 'launching');
    if (
      fatal === undefined &&
      registeredCount() === 0 &&
      !starting &&
      (launchFailed || launchFailuresInARow >= maxLaunchFailures)
    ) {
      fail(
        new SparkMesosError(
          'SM_ERR_EXECUTOR_LAUNCH_FAILED',
          `${launchFailed ? 'The executor could not be started' : `${launchFailuresInARow} executors in a row ended before registering`}: ${message}Check ${executorSourceText()} (every agent must be able to fetch it, or the directory must exist on every agent) and spark.mesos.executor.node.${describeExecutorContainer(settings?.container.container)}`,
          {
            cause: { status: status.state, reason: status.reason, message: status.message },
            details: { executorId: executor.executorId, host: executor.hostname, source: executorSourceText() },
          },
        ),
      );
      return;
    }
    updateOfferInterest(true);
  }

  function flushLaunches(): void {
    for (const [executorId, tasks] of pendingLaunches) {
      pendingLaunches.delete(executorId);
      try {
        endpoint!.launch(executorId, tasks);
      } catch (error) {
        // Not connected: the executor is gone; its tasks are resubmitted with the loss.
        const executor = executors.get(executorId);
        if (executor !== undefined) reportLost(executor, (error as Error).message, false);
      }
    }
  }

  function baseSlots(executor: CoarseExecutor): number {
    return Math.max(1, Math.floor(executor.cpus / settings!.taskCpus));
  }

  function slotsOf(executor: CoarseExecutor): number {
    return baseSlots(executor) * (pipelined ? pipelineDepth : 1);
  }

  /** Turns pipelining on or off (outside the task scheduler's own calls: it may be inside one). */
  function checkPipelining(): void {
    if (pipelineDepth <= 1 || pipelineCheckQueued) return;
    pipelineCheckQueued = true;
    queueMicrotask(() => {
      pipelineCheckQueued = false;
      if (stopping) return;
      const live = [...executors.values()].filter((executor) => executor.registered && !executor.lostReported);
      const capacity = live.reduce((total, executor) => total + baseSlots(executor), 0);
      const wanted = averageTaskMs < PIPELINE_TASK_MS && demand.pendingTasks > capacity;
      // Stay pipelined until the backlog is gone: switching per task would churn.
      const next = pipelined ? demand.pendingTasks > 0 && averageTaskMs < PIPELINE_TASK_MS : wanted;
      if (next === pipelined) return;
      pipelined = next;
      for (const executor of live) events?.executorSlotsChanged(executor.executorId, slotsOf(executor));
    });
  }

  async function onOutcome(executorId: string, taskId: string, outcome: TaskOutcome): Promise<void> {
    const launched = launchedTasks.get(taskId);
    launchedTasks.delete(taskId);
    averageTaskMs =
      averageTaskMs === Number.POSITIVE_INFINITY ? outcome.durationMs : averageTaskMs * 0.9 + outcome.durationMs * 0.1;
    if (pipelineDepth > 1 && (pipelined ? averageTaskMs >= PIPELINE_TASK_MS : averageTaskMs < PIPELINE_TASK_MS)) {
      checkPipelining();
    }
    let reported = outcome;
    if (outcome.state !== 'finished' && launched !== undefined && launched.attempt + 1 >= settings!.maxTaskFailures) {
      // The job is about to fail on this task: quote what its executor wrote too.
      const tail = await sandbox!.tail(executorId);
      reported = { ...outcome, outputTail: outcome.outputTail + sandboxTailSection(`executor ${executorId}`, tail) };
    }
    events?.taskEnded(executorId, taskId, reported);
  }

  return {
    name,
    excludeOnFailureByDefault: false,
    defaultParallelism: () => options.defaultParallelism ?? Math.max(registeredCores, 2),
    async start(backendEvents) {
      events = backendEvents;
      launchToken = createLaunchToken();
      settings = readMesosLaunchSettings(conf);
      for (const warning of settings.container.warnings) log('warn', warning);
      pipelineDepth = conf.getInt('spark.mesos.coarse.pipelineDepth', DEFAULT_PIPELINE_DEPTH);
      const appSecret = createAppSecret();
      secret = appSecret;
      endpoint = await startDriverEndpoint(options, appSecret);
      endpoint.on('executorRegistered', (registration) => {
        const executor = executors.get(registration.executorId);
        if (executor === undefined || executor.state !== 'launching' || registration.mode !== 'coarse') {
          log(
            'warn',
            `an executor "${registration.executorId}" this backend did not launch (or no longer runs) registered; shutting it down`,
          );
          void endpoint
            ?.shutdown(registration.executorId, { timeoutMs: 1000, reason: 'unknown executor' })
            .catch(() => {});
          return;
        }
        executor.state = 'registered';
        executor.registered = true;
        registeredCores += executor.cpus;
        launchFailuresInARow = 0;
        fatal = undefined;
        events?.executorAdded({
          executorId: executor.executorId,
          host: executor.hostname,
          agentId: executor.agentId,
          slots: slotsOf(executor),
        });
      });
      endpoint.on('executorLost', ({ executorId, reason }) => {
        const executor = executors.get(executorId);
        if (executor === undefined || !executor.registered) return;
        reportLost(executor, reason, !stopping);
        if (!stopping && subscription !== undefined) {
          // Its Mesos task may still hold resources (a hung or partitioned executor).
          void call('KILL', client().kill({ task_id: { value: executorId }, agent_id: { value: executor.agentId } }));
        }
      });
      endpoint.on('taskOutcome', ({ executorId, taskId, outcome }) => {
        void onOutcome(executorId, taskId, outcome);
      });
      try {
        subscription = await subscribeToMesos(options, (schedulerClient) => {
          subscribedClient = schedulerClient;
          let subscribedOnce = false;
          schedulerClient.on('SUBSCRIBED', () => {
            // Mesos forgets a suppression across re-subscriptions: decide again.
            if (subscribedOnce) suppressed = false;
            subscribedOnce = true;
            queueMicrotask(updateOfferInterest);
          });
          schedulerClient.on('OFFERS', (event) => onOffers(event.offers.offers ?? []));
          schedulerClient.on('RESCIND', () => {});
          schedulerClient.on('UPDATE', (event) => onUpdate(event.update.status));
          // FAILURE names an ended custom executor or a removed agent. Coarse executors are Mesos
          // command tasks (Mesos sends no FAILURE for those), and a removed agent's tasks get
          // their own TASK_LOST/UNREACHABLE updates: the updates report every loss, once.
          schedulerClient.on('FAILURE', () => {});
          schedulerClient.on('error', (error) => {
            if (!stopping) fail(error);
          });
        });
      } catch (error) {
        await endpoint.close().catch(() => {});
        throw error;
      }
      sandbox = createSandboxReader(subscription);
      log(
        'info',
        `subscribed to Mesos as framework ${subscription.client.frameworkId}; driver endpoint ${endpoint.address.host}:${endpoint.address.port}`,
      );
      updateOfferInterest();
    },
    launch(executorId, tasks: readonly TaskSpec[]) {
      for (const task of tasks) launchedTasks.set(task.taskId, { executorId, attempt: task.attempt });
      // Launches of one turn (one per finished task when the executor is busy) go out as one
      // batch per executor: one frame and one socket write instead of one per task.
      const batch = pendingLaunches.get(executorId);
      if (batch !== undefined) {
        for (const task of tasks) batch.push(task);
        return;
      }
      pendingLaunches.set(executorId, [...tasks]);
      if (pendingLaunches.size === 1) queueMicrotask(flushLaunches);
    },
    kill(executorId, taskId, reason) {
      try {
        endpoint?.kill(executorId, taskId, reason);
      } catch {
        // The executor is gone; its loss is (or will be) reported.
      }
    },
    demandChanged(next) {
      demand = next;
      checkPipelining();
      if (fatal !== undefined && next.pendingTasks > 0) {
        const error = fatal;
        const target = events;
        queueMicrotask(() => target?.backendFailed?.(error));
      }
      updateOfferInterest();
    },
    ref() {
      subscription?.client.ref();
      endpoint?.ref();
    },
    unref() {
      subscription?.client.unref();
      endpoint?.unref();
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      events = undefined;
      const timeoutMs = settings?.shutdownTimeoutMs ?? 10_000;
      const deadline = Date.now() + timeoutMs;
      const running = [...executors.values()].filter((executor) => executor.registered && !executor.lostReported);
      await Promise.all(
        running.map((executor) =>
          endpoint!.shutdown(executor.executorId, { timeoutMs, reason: 'the SparkContext stopped' }).catch(() => {}),
        ),
      );
      // As Spark's stopExecutors: wait for Mesos to report the executors' tasks ended (they exit
      // by themselves), within the same timeout; TEARDOWN then kills what is left.
      while (
        subscription !== undefined &&
        Date.now() < deadline &&
        running.some((executor) => executor.state !== 'gone')
      ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (subscription !== undefined) {
        await subscription.client.teardown().catch((error: Error) => log('warn', `TEARDOWN failed: ${error.message}`));
        await subscription.client.close().catch(() => {});
      }
      await endpoint?.close().catch(() => {});
    },
  };
}
