// In-process A/B of the JSON codec of two builds of @spark-mesos/mesos-client, without HTTP or
// the client: the bench's recorded records (the whole block, then OFFERS and UPDATE apart), each
// a Buffer of its own, decoded by `SCHEDULER_EVENT_CODECS.json.decode` of build A and of build B,
// and by the floor `JSON.parse(TextDecoder)` of the same records. The cases alternate each round
// (order reversed every other round); CPU time of this process per record, median and minimum
// over the rounds after two warm-up rounds. "conv" is a case's time minus the floor's: the
// conversion after JSON.parse. For judging a change to the codec; not a test.
//
//   node codec-ab.mjs --a ../../packages/mesos-client/.tmp/ab-base/index.js \
//                     --b ../../packages/mesos-client/dist/index.js [--rounds 20] [--records 40000]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEvents } from './stream.mjs';

const { values: args } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    rounds: { type: 'string', default: '20' },
    records: { type: 'string', default: '40000' },
  },
});
if (!args.a || !args.b) throw new Error('usage: node codec-ab.mjs --a <build A index.js> --b <build B index.js>');
const decoderOf = async (file) =>
  (await import(pathToFileURL(path.resolve(file)).href)).SCHEDULER_EVENT_CODECS.json.decode;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const cases = {
  floor: (record) => JSON.parse(utf8.decode(record)),
  A: await decoderOf(args.a),
  B: await decoderOf(args.b),
};

const events = await loadEvents();
const groups = { all: events.json.block };
events.json.block.forEach((record, i) => {
  const type = events.blockTypes[i];
  if (type === 'HEARTBEAT') return;
  groups[type] ??= [];
  groups[type].push(record);
});
const median = (values) => [...values].sort((x, y) => x - y)[values.length >> 1];
const rounds = Number(args.rounds);
console.log(`CPU µs per record, ${rounds - 2} rounds: median (minimum)`);
for (const [group, block] of Object.entries(groups)) {
  const records = [];
  while (records.length < Number(args.records)) for (const record of block) records.push(Buffer.from(record));
  const times = { floor: [], A: [], B: [] };
  const order = Object.keys(cases);
  let sink = 0;
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? order : [...order].reverse()) {
      const decode = cases[name];
      const start = process.cpuUsage();
      for (const record of records) sink += decode(record).type.length;
      const used = process.cpuUsage(start);
      if (round >= 2) times[name].push((used.user + used.system) / records.length);
    }
  }
  const show = (name) => `${median(times[name]).toFixed(3)} (${Math.min(...times[name]).toFixed(3)})`;
  const conv = (name, pick) => (pick(times[name]) - pick(times.floor)).toFixed(3);
  console.log(
    `${group.padEnd(7)} floor ${show('floor')}  A ${show('A')}  B ${show('B')}  ` +
      `conv A ${conv('A', median)} (${conv('A', (v) => Math.min(...v))})  B ${conv('B', median)} (${conv('B', (v) => Math.min(...v))})  ` +
      `vs floor A ${(median(times.A) / median(times.floor)).toFixed(3)} B ${(median(times.B) / median(times.floor)).toFixed(3)}`,
  );
  if (sink === 0) console.log('(sink)');
}
