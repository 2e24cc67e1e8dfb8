import { SparkConf } from '@spark-mesos/config';
import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { registerMesosBackendKeys } from './mesos-backend-keys.js';
import { buildFrameworkInfo, parseMesosLabels } from './mesos-framework-info.js';

function confWith(values: Record<string, string>, env: Record<string, string> = {}): SparkConf {
  const conf = new SparkConf({ env: (name) => env[name] });
  registerMesosBackendKeys(conf.registry);
  return conf.setAll(values);
}

describe('parseMesosLabels', () => {
  it('reads key:value pairs separated by commas, with escaped commas and colons', () => {
    expect(parseMesosLabels('k', 'team:data,url:http\\://x\\,y, empty:')).toEqual([
      { key: 'team', value: 'data' },
      { key: 'url', value: 'http://x,y' },
      { key: ' empty', value: '' },
    ]);
    expect(parseMesosLabels('k', undefined)).toEqual([]);
    expect(parseMesosLabels('k', '  ')).toEqual([]);
  });

  it('refuses a pair without exactly one colon, naming the key', () => {
    try {
      parseMesosLabels('spark.mesos.task.labels', 'a:b,c');
      expect.unreachable();
    } catch (error) {
      expect(isSparkMesosError(error, 'SM_ERR_BAD_CONFIG')).toBe(true);
      expect((error as Error).message).toContain('spark.mesos.task.labels: "c" is not a key:value label');
    }
  });
});

describe('buildFrameworkInfo', () => {
  it('fills what Spark fills with defaults: user, name, hostname, failover_timeout 0', () => {
    const info = buildFrameworkInfo(confWith({ 'spark.app.name': 'pi' }), {
      defaultUser: 'alice',
      defaultHostname: 'driver-host',
    });
    expect(info).toEqual({ user: 'alice', name: 'pi', hostname: 'driver-host', failover_timeout: 0 });
  });

  it('reads SPARK_USER, SPARK_PUBLIC_DNS, role, principal, web UI, checkpoint, failover timeout, framework id, gpus and labels', () => {
    const conf = confWith(
      {
        'spark.app.name': 'word count',
        'spark.mesos.role': 'analytics',
        'spark.mesos.driver.webui.url': 'http://driver:4040',
        'spark.mesos.checkpoint': 'true',
        'spark.mesos.driver.failoverTimeout': '3600',
        'spark.mesos.driver.frameworkId': 'fw-1',
        'spark.mesos.gpus.max': '2',
        'spark.mesos.driver.labels': 'team:data,tier:batch',
      },
      { SPARK_USER: 'spark', SPARK_PUBLIC_DNS: 'driver.example.com' },
    );
    expect(buildFrameworkInfo(conf, { principal: 'spark-principal' })).toEqual({
      user: 'spark',
      name: 'word count',
      hostname: 'driver.example.com',
      failover_timeout: 3600,
      id: { value: 'fw-1-0000' },
      webui_url: 'http://driver:4040',
      checkpoint: true,
      role: 'analytics',
      principal: 'spark-principal',
      capabilities: [{ type: 'GPU_RESOURCES' }],
      labels: {
        labels: [
          { key: 'team', value: 'data' },
          { key: 'tier', value: 'batch' },
        ],
      },
    });
  });
});
