// The loopback replay server, in a child process of bench.mjs: like a Mesos master it is another
// process, so its writes do not share the clients' event loop, and its sockets and buffers do
// not count in the clients' memory. Driven over IPC:
//   { id, op: 'start', kind: 'stream', encoding, repeat, times }  → { id, port }
//   { id, op: 'start', kind: 'hold', encoding, times }            → { id, port }
//   { id, op: 'stop' }                                            → { id, requests, mismatches }
import { EventEmitter } from 'node:events';
import { startReplayServer } from '@spark-mesos/mesos-client/testing';
import { loadEvents, streamStep, subscribedHoldStep } from './stream.mjs';

// The replay server waits for back-pressure with `Promise.race([once(socket, 'drain'),
// once(socket, 'close')])`: the losing `once` listeners ('close' and its 'error') stay on the socket
// until it closes, two per drain, so a long full-speed stream trips Node's MaxListeners warning.
// Harmless here (they go when the socket closes); silenced so the output stays readable.
EventEmitter.defaultMaxListeners = 0;

const events = await loadEvents();
let server;

process.on('message', async (message) => {
  try {
    if (message.op === 'start') {
      if (server) await server.close();
      const step =
        message.kind === 'hold'
          ? subscribedHoldStep(events, message.encoding, message.times)
          : streamStep(events, message.encoding, { repeat: message.repeat, times: message.times ?? 1 });
      server = await startReplayServer({ script: [step] });
      process.send({ id: message.id, port: server.port });
    } else if (message.op === 'stop') {
      const requests = server ? server.requests.length : 0;
      const mismatches = server ? server.mismatches.map((m) => m.message) : [];
      if (server) await server.close();
      server = undefined;
      process.send({ id: message.id, requests, mismatches });
    } else if (message.op === 'exit') {
      process.exit(0);
    }
  } catch (error) {
    process.send({ id: message.id, error: String(error?.stack ?? error) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
