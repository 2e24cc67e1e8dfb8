import { SparkMesosError } from '@spark-mesos/errors';
import { type FieldPlan, formatPath, type TypePlan } from './codec-plan.js';

/**
 * The encode side shared by both encodings: validates an in-memory message against its plan and
 * converts it to what the wire layer takes — for protobuf an object protobufjs' generated encoder
 * accepts (enum names → numbers), for JSON a value `JSON.stringify` writes in Mesos' JSON mapping
 * (bytes → base64).
 *
 * @module
 */

/** The wire a message is converted for. */
export type WireTarget = 'protobuf' | 'json';

type Obj = Record<string, unknown>;
type Path = (string | number)[];

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`;
  }
  return typeof value;
}

function encodeError(root: TypePlan, path: Path, problem: string, fix: string, value?: unknown): SparkMesosError {
  const field = formatPath(path);
  const where = field === '' ? `a ${root.name}` : `field '${field}' of ${root.name}`;
  return new SparkMesosError('SM_ERR_MESOS_ENCODE', `Cannot encode ${where}: ${problem}. ${fix}`, {
    cause: { type: root.name, field, value: value === undefined ? undefined : describe(value) },
    details: { type: root.name, field },
  });
}

function expectationOf(field: FieldPlan): string {
  switch (field.kind) {
    case 'string':
      return 'a string';
    case 'bool':
      return 'a boolean';
    case 'int32':
      return 'an integer in the int32 range';
    case 'uint32':
      return 'a non-negative integer in the uint32 range';
    case 'double':
      return 'a number';
    case 'int64':
      return 'a safe integer (|n| < 2^53; 64-bit integers are numbers)';
    case 'uint64':
      return 'a non-negative safe integer (n < 2^53; 64-bit integers are numbers)';
    case 'bytes':
      return 'a Uint8Array';
    case 'enum':
      return `one of the ${field.enumName} names (${[...field.enumValues!.keys()].join(', ')})`;
    case 'message':
      return `an object (a ${field.message!.name})`;
  }
}

function convertValue(root: TypePlan, field: FieldPlan, value: unknown, target: WireTarget, path: Path): unknown {
  let ok = false;
  switch (field.kind) {
    case 'string':
      ok = typeof value === 'string';
      break;
    case 'bool':
      ok = typeof value === 'boolean';
      break;
    case 'int32':
      ok = Number.isInteger(value) && (value as number) >= INT32_MIN && (value as number) <= INT32_MAX;
      break;
    case 'uint32':
      ok = Number.isInteger(value) && (value as number) >= 0 && (value as number) <= UINT32_MAX;
      break;
    case 'double':
      ok = typeof value === 'number' && (target === 'protobuf' || Number.isFinite(value));
      break;
    case 'int64':
      // An approximate field (TimeInfo.nanoseconds) takes any integer within int64.
      ok = field.approximate
        ? Number.isInteger(value) && Math.abs(value as number) < 2 ** 63
        : Number.isSafeInteger(value);
      break;
    case 'uint64':
      ok = Number.isSafeInteger(value) && (value as number) >= 0;
      break;
    case 'bytes':
      if (!(value instanceof Uint8Array)) break;
      if (target === 'protobuf') return value;
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    case 'enum': {
      const number = typeof value === 'string' ? field.enumValues!.get(value) : undefined;
      if (number === undefined) break;
      return target === 'protobuf' ? number : value;
    }
    case 'message':
      return convertMessage(root, field.message!, value, target, path);
  }
  if (ok) return value;
  throw encodeError(
    root,
    path,
    `expected ${expectationOf(field)}, got ${describe(value)}`,
    'Fix the value (see the field in the Mesos .proto).',
    value,
  );
}

function isPlainObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** Sets a key on a map object, also when the key is `__proto__`. */
export function setMapEntry(map: Obj, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}

function convertMessage(root: TypePlan, plan: TypePlan, value: unknown, target: WireTarget, path: Path): Obj {
  if (!isPlainObject(value)) {
    throw encodeError(
      root,
      path,
      `expected an object (a ${plan.name}), got ${describe(value)}`,
      'Pass a plain object with the proto field names.',
      value,
    );
  }
  const out: Obj = {};
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const item = value[field.name];
    if (item === undefined || item === null) {
      if (field.required) {
        path.push(field.name);
        throw encodeError(
          root,
          path,
          'this required field is absent',
          `Set '${field.name}' (proto2 'required' in ${plan.name}); Mesos rejects the message without it.`,
        );
      }
      continue;
    }
    path.push(field.name);
    if (field.repeated) {
      if (!Array.isArray(item)) {
        throw encodeError(
          root,
          path,
          `expected an array (a repeated field), got ${describe(item)}`,
          'Pass an array.',
          item,
        );
      }
      if (item.length > 0) {
        const list = new Array<unknown>(item.length);
        for (let j = 0; j < item.length; j++) {
          path.push(j);
          list[j] = convertValue(root, field, item[j], target, path);
          path.pop();
        }
        out[field.name] = list;
      }
    } else if (field.map) {
      if (!isPlainObject(item)) {
        throw encodeError(
          root,
          path,
          `expected an object (a map field), got ${describe(item)}`,
          'Pass a plain object.',
          item,
        );
      }
      const keys = Object.keys(item);
      if (keys.length > 0) {
        const map: Obj = {};
        for (const key of keys) {
          path.push(key);
          setMapEntry(map, key, convertValue(root, field, item[key], target, path));
          path.pop();
        }
        out[field.name] = map;
      }
    } else {
      out[field.name] = convertValue(root, field, item, target, path);
    }
    path.pop();
  }
  return out;
}

/**
 * Validates `message` against `plan` and converts it for `target`. Keys that are not fields of
 * the message are ignored; `undefined` and `null` mean absent; empty arrays and maps are omitted.
 *
 * @throws SparkMesosError `SM_ERR_MESOS_ENCODE` naming the field path and the fix
 */
export function toWireMessage(plan: TypePlan, message: unknown, target: WireTarget): Obj {
  return convertMessage(plan, plan, message, target, []);
}
