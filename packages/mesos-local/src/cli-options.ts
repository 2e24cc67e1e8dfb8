import { parseArgs } from 'node:util';
import { SparkMesosError } from '@spark-mesos/errors';

/**
 * The command line of `mesos-local`, checked before anything starts: every problem is named with
 * its option, its value and an example, in one error.
 *
 * @module
 */

/** What `mesos-local`'s command line asks for. */
export interface MesosLocalCommandLine {
  /** `--help`: print {@link MESOS_LOCAL_USAGE} and exit. */
  readonly help: boolean;
  /** `--port`: the (first) master's port on 127.0.0.1; 0 picks a free one. @default 5050 */
  readonly port: number;
  /** `--agents`. @default 1 */
  readonly agents: number;
  /** `--resources`, Mesos' syntax (`cpus:4;mem:4096;ports:[31000-32000]`). @default mesos-local's default */
  readonly resources?: string;
  /** `--attributes`, Mesos' syntax (`rack:r1;zone:a`). @default none */
  readonly attributes?: string;
  /** `--work-dir`: where sandboxes live (kept on exit). @default a temporary directory, removed on exit */
  readonly workDir?: string;
  /** `--heartbeat-interval-seconds`. @default 15 */
  readonly heartbeatIntervalSeconds?: number;
  /** `--allocation-interval-ms`. @default 1000 */
  readonly allocationIntervalMs?: number;
  /** `--credentials`: a Mesos credentials file; scheduler calls then need basic auth. @default none */
  readonly credentialsFile?: string;
  /** `--zookeeper`: `zk://host:port/path` where the masters register. @default none */
  readonly zookeeper?: string;
  /** `--masters`: how many masters (more than one needs `--zookeeper`). @default 1 */
  readonly masters: number;
}

/** The text of `mesos-local --help`. */
export const MESOS_LOCAL_USAGE = `Usage: mesos-local [options]

A Mesos master and agents on 127.0.0.1, speaking Mesos' v1 HTTP API. Prints the master URL,
then runs until SIGINT or SIGTERM and stops every task and server it started.

Options:
  --port N                          the master's port; 0 picks a free one (default 5050)
  --agents N                        number of agents (default 1)
  --resources 'cpus:4;mem:4096'     each agent's resources, Mesos' --resources syntax
                                    (default 'cpus:4;mem:4096;disk:10000;ports:[31000-32000]')
  --attributes 'rack:r1;zone:a'     each agent's attributes, Mesos' --attributes syntax
  --work-dir DIR                    where sandboxes live, kept on exit (default: a temporary
                                    directory, removed on exit)
  --heartbeat-interval-seconds S    seconds between HEARTBEAT events (default 15)
  --allocation-interval-ms MS       milliseconds between offer cycles (default 1000)
  --credentials FILE                Mesos credentials file: frameworks must authenticate
  --zookeeper zk://HOST:PORT/PATH   register the masters in ZooKeeper (Mesos' --zk)
  --masters N                       number of masters; more than 1 needs --zookeeper (default 1)
  --help                            this text
`;

const OPTIONS = {
  help: { type: 'boolean' },
  port: { type: 'string' },
  agents: { type: 'string' },
  resources: { type: 'string' },
  attributes: { type: 'string' },
  'work-dir': { type: 'string' },
  'heartbeat-interval-seconds': { type: 'string' },
  'allocation-interval-ms': { type: 'string' },
  credentials: { type: 'string' },
  zookeeper: { type: 'string' },
  masters: { type: 'string' },
} as const;

/**
 * Parses `mesos-local`'s arguments (without `node` and the script).
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` listing every bad option with its value and an example
 */
export function parseMesosLocalArguments(args: readonly string[]): MesosLocalCommandLine {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `mesos-local: ${(error as Error).message}. Run mesos-local --help.`,
      {
        cause: error,
      },
    );
  }
  const problems: string[] = [];
  const whole = (name: string, fallback: number, min: number, max: number, example: string): number => {
    const text = values[name];
    if (text === undefined) return fallback;
    const value = Number(text);
    if (typeof text !== 'string' || text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(
        `--${name} must be a whole number from ${min} to ${max}, got '${String(text)}' (e.g. --${name} ${example})`,
      );
      return fallback;
    }
    return value;
  };
  const positive = (name: string, example: string): number | undefined => {
    const text = values[name];
    if (text === undefined) return undefined;
    const value = Number(text);
    if (typeof text !== 'string' || text.trim() === '' || !Number.isFinite(value) || value <= 0) {
      problems.push(`--${name} must be a number above 0, got '${String(text)}' (e.g. --${name} ${example})`);
      return undefined;
    }
    return value;
  };
  const text = (name: string, example: string): string | undefined => {
    const value = values[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`--${name} must not be empty (e.g. --${name} ${example})`);
      return undefined;
    }
    return value;
  };
  const port = whole('port', 5050, 0, 65_535, '5050');
  const agents = whole('agents', 1, 0, 100_000, '2');
  const masters = whole('masters', 1, 1, 16, '3');
  const heartbeatIntervalSeconds = positive('heartbeat-interval-seconds', '15');
  const allocationIntervalMs = positive('allocation-interval-ms', '1000');
  const resources = text('resources', "'cpus:4;mem:4096'");
  const attributes = text('attributes', "'rack:r1'");
  const workDir = text('work-dir', '/tmp/mesos-local');
  const credentialsFile = text('credentials', '/etc/mesos/credentials.json');
  const zookeeper = text('zookeeper', 'zk://127.0.0.1:2181/mesos');
  if (masters > 1 && zookeeper === undefined) {
    problems.push(
      `--masters ${masters} needs --zookeeper, where the masters elect their leader (e.g. --zookeeper zk://127.0.0.1:2181/mesos)`,
    );
  }
  if (problems.length > 0) {
    throw new SparkMesosError('SM_ERR_BAD_CONFIG', `mesos-local: ${problems.join('; ')}.`, {
      cause: { args },
      details: { problems },
    });
  }
  return {
    help: values.help === true,
    port,
    agents,
    masters,
    ...(resources === undefined ? {} : { resources }),
    ...(attributes === undefined ? {} : { attributes }),
    ...(workDir === undefined ? {} : { workDir }),
    ...(heartbeatIntervalSeconds === undefined ? {} : { heartbeatIntervalSeconds }),
    ...(allocationIntervalMs === undefined ? {} : { allocationIntervalMs }),
    ...(credentialsFile === undefined ? {} : { credentialsFile }),
    ...(zookeeper === undefined ? {} : { zookeeper }),
  };
}
