#!/usr/bin/env node
// The `mesos-local` command: a local cluster until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { readCredentialsFile } from './credentials.js';
import { startLocalCluster } from './local-cluster.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '5050' },
    agents: { type: 'string', default: '1' },
    resources: { type: 'string' },
    attributes: { type: 'string' },
    'work-dir': { type: 'string' },
    // Mesos' --credentials file (JSON or "principal secret" lines): scheduler calls need basic auth.
    credentials: { type: 'string' },
    // Mesos' --zk: every master registers there; several need it.
    zookeeper: { type: 'string' },
    masters: { type: 'string', default: '1' },
  },
});

const cluster = await startLocalCluster({
  port: Number(values.port),
  agents: Number(values.agents),
  ...(values.resources === undefined ? {} : { resources: values.resources }),
  ...(values.attributes === undefined ? {} : { attributes: values.attributes }),
  ...(values['work-dir'] === undefined ? {} : { workDir: values['work-dir'] }),
  ...(values.credentials === undefined ? {} : { credentials: readCredentialsFile(values.credentials) }),
  ...(values.zookeeper === undefined ? {} : { zookeeper: values.zookeeper }),
  masters: Number(values.masters),
});
process.stdout.write(`${cluster.masterUrl}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void cluster.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
