// Builds the benchmark's event stream from recorded Mesos 1.12 traffic, in JSON and in protobuf,
// and the replay-server responses that serve it. Used by bench.mjs and by server-child.mjs (the
// replay server runs in a child process, see there).
import { fileURLToPath } from 'node:url';
import { decodeRecordIo, encodeRecordIo, SCHEDULER_EVENT_CODECS } from '@spark-mesos/mesos-client';
import { encodeChunk, LAST_CHUNK, loadRecordedExchange } from '@spark-mesos/mesos-client/testing';

export const FIXTURES = fileURLToPath(new URL('../../packages/mesos-client/src/__fixtures__/', import.meta.url));

/**
 * Where the events come from (all JSON, recorded from a real master):
 * - SUBSCRIBED: the first record of flow/flow-subscribe;
 * - the repeated block: every other record of flow/flow-subscribe (HEARTBEAT, OFFERS, UPDATE
 *   TASK_STARTING/RUNNING/FINISHED/LOST), of flow2/failover-B-resubscribe (HEARTBEATs, OFFERS,
 *   UPDATE TASK_KILLING/KILLED/UNKNOWN) and the two-offer OFFERS of subscribe-json-2agents.
 * The protobuf stream is the same events re-encoded with SCHEDULER_EVENT_CODECS.protobuf: the
 * protobuf recordings (flow_pb, subscribe-protobuf) hold only 4 distinct non-SUBSCRIBED events.
 */
const SOURCES = [
  { dir: 'flow', name: 'flow-subscribe' },
  { dir: 'flow2', name: 'failover-B-resubscribe' },
  { dir: '.', name: 'subscribe-json-2agents' },
];

async function recordsOf(dir, name) {
  const exchange = await loadRecordedExchange(`${FIXTURES}${dir}`, name);
  const records = [];
  for await (const record of decodeRecordIo([exchange.response.decodedBody])) records.push(Buffer.from(record));
  return { exchange, records };
}

const concat = (parts) => Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));

/**
 * The recorded events, in both encodings:
 * `{ json|protobuf: { subscribed: Buffer, block: Buffer[], head: Buffer } , blockTypes: string[] }`.
 * `head` is the recorded HTTP response head of a SUBSCRIBE in that encoding (flow/flow-subscribe
 * for JSON, flow_pb/pb-subscribe for protobuf), byte for byte.
 */
export async function loadEvents() {
  let subscribedJson;
  const blockJson = [];
  for (const { dir, name } of SOURCES) {
    const { records } = await recordsOf(dir, name);
    for (const record of records) {
      const type = SCHEDULER_EVENT_CODECS.json.decode(record).type;
      if (type === 'SUBSCRIBED') subscribedJson ??= record;
      else if (type === 'OFFERS' || type === 'UPDATE' || type === 'HEARTBEAT') blockJson.push(record);
    }
  }
  const toProtobuf = (record) =>
    Buffer.from(SCHEDULER_EVENT_CODECS.protobuf.encode(SCHEDULER_EVENT_CODECS.json.decode(record)));
  const jsonHead = (await loadRecordedExchange(`${FIXTURES}flow`, 'flow-subscribe')).response.head;
  const protobufHead = (await loadRecordedExchange(`${FIXTURES}flow_pb`, 'pb-subscribe')).response.head;
  return {
    json: { subscribed: subscribedJson, block: blockJson, head: Buffer.from(jsonHead) },
    protobuf: {
      subscribed: toProtobuf(subscribedJson),
      block: blockJson.map(toProtobuf),
      head: Buffer.from(protobufHead),
    },
    blockTypes: blockJson.map((record) => SCHEDULER_EVENT_CODECS.json.decode(record).type),
  };
}

/** One RecordIO record framed as one HTTP chunk, as the Mesos master sends it. */
const chunkOf = (record) => Buffer.from(encodeChunk(encodeRecordIo(record)));

/** Bytes of the de-chunked body (RecordIO: length prefixes + records) of a list of records. */
export const recordIoBytes = (records) => records.reduce((sum, r) => sum + String(r.length).length + 1 + r.length, 0);

/**
 * The recorded response serving SUBSCRIBED once, then the block `repeat` times, then the final
 * chunk (or nothing, with `hold`), at full speed.
 *
 * The replay server's `repeat` re-sends all the data chunks of a response, and the stream must
 * start with a single SUBSCRIBED: so the SUBSCRIBED chunk is appended to the response `head`
 * (written once, before the repeated data). The bytes on the wire are exactly those of a Mesos
 * stream: recorded status line and headers, one RecordIO record per HTTP chunk.
 */
export function streamStep(events, encoding, { repeat, hold = false, times = 1 }) {
  const { subscribed, block, head } = events[encoding];
  const data = concat(block.map(chunkOf));
  const body = hold ? data : Buffer.concat([data, Buffer.from(LAST_CHUNK)]);
  const response = {
    status: 200,
    statusText: 'OK',
    headers: [],
    head: Buffer.concat([head, chunkOf(subscribed)]),
    body,
    chunked: true,
    decodedBody: Buffer.alloc(0),
    terminated: !hold,
  };
  return {
    match: { method: 'POST', path: '/api/v1/scheduler', callType: 'SUBSCRIBE' },
    respond: response,
    pacing: 'full-speed',
    repeat,
    hold,
    times,
  };
}

/** A response that sends SUBSCRIBED (and the recorded HEARTBEAT after it) and holds the stream open. */
export function subscribedHoldStep(events, encoding, times) {
  const { subscribed, block, head } = events[encoding];
  const heartbeat = block[events.blockTypes.indexOf('HEARTBEAT')];
  return {
    match: { method: 'POST', path: '/api/v1/scheduler', callType: 'SUBSCRIBE' },
    respond: {
      status: 200,
      statusText: 'OK',
      headers: [],
      head,
      body: Buffer.concat([chunkOf(subscribed), chunkOf(heartbeat)]),
      chunked: true,
      decodedBody: Buffer.alloc(0),
      terminated: false,
    },
    pacing: 'full-speed',
    hold: true,
    times,
  };
}
