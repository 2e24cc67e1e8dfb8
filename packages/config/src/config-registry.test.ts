import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { ConfigRegistry, createConfigRegistry, defaultConfigRegistry } from './config-registry.js';
import { checkConfigValue } from './config-value.js';
import { coreConfigKeys } from './core-config-keys.js';
import { isSecretKey, redactConfValue } from './redaction.js';

describe('ConfigRegistry', () => {
  it('holds the core keys with Spark 3.5 defaults', () => {
    const registry = createConfigRegistry();
    expect(registry.lookup('spark.mesos.coarse')).toMatchObject({ type: 'boolean', default: 'true' });
    expect(registry.lookup('spark.mesos.rejectOfferDuration')).toMatchObject({
      type: 'duration',
      unit: 's',
      default: '120s',
    });
    expect(registry.lookup('spark.mesos.coarse.shutdownTimeout')).toMatchObject({ unit: 'ms', default: '10s' });
    expect(registry.lookup('spark.mesos.driver.failoverTimeout')).toMatchObject({ type: 'double', default: '0.0' });
    expect(registry.lookup('spark.executor.memory')).toMatchObject({ type: 'size', unit: 'm', default: '1g' });
    expect(registry.lookup('spark.mesos.executor.memoryOverhead')).toMatchObject({ type: 'int' });
    expect(registry.lookup('spark.mesos.dispatcher.webui.url')).toBeUndefined();
    expect(registry.lookup('spark.mesos.maxDrivers')).toBeUndefined();
  });

  it('has valid defaults for every core key', () => {
    const registry = createConfigRegistry();
    for (const definition of registry.definitions()) {
      if (definition.default === undefined) continue;
      expect(
        checkConfigValue(definition.key, definition.default, definition, registry),
        definition.key,
      ).toBeUndefined();
    }
    expect(registry.definitions()).toHaveLength(coreConfigKeys.length);
  });

  it('looks keys up through prefixes, longest first', () => {
    const registry = createConfigRegistry([
      { key: 'spark.x.', type: 'string', prefix: true, doc: 'x' },
      { key: 'spark.x.y.', type: 'int', prefix: true, doc: 'xy' },
    ]);
    expect(registry.lookup('spark.x.a')?.key).toBe('spark.x.');
    expect(registry.lookup('spark.x.y.b')?.key).toBe('spark.x.y.');
    expect(registry.has('spark.x.')).toBe(false);
    expect(createConfigRegistry().lookup('spark.executorEnv.PATH')?.key).toBe('spark.executorEnv.');
  });

  it('rejects a key registered by another owner, and lets an owner re-register', () => {
    const registry = new ConfigRegistry();
    registry.register([{ key: 'spark.uploader.dir', type: 'string', doc: 'a' }], { owner: 'uploader' });
    registry.register([{ key: 'spark.uploader.dir', type: 'string', doc: 'b' }], { owner: 'uploader' });
    expect(registry.lookup('spark.uploader.dir')?.doc).toBe('b');
    let caught: unknown;
    try {
      registry.register([{ key: 'spark.uploader.dir', type: 'int', doc: 'c' }], { owner: 'executor' });
    } catch (error) {
      caught = error;
    }
    expect(isSparkMesosError(caught, 'SM_ERR_DUPLICATE_CONFIG_KEY')).toBe(true);
    expect((caught as Error).message).toContain(
      'executor registers spark.uploader.dir, which uploader already registered',
    );
    expect(() => registry.register([{ key: 'spark.t', type: 'size', unit: 's', doc: '' }], { owner: 'o' })).toThrow(
      /unit "s" does not fit type size/,
    );
  });

  it('suggests the closest key', () => {
    const registry = createConfigRegistry();
    expect(registry.suggest('spark.mesos.corse')).toBe('spark.mesos.coarse');
    expect(registry.suggest('spark.mesos.Coarse')).toBe('spark.mesos.coarse');
    expect(registry.suggest('spark.executor.memroy')).toBe('spark.executor.memory');
    expect(registry.suggest('spark.executorenv.PATH')).toBe('spark.executorEnv.PATH');
    expect(registry.suggest('spark.sql.shuffle.partitions')).toBeUndefined();
    expect(registry.suggest('spark.mesos.coarse')).toBeUndefined();
  });

  it('treats flagged keys and keys matching the redaction pattern as secret', () => {
    const registry = createConfigRegistry([{ key: 'spark.custom.credential', type: 'string', secret: true, doc: '' }]);
    expect(registry.isSecret('spark.custom.credential')).toBe(true);
    expect(registry.isSecret('spark.mesos.principal')).toBe(false);
    for (const key of [
      'spark.mesos.secret',
      'spark.ssl.keyPassword',
      'spark.x.TOKEN',
      'fs.s3a.access.key',
      'accesskey',
    ]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    expect(redactConfValue('spark.mesos.secret', 'hunter2')).toBe('****');
    expect(redactConfValue('spark.executor.uri', 'http://u:pw@host/spark.tgz')).toBe('http://u:****@host/spark.tgz');
  });

  it('is shared process-wide through a global symbol', () => {
    const holder = globalThis as unknown as Record<symbol, unknown>;
    expect(holder[Symbol.for('@spark-mesos/config.defaultRegistry')]).toBe(defaultConfigRegistry);
    expect(defaultConfigRegistry.has('spark.mesos.coarse')).toBe(true);
  });
});
