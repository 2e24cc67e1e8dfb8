import { SparkMesosError } from '@spark-mesos/errors';
import { buildExecutorCommand, createAppSecret, encodeFineExecutorData, encodeFineTask } from '@spark-mesos/executor';
import { type DriverEndpoint, decodeFineStatusData } from '@spark-mesos/executor/protocol';
import {
  type ExecutorInfo,
  filters,
  launchOperation,
  type Offer,
  type Resource,
  type SchedulerClient,
  type SchedulerEvent,
  type TaskInfo,
  type TaskStatus,
} from '@spark-mesos/mesos-client';
import {
  initialPlanState,
  type PlanState,
  planOffers,
  recordAgentFailure,
  type TaskDescription,
} from '@spark-mesos/offer-matcher';
import {
  createLaunchToken,
  createLeftoverReaper,
  createSandboxReader,
  describeStatus,
  describeWaitStatus,
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

/** Options of {@link createMesosFineBackend}. */
export interface MesosFineBackendOptions extends MesosBackendOptions {
  /** As the coarse backend's: failed executor starts in a row, none running, before jobs fail. @default 3 */
  maxLaunchFailures?: number;
  /** Tasks offered to the planner in one round at most (bounds the work of a huge backlog). @default 10000 */
  maxTasksPerRound?: number;
}

/** Our executor on one agent (one per agent at a time; a new id after a loss). */
interface FineExecutor {
  readonly executorId: string;
  readonly agentId: string;
  readonly hostname: string;
  /** Fixed once made: Mesos refuses a second, different ExecutorInfo for a running executor. */
  info: ExecutorInfo | undefined;
  /** Whether Mesos was asked to start it (a task was launched with it). */
  launched: boolean;
  /** Whether one of its tasks reached TASK_STARTING/RUNNING (so it did start). */
  started: boolean;
  lost: boolean;
  /** Mesos tasks launched on it and not ended. */
  readonly running: Set<string>;
  /**
   * Task resources accepted in the current offer round, not yet given a task (the planner's
   * lists, read-only: equal cuts share one).
   */
  pool: (readonly Resource[])[];
  /** Tasks launched in the current round, to ACCEPT together. */
  batch: TaskInfo[];
}

/** A task the driver waits on (keyed by its Mesos task id, `<token>-<Spark task id>`). */
interface FineTask {
  /** The task scheduler's id of the task. */
  readonly sparkTaskId: string;
  readonly executorId: string;
  readonly attempt: number;
  /** From the status update, when the result travels over the driver link. */
  awaitingLinkResult?: Omit<Extract<TaskOutcome, { state: 'finished' }>, 'result'>;
  /** From the driver link, when it came before the status update. */
  linkResult?: Uint8Array;
}

/**
 * Spark's `MesosFineGrainedSchedulerBackend` (`spark.mesos.coarse=false`): one custom executor
 * per agent (the executor package in `fine` mode, `ExecutorInfo.data` = JSON `{ driver }`), and
 * every Spark task its own Mesos task (`TaskInfo.data` = the serialized {@link TaskSpec}), placed
 * by the offer matcher with fine-grained demand. A task's outcome comes back in
 * `TaskStatus.data`; a result over the status-data limit comes over the driver link.
 *
 * Slots follow the offers: an accepted offer grows the agent's executor by the tasks it can
 * hold (`executorAdded` the first time, then `executorSlotsChanged`), the task scheduler fills
 * them at once, the unused part of the offer goes back to Mesos, and a slot disappears when its
 * task ends.
 *
 * @see https://github.com/apache/spark/blob/v3.5.0/resource-managers/mesos/src/main/scala/org/apache/spark/scheduler/cluster/mesos/MesosFineGrainedSchedulerBackend.scala
 */
export function createMesosFineBackend(options: MesosFineBackendOptions): SchedulerBackend {
  const { conf } = options;
  const log = options.log ?? STDERR_MESOS_BACKEND_LOG;
  const now = options.now ?? Date.now;
  const maxLaunchFailures = options.maxLaunchFailures ?? 3;
  const maxTasksPerRound = options.maxTasksPerRound ?? 10_000;
  const name = options.name ?? (typeof options.master === 'string' ? options.master : 'mesos');
  const byAgent = new Map<string, FineExecutor>();
  const byId = new Map<string, FineExecutor>();
  const tasks = new Map<string, FineTask>();
  const generations = new Map<string, number>();
  /** Executors the task scheduler was told about (`executorAdded`). */
  const byIdAdded = new Set<string>();
  let settings: MesosLaunchSettings | undefined;
  let events: SchedulerBackendEvents | undefined;
  let endpoint: DriverEndpoint | undefined;
  let subscription: MesosSubscription | undefined;
  /** The scheduler client from its creation (reconciliation's updates can come before `subscription` is set). */
  let subscribedClient: SchedulerClient | undefined;
  /**
   * New at each start, in every executor id (`<agentId>-<token>`) and Mesos task id
   * (`<token>-<Spark task id>`): a driver restarted onto its framework ID must not reuse the ids
   * of the old driver's executors and tasks, which Mesos still lists.
   */
  let launchToken = createLaunchToken();
  let sandbox: SandboxReader | undefined;
  let secret: Uint8Array | undefined;
  let planState: PlanState = initialPlanState();
  let demand: SchedulerDemand = { pendingTasks: 0, runningTasks: 0, excludedHosts: new Set() };
  let suppressed = false;
  let stopping = false;
  let fatal: Error | undefined;
  let launchFailuresInARow = 0;
  /** The executor whose slots the task scheduler may be filling right now (inside `onOffers`). */
  let filling: FineExecutor | undefined;

  const client = (): SchedulerClient => subscription!.client;
  const executorSourceText = () =>
    'executorUri' in options.executor
      ? `spark.executor.uri ${options.executor.executorUri}`
      : `spark.mesos.executor.home ${options.executor.executorHome}`;

  function call(what: string, promise: Promise<void>): Promise<void> {
    return promise.catch((error: Error) => {
      if (!stopping) log('warn', `${what} failed: ${error.message}`);
    });
  }

  const wantsOffers = () => !stopping && fatal === undefined && settings !== undefined && demand.pendingTasks > 0;

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

  function executorOf(agentId: string, hostname: string): FineExecutor {
    const existing = byAgent.get(agentId);
    if (existing !== undefined && !existing.lost) return existing;
    const generation = generations.get(agentId) ?? 0;
    generations.set(agentId, generation + 1);
    const executor: FineExecutor = {
      executorId: generation === 0 ? `${agentId}-${launchToken}` : `${agentId}-${launchToken}-${generation}`,
      agentId,
      hostname,
      info: undefined,
      launched: false,
      started: false,
      lost: false,
      running: new Set(),
      pool: [],
      batch: [],
    };
    byAgent.set(agentId, executor);
    byId.set(executor.executorId, executor);
    return executor;
  }

  function executorInfo(executor: FineExecutor, resources: Resource[]): ExecutorInfo {
    const source = options.executor;
    return {
      executor_id: { value: executor.executorId },
      ...(subscription?.client.frameworkId === undefined
        ? {}
        : { framework_id: { value: subscription.client.frameworkId } }),
      name: `spark-mesos fine-grained executor ${executor.executorId}`,
      command: withSecretVariables(
        buildExecutorCommand({
          mode: 'fine',
          ...('executorUri' in source ? { executorUri: source.executorUri } : { executorHome: source.executorHome }),
          cache: settings!.useFetcherCache,
          node: settings!.node,
          bundledNode: settings!.bundledNode,
          extraUris: settings!.extraUris,
          environment: settings!.environment,
          appSecret: secret!,
        }),
        settings!.container.secretVariables,
      ),
      ...(settings!.container.container === undefined ? {} : { container: settings!.container.container }),
      resources,
      data: encodeFineExecutorData({ driver: endpoint!.address }),
      ...(settings!.taskLabels.length === 0 ? {} : { labels: { labels: settings!.taskLabels } }),
    };
  }

  function setSlots(executor: FineExecutor, slots: number): void {
    events?.executorSlotsChanged(executor.executorId, slots);
  }

  const mesosTaskId = (sparkTaskId: string) => `${launchToken}-${sparkTaskId}`;
  const leftovers = createLeftoverReaper({
    client: () => subscribedClient,
    launchedTask: (taskId) => taskId.startsWith(`${launchToken}-`),
    startedExecutor: (executorId) => byId.has(executorId),
    log,
  });

  async function onOffers(offers: readonly Offer[]): Promise<void> {
    // The previous driver's executors on these agents (its tasks are killed on reconciliation).
    if (!stopping) for (const offer of offers) leftovers.offer(offer);
    const calls: Promise<void>[] = [];
    const decline = (offerId: string, refuseSeconds: number) =>
      calls.push(
        call('DECLINE', client().decline({ offer_ids: [{ value: offerId }], filters: filters({ refuseSeconds }) })),
      );
    if (!wantsOffers() || settings === undefined) {
      for (const offer of offers) decline(offer.id.value, settings?.offerSettings.shortRefuseSeconds ?? 5);
      updateOfferInterest();
      await Promise.all(calls);
      return;
    }
    const usable: Offer[] = [];
    for (const offer of offers) {
      if (demand.excludedHosts.has(offer.hostname)) decline(offer.id.value, settings.rejectOfferDurationSeconds);
      else usable.push(offer);
    }
    const wanted = Math.min(demand.pendingTasks, maxTasksPerRound);
    const descriptions: TaskDescription[] = Array.from({ length: wanted }, (_, index) => ({ id: String(index) }));
    const plan = planOffers({
      offers: usable,
      demand: { mode: 'fine', tasks: descriptions },
      settings: settings.offerSettings,
      state: planState,
      now: now(),
    });
    planState = plan.state;
    for (const launch of plan.launches) {
      const executor = executorOf(launch.agentId, launch.hostname);
      if (executor.info === undefined) {
        executor.info = executorInfo(executor, launch.executors[0]?.resources ?? []);
      }
      // A copy of the launch's column: the pool is consumed (shift) as slots are filled.
      executor.pool = [...launch.taskResources];
      executor.batch = [];
      const granted = executor.pool.length;
      // The task scheduler fills the new slots synchronously, through launch().
      filling = executor;
      try {
        if (!byIdAdded.has(executor.executorId)) {
          byIdAdded.add(executor.executorId);
          events?.executorAdded({
            executorId: executor.executorId,
            host: executor.hostname,
            agentId: executor.agentId,
            slots: executor.running.size + granted,
          });
        } else {
          setSlots(executor, executor.running.size + granted);
        }
      } finally {
        filling = undefined;
      }
      const batch = executor.batch;
      executor.pool = [];
      executor.batch = [];
      if (batch.length < granted) setSlots(executor, executor.running.size);
      if (batch.length === 0) {
        if (!executor.launched) {
          // Not started after all: the planner must charge its resources again next time.
          const agent = planState.agents[executor.agentId];
          planState = {
            ...planState,
            agents: { ...planState.agents, [executor.agentId]: { ...agent, executors: 0 } },
          };
          executor.info = undefined;
        }
        for (const offerId of launch.offerIds) decline(offerId, settings.offerSettings.shortRefuseSeconds);
        continue;
      }
      executor.launched = true;
      calls.push(
        client()
          .accept({ offer_ids: launch.offerIds.map((value) => ({ value })), operations: [launchOperation(batch)] })
          .catch(async (error: Error) => {
            // No status update will come for tasks Mesos never saw: end them, to be retried.
            if (stopping) return;
            log('warn', `ACCEPT on ${launch.hostname} failed: ${error.message}`);
            for (const task of batch) {
              if (!tasks.has(task.task_id.value)) continue;
              await ended(executor, task.task_id.value, {
                state: 'killed',
                reason: `Mesos did not take the task (ACCEPT failed: ${error.message})`,
                durationMs: 0,
                outputTail: '',
              });
            }
            forgetIfUnstarted(executor);
          }),
      );
    }
    for (const planned of plan.declines) decline(planned.offerId, planned.refuseSeconds);
    updateOfferInterest();
    await Promise.all(calls);
  }

  /**
   * An executor none of whose tasks reached its agent was never started: the next task on the
   * agent must start it again, with its resources (Mesos would refuse a task naming an executor
   * that does not run and whose resources the offer no longer holds).
   */
  function forgetIfUnstarted(executor: FineExecutor): void {
    if (executor.started || executor.lost || executor.running.size > 0) return;
    executor.launched = false;
    executor.info = undefined;
    const agent = planState.agents[executor.agentId];
    planState = { ...planState, agents: { ...planState.agents, [executor.agentId]: { ...agent, executors: 0 } } };
  }

  function reportLost(executor: FineExecutor, reason: string, causedByApp: boolean): void {
    if (executor.lost) return;
    executor.lost = true;
    if (!stopping) log('warn', `executor ${executor.executorId} on ${executor.hostname} lost: ${reason}`);
    const agent = planState.agents[executor.agentId];
    planState = {
      ...planState,
      agents: { ...planState.agents, [executor.agentId]: { ...agent, executors: 0 } },
    };
    for (const taskId of executor.running) tasks.delete(taskId);
    executor.running.clear();
    if (byIdAdded.has(executor.executorId)) events?.executorLost(executor.executorId, reason, { causedByApp });
    updateOfferInterest(true);
  }

  async function ended(executor: FineExecutor, taskId: string, outcome: TaskOutcome): Promise<void> {
    const task = tasks.get(taskId);
    tasks.delete(taskId);
    executor.running.delete(taskId);
    let reported = outcome;
    if (outcome.state !== 'finished' && task !== undefined && task.attempt + 1 >= settings!.maxTaskFailures) {
      const tail = await sandbox!.tail(taskId);
      reported = { ...outcome, outputTail: outcome.outputTail + sandboxTailSection(`task ${taskId}`, tail) };
    }
    if (executor.lost) return;
    // The slot goes with the task's resources: shrink first, so it is not filled again.
    setSlots(executor, executor.running.size);
    events?.taskEnded(executor.executorId, task?.sparkTaskId ?? taskId.slice(launchToken.length + 1), reported);
  }

  async function onUpdate(status: TaskStatus): Promise<void> {
    if (!stopping && leftovers.update(status)) return;
    const taskId = status.task_id.value;
    const task = tasks.get(taskId);
    if (task === undefined) return;
    const executor = byId.get(task.executorId);
    if (executor === undefined || executor.lost) return;
    if (status.state === 'TASK_STARTING' || status.state === 'TASK_RUNNING') {
      executor.started = true;
      launchFailuresInARow = 0;
      return;
    }
    if (!isGoneState(status.state)) return;
    if (status.data !== undefined && status.data.byteLength > 0) {
      let data: ReturnType<typeof decodeFineStatusData>;
      try {
        data = decodeFineStatusData(status.data);
      } catch (error) {
        await ended(executor, taskId, {
          state: 'failed',
          error: { name: 'SparkMesosError', message: (error as Error).message, code: 'SM_ERR_DRIVER_LINK_PROTOCOL' },
          durationMs: 0,
          outputTail: '',
        });
        return;
      }
      if ('resultVia' in data) {
        if (task.linkResult !== undefined) {
          await ended(executor, taskId, { ...data.outcome, result: task.linkResult });
        } else {
          task.awaitingLinkResult = data.outcome;
        }
        return;
      }
      await ended(executor, taskId, data.outcome);
      return;
    }
    if (neverLaunched(status) || status.state === 'TASK_ERROR') {
      // Its offers were gone (a rescind, a master failover), or the master found the task
      // invalid: nothing ran. The task is retried on new offers (a deterministic error fails it
      // after spark.task.maxFailures, with this text).
      await ended(executor, taskId, {
        state: 'killed',
        reason: `Mesos did not launch the task: ${describeStatus(status)}`,
        durationMs: 0,
        outputTail: '',
      });
      forgetIfUnstarted(executor);
      return;
    }
    // No outcome: the executor did not run the task (it died, or never started).
    if (isFailureState(status.state) && !stopping) planState = recordAgentFailure(planState, executor.agentId, now());
    if (!executor.started && !stopping) {
      launchFailuresInARow++;
      const tail = await sandbox!.tail(taskId);
      const message = `The fine-grained executor ${executor.executorId} on ${executor.hostname} did not start task ${taskId}: ${describeStatus(status)}. It was started from ${executorSourceText()}.${sandboxTailSection(`executor ${executor.executorId}`, tail)}`;
      log('warn', message);
      reportLost(executor, message, false);
      const anyStarted = [...byAgent.values()].some((other) => other.started && !other.lost);
      // Another executor still starting may yet start (a fault of one agent): wait for it.
      const starting = [...byAgent.values()].some((other) => other.launched && !other.started && !other.lost);
      const launchFailed = status.reason === 'REASON_CONTAINER_LAUNCH_FAILED';
      if (
        fatal === undefined &&
        !anyStarted &&
        !starting &&
        (launchFailed || launchFailuresInARow >= maxLaunchFailures)
      ) {
        fail(
          new SparkMesosError(
            'SM_ERR_EXECUTOR_LAUNCH_FAILED',
            `${launchFailed ? 'The executor could not be started' : `${launchFailuresInARow} executors in a row did not start`}: ${message}Check ${executorSourceText()} (every agent must be able to fetch it, or the directory must exist on every agent) and spark.mesos.executor.node.${describeExecutorContainer(settings?.container.container)}`,
            { cause: { status: status.state, reason: status.reason, message: status.message } },
          ),
        );
      }
      return;
    }
    if (
      status.reason === 'REASON_EXECUTOR_TERMINATED' ||
      status.state === 'TASK_LOST' ||
      status.state === 'TASK_GONE'
    ) {
      reportLost(executor, `its tasks ended with ${describeStatus(status)}`, status.state !== 'TASK_LOST');
      return;
    }
    await ended(executor, taskId, {
      state: status.state === 'TASK_KILLED' ? 'killed' : 'failed',
      ...(status.state === 'TASK_KILLED'
        ? { reason: describeStatus(status) }
        : { error: { name: 'MesosTaskFailed', message: describeStatus(status) } }),
      durationMs: 0,
      outputTail: '',
    } as TaskOutcome);
  }

  /**
   * Mesos' FAILURE: an executor of ours ended (`executor_id`, with its wait status), or the
   * agent was removed (only `agent_id`). For a busy executor its tasks' updates usually said so
   * first; for an idle one this is the only word. Spark's `executorLost`/`agentLost` →
   * `recordAgentLost`: the executor is forgotten (its tasks resubmitted by the task scheduler)
   * and the planner no longer counts it on the agent, so the next offer there starts a new one.
   * An exit other than a clean one counts as a failure of the agent.
   */
  function onFailure(event: SchedulerEvent): void {
    const failure = event.failure;
    if (failure === undefined || stopping) return;
    const executor =
      failure.executor_id === undefined
        ? byAgent.get(failure.agent_id?.value ?? '')
        : byId.get(failure.executor_id.value);
    if (executor === undefined || executor.lost) return;
    if (failure.executor_id === undefined) {
      reportLost(executor, 'its agent was removed', false);
      return;
    }
    if (failure.status !== 0) planState = recordAgentFailure(planState, executor.agentId, now());
    reportLost(executor, `its process ${describeWaitStatus(failure.status)}`, true);
  }

  return {
    name,
    excludeOnFailureByDefault: false,
    // Spark's fine-grained default: 8 (there are no cores to count).
    defaultParallelism: () => options.defaultParallelism ?? 8,
    async start(backendEvents) {
      events = backendEvents;
      launchToken = createLaunchToken();
      settings = readMesosLaunchSettings(conf);
      for (const warning of settings.container.warnings) log('warn', warning);
      const appSecret = createAppSecret();
      secret = appSecret;
      endpoint = await startDriverEndpoint(options, appSecret);
      // Fine-grained executors dial only to hand over results over the status-data limit.
      endpoint.on('taskOutcome', ({ taskId, outcome }) => {
        const task = tasks.get(taskId);
        if (task === undefined || outcome.state !== 'finished') return;
        const executor = byId.get(task.executorId);
        if (task.awaitingLinkResult !== undefined && executor !== undefined) {
          void ended(executor, taskId, { ...task.awaitingLinkResult, result: outcome.result });
        } else {
          task.linkResult = outcome.result;
        }
      });
      try {
        subscription = await subscribeToMesos(options, (schedulerClient) => {
          subscribedClient = schedulerClient;
          let subscribedOnce = false;
          schedulerClient.on('SUBSCRIBED', () => {
            if (subscribedOnce) suppressed = false;
            subscribedOnce = true;
            queueMicrotask(updateOfferInterest);
          });
          schedulerClient.on('OFFERS', (event) => onOffers(event.offers.offers ?? []));
          schedulerClient.on('UPDATE', (event) => onUpdate(event.update.status));
          schedulerClient.on('FAILURE', (event) => onFailure(event));
          schedulerClient.on('error', (error) => {
            if (!stopping) fail(error);
          });
        });
      } catch (error) {
        await endpoint.close().catch(() => {});
        throw error;
      }
      sandbox = createSandboxReader(subscription);
      updateOfferInterest();
    },
    launch(executorId, specs: readonly TaskSpec[]) {
      const executor = byId.get(executorId);
      for (const spec of specs) {
        const resources = executor !== undefined && filling === executor ? executor.pool.shift() : undefined;
        if (executor === undefined || resources === undefined) {
          // Never expected: slots are only granted while an offer's resources are at hand.
          queueMicrotask(() =>
            events?.taskEnded(executorId, spec.taskId, {
              state: 'killed',
              reason: 'no Mesos resources were at hand for the task (it will be retried)',
              durationMs: 0,
              outputTail: '',
            }),
          );
          continue;
        }
        const taskId = mesosTaskId(spec.taskId);
        tasks.set(taskId, { sparkTaskId: spec.taskId, executorId, attempt: spec.attempt });
        executor.running.add(taskId);
        executor.batch.push({
          name: `task ${spec.taskId} (stage ${spec.stageId}, partition ${spec.partition}, attempt ${spec.attempt})`,
          task_id: { value: taskId },
          agent_id: { value: executor.agentId },
          // Its own list: the planner's may be shared by equal cuts.
          resources: [...resources],
          executor: executor.info!,
          data: encodeFineTask(spec),
          ...(settings!.taskLabels.length === 0 ? {} : { labels: { labels: settings!.taskLabels } }),
        });
      }
    },
    kill(executorId, taskId) {
      const executor = byId.get(executorId);
      if (executor === undefined || subscription === undefined) return;
      void call(
        'KILL',
        client().kill({ task_id: { value: mesosTaskId(taskId) }, agent_id: { value: executor.agentId } }),
      );
    },
    demandChanged(next) {
      demand = next;
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
      if (subscription !== undefined) {
        // TEARDOWN kills the tasks and shuts the executors down (with the agents' grace period).
        await subscription.client.teardown().catch((error: Error) => log('warn', `TEARDOWN failed: ${error.message}`));
        await subscription.client.close().catch(() => {});
      }
      await endpoint?.close().catch(() => {});
    },
  };
}
