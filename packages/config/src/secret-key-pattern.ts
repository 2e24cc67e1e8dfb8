/**
 * Keys whose values are printed as `****` even when the registry does not flag them: Spark's
 * default `spark.redaction.regex`, `(?i)secret|password|token|access[.]?key`.
 * @see https://spark.apache.org/docs/3.5.4/configuration.html#runtime-environment
 */
export const SECRET_KEY_PATTERN = /secret|password|token|access\.?key/i;
