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

/** The generated copy decoders (for values a caller hands in; never touch their input). */
const copyDecoders = new Map<TypePlan, FastJsonDecoder | null>();
/** The generated in-place decoders (for what `JSON.parse` just returned). */
const inPlaceDecoders = new Map<TypePlan, FastJsonDecoder | null>();

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

function generate(plan: TypePlan): FastJsonDecoder | null {
  const cache = copyDecoders;
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
  const lines: string[] = ['var m={},k,x,a,j,y,n,s;', 'for(k in v){switch(k){'];
  plan.fields.forEach((field, index) => {
    const key = JSON.stringify(field.name);
    if (field.message !== undefined) {
      const sub = generate(field.message);
      if (sub === null) usable = false;
      else subDecoders[index] = sub;
    }
    if (field.kind === 'enum') enumValues[index] = field.enumValues;
    lines.push(`case ${key}:x=v[k];if(x===undefined||x===null)break;`, copyCase(field, index, key));
  });
  // Unknown keys are ignored: the copy never takes them.
  lines.push('}}');
  // Absent, null, or an unknown enum name: the slow path names the field.
  for (const field of plan.fields)
    if (field.required) lines.push(`if(m[${JSON.stringify(field.name)}]===undefined)F();`);
  lines.push('return m;');
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
    `return function fromJson_${plan.name.replace(/\./g, '_')}(v){${lines.join('\n')}}`,
  );
  const impl = factory(subDecoders, enumValues, HELPERS, fail) as FastJsonDecoder;
  cache.set(plan, impl);
  return impl;
}

/**
 * Inlining in the in-place decoders. A call per nested object (an id, a scalar, an allocation
 * info: about 20 per OFFERS event) was about a quarter of the conversion's time, so the code of a
 * nested message goes into its parent's function when that message is small (at most
 * {@link INLINE_MAX_FIELDS} declared fields) and not too deep; a larger one (Offer, Resource,
 * TaskStatus) keeps its own function, which inlines its own small messages in turn. The code size
 * of one function stays bounded, so V8 still optimises it, and a recursive type is always called.
 */
const INLINE_MAX_FIELDS = 8;
const INLINE_MAX_DEPTH = 5;
// Past this many characters of generated code, nested messages are called rather than inlined.
const INLINE_MAX_CHARS = 20_000;

/** What one generated in-place function collects while its code is written. */
interface InPlaceBuild {
  /** `D`: the decoders of the nested messages it calls. */
  readonly decoders: FastJsonDecoder[];
  /** `E`: the value names of the enums it checks. */
  readonly enums: ReadonlyMap<string, number>[];
  /** The deepest nesting level written (a set of variables for each). */
  depth: number;
  /** Characters of code written so far. */
  size: number;
  /** Whether every nested message has a decoder (see {@link shadowsPrototype}). */
  usable: boolean;
}

/** The expression naming the value names of an enum field's type in the generated code. */
function enumSet(field: FieldPlan, build: InPlaceBuild): string {
  build.enums.push(field.enumValues!);
  return `E[${build.enums.length - 1}]`;
}

/** Statements converting the scalar (not message) value in variable `x` in place. */
function scalarConversion(field: FieldPlan, x: string, build: InPlaceBuild): string {
  if (field.kind === 'enum')
    return `if(typeof ${x}!=="string")F();if(!${enumSet(field, build)}.has(${x}))${x}=undefined;`;
  return convert(field, -1).replace(/\bx\b/g, x);
}

/**
 * Statements converting the nested message in variable `target` in place (after checking it is
 * a plain object): inlined at nesting level `depth`, or a call to the message's own decoder.
 */
function messageConversion(
  plan: TypePlan,
  target: string,
  depth: number,
  chain: readonly TypePlan[],
  build: InPlaceBuild,
): string {
  const check = `if(typeof ${target}!=="object"||${target}===null||Array.isArray(${target}))F();`;
  if (
    plan.fields.length <= INLINE_MAX_FIELDS &&
    depth <= INLINE_MAX_DEPTH &&
    build.size < INLINE_MAX_CHARS &&
    !chain.includes(plan)
  ) {
    return `${check}v${depth}=${target};${objectConversion(plan, depth, [...chain, plan], build)}`;
  }
  const decoder = generateInPlace(plan);
  if (decoder === null) {
    build.usable = false;
    return '';
  }
  build.decoders.push(decoder);
  return `${check}D[${build.decoders.length - 1}](${target});`;
}

/**
 * The statements converting, in place, the object in variable `v<depth>` (already checked to be
 * a plain object): `v[k]` keeps, gets back or loses each value, unknown keys go, and the required
 * fields are checked last.
 */
function objectConversion(plan: TypePlan, depth: number, chain: readonly TypePlan[], build: InPlaceBuild): string {
  if (plan.fields.some((field) => shadowsPrototype(field.name))) {
    build.usable = false;
    return '';
  }
  if (depth > build.depth) build.depth = depth;
  // One set of variables per nesting level, so inlined loops do not clobber their parents'.
  const v = `v${depth}`;
  const k = `k${depth}`;
  const x = `x${depth}`;
  const j = `j${depth}`;
  const y = `y${depth}`;
  const z = `z${depth}`;
  const a = `a${depth}`;
  const n = `n${depth}`;
  const s = `s${depth}`;
  const cases: { readonly name: string; readonly code: string }[] = [];
  for (const field of plan.fields) {
    const parts: string[] = [];
    parts.push(`${x}=${v}[${k}];if(${x}===undefined||${x}===null){delete ${v}[${k}];break;}`);
    const sub = field.message;
    if (field.map) {
      // Keys such as __proto__ need care: a new object, items through their own decoder.
      const item =
        sub !== undefined
          ? `${messageConversion(sub, y, Number.POSITIVE_INFINITY, chain, build)}`
          : scalarConversion(field, y, build);
      parts.push(
        `if(typeof ${x}!=="object"||Array.isArray(${x}))F();${a}={};${s}=0;${n}=Object.keys(${x});for(${j}=0;${j}<${n}.length;${j}++){${y}=${x}[${n}[${j}]];${item}if(${y}!==undefined){H.setMapEntry(${a},${n}[${j}],${y});${s}++}}if(${s}>0)${v}[${k}]=${a};else delete ${v}[${k}];break;`,
      );
    } else if (field.repeated && field.kind === 'enum') {
      // Names may drop out: a new array.
      parts.push(
        `if(!Array.isArray(${x}))F();${a}=[];for(${j}=0;${j}<${x}.length;${j}++){${y}=${x}[${j}];${scalarConversion(field, y, build)}if(${y}!==undefined)${a}.push(${y});}if(${a}.length>0)${v}[${k}]=${a};else delete ${v}[${k}];break;`,
      );
    } else if (field.repeated) {
      // Items are written back only when converted (bytes, numeric strings): usually never.
      const item =
        sub !== undefined
          ? messageConversion(sub, y, depth + 1, chain, build)
          : `${z}=${y};${scalarConversion(field, y, build)}if(${y}!==${z})${x}[${j}]=${y};`;
      parts.push(
        `if(!Array.isArray(${x}))F();if(${x}.length===0){delete ${v}[${k}];break;}for(${j}=0;${j}<${x}.length;${j}++){${y}=${x}[${j}];${item}}break;`,
      );
    } else if (sub !== undefined) {
      parts.push(`${messageConversion(sub, x, depth + 1, chain, build)}break;`);
    } else if (field.kind === 'enum') {
      parts.push(`if(typeof ${x}!=="string")F();if(!${enumSet(field, build)}.has(${x}))delete ${v}[${k}];break;`);
    } else if (field.kind === 'string' || field.kind === 'bool') {
      parts.push(`${scalarConversion(field, x, build)}break;`);
    } else {
      // Numbers and bytes: written back only when the conversion changed the value.
      parts.push(`${z}=${x};${scalarConversion(field, x, build)}if(${x}!==${z})${v}[${k}]=${x};break;`);
    }
    cases.push({ name: field.name, code: parts.join('') });
  }
  const parts: string[] = [`for(${k} in ${v}){switch(${k}){`];
  for (const { name, code } of cases) parts.push(`case ${JSON.stringify(name)}:${code}`);
  // Unknown keys go.
  parts.push(`default:delete ${v}[${k}];}}`);
  // Absent, null, or an unknown enum name: the slow path names the field.
  for (const field of plan.fields)
    if (field.required) parts.push(`if(${v}[${JSON.stringify(field.name)}]===undefined)F();`);
  const code = parts.join('');
  build.size += code.length;
  return code;
}

/**
 * The in-place decoder of `plan`: converts the object `JSON.parse` just returned, in place. A
 * value that needs no conversion (strings, numbers, booleans, nested objects, which are
 * converted in place themselves) stays where it is, a converted one (bytes, numeric strings) is
 * written back, and what the copy would leave out (unknown keys, nulls, unknown enum names,
 * empty arrays) is deleted. It saves building a second object graph per event (allocation and
 * GC); the result equals the copy's. On failure its input is left half converted: the caller
 * re-parses.
 */
function generateInPlace(plan: TypePlan): FastJsonDecoder | null {
  const cache = inPlaceDecoders;
  const existing = cache.get(plan);
  if (existing !== undefined) return existing;
  // Placeholder first: recursive types find themselves.
  const self: FastJsonDecoder = (value) => impl(value);
  cache.set(plan, self);
  const build: InPlaceBuild = { decoders: [], enums: [], depth: 0, size: 0, usable: true };
  const body = objectConversion(plan, 0, [plan], build);
  if (!build.usable) {
    cache.set(plan, null);
    return null;
  }
  const variables: string[] = [];
  for (let depth = 0; depth <= build.depth; depth++) {
    for (const name of ['k', 'x', 'j', 'y', 'z', 'a', 'n', 's']) variables.push(`${name}${depth}`);
    if (depth > 0) variables.push(`v${depth}`);
  }
  // biome-ignore lint/complexity/noBannedTypes: a generated function, as protobufjs generates its own.
  const factory: Function = new Function(
    'D',
    'E',
    'H',
    'F',
    `return function fromJsonInPlace_${plan.name.replace(/\./g, '_')}(v0){var ${variables.join(',')};\n${body}\nreturn v0;}`,
  );
  const impl = factory(build.decoders, build.enums, HELPERS, fail) as FastJsonDecoder;
  cache.set(plan, impl);
  return impl;
}

/**
 * The generated fast-path decoder of a message type, or `null` when the type (or one it reaches)
 * cannot have one (a field name that `Object.prototype` also has); then use the slow path.
 */
export function getFastJsonDecoder(plan: TypePlan): FastJsonDecoder | null {
  return generate(plan);
}

/**
 * The generated in-place decoder of a message type, or `null` as for {@link getFastJsonDecoder}.
 * It converts (and returns) the very object it is given, so give it only a value nobody else
 * holds, such as what `JSON.parse` just returned; when it throws {@link FAST_JSON_FAILED} the
 * value is left half converted: parse the text again for the slow path.
 */
export function getInPlaceJsonDecoder(plan: TypePlan): FastJsonDecoder | null {
  return generateInPlace(plan);
}
