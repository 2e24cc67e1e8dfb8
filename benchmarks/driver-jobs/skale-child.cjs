// Skale's side of the Pi case, in a child process of its own: skale's local mode configures itself
// from the environment (SKALE_WORKERS, SKALE_TMP), forks its worker processes from this process and
// sets process.title, so it is kept apart from the bench. The context is created once and kept warm
// across rounds, as the spark-mesos contexts are warm when they are timed.
//
// Messages from the bench: { id, op: 'pi', samples, partitions } → { id, ms, inside }
//                          { id, op: 'end' } → { id } and the process exits.
'use strict';

const { performance } = require('node:perf_hooks');
const skale = require('skale');

const sc = skale.context();
process.title = 'skale-bench-child';

// Skale ships functions as source and parses them back with a regular expression that takes
// `function (…) {…}` or an arrow with at least one parameter (`() => …` is not recognised, see
// skale/lib/worker-local.js parseTask): the same body as the spark-mesos job, spelled so.
function estimate(samples, partitions) {
  return sc
    .range(0, samples, 1, partitions)
    .filter((_index) => {
      const x = Math.random() * 2 - 1;
      const y = Math.random() * 2 - 1;
      return x * x + y * y <= 1;
    })
    .count();
}

process.on('message', async (message) => {
  if (message.op === 'end') {
    sc.end();
    process.send({ id: message.id }, () => process.exit(0));
    return;
  }
  try {
    const start = performance.now();
    const inside = await estimate(message.samples, message.partitions);
    process.send({ id: message.id, ms: performance.now() - start, inside });
  } catch (error) {
    process.send({ id: message.id, error: String(error?.stack ?? error) });
  }
});
process.send({ ready: true, workers: Number(process.env.SKALE_WORKERS) });
