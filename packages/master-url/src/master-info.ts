import { SparkMesosError, truncateBody } from '@spark-mesos/errors';
import { hostProblem } from './host.js';
import type { MasterAddress } from './master-detector.js';
import type { MasterScheme } from './master-url.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns a `MasterInfo` IPv4 number into dotted form. Mesos stores it in network byte order read
 * as a little-endian uint32, so 16777343 (0x0100007F) is 127.0.0.1.
 */
export function ipFromMasterInfo(ip: number): string {
  return [ip & 0xff, (ip >>> 8) & 0xff, (ip >>> 16) & 0xff, ip >>> 24].join('.');
}

function fail(nodePath: string, problem: string, cause: unknown): never {
  throw new SparkMesosError(
    'SM_ERR_BAD_MASTER_INFO',
    `The leading master's ZooKeeper node ${nodePath} does not hold usable MasterInfo JSON: ${problem}. ` +
      'Check that only Mesos masters (0.24 or later) register under this path.',
    { cause, details: { nodePath } },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Parses the data of a `json.info_*` node (the `MasterInfo` JSON Mesos masters write) into a
 * {@link MasterAddress}. The host is `address.hostname`, else `address.ip`, else the top-level
 * `hostname`, else the top-level `ip` (uint32, network byte order); the port is `address.port`,
 * else the top-level `port`.
 *
 * @param bytes The node's data, byte-exact.
 * @param nodePath The node's path, named in errors.
 * @param scheme The scheme to reach the master over. @default 'http'
 * @throws SparkMesosError `SM_ERR_BAD_MASTER_INFO` naming `nodePath` when the data is not JSON
 *   or has no usable address.
 * @see https://mesos.apache.org/documentation/latest/high-availability/
 */
export function parseMasterInfo(bytes: Uint8Array, nodePath: string, scheme: MasterScheme = 'http'): MasterAddress {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (error) {
    fail(nodePath, 'it is not UTF-8 text (a legacy protobuf MasterInfo?)', error);
  }
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch (error) {
    fail(nodePath, `it is not JSON (starts with '${truncateBody(text, 40)}')`, error);
  }
  if (!isRecord(info)) fail(nodePath, 'the JSON is not an object', { nodePath });
  const address = isRecord(info.address) ? info.address : {};
  const legacyIp =
    typeof info.ip === 'number' && Number.isInteger(info.ip) && info.ip >= 0 && info.ip <= 0xffffffff
      ? ipFromMasterInfo(info.ip)
      : undefined;
  const host =
    nonEmptyString(address.hostname) ?? nonEmptyString(address.ip) ?? nonEmptyString(info.hostname) ?? legacyIp;
  if (host === undefined) fail(nodePath, 'it has no address.hostname, address.ip, hostname or ip', { nodePath });
  const problem = hostProblem(host, host.includes(':'));
  if (problem !== undefined) fail(nodePath, problem, { nodePath, host });
  const port = address.port ?? info.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(nodePath, `it has no valid port (got ${JSON.stringify(port) ?? 'nothing'})`, { nodePath, port });
  }
  const result: { -readonly [K in keyof MasterAddress]: MasterAddress[K] } = { host, port, scheme };
  const id = nonEmptyString(info.id);
  const hostname = nonEmptyString(address.hostname) ?? nonEmptyString(info.hostname);
  const version = nonEmptyString(info.version);
  if (id !== undefined) result.id = id;
  if (hostname !== undefined) result.hostname = hostname;
  if (version !== undefined) result.version = version;
  return result;
}
