import { randomBytes } from 'node:crypto';
import { SparkMesosError } from '@spark-mesos/errors';
import type { EnvironmentVariable } from '@spark-mesos/mesos-client';

/** The environment variable that carries the application secret to executors (as base64 text). */
export const APP_SECRET_ENV = 'SPARK_MESOS_APP_SECRET';

/** Bytes of an application secret. */
export const APP_SECRET_BYTES = 32;

/** A fresh application secret: 32 random bytes, one per application. */
export function createAppSecret(): Uint8Array {
  return new Uint8Array(randomBytes(APP_SECRET_BYTES));
}

/**
 * The Mesos environment variable that hands `secret` to an executor: type `SECRET` with a value
 * secret holding the base64 text, so it is on neither the command line nor the state endpoints.
 */
export function appSecretVariable(secret: Uint8Array): EnvironmentVariable {
  return secretVariable(APP_SECRET_ENV, Buffer.from(secret).toString('base64'));
}

/** An environment variable of type `SECRET` whose value secret holds `value` (text as UTF-8). */
export function secretVariable(name: string, value: string | Uint8Array): EnvironmentVariable {
  const data = typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'utf8')) : value;
  return { name, type: 'SECRET', secret: { type: 'VALUE', value: { data } } };
}

/**
 * Reads the application secret from `env` and deletes it from there, so user code running later
 * in this process (or its workers, which copy the environment) cannot read it.
 *
 * @throws SparkMesosError `SM_ERR_BAD_APP_SECRET` when it is missing or not base64 of ≥ 16 bytes.
 */
export function takeAppSecret(env: Record<string, string | undefined>): Uint8Array {
  const text = env[APP_SECRET_ENV];
  delete env[APP_SECRET_ENV];
  if (text === undefined || text === '') {
    throw new SparkMesosError(
      'SM_ERR_BAD_APP_SECRET',
      `${APP_SECRET_ENV} is not set; the driver must launch the executor with the application secret as a Mesos environment secret (buildExecutorCommand({ appSecret }))`,
      { cause: { variable: APP_SECRET_ENV } },
    );
  }
  const bytes = Buffer.from(text.trim(), 'base64');
  if (bytes.length < 16 || !/^[A-Za-z0-9+/=\s]+$/.test(text)) {
    throw new SparkMesosError(
      'SM_ERR_BAD_APP_SECRET',
      `${APP_SECRET_ENV} is not the base64 text of a secret of at least 16 bytes (got ${bytes.length} bytes); pass the driver's createAppSecret() through appSecretVariable()`,
      { cause: { variable: APP_SECRET_ENV, bytes: bytes.length } },
    );
  }
  return new Uint8Array(bytes);
}
