import type {
  ExecutorInfo,
  FrameworkInfo,
  MasterInfo,
  Offer,
  Resource,
  SchedulerCall,
  SchedulerEvent,
  TaskInfo,
  TaskState,
  TaskStatus,
  TaskStatusReason,
} from '@spark-mesos/mesos-client';
import type { AgentUplink, LocalAgent } from './agent.js';
import { isTerminalState } from './agent.js';
import { allocate } from './allocator.js';
import { addResources, attributeValues, resourceQuantities, stripAllocation, subtractResources } from './resources.js';

/**
 * The master: frameworks, offers, tasks and the scheduler calls that change them. The HTTP
 * layer ({@link ./master-http.ts}) validates requests and hands calls here.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @module
 */

/** The event stream of one subscription, written by the master. */
export interface Subscription {
  /** Its `Mesos-Stream-Id`. */
  readonly streamId: string;
  /** Sends one event. */
  send(event: SchedulerEvent): void;
  /** Ends the stream (the final zero-length chunk). */
  end(): void;
  /** Port of the master front-end serving the stream (see {@link LocalMaster.failover}). @default undefined */
  readonly masterPort?: number;
}

interface TaskRecord {
  readonly info: TaskInfo;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly resources: Resource[];
  state: TaskState;
  readonly statuses: TaskStatus[];
  released: boolean;
}

interface FrameworkRecord {
  readonly id: string;
  info: FrameworkInfo;
  subscription: Subscription | undefined;
  suppressed: boolean;
  readonly filters: Map<string, number>;
  readonly registeredTime: number;
  unregisteredTime: number;
  readonly tasks: Map<string, TaskRecord>;
  readonly completedTasks: TaskRecord[];
  heartbeat: NodeJS.Timeout | undefined;
  failoverTimer: NodeJS.Timeout | undefined;
}

// A custom executor running on an agent, whose resources stay used until it terminates.
interface ExecutorRecord {
  readonly info: ExecutorInfo;
  readonly resources: Resource[];
}

interface OfferRecord {
  readonly offer: Offer;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly resources: Resource[];
}

/** Options of {@link LocalMaster}. */
export interface LocalMasterOptions {
  /** The master id (a UUID); framework, agent and offer ids derive from it. */
  readonly id: string;
  /** Seconds between HEARTBEAT events. @default 15 */
  readonly heartbeatIntervalSeconds?: number;
  /** Milliseconds between allocation cycles. @default 1000 */
  readonly allocationIntervalMs?: number;
}

/** Seconds a DECLINE (or ACCEPT) filters an agent when the call gives no `refuse_seconds`. */
const DEFAULT_REFUSE_SECONDS = 5;

function hasCapability(info: FrameworkInfo, type: string): boolean {
  return info.capabilities?.some((capability) => capability.type === type) ?? false;
}

function frameworkRole(info: FrameworkInfo): string {
  return info.roles?.[0] ?? info.role ?? '*';
}

function describeResources(resources: readonly Resource[]): string {
  return resources
    .map((resource) => {
      const value =
        resource.type === 'SCALAR'
          ? String(resource.scalar?.value ?? 0)
          : resource.type === 'RANGES'
            ? `[${(resource.ranges?.range ?? []).map((r) => `${r.begin}-${r.end}`).join(', ')}]`
            : `{${(resource.set?.item ?? []).join(', ')}}`;
      return `${resource.name}${resource.role && resource.role !== '*' ? `(${resource.role})` : ''}:${value}`;
    })
    .join('; ');
}

/** The in-process master. */
export class LocalMaster implements AgentUplink {
  /** The master id. */
  readonly id: string;
  readonly #heartbeatSeconds: number;
  readonly #allocationMs: number;
  readonly #agents = new Map<string, LocalAgent>();
  readonly #frameworks = new Map<string, FrameworkRecord>();
  readonly #completedFrameworks: FrameworkRecord[] = [];
  readonly #offers = new Map<string, OfferRecord>();
  // Custom executors by `<agentId> <frameworkId> <executorId>`.
  readonly #executors = new Map<string, ExecutorRecord>();
  readonly #startTime = Date.now() / 1000;
  #nextFramework = 0;
  #nextOffer = 0;
  #rotation = 0;
  #allocationTimer: NodeJS.Timeout | undefined;
  #port = 0;

  constructor(options: LocalMasterOptions) {
    this.id = options.id;
    this.#heartbeatSeconds = options.heartbeatIntervalSeconds ?? 15;
    this.#allocationMs = options.allocationIntervalMs ?? 1000;
  }

  /** Starts the allocation cycles, once the HTTP server listens on `port`. */
  start(port: number): void {
    this.#port = port;
    this.#allocationTimer = setInterval(() => this.allocate(), this.#allocationMs);
  }

  /** Registers an agent. */
  addAgent(agent: LocalAgent): void {
    this.#agents.set(agent.id, agent);
  }

  /** The agents. */
  get agents(): readonly LocalAgent[] {
    return [...this.#agents.values()];
  }

  /** `master_info`, as a 1.12 master sends it. */
  masterInfo(): MasterInfo {
    return {
      id: this.id,
      // 127.0.0.1 in network byte order, read as a little-endian integer (as Mesos does).
      ip: 16777343,
      port: this.#port,
      pid: `master@127.0.0.1:${this.#port}`,
      hostname: '127.0.0.1',
      version: '1.12.0',
      address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: this.#port },
      capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, { type: 'QUOTA_V2' }],
    };
  }

  /**
   * Whether framework `frameworkId` is known (`'unknown'`), known but without a live stream
   * (`'disconnected'`), or subscribed with stream `streamId` (`'subscribed'`).
   */
  frameworkStatus(frameworkId: string): {
    status: 'unknown' | 'disconnected' | 'subscribed';
    streamId?: string;
    principal?: string;
  } {
    const framework = this.#frameworks.get(frameworkId);
    if (!framework) return { status: 'unknown' };
    const principal = framework.info.principal === undefined ? {} : { principal: framework.info.principal };
    if (!framework.subscription) return { status: 'disconnected', ...principal };
    return { status: 'subscribed', streamId: framework.subscription.streamId, ...principal };
  }

  /** SUBSCRIBE: a new framework, or a known one re-subscribing (its old stream fails over). */
  subscribe(info: FrameworkInfo, subscription: Subscription): string {
    const knownId = info.id?.value;
    let framework = knownId === undefined ? undefined : this.#frameworks.get(knownId);
    if (framework) {
      const old = framework.subscription;
      framework.subscription = undefined;
      if (old) {
        old.send({ type: 'ERROR', error: { message: 'Framework failed over' } });
        old.end();
      }
      clearTimeout(framework.failoverTimer);
      clearInterval(framework.heartbeat);
      // As Mesos' failoverFramework: offers made to the old subscription are rescinded.
      this.#dropOffers(framework.id);
      framework.info = { ...info };
    } else {
      const id = knownId ?? `${this.id}-${String(this.#nextFramework++).padStart(4, '0')}`;
      framework = {
        id,
        info: { ...info, id: { value: id } },
        subscription: undefined,
        suppressed: false,
        filters: new Map(),
        registeredTime: Date.now() / 1000,
        unregisteredTime: 0,
        tasks: new Map(),
        completedTasks: [],
        heartbeat: undefined,
        failoverTimer: undefined,
      };
      this.#frameworks.set(id, framework);
    }
    framework.subscription = subscription;
    subscription.send({
      type: 'SUBSCRIBED',
      subscribed: {
        framework_id: { value: framework.id },
        heartbeat_interval_seconds: this.#heartbeatSeconds,
        master_info: this.masterInfo(),
      },
    });
    subscription.send({ type: 'HEARTBEAT' });
    const target = framework;
    framework.heartbeat = setInterval(
      () => target.subscription?.send({ type: 'HEARTBEAT' }),
      this.#heartbeatSeconds * 1000,
    );
    return framework.id;
  }

  /**
   * The stream of a subscription closed (the scheduler went away). Its offers are rescinded;
   * after `failover_timeout` (0 by default, as in Mesos) the framework is removed.
   */
  disconnected(frameworkId: string, subscription: Subscription): void {
    const framework = this.#frameworks.get(frameworkId);
    if (!framework || framework.subscription !== subscription) return;
    framework.subscription = undefined;
    framework.unregisteredTime = Date.now() / 1000;
    clearInterval(framework.heartbeat);
    this.#dropOffers(framework.id);
    const timeoutMs = (framework.info.failover_timeout ?? 0) * 1000;
    if (timeoutMs <= 0) this.#removeFramework(framework);
    else {
      framework.failoverTimer = setTimeout(() => this.#removeFramework(framework), Math.min(timeoutMs, 2 ** 31 - 1));
      framework.failoverTimer.unref();
    }
  }

  /** Any call but SUBSCRIBE, of a subscribed framework. */
  handleCall(frameworkId: string, call: SchedulerCall): void {
    const framework = this.#frameworks.get(frameworkId);
    if (!framework) return;
    switch (call.type) {
      case 'ACCEPT':
        this.#accept(framework, call);
        break;
      case 'DECLINE': {
        const agentIds = (call.decline?.offer_ids ?? []).flatMap(
          (offerId) => this.#returnOffer(framework, offerId.value)?.agentId ?? [],
        );
        this.#filterAgents(framework, agentIds, call.decline?.filters?.refuse_seconds);
        break;
      }
      case 'REVIVE':
        framework.suppressed = false;
        framework.filters.clear();
        break;
      case 'SUPPRESS':
        framework.suppressed = true;
        break;
      case 'ACKNOWLEDGE':
        this.#acknowledge(framework, call);
        break;
      case 'KILL':
        this.#kill(framework, call.kill?.task_id.value ?? '');
        break;
      case 'RECONCILE':
        this.#reconcile(framework, call);
        break;
      case 'TEARDOWN':
        this.#removeFramework(framework);
        break;
      case 'MESSAGE':
        if (call.message) {
          const { agent_id, executor_id, data } = call.message;
          this.#agents.get(agent_id.value)?.messageExecutor(framework.id, executor_id.value, data);
        }
        break;
      default:
        // REQUEST, SHUTDOWN, operations…: accepted (202) and ignored in this slice.
        break;
    }
  }

  /** AgentUplink: a status update from an agent, forwarded to its framework. */
  statusUpdate(agentId: string, frameworkId: string, status: TaskStatus): void {
    const framework = this.#frameworks.get(frameworkId);
    if (!framework) return;
    const task = framework.tasks.get(status.task_id.value);
    if (task && !task.statuses.some((seen) => seen.uuid && status.uuid && Buffer.from(seen.uuid).equals(status.uuid))) {
      task.state = status.state;
      task.statuses.push(status);
      // Resources come back with the terminal update, before it is acknowledged (as in Mesos).
      if (isTerminalState(status.state)) task.released = true;
    }
    void agentId;
    framework.subscription?.send({ type: 'UPDATE', update: { status } });
  }

  /** AgentUplink: a MESSAGE of an executor, passed to its scheduler as a MESSAGE event. */
  frameworkMessage(agentId: string, frameworkId: string, executorId: string, data: Uint8Array): void {
    this.#frameworks.get(frameworkId)?.subscription?.send({
      type: 'MESSAGE',
      message: { agent_id: { value: agentId }, executor_id: { value: executorId }, data },
    });
  }

  /** AgentUplink: a custom executor terminated; its resources are free again. */
  executorTerminated(agentId: string, frameworkId: string, executorId: string): void {
    this.#executors.delete(`${agentId} ${frameworkId} ${executorId}`);
  }

  /** One allocation cycle (also run every `allocationIntervalMs`). */
  allocate(): void {
    const now = Date.now();
    const agents = [...this.#agents.values()].map((agent) => ({ id: agent.id, available: this.#available(agent) }));
    const frameworks = [...this.#frameworks.values()].map((framework) => ({
      id: framework.id,
      role: frameworkRole(framework.info),
      multiRole: (framework.info.roles?.length ?? 0) > 0,
      wantsOffers: framework.subscription !== undefined && !framework.suppressed,
      isFiltering: (agentId: string, at: number) => (framework.filters.get(agentId) ?? 0) > at,
    }));
    const allocations = allocate(agents, frameworks, this.#rotation++, now);
    const byFramework = new Map<string, Offer[]>();
    for (const allocation of allocations) {
      const agent = this.#agents.get(allocation.agentId) as LocalAgent;
      const offer: Offer = {
        id: { value: `${this.id}-O${this.#nextOffer++}` },
        framework_id: { value: allocation.frameworkId },
        agent_id: { value: agent.id },
        hostname: agent.hostname,
        url: {
          scheme: 'http',
          address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: agent.port },
          path: '/slave(1)',
        },
        resources: this.#offerFormat(allocation.frameworkId, allocation.resources),
        ...(allocation.multiRole ? { allocation_info: { role: allocation.role } } : {}),
        ...(agent.attributes.length > 0 ? { attributes: [...agent.attributes] } : {}),
        ...this.#offeredExecutors(agent.id, allocation.frameworkId),
      };
      this.#offers.set(offer.id.value, {
        offer,
        frameworkId: allocation.frameworkId,
        agentId: agent.id,
        resources: allocation.resources.map(stripAllocation),
      });
      byFramework.set(allocation.frameworkId, [...(byFramework.get(allocation.frameworkId) ?? []), offer]);
    }
    for (const [frameworkId, offers] of byFramework) {
      this.#frameworks.get(frameworkId)?.subscription?.send({ type: 'OFFERS', offers: { offers } });
    }
  }

  /**
   * Another master front-end was elected (ZooKeeper failover) and serves on `port`. As when a
   * real leader dies, every scheduler stream ends and outstanding offers are gone; frameworks,
   * tasks and agents stay (the new leader learns them back from agents and re-subscribing
   * schedulers), so a scheduler re-subscribing with its framework id finds its tasks.
   */
  failover(options: { readonly port: number }): void {
    this.#port = options.port;
    for (const framework of this.#frameworks.values()) {
      const subscription = framework.subscription;
      // A scheduler may have found the new leader before this master heard of the election.
      if (subscription === undefined || subscription.masterPort === options.port) continue;
      clearInterval(framework.heartbeat);
      framework.subscription = undefined;
      framework.unregisteredTime = Date.now() / 1000;
      this.#dropOffers(framework.id);
      subscription.end();
    }
  }

  /** `executor_ids` of an offer: the framework's executors running on the agent (as recorded in cpp_scheduler/). */
  #offeredExecutors(agentId: string, frameworkId: string): Pick<Offer, 'executor_ids'> {
    const prefix = `${agentId} ${frameworkId} `;
    const ids = [...this.#executors]
      .filter(([key]) => key.startsWith(prefix))
      .map(([, executor]) => ({ value: executor.info.executor_id.value }));
    return ids.length === 0 ? {} : { executor_ids: ids };
  }

  /**
   * Resources as a framework gets them: with RESERVATION_REFINEMENT in Mesos' newer format (no
   * deprecated `role`; a reservation as `reservations`), else with `role` (as recorded in
   * cpp_scheduler/ and flow/).
   */
  #offerFormat(frameworkId: string, resources: Resource[]): Resource[] {
    const info = this.#frameworks.get(frameworkId)?.info;
    if (info === undefined || !hasCapability(info, 'RESERVATION_REFINEMENT')) return resources;
    return resources.map(({ role, ...rest }) =>
      role === undefined || role === '*' ? rest : { ...rest, reservations: [{ type: 'STATIC', role }] },
    );
  }

  /** Ends every stream and timer (the agents are stopped by the cluster). */
  stop(): void {
    clearInterval(this.#allocationTimer);
    for (const framework of this.#frameworks.values()) {
      clearInterval(framework.heartbeat);
      clearTimeout(framework.failoverTimer);
      framework.subscription?.end();
      framework.subscription = undefined;
    }
  }

  /** The JSON of `GET /master/state`, shaped as a Mesos 1.x master's. */
  state(): Record<string, unknown> {
    const slaves = [...this.#agents.values()].map((agent) => {
      const used = this.#used(agent.id);
      const offered = [...this.#offers.values()]
        .filter((offer) => offer.agentId === agent.id)
        .reduce<Resource[]>((sum, offer) => addResources(sum, offer.resources), []);
      return {
        id: agent.id,
        hostname: agent.hostname,
        port: agent.port,
        pid: agent.pid,
        attributes: attributeValues(agent.attributes),
        resources: resourceQuantities(agent.resources),
        used_resources: resourceQuantities(used),
        offered_resources: resourceQuantities(offered),
        reserved_resources: {},
        unreserved_resources: resourceQuantities(agent.resources),
        active: true,
        deactivated: false,
        registered_time: agent.startTime,
        version: '1.12.0',
        capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT'],
      };
    });
    const frameworks = [...this.#frameworks.values()];
    return {
      version: '1.12.0',
      id: this.id,
      pid: `master@127.0.0.1:${this.#port}`,
      hostname: '127.0.0.1',
      leader: `master@127.0.0.1:${this.#port}`,
      leader_info: this.masterInfo(),
      start_time: this.#startTime,
      elected_time: this.#startTime,
      activated_slaves: slaves.length * 1.0,
      deactivated_slaves: 0.0,
      unreachable_slaves: 0.0,
      flags: { port: String(this.#port), allocation_interval: `${this.#allocationMs}ms` },
      slaves,
      frameworks: frameworks.map((framework) => this.#frameworkJson(framework)),
      completed_frameworks: this.#completedFrameworks.map((framework) => this.#frameworkJson(framework)),
      orphan_tasks: [],
      unregistered_frameworks: [],
    };
  }

  #frameworkJson(framework: FrameworkRecord): Record<string, unknown> {
    const live = [...framework.tasks.values()];
    const used = live.filter((task) => !task.released).reduce<Resource[]>((s, t) => addResources(s, t.resources), []);
    const offered = [...this.#offers.values()]
      .filter((offer) => offer.frameworkId === framework.id)
      .reduce<Resource[]>((sum, offer) => addResources(sum, offer.resources), []);
    return {
      id: framework.id,
      name: framework.info.name,
      user: framework.info.user,
      hostname: framework.info.hostname ?? '',
      webui_url: framework.info.webui_url ?? '',
      active: framework.subscription !== undefined,
      connected: framework.subscription !== undefined,
      recovered: false,
      role: frameworkRole(framework.info),
      roles: framework.info.roles ?? [frameworkRole(framework.info)],
      ...(framework.info.principal === undefined ? {} : { principal: framework.info.principal }),
      checkpoint: framework.info.checkpoint ?? false,
      failover_timeout: framework.info.failover_timeout ?? 0,
      registered_time: framework.registeredTime,
      unregistered_time: framework.unregisteredTime,
      capabilities: (framework.info.capabilities ?? []).map((capability) => capability.type),
      resources: resourceQuantities(addResources(used, offered)),
      used_resources: resourceQuantities(used),
      offered_resources: resourceQuantities(offered),
      tasks: live.map((task) => this.#taskJson(task)),
      completed_tasks: framework.completedTasks.map((task) => this.#taskJson(task)),
      unreachable_tasks: [],
    };
  }

  #taskJson(task: TaskRecord): Record<string, unknown> {
    return {
      id: task.info.task_id.value,
      name: task.info.name,
      framework_id: task.frameworkId,
      // The master reports a command task's (implicit) executor as an empty id.
      executor_id: task.info.executor?.executor_id.value ?? '',
      slave_id: task.agentId,
      state: task.state,
      resources: resourceQuantities(task.resources),
      role: task.info.resources?.[0]?.allocation_info?.role ?? task.info.resources?.[0]?.role ?? '*',
      statuses: task.statuses.map((status) => ({
        state: status.state,
        timestamp: status.timestamp,
        ...(status.message === undefined ? {} : { message: status.message }),
        ...(status.reason === undefined ? {} : { reason: status.reason }),
        ...(status.source === undefined ? {} : { source: status.source }),
        container_status: status.container_status,
      })),
    };
  }

  #used(agentId: string): Resource[] {
    let used: Resource[] = [];
    for (const framework of this.#frameworks.values()) {
      for (const task of framework.tasks.values()) {
        if (task.agentId === agentId && !task.released) used = addResources(used, task.resources);
      }
    }
    for (const [key, executor] of this.#executors) {
      if (key.startsWith(`${agentId} `)) used = addResources(used, executor.resources);
    }
    return used;
  }

  #available(agent: LocalAgent): Resource[] {
    let available: Resource[] = [...agent.resources];
    const taken = addResources(
      this.#used(agent.id),
      [...this.#offers.values()].filter((offer) => offer.agentId === agent.id).flatMap((offer) => offer.resources),
    );
    available = subtractResources(available, taken) ?? [];
    return available;
  }

  #returnOffer(framework: FrameworkRecord, offerId: string): OfferRecord | undefined {
    const offer = this.#offers.get(offerId);
    if (!offer || offer.frameworkId !== framework.id) return undefined;
    this.#offers.delete(offerId);
    return offer;
  }

  #dropOffers(frameworkId: string): void {
    for (const [id, offer] of this.#offers) if (offer.frameworkId === frameworkId) this.#offers.delete(id);
  }

  #filterAgents(framework: FrameworkRecord, agentIds: readonly string[], refuseSeconds?: number): void {
    const seconds = refuseSeconds ?? DEFAULT_REFUSE_SECONDS;
    for (const agentId of agentIds) framework.filters.set(agentId, Date.now() + seconds * 1000);
  }

  #masterUpdate(
    framework: FrameworkRecord,
    taskId: string,
    state: TaskState,
    message: string,
    reason: TaskStatusReason,
    agentId?: string,
  ): void {
    // Updates made by the master carry no uuid: they need (and take) no acknowledgement.
    const status: TaskStatus = {
      task_id: { value: taskId },
      state,
      message,
      source: 'SOURCE_MASTER',
      reason,
      ...(agentId === undefined ? {} : { agent_id: { value: agentId } }),
      timestamp: Date.now() / 1000,
    };
    framework.subscription?.send({ type: 'UPDATE', update: { status } });
  }

  #accept(framework: FrameworkRecord, call: SchedulerCall): void {
    const accept = call.accept;
    if (!accept) return;
    const offers: OfferRecord[] = [];
    let invalid: string | undefined;
    const seen = new Set<string>();
    for (const offerId of accept.offer_ids ?? []) {
      const offer = this.#offers.get(offerId.value);
      if (seen.has(offerId.value)) invalid ??= `Duplicate offer ${offerId.value} in ACCEPT`;
      seen.add(offerId.value);
      if (!offer || offer.frameworkId !== framework.id) invalid ??= `Offer ${offerId.value} is no longer valid`;
      else if (offers[0] && offers[0].agentId !== offer.agentId) {
        invalid ??= 'Aggregated offers must belong to one single agent';
      }
      if (offer && offer.frameworkId === framework.id) offers.push(offer);
    }
    if (offers.length === 0) invalid ??= 'No offers in ACCEPT';
    for (const offer of offers) this.#offers.delete(offer.offer.id.value);
    const launches = (accept.operations ?? []).flatMap((operation) =>
      operation.type === 'LAUNCH' ? (operation.launch?.task_infos ?? []) : [],
    );
    if (invalid !== undefined) {
      const partitionAware = hasCapability(framework.info, 'PARTITION_AWARE');
      for (const task of launches) {
        this.#masterUpdate(
          framework,
          task.task_id.value,
          partitionAware ? 'TASK_DROPPED' : 'TASK_LOST',
          `Task launched with invalid offers: ${invalid}`,
          'REASON_INVALID_OFFERS',
        );
      }
      return;
    }
    const agentId = (offers[0] as OfferRecord).agentId;
    const agent = this.#agents.get(agentId) as LocalAgent;
    let pool = offers.reduce<Resource[]>((sum, offer) => addResources(sum, offer.resources), []);
    for (const launch of launches) {
      // The master fills in the executor's framework id, as Mesos does.
      const task: TaskInfo =
        launch.executor === undefined || launch.executor.framework_id !== undefined
          ? launch
          : { ...launch, executor: { ...launch.executor, framework_id: { value: framework.id } } };
      const taskId = task.task_id.value;
      const problem = this.#validateTask(framework, task, agentId, pool);
      if (problem !== undefined) {
        this.#masterUpdate(framework, taskId, 'TASK_ERROR', problem, 'REASON_TASK_INVALID', agentId);
        continue;
      }
      const resources = (task.resources ?? []).map(stripAllocation);
      pool = subtractResources(pool, resources) ?? pool;
      const executorKey = task.executor && `${agentId} ${framework.id} ${task.executor.executor_id.value}`;
      if (task.executor && executorKey && !this.#executors.has(executorKey)) {
        const executorResources = (task.executor.resources ?? []).map(stripAllocation);
        pool = subtractResources(pool, executorResources) ?? pool;
        this.#executors.set(executorKey, { info: task.executor, resources: executorResources });
      }
      framework.tasks.set(taskId, {
        info: task,
        frameworkId: framework.id,
        agentId,
        resources,
        state: 'TASK_STAGING',
        statuses: [],
        released: false,
      });
      agent.launchTask({ ...framework.info, id: { value: framework.id } }, task);
    }
    // What is left returns to the agent; the filter keeps it from this framework for a while.
    this.#filterAgents(framework, [agentId], accept.filters?.refuse_seconds);
  }

  #validateTask(framework: FrameworkRecord, task: TaskInfo, agentId: string, pool: Resource[]): string | undefined {
    const taskId = task.task_id.value;
    if (framework.tasks.has(taskId)) return `Task has duplicate ID: ${taskId}`;
    if (task.agent_id.value !== agentId) {
      return `Task uses agent ${task.agent_id.value} which does not match the offered agent ${agentId}`;
    }
    if ((task.executor === undefined) === (task.command === undefined)) {
      return 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present';
    }
    if ((task.resources ?? []).length === 0) return 'Task uses no resources';
    const resources = (task.resources ?? []).map(stripAllocation);
    if (task.executor === undefined) {
      if (subtractResources(pool, resources) === undefined) {
        return `Task uses more resources ${describeResources(resources)} than available ${describeResources(pool)}`;
      }
      return undefined;
    }
    return this.#validateExecutor(framework, task.executor, agentId, pool, resources);
  }

  // Mesos' master validation of a task's ExecutorInfo (src/master/validation.cpp).
  #validateExecutor(
    framework: FrameworkRecord,
    executor: ExecutorInfo,
    agentId: string,
    pool: Resource[],
    taskResources: Resource[],
  ): string | undefined {
    if (executor.framework_id?.value !== framework.id) {
      return `ExecutorInfo has an invalid FrameworkID (Actual: ${executor.framework_id?.value} vs Expected: ${framework.id})`;
    }
    if (executor.type !== undefined && executor.type !== 'CUSTOM') return "'ExecutorInfo.type' must be 'CUSTOM'";
    if (executor.command === undefined) return "'ExecutorInfo.command' must be set";
    const existing = this.#executors.get(`${agentId} ${framework.id} ${executor.executor_id.value}`);
    if (existing && JSON.stringify(existing.info) !== JSON.stringify(executor)) {
      return 'ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID';
    }
    const total = existing
      ? taskResources
      : addResources(taskResources, (executor.resources ?? []).map(stripAllocation));
    if (subtractResources(pool, total) === undefined) {
      return `Total resources ${describeResources(total)} required by task and its executor is more than available ${describeResources(pool)}`;
    }
    return undefined;
  }

  #acknowledge(framework: FrameworkRecord, call: SchedulerCall): void {
    const ack = call.acknowledge;
    if (!ack) return;
    const task = framework.tasks.get(ack.task_id.value);
    this.#agents.get(ack.agent_id.value)?.acknowledge(framework.id, ack.task_id.value, ack.uuid);
    if (!task) return;
    const last = task.statuses.at(-1);
    // The acknowledged terminal update retires the task into completed_tasks.
    if (last?.uuid && isTerminalState(last.state) && Buffer.from(last.uuid).equals(Buffer.from(ack.uuid))) {
      framework.tasks.delete(ack.task_id.value);
      framework.completedTasks.push(task);
    }
  }

  #kill(framework: FrameworkRecord, taskId: string): void {
    const task = framework.tasks.get(taskId);
    if (!task) {
      this.#reconcileUnknown(framework, taskId);
      return;
    }
    this.#agents.get(task.agentId)?.killTask(framework.id, taskId);
  }

  #reconcileUnknown(framework: FrameworkRecord, taskId: string, agentId?: string): void {
    const partitionAware = hasCapability(framework.info, 'PARTITION_AWARE');
    this.#masterUpdate(
      framework,
      taskId,
      partitionAware ? 'TASK_UNKNOWN' : 'TASK_LOST',
      'Reconciliation: Task is unknown',
      'REASON_RECONCILIATION',
      agentId,
    );
  }

  #reconcile(framework: FrameworkRecord, call: SchedulerCall): void {
    const asked = call.reconcile?.tasks ?? [];
    const latest = (task: TaskRecord): void => {
      const last = task.statuses.at(-1);
      const status: TaskStatus = {
        task_id: { value: task.info.task_id.value },
        state: task.state,
        message: 'Reconciliation: Latest task state',
        source: 'SOURCE_MASTER',
        reason: 'REASON_RECONCILIATION',
        agent_id: { value: task.agentId },
        // No executor_id: a command task has none in the master (as recorded in flow2/).
        timestamp: Date.now() / 1000,
        ...(last?.container_status ? { container_status: last.container_status } : {}),
      };
      framework.subscription?.send({ type: 'UPDATE', update: { status } });
    };
    if (asked.length === 0) {
      for (const task of framework.tasks.values()) latest(task);
      return;
    }
    for (const entry of asked) {
      const task = framework.tasks.get(entry.task_id.value);
      if (task) latest(task);
      else this.#reconcileUnknown(framework, entry.task_id.value, entry.agent_id?.value);
    }
  }

  #removeFramework(framework: FrameworkRecord): void {
    if (this.#frameworks.get(framework.id) !== framework) return;
    this.#frameworks.delete(framework.id);
    clearInterval(framework.heartbeat);
    clearTimeout(framework.failoverTimer);
    this.#dropOffers(framework.id);
    for (const agent of this.#agents.values()) agent.shutdownFramework(framework.id);
    for (const task of framework.tasks.values()) {
      if (!isTerminalState(task.state)) task.state = 'TASK_KILLED';
      task.released = true;
      framework.completedTasks.push(task);
    }
    framework.tasks.clear();
    framework.unregisteredTime = Date.now() / 1000;
    const subscription = framework.subscription;
    framework.subscription = undefined;
    // TEARDOWN ends the stream with the final chunk and no ERROR event, as a real master does.
    subscription?.end();
    this.#completedFrameworks.push(framework);
  }
}
