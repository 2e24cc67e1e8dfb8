// Side-by-side A/B of two builds of @spark-mesos/mesos-client on the same replay server: the real
// scheduler client (listener) and the raw batch pipeline, alternating A and B each round so that
// the machine's noise falls on both alike. For judging one change against the previous commit:
//
//   # keep the previous build somewhere node resolves its dependencies from, e.g.
//   cp -r packages/mesos-client/dist packages/mesos-client/.tmp/ab-base   # before the change
//   pnpm --filter @spark-mesos/mesos-client build                       # after it
//   node ab.mjs --a ../../packages/mesos-client/.tmp/ab-base/index.js \
//               --b ../../packages/mesos-client/dist/index.js [--encoding json] [--rounds 12] [--no-forced-gc]
//
// Prints the median µs/event of each build and case, and B's time as a share of A's. Not a test.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadEvents } from './stream.mjs';

const { values: args } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    encoding: { type: 'string', default: 'json' },
    rounds: { type: 'string', default: '12' },
    events: { type: 'string', default: '60000' },
    cases: { type: 'string', default: 'client,pipeline' },
    // Steady state, as bench.mjs --no-forced-gc: no full GC before each case.
    'no-forced-gc': { type: 'boolean', default: false },
  },
});
if (!args.a || !args.b) throw new Error('usage: node ab.mjs --a <build A index.js> --b <build B index.js>');
const load = (file) => import(pathToFileURL(path.resolve(file)).href);
const builds = { A: await load(args.a), B: await load(args.b) };
const { Agent, request } = createRequire(import.meta.resolve('@spark-mesos/mesos-client'))('undici');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const encoding = args.encoding;
const rounds = Number(args.rounds);
const events = await loadEvents();
const BLOCK = events.json.block.length;
const REPEAT = Math.max(1, Math.round((Number(args.events) - 1) / BLOCK));
const N = 1 + REPEAT * BLOCK;

const child = fork(new URL('./server-child.mjs', import.meta.url), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
await new Promise((resolve) => child.once('message', resolve));
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
async function withServer(fn) {
  const { port } = await ask({ op: 'start', kind: 'stream', encoding, repeat: REPEAT });
  try {
    return await fn(port);
  } finally {
    await ask({ op: 'stop' });
  }
}
let sink = 0;

function client(build) {
  return withServer(async (port) => {
    const start = performance.now();
    const instance = build.createSchedulerClient({
      master: `http://127.0.0.1:${port}`,
      frameworkInfo: { user: 'root', name: 'bench-ab' },
      encoding,
      autoAcknowledge: false,
      reconcile: { enabled: false },
      logger: { warn: () => {}, info: () => {}, debug: () => {} },
    });
    let count = 0;
    try {
      return await new Promise((resolve, reject) => {
        instance.on('event', (event) => {
          sink += event.type.length;
          count += 1;
          if (count === N) resolve((performance.now() - start) / N);
        });
        instance.on('error', reject);
        instance.start().catch(reject);
      });
    } finally {
      await instance.close();
    }
  });
}

function pipeline(build) {
  const codec = build.SCHEDULER_EVENT_CODECS[encoding];
  const body = build.SCHEDULER_CALL_CODECS[encoding].encode({
    type: 'SUBSCRIBE',
    subscribe: { framework_info: { user: 'root', name: 'bench-ab' } },
  });
  return withServer(async (port) => {
    const dispatcher = new Agent();
    try {
      const start = performance.now();
      const response = await request(`http://127.0.0.1:${port}/api/v1/scheduler`, {
        method: 'POST',
        headers: {
          'content-type': build.MESOS_CONTENT_TYPES[encoding],
          accept: build.MESOS_CONTENT_TYPES[encoding],
        },
        body,
        dispatcher,
      });
      let count = 0;
      for await (const batch of build.decodeRecordIoBatches(response.body)) {
        for (let i = 0; i < batch.length; i += 1) {
          sink += codec.decode(batch[i]).type.length;
          count += 1;
        }
      }
      return (performance.now() - start) / count;
    } finally {
      await dispatcher.close();
    }
  });
}

const CASES = { client, pipeline };
const selected = args.cases.split(',');
const results = {};
for (let round = -2; round < rounds; round += 1) {
  const order = round % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
  const line = [];
  for (const name of selected) {
    for (const which of order) {
      for (let i = 0; i < 3; i += 1) {
        if (!args['no-forced-gc']) gc();
        await sleep(10);
      }
      const cpuBefore = process.cpuUsage();
      const microseconds = (await CASES[name](builds[which])) * 1000;
      const cpu = process.cpuUsage(cpuBefore);
      // CPU time of this process (user + system) per event: the server is another process, and
      // time the machine gives to other work does not count, unlike wall time.
      const cpuMicroseconds = (cpu.user + cpu.system) / N;
      if (round >= 0) {
        results[`${name} ${which}`] ??= [];
        results[`${name} ${which}`].push(microseconds);
        results[`${name} cpu ${which}`] ??= [];
        results[`${name} cpu ${which}`].push(cpuMicroseconds);
      }
      line.push(`${name} ${which} ${microseconds.toFixed(2)} (cpu ${cpuMicroseconds.toFixed(2)})`);
    }
  }
  console.error(`${round < 0 ? 'warm-up' : `round ${round + 1}`}: ${line.join(', ')}`);
}
const median = (values) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
console.log(`${encoding}, ${N} events, ${rounds} rounds (median µs/event, wall time; then CPU time of this process):`);
for (const name of [...selected, ...selected.map((name) => `${name} cpu`)]) {
  const a = median(results[`${name} A`]);
  const b = median(results[`${name} B`]);
  // Per-round pairing: B's time over A's in the same round, then the median of those.
  const paired = median(results[`${name} A`].map((x, i) => results[`${name} B`][i] / x));
  console.log(
    `  ${name.padEnd(13)} A ${a.toFixed(2)}  B ${b.toFixed(2)}  B/A ${(b / a).toFixed(3)} (paired median ${paired.toFixed(3)})`,
  );
}
console.log(`(sink ${sink > 0})`);
child.send({ op: 'exit' });
