import { describe, expect, it } from 'vitest';
import { APP_SECRET_ENV, appSecretVariable, createAppSecret, takeAppSecret } from './app-secret.js';
import { parseExecutorArgs } from './executor-args.js';
import { buildExecutorCommand } from './executor-command.js';

describe('buildExecutorCommand', () => {
  it('starts a coarse executor from a fetched package, with the secret as a SECRET variable only', () => {
    const secret = createAppSecret();
    const command = buildExecutorCommand({
      mode: 'coarse',
      executorUri: 'http://repo/spark-mesos-executor-0123456789abcdef.tgz',
      cache: true,
      driverAddress: { host: 'driver.example', port: 7077 },
      executorId: 'exec 1',
      cores: 4,
      memoryMiB: 2048,
      taskCpus: 2,
      environment: { TZ: 'UTC' },
      appSecret: secret,
    });
    expect(command.shell).toBe(true);
    expect(command.value).toBe(
      "cd spark-mesos-executor && exec node bin/spark-mesos-executor --mode coarse --driver driver.example:7077 --executor-id 'exec 1' --cores 4 --memory 2048 --task-cpus 2",
    );
    expect(command.uris).toEqual([
      { value: 'http://repo/spark-mesos-executor-0123456789abcdef.tgz', extract: true, cache: true },
    ]);
    const variables = command.environment?.variables ?? [];
    expect(variables[0]).toEqual({ name: 'TZ', type: 'VALUE', value: 'UTC' });
    const secretVariable = variables.find((variable) => variable.name === APP_SECRET_ENV);
    expect(secretVariable).toMatchObject({ type: 'SECRET', secret: { type: 'VALUE' } });
    expect(secretVariable?.value).toBeUndefined();
    expect(Buffer.from(secretVariable?.secret?.value?.data ?? []).toString('utf8')).toBe(
      Buffer.from(secret).toString('base64'),
    );
    const base64 = Buffer.from(secret).toString('base64');
    expect(command.value).not.toContain(base64);
  });

  it('starts from a pre-installed home with a chosen or bundled node, fine mode without driver flags', () => {
    expect(
      buildExecutorCommand({ mode: 'fine', executorHome: "/opt/it's here", node: '/usr/local/bin/node' }).value,
    ).toBe("cd '/opt/it'\\''s here' && exec /usr/local/bin/node bin/spark-mesos-executor --mode fine");
    const bundled = buildExecutorCommand({
      mode: 'fine',
      executorUri: 'file:///p.tgz',
      bundledNode: true,
      node: 'nodejs',
    });
    expect(bundled.value).toBe('cd spark-mesos-executor && exec ./node/bin/node bin/spark-mesos-executor --mode fine');
  });

  it('refuses contradictory or missing options', () => {
    expect(() => buildExecutorCommand({ mode: 'fine' })).toThrow(/exactly one of executorUri/);
    expect(() => buildExecutorCommand({ mode: 'fine', executorUri: 'a', executorHome: 'b' })).toThrow(/exactly one/);
    expect(() => buildExecutorCommand({ mode: 'coarse', executorUri: 'a' })).toThrow(
      /needs driverAddress and executorId/,
    );
    expect(() =>
      buildExecutorCommand({
        mode: 'coarse',
        executorUri: 'a',
        driverAddress: { host: 'h', port: 1 },
        executorId: 'e',
        cores: 1,
        taskCpus: 2,
      }),
    ).toThrow(/must allow at least one task/);
  });

  it('produces flags the executor parses back', () => {
    const command = buildExecutorCommand({
      mode: 'coarse',
      executorHome: '/opt/e',
      driverAddress: { host: '::1', port: 7077 },
      executorId: 'e-7',
      cores: 3,
      memoryMiB: 512,
    });
    const flags =
      (command.value as string)
        .split(' bin/spark-mesos-executor ')[1]
        ?.split(' ')
        .map((flag) => flag.replace(/^'(.*)'$/, '$1')) ?? [];
    expect(parseExecutorArgs(flags)).toMatchObject({
      mode: 'coarse',
      driver: { host: '::1', port: 7077 },
      executorId: 'e-7',
      cores: 3,
      memoryMiB: 512,
      taskCpus: 1,
      driverLostTimeoutMs: 30_000,
    });
  });
});

describe('parseExecutorArgs', () => {
  it('names the bad flag and its value', () => {
    expect(() => parseExecutorArgs(['--mode', 'medium'])).toThrow(/--mode must be coarse or fine, got "medium"/);
    expect(() => parseExecutorArgs(['--mode', 'coarse', '--driver', 'nohost', '--executor-id', 'e'])).toThrow(
      /--driver must be host:port/,
    );
    expect(() =>
      parseExecutorArgs(['--mode', 'coarse', '--driver', 'h:1', '--executor-id', 'e', '--cores=-1']),
    ).toThrow(/--cores must be a positive number, got "-1"/);
    expect(() => parseExecutorArgs(['--mode', 'fine', '--bogus'])).toThrow(/bad flags/);
    expect(parseExecutorArgs(['--mode', 'fine', '--task-timeout-ms', '500'])).toEqual({
      mode: 'fine',
      taskTimeoutMs: 500,
    });
  });
});

describe('takeAppSecret', () => {
  it('reads the base64 secret and deletes it from the environment', () => {
    const secret = createAppSecret();
    const env: Record<string, string | undefined> = {
      [APP_SECRET_ENV]: Buffer.from(secret).toString('base64'),
      OTHER: 'x',
    };
    expect(takeAppSecret(env)).toEqual(secret);
    expect(env).toEqual({ OTHER: 'x' });
    expect(Buffer.from(appSecretVariable(secret).secret?.value?.data ?? []).toString()).toBe(
      Buffer.from(secret).toString('base64'),
    );
  });

  it('refuses a missing or short secret, and still removes it', () => {
    expect(() => takeAppSecret({})).toThrow(/SPARK_MESOS_APP_SECRET is not set/);
    const env: Record<string, string | undefined> = { [APP_SECRET_ENV]: 'c2hvcnQ=' };
    expect(() => takeAppSecret(env)).toThrow(/at least 16 bytes \(got 5 bytes\)/);
    expect(env).toEqual({});
  });
});
