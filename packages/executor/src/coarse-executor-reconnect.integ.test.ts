// The coarse executor in this process (no Mesos), against a driver endpoint behind a proxy this
// test cuts and restores: a brief outage costs the running tasks, not the executor.
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAppSecret } from './app-secret.js';
import { EXECUTOR_EXIT, runCoarseExecutor } from './coarse-executor.js';
import { createDriverEndpoint } from './protocol/driver-endpoint.js';
import type { TaskOutcome, TaskSpec } from './task-spec.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function spec(taskId: string, source: string): TaskSpec {
  return {
    taskId,
    stageId: 0,
    partition: 0,
    attempt: 0,
    function: { kind: 'source', source },
    captured: serialize(undefined),
    input: serialize(null),
  };
}

/** A TCP proxy to `port` that can be cut (connections destroyed, listener closed) and restored on the same port. */
async function proxyTo(port: number) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let listenPort = 0;
  const start = async () => {
    server = createServer((client) => {
      const upstream = netConnect(port, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server?.listen(listenPort, '127.0.0.1', resolve));
    listenPort = (server.address() as { port: number }).port;
  };
  await start();
  const cut = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  };
  cleanups.push(cut);
  return { port: listenPort, cut, restore: start };
}

describe('coarse executor and its driver link', () => {
  it('reconnects after a brief outage (its running tasks killed), and exits when told', async () => {
    const secret = createAppSecret();
    const endpoint = await createDriverEndpoint({ secret, host: '127.0.0.1', log: () => {} });
    cleanups.push(() => endpoint.close());
    const registrations: string[] = [];
    const lost: string[] = [];
    const outcomes = new Map<string, TaskOutcome>();
    endpoint.on('executorRegistered', (event) => registrations.push(event.executorId));
    endpoint.on('executorLost', (event) => lost.push(event.reason));
    endpoint.on('taskOutcome', (event) => outcomes.set(event.taskId, event.outcome));
    const proxy = await proxyTo(endpoint.address.port);
    const logs: string[] = [];
    const exit = runCoarseExecutor({
      driver: { host: '127.0.0.1', port: proxy.port },
      secret,
      executorId: 'reconnecting',
      cores: 1,
      memoryMiB: 512,
      taskCpus: 1,
      driverLostTimeoutMs: 10_000,
      heartbeatIntervalMs: 100,
      log: (level, message) => logs.push(`${level} ${message}`),
    });
    await vi.waitFor(() => expect(registrations).toEqual(['reconnecting']), { timeout: 10_000 });

    endpoint.launch('reconnecting', [spec('before', '() => { for (;;) {} }')]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await proxy.cut();
    await vi.waitFor(() => expect(lost).toHaveLength(1), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await proxy.restore();
    await vi.waitFor(() => expect(registrations).toEqual(['reconnecting', 'reconnecting']), { timeout: 10_000 });
    expect(logs.join('\n')).toMatch(/lost the driver link .*killing 1 running tasks and reconnecting/);

    endpoint.launch('reconnecting', [spec('after', '() => "after"')]);
    await vi.waitFor(() => expect(outcomes.has('after')).toBe(true), { timeout: 10_000 });
    const after = outcomes.get('after');
    expect(after?.state === 'finished' && deserialize(after.result)).toBe('after');
    // The task that ran during the outage was killed, and its outcome was not sent to anyone.
    expect(outcomes.has('before')).toBe(false);

    await endpoint.shutdown('reconnecting', { timeoutMs: 1000 });
    expect(await exit).toBe(EXECUTOR_EXIT.ok);
  });

  it('gives up with exit code 1 when the driver stays gone', async () => {
    const secret = createAppSecret();
    const endpoint = await createDriverEndpoint({ secret, host: '127.0.0.1', log: () => {} });
    cleanups.push(() => endpoint.close());
    const proxy = await proxyTo(endpoint.address.port);
    const registered = vi.fn();
    endpoint.on('executorRegistered', registered);
    const exit = runCoarseExecutor({
      driver: { host: '127.0.0.1', port: proxy.port },
      secret,
      executorId: 'abandoned',
      cores: 1,
      memoryMiB: 512,
      taskCpus: 1,
      driverLostTimeoutMs: 800,
      heartbeatIntervalMs: 100,
      log: () => {},
    });
    await vi.waitFor(() => expect(registered).toHaveBeenCalled(), { timeout: 10_000 });
    await proxy.cut();
    expect(await exit).toBe(EXECUTOR_EXIT.driverLost);
  });
});
