import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isSparkMesosError, type SparkMesosError } from '@spark-mesos/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreWriter } from './stored-output.js';
import { type S3TestServer, startS3Server } from './testing/s3-server.js';
import { startWebHdfsServer, type WebHdfsTestServer } from './testing/webhdfs-server.js';

async function rejection(promise: Promise<unknown>): Promise<SparkMesosError> {
  try {
    await promise;
  } catch (error) {
    if (isSparkMesosError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('writing S3 (s3rver)', () => {
  let server: S3TestServer;
  const conf = (extra: Record<string, string> = {}) => ({
    conf: (key: string) =>
      ({
        'spark.hadoop.fs.s3a.endpoint': server.endpoint,
        'spark.hadoop.fs.s3a.access.key': server.accessKeyId,
        'spark.hadoop.fs.s3a.secret.key': server.secretAccessKey,
        ...extra,
      })[key],
  });
  const read = async (key: string) => {
    const response = await fetch(`${server.endpoint}/data/${key}`);
    return response.status === 200 ? response.text() : undefined;
  };

  beforeAll(async () => {
    server = await startS3Server({ buckets: ['data'] });
    expect((await fetch(`${server.endpoint}/data/busy/part-00000`, { method: 'PUT', body: 'x' })).status).toBe(200);
    expect((await fetch(`${server.endpoint}/data/a-file`, { method: 'PUT', body: 'x' })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('prepares a new prefix, refuses a taken one, a key and the root, naming them', async () => {
    const writer = createStoreWriter(conf());
    expect(await writer.prepareOutput('s3a://data/fresh/out/')).toBe('s3a://data/fresh/out');
    expect(await writer.prepareOutput('s3://data/weird name+1')).toBe('s3://data/weird%20name%2B1');
    for (const [location, text] of [
      ['s3a://data/busy', 'Output directory s3a://data/busy already exists (bucket data has keys under busy/)'],
      ['s3a://data/a-file', 'Output directory s3a://data/a-file already exists (an object a-file is in bucket data)'],
      ['s3a://data/', 'the root of bucket data always exists'],
    ] as const) {
      const error = await rejection(writer.prepareOutput(location));
      expect(error.code).toBe('SM_ERR_OUTPUT_EXISTS');
      expect(error.message).toContain(text);
    }
  });

  it('presigns PUTs that write the object with fetch alone, and writes _SUCCESS itself', async () => {
    const writer = createStoreWriter({ ...conf(), urlExpirySeconds: 120 });
    const output = await writer.prepareOutput('s3a://data/job');
    for (const [index, body] of ['first\n', '', 'ü€\n'].entries()) {
      const write = await writer.writeUrlOf(`${output}/part-0000${index}`);
      expect(write.redirect).toBeUndefined();
      expect(write.url).toContain('X-Amz-Expires=120');
      expect(write.url).not.toMatch(/x-amz-checksum|x-amz-sdk-checksum/i);
      expect(write.expiresAt!.getTime() - Date.now()).toBeGreaterThan(100_000);
      const response = await fetch(write.url, { method: 'PUT', body });
      expect(response.status).toBe(200);
    }
    // A retried attempt writes again through the same URL and replaces the part.
    const again = await writer.writeUrlOf(`${output}/part-00000`);
    expect((await fetch(again.url, { method: 'PUT', body: 'replaced\n' })).status).toBe(200);
    await writer.writeFile(`${output}/_SUCCESS`, new Uint8Array(0));
    expect(await read('job/part-00000')).toBe('replaced\n');
    expect(await read('job/part-00001')).toBe('');
    expect(await read('job/part-00002')).toBe('ü€\n');
    expect(await read('job/_SUCCESS')).toBe('');
  });

  it('signs PUTs byte for byte as getSignedUrl does without flexible checksums', async () => {
    const signingDate = new Date('2026-11-24T06:00:00Z');
    const keys = ['out/part-00000', "a b/c+d!'()*é~.txt"];
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    for (const [s3, client] of [
      [
        { endpoint: server.endpoint, credentials },
        new S3Client({
          endpoint: server.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials,
          requestChecksumCalculation: 'WHEN_REQUIRED',
        }),
      ],
      // AWS itself: the writer's client asks for checksums where supported (the SDK default),
      // which getSignedUrl would bake into a PUT URL as the CRC32 of an empty body.
      [
        { region: 'eu-west-1', credentials },
        new S3Client({ region: 'eu-west-1', credentials, requestChecksumCalculation: 'WHEN_REQUIRED' }),
      ],
    ] as const) {
      const writer = createStoreWriter({ s3, now: () => signingDate, urlExpirySeconds: 900 });
      for (const key of keys) {
        const expected = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'my-data', Key: key }), {
          expiresIn: 900,
          signingDate,
        });
        const uri = `s3a://my-data/${key.split('/').map(encodeURIComponent).join('/')}`;
        expect((await writer.writeUrlOf(uri)).url).toBe(expected);
      }
      client.destroy();
    }
  });

  it('explains a wrong access key and a missing bucket, without the secret', async () => {
    const secret = 'wrong-secret-value-123';
    const wrong = createStoreWriter(
      conf({ 'spark.hadoop.fs.s3a.access.key': 'NOTAKEY', 'spark.hadoop.fs.s3a.secret.key': secret }),
    );
    const error = await rejection(wrong.prepareOutput('s3a://data/new-out'));
    expect(error.code).toBe('SM_ERR_OUTPUT_WRITE');
    expect(error.message).toContain('S3 LIST of s3a://data/new-out failed: InvalidAccessKeyId');
    expect(error.message).toContain('spark.hadoop.fs.s3a.access.key');
    expect(error.message).not.toContain(secret);
    expect(error.details).toMatchObject({ retryable: false, status: 403 });
    const missing = await rejection(createStoreWriter(conf()).prepareOutput('s3a://nobucket/out'));
    expect(missing.code).toBe('SM_ERR_OUTPUT_WRITE');
    expect(missing.message).toContain('NoSuchBucket');
    expect(missing.message).toContain('bucket nobucket does not exist');
  });
});

describe('writing HDFS (WebHDFS fixture)', () => {
  let server: WebHdfsTestServer;
  beforeAll(async () => {
    server = await startWebHdfsServer({
      readOnlyPaths: [{ path: '/system', users: ['bob'] }],
      delegationTokens: { 'token-abc': 'carol' },
    });
    server.writeFile('/taken/part-00000', Buffer.from('x\n'));
  });
  afterAll(async () => {
    await server?.close();
  });
  const options = (extra: Record<string, string> = {}) => ({
    conf: (key: string) =>
      ({
        'spark.hadoop.dfs.namenode.http-address': server.namenodeHttpAddress,
        'spark.hadoop.hadoop.user.name': 'bob',
        ...extra,
      })[key],
  });

  it('prepares a new directory (MKDIRS) and refuses an existing path or the root', async () => {
    const writer = createStoreWriter(options());
    expect(await writer.prepareOutput('hdfs://127.0.0.1:8020/user/bob/out/')).toBe(
      'hdfs://127.0.0.1:8020/user/bob/out',
    );
    expect(server.list('/user/bob')).toEqual(['out']);
    for (const [location, what] of [
      ['hdfs://127.0.0.1:8020/taken', 'a directory is there'],
      ['hdfs://127.0.0.1:8020/taken/part-00000', 'a file is there'],
      ['hdfs://127.0.0.1:8020/user/bob/out', 'a directory is there'],
      ['hdfs://127.0.0.1:8020/', 'the root directory always exists'],
    ] as const) {
      const error = await rejection(writer.prepareOutput(location));
      expect(error.code).toBe('SM_ERR_OUTPUT_EXISTS');
      expect(error.message).toContain(`Output directory ${location.replace(/\/$/, '')} already exists (${what}`);
    }
  });

  it('makes CREATE URLs a task writes through in two steps, and writes _SUCCESS itself', async () => {
    const writer = createStoreWriter(options());
    const output = await writer.prepareOutput('hdfs://127.0.0.1:8020/user/bob/job');
    const write = await writer.writeUrlOf(`${output}/part-00000`);
    expect(write.redirect).toBe('location');
    expect(write.expiresAt).toBeUndefined();
    expect(new URL(write.url).searchParams.get('op')).toBe('CREATE');
    expect(new URL(write.url).searchParams.get('overwrite')).toBe('true');
    for (const body of ['first try\n', 'second try\n']) {
      // As Hadoop documents it: no data to the namenode, then the data to its redirect.
      const created = await fetch(write.url, { method: 'PUT', redirect: 'manual', headers: write.headers });
      expect(created.status).toBe(307);
      const written = await fetch(created.headers.get('location')!, { method: 'PUT', body, headers: write.headers });
      expect(written.status).toBe(201);
    }
    expect(server.readFile('/user/bob/job/part-00000')?.toString()).toBe('second try\n');
    await writer.writeFile(`${output}/_SUCCESS`, new Uint8Array(0));
    expect(server.readFile('/user/bob/job/_SUCCESS')).toEqual(Buffer.alloc(0));
    const creates = server.requests.filter((request) => request.op === 'CREATE' && request.server === 'datanode');
    expect(creates.every((request) => request.query['user.name'] === 'bob')).toBe(true);
  });

  it('explains a directory the user may not write and a refused token, without the token', async () => {
    const denied = await rejection(createStoreWriter(options()).prepareOutput('hdfs://127.0.0.1:8020/system/out'));
    expect(denied.code).toBe('SM_ERR_OUTPUT_WRITE');
    expect(denied.message).toContain('WebHDFS MKDIRS of hdfs://127.0.0.1:8020/system/out failed (HTTP 403)');
    expect(denied.message).toContain('HDFS user bob may not write /system/out');
    const refused = await rejection(
      createStoreWriter({ ...options(), webHdfs: { delegationToken: 'stolen-token' } }).prepareOutput(
        'hdfs://127.0.0.1:8020/user/carol/out',
      ),
    );
    expect(refused.code).toBe('SM_ERR_OUTPUT_WRITE');
    expect(refused.message).toContain('InvalidToken');
    expect(refused.message).not.toContain('stolen-token');
  });
});
