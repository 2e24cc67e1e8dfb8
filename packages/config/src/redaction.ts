import { REDACTED, redactSecrets, redactUrlCredentials } from '@spark-mesos/errors';
import { type ConfigRegistry, defaultConfigRegistry } from './config-registry.js';

/**
 * Whether values of `key` are secret: flagged in the registry, or matching Spark's redaction
 * pattern `secret|password|token|access.?key` (case-insensitive).
 */
export function isSecretKey(key: string, registry: ConfigRegistry = defaultConfigRegistry): boolean {
  return registry.isSecret(key);
}

/**
 * `value` as it may be printed: `****` for a secret key, otherwise with URL passwords masked
 * (`http://user:****@host`).
 */
export function redactConfValue(key: string, value: string, registry: ConfigRegistry = defaultConfigRegistry): string {
  return registry.isSecret(key) ? REDACTED : redactUrlCredentials(value);
}

/**
 * Masks, in free text such as a script's stderr, every value in `secrets` and every URL password.
 */
export function redactText(text: string, secrets: Iterable<string>): string {
  return redactUrlCredentials(redactSecrets(text, secrets));
}
