export {
  CORE_CONFIG_OWNER,
  type ConfigDeprecation,
  type ConfigKeyDefinition,
  ConfigRegistry,
  type ConfigValueType,
  createConfigRegistry,
  defaultConfigRegistry,
  type RegisterConfigKeysOptions,
  type RegisteredConfigKey,
} from './config-registry.js';
export { coreConfigKeys } from './core-config-keys.js';
export {
  DURATION_UNITS,
  type DurationUnit,
  formatDuration,
  type ParseDurationOptions,
  parseDuration,
} from './duration.js';
export {
  type ConfigFileSystem,
  type ConfigLogger,
  type EnvironmentGetter,
  emptyEnvironment,
  environmentFrom,
  nodeFileSystem,
  stderrLogger,
} from './io.js';
export {
  formatJavaProperties,
  type JavaPropertiesEntry,
  type ParseJavaPropertiesOptions,
  parseJavaProperties,
} from './java-properties.js';
export {
  getLaunchConf,
  LAUNCH_CONF_SLOT,
  type LaunchConf,
  type LaunchConfEntry,
  setLaunchConf,
} from './launch-conf.js';
export { type LoadedSparkConf, type LoadSparkConfOptions, loadSparkConf } from './load-spark-conf.js';
export {
  type MesosCredentialPlan,
  type MesosCredentialSource,
  type MesosCredentials,
  planMesosCredentials,
  type ResolveMesosCredentialsOptions,
  resolveMesosCredentials,
} from './mesos-credentials.js';
export { isSecretKey, redactConfValue, redactText } from './redaction.js';
export { SECRET_KEY_PATTERN } from './secret-key-pattern.js';
export { formatSize, type ParseSizeOptions, parseSize, SIZE_UNITS, type SizeUnit } from './size.js';
export {
  type ConfigExplanation,
  type ConfigSource,
  type ConfigSourceValue,
  type SettableConfigSource,
  SparkConf,
  type SparkConfOptions,
} from './spark-conf.js';
export {
  createSparkEnvRunner,
  runSparkEnvScript,
  type SparkEnvRequest,
  type SparkEnvRunner,
  type SparkEnvRunnerOptions,
} from './spark-env.js';
export {
  type ConfigProblem,
  type ConfigReview,
  reviewSparkConf,
  throwConfigProblems,
  type ValidateSparkConfOptions,
  type ValidationResult,
  validateSparkConf,
} from './validate-spark-conf.js';
