import type { SparkConf } from '@spark-mesos/config';
import { SparkMesosError } from '@spark-mesos/errors';
import type {
  CommandInfo,
  ContainerInfo,
  ContainerInfoDockerInfo,
  ContainerInfoDockerInfoPortMapping,
  EnvironmentVariable,
  NetworkInfo,
  Parameter,
  Secret,
  Volume,
} from '@spark-mesos/mesos-client';
import { parseMesosLabels } from './mesos-framework-info.js';

/**
 * The Mesos container of every executor, read from the configuration once per backend start.
 *
 * @see https://spark.apache.org/docs/3.5.1/running-on-mesos.html#configuration
 */
export interface ExecutorContainer {
  /**
   * `TaskInfo.container` of a coarse executor, `ExecutorInfo.container` of a fine-grained one;
   * undefined when no key asks for a container (the agent's default Mesos container, as before).
   */
  readonly container: ContainerInfo | undefined;
  /** Environment variables of type SECRET (`spark.mesos.executor.secret.envkeys`), for the executor's command. @default [] */
  readonly secretVariables: readonly EnvironmentVariable[];
  /** Settings that have no effect as given (e.g. volumes without an image), one sentence each. @default [] */
  readonly warnings: readonly string[];
}

/** `spark.mesos.containerizer`. */
export type Containerizer = 'docker' | 'mesos';

const KEY = {
  image: 'spark.mesos.executor.docker.image',
  containerizer: 'spark.mesos.containerizer',
  forcePull: 'spark.mesos.executor.docker.forcePullImage',
  volumes: 'spark.mesos.executor.docker.volumes',
  portmaps: 'spark.mesos.executor.docker.portmaps',
  parameters: 'spark.mesos.executor.docker.parameters',
  networkName: 'spark.mesos.network.name',
  networkLabels: 'spark.mesos.network.labels',
  secretNames: 'spark.mesos.executor.secret.names',
  secretValues: 'spark.mesos.executor.secret.values',
  secretEnvKeys: 'spark.mesos.executor.secret.envkeys',
  secretFilenames: 'spark.mesos.executor.secret.filenames',
} as const;

// The environment variable the executor command carries the application secret in (a SECRET
// variable set by @spark-mesos/executor's buildExecutorCommand): a user secret must not shadow it.
const APP_SECRET_VARIABLE = 'SPARK_MESOS_APP_SECRET';

function badConfig(key: string, value: string, message: string): SparkMesosError {
  return new SparkMesosError('SM_ERR_BAD_CONFIG', message, { cause: { key, value }, details: { key } });
}

/** Spark's `toSequence` of a string key: comma-separated, each entry trimmed, empty ones dropped. */
function listOf(conf: SparkConf, key: string): string[] {
  return (conf.getOption(key) ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/**
 * Parses `spark.mesos.executor.docker.volumes`: comma-separated `[host_path:]container_path[:ro|:rw]`
 * (read-write unless `:ro`). Spark logs and skips an entry it cannot read; we refuse it.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the entry and the expected form.
 */
export function parseVolumesSpec(text: string | undefined, key: string = KEY.volumes): Volume[] {
  const volumes: Volume[] = [];
  for (const entry of splitSpec(text)) {
    const parts = entry.split(':');
    const hasMode = parts.length > 1 && (parts.at(-1) === 'rw' || parts.at(-1) === 'ro');
    const mode = hasMode && parts.at(-1) === 'ro' ? 'RO' : 'RW';
    const paths = hasMode ? parts.slice(0, -1) : parts;
    if (paths.length < 1 || paths.length > 2 || paths.some((path) => path === '')) {
      throw badConfig(
        key,
        text ?? '',
        `${key}: "${entry}" is not a volume; write [host_path:]container_path[:ro|:rw], comma-separated (e.g. /data:/mnt/data:ro)`,
      );
    }
    const containerPath = paths.at(-1)!;
    volumes.push(
      paths.length === 2
        ? { container_path: containerPath, host_path: paths[0]!, mode }
        : { container_path: containerPath, mode },
    );
  }
  return volumes;
}

/**
 * Parses `spark.mesos.executor.docker.portmaps`: comma-separated `host_port:container_port[:tcp|:udp]`
 * (tcp unless given). Spark logs and skips an entry it cannot read; we refuse it.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the entry and the expected form.
 */
export function parsePortMappingsSpec(
  text: string | undefined,
  key: string = KEY.portmaps,
): ContainerInfoDockerInfoPortMapping[] {
  const mappings: ContainerInfoDockerInfoPortMapping[] = [];
  for (const entry of splitSpec(text)) {
    const parts = entry.split(':');
    const port = (part: string | undefined) =>
      part !== undefined && /^\d{1,5}$/.test(part) && Number(part) <= 65535 ? Number(part) : undefined;
    const hostPort = port(parts[0]);
    const containerPort = port(parts[1]);
    const protocol = parts[2] ?? 'tcp';
    if (
      parts.length < 2 ||
      parts.length > 3 ||
      hostPort === undefined ||
      containerPort === undefined ||
      (protocol !== 'tcp' && protocol !== 'udp')
    ) {
      throw badConfig(
        key,
        text ?? '',
        `${key}: "${entry}" is not a port mapping; write host_port:container_port[:tcp|:udp], comma-separated, ports 0-65535 (e.g. 8080:80:tcp)`,
      );
    }
    mappings.push({ host_port: hostPort, container_port: containerPort, protocol });
  }
  return mappings;
}

/**
 * Parses `spark.mesos.executor.docker.parameters`: comma-separated `key=value` (the value may hold
 * `=`), each passed to `docker run` as `--key=value`. Spark logs and skips an entry without `=`;
 * we refuse it.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the entry and the expected form.
 */
export function parseParamsSpec(text: string | undefined, key: string = KEY.parameters): Parameter[] {
  const parameters: Parameter[] = [];
  for (const entry of splitSpec(text)) {
    const equals = entry.indexOf('=');
    if (equals <= 0) {
      throw badConfig(
        key,
        text ?? '',
        `${key}: "${entry}" is not a docker parameter; write key=value, comma-separated (e.g. memory-swap=-1,label=team=data)`,
      );
    }
    parameters.push({ key: entry.slice(0, equals), value: entry.slice(equals + 1) });
  }
  return parameters;
}

function splitSpec(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

function containerizerOf(conf: SparkConf): Containerizer {
  const value = conf.getOption(KEY.containerizer) ?? 'docker';
  if (value !== 'docker' && value !== 'mesos') {
    throw badConfig(
      KEY.containerizer,
      value,
      `${KEY.containerizer}: "${value}" is not a containerizer; set docker or mesos (the Mesos containerizer runs Docker images when agents have --image_providers=docker)`,
    );
  }
  return value;
}

/**
 * The executors' ContainerInfo as Spark's `MesosSchedulerBackendUtil.buildContainerInfo` builds
 * it, or undefined when none is needed (no image, no named network):
 * - an image with `spark.mesos.containerizer=docker` (the default): type DOCKER, its DockerInfo
 *   (image, `force_pull_image`, port mappings, parameters; with a named network, network USER
 *   and the parameter `net=<name>`), and the volumes;
 * - an image with `spark.mesos.containerizer=mesos`: type MESOS, `mesos.image` a DOCKER image
 *   `cached` unless `forcePullImage`, and the volumes;
 * - `spark.mesos.network.name`: a NetworkInfo with it and `spark.mesos.network.labels` (a MESOS
 *   container when no image is set).
 *
 * Volumes, port mappings, parameters and forcePullImage need an image (Spark ignores them
 * without one): each such key set without an image adds a warning.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for a malformed volume, port mapping, parameter or
 *   network label, or an unknown containerizer.
 * @see https://github.com/apache/spark/blob/branch-3.5/resource-managers/mesos/src/main/scala/org/apache/spark/scheduler/cluster/mesos/MesosSchedulerBackendUtil.scala
 */
export function buildContainerInfo(conf: SparkConf, warnings: string[] = []): ContainerInfo | undefined {
  const containerizer = containerizerOf(conf);
  const image = conf.getOption(KEY.image)?.trim() || undefined;
  const networkName = conf.getOption(KEY.networkName)?.trim() || undefined;
  // Parsed even without an image, so a malformed value is reported whatever else is set.
  const volumes = parseVolumesSpec(conf.getOption(KEY.volumes));
  const portMappings = parsePortMappingsSpec(conf.getOption(KEY.portmaps));
  const parameters = parseParamsSpec(conf.getOption(KEY.parameters));
  const forcePull = conf.getBoolean(KEY.forcePull, false);
  const networkLabels = parseMesosLabels(KEY.networkLabels, conf.getOption(KEY.networkLabels));
  if (image === undefined) {
    for (const [key, set] of [
      [KEY.volumes, volumes.length > 0],
      [KEY.portmaps, portMappings.length > 0],
      [KEY.parameters, parameters.length > 0],
      [KEY.forcePull, forcePull],
    ] as const) {
      if (set)
        warnings.push(`${key} is set but ${KEY.image} is not: it applies only to an executor image, so it is ignored`);
    }
    if (networkLabels.length > 0 && networkName === undefined) {
      warnings.push(`${KEY.networkLabels} is set but ${KEY.networkName} is not: the labels are ignored`);
    }
  }
  if (image === undefined && networkName === undefined) return undefined;

  const container: ContainerInfo = { type: image !== undefined && containerizer === 'docker' ? 'DOCKER' : 'MESOS' };
  if (image !== undefined) {
    if (container.type === 'DOCKER') {
      const docker: ContainerInfoDockerInfo = { image, force_pull_image: forcePull };
      if (portMappings.length > 0) docker.port_mappings = portMappings;
      const dockerParameters = [...parameters];
      if (networkName !== undefined) {
        // Docker joins a user-defined network by `docker run --net=<name>`.
        docker.network = 'USER';
        dockerParameters.push({ key: 'net', value: networkName });
      }
      if (dockerParameters.length > 0) docker.parameters = dockerParameters;
      container.docker = docker;
    } else {
      container.mesos = { image: { type: 'DOCKER', docker: { name: image }, cached: !forcePull } };
      if (portMappings.length > 0 || parameters.length > 0) {
        warnings.push(
          `${portMappings.length > 0 ? KEY.portmaps : KEY.parameters} is set but ${KEY.containerizer} is mesos: port mappings and docker parameters apply only to the Docker containerizer, so they are ignored`,
        );
      }
    }
    if (volumes.length > 0) container.volumes = volumes;
  }
  if (networkName !== undefined) {
    const network: NetworkInfo = { name: networkName };
    if (networkLabels.length > 0) network.labels = { labels: networkLabels };
    container.network_infos = [network];
  }
  return container;
}

/**
 * Spark's `getSecrets`: `spark.mesos.executor.secret.names` as secrets by REFERENCE (resolved by
 * the agents' secret resolver), or `spark.mesos.executor.secret.values` as secrets by VALUE;
 * never both.
 */
function executorSecrets(conf: SparkConf): { secrets: Secret[]; key: string } {
  const names = listOf(conf, KEY.secretNames);
  const values = listOf(conf, KEY.secretValues);
  if (names.length > 0 && values.length > 0) {
    throw badConfig(
      KEY.secretNames,
      names.join(','),
      `${KEY.secretNames} and ${KEY.secretValues} are both set; secrets are either references (names in the agents' secret store) or values, so remove one of the two`,
    );
  }
  if (names.length > 0) {
    return { secrets: names.map((name) => ({ type: 'REFERENCE', reference: { name } })), key: KEY.secretNames };
  }
  const encoder = new TextEncoder();
  return {
    secrets: values.map((value) => ({ type: 'VALUE', value: { data: encoder.encode(value) } })),
    key: KEY.secretValues,
  };
}

function checkCount(destinationKey: string, destinations: string[], secrets: Secret[], secretsKey: string): void {
  // Spark's illegalSecretInput: destinations, when given, pair one-to-one with the secrets.
  if (destinations.length > 0 && destinations.length !== secrets.length) {
    // The values are secret: name the counts, never the values.
    throw badConfig(
      destinationKey,
      destinations.join(','),
      `${destinationKey} names ${destinations.length} destination(s) (${destinations.join(',')}) for ${secrets.length} secret(s) in ${secretsKey}; give one destination per secret, in the same order`,
    );
  }
}

/**
 * The executors' container and secrets, from every container key (see {@link buildContainerInfo})
 * and the executor secrets, as Spark's coarse-grained backend applies them:
 * `spark.mesos.executor.secret.envkeys` pair with the secrets as environment variables of type
 * SECRET; `spark.mesos.executor.secret.filenames` as read-only volumes with source SECRET on a
 * MESOS container (one without an image when none is set).
 *
 * spark-mesos executors get their application secret as a SECRET environment variable, and Mesos
 * passes secrets only through the Mesos containerizer ("Secrets are only supported for Mesos
 * containerizer and not for the Docker containerizer"): an image therefore needs
 * `spark.mesos.containerizer=mesos`, where Spark's default is docker.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the key, the value (never a secret value) and
 *   the fix: malformed specs, both secret names and values, destinations that do not pair with
 *   the secrets, an environment key that shadows the application secret, or an image with the
 *   Docker containerizer.
 * @see https://mesos.apache.org/documentation/latest/secrets/
 */
export function buildExecutorContainer(conf: SparkConf): ExecutorContainer {
  const warnings: string[] = [];
  let container = buildContainerInfo(conf, warnings);
  if (container?.type === 'DOCKER') {
    const image = container.docker?.image ?? '';
    throw badConfig(
      KEY.containerizer,
      conf.getOption(KEY.containerizer) ?? 'docker',
      `${KEY.image} is "${image}" with ${KEY.containerizer}=docker (the default), but Mesos' Docker containerizer does not pass secrets, and executors get their application secret as one; set ${KEY.containerizer}=mesos, and run the agents with --containerizers=mesos --image_providers=docker --isolation=filesystem/linux,docker/runtime`,
    );
  }
  const { secrets, key: secretsKey } = executorSecrets(conf);
  const envKeys = listOf(conf, KEY.secretEnvKeys);
  const filenames = listOf(conf, KEY.secretFilenames);
  checkCount(KEY.secretEnvKeys, envKeys, secrets, secretsKey);
  checkCount(KEY.secretFilenames, filenames, secrets, secretsKey);
  if (envKeys.includes(APP_SECRET_VARIABLE)) {
    throw badConfig(
      KEY.secretEnvKeys,
      envKeys.join(','),
      `${KEY.secretEnvKeys} names ${APP_SECRET_VARIABLE}, the variable that carries the application secret to executors; choose another name`,
    );
  }
  if (secrets.length > 0 && envKeys.length === 0 && filenames.length === 0) {
    warnings.push(
      `${secretsKey} is set but neither ${KEY.secretEnvKeys} nor ${KEY.secretFilenames} is: the secrets reach no executor`,
    );
  }
  const secretVariables: EnvironmentVariable[] = envKeys.map((name, index) => ({
    name,
    type: 'SECRET',
    secret: secrets[index]!,
  }));
  if (filenames.length > 0) {
    const secretVolumes: Volume[] = filenames.map((path, index) => ({
      container_path: path,
      mode: 'RO',
      source: { type: 'SECRET', secret: secrets[index]! },
    }));
    container = container ?? { type: 'MESOS' };
    container.volumes = [...(container.volumes ?? []), ...secretVolumes];
  }
  return { container, secretVariables, warnings };
}

/**
 * A sentence for a failed executor launch when the executors run in a container, naming it and
 * what agents need to run it; '' without a container.
 */
export function describeExecutorContainer(container: ContainerInfo | undefined): string {
  if (container === undefined) return '';
  const image = container.mesos?.image?.docker?.name ?? container.docker?.image;
  const networks = (container.network_infos ?? []).map((network) => network.name).filter((name) => name !== undefined);
  const parts: string[] = [];
  if (image !== undefined) {
    parts.push(
      `the image "${image}" (${KEY.image}), which needs agents run with --containerizers=mesos --image_providers=docker --isolation=filesystem/linux,docker/runtime and node in the image or spark.mesos.executor.bundleNode=true`,
    );
  }
  if (networks.length > 0)
    parts.push(
      `the network "${networks.join(',')}" (${KEY.networkName}), which needs a CNI network of that name on the agents`,
    );
  if (container.volumes?.some((volume) => volume.source?.type === 'SECRET')) {
    parts.push(
      `secret files (${KEY.secretFilenames}), which need the volume/secret isolator and a secret resolver on the agents`,
    );
  }
  return parts.length === 0 ? '' : ` The executors run in a Mesos container with ${parts.join('; ')}.`;
}

/**
 * `command` with `variables` appended to its environment (after the ones it has, among them the
 * application secret), or `command` itself when there are none.
 */
export function withSecretVariables(command: CommandInfo, variables: readonly EnvironmentVariable[]): CommandInfo {
  if (variables.length === 0) return command;
  return { ...command, environment: { variables: [...(command.environment?.variables ?? []), ...variables] } };
}
