import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listFixtures, parseHttpMessages, readFixture, splitRecordIo } from './codec-fixtures.js';
import { decodeJsonText, fromJsonValue, fromJsonValueSlowPath } from './codec-json.js';
import { getFastJsonDecoder, getInPlaceJsonDecoder } from './codec-json-decoder.js';
import { type FieldPlan, getTypePlan, type TypePlan } from './codec-plan.js';

// The generated fast path of the JSON decoder (codec-json-decoder.ts) must agree with the
// reference walk (fromJsonValueSlowPath) on every input: the same result, or the same error.

const TYPES = ['mesos.v1.scheduler.Event', 'mesos.v1.scheduler.Call'] as const;

type Outcome = { ok: unknown } | { code: unknown; message: unknown; details: unknown; cause: unknown };

function outcome(run: () => unknown): Outcome {
  try {
    return { ok: run() };
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown; details?: unknown; cause?: unknown };
    return { code: e.code, message: e.message, details: e.details, cause: e.cause };
  }
}

function expectSameOutcome(plan: TypePlan, value: unknown): void {
  const fast = outcome(() => fromJsonValue(plan, value));
  const slow = outcome(() => fromJsonValueSlowPath(plan, value));
  // node's deep strict equality (prototypes, own keys): vitest's toStrictEqual would compare a
  // map entry keyed 'constructor' as the object's type.
  if (!isDeepStrictEqual(fast, slow)) expect(fast).toStrictEqual(slow);
  expect(isDeepStrictEqual(fast, slow), JSON.stringify(value)).toBe(true);
  // The in-place decoder of a parsed body (decodeJson's path) against the slow path on the same
  // text: the same result, or the same error (its fallback re-parses the text it half converted).
  const text = JSON.stringify(value);
  if (text === undefined) return;
  const inPlace = outcome(() => decodeJsonText(plan, text, text.length));
  const slowOfText = outcome(() => fromJsonValueSlowPath(plan, JSON.parse(text)));
  if (!isDeepStrictEqual(inPlace, slowOfText)) expect(inPlace).toStrictEqual(slowOfText);
  expect(isDeepStrictEqual(inPlace, slowOfText), text).toBe(true);
}

/** A JSON round trip: what `JSON.parse` would hand the decoder. */
function asJson(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : JSON.parse(text);
}

const anyJson = fc.jsonValue({ maxDepth: 2 });
/** Sometimes a wrong value (null, any JSON) instead of a valid one. */
const sometimesWrong = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: valid, weight: 12 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: anyJson, weight: 1 },
  );

const INT_EDGES = [0, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 1.5, -0.5];
const INT64_EDGES = [2 ** 53 - 1, 2 ** 53, -(2 ** 53) + 1, -(2 ** 53), 2 ** 64, -1, 1e300, 0.25];
const NUMERIC_TEXT = ['12', '-7', '1.5', '.5', '1.', '1e3', '-2E-2', '', '-', 'abc', ' 1', '0x10', '9007199254740993'];

function scalar(field: FieldPlan): fc.Arbitrary<unknown> {
  switch (field.kind) {
    case 'string':
      return fc.string({ maxLength: 8 });
    case 'bool':
      return fc.boolean();
    case 'int32':
    case 'uint32':
      return fc.oneof(
        fc.integer(),
        fc.constantFrom(...INT_EDGES),
        fc.constantFrom(...NUMERIC_TEXT),
        fc.integer().map(String),
      );
    case 'double':
      return fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        fc.constantFrom(...NUMERIC_TEXT),
      );
    case 'int64':
    case 'uint64':
      return fc.oneof(
        fc.maxSafeInteger(),
        fc.constantFrom(...INT64_EDGES),
        fc.constantFrom(...NUMERIC_TEXT),
        fc.maxSafeInteger().map(String),
      );
    case 'bytes':
      return fc.oneof(
        fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString('base64')),
        fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString('base64url')),
        fc.constantFrom('not base64!', '===', 'QQ', 'QQ=='),
      );
    case 'enum':
      return fc.constantFrom(...field.enumValues!.keys(), 'NOT_A_VALUE', 'unknown');
    case 'message':
      throw new Error('not a scalar');
  }
}

const messageArbitraries = new Map<string, fc.Arbitrary<unknown>>();

/** A JSON object shaped like `plan` (a few of its fields, required ones usually), with mistakes. */
function messageOf(plan: TypePlan, depth: number): fc.Arbitrary<unknown> {
  const key = `${plan.name}@${depth}`;
  const cached = messageArbitraries.get(key);
  if (cached !== undefined) return cached;
  const fields = plan.fields.filter((field) => depth > 0 || field.kind !== 'message');
  const required = plan.fields.filter((field) => field.required);
  const fieldValue = (field: FieldPlan): fc.Arbitrary<unknown> => {
    const item =
      field.kind === 'message'
        ? sometimesWrong(fc.constant(null).chain(() => messageOf(field.message!, depth - 1)))
        : sometimesWrong(scalar(field));
    if (field.repeated) return sometimesWrong(fc.array(item, { maxLength: 3 }));
    if (field.map)
      return sometimesWrong(
        fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('__proto__', 'constructor')), item, {
          maxKeys: 3,
        }),
      );
    return item;
  };
  const arbitrary = fc
    .tuple(
      fc.uniqueArray(fc.nat(Math.max(0, fields.length - 1)), { maxLength: Math.min(5, fields.length) }),
      fc.boolean(),
      fc.boolean(),
    )
    .chain(([picked, withRequired, withUnknown]) => {
      const chosen = new Set(picked.map((i) => fields[i]).filter((field) => field !== undefined));
      if (withRequired || depth === 0) for (const field of required) chosen.add(field);
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const field of chosen) shape[field.name] = fieldValue(field);
      if (withUnknown) shape.not_a_field = anyJson;
      return fc.record(shape);
    });
  messageArbitraries.set(key, arbitrary);
  return arbitrary;
}

describe('JSON decoding: fast path ≡ slow path', () => {
  it('has a generated decoder for the scheduler and executor messages', () => {
    for (const name of [...TYPES, 'mesos.v1.executor.Event', 'mesos.v1.executor.Call']) {
      expect(getFastJsonDecoder(getTypePlan(name))).toBeTypeOf('function');
      expect(getInPlaceJsonDecoder(getTypePlan(name))).toBeTypeOf('function');
    }
  });

  for (const name of TYPES) {
    it(`agrees on random ${name}-shaped JSON values (result or error)`, () => {
      const plan = getTypePlan(name);
      fc.assert(
        fc.property(messageOf(plan, 3), (value) => expectSameOutcome(plan, asJson(value))),
        { numRuns: 400 },
      );
    });

    it(`agrees on random JSON values as ${name}`, () => {
      const plan = getTypePlan(name);
      const names = plan.fields.map((field) => field.name);
      const keyed = fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 4 })), anyJson, {
        maxKeys: 6,
      });
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue(), keyed), (value) => expectSameOutcome(plan, value)),
        { numRuns: 400 },
      );
    });
  }

  it('agrees on random values of every message type the scheduler API reaches', () => {
    const reached = new Set<TypePlan>();
    const queue = TYPES.map((name) => getTypePlan(name));
    while (queue.length > 0) {
      const plan = queue.pop()!;
      if (reached.has(plan)) continue;
      reached.add(plan);
      for (const field of plan.fields) if (field.message !== undefined) queue.push(field.message);
    }
    expect(reached.size).toBeGreaterThan(100);
    for (const plan of reached)
      fc.assert(
        fc.property(messageOf(plan, 1), (value) => expectSameOutcome(plan, asJson(value))),
        { numRuns: 40 },
      );
  });

  it('decodes bytes as Buffer.from(…, "base64") does, canonical or not (the canonical fast path)', () => {
    const plan = getTypePlan('mesos.v1.UUID');
    const base64Text = fc.string({
      unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=!'),
      maxLength: 24,
    });
    const encoded = fc
      .uint8Array({ maxLength: 40 })
      .chain((bytes) =>
        fc.constantFrom(Buffer.from(bytes).toString('base64'), Buffer.from(bytes).toString('base64url')),
      );
    fc.assert(
      fc.property(fc.oneof(base64Text, encoded), (text) => expectSameOutcome(plan, { value: text })),
      { numRuns: 2000 },
    );
    // Both alphabets, padding, and the last group's spare bits (ignored, as Node does).
    for (const text of ['', '4XimJNctQbOH6yXttXY1Zg==', 'QR==', 'QUJ=', 'QUJD', '-_-_', '+/+/', 'Q===', 'QQ=A'])
      expectSameOutcome(plan, { value: text });
    const uuid = decodeJsonText(plan, '{"value":"4XimJNctQbOH6yXttXY1Zg=="}', 36).value as Uint8Array;
    expect(uuid).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(uuid).toString('base64')).toBe('4XimJNctQbOH6yXttXY1Zg==');
  });

  it('agrees on every recorded JSON body, and decodes the valid ones without falling back', () => {
    const bodies: { where: string; typeName: string; bytes: Uint8Array }[] = [];
    for (const file of [
      'subscribe-json.stream.bin',
      'subscribe-json-40s.stream.bin',
      'subscribe-json-2agents.stream.bin',
    ])
      for (const [r, bytes] of splitRecordIo(readFixture(file)).entries())
        bodies.push({ where: `${file}.${r}`, typeName: 'mesos.v1.scheduler.Event', bytes });
    const chunked = parseHttpMessages(
      Buffer.concat([
        Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
        readFixture('subscribe-json-rawchunked.stream.bin'),
      ]),
    )[0]!.body;
    for (const [r, bytes] of splitRecordIo(chunked).entries())
      bodies.push({ where: `rawchunked.${r}`, typeName: 'mesos.v1.scheduler.Event', bytes });
    for (const folder of ['flow', 'flow2', 'flow2-attempt1'])
      for (const file of listFixtures(folder, /\.raw$/))
        parseHttpMessages(readFixture(file)).forEach((message, index) => {
          if (!message.startLine.startsWith('HTTP/')) {
            if (message.headers.get('content-type') === 'application/json')
              bodies.push({ where: `${file}#${index}`, typeName: 'mesos.v1.scheduler.Call', bytes: message.body });
          } else if (message.startLine.startsWith('HTTP/1.1 200')) {
            for (const [r, bytes] of splitRecordIo(message.body).entries())
              bodies.push({ where: `${file}#${index}.${r}`, typeName: 'mesos.v1.scheduler.Event', bytes });
          }
        });
    let fastOnly = 0;
    let compared = 0;
    for (const body of bodies) {
      let value: unknown;
      try {
        value = JSON.parse(Buffer.from(body.bytes).toString('utf8'));
      } catch {
        continue; // not JSON (deliberately malformed, empty, or a protobuf body)
      }
      const plan = getTypePlan(body.typeName);
      expectSameOutcome(plan, value);
      compared++;
      const slow = outcome(() => fromJsonValueSlowPath(plan, value));
      if ('ok' in slow) {
        const fast = getFastJsonDecoder(plan)!(value as Record<string, unknown>);
        expect(isDeepStrictEqual(fast, slow.ok), body.where).toBe(true);
        const inPlace = getInPlaceJsonDecoder(plan)!(JSON.parse(Buffer.from(body.bytes).toString('utf8')));
        expect(isDeepStrictEqual(inPlace, slow.ok), body.where).toBe(true);
        fastOnly++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(60);
    expect(fastOnly).toBeGreaterThanOrEqual(60);
  });
});
