export { MAX_KEPT_BODY_BYTES, REDACTED, redactSecrets, redactUrlCredentials, truncateBody } from './redact.js';
export {
  isSparkMesosError,
  SparkMesosError,
  type SparkMesosErrorCode,
  type SparkMesosErrorOptions,
} from './spark-mesos-error.js';
