import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSparkMesosError, type SparkMesosError } from '@spark-mesos/errors';
import { MockAgent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ArtifactFile, DestinationFactory } from './destination.js';
import { startWebHdfsServer, type WebHdfsTestServer } from './testing/webhdfs-server.js';
import { uploadArtifact } from './upload.js';
import { createWebHdfsDestination } from './webhdfs-destination.js';

let workDirectory: string;
let server: WebHdfsTestServer | undefined;
let fileCounter = 0;

async function makeFile(size: number): Promise<ArtifactFile & { bytes: Buffer }> {
  const bytes = randomBytes(size);
  const path = join(workDirectory, `artifact-${++fileCounter}.tgz`);
  await writeFile(path, bytes);
  return { path, size, sha256: createHash('sha256').update(bytes).digest('hex'), bytes };
}

async function rejection(promise: Promise<unknown>): Promise<SparkMesosError> {
  try {
    await promise;
  } catch (error) {
    if (isSparkMesosError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  workDirectory = await mkdtemp(join(tmpdir(), 'spark-mesos-webhdfs-test-'));
});

afterAll(async () => {
  if (workDirectory) await rm(workDirectory, { recursive: true, force: true });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('createWebHdfsDestination against the WebHDFS fixture', () => {
  it('is a DestinationFactory', () => {
    const factory: DestinationFactory = createWebHdfsDestination;
    expect(factory('hdfs://nn:8020/spark/executors/', {}).uriOf('x.tgz')).toBe('hdfs://nn:8020/spark/executors/x.tgz');
    expect(factory('webhdfs://nn:9870/a', {}).uriOf('x.tgz')).toBe('webhdfs://nn:9870/a/x.tgz');
  });

  it('is the store uploadArtifact picks for hdfs://, webhdfs:// and swebhdfs:// (the default table)', async () => {
    server = await startWebHdfsServer({ rpcAddress: 'nn.example:8020' });
    const conf: Record<string, string> = {
      'spark.hadoop.dfs.namenode.http-address': server.namenodeHttpAddress,
      'spark.hadoop.hadoop.user.name': 'alice',
    };
    const file = await makeFile(20_000);
    const result = await uploadArtifact(file.path, 'hdfs://127.0.0.1:8020/spark/pkgs/', {
      conf: (key) => conf[key],
      retries: 0,
    });
    expect(result.uri).toMatch(/^hdfs:\/\/127\.0\.0\.1:8020\/spark\/pkgs\/artifact-\d+\.tgz$/);
    expect(result.uploaded).toBe(true);
    expect(server.readFile(new URL(result.uri).pathname)?.equals(file.bytes)).toBe(true);
    const again = await uploadArtifact(file.path, `webhdfs://${server.namenodeHttpAddress}/spark/pkgs/`, {
      conf: (key) => conf[key],
      retries: 0,
    });
    expect(again.uploaded).toBe(false);
  });

  it('uploads an hdfs:// package through the namenode redirect to a temporary name, then renames it', async () => {
    server = await startWebHdfsServer({ rpcAddress: 'nn.example:8020' });
    const conf: Record<string, string> = {
      'spark.hadoop.dfs.namenode.http-address': server.namenodeHttpAddress,
      'spark.hadoop.hadoop.user.name': 'alice',
    };
    const destination = createWebHdfsDestination('hdfs://127.0.0.1:8020/spark/executors/', {
      conf: (key) => conf[key],
    });
    const file = await makeFile(300_000);
    expect(await destination.stat('pkg.tgz')).toBeUndefined();
    const progress: number[] = [];
    await destination.put('pkg.tgz', file, { onProgress: (sent) => progress.push(sent) });

    expect(server.readFile('/spark/executors/pkg.tgz')?.equals(file.bytes)).toBe(true);
    expect(server.list('/spark/executors')).toEqual(['pkg.tgz']); // no temporary left
    expect(await destination.stat('pkg.tgz')).toEqual({ size: file.size });
    expect(await destination.checkFetchable('pkg.tgz')).toEqual({ size: file.size });
    expect(progress.at(-1)).toBe(file.size);

    const calls = server.requests.map((request) => `${request.server} ${request.method} ${request.op}`);
    expect(calls.slice(0, 6)).toEqual([
      'namenode GET GETFILESTATUS',
      'namenode PUT CREATE',
      'datanode PUT CREATE',
      'namenode GET GETFILESTATUS',
      'namenode GET GETFILESTATUS',
      'namenode PUT RENAME',
    ]);
    const [, create, write, , , rename] = server.requests;
    expect(create?.path).toMatch(/^\/spark\/executors\/\.pkg\.tgz\.[0-9a-f]{12}\._COPYING_$/);
    expect(create?.query).toMatchObject({ overwrite: 'false', 'user.name': 'alice' });
    expect(write?.path).toBe(create?.path);
    expect(write?.query).toMatchObject({ namenoderpcaddress: 'nn.example:8020', 'user.name': 'alice' });
    expect(write?.headers['x-xsrf-header']).toBe('');
    expect(rename?.query).toMatchObject({ destination: '/spark/executors/pkg.tgz' });
    expect(server.requests.every((request) => request.query['user.name'] === 'alice')).toBe(true);
  });

  it('takes the user from HADOOP_USER_NAME with an explicit webhdfs:// URI, and remove deletes', async () => {
    server = await startWebHdfsServer({ readOnlyPaths: [{ path: '/data', users: ['alice'] }] });
    const destination = createWebHdfsDestination(`webhdfs://${server.namenodeHttpAddress}/data/pkgs/`, {
      env: (name) => (name === 'HADOOP_USER_NAME' ? 'bob' : undefined),
    });
    const file = await makeFile(1000);
    await destination.put('pkg.tgz', file);
    expect(server.readFile('/data/pkgs/pkg.tgz')?.length).toBe(1000);
    expect(server.requests.every((request) => request.query['user.name'] === 'bob')).toBe(true);
    await destination.remove('pkg.tgz');
    expect(server.readFile('/data/pkgs/pkg.tgz')).toBeUndefined();
    await destination.remove('pkg.tgz'); // already gone: still fine
  });

  it('leaves nothing under the final name when the datanode connection drops halfway', async () => {
    server = await startWebHdfsServer();
    const destination = createWebHdfsDestination(`webhdfs://${server.namenodeHttpAddress}/cut/`, {
      webHdfs: { user: 'alice' },
    });
    const file = await makeFile(2_000_000);
    server.faults.dropCreateAfterBytes = 1_000_000;
    const failure = await rejection(destination.put('pkg.tgz', file));
    expect(failure.code).toBe('SM_ERR_ARTIFACT_UPLOAD');
    expect(failure.details.retryable).toBe(true);
    expect(failure.message).toContain('datanode');
    expect(server.readFile('/cut/pkg.tgz')).toBeUndefined();
    expect(await destination.stat('pkg.tgz')).toBeUndefined();
    const write = server.requests.find((request) => request.server === 'datanode' && request.op === 'CREATE');
    const deleted = server.requests.find((request) => request.op === 'DELETE');
    expect(deleted?.path).toBe(write?.path); // the partial temporary file was deleted
    expect(server.list('/cut')).toEqual([]);
    // The next attempt (the flow retries) succeeds.
    await destination.put('pkg.tgz', file);
    expect(server.readFile('/cut/pkg.tgz')?.equals(file.bytes)).toBe(true);
  });

  it('stops on abort, leaving nothing under the final name and not retrying', async () => {
    server = await startWebHdfsServer();
    const destination = createWebHdfsDestination(`webhdfs://${server.namenodeHttpAddress}/abort/`, {
      webHdfs: { user: 'alice' },
    });
    const file = await makeFile(4_000_000);
    const controller = new AbortController();
    const failure = await rejection(
      destination.put('pkg.tgz', file, {
        signal: controller.signal,
        onProgress: (sent) => {
          if (sent > 0) controller.abort(new Error('user pressed ctrl-c'));
        },
      }),
    );
    expect(failure.details.retryable).toBe(false);
    expect(server.readFile('/abort/pkg.tgz')).toBeUndefined();
    await vi.waitFor(() => expect(server?.list('/abort')).toEqual([]));
  });

  it('marks a refused namenode connection as retryable', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const destination = createWebHdfsDestination(`webhdfs://127.0.0.1:${closedPort}/p/`, {});
    const failure = await rejection(destination.stat('pkg.tgz'));
    expect(failure.details).toMatchObject({ retryable: true });
    expect(failure.message).toContain(`the namenode http://127.0.0.1:${closedPort}`);
  });

  it('explains an unwritable path and does not retry it', async () => {
    server = await startWebHdfsServer({ readOnlyPaths: [{ path: '/locked', users: ['bob'] }] });
    server.writeFile('/locked/readme', Buffer.from('x'));
    const uri = `webhdfs://${server.namenodeHttpAddress}/locked/pkgs/`;
    const asBob = createWebHdfsDestination(uri, { webHdfs: { user: 'bob' } });
    const file = await makeFile(5000);
    const failure = await rejection(asBob.put('pkg.tgz', file));
    expect(failure.code).toBe('SM_ERR_ARTIFACT_UPLOAD');
    expect(failure.details).toMatchObject({ retryable: false, status: 403, exception: 'AccessControlException' });
    expect(failure.message).toContain('Permission denied: user=bob');
    expect(failure.message).toContain(`${uri}pkg.tgz`);
    expect(failure.message).toContain('HADOOP_USER_NAME');
    expect(server.list('/locked')).toEqual(['readme']);

    const asAlice = createWebHdfsDestination(uri, { webHdfs: { user: 'alice' } });
    await asAlice.put('pkg.tgz', file);
    expect(server.readFile('/locked/pkgs/pkg.tgz')?.length).toBe(5000);
  });

  it('reports a corrupt object under the final name through stat, and put replaces it', async () => {
    server = await startWebHdfsServer();
    server.writeFile('/corrupt/pkg.tgz', Buffer.from('truncated'));
    const destination = createWebHdfsDestination(`webhdfs://${server.namenodeHttpAddress}/corrupt`, {
      webHdfs: { user: 'alice' },
    });
    const file = await makeFile(4096);
    expect(await destination.stat('pkg.tgz')).toEqual({ size: 9 });
    await destination.put('pkg.tgz', file);
    expect(server.readFile('/corrupt/pkg.tgz')?.equals(file.bytes)).toBe(true);
    expect(server.list('/corrupt')).toEqual(['pkg.tgz']);
    const deletes = server.requests.filter((request) => request.op === 'DELETE').map((request) => request.path);
    expect(deletes).toEqual(['/corrupt/pkg.tgz']);
  });

  it('keeps a complete object another uploader put under the final name meanwhile', async () => {
    server = await startWebHdfsServer();
    const file = await makeFile(2048);
    server.writeFile('/race/pkg.tgz', file.bytes);
    const destination = createWebHdfsDestination(`webhdfs://${server.namenodeHttpAddress}/race/`, {
      webHdfs: { user: 'alice' },
    });
    await destination.put('pkg.tgz', file);
    expect(server.list('/race')).toEqual(['pkg.tgz']);
    expect(server.requests.some((request) => request.op === 'RENAME')).toBe(false);
  });

  it('sends a delegation token instead of user.name, and explains an invalid one without printing it', async () => {
    server = await startWebHdfsServer({ delegationTokens: { 'good-token-123': 'carol' } });
    const uri = `webhdfs://${server.namenodeHttpAddress}/tok/`;
    const file = await makeFile(100);
    const destination = createWebHdfsDestination(uri, {
      webHdfs: { delegationToken: 'good-token-123', user: 'ignored' },
      conf: () => 'ignored-too',
    });
    await destination.put('pkg.tgz', file);
    expect(await destination.checkFetchable('pkg.tgz')).toEqual({ size: 100 });
    expect(server.requests.every((request) => request.query.delegation === 'good-token-123')).toBe(true);
    expect(server.requests.some((request) => 'user.name' in request.query)).toBe(false);

    const stale = createWebHdfsDestination(uri, { webHdfs: { delegationToken: 'stale-token-456' } });
    const failure = await rejection(stale.put('other.tgz', file));
    expect(failure.details).toMatchObject({ retryable: false, status: 403, exception: 'InvalidToken' });
    expect(failure.message).toContain('delegation token');
    expect(failure.message).not.toContain('stale-token-456');
  });

  it('says a missing package is not fetchable, naming the URI', async () => {
    server = await startWebHdfsServer();
    const destination = createWebHdfsDestination(`webhdfs://${server.namenodeHttpAddress}/none/`, {
      webHdfs: { user: 'alice' },
    });
    const failure = await rejection(destination.checkFetchable('pkg.tgz'));
    expect(failure.code).toBe('SM_ERR_ARTIFACT_UNREACHABLE');
    expect(failure.details).toMatchObject({ status: 404 });
    expect(failure.message).toContain(`webhdfs://${server.namenodeHttpAddress}/none/pkg.tgz`);
    expect(failure.message).toContain('FileNotFoundException');
  });

  it('says a package the datanode serves without a Content-Length is not fetchable', async () => {
    server = await startWebHdfsServer();
    const destination = createWebHdfsDestination(`webhdfs://${server.namenodeHttpAddress}/p/`, {
      webHdfs: { user: 'alice' },
    });
    await destination.put('pkg.tgz', await makeFile(10_000));
    server.faults.openWithoutContentLength = true;
    const failure = await rejection(destination.checkFetchable('pkg.tgz'));
    expect(failure.code).toBe('SM_ERR_ARTIFACT_UNREACHABLE');
    expect(failure.message).toContain('without a Content-Length');
    expect(await destination.checkFetchable('pkg.tgz')).toEqual({ size: 10_000 });
  });

  it('refuses a directory under the final name', async () => {
    server = await startWebHdfsServer();
    server.writeFile('/dir/pkg.tgz/inner', Buffer.from('x'));
    const destination = createWebHdfsDestination(`webhdfs://${server.namenodeHttpAddress}/dir/`, {
      webHdfs: { user: 'alice' },
    });
    const failure = await rejection(destination.stat('pkg.tgz'));
    expect(failure.details).toMatchObject({ retryable: false });
    expect(failure.message).toContain('is a directory');
  });
});

describe('createWebHdfsDestination with an HA pair', () => {
  let standby: WebHdfsTestServer | undefined;
  afterEach(async () => {
    await standby?.close();
    standby = undefined;
  });

  it('skips the standby namenode of an hdfs://<nameservice>/ URI and explains when none is active', async () => {
    standby = await startWebHdfsServer();
    standby.faults.standby = true;
    server = await startWebHdfsServer();
    const conf: Record<string, string> = {
      'spark.hadoop.dfs.nameservices': 'mycluster',
      'spark.hadoop.dfs.ha.namenodes.mycluster': 'nn1,nn2',
      'spark.hadoop.dfs.namenode.http-address.mycluster.nn1': standby.namenodeHttpAddress,
      'spark.hadoop.dfs.namenode.http-address.mycluster.nn2': server.namenodeHttpAddress,
    };
    const destination = createWebHdfsDestination('hdfs://mycluster/ha/', {
      conf: (key) => conf[key],
      webHdfs: { user: 'alice' },
    });
    expect(destination.uriOf('pkg.tgz')).toBe('hdfs://mycluster/ha/pkg.tgz');
    const file = await makeFile(3000);
    await destination.put('pkg.tgz', file);
    expect(server.readFile('/ha/pkg.tgz')?.equals(file.bytes)).toBe(true);
    expect(await destination.checkFetchable('pkg.tgz')).toEqual({ size: 3000 });
    // Once found, the active namenode is asked first.
    expect(standby.requests).toHaveLength(1);
    expect(server.requests.every((request) => request.method !== 'GET' || request.query['user.name'] === 'alice')).toBe(
      true,
    );

    server.faults.standby = true;
    const failure = await rejection(destination.stat('pkg.tgz'));
    expect(failure.details).toMatchObject({ retryable: false, status: 403, exception: 'StandbyException' });
    expect(failure.message).toContain('active namenode');
  });

  it('names the missing HA settings', () => {
    const conf: Record<string, string> = { 'spark.hadoop.dfs.nameservices': 'c1' };
    expect(() => createWebHdfsDestination('hdfs://c1/p/', { conf: (key) => conf[key] })).toThrow(
      /spark\.hadoop\.dfs\.ha\.namenodes\.c1/,
    );
  });
});

describe('createWebHdfsDestination addressing', () => {
  it('reaches an hdfs:// namenode on HTTP port 9870 by default, through the given dispatcher', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const seen: string[] = [];
    agent
      .get('http://nn.example:9870')
      .intercept({
        path: (path) => {
          seen.push(path);
          return true;
        },
        method: 'GET',
      })
      .reply(
        404,
        {
          RemoteException: {
            exception: 'FileNotFoundException',
            javaClassName: 'java.io.FileNotFoundException',
            message: 'File does not exist: /a b/pkg.tgz',
          },
        },
        { headers: { 'content-type': 'application/json' } },
      );
    const destination = createWebHdfsDestination('hdfs://nn.example:8020/a%20b/', {
      dispatcher: agent,
      webHdfs: { user: 'dan' },
    });
    expect(await destination.stat('pkg.tgz')).toBeUndefined();
    expect([...new Set(seen)]).toEqual(['/webhdfs/v1/a%20b/pkg.tgz?op=GETFILESTATUS&user.name=dan']);
    await agent.close();
  });

  it('uses the URI host when the configured HTTP address binds 0.0.0.0', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get('http://nn.example:50070')
      .intercept({ path: /GETFILESTATUS/, method: 'GET' })
      .reply(200, { FileStatus: { length: 42, type: 'FILE' } }, { headers: { 'content-type': 'application/json' } });
    const destination = createWebHdfsDestination('hdfs://nn.example/p/', {
      dispatcher: agent,
      conf: (key) => (key === 'spark.hadoop.dfs.namenode.http-address' ? '0.0.0.0:50070' : undefined),
    });
    expect(await destination.stat('pkg.tgz')).toEqual({ size: 42 });
    await agent.close();
  });

  it('does not take a bare 404 (no WebHDFS there) for a missing file', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get('http://nn.example:9870')
      .intercept({ path: /GETFILESTATUS/, method: 'GET' })
      .reply(404, '<html>Not Found</html>');
    const destination = createWebHdfsDestination('hdfs://nn.example:8020/p/', { dispatcher: agent });
    const failure = await rejection(destination.stat('pkg.tgz'));
    expect(failure.details).toMatchObject({ retryable: false, status: 404 });
    expect(failure.message).toContain('dfs.webhdfs.enabled');
    await agent.close();
  });

  it('rejects other schemes and credentials in the URI', () => {
    expect(() => createWebHdfsDestination('s3://bucket/p/', {})).toThrow(/not one of hdfs, webhdfs, swebhdfs/);
    let thrown: unknown;
    try {
      createWebHdfsDestination('webhdfs://u:pw-secret@nn:9870/p/', {});
    } catch (error) {
      thrown = error;
    }
    expect(isSparkMesosError(thrown, 'SM_ERR_ARTIFACT_UPLOAD')).toBe(true);
    expect((thrown as Error).message).not.toContain('pw-secret');
  });
});
