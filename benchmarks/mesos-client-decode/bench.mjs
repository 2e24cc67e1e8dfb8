// Decode throughput of a recorded Mesos OFFERS/UPDATE event stream: the @spark-mesos/mesos-client
// scheduler client (protobuf and JSON), its raw decode pipeline, the `mesos-framework` npm package
// and the bare JSON.parse / protobufjs decode floors, side by side in one run; then memory per
// held subscription.
//
//   node bench.mjs [--events N] [--rounds R] [--subscriptions K] [--quick] [--forced-gc]
//
// By default the cases run back to back in one process, as a long-running subscription lives:
// the throughput the targets are about. --forced-gc forces a full collection before each case
// instead: each case then starts cold (V8 drops the hidden classes of the objects the previous
// case left, with the optimised code that depends on them, and regrows its heap).
//
// Not a test: nothing here asserts on timings. Writes results.json beside this file.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  createSchedulerClient,
  decodeRecordIo,
  decodeRecordIoBatches,
  lookupMesosType,
  MESOS_CONTENT_TYPES,
  openMesosStream,
  SCHEDULER_CALL_CODECS,
  SCHEDULER_EVENT_CODECS,
} from '@spark-mesos/mesos-client';
import { createPeer } from './peer.mjs';
import { loadEvents, recordIoBytes } from './stream.mjs';

// undici is what the scheduler client uses (a dependency of @spark-mesos/mesos-client); resolve
// that very copy rather than adding a second one to this package.
const { Agent, request } = createRequire(import.meta.resolve('@spark-mesos/mesos-client'))('undici');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const fullGc = async () => {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await sleep(10);
  }
};

const { values: args } = parseArgs({
  options: {
    events: { type: 'string' },
    rounds: { type: 'string' },
    subscriptions: { type: 'string' },
    quick: { type: 'boolean', default: false },
    // A full collection before each case (the cold view; see above).
    'forced-gc': { type: 'boolean', default: false },
    // The default since 2026-11-24; still accepted.
    'no-forced-gc': { type: 'boolean', default: false },
  },
});
const CONFIG = {
  // Events per stream (SUBSCRIBED + the repeated block), rounded to whole blocks.
  events: Number(args.events ?? process.env.BENCH_EVENTS ?? (args.quick ? 20_000 : 60_000)),
  rounds: Number(args.rounds ?? process.env.BENCH_ROUNDS ?? (args.quick ? 2 : 7)),
  warmupRounds: 2,
  subscriptions: Number(args.subscriptions ?? process.env.BENCH_SUBSCRIPTIONS ?? 50),
  forcedGcBeforeEachCase: args['forced-gc'] && !args['no-forced-gc'],
};

// ---------------------------------------------------------------------------------------------
// The stream
const events = await loadEvents();
const BLOCK = events.json.block.length;
const REPEAT = Math.max(1, Math.round((CONFIG.events - 1) / BLOCK));
const N = 1 + REPEAT * BLOCK;
const streamBytes = (encoding) =>
  recordIoBytes([events[encoding].subscribed]) + REPEAT * recordIoBytes(events[encoding].block);
const BYTES = { json: streamBytes('json'), protobuf: streamBytes('protobuf') };
const blockMix = {};
for (const type of events.blockTypes) blockMix[type] = (blockMix[type] ?? 0) + 1;

// ---------------------------------------------------------------------------------------------
// The replay server, in a child process (see server-child.mjs)
const child = fork(new URL('./server-child.mjs', import.meta.url), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
await new Promise((resolve, reject) => {
  child.once('message', resolve);
  child.once('exit', (code) => reject(new Error(`replay server child exited (${code})`)));
});
let nextId = 0;
function ask(message) {
  nextId += 1;
  const id = nextId;
  return new Promise((resolve, reject) => {
    const onMessage = (reply) => {
      if (reply.id !== id) return;
      child.off('message', onMessage);
      if (reply.error) reject(new Error(reply.error));
      else resolve(reply);
    };
    child.on('message', onMessage);
    child.send({ id, ...message });
  });
}
const problems = [];
async function withServer(spec, fn) {
  const { port } = await ask({ op: 'start', ...spec });
  try {
    return await fn(port);
  } finally {
    const { mismatches } = await ask({ op: 'stop' });
    for (const mismatch of mismatches) problems.push(`replay server: ${mismatch}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Cases. Each returns { events, ms } for one pass over the N-event stream.
const SUBSCRIBE_BODY = {
  json: SCHEDULER_CALL_CODECS.json.encode({
    type: 'SUBSCRIBE',
    subscribe: { framework_info: { user: 'root', name: 'bench-spark-mesos' } },
  }),
  protobuf: SCHEDULER_CALL_CODECS.protobuf.encode({
    type: 'SUBSCRIBE',
    subscribe: { framework_info: { user: 'root', name: 'bench-spark-mesos' } },
  }),
};
let sink = 0; // keeps the decoded results observable

function subscribeRequest(port, encoding, dispatcher) {
  return request(`http://127.0.0.1:${port}/api/v1/scheduler`, {
    method: 'POST',
    headers: { 'content-type': MESOS_CONTENT_TYPES[encoding], accept: MESOS_CONTENT_TYPES[encoding] },
    body: SUBSCRIBE_BODY[encoding],
    dispatcher,
  });
}

const FRAMEWORK_INFO = { user: 'root', name: 'bench-spark-mesos' };

/**
 * The real scheduler client (createSchedulerClient) subscribed to the replay server: its own undici
 * Agent for calls and its direct socket reader for the stream (its defaults), SUBSCRIBE, heartbeat
 * watchdog, event dispatch; no acknowledgements (the stream's updates
 * carry uuids: each would be an HTTP call, application work rather than decoding) and no
 * reconciliation (one RECONCILE call the replay server does not script). Events are counted by an
 * `on('event')` listener, or by an `events()` iterator with `consume: 'iterator'`; the clock stops
 * at the N-th event handled.
 */
function schedulerClient(encoding, consume = 'listener') {
  return () =>
    withServer({ kind: 'stream', encoding, repeat: REPEAT }, async (port) => {
      let count = 0;
      // A warning means the subscription was lost (it would re-subscribe): end the pass there.
      // Except the replay server ending the stream (SM_ERR_SUBSCRIPTION_ENDED): it does so right
      // after the last event, and its last chunk may come in the same socket read as the last
      // events, so the client reports it while an events() iterator still holds events to hand out.
      let lost = () => {};
      const warnings = [];
      const logger = {
        warn: (message, fields) => {
          if (count >= N || fields?.code === 'SM_ERR_SUBSCRIPTION_ENDED') return;
          warnings.push(message);
          lost();
        },
        info: () => {},
        debug: () => {},
      };
      const start = performance.now();
      const client = createSchedulerClient({
        master: `http://127.0.0.1:${port}`,
        frameworkInfo: FRAMEWORK_INFO,
        encoding,
        autoAcknowledge: false,
        reconcile: { enabled: false },
        logger,
      });
      let ms;
      try {
        if (consume === 'iterator') {
          for await (const event of client.events()) {
            sink += event.type.length;
            count += 1;
            if (count === N || warnings.length > 0) break;
          }
          ms = performance.now() - start;
        } else {
          ms = await new Promise((resolve, reject) => {
            lost = () => resolve(performance.now() - start);
            client.on('event', (event) => {
              sink += event.type.length;
              count += 1;
              if (count === N) resolve(performance.now() - start);
            });
            client.on('error', reject);
            client.start().catch(reject);
          });
        }
      } finally {
        await client.close();
      }
      for (const warning of warnings) problems.push(`scheduler client (${encoding}): ${warning}`);
      return { events: count, ms };
    });
}

/** Raw pipeline: undici request → decodeRecordIo (an await per record) → codec.decode per record. */
function pipelinePerRecord(encoding) {
  const codec = SCHEDULER_EVENT_CODECS[encoding];
  return () =>
    withServer({ kind: 'stream', encoding, repeat: REPEAT }, async (port) => {
      const dispatcher = new Agent();
      try {
        const start = performance.now();
        const { statusCode, headers, body } = await subscribeRequest(port, encoding, dispatcher);
        if (statusCode !== 200 || !headers['mesos-stream-id']) throw new Error(`SUBSCRIBE answered ${statusCode}`);
        let count = 0;
        for await (const record of decodeRecordIo(body)) {
          const event = codec.decode(record);
          sink += event.type.length;
          count += 1;
        }
        return { events: count, ms: performance.now() - start };
      } finally {
        await dispatcher.close();
      }
    });
}

/** Raw pipeline: undici request → decodeRecordIoBatches (an await per chunk) → codec.decode per record. */
function pipelineBatches(encoding) {
  const codec = SCHEDULER_EVENT_CODECS[encoding];
  return () =>
    withServer({ kind: 'stream', encoding, repeat: REPEAT }, async (port) => {
      const dispatcher = new Agent();
      try {
        const start = performance.now();
        const { statusCode, headers, body } = await subscribeRequest(port, encoding, dispatcher);
        if (statusCode !== 200 || !headers['mesos-stream-id']) throw new Error(`SUBSCRIBE answered ${statusCode}`);
        let count = 0;
        for await (const batch of decodeRecordIoBatches(body)) {
          for (let i = 0; i < batch.length; i += 1) {
            sink += codec.decode(batch[i]).type.length;
            count += 1;
          }
        }
        return { events: count, ms: performance.now() - start };
      } finally {
        await dispatcher.close();
      }
    });
}

/** mesos-framework's Scheduler: its node:http subscription and parser, counting handled events. */
function mesosFramework() {
  return withServer({ kind: 'stream', encoding: 'json', repeat: REPEAT }, (port) => {
    return new Promise((resolve, reject) => {
      let count = 0;
      let start = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        const ms = performance.now() - start;
        peer.close();
        resolve({ events: count, ms });
      };
      const peer = createPeer(port, {
        onHandled: () => {
          count += 1;
          if (count === N) finish();
        },
        onClosed: finish,
        onError: (message) => {
          problems.push(`mesos-framework: ${message.slice(0, 200)}`);
          if (!done && count === 0) {
            done = true;
            peer.close();
            reject(new Error(`mesos-framework: ${message}`));
          }
        },
      });
      start = performance.now();
      peer.subscribe();
    });
  });
}

/** The floor: JSON.parse of each pre-split record (bytes → string → object). */
async function floorJsonParse() {
  const { subscribed, block } = events.json;
  const start = performance.now();
  let count = 0;
  sink += JSON.parse(subscribed.toString('utf8')).type.length;
  count += 1;
  for (let r = 0; r < REPEAT; r += 1) {
    for (let i = 0; i < block.length; i += 1) {
      sink += JSON.parse(block[i].toString('utf8')).type.length;
      count += 1;
    }
  }
  return { events: count, ms: performance.now() - start };
}

/** The floor: protobufjs reflection `Type.decode` of each pre-split record (no toObject). */
const EventType = lookupMesosType('mesos.v1.scheduler.Event');
async function floorProtobufjs() {
  const { subscribed, block } = events.protobuf;
  const start = performance.now();
  let count = 0;
  sink += EventType.decode(subscribed).type;
  count += 1;
  for (let r = 0; r < REPEAT; r += 1) {
    for (let i = 0; i < block.length; i += 1) {
      sink += EventType.decode(block[i]).type;
      count += 1;
    }
  }
  return { events: count, ms: performance.now() - start };
}

/** Breakdown: our codec alone on the pre-split records (what the pipeline adds to the floor). */
function codecOnly(encoding) {
  const codec = SCHEDULER_EVENT_CODECS[encoding];
  return async () => {
    const { subscribed, block } = events[encoding];
    const start = performance.now();
    let count = 0;
    sink += codec.decode(subscribed).type.length;
    count += 1;
    for (let r = 0; r < REPEAT; r += 1) {
      for (let i = 0; i < block.length; i += 1) {
        sink += codec.decode(block[i]).type.length;
        count += 1;
      }
    }
    return { events: count, ms: performance.now() - start };
  };
}

/** Breakdown: the HTTP subscription and RecordIO framing alone (undici → decodeRecordIoBatches, no decode). */
function transportOnly(encoding) {
  return () =>
    withServer({ kind: 'stream', encoding, repeat: REPEAT }, async (port) => {
      const dispatcher = new Agent();
      try {
        const start = performance.now();
        const { statusCode, body } = await subscribeRequest(port, encoding, dispatcher);
        if (statusCode !== 200) throw new Error(`SUBSCRIBE answered ${statusCode}`);
        let count = 0;
        for await (const batch of decodeRecordIoBatches(body)) {
          for (let i = 0; i < batch.length; i += 1) sink += batch[i].length;
          count += batch.length;
        }
        return { events: count, ms: performance.now() - start };
      } finally {
        await dispatcher.close();
      }
    });
}

/** The direct socket reader the scheduler client uses for its stream (openMesosStream `direct`). */
function openDirect(port, encoding) {
  return openMesosStream({
    url: `http://127.0.0.1:${port}/api/v1/scheduler`,
    body: SUBSCRIBE_BODY[encoding],
    contentType: MESOS_CONTENT_TYPES[encoding],
    callType: 'SUBSCRIBE',
    direct: true,
  });
}

/** Raw pipeline over the direct socket reader: openMesosStream({ direct }) batches → codec.decode per record. */
function pipelineDirect(encoding) {
  const codec = SCHEDULER_EVENT_CODECS[encoding];
  return () =>
    withServer({ kind: 'stream', encoding, repeat: REPEAT }, async (port) => {
      const start = performance.now();
      const stream = await openDirect(port, encoding);
      if (stream.status !== 200 || !stream.streamId) throw new Error(`SUBSCRIBE answered ${stream.status}`);
      let count = 0;
      for await (const batch of stream.batches) {
        for (let i = 0; i < batch.length; i += 1) {
          sink += codec.decode(batch[i]).type.length;
          count += 1;
        }
      }
      return { events: count, ms: performance.now() - start };
    });
}

/** Breakdown: the direct socket reader alone (HTTP de-chunking and RecordIO in one pass, no decode). */
function transportDirect(encoding) {
  return () =>
    withServer({ kind: 'stream', encoding, repeat: REPEAT }, async (port) => {
      const start = performance.now();
      const stream = await openDirect(port, encoding);
      if (stream.status !== 200) throw new Error(`SUBSCRIBE answered ${stream.status}`);
      let count = 0;
      for await (const batch of stream.batches) {
        for (let i = 0; i < batch.length; i += 1) sink += batch[i].length;
        count += batch.length;
      }
      return { events: count, ms: performance.now() - start };
    });
}

const PROTOBUF_FLOOR = 'floor protobufjs decode';
const JSON_FLOOR = 'floor JSON.parse';
const CASES = [
  {
    name: 'spark-mesos scheduler client (protobuf)',
    encoding: 'protobuf',
    floor: PROTOBUF_FLOOR,
    run: schedulerClient('protobuf'),
  },
  { name: 'spark-mesos scheduler client (json)', encoding: 'json', floor: JSON_FLOOR, run: schedulerClient('json') },
  { name: 'mesos-framework (json)', encoding: 'json', floor: JSON_FLOOR, run: mesosFramework },
  { name: JSON_FLOOR, encoding: 'json', run: floorJsonParse },
  { name: PROTOBUF_FLOOR, encoding: 'protobuf', run: floorProtobufjs },
  // Breakdown of the spark-mesos path (not compared to targets).
  {
    name: 'scheduler client, events() iterator (protobuf)',
    encoding: 'protobuf',
    floor: PROTOBUF_FLOOR,
    breakdown: true,
    run: schedulerClient('protobuf', 'iterator'),
  },
  {
    name: 'raw pipeline, direct socket reader (protobuf)',
    encoding: 'protobuf',
    floor: PROTOBUF_FLOOR,
    breakdown: true,
    run: pipelineDirect('protobuf'),
  },
  {
    name: 'raw pipeline, direct socket reader (json)',
    encoding: 'json',
    floor: JSON_FLOOR,
    breakdown: true,
    run: pipelineDirect('json'),
  },
  {
    name: 'raw pipeline, decodeRecordIoBatches (protobuf)',
    encoding: 'protobuf',
    floor: PROTOBUF_FLOOR,
    breakdown: true,
    run: pipelineBatches('protobuf'),
  },
  {
    name: 'raw pipeline, decodeRecordIoBatches (json)',
    encoding: 'json',
    floor: JSON_FLOOR,
    breakdown: true,
    run: pipelineBatches('json'),
  },
  {
    name: 'raw pipeline, decodeRecordIo per record (protobuf)',
    encoding: 'protobuf',
    floor: PROTOBUF_FLOOR,
    breakdown: true,
    run: pipelinePerRecord('protobuf'),
  },
  {
    name: 'raw pipeline, decodeRecordIo per record (json)',
    encoding: 'json',
    floor: JSON_FLOOR,
    breakdown: true,
    run: pipelinePerRecord('json'),
  },
  {
    name: 'codec only (protobuf)',
    encoding: 'protobuf',
    floor: PROTOBUF_FLOOR,
    breakdown: true,
    run: codecOnly('protobuf'),
  },
  { name: 'codec only (json)', encoding: 'json', floor: JSON_FLOOR, breakdown: true, run: codecOnly('json') },
  {
    name: 'HTTP + RecordIO batches only (protobuf)',
    encoding: 'protobuf',
    breakdown: true,
    run: transportOnly('protobuf'),
  },
  { name: 'HTTP + RecordIO batches only (json)', encoding: 'json', breakdown: true, run: transportOnly('json') },
  {
    name: 'direct socket reader only (protobuf)',
    encoding: 'protobuf',
    breakdown: true,
    run: transportDirect('protobuf'),
  },
  { name: 'direct socket reader only (json)', encoding: 'json', breakdown: true, run: transportDirect('json') },
];
const PEER = 'mesos-framework (json)';

// ---------------------------------------------------------------------------------------------
// Throughput: warm-up, then rounds; the case order rotates each round.
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const runs = Object.fromEntries(CASES.map((c) => [c.name, []]));
const totalRounds = CONFIG.warmupRounds + CONFIG.rounds;
const began = performance.now();
console.log(
  `mesos-client decode benchmark: ${N} events per stream (SUBSCRIBED + ${REPEAT} × ${BLOCK} recorded events), ` +
    `${(BYTES.json / 1e6).toFixed(1)} MB JSON / ${(BYTES.protobuf / 1e6).toFixed(1)} MB protobuf; ` +
    `${CONFIG.warmupRounds} warm-up + ${CONFIG.rounds} rounds`,
);
for (let round = 0; round < totalRounds; round += 1) {
  const warmup = round < CONFIG.warmupRounds;
  const order = CASES.map((_, i) => CASES[(i + round) % CASES.length]);
  const line = [];
  for (const c of order) {
    if (CONFIG.forcedGcBeforeEachCase) await fullGc();
    const cpuBefore = process.cpuUsage();
    const { events: handled, ms } = await c.run();
    const cpu = process.cpuUsage(cpuBefore);
    // CPU time of this process (the replay server is another one): unlike wall time, it does not
    // count the time the machine gave to other processes, so it is steadier on a shared machine.
    const cpuMs = (cpu.user + cpu.system) / 1000;
    if (!warmup) runs[c.name].push({ events: handled, ms, cpuMs });
    line.push(`${c.name} ${Math.round((handled / ms) * 1000).toLocaleString('en-US')}/s`);
  }
  console.error(`  ${warmup ? 'warm-up' : `round ${round - CONFIG.warmupRounds + 1}`}: ${line.join(', ')}`);
}

const results = {};
for (const c of CASES) {
  const rates = runs[c.name].map((r) => (r.events / r.ms) * 1000);
  const eventsPerSecond = median(rates);
  const handled = runs[c.name].map((r) => r.events);
  results[c.name] = {
    encoding: c.encoding,
    eventsPerSecond,
    // MB/s of the stream's RecordIO body (de-chunked), scaled by the events actually handled.
    mbPerSecond: (eventsPerSecond * (BYTES[c.encoding] / N)) / 1e6,
    minEventsPerSecond: Math.min(...rates),
    maxEventsPerSecond: Math.max(...rates),
    eventsHandled: { expected: N, min: Math.min(...handled), max: Math.max(...handled) },
    cpuMicrosecondsPerEvent: median(runs[c.name].map((r) => (r.cpuMs * 1000) / r.events)),
    rounds: runs[c.name].map((r) => ({
      events: r.events,
      ms: Number(r.ms.toFixed(2)),
      cpuMs: Number(r.cpuMs.toFixed(2)),
    })),
  };
}
for (const c of CASES) {
  const r = results[c.name];
  // Time per event relative to the floor of the same encoding (1 = as fast as the floor).
  if (c.floor) r.timesFloor = results[c.floor].eventsPerSecond / r.eventsPerSecond;
  // The same in CPU time per event.
  if (c.floor) r.cpuTimesFloor = r.cpuMicrosecondsPerEvent / results[c.floor].cpuMicrosecondsPerEvent;
  // Throughput relative to the peer (mesos-framework on the same JSON stream).
  r.timesPeer = r.eventsPerSecond / results[PEER].eventsPerSecond;
}

// ---------------------------------------------------------------------------------------------
// Memory per subscription: K subscriptions that received SUBSCRIBED (and the HEARTBEAT after it)
// and are held open, heap + external after a forced GC, minus the same before opening them.
const heapAndExternal = () => {
  const m = process.memoryUsage();
  return { heapExternal: m.heapUsed + m.external, rss: m.rss };
};

async function openSparkMesos(port, encoding, dispatcher) {
  const codec = SCHEDULER_EVENT_CODECS[encoding];
  const { body } = await subscribeRequest(port, encoding, dispatcher);
  const iterator = decodeRecordIo(body)[Symbol.asyncIterator]();
  const subscribed = codec.decode((await iterator.next()).value); // SUBSCRIBED, kept as a client would
  const heartbeat = codec.decode((await iterator.next()).value);
  if (subscribed.type !== 'SUBSCRIBED' || heartbeat.type !== 'HEARTBEAT') throw new Error('unexpected stream start');
  const pending = iterator.next(); // waiting for the next event, as a live subscription does
  pending.catch(() => {});
  return { subscribed, pending, close: () => body.destroy() };
}

/** A scheduler client (its own call Agent and stream socket, as by default) that received SUBSCRIBED and HEARTBEAT. */
function openSchedulerClient(port, encoding) {
  return new Promise((resolve, reject) => {
    const client = createSchedulerClient({
      master: `http://127.0.0.1:${port}`,
      frameworkInfo: FRAMEWORK_INFO,
      encoding,
      autoAcknowledge: false,
      reconcile: { enabled: false },
      logger: { warn: (message) => reject(new Error(`scheduler client: ${message}`)), info: () => {}, debug: () => {} },
    });
    let handled = 0;
    client.on('event', () => {
      handled += 1;
      if (handled === 2) resolve({ client, close: () => void client.close() }); // SUBSCRIBED + HEARTBEAT
    });
    client.start().catch(reject);
  });
}

function openPeer(port) {
  return new Promise((resolve, reject) => {
    let handled = 0;
    const peer = createPeer(port, {
      onHandled: () => {
        handled += 1;
        if (handled === 2) resolve(peer); // SUBSCRIBED + HEARTBEAT
      },
      onClosed: () => reject(new Error('mesos-framework: stream closed early')),
      onError: (message) => reject(new Error(`mesos-framework: ${message}`)),
    });
    peer.subscribe();
  });
}

async function measureMemory(name, encoding, open) {
  const K = CONFIG.subscriptions;
  return withServer({ kind: 'hold', encoding, times: K + 1 }, async (port) => {
    const ctx = { port, dispatcher: new Agent() };
    // One subscription opened and closed first, so lazily built state (codecs, pools) is in the baseline.
    const warm = await open(ctx);
    warm.close();
    await sleep(50);
    await fullGc();
    const before = heapAndExternal();
    const held = [];
    for (let i = 0; i < K; i += 1) held.push(open(ctx));
    const subscriptions = await Promise.all(held);
    await sleep(50);
    await fullGc();
    const after = heapAndExternal();
    for (const s of subscriptions) s.close();
    await ctx.dispatcher.destroy();
    return {
      name,
      subscriptions: K,
      bytesPerSubscription: (after.heapExternal - before.heapExternal) / K,
      rssBytesPerSubscription: (after.rss - before.rss) / K,
    };
  });
}

const memory = [];
for (const encoding of ['protobuf', 'json']) {
  memory.push(
    await measureMemory(`spark-mesos scheduler client (${encoding})`, encoding, (ctx) =>
      openSchedulerClient(ctx.port, encoding),
    ),
  );
}
for (const encoding of ['protobuf', 'json']) {
  memory.push(
    await measureMemory(`raw pipeline (${encoding})`, encoding, (ctx) =>
      openSparkMesos(ctx.port, encoding, ctx.dispatcher),
    ),
  );
}
memory.push(await measureMemory(PEER, 'json', (ctx) => openPeer(ctx.port)));

child.send({ op: 'exit' });

// ---------------------------------------------------------------------------------------------
// Report
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const x = (n) => (n === undefined ? '' : `${n.toFixed(2)}×`);
const table = (header, rows) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (row) =>
    `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`);
  for (const row of rows) console.log(line(row));
};
const usPerEvent = (r) => (1e6 / r.eventsPerSecond).toFixed(2);
console.log('');
table(
  [
    'case',
    'events/s',
    'MB/s',
    'µs/event',
    'time vs floor',
    'CPU µs/event',
    'CPU vs floor',
    'vs peer',
    'range events/s',
  ],
  CASES.filter((c) => !c.breakdown).map((c) => {
    const r = results[c.name];
    return [
      c.name,
      fmt(r.eventsPerSecond),
      r.mbPerSecond.toFixed(1),
      usPerEvent(r),
      x(r.timesFloor),
      r.cpuMicrosecondsPerEvent.toFixed(2),
      x(r.cpuTimesFloor),
      c.name === PEER ? '1.00×' : x(r.timesPeer),
      `${fmt(r.minEventsPerSecond)}–${fmt(r.maxEventsPerSecond)}`,
    ];
  }),
);
console.log('');
console.log('Breakdown of the spark-mesos path (same stream, same rounds):');
table(
  ['part', 'events/s', 'MB/s', 'µs/event', 'time vs floor', 'CPU µs/event', 'CPU vs floor'],
  CASES.filter((c) => c.breakdown).map((c) => {
    const r = results[c.name];
    return [
      c.name,
      fmt(r.eventsPerSecond),
      r.mbPerSecond.toFixed(1),
      usPerEvent(r),
      x(r.timesFloor),
      r.cpuMicrosecondsPerEvent.toFixed(2),
      x(r.cpuTimesFloor),
    ];
  }),
);
console.log('');
console.log(`| memory per held subscription (K=${CONFIG.subscriptions}) | heap+external |`);
console.log('| --- | ---: |');
for (const m of memory) console.log(`| ${m.name} | ${(m.bytesPerSubscription / 1024).toFixed(1)} KiB |`);
const peerHandled = results[PEER].eventsHandled;
if (peerHandled.min !== N) {
  console.log(
    `\nNote: mesos-framework handled ${fmt(peerHandled.min)}–${fmt(peerHandled.max)} of ${fmt(N)} events per run ` +
      '(its parser drops an event when a TCP read ends right after a length prefix); rates use events handled.',
  );
}
const uniqueProblems = [...new Set(problems)];
if (uniqueProblems.length > 0) {
  console.log(`\nProblems reported during the run (${problems.length}):`);
  for (const p of uniqueProblems.slice(0, 10)) console.log(`  ${p}`);
}

const elapsed = (performance.now() - began) / 1000;
const output = {
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  platform: `${os.platform()} ${os.arch()}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  config: { ...CONFIG, eventsPerStream: N, repeat: REPEAT, blockEvents: BLOCK, blockMix },
  streamBytes: BYTES,
  units: {
    eventsPerSecond: 'median over rounds of events handled / wall time of one pass',
    mbPerSecond: 'RecordIO body bytes (de-chunked, length prefixes included) / s, MB = 10^6 bytes',
    timesFloor: 'floor events/s ÷ case events/s, same encoding (target ≤ 1.5)',
    cpuMicrosecondsPerEvent: 'median over rounds of CPU time (user + system) of the bench process / events handled',
    cpuTimesFloor: 'case CPU µs/event ÷ floor CPU µs/event, same encoding',
    timesPeer: `case events/s ÷ ${PEER} events/s (target ≥ 3)`,
    bytesPerSubscription: 'Δ(heapUsed + external) after forced GC ÷ subscriptions',
  },
  results,
  memory,
  problems: uniqueProblems,
  elapsedSeconds: Number(elapsed.toFixed(1)),
  checksum: sink,
};
const resultsPath = new URL('./results.json', import.meta.url);
writeFileSync(resultsPath, `${JSON.stringify(output, null, 2)}\n`);
console.log(`\n${elapsed.toFixed(1)} s; results in ${resultsPath.pathname}`);
process.exit(0);
