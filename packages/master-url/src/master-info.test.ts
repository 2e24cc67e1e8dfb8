import { readFileSync } from 'node:fs';
import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { ipFromMasterInfo, parseMasterInfo } from './master-info.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`./__fixtures__/zookeeper_ha/${name}`, import.meta.url));

function badInfo(data: string | Uint8Array): Error {
  try {
    parseMasterInfo(typeof data === 'string' ? Buffer.from(data) : data, '/mesos/json.info_0000000004');
  } catch (error) {
    if (isSparkMesosError(error, 'SM_ERR_BAD_MASTER_INFO')) return error;
    throw error;
  }
  throw new Error('expected SM_ERR_BAD_MASTER_INFO');
}

describe('parseMasterInfo', () => {
  it('reads the recorded Mesos 1.12 MasterInfo', () => {
    expect(
      parseMasterInfo(fixture('zk-before/json.info_0000000000'), '/mesos-fixture/json.info_0000000000'),
    ).toStrictEqual({
      host: '127.0.0.1',
      port: 5060,
      scheme: 'http',
      id: '6d5b8a6a-6fb6-4170-b8ff-92d642b95289',
      hostname: '127.0.0.1',
      version: '1.12.0',
    });
    expect(parseMasterInfo(fixture('zk-after/json.info_0000000001'), '/x', 'https')).toMatchObject({
      host: '127.0.0.1',
      port: 5061,
      scheme: 'https',
      id: '748b5ebe-053e-441b-a08a-301f9af30b92',
    });
  });

  it('falls back to address.ip, then top-level hostname, then the uint32 ip', () => {
    const parse = (info: unknown) => parseMasterInfo(Buffer.from(JSON.stringify(info)), '/m/json.info_1');
    expect(parse({ address: { ip: '10.0.0.2', port: 5050 } })).toStrictEqual({
      host: '10.0.0.2',
      port: 5050,
      scheme: 'http',
    });
    expect(parse({ hostname: 'm1.example.com', ip: 16777343, port: 5051 })).toMatchObject({
      host: 'm1.example.com',
      hostname: 'm1.example.com',
      port: 5051,
    });
    expect(parse({ ip: 16777343, port: 5052 })).toStrictEqual({ host: '127.0.0.1', port: 5052, scheme: 'http' });
    expect(parse({ address: { hostname: 'h' }, port: 5053 })).toMatchObject({ host: 'h', port: 5053 });
  });

  it('converts the network-byte-order uint32', () => {
    expect(ipFromMasterInfo(16777343)).toBe('127.0.0.1');
    expect(ipFromMasterInfo(0x0a01a8c0)).toBe('192.168.1.10');
    expect(ipFromMasterInfo(0xffffffff)).toBe('255.255.255.255');
  });

  it.each([
    ['not json', 'is not JSON'],
    ['[1]', 'not an object'],
    ['{"port":5050}', 'no address.hostname'],
    ['{"hostname":"h"}', 'no valid port'],
    ['{"hostname":"h","port":70000}', 'no valid port'],
    ['{"hostname":"bad host!","port":5050}', 'not a valid host name'],
  ])('rejects %j naming the node', (data, message) => {
    const error = badInfo(data);
    expect(error.message).toContain('/mesos/json.info_0000000004');
    expect(error.message).toContain(message);
  });

  it('rejects bytes that are not UTF-8 (a protobuf MasterInfo)', () => {
    expect(badInfo(new Uint8Array([0x0a, 0xff, 0xfe, 0x10])).message).toContain('not UTF-8');
  });
});
