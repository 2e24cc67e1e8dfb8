import { readFileSync } from 'node:fs';
import { isSparkMesosError } from '@spark-mesos/errors';
import type { MasterInfo } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import { masterInfoJson, parseZooKeeperUrl } from './master-election.js';

describe('parseZooKeeperUrl', () => {
  it("reads Mesos' --zk form, several servers and digest credentials included", () => {
    expect(parseZooKeeperUrl('zk://127.0.0.1:2181/mesos')).toMatchObject({
      servers: [{ host: '127.0.0.1', port: 2181 }],
      path: '/mesos',
    });
    expect(parseZooKeeperUrl('zk://user:pw@a:1,b:2/x/y')).toMatchObject({
      servers: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      path: '/x/y',
      auth: { username: 'user', password: 'pw' },
    });
  });

  it('refuses what is not a ZooKeeper URL, naming it', () => {
    for (const url of ['127.0.0.1:2181/mesos', 'mesos://zk://127.0.0.1:2181/mesos', 'zk://127.0.0.1:2181']) {
      let caught: unknown;
      try {
        parseZooKeeperUrl(url);
      } catch (error) {
        caught = error;
      }
      expect(isSparkMesosError(caught, 'SM_ERR_BAD_CONFIG'), url).toBe(true);
      expect((caught as Error).message).toContain(JSON.stringify(url));
    }
  });
});

describe('masterInfoJson', () => {
  it('writes MasterInfo as a real master wrote it into ZooKeeper, byte for byte', () => {
    const recorded = readFileSync(
      new URL('./__fixtures__/zookeeper_ha/zk-before/json.info_0000000001', import.meta.url),
      'utf8',
    );
    // Field order of the protobuf (as in SUBSCRIBED), written with sorted keys and no spaces.
    const info = JSON.parse(recorded) as MasterInfo;
    const fieldOrder: MasterInfo = {
      id: info.id,
      ip: info.ip,
      port: info.port,
      ...(info.pid === undefined ? {} : { pid: info.pid }),
      ...(info.hostname === undefined ? {} : { hostname: info.hostname }),
      ...(info.version === undefined ? {} : { version: info.version }),
      ...(info.address === undefined ? {} : { address: info.address }),
      ...(info.capabilities === undefined ? {} : { capabilities: info.capabilities }),
    };
    expect(masterInfoJson(fieldOrder)).toBe(recorded);
  });
});
