import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpDestination } from './http-destination.js';
import {
  findNginx,
  NGINX_TEST_TOKEN,
  NGINX_TEST_USER,
  type NginxTestServer,
  startNginxServer,
} from './testing/nginx-server.js';
import { ensureExecutorPackage, uploadArtifact } from './upload.js';

const NAME = 'spark-mesos-executor-00112233aabbccdd.tgz';
const noWait = { progress: false as const, sleep: async () => {} };

const cleanup: string[] = [];
afterEach(async () => {
  for (const directory of cleanup.splice(0)) await rm(directory, { recursive: true, force: true });
});

async function packageFile(size: number): Promise<{ file: string; bytes: Buffer }> {
  const directory = await mkdtemp(join(tmpdir(), 'spark-mesos-http-'));
  cleanup.push(directory);
  const bytes = randomBytes(size);
  const file = join(directory, NAME);
  await writeFile(file, bytes);
  return { file, bytes };
}

function listen(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

function close(server: Server | TcpServer): Promise<void> {
  return new Promise((resolve) => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * A TCP proxy to nginx that cuts the first connection carrying a PUT after `cutAfter` bytes
 * of it went through: an upload dropped halfway, as a flaky network or a restarting proxy would.
 */
async function cuttingProxy(
  target: number,
  cutAfter: number,
): Promise<{ port: number; cuts: () => number; close: () => Promise<void> }> {
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: target });
    sockets.add(client).add(upstream);
    let forwarded = 0;
    let cutting = false;
    client.on('data', (chunk: Buffer) => {
      if (forwarded === 0 && cuts === 0 && chunk.subarray(0, 4).toString('latin1') === 'PUT ') cutting = true;
      forwarded += chunk.length;
      if (cutting && forwarded > cutAfter) {
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  const stop = async (): Promise<void> => {
    // Kept-alive client connections would hold server.close() open.
    for (const socket of sockets) socket.destroy();
    await close(server);
  };
  return { port: await listen(server), cuts: () => cuts, close: stop };
}

// With CI=true a missing nginx fails these tests (startNginxServer throws) instead of skipping them.
describe.skipIf(!findNginx() && process.env.CI !== 'true')('http:// destination against nginx with WebDAV', () => {
  let nginx: NginxTestServer;
  beforeAll(async () => {
    nginx = await startNginxServer();
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it('uploads with PUT to a temporary name and MOVE, then a re-upload is one GET', async () => {
    const { file, bytes } = await packageFile(3 * 1024 * 1024 + 17);
    const before = nginx.accessLog().length;
    const result = await uploadArtifact(file, `${nginx.url}/dav/packages/`, noWait);
    expect(result).toMatchObject({ uri: `${nginx.url}/dav/packages/${NAME}`, uploaded: true });
    expect(readFileSync(join(nginx.root, 'dav', 'packages', NAME)).equals(bytes)).toBe(true);
    const requests = nginx.accessLog().slice(before);
    expect(requests[0]).toBe(`GET /dav/packages/${NAME} 404`);
    expect(requests[1]).toMatch(/^PUT \/dav\/packages\/\.spark-mesos-executor-.*\.partial-[0-9a-f]+ 201$/);
    expect(requests[2]).toMatch(/^MOVE \/dav\/packages\/\.spark-mesos-executor-.*\.partial-[0-9a-f]+ 20[14]$/);
    expect(requests[3]).toBe(`GET /dav/packages/${NAME} 200`);
    expect(requests).toHaveLength(4);
    expect(readdirSync(join(nginx.root, 'dav', 'packages'))).toEqual([NAME]);

    const again = nginx.accessLog().length;
    expect((await uploadArtifact(file, `${nginx.url}/dav/packages/`, noWait)).uploaded).toBe(false);
    expect(nginx.accessLog().slice(again)).toEqual([`GET /dav/packages/${NAME} 200`]);
  });

  it('reports progress and uploads the same through node:http and through an injected undici dispatcher', async () => {
    const { file, bytes } = await packageFile(5 * 1024 * 1024 + 3);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const agent = new Agent();
    try {
      for (const [path, options] of [
        ['plain', {}],
        ['undici', { dispatcher: agent }],
      ] as const) {
        const store = createHttpDestination(`${nginx.url}/dav/progress/${path}/`, options);
        const seen: number[] = [];
        await store.put(NAME, { path: file, size: bytes.length, sha256 }, { onProgress: (sent) => seen.push(sent) });
        expect(seen.at(-1)).toBe(bytes.length);
        expect(seen.length).toBeGreaterThan(2);
        expect([...seen].sort((a, b) => a - b)).toEqual(seen);
        expect(readFileSync(join(nginx.root, 'dav', 'progress', path, NAME)).equals(bytes)).toBe(true);
        expect(await store.stat(NAME)).toEqual({ size: bytes.length, fetchable: true });
      }
    } finally {
      await agent.close();
    }
  });

  it('replaces a corrupt object already under the final name', async () => {
    const { file, bytes } = await packageFile(100_000);
    await mkdir(join(nginx.root, 'dav', 'corrupt'), { recursive: true });
    await writeFile(join(nginx.root, 'dav', 'corrupt', NAME), bytes.subarray(0, 5000));
    const result = await uploadArtifact(file, `${nginx.url}/dav/corrupt/`, noWait);
    expect(result.uploaded).toBe(true);
    expect(readFileSync(join(nginx.root, 'dav', 'corrupt', NAME)).equals(bytes)).toBe(true);
  });

  it('falls back to PUT under the final name where MOVE is refused, leaving no temporary file', async () => {
    const { file, bytes } = await packageFile(50_000);
    const result = await uploadArtifact(file, `${nginx.url}/nomove/p/`, noWait);
    expect(result.uploaded).toBe(true);
    expect(readFileSync(join(nginx.root, 'nomove', 'p', NAME)).equals(bytes)).toBe(true);
    expect(readdirSync(join(nginx.root, 'nomove', 'p'))).toEqual([NAME]);
  });

  it('explains an unwritable destination (no WebDAV there) without retrying', async () => {
    const { file } = await packageFile(1000);
    const waits: number[] = [];
    const error = await uploadArtifact(file, `${nginx.url}/readonly/`, {
      progress: false,
      sleep: async (ms) => {
        waits.push(ms);
      },
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'SM_ERR_ARTIFACT_UPLOAD', details: { status: 405, retryable: false } });
    expect((error as Error).message).toMatch(/^\[PUT\] "http:\/\/127\.0\.0\.1:\d+\/readonly\/\.spark-mesos-executor-/);
    expect((error as Error).message).toContain('dav_methods PUT DELETE MOVE');
    expect(waits).toEqual([]);
    expect(readdirSync(join(nginx.root, 'readonly'))).toEqual([]);
  });

  it('explains wrong credentials and never prints them; right ones (basic or bearer) work', async () => {
    const { file } = await packageFile(2000);
    const wrong = `http://${NGINX_TEST_USER.username}:wrong-secret@127.0.0.1:${nginx.port}/private/`;
    const error = await uploadArtifact(file, wrong, noWait).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'SM_ERR_ARTIFACT_UPLOAD', details: { status: 401, retryable: false } });
    const message = (error as Error).message;
    expect(message).toContain(`http://${NGINX_TEST_USER.username}:****@127.0.0.1:${nginx.port}/private/`);
    expect(message).toContain('401 Unauthorized');
    expect(message).toMatch(/credentials/);
    expect(JSON.stringify(error)).not.toContain('wrong-secret');
    expect(message).not.toContain('wrong-secret');

    const withOptions = await uploadArtifact(file, `${nginx.url}/private/`, {
      ...noWait,
      credentials: { username: NGINX_TEST_USER.username, password: 'also-wrong' },
    }).catch((caught: unknown) => caught);
    expect((withOptions as Error).message).not.toContain('also-wrong');

    const right = await uploadArtifact(file, `${nginx.url}/private/`, { ...noWait, credentials: NGINX_TEST_USER });
    expect(right).toMatchObject({ uploaded: true, uri: `${nginx.url}/private/${NAME}` });
    const bearer = await uploadArtifact(file, `${nginx.url}/bearer/`, {
      ...noWait,
      credentials: { token: NGINX_TEST_TOKEN },
    });
    expect(bearer.uploaded).toBe(true);
    const badBearer = await uploadArtifact(file, `${nginx.url}/bearer/b/`, {
      ...noWait,
      credentials: { token: 'not-the-token' },
    }).catch((caught: unknown) => caught);
    expect(badBearer).toMatchObject({ details: { status: 401 } });
    expect((badBearer as Error).message).not.toContain('not-the-token');
  });

  it('leaves nothing under the final name when the connection drops halfway, and a retry completes it', async () => {
    const { file, bytes } = await packageFile(4 * 1024 * 1024);
    const proxy = await cuttingProxy(nginx.port, 1024 * 1024);
    try {
      const base = `http://127.0.0.1:${proxy.port}/dav/cut/`;
      const error = await uploadArtifact(file, base, { ...noWait, retries: 0 }).catch((caught: unknown) => caught);
      expect(proxy.cuts()).toBe(1);
      expect(error).toMatchObject({ code: 'SM_ERR_ARTIFACT_UPLOAD', details: { retryable: true } });
      expect((error as Error).message).toContain('gave up after 1 attempt)');
      expect(existsSync(join(nginx.root, 'dav', 'cut', NAME))).toBe(false);
      const left = existsSync(join(nginx.root, 'dav', 'cut')) ? readdirSync(join(nginx.root, 'dav', 'cut')) : [];
      expect(left).toEqual([]);

      // The proxy cuts only once: with retries the upload completes.
      const result = await uploadArtifact(file, base, noWait);
      expect(result.uploaded).toBe(true);
      expect(readFileSync(join(nginx.root, 'dav', 'cut', NAME)).equals(bytes)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('packs and uploads the executor package, and checks a finished package URI', async () => {
    const { createPackFixture } = await import('./testing/package-fixtures.js');
    const fixture = await createPackFixture();
    cleanup.push(fixture.directory);
    const options = {
      ...noWait,
      runtimeDirectory: fixture.runtimeDirectory,
      application: { directory: fixture.appDirectory },
      outputDirectory: join(fixture.directory, 'out'),
      destination: `${nginx.url}/dav/exec/`,
    };
    const first = await ensureExecutorPackage(options);
    expect(first.uploaded).toBe(true);
    expect(first.uri).toBe(`${nginx.url}/dav/exec/spark-mesos-executor-${first.sha256?.slice(0, 16)}.tgz`);
    expect((await ensureExecutorPackage(options)).uploaded).toBe(false);
    const finished = await ensureExecutorPackage({ ...options, destination: first.uri });
    expect(finished).toMatchObject({ uri: first.uri, uploaded: false });
    const missing = await ensureExecutorPackage({ ...options, destination: `${nginx.url}/dav/exec/nothing.tgz` }).catch(
      (caught: unknown) => caught,
    );
    expect(missing).toMatchObject({ code: 'SM_ERR_ARTIFACT_UNREACHABLE' });
    expect((missing as Error).message).toContain(`"${nginx.url}/dav/exec/nothing.tgz"`);
    expect((missing as Error).message).toContain('404');
  });
});

describe('http:// fetch checks against plain servers', () => {
  it('reports an unreachable URI with the URI, what failed and the fix', async () => {
    const server = createTcpServer();
    const port = await listen(server);
    await close(server); // nothing listens there any more
    const uri = `http://user:pw-123@127.0.0.1:${port}/packages/pkg.tgz`;
    const error = await ensureExecutorPackage({
      runtimeDirectory: '/nonexistent',
      destination: uri,
      ...noWait,
      retries: 1,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'SM_ERR_ARTIFACT_UNREACHABLE' });
    const message = (error as Error).message;
    expect(message).toContain(`"http://user:****@127.0.0.1:${port}/packages/pkg.tgz" is not reachable`);
    expect(message).toMatch(/reachable from every agent/);
    expect(message).not.toContain('pw-123');
  });

  it('rejects a package served without a Content-Length (the fetcher cache needs the size)', async () => {
    const server = createHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/gzip', 'transfer-encoding': 'chunked' });
      response.end(Buffer.alloc(100));
    });
    const port = await listen(server);
    try {
      const error = await ensureExecutorPackage({
        runtimeDirectory: '/nonexistent',
        destination: `http://127.0.0.1:${port}/pkg.tgz`,
        ...noWait,
      }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'SM_ERR_ARTIFACT_UNREACHABLE' });
      expect((error as Error).message).toMatch(/without a Content-Length.*fetcher cache/);
    } finally {
      await close(server);
    }
  });

  it('gives up on a server that takes the upload and never answers', async () => {
    const { file } = await packageFile(10_000);
    const server = createHttpServer((request, response) => {
      if (request.method === 'GET') response.writeHead(404).end();
      else if (request.method === 'DELETE') response.writeHead(204).end();
      else request.resume(); // reads the body, never answers
    });
    const port = await listen(server);
    try {
      const started = Date.now();
      const error = await uploadArtifact(file, `http://127.0.0.1:${port}/up/`, {
        ...noWait,
        retries: 1,
        idleTimeoutMs: 200,
      }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'SM_ERR_ARTIFACT_UPLOAD', details: { retryable: true, attempts: 2 } });
      expect((error as Error).message).toContain('no progress for 200 ms');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await close(server);
    }
  });

  it('without MOVE, removes an upload the server stored altered and says so', async () => {
    const { file } = await packageFile(10_000);
    const stored = new Map<string, Buffer>();
    const server = createHttpServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '';
        if (request.method === 'PUT') {
          const body = Buffer.concat(chunks);
          body[0] = (body[0] ?? 0) ^ 0xff; // same size, other bytes
          stored.set(path, body);
          response.writeHead(201).end();
        } else if (request.method === 'DELETE') {
          stored.delete(path);
          response.writeHead(204).end();
        } else if (request.method === 'GET' && stored.has(path)) {
          response.writeHead(200, { 'content-length': String(stored.get(path)?.length) }).end(stored.get(path));
        } else {
          response.writeHead(request.method === 'MOVE' ? 405 : 404).end();
        }
      });
    });
    const port = await listen(server);
    try {
      const error = await uploadArtifact(file, `http://127.0.0.1:${port}/up/`, { ...noWait, retries: 1 }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ code: 'SM_ERR_ARTIFACT_UPLOAD', details: { retryable: true, attempts: 2 } });
      expect((error as Error).message).toContain('other bytes than were sent');
      expect([...stored.keys()]).toEqual([]);
    } finally {
      await close(server);
    }
  });

  it('retries a 503 answer to the upload and succeeds', async () => {
    const { file, bytes } = await packageFile(10_000);
    const stored = new Map<string, Buffer>();
    let refused = 0;
    const server = createHttpServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '';
        if (request.method === 'PUT' && refused++ === 0) {
          response.writeHead(503).end('busy');
        } else if (request.method === 'PUT') {
          stored.set(path, Buffer.concat(chunks));
          response.writeHead(201).end();
        } else if (request.method === 'MOVE') {
          const destination = new URL(String(request.headers.destination)).pathname;
          stored.set(destination, stored.get(path) ?? Buffer.alloc(0));
          stored.delete(path);
          response.writeHead(201).end();
        } else if (request.method === 'GET' && stored.has(path)) {
          response.writeHead(200, { 'content-length': String(stored.get(path)?.length) }).end(stored.get(path));
        } else {
          response.writeHead(404).end();
        }
      });
    });
    const port = await listen(server);
    try {
      const waits: number[] = [];
      const result = await uploadArtifact(file, `http://127.0.0.1:${port}/up/`, {
        progress: false,
        sleep: async (ms) => {
          waits.push(ms);
        },
      });
      expect(result.uploaded).toBe(true);
      expect(waits).toHaveLength(1);
      expect(stored.get(`/up/${NAME}`)?.equals(bytes)).toBe(true);
      expect([...stored.keys()]).toEqual([`/up/${NAME}`]);
    } finally {
      await close(server);
    }
  });
});
