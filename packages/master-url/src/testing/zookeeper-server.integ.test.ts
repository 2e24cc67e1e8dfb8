import zookeeper from 'node-zookeeper-client';
import { describe, expect, it } from 'vitest';
import { findZooKeeper, startZooKeeperServer } from './index.js';

const zk = findZooKeeper();

function connectAndCreate(connectionString: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = zookeeper.createClient(connectionString, { sessionTimeout: 2000 });
    client.once('connected', () => {
      client.create(path, (error, created) => {
        client.close();
        if (error) reject(error);
        else resolve(created);
      });
    });
    client.connect();
  });
}

function exists(connectionString: string, path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const client = zookeeper.createClient(connectionString, { sessionTimeout: 2000 });
    client.once('connected', () => {
      client.exists(path, (error, stat) => {
        client.close();
        if (error) reject(error);
        else resolve(Boolean(stat));
      });
    });
    client.connect();
  });
}

// With CI=true a missing ZooKeeper fails the suite instead of skipping it.
describe.skipIf(!zk && process.env.CI !== 'true')('startZooKeeperServer', () => {
  it('starts, keeps data across restart, and cleans up on stop', async () => {
    const server = await startZooKeeperServer();
    try {
      expect(server.connectionString).toBe(`127.0.0.1:${server.port}`);
      await connectAndCreate(server.connectionString, '/kept');
      await server.restart();
      expect(await exists(server.connectionString, '/kept')).toBe(true);
    } finally {
      await server.stop();
    }
    const { existsSync } = await import('node:fs');
    expect(existsSync(server.directory)).toBe(false);
  });
});
