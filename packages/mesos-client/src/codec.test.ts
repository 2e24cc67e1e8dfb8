import { isSparkMesosError } from '@spark-mesos/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMessageCodec,
  EXECUTOR_EVENT_CODECS,
  getMesosApiCodecs,
  MESOS_CONTENT_TYPES,
  SCHEDULER_CALL_CODECS,
  SCHEDULER_EVENT_CODECS,
} from './codec.js';
import { getTypePlan } from './codec-plan.js';
import { decodeProtobuf, decodeProtobufReference } from './codec-protobuf.js';
import type { SchedulerCall, TaskStatus } from './generated/mesos-types.js';
import { lookupMesosType } from './schema.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function thrown(fn: () => unknown): { code?: string; message: string; cause?: unknown; details?: unknown } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a throw');
}

const subscribe: SchedulerCall = {
  type: 'SUBSCRIBE',
  subscribe: {
    framework_info: {
      user: 'root',
      name: 'spark',
      failover_timeout: 0,
      capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }],
      roles: ['*'],
    },
  },
};

describe('content types and codec lookup', () => {
  it('uses the exact Mesos content types', () => {
    expect(MESOS_CONTENT_TYPES).toEqual({ protobuf: 'application/x-protobuf', json: 'application/json' });
    expect(SCHEDULER_CALL_CODECS.json.contentType).toBe('application/json');
    expect(SCHEDULER_EVENT_CODECS.protobuf.contentType).toBe('application/x-protobuf');
    expect(getMesosApiCodecs('protobuf').executorEvent).toBe(EXECUTOR_EVENT_CODECS.protobuf);
    expect(SCHEDULER_CALL_CODECS.protobuf.typeName).toBe('mesos.v1.scheduler.Call');
  });

  it('rejects unknown type names', () => {
    expect(thrown(() => createMessageCodec('mesos.v1.Nope', 'json')).code).toBe('SM_ERR_MESOS_SCHEMA');
  });
});

describe('JSON mapping', () => {
  it('writes proto field names, enum names, base64 bytes and numbers', () => {
    const call: SchedulerCall = {
      type: 'ACKNOWLEDGE',
      framework_id: { value: 'fw-1' },
      acknowledge: {
        agent_id: { value: 'S0' },
        task_id: { value: 't1' },
        uuid: new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255, 9, 8, 7, 6, 5, 4, 3]),
      },
    };
    const out = JSON.parse(text(SCHEDULER_CALL_CODECS.json.encode(call)));
    expect(out).toEqual({
      type: 'ACKNOWLEDGE',
      framework_id: { value: 'fw-1' },
      acknowledge: { agent_id: { value: 'S0' }, task_id: { value: 't1' }, uuid: 'AAEC+vv8/f7/CQgHBgUEAw==' },
    });
    expect(SCHEDULER_CALL_CODECS.json.decode(json(out))).toEqual(call);
  });

  it('reads doubles written as 15.0, ignores unknown fields and drops unknown enum names', () => {
    const body = new TextEncoder().encode(
      '{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":15.0,"future_field":{"x":1}},"extra":true}',
    );
    expect(SCHEDULER_EVENT_CODECS.json.decode(body)).toEqual({
      type: 'SUBSCRIBED',
      subscribed: { framework_id: { value: 'f' }, heartbeat_interval_seconds: 15 },
    });
    expect(SCHEDULER_CALL_CODECS.json.decode(json({ type: 'NOT_A_CALL' }))).toEqual({});
    const capabilities = SCHEDULER_CALL_CODECS.json.decode(
      json({
        subscribe: {
          framework_info: { user: 'u', name: 'n', capabilities: [{ type: 'NOPE' }, { type: 'MULTI_ROLE' }] },
        },
      }),
    );
    expect(capabilities.subscribe?.framework_info.capabilities).toEqual([{}, { type: 'MULTI_ROLE' }]);
  });

  it('accepts 64-bit integers as numbers or numeric strings, within ±2^53', () => {
    const codec = createMessageCodec('mesos.v1.DurationInfo', 'json');
    expect(codec.decode(json({ nanoseconds: 1_700_000_000_000_000_000 / 1000 }))).toEqual({ nanoseconds: 1.7e15 });
    expect(codec.decode(json({ nanoseconds: '-42' }))).toEqual({ nanoseconds: -42 });
    const error = thrown(() => codec.decode(new TextEncoder().encode('{"nanoseconds":9007199254740993}')));
    expect(error.code).toBe('SM_ERR_MESOS_DECODE');
    expect(error.message).toContain("field 'nanoseconds'");
  });

  it('fails with SM_ERR_MESOS_DECODE naming the type and field', () => {
    const codec = SCHEDULER_CALL_CODECS.json;
    const bad = thrown(() => codec.decode(new TextEncoder().encode('{"type": ')));
    expect(bad.code).toBe('SM_ERR_MESOS_DECODE');
    expect(bad.message).toContain('mesos.v1.scheduler.Call');
    expect(bad.cause).toBeInstanceOf(SyntaxError);
    const wrong = thrown(() => codec.decode(json({ subscribe: { framework_info: { user: 7, name: 'n' } } })));
    expect(wrong.message).toContain("field 'subscribe.framework_info.user'");
    expect(wrong.message).toContain('number 7');
    const missing = thrown(() =>
      codec.decode(json({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u' } } })),
    );
    expect(missing.message).toContain("'subscribe.framework_info.name'");
    const notArray = thrown(() => codec.decode(json({ accept: { offer_ids: { value: 'o' } } })));
    expect(notArray.message).toContain("field 'accept.offer_ids'");
    expect(thrown(() => codec.decode(json([1]))).code).toBe('SM_ERR_MESOS_DECODE');
    expect(thrown(() => codec.decode(new Uint8Array([0xff, 0xfe]))).code).toBe('SM_ERR_MESOS_DECODE');
  });

  it('names the failing field even after the in-place decoder converted fields before it', () => {
    // The decoder of a body converts the parsed value in place (bytes to Uint8Array, an unknown
    // key deleted) and gives up at the bad 'state': the error still comes from a fresh parse, so
    // it names that field rather than tripping over the half-converted value.
    const body = new TextEncoder().encode(
      JSON.stringify({
        type: 'UPDATE',
        update: {
          status: {
            uuid: Buffer.from('0123456789abcdef').toString('base64'),
            future_field: 1,
            message: 'Tâche démarrée ✓',
            task_id: { value: 't' },
            state: 7,
          },
        },
      }),
    );
    const error = thrown(() => SCHEDULER_EVENT_CODECS.json.decode(body));
    expect(error.code).toBe('SM_ERR_MESOS_DECODE');
    expect(error.message).toContain("field 'update.status.state'");
    expect(error.message).toContain('number 7');
  });

  it('decodes non-ASCII text and drops unknown keys of a body, nested ones too', () => {
    const uuid = new Uint8Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));
    const body = new TextEncoder().encode(
      JSON.stringify({
        type: 'UPDATE',
        future: [1, 2],
        update: {
          status: {
            uuid: Buffer.from(uuid).toString('base64'),
            message: 'Tâche démarrée ✓ 任务',
            task_id: { value: 'tâche-1', extra: null },
            state: 'TASK_RUNNING',
            labels: { labels: [] },
            reason: 'NOT_A_REASON',
            timestamp: null,
          },
        },
      }),
    );
    const event = SCHEDULER_EVENT_CODECS.json.decode(body);
    expect(event).toStrictEqual({
      type: 'UPDATE',
      update: {
        status: {
          uuid,
          message: 'Tâche démarrée ✓ 任务',
          task_id: { value: 'tâche-1' },
          state: 'TASK_RUNNING',
          labels: {},
        },
      },
    });
  });
});

describe('protobuf', () => {
  it('round-trips and leaves absent fields absent', () => {
    const bytes = SCHEDULER_CALL_CODECS.protobuf.encode(subscribe);
    const decoded = SCHEDULER_CALL_CODECS.protobuf.decode(bytes);
    expect(decoded).toEqual(subscribe);
    expect('checkpoint' in decoded.subscribe!.framework_info).toBe(false);
    expect(decoded.subscribe!.framework_info.failover_timeout).toBe(0); // explicitly set: kept
  });

  it('fails with SM_ERR_MESOS_DECODE for garbage, with the cause', () => {
    const error = thrown(() =>
      SCHEDULER_CALL_CODECS.protobuf.decode(Buffer.from('ffffffff6e6f742d612d70726f746f627566', 'hex')),
    );
    expect(error.code).toBe('SM_ERR_MESOS_DECODE');
    expect(error.message).toContain('mesos.v1.scheduler.Call');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('rejects a 64-bit integer beyond 2^53, naming its path', () => {
    const range = lookupMesosType('mesos.v1.Value.Range');
    const bytes = range.encode({ begin: 1, end: '18446744073709551615' }).finish();
    const resource = lookupMesosType('mesos.v1.Resource');
    const wrapped = resource
      .encode(resource.fromObject({ name: 'ports', type: 'RANGES', ranges: { range: [range.decode(bytes)] } }))
      .finish();
    const error = thrown(() => createMessageCodec('mesos.v1.Resource', 'protobuf').decode(wrapped));
    expect(error.code).toBe('SM_ERR_MESOS_DECODE');
    expect(error.message).toContain("'ranges.range[0].end'");
    expect(
      createMessageCodec('mesos.v1.Value.Range', 'protobuf').decode(
        range.encode({ begin: 1, end: 2 ** 53 - 1 }).finish(),
      ),
    ).toEqual({
      begin: 1,
      end: 2 ** 53 - 1,
    });
  });

  it("reads TimeInfo nanoseconds since the epoch beyond 2^53 (a real master's unreachable_time) as the nearest number", () => {
    // 2026-11-18T…Z in nanoseconds: beyond 2^53, as every absolute TimeInfo a master sends.
    const nanoseconds = '1795000000123456789';
    const status = lookupMesosType('mesos.v1.TaskStatus');
    const bytes = status
      .encode(
        status.fromObject({ task_id: { value: 't' }, state: 'TASK_UNREACHABLE', unreachable_time: { nanoseconds } }),
      )
      .finish();
    const expected: TaskStatus = {
      task_id: { value: 't' },
      state: 'TASK_UNREACHABLE',
      unreachable_time: { nanoseconds: Number(nanoseconds) },
    };
    expect(createMessageCodec('mesos.v1.TaskStatus', 'protobuf').decode(bytes)).toEqual(expected);
    const body = `{"task_id":{"value":"t"},"state":"TASK_UNREACHABLE","unreachable_time":{"nanoseconds":${nanoseconds}}}`;
    const jsonCodec = createMessageCodec('mesos.v1.TaskStatus', 'json');
    expect(jsonCodec.decode(new TextEncoder().encode(body))).toEqual(expected);
    // Both encodings write it back, to within the 256 ns a double keeps at that size.
    const again = createMessageCodec('mesos.v1.TaskStatus', 'protobuf').encode(expected);
    const decoded = status.toObject(status.decode(again), { longs: String }) as {
      unreachable_time: { nanoseconds: string };
    };
    expect(Math.abs(Number(BigInt(decoded.unreachable_time.nanoseconds) - BigInt(nanoseconds)))).toBeLessThanOrEqual(
      256,
    );
    expect(jsonCodec.decode(jsonCodec.encode(expected))).toEqual(expected);
    // An event carrying it decodes in a stream like any other.
    const event = SCHEDULER_EVENT_CODECS.protobuf.encode({ type: 'UPDATE', update: { status: expected } });
    expect(SCHEDULER_EVENT_CODECS.protobuf.decode(event)).toEqual({ type: 'UPDATE', update: { status: expected } });
    // Other 64-bit fields still refuse what a number cannot hold exactly.
    expect(
      thrown(() => createMessageCodec('mesos.v1.Value.Range', 'json').encode({ begin: 1, end: 2 ** 60 })).code,
    ).toBe('SM_ERR_MESOS_ENCODE');
  });

  it('drops unknown enum numbers, as proto2 does', () => {
    const status = lookupMesosType('mesos.v1.TaskStatus');
    const bytes = status.encode({ task_id: { value: 't' }, state: 1, source: 999 }).finish();
    expect(createMessageCodec('mesos.v1.TaskStatus', 'protobuf').decode(bytes)).toEqual({
      task_id: { value: 't' },
      state: 'TASK_RUNNING',
    });
  });

  it('returns bytes as a Uint8Array copy, not a view of the input', () => {
    const event = {
      type: 'MESSAGE',
      message: { agent_id: { value: 'a' }, executor_id: { value: 'e' }, data: new Uint8Array([1, 2, 3]) },
    } as const;
    const bytes = SCHEDULER_EVENT_CODECS.protobuf.encode(event);
    const decoded = SCHEDULER_EVENT_CODECS.protobuf.decode(bytes);
    bytes.fill(0);
    expect(decoded.message?.data).toEqual(new Uint8Array([1, 2, 3]));
  });
});

describe('encode validation', () => {
  for (const encoding of ['protobuf', 'json'] as const) {
    it(`names the path of a missing required field (${encoding})`, () => {
      const codec = SCHEDULER_CALL_CODECS[encoding];
      const call = { type: 'ACCEPT', accept: { offer_ids: [{ value: 'o1' }, {}] } } as unknown as SchedulerCall;
      const error = thrown(() => codec.encode(call));
      expect(error.code).toBe('SM_ERR_MESOS_ENCODE');
      expect(error.message).toContain("field 'accept.offer_ids[1].value' of mesos.v1.scheduler.Call");
      expect(error.message).toContain('required');
    });

    it(`rejects wrong types, unknown enum names and unsafe 64-bit integers (${encoding})`, () => {
      const codec = SCHEDULER_CALL_CODECS[encoding];
      expect(thrown(() => codec.encode({ type: 'NOPE' } as unknown as SchedulerCall)).message).toMatch(
        /field 'type'.*NOPE/,
      );
      const unsafe = { type: 'DECLINE', decline: { offer_ids: [], filters: { refuse_seconds: 1 } } } as SchedulerCall;
      expect(codec.encode(unsafe)).toBeInstanceOf(Uint8Array);
      const time = createMessageCodec('mesos.v1.DurationInfo', encoding);
      const error = thrown(() => time.encode({ nanoseconds: 2 ** 60 }));
      expect(error.code).toBe('SM_ERR_MESOS_ENCODE');
      expect(error.message).toContain("field 'nanoseconds'");
      expect(thrown(() => codec.encode('x' as unknown as SchedulerCall)).code).toBe('SM_ERR_MESOS_ENCODE');
    });
  }
});

// --- property tests -------------------------------------------------------------------------

const id = fc.record({ value: fc.string({ maxLength: 12 }) });
const safeInt = fc
  .integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
  .chain((hi) => fc.constant(hi * 2 ** 21 + (hi & 0xff)));
const scalarResource = fc.record(
  {
    name: fc.constantFrom('cpus', 'mem', 'disk'),
    type: fc.constant('SCALAR' as const),
    scalar: fc.record({ value: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
    role: fc.string({ maxLength: 5 }),
  },
  { requiredKeys: ['name', 'type', 'scalar'] },
);
const rangesResource = fc.record({
  name: fc.constant('ports'),
  type: fc.constant('RANGES' as const),
  ranges: fc.record({
    range: fc.array(fc.record({ begin: fc.nat(), end: fc.maxSafeNat() }), { minLength: 1, maxLength: 3 }),
  }),
});
const callArb: fc.Arbitrary<SchedulerCall> = fc.oneof(
  fc.record({
    type: fc.constant('SUBSCRIBE' as const),
    subscribe: fc.record(
      {
        framework_info: fc.record(
          {
            user: fc.string(),
            name: fc.string(),
            id: id,
            failover_timeout: fc.double({ noNaN: true, noDefaultInfinity: true }),
            checkpoint: fc.boolean(),
            roles: fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 3 }),
            capabilities: fc.array(
              fc.record({ type: fc.constantFrom('MULTI_ROLE', 'PARTITION_AWARE', 'GPU_RESOURCES' as const) }),
              {
                minLength: 1,
                maxLength: 3,
              },
            ),
            offer_filters: fc.dictionary(
              fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== '__proto__'),
              fc.record({
                min_allocatable_resources: fc.record({
                  quantities: fc.array(
                    fc.record({
                      quantities: fc.dictionary(
                        fc.constantFrom('cpus', 'mem'),
                        fc.record({ value: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
                        { minKeys: 1 },
                      ),
                    }),
                    { minLength: 1, maxLength: 2 },
                  ),
                }),
              }),
              { minKeys: 1, maxKeys: 2 },
            ),
          },
          { requiredKeys: ['user', 'name'] },
        ),
        suppressed_roles: fc.array(fc.string(), { minLength: 1, maxLength: 2 }),
      },
      { requiredKeys: ['framework_info'] },
    ),
  }),
  fc.record({
    type: fc.constant('ACKNOWLEDGE' as const),
    framework_id: id,
    acknowledge: fc.record({ agent_id: id, task_id: id, uuid: fc.uint8Array({ minLength: 0, maxLength: 16 }) }),
  }),
  fc.record({
    type: fc.constant('ACCEPT' as const),
    framework_id: id,
    accept: fc.record(
      {
        offer_ids: fc.array(id, { minLength: 1, maxLength: 3 }),
        operations: fc.array(
          fc.record({
            type: fc.constant('LAUNCH' as const),
            launch: fc.record({
              task_infos: fc.array(
                fc.record(
                  {
                    name: fc.string(),
                    task_id: id,
                    agent_id: id,
                    resources: fc.array(fc.oneof(scalarResource, rangesResource), { minLength: 1, maxLength: 3 }),
                    command: fc.record(
                      {
                        value: fc.string(),
                        shell: fc.boolean(),
                        uris: fc.array(
                          fc.record({ value: fc.string(), extract: fc.boolean() }, { requiredKeys: ['value'] }),
                          { minLength: 1, maxLength: 2 },
                        ),
                      },
                      { requiredKeys: [] },
                    ),
                    data: fc.uint8Array({ maxLength: 8 }),
                  },
                  { requiredKeys: ['name', 'task_id', 'agent_id'] },
                ),
                { minLength: 1, maxLength: 2 },
              ),
            }),
          }),
          { minLength: 1, maxLength: 2 },
        ),
        filters: fc.record({ refuse_seconds: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
      },
      { requiredKeys: ['offer_ids'] },
    ),
  }),
  fc.record({
    type: fc.constant('RECONCILE' as const),
    framework_id: id,
    reconcile: fc.record({
      tasks: fc.array(fc.record({ task_id: id, agent_id: id }, { requiredKeys: ['task_id'] }), {
        minLength: 1,
        maxLength: 3,
      }),
    }),
  }),
  fc.record({
    type: fc.constant('KILL' as const),
    framework_id: id,
    kill: fc.record(
      { task_id: id, kill_policy: fc.record({ grace_period: fc.record({ nanoseconds: safeInt }) }) },
      { requiredKeys: ['task_id'] },
    ),
  }),
);

/** JSON cannot carry -0: the JSON codec reads it back as 0. */
function withoutNegativeZero<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v) => (Object.is(v, -0) ? 0 : v instanceof Uint8Array ? { __bytes: [...v] } : v)),
    (_k, v) => (v && typeof v === 'object' && '__bytes' in v ? new Uint8Array(v.__bytes) : v),
  );
}

describe('properties', () => {
  it('arbitrary bytes never fail the protobuf decoders with anything but SM_ERR_MESOS_DECODE', () => {
    const decoders = [SCHEDULER_CALL_CODECS.protobuf, SCHEDULER_EVENT_CODECS.protobuf, EXECUTOR_EVENT_CODECS.protobuf];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(decoders.length - 1), (bytes, which) => {
        try {
          decoders[which]!.decode(bytes);
        } catch (error) {
          if (!isSparkMesosError(error, 'SM_ERR_MESOS_DECODE')) throw error;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('the generated decoder agrees with protobufjs decode + toObject on arbitrary bytes', () => {
    const plans = ['mesos.v1.scheduler.Call', 'mesos.v1.scheduler.Event', 'mesos.v1.Resource'].map(getTypePlan);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(plans.length - 1), (bytes, which) => {
        const plan = plans[which]!;
        let reference: unknown;
        try {
          reference = decodeProtobufReference(plan, bytes);
        } catch {
          return; // protobufjs rejects it; ours may too (covered above)
        }
        expect(decodeProtobuf(plan, bytes)).toEqual(reference);
      }),
      { numRuns: 3000 },
    );
  });

  it('arbitrary SchedulerCalls that encode also decode back equal (protobuf and JSON)', () => {
    fc.assert(
      fc.property(callArb, (call) => {
        const pb = SCHEDULER_CALL_CODECS.protobuf;
        expect(pb.decode(pb.encode(call))).toEqual(call);
        const js = SCHEDULER_CALL_CODECS.json;
        expect(js.decode(js.encode(call))).toEqual(withoutNegativeZero(call));
      }),
      { numRuns: 300 },
    );
  });
});
