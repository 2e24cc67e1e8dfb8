import { SparkMesosError } from '@spark-mesos/errors';
import { getFastJsonDecoder, getInPlaceJsonDecoder } from './codec-json-decoder.js';
import { type FieldPlan, formatPath, type TypePlan } from './codec-plan.js';
import { setMapEntry, toWireMessage } from './codec-wire.js';

/**
 * The JSON (`application/json`) encoding of Mesos messages, following Mesos' JSON mapping
 * (stout's `JSON::protobuf` and `protobuf::parse`): proto field names, enums by name (unknown
 * names dropped silently, as the master does), bytes as base64, 64-bit integers and doubles as
 * JSON numbers, unknown fields ignored.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @module
 */

type Obj = Record<string, unknown>;
type Path = (string | number)[];

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();
const INTEGER_TEXT = /^-?\d+$/;
const NUMBER_TEXT = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BASE64_TEXT = /^[A-Za-z0-9+/_-]*={0,2}$/;

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return 'an object';
}

function decodeError(root: TypePlan, path: Path, problem: string, value?: unknown): SparkMesosError {
  const field = formatPath(path);
  const where = field === '' ? '' : ` at field '${field}'`;
  return new SparkMesosError(
    'SM_ERR_MESOS_DECODE',
    `Cannot decode ${root.name} from JSON${where}: ${problem}. The JSON does not match Mesos' JSON mapping of ${root.name} ` +
      '(proto field names, enums by name, bytes as base64, numbers as JSON numbers).',
    {
      cause: { type: root.name, field, value: value === undefined ? undefined : jsonType(value) },
      details: { type: root.name, field, encoding: 'json' },
    },
  );
}

/** A JSON number, or a string holding one (stout accepts both for numeric fields). */
function toNumber(value: unknown, integer: boolean): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && (integer ? INTEGER_TEXT : NUMBER_TEXT).test(value)) return Number(value);
  return undefined;
}

function readValue(root: TypePlan, field: FieldPlan, value: unknown, path: Path): unknown {
  switch (field.kind) {
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'bool':
      if (typeof value === 'boolean') return value;
      break;
    case 'int32': {
      const n = toNumber(value, true);
      if (Number.isInteger(n) && (n as number) >= -0x80000000 && (n as number) <= 0x7fffffff) return n;
      break;
    }
    case 'uint32': {
      const n = toNumber(value, true);
      if (Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffffffff) return n;
      break;
    }
    case 'double': {
      const n = toNumber(value, false);
      if (n !== undefined) return n;
      break;
    }
    case 'int64':
    case 'uint64': {
      const n = toNumber(value, true);
      if (n === undefined || !Number.isInteger(n)) break;
      if (field.approximate && (field.kind === 'int64' || n >= 0)) return n;
      if (!Number.isSafeInteger(n) || (field.kind === 'uint64' && n < 0)) {
        throw decodeError(
          root,
          path,
          `the 64-bit integer ${String(value)} is beyond ±2^53 (or negative for uint64) and cannot be a JavaScript number without losing precision`,
          value,
        );
      }
      return n;
    }
    case 'bytes':
      if (typeof value === 'string' && BASE64_TEXT.test(value)) {
        // A copy: small Buffers are views of a shared pool.
        return new Uint8Array(Buffer.from(value, 'base64'));
      }
      break;
    case 'enum':
      // Unknown names are dropped silently, as Mesos does.
      if (typeof value === 'string') return field.enumValues!.has(value) ? value : undefined;
      break;
    case 'message':
      return readMessage(root, field.message!, value, path);
  }
  const expected =
    field.kind === 'enum'
      ? `an enum name (a string) of ${field.enumName}`
      : field.kind === 'bytes'
        ? 'a base64 string'
        : field.kind === 'bool'
          ? 'true or false'
          : field.kind === 'string'
            ? 'a string'
            : `a ${field.kind} number`;
  throw decodeError(root, path, `expected ${expected}, got ${jsonType(value)}`, value);
}

function isJsonObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readMessage(root: TypePlan, plan: TypePlan, value: unknown, path: Path): Obj {
  if (!isJsonObject(value))
    throw decodeError(root, path, `expected a JSON object (a ${plan.name}), got ${jsonType(value)}`, value);
  const out: Obj = {};
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const item = value[field.name];
    if (item === undefined || item === null) {
      if (field.required) {
        path.push(field.name);
        throw decodeError(root, path, `the required field '${field.name}' of ${plan.name} is absent`);
      }
      continue;
    }
    path.push(field.name);
    if (field.repeated) {
      if (!Array.isArray(item)) throw decodeError(root, path, `expected a JSON array, got ${jsonType(item)}`, item);
      const list: unknown[] = [];
      for (let j = 0; j < item.length; j++) {
        path.push(j);
        const converted = readValue(root, field, item[j], path);
        if (converted !== undefined) list.push(converted);
        path.pop();
      }
      if (list.length > 0) out[field.name] = list;
    } else if (field.map) {
      if (!isJsonObject(item))
        throw decodeError(root, path, `expected a JSON object (a map), got ${jsonType(item)}`, item);
      const map: Obj = {};
      let size = 0;
      for (const key of Object.keys(item)) {
        path.push(key);
        const converted = readValue(root, field, item[key], path);
        if (converted !== undefined) {
          setMapEntry(map, key, converted);
          size++;
        }
        path.pop();
      }
      if (size > 0) out[field.name] = map;
    } else {
      const converted = readValue(root, field, item, path);
      if (converted !== undefined) out[field.name] = converted;
      else if (field.required) {
        throw decodeError(
          root,
          path,
          `the required field '${field.name}' of ${plan.name} has an unknown enum name`,
          item,
        );
      }
    }
    path.pop();
  }
  return out;
}

/**
 * Converts a parsed JSON value (Mesos' JSON mapping) into the in-memory representation: the
 * reference walk over every declared field, keeping the field path for errors. The fast path of
 * {@link fromJsonValue} falls back to it on any problem, so errors name the failing field.
 *
 * @throws SparkMesosError `SM_ERR_MESOS_DECODE` naming the field path
 */
export function fromJsonValueSlowPath(plan: TypePlan, value: unknown): Obj {
  return readMessage(plan, plan, value, []);
}

/**
 * Converts a parsed JSON value (what `JSON.parse` returns; Mesos' JSON mapping) into the
 * in-memory representation. Runs the decoder generated for the type (`codec-json-decoder.ts`),
 * which visits only the keys present; on any problem it reruns {@link fromJsonValueSlowPath} to
 * throw the error naming the field. Results equal the slow path's (key order aside: the fast
 * path follows the JSON's key order).
 *
 * @throws SparkMesosError `SM_ERR_MESOS_DECODE` naming the field path
 */
export function fromJsonValue(plan: TypePlan, value: unknown): Obj {
  const fast = getFastJsonDecoder(plan);
  if (fast !== null && isJsonObject(value)) {
    try {
      return fast(value);
    } catch {
      // Any problem (a wrong type, a missing required field, …): the slow path names it.
    }
  }
  return readMessage(plan, plan, value, []);
}

function parseError(plan: TypePlan, length: number, error: unknown): SparkMesosError {
  const reason = error instanceof Error ? error.message : String(error);
  return new SparkMesosError(
    'SM_ERR_MESOS_DECODE',
    `Cannot decode ${plan.name} from ${length} bytes of JSON: ${reason}. ` +
      'The body is not valid UTF-8 JSON (check that the peer sent application/json).',
    { cause: error, details: { type: plan.name, encoding: 'json', length } },
  );
}

/**
 * Decodes the text of a JSON body (already decoded from UTF-8; `length` is its size in bytes,
 * for errors) into the in-memory representation. The value `JSON.parse` returns belongs to no
 * one else, so the generated decoder converts it in place rather than copying it; on any problem
 * the text is parsed again for the slow path, which names the failing field.
 *
 * @throws SparkMesosError `SM_ERR_MESOS_DECODE`: not JSON, or not the message's shape
 */
export function decodeJsonText(plan: TypePlan, text: string, length: number): Obj {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw parseError(plan, length, error);
  }
  const inPlace = getInPlaceJsonDecoder(plan);
  if (inPlace !== null && isJsonObject(parsed)) {
    try {
      return inPlace(parsed);
    } catch {
      // The value is half converted now: the slow path gets a fresh parse and names the problem.
      return readMessage(plan, plan, JSON.parse(text), []);
    }
  }
  return readMessage(plan, plan, parsed, []);
}

/**
 * Decodes a JSON body (UTF-8) into the in-memory representation.
 *
 * @throws SparkMesosError `SM_ERR_MESOS_DECODE`: not UTF-8, not JSON, or not the message's shape
 */
export function decodeJson(plan: TypePlan, bytes: Uint8Array): Obj {
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch (error) {
    throw parseError(plan, bytes.length, error);
  }
  return decodeJsonText(plan, text, bytes.length);
}

/**
 * Converts an in-memory message to the JSON value Mesos' JSON mapping gives (bytes as base64).
 *
 * @throws SparkMesosError `SM_ERR_MESOS_ENCODE` naming the field path
 */
export function toJsonValue(plan: TypePlan, message: unknown): Obj {
  return toWireMessage(plan, message, 'json');
}

/**
 * Encodes an in-memory message as a UTF-8 JSON body.
 *
 * @throws SparkMesosError `SM_ERR_MESOS_ENCODE` naming the field path
 */
export function encodeJson(plan: TypePlan, message: unknown): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(toJsonValue(plan, message)));
}
