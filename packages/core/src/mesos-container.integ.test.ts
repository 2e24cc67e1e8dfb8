// Executor containers end to end: images, networks and secrets on an in-process local-cluster
// (mesos-local, whose agents run neither Docker nor images), or on the real master named by
// SPARK_MESOS_TEST_MASTER (see mesos-backends.integ.test.ts); the cases that depend on what the
// agents cannot do are skipped there, since a real agent may well run images.
import { SparkConf } from '@spark-mesos/config';
import { afterEach, describe, expect, it } from 'vitest';
import { type BackendForMasterOptions, createBackendForMaster } from './backend-for-master.js';
import { SparkContext } from './spark-context.js';

const realMaster = process.env.SPARK_MESOS_TEST_MASTER || undefined;
const target = realMaster ?? 'local-cluster[2,2,1024]';

function clusterConf(name: string, settings: Record<string, string>): SparkConf {
  const conf = new SparkConf().setMaster(target).setAppName(`spark-mesos ${name}`);
  conf.set('spark.cores.max', '4');
  conf.set('spark.mesos.coarse.shutdownTimeout', '3s');
  if (realMaster !== undefined) {
    conf.set('spark.driver.host', '127.0.0.1');
    const { SPARK_MESOS_TEST_PRINCIPAL: principal, SPARK_MESOS_TEST_SECRET: secret } = process.env;
    if (principal !== undefined) conf.set('spark.mesos.principal', principal);
    if (secret !== undefined) conf.set('spark.mesos.secret', secret);
    if (process.env.SPARK_MESOS_TEST_ROLE !== undefined)
      conf.set('spark.mesos.role', process.env.SPARK_MESOS_TEST_ROLE);
  }
  return conf.setAll(settings);
}

let warnings: string[] = [];

function start(conf: SparkConf): Promise<SparkContext> {
  warnings = [];
  const options: BackendForMasterOptions = {
    packExecutorLocally: true,
    localCluster: { cluster: { heartbeatIntervalSeconds: 1, allocationIntervalMs: 50, statusUpdateRetryMs: 500 } },
    log: (level, message) => {
      if (level !== 'info') warnings.push(message);
    },
  };
  return SparkContext.create(conf, { createBackend: (master, c) => createBackendForMaster(master, c, options) });
}

let active: SparkContext | undefined;
afterEach(async () => {
  await active?.stop();
  active = undefined;
});

describe(`executor containers on ${target}`, () => {
  for (const mode of ['coarse', 'fine'] as const) {
    const coarse = String(mode === 'coarse');

    it.skipIf(realMaster !== undefined)(
      `${mode}-grained: an executor image the agents cannot run fails the job naming the container failure`,
      { timeout: 90_000 },
      async () => {
        active = await start(
          clusterConf(`${mode} image`, {
            'spark.mesos.coarse': coarse,
            'spark.mesos.executor.docker.image': 'node:20-slim',
            'spark.mesos.containerizer': 'mesos',
          }),
        );
        const error = (await active
          .range(0, 10, 1, 2)
          .count()
          .catch((caught: unknown) => caught)) as { code: string; message: string };
        expect(error.code).toBe('SM_ERR_EXECUTOR_LAUNCH_FAILED');
        expect(error.message).toContain('TASK_FAILED (REASON_CONTAINER_LAUNCH_FAILED)');
        expect(error.message).toContain('Failed to launch container: Unsupported container image type: DOCKER');
        expect(error.message).toContain(
          'The executors run in a Mesos container with the image "node:20-slim" (spark.mesos.executor.docker.image), which needs agents run with --containerizers=mesos --image_providers=docker',
        );
      },
    );

    it(`${mode}-grained: env secrets (spark.mesos.executor.secret.values/envkeys) reach the executors`, {
      timeout: 120_000,
    }, async () => {
      active = await start(
        clusterConf(`${mode} secrets`, {
          'spark.mesos.coarse': coarse,
          'spark.mesos.executor.secret.values': 'db-user,hunter2',
          'spark.mesos.executor.secret.envkeys': 'SPARK_MESOS_TEST_DB_USER,SPARK_MESOS_TEST_DB_PASSWORD',
        }),
      );
      const seen = await active.runJob(active.range(0, 2, 1, 2), () => [
        process.env.SPARK_MESOS_TEST_DB_USER,
        process.env.SPARK_MESOS_TEST_DB_PASSWORD,
      ]);
      expect(seen).toEqual([
        ['db-user', 'hunter2'],
        ['db-user', 'hunter2'],
      ]);
      expect(warnings.filter((warning) => warning.includes('spark.mesos.executor.secret'))).toEqual([]);
    });
  }

  // A real agent would need a CNI network of that name.
  for (const mode of ['coarse', 'fine'] as const) {
    it.skipIf(realMaster !== undefined)(
      `${mode}-grained: spark.mesos.network.name puts a MESOS container without an image on the executors, which mesos-local runs`,
      { timeout: 90_000 },
      async () => {
        active = await start(
          clusterConf(`${mode} network`, {
            'spark.mesos.coarse': String(mode === 'coarse'),
            'spark.mesos.network.name': 'spark-net',
            'spark.mesos.network.labels': 'team:data',
          }),
        );
        expect(await active.range(0, 10, 1, 2).count()).toBe(10);
      },
    );
  }

  it('an image with the Docker containerizer (the default) fails SparkContext.create before any offer', {
    timeout: 30_000,
  }, async () => {
    const error = (await start(clusterConf('docker', { 'spark.mesos.executor.docker.image': 'node:20-slim' })).catch(
      (caught: unknown) => caught,
    )) as { code: string; message: string };
    expect(error.code).toBe('SM_ERR_BAD_CONFIG');
    expect(error.message).toContain('set spark.mesos.containerizer=mesos');
  });

  it('a malformed volume fails SparkContext.create naming the key, the entry and the form', {
    timeout: 30_000,
  }, async () => {
    const error = (await start(
      clusterConf('bad volume', {
        'spark.mesos.executor.docker.image': 'node:20-slim',
        'spark.mesos.containerizer': 'mesos',
        'spark.mesos.executor.docker.volumes': '/data:/data:rx',
      }),
    ).catch((caught: unknown) => caught)) as { code: string; message: string };
    expect(error.code).toBe('SM_ERR_BAD_CONFIG');
    expect(error.message).toContain(
      'spark.mesos.executor.docker.volumes: "/data:/data:rx" is not a volume; write [host_path:]container_path[:ro|:rw]',
    );
  });
});
