// The executor package uploaded to a store named by spark.executor.uri, with the store's settings
// taken from Spark's configuration (spark.hadoop.fs.s3a.*), against s3rver.
import { startS3Server } from '@spark-mesos/artifact-uploader/testing';
import { SparkConf } from '@spark-mesos/config';
import { expect, it } from 'vitest';
import { prepareExecutorSource } from './mesos-executor-source.js';

it('uploads to an s3a:// spark.executor.uri prefix with the endpoint and keys from spark.hadoop.fs.s3a.*', async () => {
  const server = await startS3Server({ buckets: ['packages'] });
  try {
    const conf = new SparkConf({ loadDefaults: false })
      .set('spark.executor.uri', 's3a://packages/spark-mesos/')
      .set('spark.hadoop.fs.s3a.endpoint', server.endpoint)
      .set('spark.hadoop.fs.s3a.access.key', server.accessKeyId)
      .set('spark.hadoop.fs.s3a.secret.key', server.secretAccessKey);
    const prepared = await prepareExecutorSource(conf);
    const uri = (prepared.source as { executorUri: string }).executorUri;
    expect(uri).toMatch(/^s3a:\/\/packages\/spark-mesos\/spark-mesos-executor-[0-9a-f]{16}\.tgz$/);
    // s3rver serves unsigned reads: the object is there, whole.
    const response = await fetch(`${server.endpoint}/packages/${uri.slice('s3a://packages/'.length)}`);
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(1000);
    await response.arrayBuffer();
  } finally {
    await server.close();
  }
}, 60_000);
