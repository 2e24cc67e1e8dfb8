import { SparkMesosError } from '@spark-mesos/errors';
import type { ConfigRegistry, RegisteredConfigKey } from './config-registry.js';
import { type DurationUnit, parseDuration } from './duration.js';
import { javaTrim } from './java-trim.js';
import { redactConfValue } from './redaction.js';
import { parseSize, type SizeUnit } from './size.js';

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** Builds the SM_ERR_BAD_CONFIG error for a value of `key` that does not parse. */
export function badConfigValue(
  key: string,
  value: string,
  explanation: string,
  registry: ConfigRegistry,
): SparkMesosError {
  const shown = redactConfValue(key, value, registry);
  return new SparkMesosError('SM_ERR_BAD_CONFIG', `${key}: ${JSON.stringify(shown)} ${explanation}`, {
    cause: { key, value: shown },
    details: { key, value: shown },
  });
}

/** Java's `Integer.parseInt` on the trimmed value (Spark's `intConf`). */
export function parseIntValue(key: string, value: string, registry: ConfigRegistry): number {
  const trimmed = javaTrim(value);
  if (/^[+-]?[0-9]+$/.test(trimmed)) {
    const parsed = Number(trimmed);
    if (parsed >= INT_MIN && parsed <= INT_MAX) return parsed === 0 ? 0 : parsed;
  }
  throw badConfigValue(
    key,
    value,
    `is not an integer; use a whole number from ${INT_MIN} to ${INT_MAX} (e.g. 4)`,
    registry,
  );
}

/** A decimal number on the trimmed value (Spark's `doubleConf`; Java's hex and `d`/`f` suffix forms are not accepted). */
export function parseDoubleValue(key: string, value: string, registry: ConfigRegistry): number {
  const trimmed = javaTrim(value);
  if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(trimmed)) {
    const parsed = Number(trimmed);
    if (Number.isFinite(parsed)) return parsed;
  }
  throw badConfigValue(key, value, 'is not a number; use a decimal number (e.g. 0.1, 2.5, 1e3)', registry);
}

/** `true`/`false`, case-insensitive, trimmed (Scala's `toBoolean`, Spark's `booleanConf`). */
export function parseBooleanValue(key: string, value: string, registry: ConfigRegistry): boolean {
  const lower = javaTrim(value).toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw badConfigValue(key, value, 'is not a boolean; use true or false', registry);
}

/** Parses a size of `key` in `unit`, errors naming the key and redacting its value. */
export function parseSizeValue(key: string, value: string, unit: SizeUnit, registry: ConfigRegistry): number {
  return parseSize(value, { unit, key, redact: (raw) => redactConfValue(key, raw, registry) });
}

/** Parses a duration of `key` in `unit`, errors naming the key and redacting its value. */
export function parseDurationValue(key: string, value: string, unit: DurationUnit, registry: ConfigRegistry): number {
  return parseDuration(value, { unit, key, redact: (raw) => redactConfValue(key, raw, registry) });
}

/**
 * Checks `value` against the definition's type and allowed values.
 * @returns the SM_ERR_BAD_CONFIG error describing the problem, or `undefined` when it is valid.
 */
export function checkConfigValue(
  key: string,
  value: string,
  definition: RegisteredConfigKey,
  registry: ConfigRegistry,
): SparkMesosError | undefined {
  try {
    switch (definition.type) {
      case 'int':
        parseIntValue(key, value, registry);
        break;
      case 'double':
        parseDoubleValue(key, value, registry);
        break;
      case 'boolean':
        parseBooleanValue(key, value, registry);
        break;
      case 'size':
        parseSizeValue(key, value, (definition.unit as SizeUnit | undefined) ?? 'b', registry);
        break;
      case 'duration':
        parseDurationValue(key, value, (definition.unit as DurationUnit | undefined) ?? 'ms', registry);
        break;
      case 'string':
        break;
    }
  } catch (error) {
    if (error instanceof SparkMesosError) return error;
    throw error;
  }
  if (definition.allowedValues !== undefined && !definition.allowedValues.includes(value)) {
    return badConfigValue(
      key,
      value,
      `is not one of ${definition.allowedValues.join(', ')}; use one of them`,
      registry,
    );
  }
  return undefined;
}

/** The warning for a key that does not start with `spark.` (spark-submit's wording). */
export function nonSparkKeyWarning(key: string): string {
  return `Ignoring non-Spark config property: ${key} (only keys starting with "spark." are read)`;
}

/** The warning for a `spark.*` key no registered definition covers, with a did-you-mean. */
export function unknownKeyWarning(key: string, registry: ConfigRegistry): string {
  const suggestion = registry.suggest(key);
  const hint = suggestion === undefined ? '' : `; did you mean ${suggestion}?`;
  return `Unknown config property ${key}: spark-mesos does not read it${hint}`;
}

/** The warning for a deprecated key that is set. */
export function deprecatedKeyWarning(key: string, definition: RegisteredConfigKey): string {
  const deprecation = definition.deprecated!;
  const since = deprecation.since === undefined ? '' : ` since ${deprecation.since}`;
  const replacement =
    deprecation.replacedBy === undefined ? '' : `; use ${deprecation.replacedBy} instead (the value is carried over)`;
  return `${key} is deprecated${since}: ${deprecation.message}${replacement}`;
}
