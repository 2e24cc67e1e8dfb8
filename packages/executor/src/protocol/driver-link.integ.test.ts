import { randomBytes } from 'node:crypto';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { serialize } from 'node:v8';
import { isSparkMesosError } from '@spark-mesos/errors';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TaskOutcome, TaskSpec } from '../task-spec.js';
import { createDriverEndpoint, type DriverEndpoint, type DriverEndpointOptions } from './driver-endpoint.js';
import {
  connectDriverLink,
  type ExecutorLink,
  type ExecutorLinkHandlers,
  type ExecutorLinkOptions,
} from './executor-link.js';
import { encodeMessageFrame } from './frames.js';
import { DRIVER_LINK_PROTOCOL_VERSION } from './handshake.js';
import type { ExecutorRegistration } from './messages.js';
import { packTasks } from './packed.js';

const secret = randomBytes(32);
const registration: ExecutorRegistration = {
  executorId: 'exec-1',
  hostname: 'agent-1.example',
  agentId: 'agent-1',
  cores: 2,
  memoryMiB: 512,
  mode: 'coarse',
  slots: 2,
};

function spec(taskId: string): TaskSpec {
  return {
    taskId,
    stageId: 0,
    partition: 0,
    attempt: 0,
    function: { kind: 'source', source: '() => 1' },
    captured: serialize(undefined),
    input: serialize(null),
  };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function logger() {
  const lines: string[] = [];
  return { lines, log: (level: string, message: string) => lines.push(`${level} ${message}`) };
}

async function endpoint(options: Partial<DriverEndpointOptions> = {}) {
  const logs = logger();
  const created = await createDriverEndpoint({ secret, host: '127.0.0.1', log: logs.log, ...options });
  cleanups.push(() => created.close());
  return { endpoint: created, logs };
}

function handlers(overrides: Partial<ExecutorLinkHandlers> = {}): ExecutorLinkHandlers & { seen: unknown[] } {
  const seen: unknown[] = [];
  return {
    seen,
    launch: (tasks) => seen.push({ launch: tasks.map((task) => task.taskId) }),
    kill: (taskId, reason) => seen.push({ kill: taskId, reason }),
    shutdown: (timeoutMs, reason) => seen.push({ shutdown: timeoutMs, reason }),
    disconnected: (reason) => seen.push({ disconnected: reason }),
    ...overrides,
  };
}

async function executor(driver: DriverEndpoint, options: Partial<ExecutorLinkOptions> = {}) {
  const logs = logger();
  const reactions = handlers(options.handlers);
  const link = await connectDriverLink({
    driver: driver.address,
    secret,
    registration,
    log: logs.log,
    ...options,
    handlers: reactions,
  });
  cleanups.push(() => link.close('test over'));
  return { link, logs, reactions };
}

describe('driver link', () => {
  it('registers an executor after the mutual proof, and carries batches, kills and outcomes', async () => {
    const { endpoint: driver } = await endpoint();
    const registered = vi.fn();
    const outcomes: Array<{ taskId: string; outcome: TaskOutcome }> = [];
    driver.on('executorRegistered', registered);
    driver.on('taskOutcome', (event) => outcomes.push(event));
    const { link, reactions } = await executor(driver);
    expect(registered).toHaveBeenCalledWith(
      expect.objectContaining({ ...registration, remoteAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/) }),
    );
    expect(driver.executors().map((entry) => entry.executorId)).toEqual(['exec-1']);

    driver.launch('exec-1', [spec('a'), spec('b')]);
    driver.launch('exec-1', [spec('c')]);
    driver.kill('exec-1', 'b', 'speculative copy won');
    await vi.waitFor(() => expect(reactions.seen).toHaveLength(3));
    expect(reactions.seen).toEqual([
      { launch: ['a', 'b'] },
      { launch: ['c'] },
      { kill: 'b', reason: 'speculative copy won' },
    ]);

    const finished: TaskOutcome = { state: 'finished', result: serialize(42), durationMs: 1, outputTail: 'hi' };
    link.sendOutcome('a', finished);
    link.sendOutcome('b', { state: 'killed', reason: 'speculative copy won', durationMs: 2, outputTail: '' });
    await vi.waitFor(() => expect(outcomes).toHaveLength(2));
    expect(outcomes[0]).toEqual({
      executorId: 'exec-1',
      taskId: 'a',
      outcome: { ...finished, result: expect.any(Uint8Array) },
    });
    expect(Buffer.from((outcomes[0] as { outcome: { result: Uint8Array } }).outcome.result)).toEqual(serialize(42));
    expect(() => driver.launch('nobody', [spec('x')])).toThrow(
      expect.objectContaining({ code: 'SM_ERR_EXECUTOR_NOT_CONNECTED' }),
    );
  });

  it('unref() stops the server and the executor connections, also later ones, from holding the process', async () => {
    const { endpoint: driver } = await endpoint();
    // getActiveResourcesInfo lists only what keeps the process alive (ref'd handles).
    const holding = () => {
      const resources = process.getActiveResourcesInfo();
      return {
        servers: resources.filter((name) => name === 'TCPServerWrap').length,
        sockets: resources.filter((name) => name === 'TCPSocketWrap').length,
      };
    };
    await executor(driver);
    const before = holding();
    driver.unref();
    // The server and the driver's side of the link (the executor's side is this test's).
    expect(holding()).toEqual({ servers: before.servers - 1, sockets: before.sockets - 1 });
    await executor(driver, { registration: { ...registration, executorId: 'exec-2' } });
    await vi.waitFor(() => expect(driver.executors()).toHaveLength(2));
    // Snapshots around ref(), taken synchronously: the driver's sides of both links, the later one too.
    const unreferenced = holding();
    driver.ref();
    expect(holding()).toEqual({ servers: unreferenced.servers + 1, sockets: unreferenced.sockets + 2 });
  });

  it('refuses an executor with the wrong secret and logs it on both sides', async () => {
    const { endpoint: driver, logs: driverLogs } = await endpoint();
    const refused = vi.fn();
    driver.on('connectionRefused', refused);
    const executorLogs = logger();
    const attempt = connectDriverLink({
      driver: driver.address,
      secret: randomBytes(32),
      registration,
      handlers: handlers(),
      log: executorLogs.log,
    });
    await expect(attempt).rejects.toSatisfy((error) => isSparkMesosError(error, 'SM_ERR_DRIVER_LINK_REFUSED'));
    await expect(attempt).rejects.toThrow(/refused this executor: .*application secret/);
    expect(driverLogs.lines.join('\n')).toMatch(
      /warn driver link: refused connection from 127\.0\.0\.1:\d+: the executor did not prove/,
    );
    expect(executorLogs.lines.join('\n')).toMatch(
      /warn driver link: the driver at 127\.0\.0\.1:\d+ refused this executor/,
    );
    expect(refused).toHaveBeenCalledWith(expect.objectContaining({ reason: expect.stringContaining('did not prove') }));
    expect(driver.executors()).toEqual([]);
  });

  it('an executor takes no work from a driver that cannot prove the secret, and logs it on both sides', async () => {
    const { endpoint: impostor, logs: impostorLogs } = await endpoint({ secret: randomBytes(32) });
    const executorLogs = logger();
    const reactions = handlers();
    // A fake driver that skips checking the executor and answers with a made-up proof, then
    // sends work at once: the executor must refuse it before any launch reaches its handlers.
    const fake: Server = createServer((socket) => {
      const nonce = randomBytes(32).toString('hex');
      const payload = Buffer.from(JSON.stringify({ type: 'challenge', protocol: DRIVER_LINK_PROTOCOL_VERSION, nonce }));
      const header = Buffer.alloc(5);
      header.writeUInt32BE(payload.length + 1, 0);
      header[4] = 1;
      socket.write(Buffer.concat([header, payload]));
      socket.once('data', () => {
        const proof = Buffer.from(JSON.stringify({ type: 'proof', proof: randomBytes(32).toString('hex') }));
        const proofHeader = Buffer.alloc(5);
        proofHeader.writeUInt32BE(proof.length + 1, 0);
        proofHeader[4] = 1;
        const [launchHeader, launchPayload] = encodeMessageFrame({ type: 'launch', tasks: packTasks([spec('evil')]) });
        socket.write(Buffer.concat([proofHeader, proof, launchHeader, launchPayload]));
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => fake.close(() => resolve())));
    const port = (fake.address() as { port: number }).port;
    const attempt = connectDriverLink({
      driver: { host: '127.0.0.1', port },
      secret,
      registration,
      handlers: reactions,
      log: executorLogs.log,
    });
    await expect(attempt).rejects.toThrow(/refused the driver at 127\.0\.0\.1:\d+: the driver did not prove/);
    expect(executorLogs.lines.join('\n')).toMatch(/warn driver link: refused the driver at .*did not prove/);
    expect(reactions.seen).toEqual([]);

    // Against a real endpoint with another secret, the driver refuses first and both sides log.
    await expect(
      connectDriverLink({ driver: impostor.address, secret, registration, handlers: reactions, log: executorLogs.log }),
    ).rejects.toThrow(/refused this executor/);
    expect(impostorLogs.lines.join('\n')).toMatch(/refused connection/);
  });

  it('refuses a peer that sends messages before the handshake', async () => {
    const { endpoint: driver, logs } = await endpoint();
    const socket = netConnect(driver.address.port, '127.0.0.1');
    const [header, payload] = encodeMessageFrame({ type: 'register', registration });
    socket.on('error', () => {});
    socket.resume();
    socket.write(Buffer.concat([header, payload]));
    await new Promise((resolve) => socket.on('close', resolve));
    expect(logs.lines.join('\n')).toMatch(/refused connection .*before proving it holds the application secret/);
    expect(driver.executors()).toEqual([]);
  });

  it('never puts the secret on the wire', async () => {
    const { endpoint: driver } = await endpoint();
    const seen: Buffer[] = [];
    const proxy = createServer((client) => {
      const upstream = netConnect(driver.address.port, '127.0.0.1');
      client.on('data', (chunk) => seen.push(chunk));
      upstream.on('data', (chunk) => seen.push(chunk));
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const { link } = await executor(driver, {
      driver: { host: '127.0.0.1', port: (proxy.address() as { port: number }).port },
    });
    await link.close('done');
    const wire = Buffer.concat(seen);
    expect(wire.length).toBeGreaterThan(100);
    expect(wire.includes(secret)).toBe(false);
    expect(wire.includes(Buffer.from(secret.toString('hex')))).toBe(false);
    expect(wire.includes(Buffer.from(secret.toString('base64')))).toBe(false);
  });

  it('shuts an executor down and reports it lost when its connection ends', async () => {
    const { endpoint: driver } = await endpoint();
    const lost = vi.fn();
    driver.on('executorLost', lost);
    let link: ExecutorLink | undefined;
    const { reactions } = await executor(driver, {
      handlers: {
        ...handlers(),
        shutdown: (timeoutMs, reason) => {
          reactions.seen.push({ shutdown: timeoutMs, reason });
          void link?.close('shutting down as told');
        },
      },
    }).then((result) => {
      link = result.link;
      return result;
    });
    await driver.shutdown('exec-1', { timeoutMs: 500 });
    expect(reactions.seen).toContainEqual({ shutdown: 500, reason: 'shut down by the driver' });
    expect(lost).toHaveBeenCalledWith({ executorId: 'exec-1', reason: 'shut down by the driver' });
    expect(driver.executors()).toEqual([]);
  });

  it('loses an executor that stops sending heartbeats', async () => {
    const { endpoint: driver } = await endpoint({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 300 });
    const lost = vi.fn();
    driver.on('executorLost', lost);
    // This executor's heartbeats are far apart, so the driver hears nothing for longer than its timeout.
    await executor(driver, { heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: 120_000 });
    await vi.waitFor(
      () =>
        expect(lost).toHaveBeenCalledWith({
          executorId: 'exec-1',
          reason: expect.stringMatching(/no heartbeat from .* for \d+ ms \(timeout 300 ms\)/),
        }),
      {
        timeout: 3000,
      },
    );
  });

  it('tells executors when the driver closes its endpoint', async () => {
    const { endpoint: driver } = await endpoint();
    const { reactions } = await executor(driver);
    await driver.close();
    await vi.waitFor(() =>
      expect(reactions.seen).toContainEqual(expect.objectContaining({ disconnected: expect.any(String) })),
    );
    expect(reactions.seen[0]).toEqual({ shutdown: 0, reason: 'the driver closed its endpoint' });
  });

  it('fails to connect to a driver that is not there, with the address in the error', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(
      connectDriverLink({
        driver: { host: '127.0.0.1', port },
        secret,
        registration,
        handlers: handlers(),
        log: () => {},
      }),
    ).rejects.toSatisfy(
      (error) =>
        isSparkMesosError(error, 'SM_ERR_DRIVER_UNREACHABLE') && (error as Error).message.includes(`127.0.0.1:${port}`),
    );
  });
});
