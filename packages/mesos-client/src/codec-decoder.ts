import protobuf from 'protobufjs/light.js';
import type { FieldKind, FieldPlan, TypePlan } from './codec-plan.js';

/**
 * A protobuf decoder generated per message type (like protobufjs' own decoder) that writes the
 * in-memory representation directly: plain objects, enum names, 64-bit integers as numbers
 * (checked against ±2^53), bytes copied to plain `Uint8Array`s, required fields checked. It
 * skips protobufjs' message instances and its `toObject` pass, so it costs about what
 * `Type.decode` alone costs.
 *
 * @module
 */

/** Thrown by generated decoders; the caller turns it into a `SparkMesosError`. */
export class DecodeProblem extends Error {
  /** `'unsafe-int64'`: a 64-bit integer beyond ±2^53; `'missing-required'`: a required field is absent. */
  readonly problem: 'unsafe-int64' | 'missing-required';
  /** The message type (full name, no leading dot) and field concerned. */
  readonly typeName: string;
  /** The field name. */
  readonly field: string;

  constructor(problem: 'unsafe-int64' | 'missing-required', typeName: string, field: string) {
    super(
      problem === 'missing-required'
        ? `missing required field '${field}' of ${typeName}`
        : `the 64-bit integer field '${field}' of ${typeName} is beyond ±2^53`,
    );
    this.problem = problem;
    this.typeName = typeName;
    this.field = field;
  }
}

/** A generated decoder: reads one message (to the end, or `length` bytes) from the reader. */
export type GeneratedDecoder = (reader: protobuf.Reader, length?: number) => Record<string, unknown>;

const decoders = new Map<TypePlan, GeneratedDecoder>();

const SCALAR_READ: Partial<Record<string, string>> = {
  double: 'r.double()',
  float: 'r.float()',
  int32: 'r.int32()',
  uint32: 'r.uint32()',
  sint32: 'r.sint32()',
  fixed32: 'r.fixed32()',
  sfixed32: 'r.sfixed32()',
  bool: 'r.bool()',
  string: 'r.string()',
  int64: 'L(r.int64(),T,F)',
  uint64: 'L(r.uint64(),T,F)',
  sint64: 'L(r.sint64(),T,F)',
  fixed64: 'L(r.fixed64(),T,F)',
  sfixed64: 'L(r.sfixed64(),T,F)',
  bytes: 'new Uint8Array(r.bytes())',
};

/** Wire types: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit. */
const WIRE_TYPES: Partial<Record<string, number>> = {
  double: 1,
  fixed64: 1,
  sfixed64: 1,
  float: 5,
  fixed32: 5,
  sfixed32: 5,
  string: 2,
  bytes: 2,
};

function wireTypeOf(protoField: protobuf.Field, kind: FieldKind): number {
  if (kind === 'message') return 2;
  if (kind === 'enum') return 0;
  return WIRE_TYPES[protoField.type] ?? 0;
}

const PACKABLE = new Set<FieldKind>(['bool', 'int32', 'uint32', 'double', 'int64', 'uint64', 'enum']);

/** Converts a protobufjs Long (or number) to a number, or throws for a value beyond ±2^53. */
function toSafeNumber(value: number | protobuf.Long, typeName: string, field: string): number {
  const n =
    typeof value === 'number'
      ? value
      : (value.unsigned ? value.high >>> 0 : value.high) * 4294967296 + (value.low >>> 0);
  if (!Number.isSafeInteger(n)) throw new DecodeProblem('unsafe-int64', typeName, field);
  return n;
}

/** Converts a protobufjs Long (or number) to the nearest number (FieldPlan.approximate). */
function toNearestNumber(value: number | protobuf.Long): number {
  if (typeof value === 'number') return value;
  return (value.unsigned ? value.high >>> 0 : value.high) * 4294967296 + (value.low >>> 0);
}

// The table of recurring strings (FieldPlan.interned): strings of up to 64 bytes by a hash of their
// bytes, the latest of each slot kept. Shared by every decode in the process; at most ~350 KiB.
const INTERNED_BITS = 12;
const INTERNED_SLOTS = 1 << INTERNED_BITS;
const INTERNED_MAX_BYTES = 64;
const internedStrings: (string | undefined)[] = new Array<string | undefined>(INTERNED_SLOTS).fill(undefined);

/**
 * Reads a string field as `r.string()` does, returning the table's string when it holds the same
 * bytes: no decoding and no new string for a value seen before. A table string can only match
 * bytes that are all ASCII (a string as long as its UTF-8 bytes has no multi-byte character, and
 * U+FFFD never equals a byte), so the result is always what decoding would give.
 */
function readInterned(r: protobuf.Reader): string {
  const buf = r.buf as Buffer & { utf8Slice(start: number, end: number): string };
  const at = r.pos;
  // A one-byte length (under 128) within the message; anything else as protobufjs reads it.
  const length = at < r.len ? buf[at]! : 0x80;
  const from = at + 1;
  const to = from + length;
  if (length > INTERNED_MAX_BYTES || to > r.len) return r.string();
  let hash = length;
  for (let index = from; index < to; index++) hash = Math.imul(hash ^ buf[index]!, 0x01000193);
  const slot = hash >>> (32 - INTERNED_BITS);
  r.pos = to;
  const known = internedStrings[slot];
  if (known !== undefined && known.length === length) {
    let same = 0;
    while (same < length && known.charCodeAt(same) === buf[from + same]) same++;
    if (same === length) return known;
  }
  const value = buf.utf8Slice(from, to);
  internedStrings[slot] = value;
  return value;
}

function missing(typeName: string, field: string): never {
  throw new DecodeProblem('missing-required', typeName, field);
}

function protoTypeOf(plan: TypePlan, field: FieldPlan): protobuf.Field {
  return plan.type.fields[field.name]!;
}

/** The expression reading one value of `field` (for maps: its value) from reader `r`. */
function readExpression(plan: TypePlan, field: FieldPlan, index: number): string {
  const name = JSON.stringify(field.name);
  const typeName = JSON.stringify(plan.name);
  if (field.kind === 'message') return `D[${index}](r,r.uint32())`;
  if (field.kind === 'enum') return `E[${index}][r.int32()]`;
  if (field.interned) return 'S(r)';
  const protoType = protoTypeOf(plan, field).type;
  const read = SCALAR_READ[protoType];
  if (read === undefined) throw new Error(`unsupported type ${protoType} of ${plan.name}.${field.name}`);
  // An approximate field skips the ±2^53 check: A(x) instead of L(x,T,F).
  if (field.approximate && read.startsWith('L(')) return read.replace(/^L\((.*),T,F\)$/, 'A($1)');
  return read.replace('T', typeName).replace('F', name);
}

function generate(plan: TypePlan): GeneratedDecoder {
  const existing = decoders.get(plan);
  if (existing !== undefined) return existing;
  const subDecoders: GeneratedDecoder[] = [];
  const enumNames: (Record<number, string> | undefined)[] = [];
  // Placeholder first: recursive types find themselves.
  const self: GeneratedDecoder = (reader, length) => impl(reader, length);
  decoders.set(plan, self);
  const lines: string[] = [
    'var c=l===undefined?r.len:r.pos+l,m={},t,v,e,k,a;',
    'while(r.pos<c){t=r.uint32();switch(t>>>3){',
  ];
  plan.fields.forEach((field, index) => {
    const key = JSON.stringify(field.name);
    const id = protoTypeOf(plan, field).id;
    if (field.message !== undefined) subDecoders[index] = generate(field.message);
    if (field.kind === 'enum') {
      const values = (protoTypeOf(plan, field).resolvedType as protobuf.Enum).valuesById;
      enumNames[index] = values;
    }
    const read = readExpression(plan, field, index);
    const wire = field.map ? 2 : wireTypeOf(protoTypeOf(plan, field), field.kind);
    lines.push(`case ${id}:`);
    // A field with an unexpected wire type is skipped, as protobufjs does (packed repeated aside).
    if (field.repeated && PACKABLE.has(field.kind)) lines.push(`if((t&7)!==${wire}&&(t&7)!==2){r.skipType(t&7);break}`);
    else lines.push(`if((t&7)!==${wire}){r.skipType(t&7);break}`);
    if (field.map) {
      const mapField = protoTypeOf(plan, field) as unknown as protobuf.MapField;
      const keyRead = SCALAR_READ[mapField.keyType];
      const emptyValue =
        field.kind === 'message'
          ? '{}'
          : field.kind === 'string'
            ? '""'
            : field.kind === 'bytes'
              ? 'new Uint8Array(0)'
              : field.kind === 'bool'
                ? 'false'
                : '0';
      lines.push(
        `e=r.uint32()+r.pos;k="";v=undefined;while(r.pos<e){a=r.uint32();switch(a>>>3){case 1:k=String(${keyRead});break;case 2:v=${read};break;default:r.skipType(a&7)}}`,
        `if(v===undefined)v=${emptyValue};(m[${key}]||(m[${key}]={}))[k]=v;break;`,
      );
    } else if (field.repeated) {
      const push = field.kind === 'enum' ? `v=${read};if(v!==undefined)a.push(v);` : `a.push(${read});`;
      lines.push(`a=m[${key}]||(m[${key}]=[]);`);
      if (PACKABLE.has(field.kind))
        lines.push(`if((t&7)===2){e=r.uint32()+r.pos;while(r.pos<e){${push}}}else{${push}}`);
      else lines.push(push);
      if (field.kind === 'enum') lines.push(`if(a.length===0)delete m[${key}];`);
      lines.push('break;');
    } else if (field.kind === 'enum') {
      lines.push(`v=${read};if(v!==undefined)m[${key}]=v;break;`);
    } else {
      lines.push(`m[${key}]=${read};break;`);
    }
  });
  lines.push('default:r.skipType(t&7)}}');
  for (const field of plan.fields) {
    if (field.required)
      lines.push(
        `if(m[${JSON.stringify(field.name)}]===undefined)M(${JSON.stringify(plan.name)},${JSON.stringify(field.name)});`,
      );
  }
  lines.push('return m;');
  // biome-ignore lint/complexity/noBannedTypes: a generated function, as protobufjs generates its own.
  const factory: Function = new Function(
    'D',
    'E',
    'L',
    'A',
    'M',
    'S',
    `return function decode_${plan.name.replace(/\./g, '_')}(r,l){${lines.join('\n')}}`,
  );
  const impl = factory(
    subDecoders,
    enumNames,
    toSafeNumber,
    toNearestNumber,
    missing,
    readInterned,
  ) as GeneratedDecoder;
  decoders.set(plan, impl);
  return impl;
}

/** The generated decoder of a message type (built with those of the types it reaches). */
export function getGeneratedDecoder(plan: TypePlan): GeneratedDecoder {
  return generate(plan);
}

const NO_BYTES = Buffer.alloc(0);

/**
 * The one reader every decode uses, pointed at each message in turn: decoding is synchronous and
 * never starts another message's decode midway. One reader rather than one per message saves an
 * allocation per message and, above all, keeps the reader's hidden class alive: V8 forgets a hidden
 * class at a full collection once no object of it is alive, and then throws away the optimised
 * decoders that check it, so a stream read after a collection with no reader alive (every stream
 * after a quiet spell) ran unoptimised until V8 compiled the decoders again.
 */
const sharedReader = protobuf.Reader.create(NO_BYTES) as protobuf.Reader & { view?: unknown };

/**
 * Runs `read` on the shared reader pointed at `bytes` (a Buffer view when possible: faster string
 * decoding), and lets go of `bytes` afterwards.
 */
export function withReader<T>(bytes: Uint8Array, read: (reader: protobuf.Reader) => T): T {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = sharedReader;
  reader.buf = buffer;
  reader.pos = 0;
  reader.len = buffer.length;
  // protobufjs 8 caches a DataView of the buffer there.
  reader.view = null;
  try {
    return read(reader);
  } finally {
    reader.buf = NO_BYTES;
    reader.pos = 0;
    reader.len = 0;
    reader.view = null;
  }
}
