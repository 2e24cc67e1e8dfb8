import type { FieldPlan, TypePlan } from './codec-plan.js';
import { setMapEntry } from './codec-wire.js';

/**
 * The fast path of the JSON decoder: a function generated per message type (like the protobuf
 * side's `codec-decoder.ts`) that walks only the keys a parsed JSON object HAS (usually a few of
 * the many declared fields), dispatches on the key name, converts values with the exact rules of
 * `codec-json.ts`' `readValue`, and checks required fields from a precomputed list. It keeps no
 * field path: on any problem it gives up ({@link FAST_JSON_FAILED}) and the caller reruns the
 * slow path, which names the failing field in its error.
 *
 * Only for values `JSON.parse` returned (plain objects and arrays): it enumerates keys with
 * `for…in`, which matches the slow path's `value[name]` lookups on such objects. Key order of the
 * result follows the JSON, not the declaration (the protobuf decoder follows the wire likewise).
 *
 * @module
 */

/** Thrown (never escapes `codec-json.ts`) when the fast path gives up; not an `Error`: no stack. */
export const FAST_JSON_FAILED: { readonly fastJsonFailed: true } = Object.freeze({ fastJsonFailed: true });

/** A generated decoder: converts one JSON object (already checked to be a plain object). */
export type FastJsonDecoder = (value: Record<string, unknown>) => Record<string, unknown>;

const INTEGER_TEXT = /^-?\d+$/;
const NUMBER_TEXT = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BASE64_TEXT = /^[A-Za-z0-9+/_-]*={0,2}$/;

function fail(): never {
  throw FAST_JSON_FAILED;
}

/** The slow cases of the numeric kinds (strings holding numbers, out-of-range values). */
function int32(value: unknown): number {
  const n = typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff) return n;
  return fail();
}

function uint32(value: unknown): number {
  const n = typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff) return n;
  return fail();
}

function double(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMBER_TEXT.test(value)) return Number(value);
  return fail();
}

function int64(value: unknown): number {
  const n = typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isSafeInteger(n)) return n;
  return fail();
}

// FieldPlan.approximate: the nearest number, even beyond ±2^53.
function approximateInt64(value: unknown): number {
  const n = typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n)) return n;
  return fail();
}

function uint64(value: unknown): number {
  const n = typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return n;
  return fail();
}

// The value of each base64 digit by character code, both alphabets (Node's 'base64' takes both).
const BASE64_DIGITS = new Int8Array(128).fill(-1);
for (const [index, digit] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries())
  BASE64_DIGITS[digit.charCodeAt(0)] = index;
BASE64_DIGITS['-'.charCodeAt(0)] = 62;
BASE64_DIGITS['_'.charCodeAt(0)] = 63;

function base64Digit(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code < 128 ? BASE64_DIGITS[code]! : -1;
}

/**
 * Canonical base64 (whole groups of 4, padding only at the end: what Mesos writes) decoded
 * straight into a new array, or `undefined` for anything else. Equal to `Buffer.from(text,
 * 'base64')` on the strings it takes, without the regular expression, the pooled Buffer and the
 * copy out of it that the general case needs (a uuid in every status update).
 */
function canonicalBase64(text: string): Uint8Array | undefined {
  const length = text.length;
  if ((length & 3) !== 0) return undefined;
  let padding = 0;
  if (length > 0 && text.charCodeAt(length - 1) === 0x3d) padding = text.charCodeAt(length - 2) === 0x3d ? 2 : 1;
  const out = new Uint8Array((length >>> 2) * 3 - padding);
  const whole = padding === 0 ? length : length - 4;
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = base64Digit(text, i);
    const b = base64Digit(text, i + 1);
    const c = base64Digit(text, i + 2);
    const d = base64Digit(text, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  if (padding !== 0) {
    const a = base64Digit(text, whole);
    const b = base64Digit(text, whole + 1);
    const c = padding === 1 ? base64Digit(text, whole + 2) : 0;
    if ((a | b | c) < 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
    if (padding === 1) out[o] = ((b & 15) << 4) | (c >> 2);
  }
  return out;
}

function bytes(value: unknown): Uint8Array {
  if (typeof value !== 'string') return fail();
  const canonical = canonicalBase64(value);
  if (canonical !== undefined) return canonical;
  // A copy: small Buffers are views of a shared pool.
  if (BASE64_TEXT.test(value)) return new Uint8Array(Buffer.from(value, 'base64'));
  return fail();
}

/** Helpers the generated code reaches through its `H` argument. */
const HELPERS = { fail, int32, uint32, double, int64, approximateInt64, uint64, bytes, setMapEntry };

/**
 * Statements converting `x` (never null/undefined for a single field; anything for items) in
 * place, for field number `index`. After them, `x` may be `undefined` only for enums.
 */
function convert(field: FieldPlan, index: number): string {
  switch (field.kind) {
    case 'string':
      return 'if(typeof x!=="string")F();';
    case 'bool':
      return 'if(typeof x!=="boolean")F();';
    case 'int32':
      return 'if(typeof x!=="number"||(x|0)!==x)x=H.int32(x);';
    case 'uint32':
      return 'if(typeof x!=="number"||(x>>>0)!==x)x=H.uint32(x);';
    case 'double':
      return 'if(typeof x!=="number")x=H.double(x);';
    case 'int64':
      if (field.approximate) return 'if(typeof x!=="number"||!Number.isInteger(x))x=H.approximateInt64(x);';
      return 'if(typeof x!=="number"||!Number.isSafeInteger(x))x=H.int64(x);';
    case 'uint64':
      return 'if(typeof x!=="number"||!(x>=0)||!Number.isSafeInteger(x))x=H.uint64(x);';
    case 'bytes':
      return 'x=H.bytes(x);';
    case 'enum':
      return `if(typeof x!=="string")F();if(!E[${index}].has(x))x=undefined;`;
    case 'message':
      return `if(typeof x!=="object"||x===null||Array.isArray(x))F();x=D[${index}](x);`;
  }
}

/**
 * The two flavours of generated decoder:
 * - `copy` builds new objects and never touches its input (for values a caller hands in);
 * - `inPlace` converts the object `JSON.parse` just returned, in place: a value that needs no
 *   conversion (strings, numbers, booleans, nested objects, which are converted in place
 *   themselves) stays where it is, a converted one (bytes, numeric strings) is written back, and
 *   what the copy would leave out (unknown keys, nulls, unknown enum names, empty arrays) is
 *   deleted. It saves building a second object graph per event (allocation and GC); the result
 *   equals the copy's. On failure its input is left half converted: the caller re-parses.
 */
type Mode = 'copy' | 'inPlace';

const decoders: Record<Mode, Map<TypePlan, FastJsonDecoder | null>> = { copy: new Map(), inPlace: new Map() };

/** Field names that `value[name]` would also find on `Object.prototype` (none in Mesos' protos). */
function shadowsPrototype(name: string): boolean {
  return name in Object.prototype;
}

/** The statements of one field's `case` in copy mode: the converted value goes to `m`. */
function copyCase(field: FieldPlan, index: number, key: string): string {
  const conversion = convert(field, index);
  if (field.repeated) {
    const item = conversion.replace(/\bx\b/g, 'y');
    const push = field.kind === 'enum' ? 'if(y!==undefined)a.push(y);' : 'a.push(y);';
    return `if(!Array.isArray(x))F();a=[];for(j=0;j<x.length;j++){y=x[j];${item}${push}}if(a.length>0)m[${key}]=a;break;`;
  }
  if (field.map) {
    const item = conversion.replace(/\bx\b/g, 'y');
    return `if(typeof x!=="object"||Array.isArray(x))F();a={};s=0;n=Object.keys(x);for(j=0;j<n.length;j++){y=x[n[j]];${item}if(y!==undefined){H.setMapEntry(a,n[j],y);s++}}if(s>0)m[${key}]=a;break;`;
  }
  if (field.kind === 'enum') return `${conversion}if(x!==undefined)m[${key}]=x;break;`;
  return `${conversion}m[${key}]=x;break;`;
}

/**
 * The statements of one field's `case` in place: `v[k]` keeps, gets back or loses the value.
 * Messages are converted in place by their own in-place decoder (which returns its argument).
 */
function inPlaceCase(field: FieldPlan, index: number): string {
  const conversion = convert(field, index);
  if (field.repeated && field.kind !== 'enum') {
    // Items are written back only when converted (bytes, numeric strings): usually never.
    const item =
      field.kind === 'message'
        ? `y=x[j];if(typeof y!=="object"||y===null||Array.isArray(y))F();D[${index}](y);`
        : `y=x[j];z=y;${conversion.replace(/\bx\b/g, 'y')}if(y!==z)x[j]=y;`;
    return `if(!Array.isArray(x))F();if(x.length===0){delete v[k];break;}for(j=0;j<x.length;j++){${item}}break;`;
  }
  if (field.repeated || field.map) {
    // Repeated enums (names may drop out) and maps (keys such as __proto__ need care): a new value.
    return `${copyCase(field, index, 'k').replace(/m\[k\]=a;break;$/, 'v[k]=a;else delete v[k];break;')}`;
  }
  switch (field.kind) {
    case 'string':
    case 'bool':
      return `${conversion}break;`;
    case 'enum':
      return `if(typeof x!=="string")F();if(!E[${index}].has(x))delete v[k];break;`;
    case 'message':
      return `if(typeof x!=="object"||x===null||Array.isArray(x))F();D[${index}](x);break;`;
    default:
      // Numbers and bytes: written back only when the conversion changed the value.
      return `z=x;${conversion}if(x!==z)v[k]=x;break;`;
  }
}

function generate(plan: TypePlan, mode: Mode): FastJsonDecoder | null {
  const cache = decoders[mode];
  const existing = cache.get(plan);
  if (existing !== undefined) return existing;
  if (plan.fields.some((field) => shadowsPrototype(field.name))) {
    cache.set(plan, null);
    return null;
  }
  const subDecoders: (FastJsonDecoder | undefined)[] = [];
  const enumValues: (ReadonlyMap<string, number> | undefined)[] = [];
  // Placeholder first: recursive types find themselves.
  const self: FastJsonDecoder = (value) => impl(value);
  cache.set(plan, self);
  let usable = true;
  const lines: string[] = [
    mode === 'copy' ? 'var m={},k,x,a,j,y,n,s;' : 'var k,x,a,j,y,n,s,z;',
    'for(k in v){switch(k){',
  ];
  plan.fields.forEach((field, index) => {
    const key = JSON.stringify(field.name);
    if (field.message !== undefined) {
      const sub = generate(field.message, mode);
      if (sub === null) usable = false;
      else subDecoders[index] = sub;
    }
    if (field.kind === 'enum') enumValues[index] = field.enumValues;
    if (mode === 'copy') {
      lines.push(`case ${key}:x=v[k];if(x===undefined||x===null)break;`, copyCase(field, index, key));
    } else {
      lines.push(`case ${key}:x=v[k];if(x===undefined||x===null){delete v[k];break;}`, inPlaceCase(field, index));
    }
  });
  // Unknown keys are ignored: the copy never takes them, in place they go.
  lines.push(mode === 'copy' ? '}}' : 'default:delete v[k];}}');
  const result = mode === 'copy' ? 'm' : 'v';
  // Absent, null, or an unknown enum name: the slow path names the field.
  for (const field of plan.fields)
    if (field.required) lines.push(`if(${result}[${JSON.stringify(field.name)}]===undefined)F();`);
  lines.push(`return ${result};`);
  if (!usable) {
    cache.set(plan, null);
    return null;
  }
  // biome-ignore lint/complexity/noBannedTypes: a generated function, as protobufjs generates its own.
  const factory: Function = new Function(
    'D',
    'E',
    'H',
    'F',
    `return function ${mode === 'copy' ? 'fromJson' : 'fromJsonInPlace'}_${plan.name.replace(/\./g, '_')}(v){${lines.join('\n')}}`,
  );
  const impl = factory(subDecoders, enumValues, HELPERS, fail) as FastJsonDecoder;
  cache.set(plan, impl);
  return impl;
}

/**
 * The generated fast-path decoder of a message type, or `null` when the type (or one it reaches)
 * cannot have one (a field name that `Object.prototype` also has); then use the slow path.
 */
export function getFastJsonDecoder(plan: TypePlan): FastJsonDecoder | null {
  return generate(plan, 'copy');
}

/**
 * The generated in-place decoder of a message type, or `null` as for {@link getFastJsonDecoder}.
 * It converts (and returns) the very object it is given, so give it only a value nobody else
 * holds, such as what `JSON.parse` just returned; when it throws {@link FAST_JSON_FAILED} the
 * value is left half converted: parse the text again for the slow path.
 */
export function getInPlaceJsonDecoder(plan: TypePlan): FastJsonDecoder | null {
  return generate(plan, 'inPlace');
}
