// The peer: the `mesos-framework` npm package (0.5.3), the existing Node Mesos client, subscribing
// through its own HTTP code (node:http) and its own RecordIO/JSON parser.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { Scheduler } = require('mesos-framework');

// Its logger is winston with a console and a daily file transport (created per Scheduler). Level
// `error` keeps it silent here (it logs errors only on a master timeout, disabled below), and the
// file, if ever opened, goes to a temporary directory instead of ./logs.
const LOG_DIR = mkdtempSync(join(tmpdir(), 'bench-mesos-framework-'));
process.on('exit', () => rmSync(LOG_DIR, { recursive: true, force: true }));

// The events its Scheduler emits once an event is fully handled (parsed, handler run).
const HANDLED = ['subscribed', 'heartbeat', 'offers', 'update', 'rescind', 'message', 'failure'];

/**
 * A mesos-framework Scheduler pointed at the loopback server, with its automatic behaviour
 * disabled:
 * - OFFERS and UPDATE get no-op handlers (its defaults DECLINE every offer when it has no
 *   pending task and ACKNOWLEDGE every update: one extra HTTP call per event, application logic
 *   rather than decoding);
 * - re-subscription when the stream ends is disabled (`subscribe` becomes a no-op once called);
 * - its master-connection timeout (10 s, then a redirect probe and `process.exit(1)`) is 1 h.
 */
export function createPeer(port, { onHandled, onClosed, onError }) {
  const scheduler = new Scheduler({
    masterUrl: '127.0.0.1',
    port,
    frameworkName: 'bench-mesos-framework',
    masterConnectionTimeout: 3600,
    logging: { path: LOG_DIR, fileName: 'mesos-framework.log', level: 'error' },
    handlers: {
      // One parameter each: mesos-framework only takes handlers of arity 1.
      OFFERS(_offers) {},
      UPDATE(_update) {},
    },
  });
  for (const name of HANDLED) scheduler.on(name, onHandled);
  scheduler.on('error', (error) => {
    const message = String(error?.message ?? error);
    // It reports the end of the event stream as an error event.
    if (message.includes('Long-running connection was closed')) onClosed();
    else onError(message);
  });
  return {
    scheduler,
    subscribe() {
      scheduler.subscribe();
      scheduler.subscribe = () => {};
    },
    close() {
      scheduler.subscribe = () => {};
      scheduler.httpRequest?.destroy?.();
    },
  };
}
