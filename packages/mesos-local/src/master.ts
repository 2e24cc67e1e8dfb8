import { randomUUID } from 'node:crypto';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { SparkMesosError } from '@spark-mesos/errors';
import type {
  ExecutorInfo,
  Filters,
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
import { allocate, isRefused, type OfferFilter } from './allocator.js';
import { ProcessHold } from './process-hold.js';
import {
  addResources,
  attributeValues,
  reservedQuantities,
  resourceQuantities,
  stripAllocation,
  subtractResources,
} from './resources.js';

/**
 * The master: frameworks, offers, tasks and the scheduler calls that change them. The HTTP
 * layer ({@link ./master-http.ts}) validates requests and hands calls here.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @see https://mesos.apache.org/documentation/latest/high-availability-framework-guide/
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
  /** Cuts the connection as a network failure or a dying master would: no ERROR, no final chunk. */
  abort(): void;
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
  // Refused resources per agent (DECLINE, or the unused rest of an ACCEPT), as Mesos' allocator.
  readonly filters: OfferFilter[];
  readonly registeredTime: number;
  unregisteredTime: number;
  readonly tasks: Map<string, TaskRecord>;
  // Tasks of agents marked unreachable, until the agent comes back (Mesos' `unreachableTasks`).
  readonly unreachableTasks: Map<string, TaskRecord>;
  readonly completedTasks: TaskRecord[];
  heartbeat: NodeJS.Timeout | undefined;
  failoverTimer: NodeJS.Timeout | undefined;
  // Offers ever made to it: the allocator's tie-breaker between equal shares.
  allocationCount: number;
  // Known from before a master failover and not subscribed since (Mesos' recovered framework).
  recovered: boolean;
  // Its `master/frameworks/<name>/<id>/…` counters (calls, events, offers, terminal tasks).
  readonly counters: Map<string, number>;
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

/**
 * A map whose every change reports the agent of the changed entry: the master keeps each
 * agent's free resources between allocation cycles and recomputes only those of agents whose
 * offers or tasks changed.
 */
class AgentKeyedMap<V extends { readonly agentId: string }> extends Map<string, V> {
  readonly #changed: (agentId: string) => void;

  constructor(changed: (agentId: string) => void) {
    super();
    this.#changed = changed;
  }

  override set(key: string, value: V): this {
    const previous = super.get(key);
    if (previous) this.#changed(previous.agentId);
    this.#changed(value.agentId);
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    const previous = super.get(key);
    if (previous) this.#changed(previous.agentId);
    return super.delete(key);
  }

  override clear(): void {
    for (const value of super.values()) this.#changed(value.agentId);
    super.clear();
  }
}

/**
 * Where the master sees an agent: registered and connected (`active`), registered but its
 * process gone (`disconnected`, until it restarts), or partitioned away (`unreachable`).
 */
export type AgentConnection = 'active' | 'disconnected' | 'unreachable';

/** Options of {@link LocalMaster}. */
export interface LocalMasterOptions {
  /** The master id (a UUID); framework, agent and offer ids derive from it. */
  readonly id: string;
  /** Seconds between HEARTBEAT events. @default 15 */
  readonly heartbeatIntervalSeconds?: number;
  /** Milliseconds between allocation cycles. @default 1000 */
  readonly allocationIntervalMs?: number;
  /**
   * The switch deciding whether the master's timers (allocation cycles, heartbeats) keep the
   * Node process alive (a cluster shares one with its servers and agents). @default a switch of its own, on
   */
  readonly hold?: ProcessHold;
  /**
   * How many removed (torn-down or timed-out) frameworks `/master/state` keeps in
   * `completed_frameworks`, the newest; older ones are forgotten (Mesos'
   * `--max_completed_frameworks`).
   * @default 50
   */
  readonly maxCompletedFrameworks?: number;
  /**
   * How many finished tasks each framework keeps in `completed_tasks`, the newest; older ones
   * are forgotten (Mesos' `--max_completed_tasks_per_framework`).
   * @default 1000
   */
  readonly maxCompletedTasksPerFramework?: number;
}

/** Mesos' `DEFAULT_MAX_COMPLETED_FRAMEWORKS` (src/master/constants.hpp). */
const DEFAULT_MAX_COMPLETED_FRAMEWORKS = 50;
/** Mesos' `DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK` (src/master/constants.hpp). */
const DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK = 1000;

function wholeNumberOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `${name} must be a whole number ≥ 0, got ${value}. Leave it out for Mesos' default (${fallback}).`,
      { cause: { [name]: value } },
    );
  }
  return value;
}

/** Appends to a bounded history, dropping the oldest entries beyond `limit` (Mesos' circular buffers). */
function pushBounded<T>(history: T[], limit: number, ...entries: T[]): void {
  history.push(...entries);
  if (history.length > limit) history.splice(0, history.length - limit);
}

/** Seconds a DECLINE (or ACCEPT) filters the refused resources when the call gives no `refuse_seconds`. */
const DEFAULT_REFUSE_SECONDS = 5;
/** Mesos caps `refuse_seconds` at 365 days. */
const MAX_REFUSE_SECONDS = 365 * 24 * 3600;

// Terminal states as `master/tasks_<state>` counters; the others are gauges of live tasks.
const TASK_STATE_METRICS: Readonly<Partial<Record<TaskState, string>>> = {
  TASK_STAGING: 'staging',
  TASK_STARTING: 'starting',
  TASK_RUNNING: 'running',
  TASK_KILLING: 'killing',
  TASK_UNREACHABLE: 'unreachable',
  TASK_FINISHED: 'finished',
  TASK_FAILED: 'failed',
  TASK_KILLED: 'killed',
  TASK_LOST: 'lost',
  TASK_ERROR: 'error',
  TASK_DROPPED: 'dropped',
  TASK_GONE: 'gone',
  TASK_GONE_BY_OPERATOR: 'gone_by_operator',
};

// The `master/messages_*` (and other) counters a scheduler call increments, as Mesos' master.
const CALL_METRICS: Readonly<Partial<Record<NonNullable<SchedulerCall['type']>, CounterName>>> = {
  ACCEPT: 'messages_launch_tasks',
  DECLINE: 'messages_decline_offers',
  REVIVE: 'messages_revive_offers',
  SUPPRESS: 'messages_suppress_offers',
  KILL: 'messages_kill_task',
  RECONCILE: 'messages_reconcile_tasks',
  TEARDOWN: 'messages_unregister_framework',
  REQUEST: 'messages_resource_request',
  MESSAGE: 'messages_framework_to_executor',
  ACKNOWLEDGE: 'messages_status_update_acknowledgement',
  RECONCILE_OPERATIONS: 'messages_reconcile_operations',
  ACKNOWLEDGE_OPERATION_STATUS: 'messages_operation_status_update_acknowledgement',
};

// Counters of a 1.12 master's /metrics/snapshot that mesos-local reports (mostly 0: no
// authentication, no operator event stream, no operations, no registrar).
const COUNTER_NAMES = [
  'dropped_messages',
  'event_queue_dispatches',
  'event_queue_http_requests',
  'event_queue_messages',
  'http_cache_hits',
  'invalid_executor_to_framework_messages',
  'invalid_framework_to_executor_messages',
  'invalid_operation_status_update_acknowledgements',
  'invalid_operation_status_updates',
  'invalid_status_update_acknowledgements',
  'invalid_status_updates',
  'messages_authenticate',
  'messages_deactivate_framework',
  'messages_decline_offers',
  'messages_executor_to_framework',
  'messages_exited_executor',
  'messages_framework_to_executor',
  'messages_kill_task',
  'messages_launch_tasks',
  'messages_operation_status_update',
  'messages_operation_status_update_acknowledgement',
  'messages_reconcile_operations',
  'messages_reconcile_tasks',
  'messages_register_framework',
  'messages_register_slave',
  'messages_reregister_framework',
  'messages_reregister_slave',
  'messages_resource_request',
  'messages_revive_offers',
  'messages_status_update',
  'messages_status_update_acknowledgement',
  'messages_suppress_offers',
  'messages_unregister_framework',
  'messages_unregister_slave',
  'messages_update_slave',
  'operator_event_stream_subscribers',
  'recovery_slave_removals',
  'slave_registrations',
  'slave_removals',
  'slave_removals/reason_registered',
  'slave_removals/reason_unhealthy',
  'slave_removals/reason_unregistered',
  'slave_reregistrations',
  'slave_shutdowns_canceled',
  'slave_shutdowns_completed',
  'slave_shutdowns_scheduled',
  'slave_unreachable_canceled',
  'slave_unreachable_completed',
  'slave_unreachable_scheduled',
  'valid_executor_to_framework_messages',
  'valid_framework_to_executor_messages',
  'valid_operation_status_update_acknowledgements',
  'valid_operation_status_updates',
  'valid_status_update_acknowledgements',
  'valid_status_updates',
] as const;

type CounterName = (typeof COUNTER_NAMES)[number];

const OPERATION_TYPES = [
  'create',
  'create_disk',
  'destroy',
  'destroy_disk',
  'grow_volume',
  'reserve',
  'shrink_volume',
  'unreserve',
] as const;
const OPERATION_STATES = [
  'dropped',
  'error',
  'failed',
  'finished',
  'gone_by_operator',
  'pending',
  'recovering',
  'total',
  'unreachable',
] as const;

// The per-framework keys of a 1.12 master's /metrics/snapshot.
const FRAMEWORK_CALL_TYPES = [
  'accept',
  'accept_inverse_offers',
  'acknowledge',
  'acknowledge_operation_status',
  'decline',
  'decline_inverse_offers',
  'kill',
  'message',
  'reconcile',
  'reconcile_operations',
  'request',
  'revive',
  'shutdown',
  'subscribe',
  'suppress',
  'teardown',
  'update_framework',
] as const;
const FRAMEWORK_EVENT_TYPES = [
  'error',
  'failure',
  'heartbeat',
  'inverse_offers',
  'message',
  'offers',
  'rescind',
  'rescind_inverse_offer',
  'subscribed',
  'update',
  'update_operation_status',
] as const;
const FRAMEWORK_OPERATION_TYPES = [
  'create',
  'create_disk',
  'destroy',
  'destroy_disk',
  'grow_volume',
  'launch',
  'launch_group',
  'reserve',
  'shrink_volume',
  'unreserve',
] as const;
const FRAMEWORK_ACTIVE_STATES: readonly TaskState[] = [
  'TASK_KILLING',
  'TASK_RUNNING',
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_UNKNOWN',
  'TASK_UNREACHABLE',
];
const FRAMEWORK_TERMINAL_STATES: readonly TaskState[] = [
  'TASK_DROPPED',
  'TASK_ERROR',
  'TASK_FAILED',
  'TASK_FINISHED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_KILLED',
  'TASK_LOST',
];

function countFor(framework: { readonly counters: Map<string, number> }, name: string): void {
  framework.counters.set(name, (framework.counters.get(name) ?? 0) + 1);
}

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

function scalarSum(resources: readonly Resource[], name: string): number {
  return resources
    .filter((resource) => resource.name === name && resource.type === 'SCALAR')
    .reduce((sum, resource) => sum + (resource.scalar?.value ?? 0), 0);
}

/** The in-process master. */
export class LocalMaster implements AgentUplink {
  #id: string;
  readonly #heartbeatSeconds: number;
  readonly #allocationMs: number;
  readonly #maxCompletedFrameworks: number;
  readonly #maxCompletedTasks: number;
  readonly #agents = new Map<string, LocalAgent>();
  readonly #agentConnections = new Map<string, AgentConnection>();
  readonly #frameworks = new Map<string, FrameworkRecord>();
  readonly #completedFrameworks: FrameworkRecord[] = [];
  // Ids of removed frameworks, refused at SUBSCRIBE. Like Mesos (which does not persist them),
  // a master failover forgets them.
  readonly #removedFrameworkIds = new Set<string>();
  // Free resources (total − unreleased tasks − running custom executors − outstanding offers) of each agent as of the last
  // allocation cycle; an entry goes when the agent's tasks or offers change (see AgentKeyedMap,
  // #release), so that a cycle recomputes only those agents.
  readonly #free = new Map<string, Resource[]>();
  readonly #agentChanged = (agentId: string): void => {
    this.#free.delete(agentId);
  };
  readonly #offers = new AgentKeyedMap<OfferRecord>(this.#agentChanged);
  // Custom executors by `<agentId> <frameworkId> <executorId>`.
  readonly #executors = new Map<string, ExecutorRecord>();
  readonly #startTime = Date.now() / 1000;
  #electedTime = this.#startTime;
  readonly #counters = new Map<string, number>();
  #nextFramework = 0;
  #nextOffer = 0;
  #allocationTimer: NodeJS.Timeout | undefined;
  readonly #hold: ProcessHold;
  #port = 0;
  #heartbeatsPaused = false;
  #latencyMs = 0;

  constructor(options: LocalMasterOptions) {
    this.#id = options.id;
    this.#heartbeatSeconds = options.heartbeatIntervalSeconds ?? 15;
    this.#allocationMs = options.allocationIntervalMs ?? 1000;
    this.#hold = options.hold ?? new ProcessHold();
    this.#maxCompletedFrameworks = wholeNumberOption(
      'maxCompletedFrameworks',
      options.maxCompletedFrameworks,
      DEFAULT_MAX_COMPLETED_FRAMEWORKS,
    );
    this.#maxCompletedTasks = wholeNumberOption(
      'maxCompletedTasksPerFramework',
      options.maxCompletedTasksPerFramework,
      DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK,
    );
  }

  #clearHeartbeat(framework: FrameworkRecord): void {
    clearInterval(framework.heartbeat);
    this.#hold.delete(framework.heartbeat);
  }

  /** The master id (a new one after {@link LocalMaster.failover}). */
  get id(): string {
    return this.#id;
  }

  /** Starts the allocation cycles, once the HTTP server listens on `port`. */
  start(port: number): void {
    this.#port = port;
    this.#allocationTimer = this.#hold.add(setInterval(() => this.allocate(), this.#allocationMs));
  }

  /** Registers an agent. */
  addAgent(agent: LocalAgent): void {
    this.#agents.set(agent.id, agent);
    this.#agentChanged(agent.id);
    this.#agentConnections.set(agent.id, 'active');
    this.#count('messages_register_slave');
    this.#count('slave_registrations');
  }

  /** The agents (whatever their connection). */
  get agents(): readonly LocalAgent[] {
    return [...this.#agents.values()];
  }

  /** How the master sees agent `agentId`, `undefined` for an unknown one. */
  agentConnection(agentId: string): AgentConnection | undefined {
    return this.#agentConnections.get(agentId);
  }

  /** `master_info`, as a 1.12 master sends it. */
  masterInfo(): MasterInfo {
    return {
      id: this.#id,
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
    info?: FrameworkInfo;
  } {
    const framework = this.#frameworks.get(frameworkId);
    if (!framework) return { status: 'unknown' };
    const known = {
      info: framework.info,
      ...(framework.info.principal === undefined ? {} : { principal: framework.info.principal }),
    };
    if (!framework.subscription) return { status: 'disconnected', ...known };
    return { status: 'subscribed', streamId: framework.subscription.streamId, ...known };
  }

  /**
   * SUBSCRIBE: a new framework, or a known one re-subscribing within its `failover_timeout`
   * (it keeps its tasks and filters; its old stream gets ERROR "Framework failed over" and ends;
   * its outstanding offers are discarded without RESCIND, as Mesos' `failoverFramework`). A
   * removed framework's id gets ERROR "Framework has been removed" and the stream ends.
   *
   * @param options.suppressedRoles SUBSCRIBE's `suppressed_roles`: the framework starts
   *   suppressed for those roles (as after SUPPRESS). @default none
   * @returns the framework id
   */
  subscribe(
    info: FrameworkInfo,
    subscription: Subscription,
    options: { readonly suppressedRoles?: readonly string[] } = {},
  ): string {
    const knownId = info.id?.value || undefined;
    this.#count(knownId === undefined ? 'messages_register_framework' : 'messages_reregister_framework');
    // Events are counted for the framework the stream ends up with (none when refused).
    let counted: FrameworkRecord | undefined;
    const stream = this.#withLatency(subscription, (event) => {
      if (counted === undefined) return;
      countFor(counted, 'events');
      countFor(counted, `events/${(event.type ?? 'unknown').toLowerCase()}`);
    });
    if (knownId !== undefined && this.#removedFrameworkIds.has(knownId)) {
      // Mesos' validateFramework: the stream is open (200) and carries only this ERROR.
      stream.send({ type: 'ERROR', error: { message: 'Framework has been removed' } });
      stream.end();
      return knownId;
    }
    let framework = knownId === undefined ? undefined : this.#frameworks.get(knownId);
    if (framework && (info.principal ?? '') !== (framework.info.principal ?? '')) {
      // Mesos' validateUpdate, before the failover: the current subscription stays.
      stream.send({ type: 'ERROR', error: { message: "Changing framework's principal is not allowed." } });
      stream.end();
      return framework.id;
    }
    if (framework) {
      const old = framework.subscription;
      framework.subscription = undefined;
      if (old) {
        old.send({ type: 'ERROR', error: { message: 'Framework failed over' } });
        old.end();
      }
      clearTimeout(framework.failoverTimer);
      framework.failoverTimer = undefined;
      this.#clearHeartbeat(framework);
      this.#dropOffers(framework.id);
      // Mesos' preserveImmutableFields: user and checkpoint stay as first subscribed.
      const { checkpoint: _checkpoint, ...rest } = info;
      framework.info = {
        ...rest,
        id: { value: framework.id },
        user: framework.info.user,
        ...(framework.info.checkpoint === undefined ? {} : { checkpoint: framework.info.checkpoint }),
      };
    } else {
      // An unknown id is taken as given: a framework re-subscribing after a master failover.
      const id = knownId ?? `${this.#id}-${String(this.#nextFramework++).padStart(4, '0')}`;
      framework = {
        id,
        info: { ...info, id: { value: id } },
        subscription: undefined,
        suppressed: false,
        filters: [],
        registeredTime: Date.now() / 1000,
        unregisteredTime: 0,
        tasks: new AgentKeyedMap<TaskRecord>(this.#agentChanged),
        unreachableTasks: new Map(),
        completedTasks: [],
        heartbeat: undefined,
        failoverTimer: undefined,
        allocationCount: 0,
        recovered: false,
        counters: new Map(),
      };
      this.#frameworks.set(id, framework);
    }
    framework.subscription = stream;
    framework.recovered = false;
    // SUBSCRIBE sets the suppressed roles anew.
    framework.suppressed = (options.suppressedRoles ?? []).includes(frameworkRole(framework.info));
    counted = framework;
    countFor(framework, 'calls');
    countFor(framework, 'calls/subscribe');
    stream.send({
      type: 'SUBSCRIBED',
      subscribed: {
        framework_id: { value: framework.id },
        heartbeat_interval_seconds: this.#heartbeatSeconds,
        master_info: this.masterInfo(),
      },
    });
    if (!this.#heartbeatsPaused) stream.send({ type: 'HEARTBEAT' });
    const target = framework;
    framework.heartbeat = this.#hold.add(
      setInterval(() => {
        if (!this.#heartbeatsPaused) target.subscription?.send({ type: 'HEARTBEAT' });
      }, this.#heartbeatSeconds * 1000),
    );
    return framework.id;
  }

  /**
   * The stream of a subscription closed (the scheduler went away). Its offers are rescinded
   * and its filters cleared (the framework is deactivated); after `failover_timeout` (0 by
   * default, as in Mesos) the framework is removed.
   */
  disconnected(frameworkId: string, subscription: Subscription): void {
    const framework = this.#frameworks.get(frameworkId);
    if (!framework || framework.subscription?.streamId !== subscription.streamId) return;
    this.#disconnect(framework);
  }

  #disconnect(framework: FrameworkRecord): void {
    framework.subscription = undefined;
    framework.unregisteredTime = Date.now() / 1000;
    this.#clearHeartbeat(framework);
    // Rescinds to a disconnected framework reach nobody: the offers just go.
    this.#dropOffers(framework.id);
    framework.filters.length = 0;
    clearTimeout(framework.failoverTimer);
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
    const metric = call.type === undefined ? undefined : CALL_METRICS[call.type];
    if (metric !== undefined) this.#count(metric);
    countFor(framework, 'calls');
    if (call.type !== undefined) countFor(framework, `calls/${call.type.toLowerCase()}`);
    switch (call.type) {
      case 'ACCEPT':
        for (const offerId of call.accept?.offer_ids ?? []) {
          if (this.#offers.get(offerId.value)?.frameworkId === framework.id) countFor(framework, 'offers/accepted');
        }
        this.#accept(framework, call);
        break;
      case 'DECLINE':
        for (const offerId of call.decline?.offer_ids ?? []) {
          const offer = this.#returnOffer(framework, offerId.value);
          if (!offer) continue;
          countFor(framework, 'offers/declined');
          this.#refuse(framework, offer.agentId, offer.resources, call.decline?.filters);
        }
        break;
      case 'REVIVE':
        framework.suppressed = false;
        framework.filters.length = 0;
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
      case 'UPDATE_FRAMEWORK': {
        const update = call.update_framework;
        if (!update) break;
        framework.info = { ...update.framework_info, id: { value: framework.id } };
        framework.suppressed = (update.suppressed_roles ?? []).includes(frameworkRole(framework.info));
        break;
      }
      case 'SHUTDOWN':
        if (call.shutdown) {
          const { agent_id, executor_id } = call.shutdown;
          this.#agents.get(agent_id.value)?.shutdownExecutor(framework.id, executor_id.value);
        }
        break;
      default:
        // REQUEST (Mesos' allocator ignores it too) and offer operations other than LAUNCH:
        // accepted (202) and ignored.
        break;
    }
  }

  /** AgentUplink: a status update from an agent, forwarded to its framework. */
  statusUpdate(agentId: string, frameworkId: string, status: TaskStatus): void {
    // A disconnected or partitioned agent reaches nobody; its status update manager re-sends
    // the update once it is back.
    if (this.#agentConnections.get(agentId) !== 'active') return;
    this.#count('messages_status_update');
    const framework = this.#frameworks.get(frameworkId);
    if (!framework) {
      this.#count('invalid_status_updates');
      return;
    }
    this.#count('valid_status_updates');
    const task = framework.tasks.get(status.task_id.value);
    if (task && !task.statuses.some((seen) => seen.uuid && status.uuid && Buffer.from(seen.uuid).equals(status.uuid))) {
      this.#setState(task, status.state);
      task.statuses.push(status);
      // Resources come back with the terminal update, before it is acknowledged (as in Mesos).
      if (isTerminalState(status.state)) this.#release(task, true);
    }
    framework.subscription?.send({ type: 'UPDATE', update: { status } });
  }

  /** AgentUplink: a MESSAGE of an executor, passed to its scheduler as a MESSAGE event. */
  frameworkMessage(agentId: string, frameworkId: string, executorId: string, data: Uint8Array): void {
    this.#frameworks.get(frameworkId)?.subscription?.send({
      type: 'MESSAGE',
      message: { agent_id: { value: agentId }, executor_id: { value: executorId }, data },
    });
  }

  /**
   * AgentUplink: a custom executor terminated (Mesos' ExitedExecutorMessage); its resources are
   * free again, and its framework, when subscribed, gets a FAILURE event naming the agent, the
   * executor and its wait status, as Mesos' `Master::exitedExecutor` sends (once, unreliably:
   * a framework that is disconnected then never hears of it). What a disconnected or
   * unreachable agent reports reaches nobody.
   *
   * @see https://github.com/apache/mesos/blob/1.11.0/src/master/master.cpp (Master::exitedExecutor)
   */
  executorTerminated(agentId: string, frameworkId: string, executorId: string, status = -1): void {
    const reached = this.#agentConnections.get(agentId) === 'active';
    if (reached) this.#count('messages_exited_executor');
    if (!this.#executors.delete(`${agentId} ${frameworkId} ${executorId}`)) return;
    this.#agentChanged(agentId);
    if (!reached) return;
    this.#frameworks.get(frameworkId)?.subscription?.send({
      type: 'FAILURE',
      failure: { agent_id: { value: agentId }, executor_id: { value: executorId }, status },
    });
  }

  /**
   * What the allocator may offer on agent `agentId` now: its resources less those of its live
   * tasks, of its running custom executors and of its outstanding offers.
   */
  freeResources(agentId: string): Resource[] {
    const agent = this.#agents.get(agentId);
    if (!agent) return [];
    return this.#freeOn([agent]).get(agentId) ?? [];
  }

  /**
   * Free resources of `agents`, from #free where still valid, else recomputed (and kept) in one
   * pass over tasks and offers; `heldBy`, when given, also gets every framework's tasks' and
   * offers' resources (the allocator's shares).
   */
  #freeOn(agents: readonly LocalAgent[], heldBy?: Map<string, Resource[]>): Map<string, Resource[]> {
    const stale = new Set(agents.filter((agent) => !this.#free.has(agent.id)).map((agent) => agent.id));
    const takenOnAgent = new Map<string, Resource[]>();
    if (stale.size > 0 || heldBy) {
      const take = (agentId: string, frameworkId: string, resources: readonly Resource[]): void => {
        if (stale.has(agentId)) {
          const onAgent = takenOnAgent.get(agentId);
          if (onAgent) onAgent.push(...resources);
          else takenOnAgent.set(agentId, [...resources]);
        }
        if (heldBy) {
          const held = heldBy.get(frameworkId);
          if (held) held.push(...resources);
          else heldBy.set(frameworkId, [...resources]);
        }
      };
      for (const framework of this.#frameworks.values()) {
        for (const task of framework.tasks.values())
          if (!task.released) take(task.agentId, framework.id, task.resources);
      }
      for (const offer of this.#offers.values()) take(offer.agentId, offer.frameworkId, offer.resources);
      // A custom executor holds its own resources until it terminates, as in Mesos.
      for (const [key, executor] of this.#executors) {
        const [agentId = '', frameworkId = ''] = key.split(' ');
        take(agentId, frameworkId, executor.resources);
      }
    }
    const free = new Map<string, Resource[]>();
    for (const agent of agents) {
      let available = this.#free.get(agent.id);
      if (available === undefined) {
        const taken = takenOnAgent.get(agent.id) ?? [];
        available = subtractResources(agent.resources, addResources([], taken)) ?? [];
        this.#free.set(agent.id, available);
      }
      free.set(agent.id, available);
    }
    return free;
  }

  /** One allocation cycle (also run every `allocationIntervalMs`). */
  allocate(): void {
    // Nobody takes offers (no framework, or all suppressed or disconnected): nothing to compute.
    const wantsOffers = (framework: FrameworkRecord): boolean =>
      framework.subscription !== undefined && !framework.suppressed;
    if (![...this.#frameworks.values()].some(wantsOffers)) return;
    const now = Date.now();
    const active = [...this.#agents.values()].filter((agent) => this.#agentConnections.get(agent.id) === 'active');
    const heldBy = new Map<string, Resource[]>();
    const free = this.#freeOn(active, heldBy);
    const agents = active.map((agent) => ({
      id: agent.id,
      total: agent.resources,
      available: free.get(agent.id) ?? [],
    }));
    const frameworks = [...this.#frameworks.values()].map((framework) => {
      // The framework's filters by agent, so that each agent's check reads only its own.
      const filtersOn = new Map<string, OfferFilter[]>();
      for (const filter of framework.filters) {
        const list = filtersOn.get(filter.agentId);
        if (list) list.push(filter);
        else filtersOn.set(filter.agentId, [filter]);
      }
      return {
        id: framework.id,
        role: frameworkRole(framework.info),
        multiRole: (framework.info.roles?.length ?? 0) > 0,
        wantsOffers: wantsOffers(framework),
        allocated: addResources([], heldBy.get(framework.id) ?? []),
        allocationCount: framework.allocationCount,
        isFiltered: (agentId: string, resources: readonly Resource[], at: number) =>
          isRefused(filtersOn.get(agentId) ?? [], agentId, resources, at),
      };
    });
    const allocations = allocate(agents, frameworks, now);
    const byFramework = new Map<string, Offer[]>();
    for (const allocation of allocations) {
      const agent = this.#agents.get(allocation.agentId) as LocalAgent;
      const offer: Offer = {
        id: { value: `${this.#id}-O${this.#nextOffer++}` },
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
      const batch = byFramework.get(allocation.frameworkId);
      if (batch) batch.push(offer);
      else byFramework.set(allocation.frameworkId, [offer]);
    }
    for (const [frameworkId, offers] of byFramework) {
      const framework = this.#frameworks.get(frameworkId);
      if (!framework) continue;
      framework.allocationCount += offers.length;
      for (const _offer of offers) countFor(framework, 'offers/sent');
      framework.subscription?.send({ type: 'OFFERS', offers: { offers } });
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

  /**
   * The agent's process is gone (test hook). As Mesos when an agent disconnects: its offers are
   * rescinded first; the tasks of frameworks that do not checkpoint become TASK_LOST
   * (REASON_AGENT_DISCONNECTED); those of checkpointing frameworks wait for the agent to come
   * back ({@link LocalMaster.agentRestarted}) or to be marked unreachable.
   */
  agentDisconnected(agentId: string): void {
    if (this.#agentConnections.get(agentId) !== 'active') return;
    this.#agentConnections.set(agentId, 'disconnected');
    this.#rescindOffersOn(agentId);
    const hostname = this.#agents.get(agentId)?.hostname ?? agentId;
    for (const framework of this.#frameworks.values()) {
      if (framework.info.checkpoint) continue;
      for (const task of [...framework.tasks.values()]) {
        if (task.agentId !== agentId) continue;
        this.#retireTask(framework, task, {
          state: 'TASK_LOST',
          message: `Agent ${hostname} disconnected`,
          reason: 'REASON_AGENT_DISCONNECTED',
        });
      }
    }
  }

  /**
   * The agent is partitioned away (test hook), as when Mesos' health checks of it time out:
   * offers rescinded first (as when the agent's connection broke before), then its tasks become
   * TASK_UNREACHABLE for PARTITION_AWARE frameworks and TASK_LOST for the others
   * (REASON_AGENT_REMOVED, "health check timed out"), then a FAILURE event names the agent.
   */
  agentUnreachable(agentId: string): void {
    const connection = this.#agentConnections.get(agentId);
    if (connection === undefined || connection === 'unreachable') return;
    this.#agentConnections.set(agentId, 'unreachable');
    this.#count('slave_removals');
    this.#count('slave_removals/reason_unhealthy');
    this.#count('slave_unreachable_scheduled');
    this.#count('slave_unreachable_completed');
    this.#rescindOffersOn(agentId);
    // As Mesos, the updates carry when the agent became unreachable (nanoseconds since the epoch).
    const unreachableTime = { nanoseconds: Date.now() * 1_000_000 };
    for (const framework of this.#frameworks.values()) {
      const partitionAware = hasCapability(framework.info, 'PARTITION_AWARE');
      for (const task of [...framework.tasks.values()]) {
        if (task.agentId !== agentId) continue;
        const status: TaskStatus = {
          ...this.#statusOf(task, {
            state: partitionAware ? 'TASK_UNREACHABLE' : 'TASK_LOST',
            message: 'health check timed out',
            reason: 'REASON_AGENT_REMOVED',
          }),
          unreachable_time: unreachableTime,
        };
        this.#setState(task, status.state);
        task.statuses.push(status);
        this.#release(task, true);
        framework.tasks.delete(task.info.task_id.value);
        framework.unreachableTasks.set(task.info.task_id.value, task);
        framework.subscription?.send({ type: 'UPDATE', update: { status } });
      }
    }
    // Mesos' sendSlaveLost: every connected framework hears of the agent's removal.
    for (const framework of this.#frameworks.values()) {
      framework.subscription?.send({ type: 'FAILURE', failure: { agent_id: { value: agentId } } });
    }
  }

  /**
   * The partitioned agent is back (test hook), as when it re-registers: the tasks it still runs
   * are the framework's again, in the state the agent reports (no update from the master: the
   * agent's re-sent status updates, or a reconciliation, tell the scheduler). Frameworks removed
   * meanwhile are shut down on it.
   */
  agentReachable(agentId: string): void {
    const agent = this.#agents.get(agentId);
    if (!agent || this.#agentConnections.get(agentId) !== 'unreachable') return;
    this.#agentConnections.set(agentId, 'active');
    this.#count('messages_reregister_slave');
    this.#count('slave_reregistrations');
    const reported = agentTaskStates(agent);
    for (const framework of this.#frameworks.values()) {
      for (const task of [...framework.unreachableTasks.values()]) {
        if (task.agentId !== agentId) continue;
        const state = reported.get(`${framework.id}/${task.info.task_id.value}`);
        if (state === undefined) continue;
        framework.unreachableTasks.delete(task.info.task_id.value);
        task.state = state;
        this.#release(task, isTerminalState(state));
        framework.tasks.set(task.info.task_id.value, task);
      }
    }
    for (const frameworkId of this.#removedFrameworkIds) agent.shutdownFramework(frameworkId);
  }

  /**
   * Agent `agent.id` restarted (test hook): a new process that knows no tasks, or the same one
   * having recovered the tasks of checkpointing frameworks. As when Mesos reconciles a
   * re-registering agent: the tasks it reports stay; every other task the master still has on
   * it becomes TASK_DROPPED (PARTITION_AWARE) or TASK_LOST, "Reconciliation: task unknown to
   * the agent".
   */
  agentRestarted(agent: LocalAgent): void {
    const previous = this.#agentConnections.get(agent.id);
    if (previous === 'active') this.#rescindOffersOn(agent.id);
    this.#agents.set(agent.id, agent);
    this.#agentChanged(agent.id);
    this.#agentConnections.set(agent.id, 'active');
    this.#count('messages_reregister_slave');
    this.#count('slave_reregistrations');
    const reported = agentTaskStates(agent);
    for (const framework of this.#frameworks.values()) {
      const state: TaskState = hasCapability(framework.info, 'PARTITION_AWARE') ? 'TASK_DROPPED' : 'TASK_LOST';
      const gone = [...framework.tasks.values(), ...framework.unreachableTasks.values()];
      for (const task of gone) {
        if (task.agentId !== agent.id) continue;
        framework.unreachableTasks.delete(task.info.task_id.value);
        framework.tasks.set(task.info.task_id.value, task);
        // Recovered: its updates come through the agent's status update manager.
        if (reported.has(`${framework.id}/${task.info.task_id.value}`)) continue;
        this.#retireTask(framework, task, {
          state,
          message: 'Reconciliation: task unknown to the agent',
          reason: 'REASON_RECONCILIATION',
          source: 'SOURCE_AGENT',
        });
      }
    }
  }

  /**
   * The master fails over (test hook): a new master id and elected time, no offers, and every
   * framework "recovered" (the caller cuts the streams): disconnected, with its tasks, until it
   * re-subscribes with its id. As in Mesos, a recovered framework has no failover timeout
   * running (master.cpp schedules it only when a connected framework disconnects), and removed
   * frameworks are forgotten.
   *
   * @param options.id the new master's id (a ZooKeeper-elected front-end's own) @default a new UUID
   * @param options.port the port of the front-end now leading (ZooKeeper failover) @default unchanged
   */
  failover(options: { readonly id?: string; readonly port?: number } = {}): void {
    this.#id = options.id ?? randomUUID();
    this.#electedTime = Date.now() / 1000;
    if (options.port !== undefined) this.#port = options.port;
    // With ZooKeeper (options.port), a scheduler may have found the new leader before this
    // master heard of the election: its new subscription stays.
    const kept = new Set(
      [...this.#frameworks.values()].filter(
        (framework) => options.port !== undefined && framework.subscription?.masterPort === options.port,
      ),
    );
    for (const [offerId, offer] of this.#offers) {
      if (![...kept].some((framework) => framework.id === offer.frameworkId)) this.#offers.delete(offerId);
    }
    this.#removedFrameworkIds.clear();
    for (const framework of this.#frameworks.values()) {
      if (kept.has(framework)) continue;
      const old = framework.subscription;
      framework.subscription = undefined;
      // The old master is gone: its connections break.
      old?.abort();
      framework.recovered = true;
      framework.filters.length = 0;
      framework.suppressed = false;
      this.#clearHeartbeat(framework);
      clearTimeout(framework.failoverTimer);
      framework.failoverTimer = undefined;
    }
  }

  /**
   * Cuts the event stream of framework `frameworkId` (every framework's when omitted) as a
   * network failure would (test hook); the framework is then disconnected as by any broken
   * connection.
   *
   * @returns how many streams were cut
   */
  dropSubscriptions(frameworkId?: string): number {
    let cut = 0;
    for (const framework of this.#frameworks.values()) {
      if (frameworkId !== undefined && framework.id !== frameworkId) continue;
      if (framework.subscription === undefined) continue;
      framework.subscription.abort();
      cut++;
    }
    return cut;
  }

  /** Stops (or resumes) HEARTBEAT events on every stream (test hook). */
  setHeartbeatsPaused(paused: boolean): void {
    this.#heartbeatsPaused = paused;
  }

  /** Delays every event by `ms` from now on, keeping their order (test hook). */
  setLatency(ms: number): void {
    this.#latencyMs = Math.max(0, ms);
  }

  /** The current event latency (test hook), in milliseconds. */
  get latencyMs(): number {
    return this.#latencyMs;
  }

  /** Ends every stream and timer (the agents are stopped by the cluster). */
  stop(): void {
    clearInterval(this.#allocationTimer);
    this.#hold.delete(this.#allocationTimer);
    for (const framework of this.#frameworks.values()) {
      this.#clearHeartbeat(framework);
      clearTimeout(framework.failoverTimer);
      framework.subscription?.end();
      framework.subscription = undefined;
    }
  }

  /**
   * The JSON of `GET /metrics/snapshot`: the `master/*` (per framework too) and `system/*`
   * keys of a 1.12 master (no `allocator/*` and `registrar/*` keys).
   */
  metrics(): Record<string, number> {
    const snapshot: Record<string, number> = {};
    const connections = [...this.#agentConnections.values()];
    const registered = [...this.#agents.values()].filter((a) => this.#agentConnections.get(a.id) !== 'unreachable');
    const frameworks = [...this.#frameworks.values()];
    const active = frameworks.filter((framework) => framework.subscription !== undefined).length;
    for (const name of COUNTER_NAMES) snapshot[`master/${name}`] = this.#counters.get(name) ?? 0;
    snapshot['master/elected'] = 1;
    snapshot['master/uptime_secs'] = Date.now() / 1000 - this.#startTime;
    snapshot['master/frameworks_active'] = active;
    snapshot['master/frameworks_connected'] = active;
    snapshot['master/frameworks_disconnected'] = frameworks.length - active;
    snapshot['master/frameworks_inactive'] = frameworks.length - active;
    snapshot['master/outstanding_offers'] = this.#offers.size;
    snapshot['master/slaves_active'] = connections.filter((c) => c === 'active').length;
    snapshot['master/slaves_connected'] = connections.filter((c) => c === 'active').length;
    snapshot['master/slaves_disconnected'] = connections.filter((c) => c === 'disconnected').length;
    snapshot['master/slaves_inactive'] = connections.filter((c) => c === 'disconnected').length;
    snapshot['master/slaves_unreachable'] = connections.filter((c) => c === 'unreachable').length;
    const live = frameworks.flatMap((framework) => [
      ...framework.tasks.values(),
      ...framework.unreachableTasks.values(),
    ]);
    for (const [state, name] of Object.entries(TASK_STATE_METRICS) as Array<[TaskState, string]>) {
      snapshot[`master/tasks_${name}`] = isTerminalState(state)
        ? (this.#counters.get(`tasks_${name}`) ?? 0)
        : live.filter((task) => task.state === state).length;
    }
    const total = registered.reduce<Resource[]>((sum, agent) => addResources(sum, agent.resources), []);
    const used = registered.reduce<Resource[]>((sum, agent) => addResources(sum, this.#used(agent.id)), []);
    for (const name of ['cpus', 'mem', 'disk', 'gpus']) {
      const whole = scalarSum(total, name);
      const taken = scalarSum(used, name);
      snapshot[`master/${name}_total`] = whole;
      snapshot[`master/${name}_used`] = taken;
      snapshot[`master/${name}_percent`] = whole > 0 ? taken / whole : 0;
      snapshot[`master/${name}_revocable_total`] = 0;
      snapshot[`master/${name}_revocable_used`] = 0;
      snapshot[`master/${name}_revocable_percent`] = 0;
    }
    for (const state of OPERATION_STATES) snapshot[`master/operations/${state}`] = 0;
    for (const type of OPERATION_TYPES) {
      for (const state of OPERATION_STATES) snapshot[`master/operations/${type}/${state}`] = 0;
    }
    for (const framework of [...frameworks, ...this.#completedFrameworks]) {
      Object.assign(snapshot, this.#frameworkMetrics(framework));
    }
    const [load1, load5, load15] = loadavg();
    snapshot['system/cpus_total'] = cpus().length;
    snapshot['system/load_1min'] = load1 ?? 0;
    snapshot['system/load_5min'] = load5 ?? 0;
    snapshot['system/load_15min'] = load15 ?? 0;
    snapshot['system/mem_free_bytes'] = freemem();
    snapshot['system/mem_total_bytes'] = totalmem();
    return snapshot;
  }

  /** The `master/frameworks/<name>/<id>/…` keys of one framework (kept after its removal, as Mesos). */
  #frameworkMetrics(framework: FrameworkRecord): Record<string, number> {
    const prefix = `master/frameworks/${framework.info.name}/${framework.id}/`;
    const keys: Record<string, number> = {};
    const counter = (name: string): number => framework.counters.get(name) ?? 0;
    keys[`${prefix}calls`] = counter('calls');
    for (const type of FRAMEWORK_CALL_TYPES) keys[`${prefix}calls/${type}`] = counter(`calls/${type}`);
    keys[`${prefix}events`] = counter('events');
    for (const type of FRAMEWORK_EVENT_TYPES) keys[`${prefix}events/${type}`] = counter(`events/${type}`);
    for (const name of ['accepted', 'declined', 'rescinded', 'sent']) {
      keys[`${prefix}offers/${name}`] = counter(`offers/${name}`);
    }
    keys[`${prefix}operations`] = 0;
    for (const type of FRAMEWORK_OPERATION_TYPES) keys[`${prefix}operations/${type}`] = 0;
    for (const role of framework.info.roles ?? [frameworkRole(framework.info)]) {
      keys[`${prefix}roles/${role}/suppressed`] = framework.suppressed ? 1 : 0;
    }
    keys[`${prefix}subscribed`] = framework.subscription === undefined ? 0 : 1;
    const live = [...framework.tasks.values(), ...framework.unreachableTasks.values()];
    for (const state of FRAMEWORK_ACTIVE_STATES) {
      keys[`${prefix}tasks/active/${state.toLowerCase()}`] = live.filter((task) => task.state === state).length;
    }
    for (const state of FRAMEWORK_TERMINAL_STATES) {
      const name = `tasks/terminal/${state.toLowerCase()}`;
      keys[`${prefix}${name}`] = counter(name);
    }
    return keys;
  }

  /** The JSON of `GET /master/state`, shaped as a Mesos 1.x master's. */
  state(): Record<string, unknown> {
    const reachable = [...this.#agents.values()].filter(
      (agent) => this.#agentConnections.get(agent.id) !== 'unreachable',
    );
    const slaves = reachable.map((agent) => {
      const used = this.#used(agent.id);
      const offered = [...this.#offers.values()]
        .filter((offer) => offer.agentId === agent.id)
        .reduce<Resource[]>((sum, offer) => addResources(sum, offer.resources), []);
      const active = this.#agentConnections.get(agent.id) === 'active';
      return {
        id: agent.id,
        hostname: agent.hostname,
        port: agent.port,
        pid: agent.pid,
        attributes: attributeValues(agent.attributes),
        resources: resourceQuantities(agent.resources),
        used_resources: resourceQuantities(used),
        offered_resources: resourceQuantities(offered),
        // As Mesos: the static reservations by role, and the rest apart.
        reserved_resources: reservedQuantities(agent.resources),
        unreserved_resources: resourceQuantities(agent.resources.filter((resource) => (resource.role ?? '*') === '*')),
        active,
        deactivated: false,
        registered_time: agent.startTime,
        version: '1.12.0',
        capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT'],
      };
    });
    const frameworks = [...this.#frameworks.values()];
    return {
      version: '1.12.0',
      id: this.#id,
      pid: `master@127.0.0.1:${this.#port}`,
      hostname: '127.0.0.1',
      leader: `master@127.0.0.1:${this.#port}`,
      leader_info: this.masterInfo(),
      start_time: this.#startTime,
      elected_time: this.#electedTime,
      activated_slaves: slaves.filter((slave) => slave.active).length * 1.0,
      deactivated_slaves: slaves.filter((slave) => !slave.active).length * 1.0,
      unreachable_slaves: (this.#agents.size - slaves.length) * 1.0,
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
    const used = this.#usedBy(framework);
    const offered = this.#offeredTo(framework.id);
    return {
      id: framework.id,
      name: framework.info.name,
      user: framework.info.user,
      hostname: framework.info.hostname ?? '',
      webui_url: framework.info.webui_url ?? '',
      active: framework.subscription !== undefined,
      connected: framework.subscription !== undefined,
      recovered: framework.recovered,
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
      unreachable_tasks: [...framework.unreachableTasks.values()].map((task) => this.#taskJson(task)),
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

  #usedBy(framework: FrameworkRecord): Resource[] {
    return [...framework.tasks.values()]
      .filter((task) => !task.released)
      .reduce<Resource[]>((sum, task) => addResources(sum, task.resources), []);
  }

  #offeredTo(frameworkId: string): Resource[] {
    return [...this.#offers.values()]
      .filter((offer) => offer.frameworkId === frameworkId)
      .reduce<Resource[]>((sum, offer) => addResources(sum, offer.resources), []);
  }

  #returnOffer(framework: FrameworkRecord, offerId: string): OfferRecord | undefined {
    const offer = this.#offers.get(offerId);
    if (!offer || offer.frameworkId !== framework.id) return undefined;
    this.#offers.delete(offerId);
    return offer;
  }

  /** Removes a framework's offers without telling it (failover, removal, disconnection). */
  #dropOffers(frameworkId: string): void {
    for (const [id, offer] of this.#offers) if (offer.frameworkId === frameworkId) this.#offers.delete(id);
  }

  /** RESCIND of every offer on an agent that went away. */
  #rescindOffersOn(agentId: string): void {
    for (const [id, offer] of [...this.#offers]) {
      if (offer.agentId !== agentId) continue;
      this.#offers.delete(id);
      const framework = this.#frameworks.get(offer.frameworkId);
      if (!framework) continue;
      countFor(framework, 'offers/rescinded');
      framework.subscription?.send({ type: 'RESCIND', rescind: { offer_id: { value: id } } });
    }
  }

  /**
   * A filter of the refused `resources` of an agent for `refuse_seconds` (default 5, at least
   * one allocation interval, at most 365 days; 0 means none), as Mesos' `recoverResources`.
   */
  #refuse(framework: FrameworkRecord, agentId: string, resources: readonly Resource[], filters?: Filters): void {
    let seconds = filters?.refuse_seconds ?? DEFAULT_REFUSE_SECONDS;
    if (!Number.isFinite(seconds) || seconds < 0) seconds = DEFAULT_REFUSE_SECONDS;
    if (seconds === 0 || resources.length === 0) return;
    const timeoutMs = Math.max(this.#allocationMs, Math.min(seconds, MAX_REFUSE_SECONDS) * 1000);
    const now = Date.now();
    // Expired filters are dropped here, so that the list stays short.
    const current = framework.filters.filter((filter) => filter.expiresAt > now);
    framework.filters.length = 0;
    framework.filters.push(...current, {
      agentId,
      resources: resources.map(stripAllocation),
      expiresAt: now + timeoutMs,
    });
  }

  /** Whether a task's resources are back on its agent (its terminal update came); keeps #free true. */
  #release(task: TaskRecord, released: boolean): void {
    if (task.released !== released) this.#agentChanged(task.agentId);
    task.released = released;
  }

  #count(name: CounterName | `tasks_${string}`): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + 1);
  }

  /** Sets a task's state; a first terminal state counts in `master/tasks_<state>`. */
  #setState(task: TaskRecord, state: TaskState): void {
    if (!isTerminalState(task.state) && isTerminalState(state)) {
      const name = TASK_STATE_METRICS[state];
      if (name !== undefined) this.#count(`tasks_${name}`);
      const framework =
        this.#frameworks.get(task.frameworkId) ??
        this.#completedFrameworks.find((candidate) => candidate.id === task.frameworkId);
      if (framework) countFor(framework, `tasks/terminal/${state.toLowerCase()}`);
    }
    task.state = state;
  }

  #statusOf(
    task: TaskRecord,
    update: { state: TaskState; message: string; reason: TaskStatusReason; source?: TaskStatus['source'] },
  ): TaskStatus {
    return {
      task_id: { value: task.info.task_id.value },
      state: update.state,
      message: update.message,
      source: update.source ?? 'SOURCE_MASTER',
      reason: update.reason,
      agent_id: { value: task.agentId },
      timestamp: Date.now() / 1000,
    };
  }

  /** A terminal update made by the master: the task moves to completed, the framework is told. */
  #retireTask(
    framework: FrameworkRecord,
    task: TaskRecord,
    update: { state: TaskState; message: string; reason: TaskStatusReason; source?: TaskStatus['source'] },
  ): void {
    const status = this.#statusOf(task, update);
    this.#setState(task, status.state);
    task.statuses.push(status);
    this.#release(task, true);
    framework.tasks.delete(task.info.task_id.value);
    pushBounded(framework.completedTasks, this.#maxCompletedTasks, task);
    framework.subscription?.send({ type: 'UPDATE', update: { status } });
  }

  /**
   * The stream as the framework sees it: with a latency set, every event (and the end) is
   * delayed, in order.
   */
  #withLatency(subscription: Subscription, onEvent: (event: SchedulerEvent) => void): Subscription {
    const queue: Array<{ readonly at: number; readonly run: () => void }> = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = (): void => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && (queue[0] as { at: number }).at <= now) queue.shift()?.run();
      const head = queue[0];
      if (head) timer = setTimeout(drain, head.at - now);
    };
    const later = (run: () => void): void => {
      if (this.#latencyMs <= 0 && queue.length === 0) {
        run();
        return;
      }
      const at = Math.max(Date.now() + this.#latencyMs, queue.at(-1)?.at ?? 0);
      queue.push({ at, run });
      if (timer === undefined) timer = setTimeout(drain, at - Date.now());
    };
    return {
      streamId: subscription.streamId,
      ...(subscription.masterPort === undefined ? {} : { masterPort: subscription.masterPort }),
      send: (event) => {
        onEvent(event);
        later(() => subscription.send(event));
      },
      end: () => later(() => subscription.end()),
      // A broken connection is not delayed: nothing queued behind it can arrive anymore.
      abort: () => subscription.abort(),
    };
  }

  #masterUpdate(
    framework: FrameworkRecord,
    taskId: string,
    state: TaskState,
    message: string,
    reason: TaskStatusReason,
    agentId?: string,
  ): void {
    // A task the master refused (invalid task or offers) counts as ended in that state;
    // a reconciliation answer about an unknown task does not.
    const name = TASK_STATE_METRICS[state];
    if (reason !== 'REASON_RECONCILIATION' && name !== undefined && isTerminalState(state)) {
      this.#count(`tasks_${name}`);
      countFor(framework, `tasks/terminal/${state.toLowerCase()}`);
    }
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
        this.#agentChanged(agentId);
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
    this.#refuse(framework, agentId, pool, accept.filters);
  }

  #validateTask(framework: FrameworkRecord, task: TaskInfo, agentId: string, pool: Resource[]): string | undefined {
    const taskId = task.task_id.value;
    if (framework.tasks.has(taskId)) return `Task has duplicate ID: ${taskId}`;
    // Mesos' validateUniqueTaskID: an unreachable task may still run behind its partition.
    if (framework.unreachableTasks.has(taskId)) return `Task reuses the ID of an unreachable task: ${taskId}`;
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
    this.#count(task ? 'valid_status_update_acknowledgements' : 'invalid_status_update_acknowledgements');
    // An acknowledgement to an agent that is not connected is lost; the agent re-sends the update.
    if (this.#agentConnections.get(ack.agent_id.value) === 'active') {
      this.#agents.get(ack.agent_id.value)?.acknowledge(framework.id, ack.task_id.value, ack.uuid);
    }
    if (!task) return;
    const last = task.statuses.at(-1);
    // The acknowledged terminal update retires the task into completed_tasks.
    if (last?.uuid && isTerminalState(last.state) && Buffer.from(last.uuid).equals(Buffer.from(ack.uuid))) {
      framework.tasks.delete(ack.task_id.value);
      pushBounded(framework.completedTasks, this.#maxCompletedTasks, task);
    }
  }

  #kill(framework: FrameworkRecord, taskId: string): void {
    const task = framework.tasks.get(taskId);
    if (!task) {
      const unreachable = framework.unreachableTasks.get(taskId);
      // Nothing reaches a partitioned agent: the scheduler hears the task's latest state again.
      if (unreachable) this.#sendLatest(framework, unreachable);
      else this.#reconcileUnknown(framework, taskId);
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

  #sendLatest(framework: FrameworkRecord, task: TaskRecord): void {
    const last = task.statuses.at(-1);
    const status: TaskStatus = {
      task_id: { value: task.info.task_id.value },
      state: task.state,
      message: 'Reconciliation: Latest task state',
      source: 'SOURCE_MASTER',
      reason: 'REASON_RECONCILIATION',
      agent_id: { value: task.agentId },
      // No executor_id: a command task has none at the master (flow2's recorded reconciliation).
      timestamp: Date.now() / 1000,
      ...(last?.container_status ? { container_status: last.container_status } : {}),
    };
    framework.subscription?.send({ type: 'UPDATE', update: { status } });
  }

  #reconcile(framework: FrameworkRecord, call: SchedulerCall): void {
    const asked = call.reconcile?.tasks ?? [];
    if (asked.length === 0) {
      for (const task of framework.tasks.values()) this.#sendLatest(framework, task);
      for (const task of framework.unreachableTasks.values()) this.#sendLatest(framework, task);
      return;
    }
    for (const entry of asked) {
      const task = framework.tasks.get(entry.task_id.value) ?? framework.unreachableTasks.get(entry.task_id.value);
      if (task) this.#sendLatest(framework, task);
      else this.#reconcileUnknown(framework, entry.task_id.value, entry.agent_id?.value);
    }
  }

  /**
   * Removes a framework (TEARDOWN, or its failover timeout passed), as Mesos'
   * `removeFramework`: its offers go, its tasks are killed on the agents and recorded as
   * TASK_KILLED (REASON_FRAMEWORK_REMOVED, no update sent), it moves to completed frameworks,
   * and a later SUBSCRIBE with its id is refused.
   */
  #removeFramework(framework: FrameworkRecord): void {
    if (this.#frameworks.get(framework.id) !== framework) return;
    this.#frameworks.delete(framework.id);
    this.#removedFrameworkIds.add(framework.id);
    this.#clearHeartbeat(framework);
    clearTimeout(framework.failoverTimer);
    this.#dropOffers(framework.id);
    for (const agent of this.#agents.values()) {
      // A partitioned agent shuts the framework down when it comes back (see agentReachable).
      if (this.#agentConnections.get(agent.id) !== 'unreachable') agent.shutdownFramework(framework.id);
    }
    for (const task of [...framework.tasks.values(), ...framework.unreachableTasks.values()]) {
      if (!isTerminalState(task.state) || task.state === 'TASK_UNREACHABLE') {
        const status = this.#statusOf(task, {
          state: 'TASK_KILLED',
          message: `Framework ${framework.id} removed`,
          reason: 'REASON_FRAMEWORK_REMOVED',
        });
        this.#setState(task, 'TASK_KILLED');
        task.statuses.push(status);
      }
      this.#release(task, true);
      pushBounded(framework.completedTasks, this.#maxCompletedTasks, task);
    }
    framework.tasks.clear();
    framework.unreachableTasks.clear();
    framework.unregisteredTime = Date.now() / 1000;
    const subscription = framework.subscription;
    framework.subscription = undefined;
    // TEARDOWN ends the stream with the final chunk and no ERROR event, as a real master does.
    subscription?.end();
    pushBounded(this.#completedFrameworks, this.#maxCompletedFrameworks, framework);
  }
}

/** The tasks an agent reports in its `/state`, by `<frameworkId>/<taskId>`. */
function agentTaskStates(agent: LocalAgent): Map<string, TaskState> {
  interface StateTask {
    readonly id: string;
    readonly framework_id: string;
    readonly state: TaskState;
  }
  interface StateExecutor {
    readonly tasks?: readonly StateTask[];
    readonly completed_tasks?: readonly StateTask[];
  }
  interface StateFramework {
    readonly executors?: readonly StateExecutor[];
    readonly completed_executors?: readonly StateExecutor[];
  }
  const state = agent.state() as {
    frameworks?: readonly StateFramework[];
    completed_frameworks?: readonly StateFramework[];
  };
  const states = new Map<string, TaskState>();
  for (const framework of [...(state.frameworks ?? []), ...(state.completed_frameworks ?? [])]) {
    for (const executor of [...(framework.executors ?? []), ...(framework.completed_executors ?? [])]) {
      for (const task of [...(executor.tasks ?? []), ...(executor.completed_tasks ?? [])]) {
        states.set(`${task.framework_id}/${task.id}`, task.state);
      }
    }
  }
  return states;
}
