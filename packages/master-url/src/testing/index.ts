export type { StartZooKeeperServerOptions, ZooKeeperTestServer } from './zookeeper-server.js';
export { findZooKeeper, startZooKeeperServer } from './zookeeper-server.js';
