// sc.textFile over the stores the uploader writes to, against real servers: s3rver for s3a://
// and the WebHDFS namenode + datanode fixture for hdfs://. Tasks run on local[2], reading their
// splits through their own fetch, as executors on Mesos agents do.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  type S3TestServer,
  startS3Server,
  startWebHdfsServer,
  type WebHdfsTestServer,
} from '@spark-mesos/artifact-uploader/testing';
import { SparkConf } from '@spark-mesos/config';
import { isSparkMesosError, type SparkMesosError } from '@spark-mesos/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCoreKeys } from './core-keys.js';
import { SparkContext } from './spark-context.js';
import { textFileStoreOptions } from './text-splits.js';

// About 1.2 MB of lines of varying lengths, with multi-byte characters, a blank line now and
// then and no newline at the end, so splits start and end inside lines and inside characters.
const bigLines = Array.from({ length: 12_000 }, (_, index) =>
  index % 97 === 0 ? '' : `${index} ${'ü€x'.repeat(index % 41)} ${'abc'.repeat((index * 7) % 23)}`,
);
const bigText = bigLines.join('\n');
const smallLines = ['alpha', 'beta', 'gamma'];

let workDirectory: string;
let localBig: string;

async function rejection(promise: Promise<unknown>): Promise<SparkMesosError> {
  try {
    await promise;
  } catch (error) {
    if (isSparkMesosError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** Lines per partition, so two reads can be compared split by split. */
function linesPerPartition(sc: SparkContext, path: string, minPartitions: number): Promise<number[]> {
  return sc
    .textFile(path, minPartitions)
    .mapPartitions((lines) => {
      let count = 0;
      for (const _ of lines) count++;
      return [count];
    })
    .collect();
}

beforeAll(async () => {
  workDirectory = await mkdtemp(join(tmpdir(), 'spark-mesos-textfile-stores-'));
  localBig = join(workDirectory, 'big.txt');
  await writeFile(localBig, bigText);
});
afterAll(async () => {
  if (workDirectory) await rm(workDirectory, { recursive: true, force: true });
});

describe('textFileStoreOptions', () => {
  it('reads the presigned URL expiry (1 h by default) and refuses one over 7 days, naming the key', () => {
    expect(textFileStoreOptions(new SparkConf({ loadDefaults: false })).urlExpirySeconds).toBe(3600);
    // The core keys cover textFile's, so none of these warns as unknown.
    const warnings: string[] = [];
    const conf = new SparkConf({
      loadDefaults: false,
      logger: { warn: (message) => void warnings.push(message), info: () => {} },
    });
    registerCoreKeys(conf.registry);
    conf.set('spark.mesos.textFile.presignedUrlExpiry', '10min').set('spark.hadoop.fs.s3a.endpoint', 'http://s3:9000');
    expect(warnings).toEqual([]);
    expect(textFileStoreOptions(conf).urlExpirySeconds).toBe(600);
    conf.set('spark.mesos.textFile.presignedUrlExpiry', '8d');
    expect(() => textFileStoreOptions(conf)).toThrow(
      /spark\.mesos\.textFile\.presignedUrlExpiry is 8d: it must be from 1s to 7d/,
    );
  });
});

describe('textFile over s3a:// (s3rver)', () => {
  let server: S3TestServer;
  let sc: SparkContext | undefined;
  const s3Conf = (conf: SparkConf, accessKey = server.accessKeyId, secretKey = server.secretAccessKey) =>
    conf
      .set('spark.hadoop.fs.s3a.endpoint', server.endpoint)
      .set('spark.hadoop.fs.s3a.access.key', accessKey)
      .set('spark.hadoop.fs.s3a.secret.key', secretKey);
  // s3rver lets unsigned requests through, so the test writes with plain HTTP and needs no SDK.
  const objectUrl = (key: string) => `${server.endpoint}/data/${key}`;
  const put = async (key: string, body: string | Uint8Array) => {
    const response = await fetch(objectUrl(key), { method: 'PUT', body });
    expect(response.status).toBe(200);
  };

  beforeAll(async () => {
    server = await startS3Server({ buckets: ['data'] });
    await put('one.txt', `${smallLines.join('\n')}\n`);
    await put('out/part-00000', 'a1\na2\n');
    await put('out/part-00001', 'b1\n');
    await put('out/part-00002', '');
    await put('out/_SUCCESS', 'not a line\n');
    await put('out/.part-00000.crc', 'not a line\n');
    await put('zipped/data.txt.gz', gzipSync(bigText));
    await put('big/big.txt', bigText);
    sc = await SparkContext.create(s3Conf(new SparkConf().setMaster('local[2]').setAppName('s3-text')));
  });
  afterAll(async () => {
    await sc?.stop();
    await server?.close();
  });

  it('reads one object', async () => {
    expect(await sc!.textFile('s3a://data/one.txt').collect()).toEqual(smallLines);
  });

  it('reads a prefix in name order, skipping _SUCCESS and hidden objects', async () => {
    const ds = sc!.textFile('s3a://data/out/', 1);
    expect(await ds.collect()).toEqual(['a1', 'a2', 'b1']);
    // part-00000, part-00001 and the empty part-00002 (one empty split, as Hadoop makes).
    expect(await ds.getNumPartitions()).toBe(3);
    expect(await sc!.textFile('s3://data/out').count()).toBe(3);
  });

  it('reads a pattern in the last component, and a comma-separated list', async () => {
    expect(await sc!.textFile('s3n://data/out/part-0000[01]').collect()).toEqual(['a1', 'a2', 'b1']);
    expect(await sc!.textFile('s3a://data/out/part-*1,s3a://data/one.txt').collect()).toEqual(['b1', ...smallLines]);
  });

  it('reads a .gz object whole, gunzipped, in one partition', async () => {
    const ds = sc!.textFile('s3a://data/zipped/data.txt.gz', 4);
    expect(await ds.getNumPartitions()).toBe(1);
    expect(await ds.collect()).toEqual(bigLines);
  });

  it('splits a large object by byte ranges into the same lines and partitions as a local read', async () => {
    server.requests.length = 0;
    const ds = sc!.textFile('s3a://data/big/big.txt', 7);
    expect(await ds.getNumPartitions()).toBe(await sc!.textFile(localBig, 7).getNumPartitions());
    expect(await ds.getNumPartitions()).toBeGreaterThanOrEqual(7);
    expect(await ds.collect()).toEqual(bigLines);
    expect(await linesPerPartition(sc!, 's3a://data/big/big.txt', 7)).toEqual(
      await linesPerPartition(sc!, localBig, 7),
    );
    // Tasks read with presigned GETs, from their split's start with a Range header.
    const gets = server.requests.filter((request) => request.method === 'GET' && request.url.includes('big.txt'));
    expect(gets.every((request) => request.url.includes('X-Amz-Signature='))).toBe(true);
    expect(gets.filter((request) => request.headers.range !== undefined).length).toBeGreaterThanOrEqual(6);
    expect(gets.every((request) => request.headers.authorization === undefined)).toBe(true);
  });

  it('names a missing object, bucket and empty pattern', async () => {
    for (const [path, text] of [
      ['s3a://data/missing.txt', 'Input path does not exist: s3a://data/missing.txt'],
      ['s3a://nobucket/x.txt', 'bucket nobucket does not exist'],
      ['s3a://data/out/zz-*', 'matches 0 files'],
    ] as const) {
      const error = await rejection(sc!.textFile(path).count());
      expect(error.code).toBe('SM_ERR_INPUT_NOT_FOUND');
      expect(error.message).toContain(text);
    }
  });

  it('names the object, not the signed URL, when a task cannot read it', async () => {
    await put('vanishing.txt', 'here\n');
    const ds = sc!.textFile('s3a://data/vanishing.txt');
    expect(await ds.count()).toBe(1);
    expect((await fetch(objectUrl('vanishing.txt'), { method: 'DELETE' })).status).toBe(204);
    const error = await ds.count().then(
      () => {
        throw new Error('expected the job to fail');
      },
      (failure: Error) => failure,
    );
    expect(error.message).toContain('GET s3a://data/vanishing.txt answered 404');
    expect(error.message).toContain('NoSuchKey');
    expect(error.message).toContain('removed or replaced after the job listed it');
    expect(error.message).not.toContain('X-Amz-');
  });

  it('explains a wrong access key, without the secret', async () => {
    await sc?.stop();
    sc = await SparkContext.create(
      s3Conf(new SparkConf().setMaster('local[2]').setAppName('s3-bad-key'), 'WRONGKEY', 'secret-never-shown-42'),
    );
    const error = await rejection(sc.textFile('s3a://data/one.txt').count());
    expect(error.code).toBe('SM_ERR_INPUT_READ');
    expect(error.message).toContain('InvalidAccessKeyId');
    expect(error.message).toContain('spark.hadoop.fs.s3a.access.key');
    expect(error.message).not.toContain('secret-never-shown-42');
  });
});

describe('textFile over hdfs:// (WebHDFS fixture)', () => {
  let server: WebHdfsTestServer;
  let sc: SparkContext | undefined;

  beforeAll(async () => {
    server = await startWebHdfsServer();
    server.writeFile('/data/one.txt', Buffer.from(`${smallLines.join('\n')}\n`));
    server.writeFile('/data/out/part-00000', Buffer.from('a1\na2\n'));
    server.writeFile('/data/out/part-00001', Buffer.from('b1\n'));
    server.writeFile('/data/out/_SUCCESS', Buffer.alloc(0));
    server.writeFile('/data/out/.hidden', Buffer.from('not a line\n'));
    server.writeFile('/data/zipped/data.txt.gz', gzipSync(bigText));
    server.writeFile('/data/big/big.txt', Buffer.from(bigText));
    sc = await SparkContext.create(
      new SparkConf()
        .setMaster('local[2]')
        .setAppName('hdfs-text')
        .set('spark.hadoop.dfs.namenode.http-address', server.namenodeHttpAddress)
        .set('spark.hadoop.hadoop.user.name', 'alice'),
    );
  });
  afterAll(async () => {
    await sc?.stop();
    await server?.close();
  });

  it('reads a file, a directory (skipping _SUCCESS and hidden files) and a pattern', async () => {
    expect(await sc!.textFile('hdfs://127.0.0.1:8020/data/one.txt').collect()).toEqual(smallLines);
    expect(await sc!.textFile('hdfs://127.0.0.1:8020/data/out').collect()).toEqual(['a1', 'a2', 'b1']);
    expect(await sc!.textFile(`webhdfs://${server.namenodeHttpAddress}/data/out/part-*`).collect()).toEqual([
      'a1',
      'a2',
      'b1',
    ]);
  });

  it('reads a .gz file whole, gunzipped', async () => {
    const ds = sc!.textFile('hdfs://127.0.0.1:8020/data/zipped/data.txt.gz', 3);
    expect(await ds.getNumPartitions()).toBe(1);
    expect(await ds.collect()).toEqual(bigLines);
  });

  it('splits a large file with offset= reads into the same lines and partitions as a local read', async () => {
    server.requests.length = 0;
    const path = 'hdfs://127.0.0.1:8020/data/big/big.txt';
    expect(await sc!.textFile(path, 5).collect()).toEqual(bigLines);
    expect(await linesPerPartition(sc!, path, 5)).toEqual(await linesPerPartition(sc!, localBig, 5));
    const opens = server.requests.filter((request) => request.op === 'OPEN' && request.server === 'datanode');
    expect(opens.map((request) => Number(request.query.offset)).filter((offset) => offset > 0).length).toBeGreaterThan(
      3,
    );
    expect(opens.every((request) => request.query['user.name'] === 'alice')).toBe(true);
  });

  it("names the file and the namenode's exception when a task cannot read it", async () => {
    server.writeFile('/data/vanishing.txt', Buffer.from('here\n'));
    const ds = sc!.textFile('hdfs://127.0.0.1:8020/data/vanishing.txt');
    expect(await ds.count()).toBe(1);
    const deleted = await fetch(`${server.namenodeUrl}/webhdfs/v1/data/vanishing.txt?op=DELETE&user.name=alice`, {
      method: 'DELETE',
    });
    expect(await deleted.json()).toEqual({ boolean: true });
    const error = await ds.count().then(
      () => {
        throw new Error('expected the job to fail');
      },
      (failure: Error) => failure,
    );
    expect(error.message).toContain(
      'GET hdfs://127.0.0.1:8020/data/vanishing.txt answered 404 Not Found: FileNotFoundException (File does not exist: /data/vanishing.txt)',
    );
    expect(error.message).not.toContain('user.name');
  });

  it('names a missing path', async () => {
    const error = await rejection(sc!.textFile('hdfs://127.0.0.1:8020/data/nothing-here').count());
    expect(error.code).toBe('SM_ERR_INPUT_NOT_FOUND');
    expect(error.message).toContain('Input path does not exist: hdfs://127.0.0.1:8020/data/nothing-here');
  });
});

describe('presigned read URLs that expire between jobs', () => {
  it('are renewed for the next job of the same dataset (same partitions)', async () => {
    // s3rver refuses a presigned GET past X-Amz-Date + X-Amz-Expires ("Request has expired"), as S3 does.
    const server = await startS3Server({ buckets: ['data'] });
    const sc = await SparkContext.create(
      new SparkConf()
        .setMaster('local[2]')
        .setAppName('s3-renew')
        .set('spark.hadoop.fs.s3a.endpoint', server.endpoint)
        .set('spark.hadoop.fs.s3a.access.key', server.accessKeyId)
        .set('spark.hadoop.fs.s3a.secret.key', server.secretAccessKey)
        .set('spark.mesos.textFile.presignedUrlExpiry', '3s'),
    );
    try {
      for (const [key, body] of [
        ['out/part-00000', 'a1\na2\n'],
        ['out/part-00001', 'b1\n'],
      ] as const) {
        expect((await fetch(`${server.endpoint}/data/${key}`, { method: 'PUT', body })).status).toBe(200);
      }
      const lines = sc.textFile('s3a://data/out/', 1);
      expect(await lines.count()).toBe(3);
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      expect(await lines.collect()).toEqual(['a1', 'a2', 'b1']);
      expect(await lines.getNumPartitions()).toBe(2);
    } finally {
      await sc.stop();
      await server.close();
    }
  });
});

describe('a task whose read URL has expired', () => {
  it('says so, with the fix, and without the URL query', async () => {
    // Answers as S3 does to a presigned GET used after its expiry.
    const server = createServer((request, response) => {
      if (request.method === 'HEAD') {
        response.writeHead(200, { 'content-length': 12, 'accept-ranges': 'bytes' }).end();
        return;
      }
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message><Expires>2026-11-24T04:00:00Z</Expires></Error>';
      response.writeHead(403, { 'content-type': 'application/xml', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const sc = await SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('expired'));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data/one.txt?X-Amz-Signature=0123abcdsecret`;
      const error = await sc
        .textFile(url, 1)
        .count()
        .then(
          () => {
            throw new Error('expected the job to fail');
          },
          (failure: Error) => failure,
        );
      expect(error.message).toContain('/data/one.txt?… answered 403 Forbidden: AccessDenied (Request has expired)');
      expect(error.message).toContain('spark.mesos.textFile.presignedUrlExpiry');
      expect(error.message).not.toContain('0123abcdsecret');
    } finally {
      await sc.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
