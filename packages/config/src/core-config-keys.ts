/**
 * The config keys spark-mesos honours out of the box, with Spark 3.5's types and defaults.
 *
 * Sources: Spark's `running-on-mesos.md` ("Spark Properties" table), `deploy/mesos/config.scala`
 * (types and defaults: `spark.mesos.coarse` true, `spark.mesos.coarse.shutdownTimeout` 10s read
 * as milliseconds, `spark.mesos.rejectOfferDuration` 120s read as seconds,
 * `spark.mesos.driver.failoverTimeout` 0.0, `spark.mesos.executor.memoryOverhead` an optional
 * int in MiB, `spark.mesos.mesosExecutor.cores` 1.0, `spark.mesos.extra.cores` 0,
 * `spark.mesos.gpus.max` 0, `spark.mesos.containerizer` docker|mesos) and Spark core's
 * `internal/config` for the `spark.executor.*`, `spark.task.*` and `spark.driver.*` keys.
 *
 * Left out on purpose, because a Node driver in client mode never reads them:
 * - `spark.mesos.dispatcher.*` (webui.url, historyServer.url, queue, queue.[Name],
 *   driverDefault.[Property]): settings of the MesosClusterDispatcher.
 * - `spark.mesos.maxDrivers`, `spark.mesos.retainedDrivers`, `spark.mesos.cluster.retry.wait.max`:
 *   dispatcher bookkeeping of cluster-mode drivers.
 * - `spark.mesos.driver.memoryOverhead`, `spark.mesos.driver.labels`,
 *   `spark.mesos.driver.secret.{names,values,envkeys,filenames}`: describe the driver as a Mesos
 *   task, which only exists in cluster mode.
 * - `spark.mesos.appJar.local.resolution.mode`: how the dispatcher fetches the app jar (cluster mode).
 * - `spark.mesos.proxy.baseURL`: links in the dispatcher's web UI.
 * - `spark.deploy.recoveryMode`, `spark.deploy.zookeeper.url`, `spark.shuffle.cleaner.interval`:
 *   dispatcher recovery and the Mesos external shuffle service.
 *
 * Kept though Spark documents them for cluster mode: `spark.mesos.driverEnv.*`;
 * `spark.mesos.driver.constraints` (the offer matcher parses it for frameworks that place a
 * driver-like task); `spark.mesos.driver.frameworkId` (Spark's coarse backend also reads it in
 * client mode, as the prefix of the framework id to register with).
 *
 * @see https://spark.apache.org/docs/3.5.4/running-on-mesos.html#spark-properties
 * @see https://spark.apache.org/docs/3.5.4/configuration.html
 * @packageDocumentation
 */
import type { ConfigKeyDefinition } from './config-registry.js';

const MESOS_DOCS = 'https://spark.apache.org/docs/3.5.4/running-on-mesos.html#spark-properties';
const CONFIG_DOCS = 'https://spark.apache.org/docs/3.5.4/configuration.html#application-properties';

function withSee(see: string, definitions: ConfigKeyDefinition[]): ConfigKeyDefinition[] {
  return definitions.map((definition) => ({ see, ...definition }));
}

const core: ConfigKeyDefinition[] = withSee(CONFIG_DOCS, [
  { key: 'spark.master', type: 'string', doc: 'The cluster manager to connect to, e.g. mesos://zk://host:2181/mesos.' },
  { key: 'spark.app.name', type: 'string', doc: 'The application name, shown in the Mesos UI as the framework name.' },
  {
    key: 'spark.cores.max',
    type: 'int',
    doc: 'The most CPU cores to acquire across the cluster; by default, every core Mesos offers.',
  },
  {
    key: 'spark.executor.cores',
    type: 'int',
    doc: 'Cores per executor; on Mesos coarse-grained mode, by default all cores of the offer.',
  },
  {
    key: 'spark.executor.memory',
    type: 'size',
    unit: 'm',
    default: '1g',
    doc: 'Memory per executor process; a plain number means MiB.',
  },
  {
    key: 'spark.executor.memoryOverhead',
    type: 'size',
    unit: 'm',
    doc: 'Extra non-heap memory per executor; by default executorMemory * spark.executor.memoryOverheadFactor, at least 384 MiB.',
  },
  {
    key: 'spark.executor.memoryOverheadFactor',
    type: 'double',
    default: '0.1',
    doc: 'The fraction of executor memory added as overhead when spark.executor.memoryOverhead is not set.',
  },
  {
    key: 'spark.executor.uri',
    type: 'string',
    doc: 'Where executors download the runtime package from; falls back to the SPARK_EXECUTOR_URI environment variable.',
    see: MESOS_DOCS,
  },
  { key: 'spark.task.cpus', type: 'int', default: '1', doc: 'Cores to allocate for each task.' },
  {
    key: 'spark.task.maxFailures',
    type: 'int',
    default: '4',
    doc: 'How many times a task may fail before the job is given up.',
  },
  {
    key: 'spark.default.parallelism',
    type: 'int',
    doc: 'The default number of partitions; on Mesos by default 8 (fine-grained) or the total executor cores.',
  },
  {
    key: 'spark.driver.host',
    type: 'string',
    doc: 'The address executors reach the driver at; by default the local host name (SPARK_PUBLIC_DNS is advertised to Mesos when set).',
  },
  { key: 'spark.driver.port', type: 'int', default: '0', doc: 'The driver RPC port; 0 picks a free port.' },
  {
    key: 'spark.executorEnv.',
    type: 'string',
    prefix: true,
    doc: 'spark.executorEnv.NAME sets environment variable NAME in every executor.',
  },
  {
    key: 'spark.yarn.executor.memoryOverhead',
    type: 'size',
    unit: 'm',
    doc: 'The old name of spark.executor.memoryOverhead.',
    deprecated: {
      since: '2.3.0',
      replacedBy: 'spark.executor.memoryOverhead',
      message: 'it was renamed',
    },
  },
]);

const mesos: ConfigKeyDefinition[] = withSee(MESOS_DOCS, [
  {
    key: 'spark.mesos.coarse',
    type: 'boolean',
    default: 'true',
    doc: 'true: coarse-grained mode, one long-lived Mesos task per agent; false: fine-grained mode (deprecated), one Mesos task per Spark task.',
  },
  {
    key: 'spark.mesos.coarse.shutdownTimeout',
    type: 'duration',
    unit: 'ms',
    default: '10s',
    doc: 'How long to wait for executors to stop when the driver stops; must be >= 0.',
  },
  {
    key: 'spark.mesos.extra.cores',
    type: 'int',
    default: '0',
    doc: 'Extra cores an executor advertises (not allocated) so the driver sends it more tasks; coarse-grained mode only.',
  },
  {
    key: 'spark.mesos.mesosExecutor.cores',
    type: 'double',
    default: '1.0',
    doc: '(Fine-grained mode only) Cores each Mesos executor occupies besides its tasks; may be fractional.',
  },
  {
    key: 'spark.mesos.executor.docker.image',
    type: 'string',
    doc: 'The Docker image executors run in.',
  },
  {
    key: 'spark.mesos.executor.docker.forcePullImage',
    type: 'boolean',
    default: 'false',
    doc: 'Whether agents pull the executor image even when they have it cached.',
  },
  {
    key: 'spark.mesos.executor.docker.parameters',
    type: 'string',
    doc: 'Comma-separated key=value parameters passed to docker run for executors.',
  },
  {
    key: 'spark.mesos.executor.docker.volumes',
    type: 'string',
    doc: 'Comma-separated volumes mounted into the executor image, as [host_path:]container_path[:ro|:rw].',
  },
  {
    key: 'spark.mesos.executor.docker.portmaps',
    type: 'string',
    doc: 'Comma-separated ports exposed by the executor image, as host_port:container_port[:tcp|:udp].',
  },
  {
    key: 'spark.mesos.task.labels',
    type: 'string',
    default: '',
    doc: 'Mesos labels added to each task: key:value pairs separated by commas; escape : and , with a backslash.',
  },
  {
    key: 'spark.mesos.executor.home',
    type: 'string',
    doc: 'Where Spark is installed on the agents; by default the driver side SPARK_HOME. Only used without spark.executor.uri.',
  },
  {
    key: 'spark.mesos.executor.memoryOverhead',
    type: 'int',
    doc: 'Extra memory per executor in MiB (a plain integer); by default max(384, 10% of spark.executor.memory).',
  },
  {
    key: 'spark.mesos.uris',
    type: 'string',
    default: '',
    doc: 'Comma-separated URIs downloaded into the sandbox of each executor.',
  },
  {
    key: 'spark.mesos.principal',
    type: 'string',
    doc: 'The principal the framework authenticates to Mesos with; also SPARK_MESOS_PRINCIPAL.',
  },
  {
    key: 'spark.mesos.principal.file',
    type: 'string',
    doc: 'A UTF-8 file holding the principal; also SPARK_MESOS_PRINCIPAL_FILE.',
  },
  {
    key: 'spark.mesos.secret',
    type: 'string',
    secret: true,
    doc: 'The secret the framework authenticates to Mesos with; needs a principal; also SPARK_MESOS_SECRET.',
  },
  {
    key: 'spark.mesos.secret.file',
    type: 'string',
    doc: 'A UTF-8 file holding the secret; also SPARK_MESOS_SECRET_FILE.',
  },
  {
    key: 'spark.mesos.role',
    type: 'string',
    doc: 'The Mesos role of the framework, for reservations and weighted sharing; Mesos uses * when unset.',
  },
  {
    key: 'spark.mesos.constraints',
    type: 'string',
    default: '',
    doc: 'Attribute constraints on offers for executors, e.g. os:centos7;zone:us-east-1a,us-east-1b.',
  },
  {
    key: 'spark.mesos.driver.constraints',
    type: 'string',
    default: '',
    doc: 'Attribute constraints on offers for a driver launched as a Mesos task, in the grammar of spark.mesos.constraints.',
  },
  {
    key: 'spark.mesos.driver.frameworkId',
    type: 'string',
    doc: 'The framework id to register with (Spark appends a suffix per SparkContext); set it to take over a framework after a driver restart within spark.mesos.driver.failoverTimeout.',
  },
  {
    key: 'spark.mesos.containerizer',
    type: 'string',
    default: 'docker',
    allowedValues: ['docker', 'mesos'],
    doc: 'The containerizer for executor Docker images: docker or mesos. spark-mesos runs images with mesos only (its executors receive a Mesos secret, which the Docker containerizer does not pass on); an image with docker is refused at start.',
  },
  {
    key: 'spark.mesos.driver.webui.url',
    type: 'string',
    doc: "The framework's webui_url in Mesos; by default the driver's own UI.",
  },
  {
    key: 'spark.mesos.executor.secret.names',
    type: 'string',
    doc: 'Comma-separated names of secrets (in a Mesos secret store) made available to executors.',
  },
  {
    key: 'spark.mesos.executor.secret.values',
    type: 'string',
    secret: true,
    doc: 'Comma-separated secret values made available to executors.',
  },
  {
    key: 'spark.mesos.executor.secret.envkeys',
    type: 'string',
    doc: 'Comma-separated environment variable names the executor secrets appear as.',
  },
  {
    key: 'spark.mesos.executor.secret.filenames',
    type: 'string',
    doc: 'Comma-separated file names the executor secrets are written to.',
  },
  {
    key: 'spark.mesos.driverEnv.',
    type: 'string',
    prefix: true,
    doc: 'spark.mesos.driverEnv.NAME sets NAME in the driver environment (Spark: cluster mode only).',
  },
  {
    key: 'spark.mesos.gpus.max',
    type: 'int',
    default: '0',
    doc: 'The most GPUs to acquire; an upper limit, not a guarantee.',
  },
  {
    key: 'spark.mesos.network.name',
    type: 'string',
    doc: 'The named (CNI) network executor containers join.',
  },
  {
    key: 'spark.mesos.network.labels',
    type: 'string',
    doc: 'Network labels passed to CNI plugins: comma-separated key:value pairs.',
  },
  {
    key: 'spark.mesos.fetcherCache.enable',
    type: 'boolean',
    default: 'false',
    doc: 'Whether URIs (spark.executor.uri, spark.mesos.uris) are cached by the Mesos fetcher cache.',
  },
  {
    key: 'spark.mesos.driver.failoverTimeout',
    type: 'double',
    default: '0.0',
    doc: 'Seconds the master waits for a disconnected driver before tearing down its executors; 0 means at once.',
  },
  {
    key: 'spark.mesos.rejectOfferDuration',
    type: 'duration',
    unit: 's',
    default: '120s',
    doc: 'How long declined resources stay refused; the fallback of the two keys below.',
  },
  {
    key: 'spark.mesos.rejectOfferDurationForUnmetConstraints',
    type: 'duration',
    unit: 's',
    doc: 'How long offers that miss spark.mesos.constraints stay refused; by default spark.mesos.rejectOfferDuration.',
  },
  {
    key: 'spark.mesos.rejectOfferDurationForReachedMaxCores',
    type: 'duration',
    unit: 's',
    doc: 'How long offers stay refused once spark.cores.max is reached; by default spark.mesos.rejectOfferDuration.',
  },
]);

/**
 * The core key definitions: Spark's client-mode `spark.mesos.*` keys plus the general keys a
 * driver needs (see this module's documentation for what is left out and why).
 */
export const coreConfigKeys: readonly ConfigKeyDefinition[] = Object.freeze([...core, ...mesos]);
