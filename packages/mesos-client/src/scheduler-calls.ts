import type {
  ExecutorInfo,
  Filters,
  FrameworkInfo,
  OfferOperation,
  OperationID,
  Resource,
  SchedulerCall,
  SchedulerCallType,
  TaskGroupInfo,
  TaskInfo,
} from './generated/mesos-types.js';

/**
 * Builders of scheduler calls, offer operations and filters: plain objects in the shape of
 * `scheduler.proto` / `mesos.proto` (snake_case), ready for `SCHEDULER_CALL_CODECS`.
 *
 * @see https://github.com/apache/mesos/blob/master/include/mesos/v1/scheduler/scheduler.proto
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/#calls
 * @module
 */

/** The field of `Call` that carries the payload of each call type. */
export const SCHEDULER_CALL_FIELDS = {
  SUBSCRIBE: 'subscribe',
  ACCEPT: 'accept',
  DECLINE: 'decline',
  ACCEPT_INVERSE_OFFERS: 'accept_inverse_offers',
  DECLINE_INVERSE_OFFERS: 'decline_inverse_offers',
  REVIVE: 'revive',
  KILL: 'kill',
  SHUTDOWN: 'shutdown',
  ACKNOWLEDGE: 'acknowledge',
  ACKNOWLEDGE_OPERATION_STATUS: 'acknowledge_operation_status',
  RECONCILE: 'reconcile',
  RECONCILE_OPERATIONS: 'reconcile_operations',
  MESSAGE: 'message',
  REQUEST: 'request',
  SUPPRESS: 'suppress',
  UPDATE_FRAMEWORK: 'update_framework',
} as const satisfies Partial<Record<SchedulerCallType, keyof SchedulerCall>>;

/** Call types that carry a payload. */
export type SchedulerCallWithPayload = keyof typeof SCHEDULER_CALL_FIELDS;

/** The payload type of call type `T`, e.g. `SchedulerCallAccept` for `'ACCEPT'`. */
export type SchedulerCallPayload<T extends SchedulerCallWithPayload> = NonNullable<
  SchedulerCall[(typeof SCHEDULER_CALL_FIELDS)[T]]
>;

/**
 * A call of `type` for framework `frameworkId`, with its payload in the field Mesos expects
 * (`{ type: 'KILL', framework_id, kill: payload }`). TEARDOWN has no payload.
 */
export function buildSchedulerCall<T extends SchedulerCallWithPayload>(
  frameworkId: string,
  type: T,
  payload: SchedulerCallPayload<T>,
): SchedulerCall;
/** A call without payload (TEARDOWN). */
export function buildSchedulerCall(frameworkId: string, type: 'TEARDOWN'): SchedulerCall;
export function buildSchedulerCall(frameworkId: string, type: SchedulerCallType, payload?: unknown): SchedulerCall {
  const call: SchedulerCall = { type, framework_id: { value: frameworkId } };
  const field = SCHEDULER_CALL_FIELDS[type as SchedulerCallWithPayload];
  if (field !== undefined && payload !== undefined) (call as Record<string, unknown>)[field] = payload;
  return call;
}

/**
 * The SUBSCRIBE call. With a framework id (a re-subscription, e.g. after a master failover or a
 * scheduler restart within `failover_timeout`) Mesos needs it BOTH as the top-level
 * `framework_id` and as `framework_info.id`; the recorded master answers 400 otherwise.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/#subscribe-1
 */
export function buildSubscribeCall(
  frameworkInfo: FrameworkInfo,
  frameworkId: string | undefined,
  extra: { readonly suppressedRoles?: readonly string[] } = {},
): SchedulerCall {
  const info: FrameworkInfo = { ...frameworkInfo };
  if (frameworkId === undefined) delete info.id;
  else info.id = { value: frameworkId };
  return {
    type: 'SUBSCRIBE',
    ...(frameworkId === undefined ? {} : { framework_id: { value: frameworkId } }),
    subscribe: {
      framework_info: info,
      ...(extra.suppressedRoles === undefined ? {} : { suppressed_roles: [...extra.suppressedRoles] }),
    },
  };
}

/** Options common to every offer operation builder. */
export interface OfferOperationOptions {
  /**
   * An operation id: Mesos then sends UPDATE_OPERATION_STATUS events for it (to be
   * acknowledged). Not allowed for LAUNCH and LAUNCH_GROUP. @default undefined
   */
  readonly id?: OperationID | string;
}

function withId(operation: OfferOperation, options: OfferOperationOptions): OfferOperation {
  if (options.id === undefined) return operation;
  return { ...operation, id: typeof options.id === 'string' ? { value: options.id } : options.id };
}

/**
 * A LAUNCH operation for an ACCEPT: launches `taskInfos` on the offered resources.
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/#accept
 */
export function launchOperation(taskInfos: readonly TaskInfo[]): OfferOperation {
  return { type: 'LAUNCH', launch: { task_infos: [...taskInfos] } };
}

/**
 * A LAUNCH_GROUP operation: launches a task group (a pod) with one default executor.
 * @see https://mesos.apache.org/documentation/latest/nested-container-and-task-group/
 */
export function launchGroupOperation(executor: ExecutorInfo, taskGroup: TaskGroupInfo): OfferOperation {
  return { type: 'LAUNCH_GROUP', launch_group: { executor, task_group: taskGroup } };
}

/**
 * A RESERVE operation (dynamic reservation of offered resources for a role).
 * @see https://mesos.apache.org/documentation/latest/reservation/
 */
export function reserveOperation(
  resources: readonly Resource[],
  options: OfferOperationOptions & { readonly source?: readonly Resource[] } = {},
): OfferOperation {
  return withId(
    {
      type: 'RESERVE',
      reserve: { resources: [...resources], ...(options.source === undefined ? {} : { source: [...options.source] }) },
    },
    options,
  );
}

/**
 * An UNRESERVE operation.
 * @see https://mesos.apache.org/documentation/latest/reservation/
 */
export function unreserveOperation(
  resources: readonly Resource[],
  options: OfferOperationOptions = {},
): OfferOperation {
  return withId({ type: 'UNRESERVE', unreserve: { resources: [...resources] } }, options);
}

/**
 * A CREATE operation (persistent volumes on reserved disk).
 * @see https://mesos.apache.org/documentation/latest/persistent-volume/
 */
export function createOperation(volumes: readonly Resource[], options: OfferOperationOptions = {}): OfferOperation {
  return withId({ type: 'CREATE', create: { volumes: [...volumes] } }, options);
}

/**
 * A DESTROY operation (persistent volumes).
 * @see https://mesos.apache.org/documentation/latest/persistent-volume/
 */
export function destroyOperation(volumes: readonly Resource[], options: OfferOperationOptions = {}): OfferOperation {
  return withId({ type: 'DESTROY', destroy: { volumes: [...volumes] } }, options);
}

/** Options of {@link filters}. */
export interface FilterOptions {
  /**
   * How long the master should not re-offer the declined (or left unused) resources, in seconds.
   * @default 5 (Mesos' default when absent)
   */
  readonly refuseSeconds?: number;
}

/**
 * The `Filters` of an ACCEPT or DECLINE.
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/#decline
 */
export function filters(options: FilterOptions = {}): Filters {
  return options.refuseSeconds === undefined ? {} : { refuse_seconds: options.refuseSeconds };
}
