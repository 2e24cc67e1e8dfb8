import { REDACTED, SparkMesosError } from '@spark-mesos/errors';
import { formatStoutDuration, tryParseStoutDuration } from './stout-duration.js';

/**
 * The environment a Mesos agent gives an executor it launches (`MESOS_*` variables), read into
 * a typed configuration.
 *
 * @see https://mesos.apache.org/documentation/latest/executor-http-api/#executor-environment-variables
 * @module
 */

/** Reads one environment variable; `undefined` (or `''`) when unset. */
export type EnvironmentGetter = (name: string) => string | undefined;

/** Where the agent's executor API listens. */
export interface AgentEndpoint {
  /** Host name or IP address; an IPv6 address without brackets, e.g. `::1`. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/** The executor's configuration, as the agent set it in the environment. */
export interface ExecutorConfig {
  /** `MESOS_FRAMEWORK_ID`: the framework the executor belongs to (sent with every call). */
  readonly frameworkId: string;
  /** `MESOS_EXECUTOR_ID`: this executor's id (sent with every call). */
  readonly executorId: string;
  /** `MESOS_AGENT_ENDPOINT` (`ip:port`, `[ipv6]:port`): the agent to subscribe with. */
  readonly agentEndpoint: AgentEndpoint;
  /**
   * The executor API URL, `http(s)://host:port/api/v1/executor`; `https` when libprocess SSL is
   * on (`LIBPROCESS_SSL_ENABLED`), as Mesos' own executor library does.
   */
  readonly agentUrl: string;
  /** `MESOS_DIRECTORY`: the sandbox on the host filesystem (deprecated by Mesos). @default undefined */
  readonly directory: string | undefined;
  /** `MESOS_SANDBOX`: the sandbox as mapped into the container. @default `directory` */
  readonly sandbox: string | undefined;
  /** `MESOS_CHECKPOINT`: whether the framework checkpoints (then the executor reconnects). @default false */
  readonly checkpoint: boolean;
  /** `MESOS_RECOVERY_TIMEOUT` in ms: how long to keep reconnecting. @default 900000 (15mins, the agent's --recovery_timeout) */
  readonly recoveryTimeoutMs: number;
  /**
   * `MESOS_SUBSCRIPTION_BACKOFF_MAX` in ms: the longest wait between two reconnection attempts.
   * @default 2000 (2secs, the agent's --executor_reregistration_timeout)
   */
  readonly subscriptionBackoffMaxMs: number;
  /**
   * `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD` in ms: how long the agent waits after SHUTDOWN before
   * destroying the container. @default 5000 (5secs, the agent's --executor_shutdown_grace_period)
   */
  readonly shutdownGracePeriodMs: number;
  /**
   * `MESOS_HTTP_COMMAND_EXECUTOR`: set by the agent for the built-in command executor (whether it
   * should speak the HTTP API); informational for other executors. @default false
   */
  readonly httpCommandExecutor: boolean;
  /**
   * `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`: the JWT to send as `Authorization: Bearer`. This
   * property is not enumerable, so logging or serialising the config never shows it.
   * @default undefined (no Authorization header)
   */
  readonly authenticationToken?: string;
}

/** Defaults of the optional variables: the agent's own flag defaults (Mesos 1.12). */
export const EXECUTOR_CONFIG_DEFAULTS = {
  recoveryTimeoutMs: 15 * 60_000,
  subscriptionBackoffMaxMs: 2_000,
  shutdownGracePeriodMs: 5_000,
} as const;

/** One problem found in the environment, in `details.problems` of the `SM_ERR_BAD_CONFIG` error. */
export interface ExecutorConfigProblem {
  /** The variable, e.g. `MESOS_AGENT_ENDPOINT`. */
  readonly variable: string;
  /** Its value (`****` for the token), `undefined` when unset. */
  readonly value: string | undefined;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

function parseEndpoint(text: string): AgentEndpoint | string {
  const bracketed = /^\[([0-9A-Fa-f:.%a-zA-Z]+)\]:(\d+)$/.exec(text);
  const plain = /^([^:[\]/\s]+):(\d+)$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) {
    if (/^[a-z]+:\/\//i.test(text)) return 'expected host:port without a scheme (e.g. 10.0.0.5:5051)';
    if ((text.match(/:/g) ?? []).length > 1) {
      return 'looks like an IPv6 address without brackets: write [address]:port (e.g. [::1]:5051)';
    }
    return 'expected host:port (e.g. 10.0.0.5:5051, [::1]:5051)';
  }
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return `port ${match[2]} is not between 1 and 65535`;
  return { host: match[1]!, port };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Reads the executor's configuration from the `MESOS_*` environment the agent sets, through
 * `getEnv` only (pass `(name) => process.env[name]` in production, a map in tests).
 *
 * Required: `MESOS_FRAMEWORK_ID`, `MESOS_EXECUTOR_ID`, `MESOS_AGENT_ENDPOINT`. Optional, with the
 * agent's defaults: `MESOS_DIRECTORY`, `MESOS_SANDBOX`, `MESOS_CHECKPOINT` (`1`/`true` or
 * `0`/`false`), `MESOS_RECOVERY_TIMEOUT`, `MESOS_SUBSCRIPTION_BACKOFF_MAX`,
 * `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD` (stout durations such as `15mins`),
 * `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`, `MESOS_HTTP_COMMAND_EXECUTOR`, `LIBPROCESS_SSL_ENABLED`.
 * Mesos' own library exits on the first problem; like mesos-go, this collects every problem.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` listing every problem (variable, value, fix) in its
 *   message and in `details.problems`; the token's value never appears.
 * @see https://mesos.apache.org/documentation/latest/executor-http-api/#executor-environment-variables
 * @see https://github.com/mesos/mesos-go/blob/master/api/v1/lib/executor/config/config.go
 */
export function executorConfigFromEnv(getEnv: EnvironmentGetter): ExecutorConfig {
  const problems: ExecutorConfigProblem[] = [];
  const read = (variable: string): string | undefined => {
    const value = getEnv(variable);
    return value === undefined || value === '' ? undefined : value;
  };
  const problem = (variable: string, value: string | undefined, message: string): void => {
    problems.push({ variable, value, message });
  };

  const required = (variable: string, what: string): string => {
    const value = read(variable);
    if (value === undefined) {
      problem(
        variable,
        undefined,
        `is not set: it must hold ${what}; the Mesos agent sets it for every executor it launches`,
      );
      return '';
    }
    return value;
  };
  const duration = (variable: string, fallbackMs: number): number => {
    const value = read(variable);
    if (value === undefined) return fallbackMs;
    const parsed = tryParseStoutDuration(value);
    if (parsed.ok) return parsed.milliseconds;
    problem(variable, value, `${parsed.problem}; unset it to use the default ${formatStoutDuration(fallbackMs)}`);
    return fallbackMs;
  };
  const flag = (variable: string): boolean => {
    const value = read(variable);
    if (value === undefined) return false;
    if (value === '1' || value.toLowerCase() === 'true') return true;
    if (value === '0' || value.toLowerCase() === 'false') return false;
    problem(variable, value, 'must be 1 (or true) or 0 (or false)');
    return false;
  };

  const frameworkId = required('MESOS_FRAMEWORK_ID', 'the framework id');
  const executorId = required('MESOS_EXECUTOR_ID', 'the executor id');
  const endpointText = required('MESOS_AGENT_ENDPOINT', "the agent's host:port");
  let agentEndpoint: AgentEndpoint = { host: '', port: 0 };
  if (endpointText !== '') {
    const parsed = parseEndpoint(endpointText);
    if (typeof parsed === 'string') problem('MESOS_AGENT_ENDPOINT', endpointText, parsed);
    else agentEndpoint = parsed;
  }
  const directory = read('MESOS_DIRECTORY');
  const sandbox = read('MESOS_SANDBOX') ?? directory;
  const checkpoint = flag('MESOS_CHECKPOINT');
  const recoveryTimeoutMs = duration('MESOS_RECOVERY_TIMEOUT', EXECUTOR_CONFIG_DEFAULTS.recoveryTimeoutMs);
  const subscriptionBackoffMaxMs = duration(
    'MESOS_SUBSCRIPTION_BACKOFF_MAX',
    EXECUTOR_CONFIG_DEFAULTS.subscriptionBackoffMaxMs,
  );
  const shutdownGracePeriodMs = duration(
    'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD',
    EXECUTOR_CONFIG_DEFAULTS.shutdownGracePeriodMs,
  );
  const httpCommandExecutor = flag('MESOS_HTTP_COMMAND_EXECUTOR');
  const ssl = flag('LIBPROCESS_SSL_ENABLED');
  const token = read('MESOS_EXECUTOR_AUTHENTICATION_TOKEN');
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    // The token goes into an HTTP header: spaces, control characters or nothing at all would
    // make every call fail far from the cause.
    problem(
      'MESOS_EXECUTOR_AUTHENTICATION_TOKEN',
      REDACTED,
      'must be a token of visible ASCII characters without spaces (a JWT): use the value the agent set, or unset it when the agent does not authenticate executors',
    );
  }

  if (problems.length > 0) {
    const lines = problems.map(
      ({ variable, value, message }) =>
        `- ${variable}${value === undefined ? '' : `=${JSON.stringify(value)}`} ${message}.`,
    );
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `The executor environment has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`,
      { cause: { problems }, details: { problems } },
    );
  }

  const config = {
    frameworkId,
    executorId,
    agentEndpoint,
    agentUrl: `${ssl ? 'https' : 'http'}://${formatHost(agentEndpoint.host)}:${agentEndpoint.port}/api/v1/executor`,
    directory,
    sandbox,
    checkpoint,
    recoveryTimeoutMs,
    subscriptionBackoffMaxMs,
    shutdownGracePeriodMs,
    httpCommandExecutor,
  };
  if (token !== undefined) {
    Object.defineProperty(config, 'authenticationToken', { value: token, enumerable: false });
  }
  return Object.freeze(config) as ExecutorConfig;
}
