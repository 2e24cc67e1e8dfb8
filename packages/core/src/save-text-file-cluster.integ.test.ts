// saveAsTextFile into the stores on local-cluster, in both Mesos modes: parts are written by
// executor processes (not the driver's worker threads) through the write URLs alone, and read back.
import { startS3Server, startWebHdfsServer } from '@spark-mesos/artifact-uploader/testing';
import { SparkConf } from '@spark-mesos/config';
import { describe, expect, it } from 'vitest';
import { createBackendForMaster } from './backend-for-master.js';
import { SparkContext } from './spark-context.js';

describe('saveAsTextFile to s3a:// and hdfs:// on local-cluster', () => {
  for (const mode of ['coarse', 'fine'] as const) {
    it(`${mode}-grained: executors write every part, read back by textFile`, { timeout: 120_000 }, async () => {
      const s3 = await startS3Server({ buckets: ['out'] });
      const hdfs = await startWebHdfsServer();
      let sc: SparkContext | undefined;
      try {
        const conf = new SparkConf()
          .setMaster('local-cluster[2,2,1024]')
          .setAppName(`save ${mode}`)
          .set('spark.mesos.coarse', String(mode === 'coarse'))
          .set('spark.mesos.coarse.shutdownTimeout', '3s')
          .set('spark.hadoop.fs.s3a.endpoint', s3.endpoint)
          .set('spark.hadoop.fs.s3a.access.key', s3.accessKeyId)
          .set('spark.hadoop.fs.s3a.secret.key', s3.secretAccessKey)
          .set('spark.hadoop.dfs.namenode.http-address', hdfs.namenodeHttpAddress);
        sc = await SparkContext.create(conf, {
          createBackend: (master, c) =>
            createBackendForMaster(master, c, {
              log: () => {},
              packExecutorLocally: true,
              localCluster: {
                cluster: { heartbeatIntervalSeconds: 1, allocationIntervalMs: 50, statusUpdateRetryMs: 500 },
              },
            }),
        });
        const lines = sc.range(0, 1000, 1, 6).map((x) => `n${x}`);
        const expected = Array.from({ length: 1000 }, (_, x) => `n${x}`);
        await lines.saveAsTextFile('s3a://out/numbers');
        await lines.saveAsTextFile('hdfs://127.0.0.1:8020/numbers');
        expect(await sc.textFile('s3a://out/numbers').collect()).toEqual(expected);
        expect(await sc.textFile('hdfs://127.0.0.1:8020/numbers').collect()).toEqual(expected);
        expect(hdfs.list('/numbers')).toEqual([
          '_SUCCESS',
          ...Array.from({ length: 6 }, (_, index) => `part-0000${index}`),
        ]);
        // Every part was PUT by an executor through its signed URL, with no credentials of its own.
        const puts = s3.requests.filter((request) => request.method === 'PUT' && request.url.includes('part-'));
        expect(puts).toHaveLength(6);
        expect(puts.every((request) => request.headers.authorization === undefined)).toBe(true);
      } finally {
        await sc?.stop();
        await s3.close();
        await hdfs.close();
      }
    });
  }
});
