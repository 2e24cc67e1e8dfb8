import { isSparkMesosError } from '@spark-mesos/errors';
import textformat from 'protobufjs/ext/textformat.js';
import { describe, expect, it } from 'vitest';
import { createMessageCodec, type MessageCodec } from './codec.js';
import { listFixtures, parseHttpMessages, readFixture, splitDecodedText, splitRecordIo } from './codec-fixtures.js';
import { getTypePlan } from './codec-plan.js';
import { decodeProtobuf, decodeProtobufReference } from './codec-protobuf.js';
import type { SchedulerEvent } from './generated/mesos-types.js';
import { lookupMesosType } from './schema.js';

// Real Mesos 1.12 traffic (see __fixtures__/README-mesos-fixtures.md): every protobuf record must
// decode and re-encode to the same bytes, every JSON record to a structurally equal JSON value.

type Api =
  | 'mesos.v1.scheduler.Call'
  | 'mesos.v1.scheduler.Event'
  | 'mesos.v1.executor.Call'
  | 'mesos.v1.executor.Event';

interface Body {
  readonly where: string;
  readonly typeName: Api;
  readonly bytes: Uint8Array;
}

/**
 * Bodies that must NOT decode, each with its reason. Every other body must round-trip.
 */
const EXPECTED_UNDECODABLE: Record<string, string> = {
  'flow_pb/pb-err-garbage-body.request.raw#0':
    'deliberately garbage body (ff ff ff ff "not-a-protobuf"): Mesos answers 400',
  'flow/err-malformed-json.request.raw#0': 'deliberately malformed JSON: Mesos answers 400',
  'flow/err-empty-body.request.raw#0': 'deliberately empty body: Mesos answers 400 "Failed to parse body into JSON"',
};

/**
 * Protobuf records that decode and re-encode to the same message but not the same bytes, with the
 * reason. Value: how many bytes shorter the re-encoding is.
 */
const EXPECTED_NOT_BYTE_EXACT: Record<string, { reason: string; shorterBy: number }> = {
  'executor_pb/subscribe.response.raw#0.0': {
    reason:
      "the executor SUBSCRIBED event's agent_info carries field 7 (v0 SlaveInfo.checkpoint, not defined in v1 AgentInfo): " +
      'the agent evolves v0 to v1 by re-parsing bytes, so C++ keeps it as an unknown field and writes it last. ' +
      'Unknown fields are dropped by this codec (as by the JSON mapping): 2 bytes (38 01) fewer.',
    shorterBy: 2,
  },
  'executor_pb/subscribe.stream.bin.0': {
    reason: 'the same record as executor_pb/subscribe.response.raw#0.0',
    shorterBy: 2,
  },
};

/**
 * JSON bodies that decode but do not re-encode to an equal JSON value, each with its reason.
 */
const EXPECTED_JSON_DIFFERENCES: Record<string, string> = {
  'flow/err-unknown-call-type.request.raw#0':
    '"type":"NOT_A_CALL" is an unknown enum name, dropped on decode exactly as the master does',
};

const codecs = new Map<string, MessageCodec<unknown>>();
function codecOf(typeName: Api, encoding: 'protobuf' | 'json'): MessageCodec<unknown> {
  const key = `${typeName}/${encoding}`;
  let codec = codecs.get(key);
  if (codec === undefined) {
    codec = createMessageCodec<unknown>(typeName, encoding);
    codecs.set(key, codec);
  }
  return codec;
}

/** Bodies of a `.raw` capture: requests are Calls, 200 streams are RecordIO Events. */
function bodiesOfRaw(file: string, api: 'scheduler' | 'executor'): Body[] {
  const out: Body[] = [];
  parseHttpMessages(readFixture(file)).forEach((message, index) => {
    const isRequest = !message.startLine.startsWith('HTTP/');
    if (isRequest) {
      const contentType = message.headers.get('content-type');
      if (contentType !== 'application/json' && contentType !== 'application/x-protobuf') return;
      out.push({ where: `${file}#${index}`, typeName: `mesos.v1.${api}.Call`, bytes: message.body });
    } else if (message.startLine.startsWith('HTTP/1.1 200')) {
      splitRecordIo(message.body).forEach((record, r) => {
        out.push({ where: `${file}#${index}.${r}`, typeName: `mesos.v1.${api}.Event`, bytes: record });
      });
    }
  });
  return out;
}

function bodiesOfStream(file: string, typeName: Api): Body[] {
  return splitRecordIo(readFixture(file)).map((bytes, r) => ({ where: `${file}.${r}`, typeName, bytes }));
}

const protobufBodies: Body[] = [
  ...bodiesOfStream('subscribe-protobuf.stream.bin', 'mesos.v1.scheduler.Event'),
  ...bodiesOfStream('subscribe-jsonbody-protobufaccept.stream.bin', 'mesos.v1.scheduler.Event'),
  {
    where: 'subscribe-protobuf.request-body.bin',
    typeName: 'mesos.v1.scheduler.Call',
    bytes: readFixture('subscribe-protobuf.request-body.bin'),
  },
  ...listFixtures('flow_pb', /\.raw$/).flatMap((file) => bodiesOfRaw(file, 'scheduler')),
  ...listFixtures('executor_pb', /\.raw$/).flatMap((file) => bodiesOfRaw(file, 'executor')),
  ...bodiesOfStream('executor_pb/subscribe.stream.bin', 'mesos.v1.executor.Event'),
  ...listFixtures('cpp_scheduler', /\.raw$/).flatMap((file) => bodiesOfRaw(file, 'scheduler')),
];

const jsonBodies: Body[] = [
  ...['subscribe-json.stream.bin', 'subscribe-json-40s.stream.bin', 'subscribe-json-2agents.stream.bin'].flatMap(
    (file) => bodiesOfStream(file, 'mesos.v1.scheduler.Event'),
  ),
  ...splitRecordIo(
    parseHttpMessages(
      Buffer.concat([
        Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
        readFixture('subscribe-json-rawchunked.stream.bin'),
      ]),
    )[0]!.body,
  ).map((bytes, r) => ({
    where: `subscribe-json-rawchunked.stream.bin.${r}`,
    typeName: 'mesos.v1.scheduler.Event' as const,
    bytes,
  })),
  ...['flow', 'flow2', 'flow2-attempt1'].flatMap((folder) =>
    listFixtures(folder, /\.raw$/).flatMap((file) => bodiesOfRaw(file, 'scheduler')),
  ),
];

function isExpectedFailure(body: Body, error: unknown): boolean {
  return body.where in EXPECTED_UNDECODABLE && isSparkMesosError(error, 'SM_ERR_MESOS_DECODE');
}

describe('recorded Mesos 1.12 traffic', () => {
  it('finds the recorded bodies', () => {
    const count = (list: Body[], typeName: Api) => list.filter((b) => b.typeName === typeName).length;
    expect(count(protobufBodies, 'mesos.v1.scheduler.Event')).toBeGreaterThanOrEqual(30);
    expect(count(protobufBodies, 'mesos.v1.scheduler.Call')).toBeGreaterThanOrEqual(20);
    expect(count(protobufBodies, 'mesos.v1.executor.Event')).toBeGreaterThanOrEqual(16);
    expect(count(protobufBodies, 'mesos.v1.executor.Call')).toBeGreaterThanOrEqual(11);
    expect(count(jsonBodies, 'mesos.v1.scheduler.Event')).toBeGreaterThanOrEqual(20);
    expect(count(jsonBodies, 'mesos.v1.scheduler.Call')).toBeGreaterThanOrEqual(20);
  });

  it('re-encodes every protobuf record to the same bytes', () => {
    const failures: string[] = [];
    let exact = 0;
    for (const body of protobufBodies) {
      const codec = codecOf(body.typeName, 'protobuf');
      try {
        const decoded = codec.decode(body.bytes);
        const again = codec.encode(decoded);
        const inexact = EXPECTED_NOT_BYTE_EXACT[body.where];
        if (Buffer.compare(Buffer.from(again), Buffer.from(body.bytes)) === 0) exact++;
        else if (inexact === undefined) failures.push(`${body.where}: re-encoded bytes differ`);
        else {
          expect(body.bytes.length - again.length, body.where).toBe(inexact.shorterBy);
          expect(codec.decode(again), body.where).toEqual(decoded);
        }
      } catch (error) {
        if (!isExpectedFailure(body, error)) failures.push(`${body.where}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    // All but the garbage body and the records with an unknown field.
    expect(exact).toBe(protobufBodies.length - 1 - Object.keys(EXPECTED_NOT_BYTE_EXACT).length);
  });

  it('decodes every protobuf record exactly as protobufjs decode + toObject does', () => {
    for (const body of protobufBodies) {
      if (body.where in EXPECTED_UNDECODABLE) continue;
      const plan = getTypePlan(body.typeName);
      expect(decodeProtobuf(plan, body.bytes), body.where).toEqual(decodeProtobufReference(plan, body.bytes));
    }
  });

  it('re-encodes every JSON record to a structurally equal JSON value', () => {
    const failures: string[] = [];
    for (const body of jsonBodies) {
      const codec = codecOf(body.typeName, 'json');
      try {
        const decoded = codec.decode(body.bytes);
        const again = JSON.parse(Buffer.from(codec.encode(decoded)).toString('utf8'));
        const original = JSON.parse(Buffer.from(body.bytes).toString('utf8'));
        const equal = JSON.stringify(canonical(again)) === JSON.stringify(canonical(original));
        if (!equal && !(body.where in EXPECTED_JSON_DIFFERENCES)) failures.push(`${body.where}: JSON differs`);
        if (equal && body.where in EXPECTED_JSON_DIFFERENCES) failures.push(`${body.where}: expected a difference`);
      } catch (error) {
        if (!isExpectedFailure(body, error)) failures.push(`${body.where}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('decodes the same value from JSON and protobuf (JSON → protobuf → JSON)', () => {
    for (const body of jsonBodies) {
      if (body.where in EXPECTED_UNDECODABLE) continue;
      const json = codecOf(body.typeName, 'json');
      const pb = codecOf(body.typeName, 'protobuf');
      let decoded: unknown;
      try {
        decoded = json.decode(body.bytes);
        pb.encode(decoded);
      } catch {
        continue; // bodies Mesos rejects (missing type, ...) are covered above
      }
      expect(pb.decode(pb.encode(decoded)), body.where).toEqual(decoded);
    }
  });

  it('matches protoc text decodings of the protobuf streams and request bodies', () => {
    const event = lookupMesosType('mesos.v1.scheduler.Event');
    const codec = codecOf('mesos.v1.scheduler.Event', 'protobuf');
    for (const [stream, decodedText] of [
      ['subscribe-protobuf.stream.bin', 'subscribe-protobuf.stream.decoded.txt'],
      ['subscribe-jsonbody-protobufaccept.stream.bin', 'subscribe-jsonbody-protobufaccept.stream.decoded.txt'],
    ] as const) {
      const records = splitRecordIo(readFixture(stream));
      const texts = splitDecodedText(Buffer.from(readFixture(decodedText)).toString('utf8'));
      expect(texts.length).toBe(records.length);
      texts.forEach(({ length, text }, i) => {
        expect(records[i]!.length).toBe(length);
        const fromText = event.encode(textformat.fromText(event, text)).finish();
        expect(codec.decode(records[i]!), `${stream} record ${i}`).toEqual(codec.decode(fromText));
      });
    }
    const call = lookupMesosType('mesos.v1.scheduler.Call');
    const callCodec = codecOf('mesos.v1.scheduler.Call', 'protobuf');
    const subscribe = textformat.fromText(
      call,
      Buffer.from(readFixture('subscribe-protobuf.request-body.txtpb')).toString(),
    );
    expect(callCodec.decode(readFixture('subscribe-protobuf.request-body.bin'))).toEqual(
      callCodec.decode(call.encode(subscribe).finish()),
    );
    const accept = textformat.fromText(
      call,
      Buffer.from(readFixture('flow_pb/pb-accept-launch.request-body.txtpb')).toString(),
    );
    const acceptBody = parseHttpMessages(readFixture('flow_pb/pb-accept-launch.request.raw'))[0]!.body;
    expect(callCodec.decode(acceptBody)).toEqual(callCodec.decode(call.encode(accept).finish()));
  });

  it('decodes the SUBSCRIBED, OFFERS and UPDATE events as Mesos printed them', () => {
    const codec = createMessageCodec('mesos.v1.scheduler.Event', 'protobuf');
    const events = splitRecordIo(readFixture('subscribe-protobuf.stream.bin')).map((r) => codec.decode(r));
    const subscribed = events[0]!;
    expect(subscribed.type).toBe('SUBSCRIBED');
    expect(subscribed.subscribed?.framework_id.value).toBe('5cdd377a-dae9-4944-98c2-8f0426d20e10-0002');
    expect(subscribed.subscribed?.heartbeat_interval_seconds).toBe(15);
    expect(subscribed.subscribed?.master_info?.port).toBe(5050);
    expect(subscribed.subscribed?.master_info?.capabilities?.map((c) => c.type)).toEqual([
      'AGENT_UPDATE',
      'AGENT_DRAINING',
      'QUOTA_V2',
    ]);
    expect(events[1]).toEqual({ type: 'HEARTBEAT' });
    const offers = events.find((e) => e.type === 'OFFERS')!;
    const resources = offers.offers!.offers![0]!.resources!;
    expect(resources.find((r) => r.name === 'cpus')).toMatchObject({ type: 'SCALAR', role: '*' });
    expect(resources.find((r) => r.name === 'ports')?.ranges?.range?.[0]).toEqual({ begin: 31000, end: 32000 });
    // Absent optional fields stay absent (no defaults filled in).
    expect('failover_timeout' in (subscribed.subscribed ?? {})).toBe(false);

    const pbEvents = bodiesOfRaw('flow_pb/pb-subscribe.response.raw', 'scheduler').map(
      (b) => codec.decode(b.bytes) as SchedulerEvent,
    );
    const running = pbEvents.find((e) => e.update?.status.state === 'TASK_RUNNING')!;
    const uuid = running.update!.status.uuid!;
    expect(uuid).toBeInstanceOf(Uint8Array);
    expect(uuid.length).toBe(16);
    const ack = bodiesOfRaw('flow_pb/pb-ack-TASK_RUNNING.request.raw', 'scheduler')[0]!;
    const ackCall = createMessageCodec('mesos.v1.scheduler.Call', 'protobuf').decode(ack.bytes);
    expect(ackCall.type).toBe('ACKNOWLEDGE');
    expect(ackCall.acknowledge?.uuid).toEqual(uuid);
  });

  it('decodes JSON uuids (base64) to the same 16 bytes the acknowledgement carries', () => {
    const events = bodiesOfRaw('flow/flow-subscribe.response.raw', 'scheduler').map((b) =>
      createMessageCodec('mesos.v1.scheduler.Event', 'json').decode(b.bytes),
    );
    const running = events.find((e) => e.update?.status.state === 'TASK_RUNNING')!;
    const ack = createMessageCodec('mesos.v1.scheduler.Call', 'json').decode(
      bodiesOfRaw('flow/ack-2-TASK_RUNNING.request.raw', 'scheduler')[0]!.bytes,
    );
    expect(running.update!.status.uuid!.length).toBe(16);
    expect(ack.acknowledge?.uuid).toEqual(running.update!.status.uuid);
    const lost = events.find((e) => e.update?.status.state === 'TASK_LOST')!;
    expect(lost.update!.status).toMatchObject({ source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION' });
    expect(lost.update!.status.uuid).toBeUndefined();
  });
});

/**
 * JSON with object keys sorted, for a structural comparison. Empty arrays count as absent (the
 * representation omits empty repeated fields, as Mesos' own JSON writer does): the Python probe
 * sent `"operations": []` (flow/err-accept-unknown-offer) and `"tasks": []`
 * (flow2/failover-B-reconcile-implicit).
 */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter(
          (k) =>
            !(
              Array.isArray((value as Record<string, unknown>)[k]) &&
              (value as unknown[][] & Record<string, unknown[]>)[k]!.length === 0
            ),
        )
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
