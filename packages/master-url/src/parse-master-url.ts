import { redactSecrets, SparkMesosError, truncateBody } from '@spark-mesos/errors';
import { hostProblem, parsePort, splitHostPort } from './host.js';
import { maskMasterUrl } from './mask-master-url.js';
import {
  DEFAULT_MESOS_PORT,
  DEFAULT_ZOOKEEPER_PORT,
  type LocalClusterMasterUrl,
  type LocalMasterUrl,
  type MasterScheme,
  type MasterUrl,
  type MesosMasterUrl,
  type StaticMaster,
  type ZooKeeperDigestAuth,
  type ZooKeeperMaster,
  type ZooKeeperServer,
} from './master-url.js';

/** The forms {@link parseMasterUrl} accepts, as listed in its error messages. */
export const ACCEPTED_MASTER_URL_FORMS: readonly string[] = [
  'local',
  'local[N]',
  'local[*]',
  'local[N,F]',
  'local[*,F]',
  'local-cluster[A,C,M]',
  'mesos://host:5050',
  'mesos+https://host:5050',
  'mesos://zk://host1:2181,host2:2181/mesos',
  'mesos://zk://user:password@host1:2181/mesos',
];

// Spark's regexes (SparkContext.createTaskScheduler), anchored.
const LOCAL_N = /^local\[([0-9]+|\*)\]$/;
const LOCAL_N_FAILURES = /^local\[([0-9]+|\*)\s*,\s*([0-9]+)\]$/;
const LOCAL_CLUSTER = /^local-cluster\[\s*([0-9]+)\s*,\s*([0-9]+)\s*,\s*([0-9]+)\s*\]$/;
const MAX_COUNT = 2_147_483_647; // Spark reads these with toInt.
// Whitespace and control characters: never part of a Mesos master URL.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
const UNSAFE = /[\s\u0000-\u001f\u007f-\u009f]/;

/** A rejection in the making: the problem, and the fix when there is a specific one. */
class Rejection {
  constructor(
    readonly problem: string,
    readonly fix?: string,
  ) {}
}

function reject(problem: string, fix?: string): never {
  throw new Rejection(problem, fix);
}

/**
 * Parses a Spark master URL. Surrounding whitespace is ignored. Accepted forms:
 *
 * - `local` (1 thread, 1 attempt per task), `local[N]`, `local[*]` (one thread per CPU),
 *   `local[N,F]`, `local[*,F]` (F = attempts per task) — whitespace is allowed around the comma,
 *   as in Spark;
 * - `local-cluster[A,C,M]`: A agents with C cores and M MiB each;
 * - `mesos://host[:port]` — one master, port 5050 by default; IPv6 as `mesos://[::1]:5050`;
 * - `mesos+https://host[:port]` — the same over HTTPS (Spark has no HTTPS form; this toolkit adds
 *   the `+https` scheme suffix so the choice travels with the URL);
 * - `mesos://zk://[user:password@]h1[:2181][,h2[:2181]…]/path` — masters elected through
 *   ZooKeeper, with optional digest credentials; `mesos+https://zk://…` means the detected leader
 *   is reached over HTTPS.
 *
 * @throws SparkMesosError `SM_ERR_BAD_MASTER_URL` naming the input (password masked), the problem,
 *   the fix and the accepted forms; `details.input` holds the masked input.
 * @see https://mesos.apache.org/documentation/latest/high-availability/
 * @see https://spark.apache.org/docs/latest/submitting-applications.html#master-urls
 */
export function parseMasterUrl(text: string): MasterUrl {
  const input = typeof text === 'string' ? text : String(text);
  try {
    if (typeof text !== 'string') reject(`expected a string but got ${typeof text}`);
    return parseTrimmed(input.trim());
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    const { masked, secret } = maskMasterUrl(input);
    const fix = error.fix === undefined ? '' : ` ${error.fix}.`;
    const message =
      `Invalid master URL '${truncateBody(masked, 300)}': ${error.problem}.${fix} ` +
      `Accepted forms: ${ACCEPTED_MASTER_URL_FORMS.join(', ')}.`;
    throw new SparkMesosError(
      'SM_ERR_BAD_MASTER_URL',
      secret === undefined ? message : redactSecrets(message, [secret]),
      { cause: { input: masked }, details: { input: masked } },
    );
  }
}

function parseTrimmed(text: string): MasterUrl {
  if (text === '') reject('it is empty', "Set the master, e.g. 'local[*]' or 'mesos://zk://host:2181/mesos'");
  if (text === 'local') return { kind: 'local', threads: 1, maxFailures: 1 };
  if (text.startsWith('local-cluster')) return parseLocalCluster(text);
  if (text.startsWith('local')) return parseLocal(text);
  if (text.startsWith('mesos+https://')) return parseMesos(text.slice('mesos+https://'.length), 'https');
  if (text.startsWith('mesos://')) return parseMesos(text.slice('mesos://'.length), 'http');
  return rejectUnknown(text);
}

function rejectUnknown(text: string): never {
  const lower = text.toLowerCase();
  if (lower.startsWith('zk://')) {
    reject('a ZooKeeper URL needs the mesos:// prefix', `Write 'mesos://${text}'`);
  }
  if (lower.startsWith('http://') || lower.startsWith('https://')) {
    const https = lower.startsWith('https://');
    // Keep only the host part: never quote credentials, not even a piece of them.
    const rest = text.slice(text.lastIndexOf('@') + 1 || (https ? 8 : 7));
    reject(
      'an HTTP URL is not a master URL',
      `Write '${https ? 'mesos+https' : 'mesos'}://${rest.replace(/[/?#].*$/s, '')}'`,
    );
  }
  if (lower.startsWith('mesos://') || lower.startsWith('mesos+https://')) {
    reject('the scheme is case-sensitive', 'Write it in lower case: mesos:// or mesos+https://');
  }
  if (lower.startsWith('mesos:') || lower.startsWith('mesos+https:')) {
    reject("the scheme must be followed by '://'", "Write 'mesos://host:5050'");
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme !== null) {
    reject(
      `the '${scheme[1]}://' scheme is not supported`,
      'This toolkit runs jobs locally or on Mesos only; use a mesos:// or local form',
    );
  }
  if (lower === 'yarn' || lower.startsWith('yarn')) {
    reject('YARN is not supported', 'Use a mesos:// or local form');
  }
  return reject('it is not a recognised master URL');
}

function parseCount(digits: string, what: string, fix: string): number {
  const value = digits.length > 10 ? Number.POSITIVE_INFINITY : Number(digits);
  if (value > MAX_COUNT) reject(`${what} ${digits} is too large (at most ${MAX_COUNT})`, fix);
  if (value < 1) reject(`${what} must be at least 1 but is ${digits}`, fix);
  return value;
}

function parseLocal(text: string): LocalMasterUrl {
  const fix = 'Write local, local[N], local[*], local[N,F] or local[*,F] with N and F at least 1';
  const n = LOCAL_N.exec(text);
  const nf = n === null ? LOCAL_N_FAILURES.exec(text) : null;
  const match = n ?? nf;
  if (match === null) reject('it starts with "local" but is not one of the local forms', fix);
  const threadsText = match[1] ?? '*';
  if (threadsText === '0') {
    // Spark: "Asked to run locally with 0 threads".
    reject('asked to run locally with 0 threads', 'Use local[1] or more, or local[*] for one thread per CPU');
  }
  const threads = threadsText === '*' ? '*' : parseCount(threadsText, 'the thread count', fix);
  const maxFailures = nf === null ? 1 : parseCount(nf[2] ?? '', 'the task attempt count F', fix);
  return { kind: 'local', threads, maxFailures };
}

function parseLocalCluster(text: string): LocalClusterMasterUrl {
  const fix = 'Write local-cluster[A,C,M]: A agents, C cores and M MiB per agent, each at least 1';
  const match = LOCAL_CLUSTER.exec(text);
  if (match === null) reject('it starts with "local-cluster" but is not local-cluster[A,C,M]', fix);
  return {
    kind: 'local-cluster',
    agents: parseCount(match[1] ?? '', 'the agent count', fix),
    coresPerAgent: parseCount(match[2] ?? '', 'the cores per agent', fix),
    memoryPerAgentMb: parseCount(match[3] ?? '', 'the memory per agent (MiB)', fix),
  };
}

function parseMesos(rest: string, scheme: MasterScheme): MesosMasterUrl {
  if (UNSAFE.test(rest)) reject('it contains whitespace or control characters', 'Remove them');
  const master = rest.startsWith('zk://') ? parseZooKeeper(rest.slice(5), scheme) : parseStatic(rest, scheme);
  return { kind: 'mesos', master };
}

function rejectQueryOrFragment(text: string, example: string): void {
  if (text.includes('?') || text.includes('#')) {
    reject('queries (?…) and fragments (#…) are not allowed', `Write '${example}'`);
  }
}

function parseStatic(rest: string, scheme: MasterScheme): StaticMaster {
  const prefix = scheme === 'https' ? 'mesos+https://' : 'mesos://';
  if (rest.includes('@')) {
    reject(
      'a static master URL cannot carry user-info (user:password@)',
      `Write '${prefix}host:5050' and configure Mesos HTTP credentials separately`,
    );
  }
  rejectQueryOrFragment(rest, `${prefix}host:5050`);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (path !== '' && path !== '/') {
    reject(`paths are not allowed (got '${path}')`, `Write '${prefix}host:5050'; the API path is added by the client`);
  }
  if (authority === '') reject('the master host is missing', `Write '${prefix}host:5050'`);
  const { host, port } = parseServer(authority, DEFAULT_MESOS_PORT, `${prefix}[::1]:5050`);
  return { kind: 'static', scheme, host, port };
}

function parseServer(text: string, defaultPort: number, example: string): ZooKeeperServer {
  const split = splitHostPort(text);
  if (typeof split === 'string') reject(split, `For example '${example}'`);
  const problem = hostProblem(split.host, split.bracketed);
  if (problem !== undefined) reject(problem, `For example '${example}'`);
  if (split.portText === undefined) return { host: split.host, port: defaultPort };
  const port = parsePort(split.portText);
  if (typeof port === 'string') reject(port, `Omit it for the default ${defaultPort} or write e.g. '${example}'`);
  return { host: split.host, port };
}

function parseZooKeeper(rest: string, scheme: MasterScheme): ZooKeeperMaster {
  const prefix = scheme === 'https' ? 'mesos+https://zk://' : 'mesos://zk://';
  const example = `${prefix}host1:2181,host2:2181/mesos`;
  // The credentials end at the LAST '@', so a password may hold any of '@', ':', '/', '?' and '#'
  // (Mesos paths never contain '@'); this is also exactly the part maskMasterUrl masks.
  const at = rest.lastIndexOf('@');
  const auth = at < 0 ? undefined : parseAuth(rest.slice(0, at), prefix);
  const location = at < 0 ? rest : rest.slice(at + 1);
  rejectQueryOrFragment(location, example);
  const slash = location.indexOf('/');
  if (slash < 0) reject('the ZooKeeper path is missing', `Add the znode the masters use, e.g. '${example}'`);
  const hosts = location.slice(0, slash);
  const path = location.slice(slash);
  if (hosts === '') reject('no ZooKeeper servers are listed', `For example '${example}'`);
  const servers = hosts.split(',').map((server) => {
    if (server === '')
      reject('the server list has an empty entry', `Separate servers with single commas: '${example}'`);
    return parseServer(server, DEFAULT_ZOOKEEPER_PORT, `${prefix}[::1]:2181/mesos`);
  });
  checkZooKeeperPath(path, example);
  return auth === undefined
    ? { kind: 'zookeeper', scheme, servers, path }
    : { kind: 'zookeeper', scheme, servers, path, auth };
}

function parseAuth(userInfo: string, prefix: string): ZooKeeperDigestAuth {
  const fix = `Write '${prefix}user:password@host:2181/mesos'`;
  const colon = userInfo.indexOf(':');
  if (colon < 0) reject('ZooKeeper credentials need both a user and a password', fix);
  const username = userInfo.slice(0, colon);
  const password = userInfo.slice(colon + 1);
  if (username === '') reject('the ZooKeeper user name is empty', fix);
  if (password === '') reject('the ZooKeeper password is empty', fix);
  return { scheme: 'digest', username, password };
}

function checkZooKeeperPath(path: string, example: string): void {
  const fix = `Use the znode the masters register under, e.g. '${example}'`;
  // Mesos: "Expecting a (chroot) path for ZooKeeper ('/' is not supported)".
  if (path === '/') reject("the ZooKeeper path '/' is not supported", fix);
  if (path.endsWith('/')) reject(`the ZooKeeper path '${path}' ends with '/'`, 'Remove the trailing slash');
  for (const segment of path.slice(1).split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      reject(`the ZooKeeper path '${path}' has an empty, '.' or '..' segment`, fix);
    }
  }
  if (path === '/zookeeper' || path.startsWith('/zookeeper/')) {
    reject(`the ZooKeeper path '${path}' is reserved by ZooKeeper`, fix);
  }
}
