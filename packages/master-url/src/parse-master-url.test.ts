import { isSparkMesosError, type SparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { formatMasterUrl } from './format-master-url.js';
import { parseMasterUrl } from './parse-master-url.js';

function rejection(text: string): SparkMesosError {
  try {
    parseMasterUrl(text);
  } catch (error) {
    if (isSparkMesosError(error, 'SM_ERR_BAD_MASTER_URL')) return error;
    throw error;
  }
  throw new Error(`expected '${text}' to be rejected`);
}

describe('parseMasterUrl: local forms', () => {
  it.each([
    ['local', { kind: 'local', threads: 1, maxFailures: 1 }],
    ['  local\n', { kind: 'local', threads: 1, maxFailures: 1 }],
    ['local[4]', { kind: 'local', threads: 4, maxFailures: 1 }],
    ['local[*]', { kind: 'local', threads: '*', maxFailures: 1 }],
    ['local[4,3]', { kind: 'local', threads: 4, maxFailures: 3 }],
    ['local[4 , 3]', { kind: 'local', threads: 4, maxFailures: 3 }],
    ['local[*,2]', { kind: 'local', threads: '*', maxFailures: 2 }],
    ['local-cluster[2,1,1024]', { kind: 'local-cluster', agents: 2, coresPerAgent: 1, memoryPerAgentMb: 1024 }],
    ['local-cluster[ 2 , 1 , 512 ]', { kind: 'local-cluster', agents: 2, coresPerAgent: 1, memoryPerAgentMb: 512 }],
  ])('%j', (text, expected) => {
    expect(parseMasterUrl(text)).toStrictEqual(expected);
  });

  it.each([
    ['local[0]', 'asked to run locally with 0 threads'],
    ['local[2,0]', 'at least 1'],
    ['local[ 2]', 'not one of the local forms'],
    ['local[-1]', 'not one of the local forms'],
    ['local[99999999999]', 'too large'],
    ['local-cluster[0,1,1]', 'at least 1'],
    ['local-cluster[1,1]', 'local-cluster[A,C,M]'],
    ['locally', 'not one of the local forms'],
  ])('rejects %j', (text, message) => {
    const error = rejection(text);
    expect(error.message).toContain(message);
    expect(error.message).toContain('Accepted forms:');
    expect(error.details).toEqual({ input: text });
  });
});

describe('parseMasterUrl: static Mesos masters', () => {
  it.each([
    ['mesos://host', { kind: 'static', scheme: 'http', host: 'host', port: 5050 }],
    [
      'mesos://master-1.example.com:5051/',
      { kind: 'static', scheme: 'http', host: 'master-1.example.com', port: 5051 },
    ],
    ['mesos://10.0.0.1:5050', { kind: 'static', scheme: 'http', host: '10.0.0.1', port: 5050 }],
    ['mesos://[::1]:5050', { kind: 'static', scheme: 'http', host: '::1', port: 5050 }],
    ['mesos://[2001:db8::7]', { kind: 'static', scheme: 'http', host: '2001:db8::7', port: 5050 }],
    ['mesos+https://host:443', { kind: 'static', scheme: 'https', host: 'host', port: 443 }],
  ])('%j', (text, master) => {
    expect(parseMasterUrl(text)).toStrictEqual({ kind: 'mesos', master });
  });

  it.each([
    ['mesos://', 'the master host is missing'],
    ['mesos://host:0', 'out of range'],
    ['mesos://host:65536', 'out of range'],
    ['mesos://host:', "port '' is not a number"],
    ['mesos://host:50x0', 'is not a number'],
    ['mesos://::1:5050', 'write it in brackets'],
    ['mesos://[::1', "without a closing ']'"],
    ['mesos://[zz::1]:5050', 'not a valid IPv6 address'],
    ['mesos://[fe80::1%25eth0]:5050', 'zone identifiers'],
    ['mesos://-bad-.com', 'not a valid host name'],
    ['mesos://10.0.0.256', 'not a valid IPv4 address'],
    ['mesos://a..b', 'not a valid host name'],
    ['mesos://host:5050/api/v1', 'paths are not allowed'],
    ['mesos://host:5050?x=1', 'queries'],
    ['mesos://host:5050#top', 'fragments'],
    ['mesos://user:pw@host:5050', 'cannot carry user-info'],
    ['mesos://ho st', 'whitespace'],
    ['MESOS://host', 'case-sensitive'],
    ['mesos:host', "followed by '://'"],
  ])('rejects %j', (text, message) => {
    expect(rejection(text).message).toContain(message);
  });

  it('never echoes the password of a static URL with user-info', () => {
    const error = rejection('mesos://jo:s3cret@host:5050');
    expect(error.message).not.toContain('s3cret');
    expect(error.message).toContain('jo:****@host');
  });
});

describe('parseMasterUrl: ZooKeeper masters', () => {
  it('parses an ensemble with default ports', () => {
    expect(parseMasterUrl('mesos://zk://h1:2181,h2,10.1.1.1:2182/mesos')).toStrictEqual({
      kind: 'mesos',
      master: {
        kind: 'zookeeper',
        scheme: 'http',
        servers: [
          { host: 'h1', port: 2181 },
          { host: 'h2', port: 2181 },
          { host: '10.1.1.1', port: 2182 },
        ],
        path: '/mesos',
      },
    });
  });

  it('parses IPv6 servers, https and nested paths', () => {
    expect(parseMasterUrl('mesos+https://zk://[::1]:2181,[::2]/a/b-c')).toStrictEqual({
      kind: 'mesos',
      master: {
        kind: 'zookeeper',
        scheme: 'https',
        servers: [
          { host: '::1', port: 2181 },
          { host: '::2', port: 2181 },
        ],
        path: '/a/b-c',
      },
    });
  });

  it('parses digest credentials, with ":" and "@" allowed in the password', () => {
    const url = parseMasterUrl('mesos://zk://jo:p@ss:w0rd@h1/mesos');
    expect(url).toStrictEqual({
      kind: 'mesos',
      master: {
        kind: 'zookeeper',
        scheme: 'http',
        servers: [{ host: 'h1', port: 2181 }],
        path: '/mesos',
        auth: { scheme: 'digest', username: 'jo', password: 'p@ss:w0rd' },
      },
    });
    expect(formatMasterUrl(url)).toBe('mesos://zk://jo:p@ss:w0rd@h1:2181/mesos');
    expect(formatMasterUrl(url, { maskPassword: true })).toBe('mesos://zk://jo:****@h1:2181/mesos');
  });

  it.each([
    ['mesos://zk://h1:2181', 'the ZooKeeper path is missing'],
    ['mesos://zk://h1:2181/', "'/' is not supported"],
    ['mesos://zk://h1/mesos/', "ends with '/'"],
    ['mesos://zk://h1/a//b', "empty, '.' or '..' segment"],
    ['mesos://zk://h1/a/../b', "empty, '.' or '..' segment"],
    ['mesos://zk://h1/zookeeper/x', 'reserved'],
    ['mesos://zk://h1,,h2/mesos', 'empty entry'],
    ['mesos://zk:///mesos', 'no ZooKeeper servers'],
    ['mesos://zk://h1:99999/mesos', 'out of range'],
    ['mesos://zk://jo@h1/mesos', 'both a user and a password'],
    ['mesos://zk://:pw@h1/mesos', 'user name is empty'],
    ['mesos://zk://jo:@h1/mesos', 'password is empty'],
    ['zk://h1:2181/mesos', "Write 'mesos://zk://h1:2181/mesos'"],
    ['http://host:5050/api', "Write 'mesos://host:5050'"],
    ['https://host:5050', "Write 'mesos+https://host:5050'"],
    ['spark://host:7077', "'spark://' scheme is not supported"],
    ['', 'it is empty'],
    ['yarn', 'YARN is not supported'],
  ])('rejects %j', (text, message) => {
    expect(rejection(text).message).toContain(message);
  });

  it('masks the password in messages and details, even when the URL is malformed', () => {
    for (const text of [
      'mesos://zk://jo:s3cret@h1:2181',
      'mesos://zk://jo:s3/cret@h1',
      'mesos://zk://jo:s3cret@zk://@h1/m/',
      'zk://jo:s3cret@h1/mesos',
      'mesos://zk://jo:s3cret@h1/zookeeper',
      'mesos://zk://jo:s3 cret@h1/mesos',
    ]) {
      const error = rejection(text);
      expect(error.message).not.toMatch(/s3.?cret/);
      expect(JSON.stringify(error.details)).not.toMatch(/s3.?cret/);
      expect(JSON.stringify(error.cause)).not.toMatch(/s3.?cret/);
      expect(error.message).toContain('jo:****@');
    }
  });
});

describe('formatMasterUrl', () => {
  it.each([
    'local',
    'local[3]',
    'local[*]',
    'local[*,4]',
    'local[2,5]',
    'local-cluster[2,3,1024]',
    'mesos://host:5050',
    'mesos://[::1]:5050',
    'mesos+https://h:443',
    'mesos://zk://h1:2181,[::1]:2182/mesos',
    'mesos+https://zk://u:p@h1:2181/a/b',
  ])('writes %j back as it was', (text) => {
    expect(formatMasterUrl(parseMasterUrl(text))).toBe(text);
  });

  it('spells out default ports', () => {
    expect(formatMasterUrl(parseMasterUrl('mesos://host/'))).toBe('mesos://host:5050');
    expect(formatMasterUrl(parseMasterUrl('mesos://zk://h/m'))).toBe('mesos://zk://h:2181/m');
  });
});
