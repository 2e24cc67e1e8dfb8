import { decodeJson, encodeJson } from './codec-json.js';
import { getTypePlan } from './codec-plan.js';
import { decodeProtobuf, encodeProtobuf } from './codec-protobuf.js';
import type {
  ExecutorCall,
  ExecutorEvent,
  MesosMessageTypeName,
  MesosMessageTypes,
  SchedulerCall,
  SchedulerEvent,
} from './generated/mesos-types.js';

/**
 * Codecs of Mesos v1 messages in both encodings of the HTTP APIs. Both produce and take the same
 * in-memory representation:
 *
 * - plain objects keyed by the proto field names (snake_case, as in Mesos' JSON);
 * - enums as their value names (`'OFFERS'`, `'TASK_RUNNING'`); an unknown enum value (a number
 *   from protobuf, a name from JSON) is dropped, as Mesos does;
 * - `bytes` as `Uint8Array` (always a copy, never a view of the input);
 * - 64-bit integers and doubles as `number`; a 64-bit integer beyond ±2^53 fails to decode,
 *   except `TimeInfo.nanoseconds` (nanoseconds since the epoch exceed 2^53; it is read as the
 *   nearest number, within 256 ns);
 * - absent optional fields absent: defaults are never filled in, so protobuf re-encoding of a
 *   decoded message gives the same bytes;
 * - repeated and map fields absent when empty (decoders never produce `[]` or `{}`; encoders
 *   accept and omit them).
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @see https://mesos.apache.org/documentation/latest/executor-http-api/
 * @module
 */

/** The two encodings of Mesos' HTTP APIs. */
export type MesosEncoding = 'protobuf' | 'json';

/**
 * The `Content-Type` (and `Accept`) value of each encoding. Mesos compares them exactly: a
 * `; charset=utf-8` suffix is rejected with 415.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 */
export const MESOS_CONTENT_TYPES = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
} as const satisfies Record<MesosEncoding, string>;

/** Encodes and decodes one message type in one encoding. */
export interface MessageCodec<T> {
  /** The full protobuf name of the message, e.g. `'mesos.v1.scheduler.Call'`. */
  readonly typeName: string;
  /** The encoding. */
  readonly encoding: MesosEncoding;
  /** The `Content-Type` of bodies in this encoding ({@link MESOS_CONTENT_TYPES}). */
  readonly contentType: (typeof MESOS_CONTENT_TYPES)[MesosEncoding];
  /**
   * Encodes a message (validated first).
   * @throws SparkMesosError `SM_ERR_MESOS_ENCODE` naming the field path: a missing required
   *   field, a value of the wrong type, an unknown enum name, a 64-bit integer that is not a
   *   safe integer
   */
  encode(message: T): Uint8Array;
  /**
   * Decodes a body.
   * @throws SparkMesosError `SM_ERR_MESOS_DECODE` naming the type (and field where known), with
   *   the underlying error as `cause`
   */
  decode(bytes: Uint8Array): T;
}

/**
 * A codec of one Mesos message type in one encoding.
 *
 * @param typeName the full protobuf name, e.g. `'mesos.v1.scheduler.Event'`
 * @param encoding `'protobuf'` or `'json'`
 * @throws SparkMesosError `SM_ERR_MESOS_SCHEMA` for an unknown type name
 */
export function createMessageCodec<K extends MesosMessageTypeName>(
  typeName: K,
  encoding: MesosEncoding,
): MessageCodec<MesosMessageTypes[K]>;
/**
 * A codec of one Mesos message type in one encoding, typed by the caller.
 *
 * @param typeName the full protobuf name, e.g. `'mesos.v1.scheduler.Event'`
 * @param encoding `'protobuf'` or `'json'`
 * @throws SparkMesosError `SM_ERR_MESOS_SCHEMA` for an unknown type name
 */
export function createMessageCodec<T>(typeName: string, encoding: MesosEncoding): MessageCodec<T>;
export function createMessageCodec<T>(typeName: string, encoding: MesosEncoding): MessageCodec<T> {
  const plan = getTypePlan(typeName);
  if (encoding === 'protobuf') {
    return {
      typeName: plan.name,
      encoding,
      contentType: MESOS_CONTENT_TYPES.protobuf,
      encode: (message) => encodeProtobuf(plan, message),
      decode: (bytes) => decodeProtobuf(plan, bytes) as T,
    };
  }
  return {
    typeName: plan.name,
    encoding,
    contentType: MESOS_CONTENT_TYPES.json,
    encode: (message) => encodeJson(plan, message),
    decode: (bytes) => decodeJson(plan, bytes) as T,
  };
}

/** The codecs of one message type in both encodings. */
export type MessageCodecPair<T> = Readonly<Record<MesosEncoding, MessageCodec<T>>>;

function lazyPair<T>(typeName: MesosMessageTypeName): MessageCodecPair<T> {
  const cache: Partial<Record<MesosEncoding, MessageCodec<T>>> = {};
  const get = (encoding: MesosEncoding): MessageCodec<T> => {
    cache[encoding] ??= createMessageCodec<T>(typeName, encoding);
    return cache[encoding];
  };
  return Object.freeze({
    get protobuf() {
      return get('protobuf');
    },
    get json() {
      return get('json');
    },
  });
}

/**
 * Codecs of `mesos.v1.scheduler.Call` (scheduler → master), by encoding. Built on first use.
 * @see https://github.com/apache/mesos/blob/master/include/mesos/v1/scheduler/scheduler.proto
 */
export const SCHEDULER_CALL_CODECS: MessageCodecPair<SchedulerCall> = lazyPair('mesos.v1.scheduler.Call');

/**
 * Codecs of `mesos.v1.scheduler.Event` (master → scheduler, one per RecordIO record). Built on first use.
 * @see https://github.com/apache/mesos/blob/master/include/mesos/v1/scheduler/scheduler.proto
 */
export const SCHEDULER_EVENT_CODECS: MessageCodecPair<SchedulerEvent> = lazyPair('mesos.v1.scheduler.Event');

/**
 * Codecs of `mesos.v1.executor.Call` (executor → agent), by encoding. Built on first use.
 * @see https://github.com/apache/mesos/blob/master/include/mesos/v1/executor/executor.proto
 */
export const EXECUTOR_CALL_CODECS: MessageCodecPair<ExecutorCall> = lazyPair('mesos.v1.executor.Call');

/**
 * Codecs of `mesos.v1.executor.Event` (agent → executor, one per RecordIO record). Built on first use.
 * @see https://github.com/apache/mesos/blob/master/include/mesos/v1/executor/executor.proto
 */
export const EXECUTOR_EVENT_CODECS: MessageCodecPair<ExecutorEvent> = lazyPair('mesos.v1.executor.Event');

/**
 * The codecs of the scheduler and executor APIs for one encoding, e.g. chosen from a response's
 * `Content-Type`.
 *
 * @param encoding `'protobuf'` or `'json'`
 */
export function getMesosApiCodecs(encoding: MesosEncoding): {
  readonly schedulerCall: MessageCodec<SchedulerCall>;
  readonly schedulerEvent: MessageCodec<SchedulerEvent>;
  readonly executorCall: MessageCodec<ExecutorCall>;
  readonly executorEvent: MessageCodec<ExecutorEvent>;
} {
  return {
    schedulerCall: SCHEDULER_CALL_CODECS[encoding],
    schedulerEvent: SCHEDULER_EVENT_CODECS[encoding],
    executorCall: EXECUTOR_CALL_CODECS[encoding],
    executorEvent: EXECUTOR_EVENT_CODECS[encoding],
  };
}
