import { fileURLToPath } from 'node:url';
import type { Logger } from '@spark-mesos/master-url';
import { SCHEDULER_CALL_CODECS } from './codec.js';
import type { FrameworkInfo, SchedulerCall } from './generated/mesos-types.js';
import type { SchedulerTimers } from './scheduler-timers.js';
import {
  loadRecordedExchange,
  type ReceivedRequest,
  type RecordedExchange,
  type ReplayServer,
} from './testing/index.js';

// Test support of the scheduler client's integration tests only (not a build entry, not a test).

/** The path of a folder of recorded Mesos traffic under `src/__fixtures__/`. */
export const fixtures = (dir: string): string => fileURLToPath(new URL(`./__fixtures__/${dir}`, import.meta.url));

/** One recorded exchange, e.g. `load('flow', 'flow-subscribe')`. */
export const load = (dir: string, name: string): Promise<RecordedExchange> => loadRecordedExchange(fixtures(dir), name);

/** A line the client logged. */
export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

/** A logger that keeps every line for assertions and prints nothing. */
export function quietLogger(lines: LogLine[] = []): Logger & { lines: LogLine[] } {
  return {
    lines,
    warn: (message, fields) => lines.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    info: (message, fields) => lines.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    debug: (message, fields) => lines.push({ level: 'debug', message, ...(fields ? { fields } : {}) }),
  };
}

/** Real timers running `factor` times faster (the clock too), recording every requested delay. */
export function fastTimers(factor: number): SchedulerTimers & { delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    setTimeout: (callback, ms) => {
      delays.push(ms);
      return setTimeout(callback, ms / factor);
    },
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    now: () => performance.now() * factor,
  };
}

/** Waits until `condition` holds, or fails naming `what`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The requests of one call type the replay server received. */
export const calls = (server: ReplayServer, type: string): ReceivedRequest[] =>
  server.requests.filter((request) => request.callType === type);

/** The call a recorded request carried (JSON or protobuf, by its Content-Type). */
export function recordedCall(exchange: RecordedExchange): SchedulerCall {
  const request = exchange.request!;
  const type = request.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  return SCHEDULER_CALL_CODECS[type.includes('protobuf') ? 'protobuf' : 'json'].decode(request.body);
}

/** The call the replay server received (JSON or protobuf, by its Content-Type). */
export function receivedCall(request: ReceivedRequest): SchedulerCall {
  const type = request.header('content-type') ?? '';
  return SCHEDULER_CALL_CODECS[type.includes('protobuf') ? 'protobuf' : 'json'].decode(request.body);
}

/** The FrameworkInfo of a recorded SUBSCRIBE. */
export function frameworkInfoOf(exchange: RecordedExchange): FrameworkInfo {
  return recordedCall(exchange).subscribe!.framework_info;
}
