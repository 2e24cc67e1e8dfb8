import { SparkMesosError } from '@spark-mesos/errors';
import type protobuf from 'protobufjs/light.js';
import { DecodeProblem, getGeneratedDecoder, withReader } from './codec-decoder.js';
import { type FieldPlan, formatPath, type TypePlan } from './codec-plan.js';
import { toWireMessage } from './codec-wire.js';

/**
 * The protobuf (`application/x-protobuf`) encoding of Mesos messages. Decoding uses the decoders
 * generated in `codec-decoder.ts`; encoding validates and converts (`codec-wire.ts`), then uses
 * protobufjs' generated encoder, which writes fields in field-number order like protobuf C++.
 *
 * @module
 */

/** protobufjs `toObject` options giving the in-memory representation (bytes fixed afterwards). */
const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  enums: String,
  longs: Number,
  defaults: false,
  arrays: false,
  objects: false,
  oneofs: false,
};

type Obj = Record<string, unknown>;

/** Thrown inside the fast pass; the slow pass then finds the field path. */
const UNSAFE = Symbol('unsafe-int64');

function fixScalar(field: FieldPlan, value: unknown): unknown {
  switch (field.kind) {
    case 'int64':
    case 'uint64':
      if (!Number.isSafeInteger(value)) throw UNSAFE;
      return value;
    case 'bytes':
      return new Uint8Array(value as Uint8Array);
    default:
      return value;
  }
}

function fixMessage(obj: Obj, plan: TypePlan): void {
  const post = plan.postDecode;
  for (let i = 0; i < post.length; i++) {
    const field = post[i]!;
    const value = obj[field.name];
    if (value === undefined) continue;
    if (field.kind === 'message') {
      const sub = field.message!;
      if (field.repeated) {
        const list = value as Obj[];
        for (let j = 0; j < list.length; j++) fixMessage(list[j]!, sub);
      } else if (field.map) {
        const map = value as Record<string, Obj>;
        for (const key of Object.keys(map)) fixMessage(map[key]!, sub);
      } else {
        fixMessage(value as Obj, sub);
      }
    } else if (field.repeated) {
      const list = value as unknown[];
      let kept = 0;
      for (let j = 0; j < list.length; j++) {
        const fixed = fixScalar(field, list[j]);
        if (fixed !== undefined) list[kept++] = fixed;
      }
      if (kept === 0) delete obj[field.name];
      else list.length = kept;
    } else if (field.map) {
      const map = value as Obj;
      for (const key of Object.keys(map)) {
        const fixed = fixScalar(field, map[key]);
        if (fixed === undefined) delete map[key];
        else map[key] = fixed;
      }
    } else {
      const fixed = fixScalar(field, value);
      if (fixed === undefined) delete obj[field.name];
      else obj[field.name] = fixed;
    }
  }
}

/** Finds the path of the first 64-bit integer that is not a safe integer (slow pass, errors only). */
function findUnsafe(obj: Obj, plan: TypePlan, path: (string | number)[]): boolean {
  for (const field of plan.postDecode) {
    const value = obj[field.name];
    if (value === undefined) continue;
    path.push(field.name);
    const entries: [string | number | undefined, unknown][] = field.repeated
      ? (value as unknown[]).map((v, i) => [i, v])
      : field.map
        ? Object.entries(value as Obj)
        : [[undefined, value]];
    for (const [key, item] of entries) {
      if (key !== undefined) path.push(key);
      if (field.kind === 'message' && findUnsafe(item as Obj, field.message!, path)) return true;
      if ((field.kind === 'int64' || field.kind === 'uint64') && !Number.isSafeInteger(item)) return true;
      if (key !== undefined) path.pop();
    }
    path.pop();
  }
  return false;
}

function decodeError(plan: TypePlan, bytes: Uint8Array, cause: unknown): SparkMesosError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new SparkMesosError(
    'SM_ERR_MESOS_DECODE',
    `Cannot decode ${plan.name} from ${bytes.length} bytes of protobuf: ${reason}. ` +
      `The body is not a valid ${plan.name} (check that the peer sent application/x-protobuf for this message type).`,
    { cause, details: { type: plan.name, encoding: 'protobuf', length: bytes.length } },
  );
}

function unsafeIntegerError(plan: TypePlan, bytes: Uint8Array, cause: unknown): SparkMesosError {
  // Slow path, errors only: decode again with protobufjs to find the field path.
  let where = '';
  try {
    const obj = plan.type.toObject(plan.type.decode(bytes), TO_OBJECT_OPTIONS);
    const path: (string | number)[] = [];
    if (findUnsafe(obj, plan, path)) where = formatPath(path);
  } catch {
    // keep the field name from the generated decoder
  }
  if (where === '' && cause instanceof DecodeProblem) where = `${cause.typeName}.${cause.field}`;
  return new SparkMesosError(
    'SM_ERR_MESOS_DECODE',
    `Cannot decode ${plan.name}: the 64-bit integer at '${where}' is beyond ±2^53 and cannot be a JavaScript number ` +
      'without losing precision. @spark-mesos/mesos-client represents 64-bit integers as numbers; such a value is not supported.',
    { cause, details: { type: plan.name, field: where, encoding: 'protobuf' } },
  );
}

/**
 * Decodes protobuf bytes into the in-memory representation with the generated decoder.
 *
 * @throws SparkMesosError `SM_ERR_MESOS_DECODE`: bytes that are not a valid message of the type
 *   (including a missing required field), or a 64-bit integer beyond ±2^53 (naming its path)
 */
export function decodeProtobuf(plan: TypePlan, bytes: Uint8Array): unknown {
  const decode = getGeneratedDecoder(plan);
  try {
    return withReader(bytes, decode);
  } catch (error) {
    if (error instanceof DecodeProblem && error.problem === 'unsafe-int64')
      throw unsafeIntegerError(plan, bytes, error);
    throw decodeError(plan, bytes, error);
  }
}

/**
 * Decodes protobuf bytes with protobufjs' own decoder and `toObject`, then fixes the result; the
 * reference implementation the generated decoder is tested against (slower).
 *
 * @throws SparkMesosError `SM_ERR_MESOS_DECODE` as {@link decodeProtobuf}
 */
export function decodeProtobufReference(plan: TypePlan, bytes: Uint8Array): unknown {
  let message: protobuf.Message;
  try {
    message = plan.type.decode(bytes);
  } catch (error) {
    throw decodeError(plan, bytes, error);
  }
  const obj = plan.type.toObject(message, TO_OBJECT_OPTIONS);
  try {
    fixMessage(obj, plan);
  } catch (error) {
    if (error !== UNSAFE) throw error;
    throw unsafeIntegerError(plan, bytes, error);
  }
  return obj;
}

/**
 * Encodes an in-memory message as protobuf bytes.
 *
 * @throws SparkMesosError `SM_ERR_MESOS_ENCODE` naming the field path: a missing required field, a
 *   value of the wrong type, an unknown enum name, a 64-bit integer that is not a safe integer
 */
export function encodeProtobuf(plan: TypePlan, message: unknown): Uint8Array {
  const wire = toWireMessage(plan, message, 'protobuf');
  return plan.type.encode(wire).finish();
}
