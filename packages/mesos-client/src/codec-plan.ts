import { SparkMesosError } from '@spark-mesos/errors';
import protobuf from 'protobufjs/light.js';
import { lookupMesosType } from './schema.js';

/**
 * Per-message "plans": the reflected schema flattened once into plain tables, so the codecs
 * walk messages without protobufjs reflection calls in their loops.
 *
 * @module
 */

/** How a field's value is represented in memory and checked. */
export type FieldKind =
  | 'string'
  | 'bool'
  | 'int32'
  | 'uint32'
  | 'double'
  | 'int64'
  | 'uint64'
  | 'bytes'
  | 'enum'
  | 'message';

/** One field of a {@link TypePlan}. */
export interface FieldPlan {
  /** The proto field name (snake_case), also the in-memory and JSON key. */
  readonly name: string;
  /** How the value is represented. For a map field: the kind of its values. */
  readonly kind: FieldKind;
  /** `repeated` field: an array in memory. */
  readonly repeated: boolean;
  /** `map<string, V>` field: a plain object in memory. */
  readonly map: boolean;
  /** proto2 `required` field. */
  readonly required: boolean;
  /** For enums: value name → number. */
  readonly enumValues: ReadonlyMap<string, number> | undefined;
  /** For enums: the proto name of the enum (for messages). */
  readonly enumName: string | undefined;
  /** For message fields: the plan of the field's type (filled right after creation). */
  message: TypePlan | undefined;
  /**
   * A 64-bit integer taken as the nearest `number` even beyond ±2^53, instead of being refused:
   * only `TimeInfo.nanoseconds`. Nanoseconds since the epoch (about 1.8 × 10^18) exceed 2^53, and
   * a real master sends them (a task's `unreachable_time`, an offer's maintenance
   * `unavailability`); a double keeps them to within 256 ns.
   */
  readonly approximate: boolean;
  /**
   * A short string read through the decoder's table of recurring strings rather than decoded
   * anew each time: the vocabulary of a cluster (resource names and roles, agent and framework
   * IDs, hostnames, attribute names and values, label keys), which recurs in every offer and
   * update. Never a per-object ID (offers, tasks, containers) or a message.
   */
  readonly interned: boolean;
}

// The 64-bit fields read approximately beyond ±2^53 (see FieldPlan.approximate).
const APPROXIMATE_FIELDS = new Set(['mesos.v1.TimeInfo.nanoseconds', 'mesos.TimeInfo.nanoseconds']);

// The string fields whose values recur across events (see FieldPlan.interned), without the
// package prefix (the v1 and the unversioned types alike).
const INTERNED_FIELDS = new Set([
  'Address.hostname',
  'Address.ip',
  'AgentID.value',
  'AgentInfo.hostname',
  'Attribute.name',
  'DomainInfo.FaultDomain.RegionInfo.name',
  'DomainInfo.FaultDomain.ZoneInfo.name',
  'ExecutorID.value',
  'FrameworkID.value',
  'FrameworkInfo.role',
  'FrameworkInfo.roles',
  'Label.key',
  'NetworkInfo.IPAddress.ip_address',
  'NetworkInfo.PortMapping.protocol',
  'NetworkInfo.name',
  'Offer.hostname',
  'Port.protocol',
  'Resource.AllocationInfo.role',
  'Resource.DiskInfo.Source.Mount.root',
  'Resource.DiskInfo.Source.Path.root',
  'Resource.DiskInfo.Source.profile',
  'Resource.DiskInfo.Source.vendor',
  'Resource.ReservationInfo.principal',
  'Resource.ReservationInfo.role',
  'Resource.name',
  'Resource.role',
  'ResourceProviderID.value',
  'URL.path',
  'URL.scheme',
  'Value.Set.item',
  'Value.Text.value',
]);

/** Whether the field of the type named `typeName` (full name, no leading dot) is interned. */
function isInterned(typeName: string, fieldName: string): boolean {
  const local = typeName.startsWith('mesos.v1.')
    ? typeName.slice(9)
    : typeName.startsWith('mesos.')
      ? typeName.slice(6)
      : typeName;
  return INTERNED_FIELDS.has(`${local}.${fieldName}`);
}

/** The flattened view of one message type. */
export interface TypePlan {
  /** The protobufjs type. */
  readonly type: protobuf.Type;
  /** Full protobuf name without the leading dot, e.g. `mesos.v1.scheduler.Call`. */
  readonly name: string;
  /** Every field, by field number. */
  readonly fields: readonly FieldPlan[];
  /** Fields by proto name. */
  readonly byName: ReadonlyMap<string, FieldPlan>;
  /**
   * The fields a decoded protobuf message needs fixed after protobufjs' `toObject`: 64-bit
   * integers (range check), bytes (copied to a plain `Uint8Array`), and message fields whose
   * type needs either. Empty when nothing needs fixing. (Enums need nothing: protobufjs treats
   * proto2 enums as closed and already drops unknown numbers, as protobuf C++ does.)
   */
  postDecode: readonly FieldPlan[];
}

const plans = new Map<protobuf.Type, TypePlan>();

function kindOf(field: protobuf.Field): FieldKind {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return 'enum';
  if (resolved instanceof protobuf.Type) return 'message';
  switch (field.type) {
    case 'string':
      return 'string';
    case 'bool':
      return 'bool';
    case 'bytes':
      return 'bytes';
    case 'double':
    case 'float':
      return 'double';
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return 'int32';
    case 'uint32':
    case 'fixed32':
      return 'uint32';
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return 'int64';
    case 'uint64':
    case 'fixed64':
      return 'uint64';
    default:
      throw new SparkMesosError(
        'SM_ERR_MESOS_SCHEMA',
        `Field ${field.fullName} has the unsupported type '${field.type}'; the Mesos codecs support proto2 scalars, enums and messages.`,
        { cause: { field: field.fullName, type: field.type } },
      );
  }
}

function build(type: protobuf.Type): TypePlan {
  const existing = plans.get(type);
  if (existing !== undefined) return existing;
  const fields: FieldPlan[] = [];
  const plan: TypePlan = {
    type,
    name: type.fullName.slice(1),
    fields,
    byName: new Map(),
    postDecode: [],
  };
  plans.set(type, plan);
  const sorted = type.fieldsArray.slice().sort((a, b) => a.id - b.id);
  for (const field of sorted) {
    field.resolve();
    const kind = kindOf(field);
    const resolved = field.resolvedType;
    const fieldPlan: FieldPlan = {
      name: field.name,
      kind,
      repeated: field.repeated,
      map: field instanceof protobuf.MapField,
      required: field.required,
      enumValues: resolved instanceof protobuf.Enum ? new Map(Object.entries(resolved.values)) : undefined,
      enumName: resolved instanceof protobuf.Enum ? resolved.fullName.slice(1) : undefined,
      message: undefined,
      approximate: APPROXIMATE_FIELDS.has(`${type.fullName.slice(1)}.${field.name}`),
      interned:
        kind === 'string' && !(field instanceof protobuf.MapField) && isInterned(type.fullName.slice(1), field.name),
    };
    fields.push(fieldPlan);
    (plan.byName as Map<string, FieldPlan>).set(field.name, fieldPlan);
  }
  for (const [index, field] of sorted.entries()) {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) fields[index]!.message = build(resolved);
  }
  return plan;
}

/** Decides which fields need post-decode fixing, for every plan built so far (cycle-safe). */
function computePostDecode(): void {
  const needs = new Map<TypePlan, boolean>();
  const visit = (plan: TypePlan): boolean => {
    const known = needs.get(plan);
    if (known !== undefined) return known;
    needs.set(plan, true); // conservative while in progress (recursive types)
    const post: FieldPlan[] = [];
    for (const field of plan.fields) {
      const fix =
        field.kind === 'int64' ||
        field.kind === 'uint64' ||
        field.kind === 'bytes' ||
        (field.kind === 'message' && visit(field.message!));
      if (fix) post.push(field);
    }
    plan.postDecode = post;
    needs.set(plan, post.length > 0);
    return post.length > 0;
  };
  for (const plan of plans.values()) visit(plan);
}

/**
 * The plan of a Mesos message type, built (with the plans of every type it reaches) on first use.
 *
 * @param typeName full protobuf name, e.g. `'mesos.v1.scheduler.Event'`
 * @throws SparkMesosError `SM_ERR_MESOS_SCHEMA` for an unknown type
 */
export function getTypePlan(typeName: string): TypePlan {
  const type = lookupMesosType(typeName);
  const existing = plans.get(type);
  if (existing !== undefined) return existing;
  const plan = build(type);
  computePostDecode();
  return plan;
}

/** Renders a field path collected as segments: `['offers', 0, 'id']` → `offers[0].id`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}
