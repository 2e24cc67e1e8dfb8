import { SparkConf } from '@spark-mesos/config';
import { isSparkMesosError } from '@spark-mesos/errors';
import type { CommandInfo } from '@spark-mesos/mesos-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildContainerInfo,
  buildExecutorContainer,
  describeExecutorContainer,
  parseParamsSpec,
  parsePortMappingsSpec,
  parseVolumesSpec,
  withSecretVariables,
} from './mesos-container.js';

function badConfig(run: () => unknown): { key: unknown; message: string } {
  try {
    run();
  } catch (error) {
    expect(isSparkMesosError(error, 'SM_ERR_BAD_CONFIG')).toBe(true);
    return { key: (error as { details?: { key?: unknown } }).details?.key, message: (error as Error).message };
  }
  throw new Error('expected SM_ERR_BAD_CONFIG');
}

const image = (conf: SparkConf) => conf.set('spark.mesos.executor.docker.image', 'some_image');

// Mirrors Spark 3.5's MesosSchedulerBackendUtilSuite.
describe('MesosSchedulerBackendUtil (Spark 3.5 suite)', () => {
  it('Parse arbitrary parameter to pass into docker containerizer', () => {
    expect(parseParamsSpec('a=1,b=2,c=3')).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
      { key: 'c', value: '3' },
    ]);
    // A value may hold '=' (Spark splits with a limit of 2), and may be empty.
    expect(parseParamsSpec(' label=team=data , memory-swap=')).toEqual([
      { key: 'label', value: 'team=data' },
      { key: 'memory-swap', value: '' },
    ]);
    // Spark logs and drops "a,b"; we refuse it, naming the entry and the form.
    const { key, message } = badConfig(() => parseParamsSpec('a,b'));
    expect(key).toBe('spark.mesos.executor.docker.parameters');
    expect(message).toContain('"a" is not a docker parameter; write key=value');
    expect(badConfig(() => parseParamsSpec('=1')).message).toContain('"=1" is not a docker parameter');
  });

  it('ContainerInfo contains parsed arbitrary parameters', () => {
    const container = buildContainerInfo(
      image(new SparkConf()).set('spark.mesos.executor.docker.parameters', 'a=1,b=2,c=3'),
    );
    expect(container?.docker?.parameters).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
      { key: 'c', value: '3' },
    ]);
  });

  it('ContainerInfo respects Docker network configuration', () => {
    const container = buildContainerInfo(
      image(new SparkConf())
        .set('spark.mesos.network.name', 'test-network-name')
        .set('spark.mesos.network.labels', 'k1:v1,k2:v2'),
    );
    expect(container?.type).toBe('DOCKER');
    expect(container?.docker?.network).toBe('USER');
    expect(container?.docker?.parameters).toEqual([{ key: 'net', value: 'test-network-name' }]);
    expect(container?.network_infos).toEqual([
      {
        name: 'test-network-name',
        labels: {
          labels: [
            { key: 'k1', value: 'v1' },
            { key: 'k2', value: 'v2' },
          ],
        },
      },
    ]);
  });

  it('parses volumes as [host_path:]container_path[:ro|:rw], read-write by default', () => {
    expect(parseVolumesSpec('/c, /c:rw, /c:ro, /h:/c, /h:/c:rw, /h:/c:ro')).toEqual([
      { container_path: '/c', mode: 'RW' },
      { container_path: '/c', mode: 'RW' },
      { container_path: '/c', mode: 'RO' },
      { container_path: '/c', host_path: '/h', mode: 'RW' },
      { container_path: '/c', host_path: '/h', mode: 'RW' },
      { container_path: '/c', host_path: '/h', mode: 'RO' },
    ]);
    expect(parseVolumesSpec(undefined)).toEqual([]);
    for (const entry of ['/a:/b:/c', '/a:/b:/c:ro', ':/c', '/h:', '/h:/c:rx', ':ro']) {
      const { key, message } = badConfig(() => parseVolumesSpec(`/ok,${entry}`));
      expect(key).toBe('spark.mesos.executor.docker.volumes');
      expect(message).toContain(`"${entry}" is not a volume; write [host_path:]container_path[:ro|:rw]`);
    }
  });

  it('parses port mappings as host_port:container_port[:tcp|:udp], tcp by default', () => {
    expect(parsePortMappingsSpec('8080:80, 53:53:udp,0:9000:tcp')).toEqual([
      { host_port: 8080, container_port: 80, protocol: 'tcp' },
      { host_port: 53, container_port: 53, protocol: 'udp' },
      { host_port: 0, container_port: 9000, protocol: 'tcp' },
    ]);
    // Spark's toInt throws a NumberFormatException on "x", and drops "80"; we name the entry.
    for (const entry of ['80', 'x:80', '80:y', '70000:80', '8080:80:icmp', '1:2:tcp:4', '-1:80']) {
      const { key, message } = badConfig(() => parsePortMappingsSpec(entry));
      expect(key).toBe('spark.mesos.executor.docker.portmaps');
      expect(message).toContain(`"${entry}" is not a port mapping; write host_port:container_port[:tcp|:udp]`);
    }
  });
});

// The container cases of Spark 3.5's MesosCoarseGrainedSchedulerBackendSuite and
// MesosFineGrainedSchedulerBackendSuite, on what the backends put on TaskInfo/ExecutorInfo.
describe('executor container (Spark 3.5 backend suites)', () => {
  it('sets no container without an image, a network or secret files', () => {
    expect(buildExecutorContainer(new SparkConf())).toEqual({
      container: undefined,
      secretVariables: [],
      warnings: [],
    });
  });

  it('honors unset spark.mesos.containerizer (docker): a DOCKER ContainerInfo, which the backends refuse', () => {
    expect(buildContainerInfo(image(new SparkConf()))?.type).toBe('DOCKER');
    // Mesos' Docker containerizer passes no secrets; executors need their application secret.
    const { key, message } = badConfig(() => buildExecutorContainer(image(new SparkConf())));
    expect(key).toBe('spark.mesos.containerizer');
    expect(message).toContain(
      'spark.mesos.executor.docker.image is "some_image" with spark.mesos.containerizer=docker',
    );
    expect(message).toContain('set spark.mesos.containerizer=mesos');
  });

  it('honors spark.mesos.containerizer="mesos"', () => {
    const { container } = buildExecutorContainer(image(new SparkConf()).set('spark.mesos.containerizer', 'mesos'));
    expect(container).toEqual({
      type: 'MESOS',
      mesos: { image: { type: 'DOCKER', docker: { name: 'some_image' }, cached: true } },
    });
  });

  it('rejects an unknown spark.mesos.containerizer', () => {
    const { key, message } = badConfig(() =>
      buildExecutorContainer(image(new SparkConf()).set('spark.mesos.containerizer', 'podman')),
    );
    expect(key).toBe('spark.mesos.containerizer');
    expect(message).toContain('"podman" is not a containerizer; set docker or mesos');
  });

  it('docker settings are reflected in created tasks', () => {
    const container = buildContainerInfo(
      image(new SparkConf())
        .set('spark.mesos.executor.docker.forcePullImage', 'true')
        .set('spark.mesos.executor.docker.volumes', '/host_vol:/container_vol:ro')
        .set('spark.mesos.executor.docker.portmaps', '8080:80:tcp'),
    );
    expect(container).toEqual({
      type: 'DOCKER',
      docker: {
        image: 'some_image',
        force_pull_image: true,
        port_mappings: [{ host_port: 8080, container_port: 80, protocol: 'tcp' }],
      },
      volumes: [{ container_path: '/container_vol', host_path: '/host_vol', mode: 'RO' }],
    });
  });

  it('spark docker properties correctly populate the DockerInfo message', () => {
    // The fine-grained suite's case, with the Mesos containerizer our backends accept.
    const { container, warnings } = buildExecutorContainer(
      image(new SparkConf())
        .set('spark.mesos.containerizer', 'mesos')
        .set('spark.mesos.executor.docker.forcePullImage', 'true')
        .set('spark.mesos.executor.docker.volumes', '/a,/b:/b,/c:/c:rw,/d:ro,/e:/e:ro'),
    );
    expect(container?.mesos?.image).toEqual({ type: 'DOCKER', docker: { name: 'some_image' }, cached: false });
    expect(container?.volumes).toEqual([
      { container_path: '/a', mode: 'RW' },
      { container_path: '/b', host_path: '/b', mode: 'RW' },
      { container_path: '/c', host_path: '/c', mode: 'RW' },
      { container_path: '/d', mode: 'RO' },
      { container_path: '/e', host_path: '/e', mode: 'RO' },
    ]);
    expect(warnings).toEqual([]);
  });

  it('force-pull-image option is disabled by default', () => {
    expect(buildContainerInfo(image(new SparkConf()))?.docker?.force_pull_image).toBe(false);
    const { container } = buildExecutorContainer(image(new SparkConf()).set('spark.mesos.containerizer', 'mesos'));
    expect(container?.mesos?.image?.cached).toBe(true);
  });

  it('mesos supports spark.mesos.network.name and spark.mesos.network.labels', () => {
    const { container } = buildExecutorContainer(
      new SparkConf()
        .set('spark.mesos.network.name', 'test-network-name')
        .set('spark.mesos.network.labels', 'key1:val1,key2:val2'),
    );
    expect(container).toEqual({
      type: 'MESOS',
      network_infos: [
        {
          name: 'test-network-name',
          labels: {
            labels: [
              { key: 'key1', value: 'val1' },
              { key: 'key2', value: 'val2' },
            ],
          },
        },
      ],
    });
    const { key } = badConfig(() =>
      buildExecutorContainer(
        new SparkConf().set('spark.mesos.network.name', 'n').set('spark.mesos.network.labels', 'nolabel'),
      ),
    );
    expect(key).toBe('spark.mesos.network.labels');
  });

  it('Creates an env-based reference secrets.', () => {
    const { container, secretVariables } = buildExecutorContainer(
      new SparkConf()
        .set('spark.mesos.executor.secret.names', '/path/to/secret,/anothersecret')
        .set('spark.mesos.executor.secret.envkeys', 'SECRET_ENV_KEY,PASSWORD'),
    );
    expect(container).toBeUndefined();
    expect(secretVariables).toEqual([
      { name: 'SECRET_ENV_KEY', type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: '/path/to/secret' } } },
      { name: 'PASSWORD', type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: '/anothersecret' } } },
    ]);
  });

  it('Creates an env-based value secrets.', () => {
    const { secretVariables } = buildExecutorContainer(
      new SparkConf()
        .set('spark.mesos.executor.secret.values', 'user,password')
        .set('spark.mesos.executor.secret.envkeys', 'USER,PASSWORD'),
    );
    expect(secretVariables.map((variable) => variable.name)).toEqual(['USER', 'PASSWORD']);
    expect(secretVariables.map((variable) => variable.secret?.type)).toEqual(['VALUE', 'VALUE']);
    expect(secretVariables.map((variable) => new TextDecoder().decode(variable.secret?.value?.data))).toEqual([
      'user',
      'password',
    ]);
  });

  it('Creates file-based reference secrets.', () => {
    const { container, secretVariables } = buildExecutorContainer(
      new SparkConf()
        .set('spark.mesos.executor.secret.names', '/path/to/secret,/anothersecret')
        .set('spark.mesos.executor.secret.filenames', '/topsecret,/mypassword'),
    );
    expect(secretVariables).toEqual([]);
    expect(container).toEqual({
      type: 'MESOS',
      volumes: [
        {
          container_path: '/topsecret',
          mode: 'RO',
          source: { type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: '/path/to/secret' } } },
        },
        {
          container_path: '/mypassword',
          mode: 'RO',
          source: { type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: '/anothersecret' } } },
        },
      ],
    });
  });

  it('Creates file-based value secrets.', () => {
    const { container } = buildExecutorContainer(
      image(new SparkConf())
        .set('spark.mesos.containerizer', 'mesos')
        .set('spark.mesos.executor.docker.volumes', '/data:/data:ro')
        .set('spark.mesos.executor.secret.values', 'user,password')
        .set('spark.mesos.executor.secret.filenames', '/whoami,/mypassword'),
    );
    // The image's volumes first, then the secret files.
    expect(container?.volumes?.map((volume) => [volume.container_path, volume.source?.type])).toEqual([
      ['/data', undefined],
      ['/whoami', 'SECRET'],
      ['/mypassword', 'SECRET'],
    ]);
    expect(new TextDecoder().decode(container?.volumes?.[2]?.source?.secret?.value?.data)).toBe('password');
  });

  it("mirrors Spark's secret checks, naming the key and never a secret value", () => {
    const both = badConfig(() =>
      buildExecutorContainer(
        new SparkConf()
          .set('spark.mesos.executor.secret.names', 'a')
          .set('spark.mesos.executor.secret.values', 'hunter2'),
      ),
    );
    expect(both.key).toBe('spark.mesos.executor.secret.names');
    expect(both.message).toContain(
      'spark.mesos.executor.secret.names and spark.mesos.executor.secret.values are both set',
    );
    expect(both.message).not.toContain('hunter2');

    const envKeys = badConfig(() =>
      buildExecutorContainer(
        new SparkConf()
          .set('spark.mesos.executor.secret.values', 'hunter2,s3cret')
          .set('spark.mesos.executor.secret.envkeys', 'ONLY_ONE'),
      ),
    );
    expect(envKeys.key).toBe('spark.mesos.executor.secret.envkeys');
    expect(envKeys.message).toContain(
      'names 1 destination(s) (ONLY_ONE) for 2 secret(s) in spark.mesos.executor.secret.values; give one destination per secret',
    );
    expect(envKeys.message).not.toContain('hunter2');

    const files = badConfig(() =>
      buildExecutorContainer(new SparkConf().set('spark.mesos.executor.secret.filenames', '/a')),
    );
    expect(files.key).toBe('spark.mesos.executor.secret.filenames');
    expect(files.message).toContain('for 0 secret(s)');

    const shadow = badConfig(() =>
      buildExecutorContainer(
        new SparkConf()
          .set('spark.mesos.executor.secret.values', 'x')
          .set('spark.mesos.executor.secret.envkeys', 'SPARK_MESOS_APP_SECRET'),
      ),
    );
    expect(shadow.message).toContain('SPARK_MESOS_APP_SECRET, the variable that carries the application secret');
  });

  it('warns about settings that have no effect as given', () => {
    const { container, warnings } = buildExecutorContainer(
      new SparkConf()
        .set('spark.mesos.executor.docker.volumes', '/a:/b')
        .set('spark.mesos.executor.docker.forcePullImage', 'true')
        .set('spark.mesos.network.labels', 'a:b')
        .set('spark.mesos.executor.secret.names', 'unused'),
    );
    expect(container).toBeUndefined();
    expect(warnings).toEqual([
      'spark.mesos.executor.docker.volumes is set but spark.mesos.executor.docker.image is not: it applies only to an executor image, so it is ignored',
      'spark.mesos.executor.docker.forcePullImage is set but spark.mesos.executor.docker.image is not: it applies only to an executor image, so it is ignored',
      'spark.mesos.network.labels is set but spark.mesos.network.name is not: the labels are ignored',
      'spark.mesos.executor.secret.names is set but neither spark.mesos.executor.secret.envkeys nor spark.mesos.executor.secret.filenames is: the secrets reach no executor',
    ]);
    expect(
      buildExecutorContainer(
        image(new SparkConf())
          .set('spark.mesos.containerizer', 'mesos')
          .set('spark.mesos.executor.docker.portmaps', '1:2'),
      ).warnings,
    ).toEqual([
      'spark.mesos.executor.docker.portmaps is set but spark.mesos.containerizer is mesos: port mappings and docker parameters apply only to the Docker containerizer, so they are ignored',
    ]);
  });

  it('appends the secret variables after the command’s own, keeping the application secret', () => {
    const command: CommandInfo = {
      value: 'run',
      environment: { variables: [{ name: 'SPARK_MESOS_APP_SECRET', type: 'SECRET', secret: { type: 'VALUE' } }] },
    };
    expect(withSecretVariables(command, [])).toBe(command);
    const merged = withSecretVariables(command, [{ name: 'PASSWORD', type: 'SECRET', secret: { type: 'VALUE' } }]);
    expect(merged.environment?.variables?.map((variable) => variable.name)).toEqual([
      'SPARK_MESOS_APP_SECRET',
      'PASSWORD',
    ]);
    expect(withSecretVariables({ value: 'run' }, [{ name: 'X', type: 'SECRET' }]).environment).toEqual({
      variables: [{ name: 'X', type: 'SECRET' }],
    });
  });

  it('describes the container for a launch failure', () => {
    expect(describeExecutorContainer(undefined)).toBe('');
    const { container } = buildExecutorContainer(
      image(new SparkConf()).set('spark.mesos.containerizer', 'mesos').set('spark.mesos.network.name', 'net1'),
    );
    const text = describeExecutorContainer(container);
    expect(text).toContain('the image "some_image" (spark.mesos.executor.docker.image), which needs agents run with');
    expect(text).toContain('--image_providers=docker');
    expect(text).toContain('the network "net1" (spark.mesos.network.name)');
  });
});

describe('spec parsers (properties)', () => {
  const path = fc.stringMatching(/^\/[a-z0-9_./-]{0,12}$/);
  const volume = fc.record({
    hostPath: fc.option(path, { nil: undefined }),
    containerPath: path,
    mode: fc.constantFrom(undefined, 'ro', 'rw'),
  });
  const port = fc.integer({ min: 0, max: 65535 });

  it('reads back every volume list written in the documented form', () => {
    fc.assert(
      fc.property(fc.array(volume, { maxLength: 5 }), (volumes) => {
        const text = volumes
          .map(({ hostPath, containerPath, mode }) =>
            [hostPath, containerPath, mode].filter((part) => part !== undefined).join(':'),
          )
          .join(',');
        expect(parseVolumesSpec(text)).toEqual(
          volumes.map(({ hostPath, containerPath, mode }) => ({
            container_path: containerPath,
            ...(hostPath === undefined ? {} : { host_path: hostPath }),
            mode: mode === 'ro' ? 'RO' : 'RW',
          })),
        );
      }),
    );
  });

  it('reads back every port mapping list, and rejects any entry with a port out of range', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(port, port, fc.constantFrom(undefined, 'tcp', 'udp')), { maxLength: 5 }),
        (mappings) => {
          const text = mappings.map((parts) => parts.filter((part) => part !== undefined).join(':')).join(',');
          expect(parsePortMappingsSpec(text)).toEqual(
            mappings.map(([host, container, protocol]) => ({
              host_port: host,
              container_port: container,
              protocol: protocol ?? 'tcp',
            })),
          );
        },
      ),
    );
    fc.assert(
      fc.property(port, fc.integer({ min: 65536, max: 10_000_000 }), (good, bad) => {
        expect(() => parsePortMappingsSpec(`${good}:${bad}`)).toThrow(/is not a port mapping/);
        expect(() => parsePortMappingsSpec(`${bad}:${good}`)).toThrow(/is not a port mapping/);
      }),
    );
  });

  it('splits every parameter at its first =', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z-]{0,8}$/), fc.stringMatching(/^[a-z0-9=:]{0,10}$/), (key, value) => {
        expect(parseParamsSpec(`${key}=${value}`)).toEqual([{ key, value }]);
      }),
    );
  });
});
