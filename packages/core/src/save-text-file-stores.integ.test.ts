// dataset.saveAsTextFile into the stores, against real servers: s3rver for s3a:// and the WebHDFS
// namenode + datanode fixture for hdfs://. Tasks run on local[2] and write their parts through
// their own fetch (a presigned PUT, a two-step CREATE), as executors on Mesos agents do.
import {
  type ReadOnlyPath,
  type S3TestServer,
  startS3Server,
  startWebHdfsServer,
  type WebHdfsTestServer,
} from '@spark-mesos/artifact-uploader/testing';
import { SparkConf } from '@spark-mesos/config';
import { isSparkMesosError, type SparkMesosError } from '@spark-mesos/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SparkContext } from './spark-context.js';

async function rejection(promise: Promise<unknown>): Promise<SparkMesosError> {
  try {
    await promise;
  } catch (error) {
    if (isSparkMesosError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

// Lines with multi-byte characters, objects (written as JSON) and numbers.
const items: unknown[] = [
  'alpha',
  'ü€ line',
  '',
  42,
  { word: 'x', count: 2 },
  [1, 2],
  ...Array.from({ length: 30 }, (_, i) => `line ${i}`),
];
const expectedLines = items.map((item) =>
  item !== null && typeof item === 'object' && !Array.isArray(item) ? JSON.stringify(item) : String(item),
);

describe('saveAsTextFile to s3a:// (s3rver)', () => {
  let server: S3TestServer;
  let sc: SparkContext | undefined;
  const s3Conf = (conf: SparkConf, accessKey = server.accessKeyId) =>
    conf
      .set('spark.hadoop.fs.s3a.endpoint', server.endpoint)
      .set('spark.hadoop.fs.s3a.access.key', accessKey)
      .set('spark.hadoop.fs.s3a.secret.key', server.secretAccessKey);
  // s3rver lets unsigned requests through, so the test reads and writes with plain HTTP.
  const objectUrl = (key: string) => `${server.endpoint}/out/${key}`;
  const keysUnder = async (prefix: string): Promise<string[]> => {
    const listing = await (await fetch(`${server.endpoint}/out?list-type=2&prefix=${prefix}`)).text();
    return [...listing.matchAll(/<Key>([^<]*)<\/Key>/g)].map((match) => match[1] as string).sort();
  };

  beforeAll(async () => {
    server = await startS3Server({ buckets: ['out'] });
    sc = await SparkContext.create(s3Conf(new SparkConf().setMaster('local[2]').setAppName('s3-save')));
  });
  afterAll(async () => {
    await sc?.stop();
    await server?.close();
  });

  it('writes one part per partition and _SUCCESS, through presigned PUTs, and textFile reads it back', async () => {
    server.requests.length = 0;
    await sc!.parallelize(items, 3).saveAsTextFile('s3a://out/round/trip');
    expect(await keysUnder('round/trip/')).toEqual([
      'round/trip/_SUCCESS',
      'round/trip/part-00000',
      'round/trip/part-00001',
      'round/trip/part-00002',
    ]);
    const success = await fetch(objectUrl('round/trip/_SUCCESS'));
    expect(success.status).toBe(200);
    expect(await success.text()).toBe('');
    const parts = await Promise.all(
      [0, 1, 2].map(async (index) => (await fetch(objectUrl(`round/trip/part-0000${index}`))).text()),
    );
    expect(parts.join('')).toBe(`${expectedLines.join('\n')}\n`);
    expect(await sc!.textFile('s3a://out/round/trip').collect()).toEqual(expectedLines);
    expect(await sc!.textFile('s3a://out/round/trip', 1).getNumPartitions()).toBe(3);
    // Tasks PUT with a signature in the URL and no credentials of their own.
    const puts = server.requests.filter((request) => request.method === 'PUT' && request.url.includes('part-'));
    expect(puts).toHaveLength(3);
    expect(puts.every((request) => request.url.includes('X-Amz-Signature='))).toBe(true);
    expect(puts.every((request) => request.headers.authorization === undefined)).toBe(true);
    expect(puts.some((request) => request.url.includes('x-amz-checksum'))).toBe(false);
  });

  it('writes an empty part for an empty partition', async () => {
    await sc!.parallelize(['a', 'b'], 4).saveAsTextFile('s3a://out/sparse/');
    expect(await keysUnder('sparse/')).toEqual([
      'sparse/_SUCCESS',
      'sparse/part-00000',
      'sparse/part-00001',
      'sparse/part-00002',
      'sparse/part-00003',
    ]);
    const sizes = await Promise.all(
      [0, 1, 2, 3].map(async (index) => (await fetch(objectUrl(`sparse/part-0000${index}`))).text()),
    );
    expect(sizes).toEqual(['', 'a\n', '', 'b\n']);
    expect(await sc!.textFile('s3a://out/sparse').collect()).toEqual(['a', 'b']);
  });

  it('refuses an existing output, naming it, before running a task', async () => {
    expect((await fetch(objectUrl('taken/old-file'), { method: 'PUT', body: 'x' })).status).toBe(200);
    expect((await fetch(objectUrl('single-object'), { method: 'PUT', body: 'x' })).status).toBe(200);
    server.requests.length = 0;
    for (const [path, shown] of [
      ['s3a://out/taken', 's3a://out/taken'],
      ['s3://out/taken/', 's3://out/taken'],
      ['s3a://out/single-object', 's3a://out/single-object'],
      ['s3a://out/round/trip', 's3a://out/round/trip'],
    ] as const) {
      const error = await rejection(sc!.parallelize([1, 2], 2).saveAsTextFile(path));
      expect(error.code).toBe('SM_ERR_OUTPUT_EXISTS');
      expect(error.message).toContain(`Output directory ${shown} already exists`);
    }
    expect(server.requests.some((request) => request.method === 'PUT')).toBe(false);
    expect(await keysUnder('taken/')).toEqual(['taken/old-file']);
  });

  it('names the part, not the signed URL, when a task cannot write it', async () => {
    // Write URLs that live 1 s, and a task that takes longer before it writes: s3rver refuses
    // the presigned PUT past its expiry ("Request has expired"), as S3 does.
    await sc?.stop();
    sc = await SparkContext.create(
      s3Conf(new SparkConf().setMaster('local[2]').setAppName('s3-save-expired'))
        .set('spark.task.maxFailures', '1')
        .set('spark.mesos.textFile.presignedUrlExpiry', '1s'),
    );
    const slow = sc.parallelize([1], 1).map((item) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2_500);
      return item;
    });
    const error = await failure(slow.saveAsTextFile('s3a://out/expired'));
    expect(error.message).toContain('PUT s3a://out/expired/part-00000 answered 403 Forbidden: AccessDenied');
    expect(error.message).toContain('spark.mesos.textFile.presignedUrlExpiry');
    expect(error.message).not.toContain('X-Amz-');
    expect(await keysUnder('expired/')).toEqual([]);
  });

  it('explains a wrong access key before running a task', async () => {
    await sc?.stop();
    sc = await SparkContext.create(
      s3Conf(new SparkConf().setMaster('local[2]').setAppName('s3-save-bad-key'), 'WRONGKEY'),
    );
    server.requests.length = 0;
    const error = await rejection(sc.parallelize([1], 1).saveAsTextFile('s3a://out/never'));
    expect(error.code).toBe('SM_ERR_OUTPUT_WRITE');
    expect(error.message).toContain('s3a://out/never');
    expect(error.message).toContain('InvalidAccessKeyId');
    expect(error.message).toContain('spark.hadoop.fs.s3a.access.key');
    expect(error.message).not.toContain(server.secretAccessKey);
    expect(server.requests.some((request) => request.method === 'PUT')).toBe(false);
  });
});

describe('saveAsTextFile to hdfs:// (WebHDFS fixture)', () => {
  let server: WebHdfsTestServer;
  let sc: SparkContext | undefined;
  // The fixture reads its rules at each request, so a test can take a permission away mid-job.
  const readOnlyPaths: ReadOnlyPath[] = [{ path: '/locked', users: ['alice'] }];

  beforeAll(async () => {
    server = await startWebHdfsServer({ readOnlyPaths });
    server.writeFile('/existing/part-00000', Buffer.from('old\n'));
    sc = await SparkContext.create(
      new SparkConf()
        .setMaster('local[2]')
        .setAppName('hdfs-save')
        .set('spark.hadoop.dfs.namenode.http-address', server.namenodeHttpAddress)
        .set('spark.hadoop.hadoop.user.name', 'alice'),
    );
  });
  afterAll(async () => {
    await sc?.stop();
    await server?.close();
  });

  it('writes parts with the two-step CREATE and _SUCCESS, and textFile reads them back', async () => {
    server.requests.length = 0;
    await sc!.parallelize(items, 3).saveAsTextFile('hdfs://127.0.0.1:8020/user/alice/out');
    expect(server.list('/user/alice/out')).toEqual(['_SUCCESS', 'part-00000', 'part-00001', 'part-00002']);
    expect(server.readFile('/user/alice/out/_SUCCESS')).toEqual(Buffer.alloc(0));
    const joined = [0, 1, 2].map((index) => server.readFile(`/user/alice/out/part-0000${index}`)!.toString()).join('');
    expect(joined).toBe(`${expectedLines.join('\n')}\n`);
    expect(await sc!.textFile('hdfs://127.0.0.1:8020/user/alice/out').collect()).toEqual(expectedLines);
    // Each part: the namenode got a PUT without data (not followed), the datanode the data.
    const creates = server.requests.filter((request) => request.op === 'CREATE' && request.path.includes('part-'));
    const namenode = creates.filter((request) => request.server === 'namenode');
    const datanode = creates.filter((request) => request.server === 'datanode');
    expect(namenode).toHaveLength(3);
    expect(datanode).toHaveLength(3);
    expect(
      namenode.every(
        (request) => request.headers['content-length'] === undefined || request.headers['content-length'] === '0',
      ),
    ).toBe(true);
    expect(
      datanode.every((request) => request.query.overwrite === 'true' && request.query['user.name'] === 'alice'),
    ).toBe(true);
    expect(namenode.every((request) => 'x-xsrf-header' in request.headers)).toBe(true);
  });

  it('writes an empty part for an empty partition', async () => {
    await sc!.parallelize(['only'], 3).saveAsTextFile(`webhdfs://${server.namenodeHttpAddress}/sparse`);
    expect(server.list('/sparse')).toEqual(['_SUCCESS', 'part-00000', 'part-00001', 'part-00002']);
    expect([0, 1, 2].map((index) => server.readFile(`/sparse/part-0000${index}`)!.toString())).toEqual([
      '',
      '',
      'only\n',
    ]);
  });

  it('refuses an existing directory or file, naming it', async () => {
    for (const path of ['hdfs://127.0.0.1:8020/existing', 'hdfs://127.0.0.1:8020/existing/part-00000']) {
      const error = await rejection(sc!.parallelize([1], 1).saveAsTextFile(path));
      expect(error.code).toBe('SM_ERR_OUTPUT_EXISTS');
      expect(error.message).toContain(`Output directory ${path} already exists`);
    }
    expect(server.readFile('/existing/part-00000')!.toString()).toBe('old\n');
  });

  it("names the part and the datanode's exception when a task cannot write it", async () => {
    // The directory stops being writable for alice while the task computes its part (after the
    // driver's MKDIRS), as after an `hdfs dfs -chmod`.
    const slow = sc!.parallelize(['x'], 1).map((item) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_500);
      return item;
    });
    server.requests.length = 0;
    const saving = failure(slow.saveAsTextFile('hdfs://127.0.0.1:8020/chmod/out'));
    for (let wait = 0; wait < 200 && !server.requests.some((request) => request.op === 'MKDIRS'); wait++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    readOnlyPaths.push({ path: '/chmod/out', users: ['alice'] });
    const error = await saving;
    expect(error.message).toContain(
      'PUT hdfs://127.0.0.1:8020/chmod/out/part-00000 (datanode) answered 403 Forbidden: AccessControlException (Permission denied: user=alice, access=WRITE',
    );
    expect(error.message).toContain('HDFS: write permission on the directory');
    expect(error.message).not.toContain('user.name');
    expect(server.list('/chmod/out')).toEqual([]);
  });

  it('explains a directory the user may not write, before running a task', async () => {
    server.requests.length = 0;
    const error = await rejection(sc!.parallelize([1], 1).saveAsTextFile('hdfs://127.0.0.1:8020/locked/out'));
    expect(error.code).toBe('SM_ERR_OUTPUT_WRITE');
    expect(error.message).toContain('hdfs://127.0.0.1:8020/locked/out');
    expect(error.message).toContain('AccessControlException');
    expect(error.message).toContain('HDFS user alice may not write');
    expect(server.requests.some((request) => request.op === 'CREATE')).toBe(false);
  });
});
