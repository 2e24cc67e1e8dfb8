import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isSparkMesosError, type SparkMesosError } from '@spark-mesos/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreReader, isStoredFileUri, listStoredFiles, readUrlOf } from './stored-files.js';
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

describe('isStoredFileUri', () => {
  it('knows the stores the uploader writes to', () => {
    for (const uri of ['s3://b/k', 's3a://b/k', 'S3N://b/k', 'hdfs://nn/p', 'webhdfs://nn:9870/p', 'swebhdfs://nn/p'])
      expect(isStoredFileUri(uri)).toBe(true);
    for (const uri of ['http://h/p', 'file:///p', '/p', 'gs://b/k']) expect(isStoredFileUri(uri)).toBe(false);
  });

  it('refuses another scheme and a bad expiry with SM_ERR_BAD_CONFIG', async () => {
    expect((await rejection(listStoredFiles('gs://bucket/key'))).code).toBe('SM_ERR_BAD_CONFIG');
    expect(() => createStoreReader({ urlExpirySeconds: 8 * 24 * 3600 })).toThrow(/7 days/);
  });
});

describe('reading S3 (s3rver)', () => {
  let server: S3TestServer;
  const conf = (): Record<string, string> => ({
    'spark.hadoop.fs.s3a.endpoint': server.endpoint,
    'spark.hadoop.fs.s3a.access.key': server.accessKeyId,
    'spark.hadoop.fs.s3a.secret.key': server.secretAccessKey,
  });
  const options = () => ({ conf: (key: string) => conf()[key] });
  const put = async (key: string, body: string) => {
    const client = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }));
    client.destroy();
  };

  beforeAll(async () => {
    server = await startS3Server({ buckets: ['data'] });
    await put('logs/part-00001', 'b\n');
    await put('logs/part-00000', 'a\n');
    await put('logs/_SUCCESS', '');
    await put('logs/.hidden', 'x');
    await put('logs/nested/part-9', 'nested\n');
    await put('logs/other.txt', 'other\n');
    await put('one.txt', 'hello\nworld\n');
    await put('weird name+1.txt', 'w\n');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lists a file, a prefix (skipping _SUCCESS, hidden names and sub-directories) and a pattern', async () => {
    const reader = createStoreReader(options());
    expect(await reader.list('s3a://data/one.txt')).toEqual([{ uri: 's3a://data/one.txt', size: 12 }]);
    expect(await reader.list('s3://data/logs')).toEqual([
      { uri: 's3://data/logs/other.txt', size: 6 },
      { uri: 's3://data/logs/part-00000', size: 2 },
      { uri: 's3://data/logs/part-00001', size: 2 },
    ]);
    expect(await reader.list('s3n://data/logs/')).toHaveLength(3);
    expect((await reader.list('s3a://data/logs/part-*')).map((file) => file.uri)).toEqual([
      's3a://data/logs/part-00000',
      's3a://data/logs/part-00001',
    ]);
    // A pattern matching a "directory" lists its files.
    expect((await reader.list('s3a://data/logs/ne?ted')).map((file) => file.uri)).toEqual([
      's3a://data/logs/nested/part-9',
    ]);
    expect(await reader.list('s3a://data/weird name+1.txt')).toEqual([
      { uri: 's3a://data/weird%20name%2B1.txt', size: 2 },
    ]);
  });

  it('presigns GET URLs that read the object, from an offset with a Range header', async () => {
    const [file] = await listStoredFiles('s3a://data/one.txt', options());
    const read = await readUrlOf(file!, { ...options(), urlExpirySeconds: 120 });
    expect(read.rangeParam).toBeUndefined();
    expect(read.url).toMatch(/X-Amz-Signature=/);
    expect(read.url).toContain('X-Amz-Expires=120');
    expect(read.expiresAt!.getTime() - Date.now()).toBeGreaterThan(100_000);
    expect(await (await fetch(read.url)).text()).toBe('hello\nworld\n');
    const ranged = await fetch(read.url, { headers: { range: 'bytes=6-' } });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe('world\n');
    // The key of an encoded URI round-trips.
    const [weird] = await listStoredFiles('s3a://data/weird name+1.txt', options());
    expect(await (await fetch((await readUrlOf(weird!, options())).url)).text()).toBe('w\n');
  });

  it("signs a bucket's later URLs from its first one, byte for byte as getSignedUrl does", async () => {
    const signingDate = new Date('2026-11-24T06:00:00Z');
    const keys = ['logs/part-00000', "a b/c+d!'()*é~.txt", 'x/y/z'];
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
          responseChecksumValidation: 'WHEN_REQUIRED',
        }),
      ],
      // AWS itself: virtual-host style, and the checksum-mode parameter current SDKs add.
      [{ region: 'eu-west-1', credentials }, new S3Client({ region: 'eu-west-1', credentials })],
    ] as const) {
      const reader = createStoreReader({ s3, now: () => signingDate, urlExpirySeconds: 900 });
      for (const key of keys) {
        const expected = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'my-data', Key: key }), {
          expiresIn: 900,
          signingDate,
        });
        const uri = `s3a://my-data/${key.split('/').map(encodeURIComponent).join('/')}`;
        expect((await reader.readUrlOf(uri)).url).toBe(expected);
      }
      client.destroy();
    }
    // And the URLs signed from the template read the objects.
    const reader = createStoreReader(options());
    for (const [uri, text] of [
      ['s3a://data/logs/part-00000', 'a\n'],
      ['s3a://data/weird%20name%2B1.txt', 'w\n'],
      ['s3a://data/one.txt', 'hello\nworld\n'],
    ] as const) {
      expect(await (await fetch((await reader.readUrlOf(uri)).url)).text()).toBe(text);
    }
  });

  it('names a missing object, prefix, pattern or bucket with SM_ERR_INPUT_NOT_FOUND', async () => {
    for (const [uri, pattern] of [
      ['s3a://data/missing.txt', /Input path does not exist: s3a:\/\/data\/missing\.txt .*no object missing\.txt/],
      ['s3a://data/logs/zzz-*', /matches 0 files/],
      ['s3a://nobucket/x', /bucket nobucket does not exist/],
    ] as const) {
      const error = await rejection(listStoredFiles(uri, options()));
      expect(error.code).toBe('SM_ERR_INPUT_NOT_FOUND');
      expect(error.message).toMatch(pattern);
    }
  });

  it('explains a wrong access key without printing the secret', async () => {
    const secret = 'wrong-secret-value-123';
    const error = await rejection(
      listStoredFiles('s3a://data/one.txt', {
        conf: (key) =>
          ({
            ...conf(),
            'spark.hadoop.fs.s3a.access.key': 'NOTAKEY',
            'spark.hadoop.fs.s3a.secret.key': secret,
          })[key],
      }),
    );
    expect(error.code).toBe('SM_ERR_INPUT_READ');
    expect(error.message).toContain('InvalidAccessKeyId');
    expect(error.message).toContain('spark.hadoop.fs.s3a.access.key');
    expect(error.message).not.toContain(secret);
    expect(error.details).toMatchObject({ retryable: false, status: 403 });
  });
});

describe('reading HDFS (WebHDFS fixture)', () => {
  let server: WebHdfsTestServer;
  beforeAll(async () => {
    server = await startWebHdfsServer({ delegationTokens: { 'token-abc': 'carol' } });
    server.writeFile('/data/out/part-00000', Buffer.from('first\nsecond\n'));
    server.writeFile('/data/out/part-00001', Buffer.from('third\n'));
    server.writeFile('/data/out/_SUCCESS', Buffer.alloc(0));
    server.writeFile('/data/out/sub/part-x', Buffer.from('deep\n'));
    server.writeFile('/data/single.txt', Buffer.from('0123456789\n'));
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

  it('lists a file, a directory and a pattern, through hdfs:// and webhdfs://', async () => {
    expect(await listStoredFiles('hdfs://127.0.0.1:8020/data/single.txt', options())).toEqual([
      { uri: 'hdfs://127.0.0.1:8020/data/single.txt', size: 11 },
    ]);
    expect(await listStoredFiles('hdfs://127.0.0.1:8020/data/out', options())).toEqual([
      { uri: 'hdfs://127.0.0.1:8020/data/out/part-00000', size: 13 },
      { uri: 'hdfs://127.0.0.1:8020/data/out/part-00001', size: 6 },
    ]);
    expect(
      (await listStoredFiles(`webhdfs://${server.namenodeHttpAddress}/data/out/part-*1`, {})).map((file) => file.uri),
    ).toEqual([`webhdfs://${server.namenodeHttpAddress}/data/out/part-00001`]);
    const listed = server.requests.filter((request) => request.op === 'LISTSTATUS' || request.op === 'GETFILESTATUS');
    expect(listed.some((request) => request.query['user.name'] === 'bob')).toBe(true);
  });

  it('makes OPEN URLs that read through the datanode redirect, from an offset= parameter', async () => {
    const reader = createStoreReader(options());
    const [file] = await reader.list('hdfs://127.0.0.1:8020/data/single.txt');
    const read = await reader.readUrlOf(file!);
    expect(read.rangeParam).toBe('offset');
    expect(read.expiresAt).toBeUndefined();
    expect(await (await fetch(read.url)).text()).toBe('0123456789\n');
    expect(await (await fetch(`${read.url}&offset=4`)).text()).toBe('456789\n');
    const open = server.requests.filter((request) => request.op === 'OPEN');
    expect(open.map((request) => request.server)).toEqual(['namenode', 'datanode', 'namenode', 'datanode']);
    expect(open.at(-1)?.query).toMatchObject({ offset: '4', 'user.name': 'bob' });
  });

  it('names a missing path, and explains a refused token without printing it', async () => {
    const missing = await rejection(listStoredFiles('hdfs://127.0.0.1:8020/data/nope', options()));
    expect(missing.code).toBe('SM_ERR_INPUT_NOT_FOUND');
    expect(missing.message).toContain('hdfs://127.0.0.1:8020/data/nope');
    const empty = await rejection(listStoredFiles('hdfs://127.0.0.1:8020/data/out/zz*', options()));
    expect(empty.message).toContain('matches 0 files');

    const refused = await rejection(
      listStoredFiles('hdfs://127.0.0.1:8020/data/out', { ...options(), webHdfs: { delegationToken: 'stolen-token' } }),
    );
    expect(refused.code).toBe('SM_ERR_INPUT_READ');
    expect(refused.message).toContain('InvalidToken');
    expect(refused.message).toContain('get a new one');
    expect(refused.message).not.toContain('stolen-token');
  });
});
