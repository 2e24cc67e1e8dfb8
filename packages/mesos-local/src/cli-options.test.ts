import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { parseMesosLocalArguments } from './cli-options.js';

function problemOf(args: string[]): string {
  try {
    parseMesosLocalArguments(args);
  } catch (error) {
    expect(isSparkMesosError(error) && error.code).toBe('SM_ERR_BAD_CONFIG');
    return (error as Error).message;
  }
  throw new Error(`no error for ${args.join(' ')}`);
}

describe('parseMesosLocalArguments', () => {
  it('gives the defaults for no arguments', () => {
    expect(parseMesosLocalArguments([])).toEqual({ help: false, port: 5050, agents: 1, masters: 1 });
  });

  it('reads every option', () => {
    expect(
      parseMesosLocalArguments([
        '--port',
        '0',
        '--agents',
        '3',
        '--resources',
        'cpus:2;mem:1024',
        '--attributes',
        'rack:r1',
        '--work-dir',
        '/tmp/w',
        '--heartbeat-interval-seconds',
        '0.5',
        '--allocation-interval-ms=50',
        '--credentials',
        '/etc/creds',
        '--zookeeper',
        'zk://127.0.0.1:2181/mesos',
        '--masters',
        '2',
      ]),
    ).toEqual({
      help: false,
      port: 0,
      agents: 3,
      masters: 2,
      resources: 'cpus:2;mem:1024',
      attributes: 'rack:r1',
      workDir: '/tmp/w',
      heartbeatIntervalSeconds: 0.5,
      allocationIntervalMs: 50,
      credentialsFile: '/etc/creds',
      zookeeper: 'zk://127.0.0.1:2181/mesos',
    });
  });

  it('names every bad value with its option and an example, in one error', () => {
    const message = problemOf(['--port', 'http', '--agents=-1', '--allocation-interval-ms', '0']);
    expect(message).toContain("--port must be a whole number from 0 to 65535, got 'http' (e.g. --port 5050)");
    expect(message).toContain("--agents must be a whole number from 0 to 100000, got '-1'");
    expect(message).toContain("--allocation-interval-ms must be a number above 0, got '0'");
  });

  it('refuses several masters without ZooKeeper, and unknown options', () => {
    expect(problemOf(['--masters', '2'])).toContain('--masters 2 needs --zookeeper');
    expect(problemOf(['--slaves', '2'])).toMatch(/Unknown option '--slaves'.*mesos-local --help/);
    expect(problemOf(['--port'])).toMatch(/--port.*argument missing/);
  });

  it('takes --help', () => {
    expect(parseMesosLocalArguments(['--help']).help).toBe(true);
  });
});
