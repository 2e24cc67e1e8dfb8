import { hostname as osHostname, userInfo } from 'node:os';
import type { SparkConf } from '@spark-mesos/config';
import { SparkMesosError } from '@spark-mesos/errors';
import type { FrameworkInfo, FrameworkInfoCapability, Label } from '@spark-mesos/mesos-client';

/** Options of {@link buildFrameworkInfo}: what the configuration does not say. */
export interface FrameworkInfoOptions {
  /** The framework principal (from the resolved credentials). @default none */
  principal?: string;
  /** The host name when `SPARK_PUBLIC_DNS` is not set. @default os.hostname() */
  defaultHostname?: string;
  /** The user when `SPARK_USER` is not set. @default os.userInfo().username */
  defaultUser?: string;
  /**
   * Appended to `spark.mesos.driver.frameworkId` (Spark appends `-NNNN`, the count of
   * SparkContexts of the process, so two contexts never share a framework). @default '-0000'
   */
  frameworkIdSuffix?: string;
}

/**
 * Parses Mesos labels written as Spark writes them (`spark.mesos.task.labels`,
 * `spark.mesos.driver.labels`): `key:value` pairs separated by commas, where `\,` and `\:` are
 * a literal comma and colon.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the key for a pair without exactly one `:`.
 * @see https://spark.apache.org/docs/3.5.0/running-on-mesos.html#configuration (spark.mesos.task.labels)
 */
export function parseMesosLabels(key: string, text: string | undefined): Label[] {
  if (text === undefined || text.trim() === '') return [];
  const labels: Label[] = [];
  for (const pair of splitUnescaped(text, ',')) {
    if (pair.trim() === '') continue;
    const parts = splitUnescaped(pair, ':');
    if (parts.length !== 2) {
      throw new SparkMesosError(
        'SM_ERR_BAD_CONFIG',
        `${key}: "${pair}" is not a key:value label; write labels as key1:value1,key2:value2 (escape a comma or colon in a value as \\, or \\:)`,
        { cause: { key, value: text }, details: { key } },
      );
    }
    labels.push({ key: unescapeLabel(parts[0]!), value: unescapeLabel(parts[1]!) });
  }
  return labels;
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const character = text[index]!;
    if (character === '\\' && index + 1 < text.length) {
      current += character + text[index + 1];
      index++;
    } else if (character === separator) {
      parts.push(current);
      current = '';
    } else {
      current += character;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeLabel(text: string): string {
  return text.replace(/\\([,:\\])/g, '$1');
}

/**
 * The FrameworkInfo the Mesos backends subscribe with, as Spark's
 * `MesosSchedulerUtils.createSchedulerDriver` builds it: `user` (`SPARK_USER`, else the current
 * user), `name` (`spark.app.name`), `hostname` (`SPARK_PUBLIC_DNS`, else this host's name),
 * `webui_url` (`spark.mesos.driver.webui.url`), `failover_timeout`
 * (`spark.mesos.driver.failoverTimeout`, 0 by default: the framework goes when the driver does),
 * `checkpoint` (`spark.mesos.checkpoint`), `id` (`spark.mesos.driver.frameworkId` plus a
 * suffix), `role` (`spark.mesos.role`), `principal`, the `GPU_RESOURCES` capability when
 * `spark.mesos.gpus.max` > 0, and `labels` (`spark.mesos.driver.labels`).
 */
export function buildFrameworkInfo(conf: SparkConf, options: FrameworkInfoOptions = {}): FrameworkInfo {
  const user = nonEmpty(conf.getenv('SPARK_USER')) ?? options.defaultUser ?? userInfo().username;
  const info: FrameworkInfo = {
    user,
    name: conf.get('spark.app.name'),
    hostname: nonEmpty(conf.getenv('SPARK_PUBLIC_DNS')) ?? options.defaultHostname ?? osHostname(),
    failover_timeout: conf.getDouble('spark.mesos.driver.failoverTimeout', 0),
  };
  const frameworkId = nonEmpty(conf.getOption('spark.mesos.driver.frameworkId'));
  if (frameworkId !== undefined) info.id = { value: `${frameworkId}${options.frameworkIdSuffix ?? '-0000'}` };
  const webuiUrl = nonEmpty(conf.getOption('spark.mesos.driver.webui.url'));
  if (webuiUrl !== undefined) info.webui_url = webuiUrl;
  if (conf.contains('spark.mesos.checkpoint')) info.checkpoint = conf.getBoolean('spark.mesos.checkpoint');
  const role = nonEmpty(conf.getOption('spark.mesos.role'));
  if (role !== undefined) info.role = role;
  if (options.principal !== undefined) info.principal = options.principal;
  const capabilities: FrameworkInfoCapability[] = [];
  if (conf.getInt('spark.mesos.gpus.max', 0) > 0) capabilities.push({ type: 'GPU_RESOURCES' });
  if (capabilities.length > 0) info.capabilities = capabilities;
  const labels = parseMesosLabels('spark.mesos.driver.labels', conf.getOption('spark.mesos.driver.labels'));
  if (labels.length > 0) info.labels = { labels };
  return info;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
