import { isSparkMesosError, type SparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { EXECUTOR_CONFIG_DEFAULTS, type ExecutorConfigProblem, executorConfigFromEnv } from './executor-config.js';

// What a Mesos 1.12 agent sets for a checkpointing framework's executor (values from a real agent).
const AGENT_ENV: Readonly<Record<string, string>> = {
  MESOS_FRAMEWORK_ID: '5cdd377a-dae9-4944-98c2-8f0426d20e10-0013',
  MESOS_EXECUTOR_ID: 'default',
  MESOS_AGENT_ENDPOINT: '127.0.0.1:5051',
  MESOS_DIRECTORY: '/var/lib/mesos/slaves/S0/frameworks/F/executors/default/runs/R',
  MESOS_SANDBOX: '/mnt/mesos/sandbox',
  MESOS_CHECKPOINT: '1',
  MESOS_RECOVERY_TIMEOUT: '15mins',
  MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs',
  MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
  MESOS_HTTP_COMMAND_EXECUTOR: '0',
};

const envOf =
  (values: Record<string, string | undefined>) =>
  (name: string): string | undefined =>
    values[name];

function configError(values: Record<string, string | undefined>): SparkMesosError {
  try {
    executorConfigFromEnv(envOf(values));
  } catch (error) {
    if (isSparkMesosError(error, 'SM_ERR_BAD_CONFIG')) return error;
    throw error;
  }
  throw new Error('expected SM_ERR_BAD_CONFIG');
}

describe('executorConfigFromEnv', () => {
  it('reads every variable the agent sets', () => {
    const config = executorConfigFromEnv(envOf({ ...AGENT_ENV, MESOS_EXECUTOR_AUTHENTICATION_TOKEN: 'eyJ.abc.def' }));
    expect(config).toEqual({
      frameworkId: '5cdd377a-dae9-4944-98c2-8f0426d20e10-0013',
      executorId: 'default',
      agentEndpoint: { host: '127.0.0.1', port: 5051 },
      agentUrl: 'http://127.0.0.1:5051/api/v1/executor',
      directory: AGENT_ENV.MESOS_DIRECTORY,
      sandbox: '/mnt/mesos/sandbox',
      checkpoint: true,
      recoveryTimeoutMs: 900_000,
      subscriptionBackoffMaxMs: 2_000,
      shutdownGracePeriodMs: 5_000,
      httpCommandExecutor: false,
    });
    expect(config.authenticationToken).toBe('eyJ.abc.def');
    // The token is there to use, never to print.
    expect(JSON.stringify(config)).not.toContain('eyJ');
    expect(Object.keys(config)).not.toContain('authenticationToken');
  });

  it("falls back to the agent's defaults for the optional variables", () => {
    const config = executorConfigFromEnv(
      envOf({ MESOS_FRAMEWORK_ID: 'f', MESOS_EXECUTOR_ID: 'e', MESOS_AGENT_ENDPOINT: 'agent-1:5051' }),
    );
    expect(config.checkpoint).toBe(false);
    expect(config.recoveryTimeoutMs).toBe(EXECUTOR_CONFIG_DEFAULTS.recoveryTimeoutMs);
    expect(config.recoveryTimeoutMs).toBe(15 * 60_000);
    expect(config.subscriptionBackoffMaxMs).toBe(2_000);
    expect(config.shutdownGracePeriodMs).toBe(5_000);
    expect(config.directory).toBeUndefined();
    expect(config.sandbox).toBeUndefined();
    expect(config.httpCommandExecutor).toBe(false);
    expect(config.authenticationToken).toBeUndefined();
  });

  it('treats MESOS_CHECKPOINT="0" as false and "1"/"true" as true', () => {
    expect(executorConfigFromEnv(envOf({ ...AGENT_ENV, MESOS_CHECKPOINT: '0' })).checkpoint).toBe(false);
    expect(executorConfigFromEnv(envOf({ ...AGENT_ENV, MESOS_CHECKPOINT: 'false' })).checkpoint).toBe(false);
    expect(executorConfigFromEnv(envOf({ ...AGENT_ENV, MESOS_CHECKPOINT: 'true' })).checkpoint).toBe(true);
    expect(executorConfigFromEnv(envOf({ ...AGENT_ENV, MESOS_CHECKPOINT: '' })).checkpoint).toBe(false);
  });

  it('uses MESOS_DIRECTORY as the sandbox when MESOS_SANDBOX is unset (command tasks without image)', () => {
    const config = executorConfigFromEnv(envOf({ ...AGENT_ENV, MESOS_SANDBOX: undefined }));
    expect(config.sandbox).toBe(AGENT_ENV.MESOS_DIRECTORY);
  });

  it.each([
    ['2.5secs', 2_500],
    ['100ms', 100],
    ['1hrs', 3_600_000],
    ['1days', 86_400_000],
    ['1weeks', 604_800_000],
    ['500us', 0.5],
  ])('reads the stout duration %s', (text, milliseconds) => {
    const config = executorConfigFromEnv(
      envOf({
        ...AGENT_ENV,
        MESOS_RECOVERY_TIMEOUT: text,
        MESOS_SUBSCRIPTION_BACKOFF_MAX: text,
        MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: text,
      }),
    );
    expect(config.recoveryTimeoutMs).toBeCloseTo(milliseconds, 9);
    expect(config.subscriptionBackoffMaxMs).toBeCloseTo(milliseconds, 9);
    expect(config.shutdownGracePeriodMs).toBeCloseTo(milliseconds, 9);
  });

  it.each([
    ['[::1]:5051', { host: '::1', port: 5051 }, 'http://[::1]:5051/api/v1/executor'],
    ['[fe80::1%eth0]:5051', { host: 'fe80::1%eth0', port: 5051 }, undefined],
    ['agent.example.com:15051', { host: 'agent.example.com', port: 15_051 }, undefined],
  ])('reads the endpoint %s', (text, endpoint, url) => {
    const config = executorConfigFromEnv(envOf({ ...AGENT_ENV, MESOS_AGENT_ENDPOINT: text }));
    expect(config.agentEndpoint).toEqual(endpoint);
    if (url) expect(config.agentUrl).toBe(url);
  });

  it('uses https when libprocess SSL is enabled, as the C++ executor library does', () => {
    const config = executorConfigFromEnv(envOf({ ...AGENT_ENV, LIBPROCESS_SSL_ENABLED: 'true' }));
    expect(config.agentUrl).toBe('https://127.0.0.1:5051/api/v1/executor');
  });

  it('collects every problem into one SM_ERR_BAD_CONFIG naming variable, value and fix', () => {
    const error = configError({
      MESOS_EXECUTOR_ID: 'e',
      MESOS_AGENT_ENDPOINT: '::1:5051',
      MESOS_CHECKPOINT: 'yes',
      MESOS_RECOVERY_TIMEOUT: '15m',
      MESOS_SUBSCRIPTION_BACKOFF_MAX: '2',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5 secs',
    });
    const problems = error.details.problems as ExecutorConfigProblem[];
    expect(problems.map((problem) => problem.variable)).toEqual([
      'MESOS_FRAMEWORK_ID',
      'MESOS_AGENT_ENDPOINT',
      'MESOS_CHECKPOINT',
      'MESOS_RECOVERY_TIMEOUT',
      'MESOS_SUBSCRIPTION_BACKOFF_MAX',
      'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD',
    ]);
    expect(error.message).toContain('6 problems');
    expect(error.message).toContain('MESOS_FRAMEWORK_ID is not set');
    expect(error.message).toContain('MESOS_AGENT_ENDPOINT="::1:5051"');
    expect(error.message).toContain('[address]:port');
    expect(error.message).toContain('MESOS_CHECKPOINT="yes" must be 1 (or true) or 0 (or false)');
    expect(error.message).toContain('MESOS_RECOVERY_TIMEOUT="15m"');
    expect(error.message).toContain('unknown unit "m"');
    expect(error.message).toContain('default 15mins');
    expect(error.message).toContain('MESOS_SUBSCRIPTION_BACKOFF_MAX="2" "2" has no unit');
    expect(error.message).toContain('MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD="5 secs"');
  });

  it.each([
    ['http://127.0.0.1:5051', 'without a scheme'],
    ['127.0.0.1', 'expected host:port'],
    ['127.0.0.1:0', 'port 0 is not between 1 and 65535'],
    ['127.0.0.1:70000', 'port 70000'],
  ])('rejects the endpoint %s', (text, fix) => {
    const error = configError({ ...AGENT_ENV, MESOS_AGENT_ENDPOINT: text });
    expect(error.message).toContain(`MESOS_AGENT_ENDPOINT=${JSON.stringify(text)}`);
    expect(error.message).toContain(fix);
  });

  it('never echoes the authentication token, even when it is the problem', () => {
    const secret = 'eyJhbGciOi.secret-part\nsecond-line';
    const error = configError({ ...AGENT_ENV, MESOS_EXECUTOR_AUTHENTICATION_TOKEN: secret, MESOS_EXECUTOR_ID: '' });
    expect(error.message).toContain('MESOS_EXECUTOR_AUTHENTICATION_TOKEN="****"');
    expect(error.message).toContain('MESOS_EXECUTOR_ID is not set');
    const everything = JSON.stringify({ message: error.message, details: error.details, cause: error.cause });
    expect(everything).not.toContain('secret-part');
    expect(everything).not.toContain('eyJhbGciOi');
  });
});
