// The fetcher against real loopback HTTP servers and real archives built with tar/zip, and the
// agent's launch path around it (STAGING while fetching, TASK_FAILED when a fetch fails).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSparkMesosError } from '@spark-mesos/errors';
import type { TaskStatus } from '@spark-mesos/mesos-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalAgent } from './agent.js';
import { AgentFetcher, type AgentFetcherOptions, createFetcherCache, fetchUris } from './fetcher.js';
import { parseResources } from './resources.js';

type Route = (request: IncomingMessage, response: ServerResponse) => void;

interface TestServer {
  readonly url: string;
  /** Requests per path. */
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

let root: string;
let sandbox: string;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'mesos-local-fetcher-integ-'));
  sandbox = join(root, 'sandbox');
  mkdirSync(sandbox);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(root, { recursive: true, force: true });
});

async function serve(routes: Record<string, Route>): Promise<TestServer> {
  const hits = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = routes[path];
    if (route) route(request, response);
    else response.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close };
}

const body =
  (content: string | Buffer): Route =>
  (_request, response) =>
    response.writeHead(200, { 'content-length': Buffer.byteLength(content) }).end(content);

/** A free port with nothing listening on it (a server bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Archives of a directory `app/` with `app/bin/run` and `app/README`, built with the system tools. */
function buildArchives(): Record<string, Buffer> {
  const tree = join(root, 'tree');
  mkdirSync(join(tree, 'app', 'bin'), { recursive: true });
  writeFileSync(join(tree, 'app', 'bin', 'run'), '#!/bin/sh\necho run\n', { mode: 0o755 });
  writeFileSync(join(tree, 'app', 'README'), 'readme');
  const out = join(root, 'archives');
  mkdirSync(out);
  execFileSync('tar', ['-C', tree, '-cf', join(out, 'app.tar'), 'app']);
  execFileSync('tar', ['-C', tree, '-czf', join(out, 'app.tgz'), 'app']);
  execFileSync('tar', ['-C', tree, '-czf', join(out, 'app.tar.gz'), 'app']);
  execFileSync('tar', ['-C', tree, '-cjf', join(out, 'app.tar.bz2'), 'app']);
  execFileSync('tar', ['-C', tree, '-cJf', join(out, 'app.txz'), 'app']);
  execFileSync('zip', ['-q', '-r', join(out, 'app.zip'), 'app'], { cwd: tree });
  writeFileSync(join(out, 'notes.txt'), 'gunzipped');
  execFileSync('gzip', [join(out, 'notes.txt')]);
  const archives: Record<string, Buffer> = {};
  for (const name of ['app.tar', 'app.tgz', 'app.tar.gz', 'app.tar.bz2', 'app.txz', 'app.zip', 'notes.txt.gz']) {
    archives[name] = readFileSync(join(out, name));
  }
  return archives;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof Error)) throw new Error('expected the fetch to fail');
  return error;
}

const stderrOf = (directory = sandbox): string => readFileSync(join(directory, 'stderr'), 'utf8');

describe('fetchUris over HTTP', () => {
  it('downloads under the URI basename and under output_file', async () => {
    const server = await serve({ '/files/app.jar': body('jar-bytes') });
    await fetchUris(
      [
        { value: `${server.url}/files/app.jar` },
        { value: `${server.url}/files/app.jar?v=2`, output_file: 'lib/x.jar' },
      ],
      { sandbox },
    );
    expect(readFileSync(join(sandbox, 'app.jar'), 'utf8')).toBe('jar-bytes');
    expect(readFileSync(join(sandbox, 'lib', 'x.jar'), 'utf8')).toBe('jar-bytes');
  });

  it('follows redirects, relative and absolute', async () => {
    const target = await serve({ '/final/data.txt': body('landed') });
    const server = await serve({
      '/start/data.txt': (_request, response) => response.writeHead(302, { location: '/middle' }).end(),
      '/middle': (_request, response) => response.writeHead(301, { location: `${target.url}/final/data.txt` }).end(),
    });
    await fetchUris([{ value: `${server.url}/start/data.txt` }], { sandbox });
    expect(readFileSync(join(sandbox, 'data.txt'), 'utf8')).toBe('landed');
    expect(target.hits.get('/final/data.txt')).toBe(1);
  });

  it('gives up after 20 redirects', async () => {
    const server = await serve({
      '/loop/file': (_request, response) => response.writeHead(307, { location: '/loop/file' }).end(),
    });
    const error = await rejection(fetchUris([{ value: `${server.url}/loop/file` }], { sandbox }));
    expect(error.message).toContain('more than 20 redirects');
    expect(server.hits.get('/loop/file')).toBe(21);
  });

  it('fetches https and refuses a certificate nobody vouches for, as curl does', async () => {
    const key = join(root, 'key.pem');
    const cert = join(root, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_request, response) =>
      response.writeHead(200).end('secret'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const uri = `https://127.0.0.1:${(server.address() as AddressInfo).port}/file.txt`;
    const error = await rejection(fetchUris([{ value: uri }], { sandbox }));
    expect(isSparkMesosError(error, 'SM_ERR_FETCH_FAILED')).toBe(true);
    expect(error.message).toMatch(/^Failed to fetch 'https:.*': Error downloading resource: .*self.signed/i);
  });

  it('fails on a 404 naming the status, in the error and in the sandbox stderr', async () => {
    const server = await serve({});
    const uri = `${server.url}/missing/app.jar`;
    const error = await rejection(fetchUris([{ value: uri }], { sandbox }));
    expect(isSparkMesosError(error, 'SM_ERR_FETCH_FAILED')).toBe(true);
    expect(error.message).toBe(`Failed to fetch '${uri}': Error downloading resource, received HTTP return code 404`);
    expect(stderrOf()).toContain(`Fetching URI '${uri}'`);
    expect(stderrOf()).toContain(error.message);
  });

  it('fails on a refused connection', async () => {
    const uri = `http://127.0.0.1:${await deadPort()}/app.jar`;
    const error = await rejection(fetchUris([{ value: uri }], { sandbox }));
    expect(isSparkMesosError(error, 'SM_ERR_FETCH_FAILED')).toBe(true);
    expect(error.message).toMatch(/^Failed to fetch 'http:.*': Error downloading resource: .*ECONNREFUSED/);
  });

  it('fails a download that stalls past the stall timeout', async () => {
    const server = await serve({
      '/slow.bin': (_request, response) => {
        response.writeHead(200);
        response.write('part');
      },
    });
    const error = await rejection(fetchUris([{ value: `${server.url}/slow.bin` }], { sandbox, stallTimeoutMs: 200 }));
    expect(error.message).toContain('stall timeout');
  });

  it('makes an executable download 0755 and does not extract it', async () => {
    const archives = buildArchives();
    const server = await serve({ '/tool.tgz': body(archives['app.tgz'] as Buffer) });
    await fetchUris([{ value: `${server.url}/tool.tgz`, executable: true }], { sandbox });
    expect(statSync(join(sandbox, 'tool.tgz')).mode & 0o777).toBe(0o755);
    expect(() => statSync(join(sandbox, 'app'))).toThrow();
  });
});

describe('fetchUris extraction', () => {
  it.each(['app.tar', 'app.tgz', 'app.tar.gz', 'app.tar.bz2', 'app.txz', 'app.zip'])(
    'extracts %s into the sandbox, keeping the archive',
    async (name) => {
      const archives = buildArchives();
      const server = await serve({ [`/${name}`]: body(archives[name] as Buffer) });
      await fetchUris([{ value: `${server.url}/${name}` }], { sandbox });
      expect(readFileSync(join(sandbox, 'app', 'README'), 'utf8')).toBe('readme');
      expect(statSync(join(sandbox, 'app', 'bin', 'run')).mode & 0o100).toBe(0o100);
      expect(statSync(join(sandbox, name)).isFile()).toBe(true);
    },
  );

  it('gunzips a bare .gz and leaves an archive alone with extract: false', async () => {
    const archives = buildArchives();
    const server = await serve({
      '/notes.txt.gz': body(archives['notes.txt.gz'] as Buffer),
      '/app.tgz': body(archives['app.tgz'] as Buffer),
    });
    await fetchUris([{ value: `${server.url}/notes.txt.gz` }, { value: `${server.url}/app.tgz`, extract: false }], {
      sandbox,
    });
    expect(readFileSync(join(sandbox, 'notes.txt'), 'utf8')).toBe('gunzipped');
    expect(() => statSync(join(sandbox, 'app'))).toThrow();
  });

  it('fails on a corrupt archive, saying which and why', async () => {
    const server = await serve({ '/broken.tar.gz': body('this is not gzip') });
    const error = await rejection(fetchUris([{ value: `${server.url}/broken.tar.gz` }], { sandbox }));
    expect(isSparkMesosError(error, 'SM_ERR_FETCH_FAILED')).toBe(true);
    expect(error.message).toContain(`Failed to extract archive '${join(sandbox, 'broken.tar.gz')}'`);
  });
});

describe('fetcher cache over HTTP', () => {
  it('downloads once and serves later fetches from the cache without refreshing', async () => {
    let version = 'v1';
    const server = await serve({ '/lib.jar': (_request, response) => response.writeHead(200).end(version) });
    const cache = createFetcherCache(join(root, 'cache'));
    const uri = `${server.url}/lib.jar`;
    await fetchUris([{ value: uri, cache: true }], { sandbox, cache });
    version = 'v2';
    const second = join(root, 'second');
    mkdirSync(second);
    const [result] = await fetchUris([{ value: uri, cache: true }], { sandbox: second, cache });
    expect(result?.fromCache).toBe(true);
    expect(readFileSync(join(second, 'lib.jar'), 'utf8')).toBe('v1');
    expect(server.hits.get('/lib.jar')).toBe(1);
    expect(stderrOf(second)).toContain(`Fetching URI '${uri}' from cache`);
  });

  it('downloads once for concurrent fetches of the same URI', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await serve({
      '/big.bin': (_request, response) => {
        void released.then(() => response.writeHead(200).end('shared'));
      },
    });
    const cache = createFetcherCache(join(root, 'cache'));
    const sandboxes = [1, 2, 3].map((n) => {
      const directory = join(root, `s${n}`);
      mkdirSync(directory);
      return directory;
    });
    const fetches = sandboxes.map((directory) =>
      fetchUris([{ value: `${server.url}/big.bin`, cache: true }], { sandbox: directory, cache }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await Promise.all(fetches);
    expect(server.hits.get('/big.bin')).toBe(1);
    for (const directory of sandboxes) expect(readFileSync(join(directory, 'big.bin'), 'utf8')).toBe('shared');
  });

  it('keeps no entry for a failed download: the next fetch tries again', async () => {
    let status = 500;
    const server = await serve({ '/flaky.jar': (_request, response) => response.writeHead(status).end('ok') });
    const cache = createFetcherCache(join(root, 'cache'));
    const uri = `${server.url}/flaky.jar`;
    await rejection(fetchUris([{ value: uri, cache: true }], { sandbox, cache }));
    status = 200;
    await fetchUris([{ value: uri, cache: true }], { sandbox, cache });
    expect(readFileSync(join(sandbox, 'flaky.jar'), 'utf8')).toBe('ok');
    expect(server.hits.get('/flaky.jar')).toBe(2);
  });

  it('extracts a cached archive into the sandbox without copying the archive there', async () => {
    const archives = buildArchives();
    const server = await serve({ '/app.tgz': body(archives['app.tgz'] as Buffer) });
    const cache = createFetcherCache(join(root, 'cache'));
    await fetchUris([{ value: `${server.url}/app.tgz`, cache: true }], { sandbox, cache });
    expect(readFileSync(join(sandbox, 'app', 'README'), 'utf8')).toBe('readme');
    expect(() => statSync(join(sandbox, 'app.tgz'))).toThrow();
  });
});

describe('LocalAgent fetching a task’s URIs', () => {
  const framework = { id: { value: 'M-0000' }, user: 'u', name: 'f' };

  async function agentWith(updates: TaskStatus[], fetcher?: AgentFetcherOptions): Promise<LocalAgent> {
    const agent = new LocalAgent({
      id: 'M-S0',
      ...(fetcher === undefined ? {} : { fetcher }),
      resources: parseResources('cpus:1;mem:128'),
      workDir: join(root, 'agent'),
      statusUpdateRetryMs: 60_000,
      uplink: {
        statusUpdate: (_agent, _framework, status) => {
          updates.push(status);
          // Acknowledge at once so that every update of the task flows.
          queueMicrotask(() => agent.acknowledge('M-0000', status.task_id.value, status.uuid as Uint8Array));
        },
      },
    });
    await agent.start();
    cleanups.push(() => agent.stop());
    return agent;
  }

  const until = async (check: () => boolean): Promise<void> => {
    for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(check()).toBe(true);
  };

  it('keeps the task STAGING while fetching, then runs the command on the fetched file', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await serve({
      '/greeting.txt': (_request, response) => {
        void released.then(() => response.writeHead(200).end('hello from the fetcher'));
      },
    });
    const updates: TaskStatus[] = [];
    const agent = await agentWith(updates);
    agent.launchTask(framework, {
      name: 't',
      task_id: { value: 't1' },
      agent_id: { value: 'M-S0' },
      command: { value: 'cat greeting.txt', uris: [{ value: `${server.url}/greeting.txt` }] },
    });
    await until(() => server.hits.get('/greeting.txt') === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(updates).toEqual([]);
    release();
    await until(() => updates.some((update) => update.state === 'TASK_FINISHED'));
    expect(updates.map((update) => update.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    const directory = agent.sandboxOf('M-0000', 't1') as string;
    expect(readFileSync(join(directory, 'stdout'), 'utf8')).toBe('hello from the fetcher');
    expect(readFileSync(join(directory, 'stderr'), 'utf8')).toContain(`Fetching URI '${server.url}/greeting.txt'`);
  });

  it('fails the task with REASON_CONTAINER_LAUNCH_FAILED when a URI cannot be fetched', async () => {
    const server = await serve({});
    const updates: TaskStatus[] = [];
    const agent = await agentWith(updates);
    const uri = `${server.url}/nowhere.jar`;
    agent.launchTask(framework, {
      name: 't',
      task_id: { value: 't2' },
      agent_id: { value: 'M-S0' },
      command: { value: 'touch started', uris: [{ value: uri }] },
    });
    await until(() => updates.length > 0);
    const [failed] = updates;
    expect(failed).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      source: 'SOURCE_AGENT',
    });
    expect(failed?.message).toMatch(/^Failed to launch container: Failed to fetch all URIs for container '[^']+': /);
    const directory = agent.sandboxOf('M-0000', 't2') as string;
    expect(readFileSync(join(directory, 'stderr'), 'utf8')).toContain(
      `Failed to fetch '${uri}': Error downloading resource, received HTTP return code 404`,
    );
    expect(() => statSync(join(directory, 'started'))).toThrow();
  });

  it('fetches other schemes through the agent’s injected fetchers, and fails them without one', async () => {
    const updates: TaskStatus[] = [];
    const agent = await agentWith(updates, {
      fetchers: { s3: async (_uri, destination) => writeFileSync(destination, 'from s3') },
    });
    const launch = (taskId: string, uri: string): void =>
      agent.launchTask(framework, {
        name: 't',
        task_id: { value: taskId },
        agent_id: { value: 'M-S0' },
        command: { value: 'cat *.txt', uris: [{ value: uri }] },
      });
    launch('s3-task', 's3://bucket/object.txt');
    launch('hdfs-task', 'hdfs://namenode/object.txt');
    await until(
      () =>
        updates.filter((update) => update.state !== 'TASK_STARTING' && update.state !== 'TASK_RUNNING').length === 2,
    );
    const terminal = (taskId: string) =>
      updates.find(
        (update) =>
          update.task_id.value === taskId && update.state !== 'TASK_STARTING' && update.state !== 'TASK_RUNNING',
      );
    expect(terminal('s3-task')?.state).toBe('TASK_FINISHED');
    expect(readFileSync(join(agent.sandboxOf('M-0000', 's3-task') as string, 'stdout'), 'utf8')).toBe('from s3');
    expect(terminal('hdfs-task')).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
    expect(readFileSync(join(agent.sandboxOf('M-0000', 'hdfs-task') as string, 'stderr'), 'utf8')).toContain(
      "Failed to fetch 'hdfs://namenode/object.txt': the URI scheme 'hdfs' is not supported by mesos-local",
    );
  });

  it('aborts a fetch in flight when the agent stops, starting nothing afterwards', async () => {
    const server = await serve({ '/never.txt': () => {} });
    const updates: TaskStatus[] = [];
    const agent = await agentWith(updates);
    agent.launchTask(framework, {
      name: 't',
      task_id: { value: 't4' },
      agent_id: { value: 'M-S0' },
      command: { value: 'touch started', uris: [{ value: `${server.url}/never.txt` }] },
    });
    await until(() => server.hits.get('/never.txt') === 1);
    const directory = agent.sandboxOf('M-0000', 't4') as string;
    await agent.stop();
    // Aborted, not merely abandoned: the fetch had failed by the time stop() returned.
    expect(readFileSync(join(directory, 'stderr'), 'utf8')).toContain(`Failed to fetch '${server.url}/never.txt'`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(updates).toEqual([]);
    expect(() => statSync(join(directory, 'started'))).toThrow();
  });

  it('stops within its bound even when an injected fetcher ignores the abort', async () => {
    const fetcher = new AgentFetcher(join(root, 'agent'), { fetchers: { s3: () => new Promise<void>(() => {}) } });
    const fetching = fetcher.fetch([{ value: 's3://bucket/hang.jar' }], sandbox, 'c1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await fetcher.stop(100);
    expect(fetcher.stopped).toBe(true);
    void fetching;
  });

  it('kills a task killed while fetching without starting its command', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await serve({
      '/slow.txt': (_request, response) => {
        void released.then(() => response.writeHead(200).end('late'));
      },
    });
    const updates: TaskStatus[] = [];
    const agent = await agentWith(updates);
    agent.launchTask(framework, {
      name: 't',
      task_id: { value: 't3' },
      agent_id: { value: 'M-S0' },
      command: { value: 'touch started', uris: [{ value: `${server.url}/slow.txt` }] },
    });
    await until(() => server.hits.get('/slow.txt') === 1);
    agent.killTask('M-0000', 't3');
    release();
    await until(() => updates.length > 0);
    expect(updates[0]).toMatchObject({ state: 'TASK_KILLED', reason: 'REASON_TASK_KILLED_DURING_LAUNCH' });
    expect(() => statSync(join(agent.sandboxOf('M-0000', 't3') as string, 'started'))).toThrow();
  });
});
