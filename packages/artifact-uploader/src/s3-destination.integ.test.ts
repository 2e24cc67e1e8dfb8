import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isSparkMesosError, type SparkMesosError } from '@spark-mesos/errors';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArtifactFile, DestinationFactory } from './destination.js';
import { createS3Destination } from './s3-destination.js';
import { type S3TestServer, startS3Server } from './testing/s3-server.js';
import { uploadArtifact } from './upload.js';
import { runUploadCommand } from './upload-command.js';

const MiB = 1024 * 1024;
let server: S3TestServer;
let workDirectory: string;
let fileCounter = 0;

async function makeFile(size: number): Promise<ArtifactFile> {
  const bytes = randomBytes(size);
  const path = join(workDirectory, `artifact-${++fileCounter}.tgz`);
  await writeFile(path, bytes);
  return { path, size, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function directClient(): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function readObject(key: string): Promise<Buffer> {
  const output = await directClient().send(new GetObjectCommand({ Bucket: 'artifacts', Key: key }));
  return Buffer.from(await (output.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** The SDK adds `x-id=<Operation>` to some URLs; S3 ignores it. */
function withoutSdkMarker(url: string): string {
  return url.replace(/[?&]x-id=[A-Za-z]+$/, '').replace(/\?x-id=[A-Za-z]+&/, '?');
}

function s3Options(extra: Record<string, unknown> = {}) {
  return {
    s3: {
      endpoint: server.endpoint,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      ...extra,
    },
  };
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
  server = await startS3Server({ buckets: ['artifacts'] });
  workDirectory = await mkdtemp(join(tmpdir(), 'spark-mesos-s3-test-'));
});

afterAll(async () => {
  await server?.close();
  if (workDirectory) await rm(workDirectory, { recursive: true, force: true });
});

beforeEach(() => {
  server.requests.length = 0;
});

describe('createS3Destination against an S3-compatible server', () => {
  it('spark-mesos-upload reaches s3a:// with the store settings given as --conf', async () => {
    const file = await makeFile(30_000);
    let out = '';
    let err = '';
    const code = await runUploadCommand(
      [
        '--file',
        file.path,
        '--quiet',
        '--conf',
        `spark.hadoop.fs.s3a.endpoint=${server.endpoint}`,
        '--conf',
        `spark.hadoop.fs.s3a.access.key=${server.accessKeyId}`,
        '--conf',
        `spark.hadoop.fs.s3a.secret.key=${server.secretAccessKey}`,
        's3a://artifacts/cli/',
      ],
      {
        stdout: { write: (text: string) => (out += text) },
        stderr: { write: (text: string) => (err += text) } as never,
        env: () => undefined,
      },
    );
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toBe(`s3a://artifacts/cli/artifact-${fileCounter}.tgz\n`);
    expect((await readObject(`cli/artifact-${fileCounter}.tgz`)).length).toBe(file.size);
  });

  it('is the store uploadArtifact picks for s3://, s3a:// and s3n:// (the default table), with Spark conf settings', async () => {
    const file = await makeFile(50_000);
    const conf: Record<string, string> = {
      'spark.hadoop.fs.s3a.endpoint': server.endpoint,
      'spark.hadoop.fs.s3a.access.key': server.accessKeyId,
      'spark.hadoop.fs.s3a.secret.key': server.secretAccessKey,
    };
    const result = await uploadArtifact(file.path, 's3a://artifacts/table/', { conf: (key) => conf[key], retries: 0 });
    expect(result.uri).toBe(`s3a://artifacts/table/artifact-${fileCounter}.tgz`);
    expect(result.uploaded).toBe(true);
    expect((await readObject(`table/artifact-${fileCounter}.tgz`)).length).toBe(file.size);
    for (const scheme of ['s3', 's3n']) {
      const again = await uploadArtifact(file.path, `${scheme}://artifacts/table/`, {
        conf: (key) => conf[key],
        retries: 0,
      });
      expect(again).toMatchObject({ uri: `${scheme}://artifacts/table/artifact-${fileCounter}.tgz`, uploaded: false });
    }
  });

  it('is a DestinationFactory', () => {
    const factory: DestinationFactory = createS3Destination;
    expect(factory('s3a://artifacts/executors/', {}).uriOf('x.tgz')).toBe('s3a://artifacts/executors/x.tgz');
  });

  it('uploads with settings from Spark conf, stores size and sha256, and sends what real S3 accepts', async () => {
    const conf: Record<string, string> = {
      'spark.hadoop.fs.s3a.endpoint': server.endpoint,
      'spark.hadoop.fs.s3a.path.style.access': 'true',
      'spark.hadoop.fs.s3a.access.key': server.accessKeyId,
      'spark.hadoop.fs.s3a.secret.key': server.secretAccessKey,
      'spark.hadoop.fs.s3a.endpoint.region': 'eu-west-1',
    };
    const destination = createS3Destination('s3a://artifacts/conf-run/', { conf: (key) => conf[key] });
    const file = await makeFile(64 * 1024);
    expect(await destination.stat('pkg.tgz')).toBeUndefined();
    const progress: number[] = [];
    await destination.put('pkg.tgz', file, { onProgress: (sent) => progress.push(sent) });
    expect(await destination.stat('pkg.tgz')).toEqual({ size: file.size, sha256: file.sha256 });
    expect(await destination.checkFetchable('pkg.tgz')).toEqual({ size: file.size });
    expect(destination.uriOf('pkg.tgz')).toBe('s3a://artifacts/conf-run/pkg.tgz');
    expect(progress.at(-1)).toBe(file.size);
    const stored = await readObject('conf-run/pkg.tgz');
    expect(createHash('sha256').update(stored).digest('hex')).toBe(file.sha256);

    const put = server.requests.find((request) => request.method === 'PUT');
    expect(withoutSdkMarker(put?.url ?? '')).toBe('/artifacts/conf-run/pkg.tgz'); // path-style
    expect(put?.headers['content-length']).toBe(String(file.size)); // the plain body, not aws-chunked
    expect(put?.headers['x-amz-meta-sha256']).toBe(file.sha256);
    expect(put?.headers.authorization).toContain('/eu-west-1/s3/aws4_request');
    for (const request of server.requests) {
      expect(request.headers['content-encoding'] ?? '').not.toContain('aws-chunked');
      expect(request.headers['x-amz-content-sha256'] ?? '').not.toMatch(/^STREAMING-/);
      expect(request.headers['x-amz-sdk-checksum-algorithm']).toBeUndefined();
      expect(Object.keys(request.headers).filter((name) => name.startsWith('x-amz-checksum-'))).toEqual([]);
    }
  });

  it('answers stat with one HEAD, so a present package is skipped without uploading', async () => {
    const destination = createS3Destination('s3://artifacts/skip/', s3Options());
    const file = await makeFile(1000);
    await destination.put('pkg.tgz', file);
    server.requests.length = 0;
    expect(await destination.stat('pkg.tgz')).toEqual({ size: 1000, sha256: file.sha256 });
    expect(server.requests.map((request) => `${request.method} ${withoutSdkMarker(request.url)}`)).toEqual([
      'HEAD /artifacts/skip/pkg.tgz',
    ]);
  });

  it('uploads a file over the part size in several parts', async () => {
    const destination = createS3Destination('s3n://artifacts/multi/', s3Options({ partSize: 5 * MiB, queueSize: 2 }));
    const file = await makeFile(11 * MiB + 123);
    await destination.put('big.tgz', file);
    const lines = server.requests.map(
      (request) => `${request.method} ${withoutSdkMarker(request.url).replace(/uploadId=[^&]+/, 'uploadId=*')}`,
    );
    expect(lines).toEqual([
      'POST /artifacts/multi/big.tgz?uploads=',
      'PUT /artifacts/multi/big.tgz?partNumber=1&uploadId=*',
      'PUT /artifacts/multi/big.tgz?partNumber=2&uploadId=*',
      'PUT /artifacts/multi/big.tgz?partNumber=3&uploadId=*',
      'POST /artifacts/multi/big.tgz?uploadId=*',
      'HEAD /artifacts/multi/big.tgz',
    ]);
    expect(await destination.stat('big.tgz')).toEqual({ size: file.size, sha256: file.sha256 });
    const stored = await readObject('multi/big.tgz');
    expect(createHash('sha256').update(stored).digest('hex')).toBe(file.sha256);
  });

  it('leaves nothing visible under the final name when a multipart upload is aborted', async () => {
    const destination = createS3Destination('s3://artifacts/aborted/', s3Options({ partSize: 5 * MiB, queueSize: 1 }));
    const file = await makeFile(16 * MiB);
    const controller = new AbortController();
    const failure = await rejection(
      destination.put('big.tgz', file, {
        signal: controller.signal,
        onProgress: (sent) => {
          if (sent > 0) controller.abort(new Error('stop'));
        },
      }),
    );
    expect(failure.code).toBe('SM_ERR_ARTIFACT_UPLOAD');
    expect(server.requests.some((request) => request.url.includes('partNumber='))).toBe(true);
    expect(await destination.stat('big.tgz')).toBeUndefined();
    const listing = await directClient().send(new ListObjectsV2Command({ Bucket: 'artifacts', Prefix: 'aborted/' }));
    expect(listing.KeyCount ?? 0).toBe(0);
  });

  it('reports a corrupt object under the final name through stat, and put replaces it', async () => {
    const destination = createS3Destination('s3://artifacts/corrupt/', s3Options());
    const file = await makeFile(4096);
    await directClient().send(
      new PutObjectCommand({
        Bucket: 'artifacts',
        Key: 'corrupt/pkg.tgz',
        Body: Buffer.alloc(100),
        Metadata: { sha256: file.sha256 },
      }),
    );
    const before = await destination.stat('pkg.tgz');
    expect(before).toEqual({ size: 100, sha256: file.sha256 });
    expect(before?.size).not.toBe(file.size);
    await destination.put('pkg.tgz', file);
    expect(await destination.stat('pkg.tgz')).toEqual({ size: file.size, sha256: file.sha256 });
    await destination.remove('pkg.tgz');
    expect(await destination.stat('pkg.tgz')).toBeUndefined();
    await destination.remove('pkg.tgz'); // already absent: still fine
  });

  it('explains an unknown access key, does not retry it and never prints the secret', async () => {
    const secret = 'wJalrXUtnFEMI-very-secret';
    const destination = createS3Destination('s3://artifacts/creds/', {
      s3: { endpoint: server.endpoint, credentials: { accessKeyId: 'AKIAWRONGKEY', secretAccessKey: secret } },
    });
    const file = await makeFile(100);
    const failure = await rejection(destination.put('pkg.tgz', file));
    expect(failure.code).toBe('SM_ERR_ARTIFACT_UPLOAD');
    expect(failure.details).toMatchObject({ retryable: false, status: 403, s3Code: 'InvalidAccessKeyId' });
    expect(failure.message).toContain('s3://artifacts/creds/pkg.tgz');
    expect(failure.message).toContain('spark.hadoop.fs.s3a.access.key');
    expect(failure.message).not.toContain(secret);

    const unreachable = await rejection(destination.checkFetchable('pkg.tgz'));
    expect(unreachable.code).toBe('SM_ERR_ARTIFACT_UNREACHABLE');
    expect(unreachable.message).toContain('s3://artifacts/creds/pkg.tgz');
    expect(unreachable.message).toContain('HTTP 403');
    expect(unreachable.message).not.toContain(secret);
  });

  it('explains a missing bucket and does not retry it', async () => {
    const destination = createS3Destination('s3://no-such-bucket/p/', s3Options());
    const file = await makeFile(100);
    expect(await destination.stat('pkg.tgz')).toBeUndefined(); // a HEAD cannot tell bucket from key
    const failure = await rejection(destination.put('pkg.tgz', file));
    expect(failure.details).toMatchObject({ retryable: false, status: 404, s3Code: 'NoSuchBucket' });
    expect(failure.message).toContain('bucket no-such-bucket does not exist');
  });

  it('says a missing object is not fetchable, naming the URI', async () => {
    const destination = createS3Destination('s3://artifacts/missing/', s3Options());
    const failure = await rejection(destination.checkFetchable('nothing.tgz'));
    expect(failure.code).toBe('SM_ERR_ARTIFACT_UNREACHABLE');
    expect(failure.message).toContain('s3://artifacts/missing/nothing.tgz');
    expect(failure.message).toContain('404');
  });

  it('marks a refused connection as retryable', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const destination = createS3Destination('s3://artifacts/p/', {
      s3: {
        endpoint: `http://127.0.0.1:${closedPort}`,
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        client: undefined,
      },
    });
    const failure = await rejection(destination.stat('pkg.tgz'));
    expect(failure.details).toMatchObject({ retryable: true });
  });
});

describe('createS3Destination URIs', () => {
  it('rejects credentials in the URI without printing them', () => {
    let thrown: unknown;
    try {
      createS3Destination('s3a://AKIA:topsecret@bucket/p/', {});
    } catch (error) {
      thrown = error;
    }
    expect(isSparkMesosError(thrown, 'SM_ERR_ARTIFACT_UPLOAD')).toBe(true);
    expect((thrown as Error).message).not.toContain('topsecret');
    expect((thrown as Error).message).toContain('spark.hadoop.fs.s3a.access.key');
  });

  it('refuses a part size under the 5 MiB minimum of S3', () => {
    expect(() => createS3Destination('s3://b/p/', { s3: { partSize: 1024 } })).toThrow(/at least 5242880 bytes/);
  });

  it('treats a path without a trailing slash as a directory and keeps the scheme', () => {
    expect(createS3Destination('s3n://b/a/b', {}).uriOf('x.tgz')).toBe('s3n://b/a/b/x.tgz');
    expect(createS3Destination('s3://b', {}).uriOf('x.tgz')).toBe('s3://b/x.tgz');
  });
});
