#!/usr/bin/env node
// The `mesos-local` command: a local cluster until SIGINT/SIGTERM. The master URL is the first
// line on stdout, for scripts; everything meant for people goes to stderr.
import { isSparkMesosError } from '@spark-mesos/errors';
import { MESOS_LOCAL_USAGE, type MesosLocalCommandLine, parseMesosLocalArguments } from './cli-options.js';
import { readCredentialsFile } from './credentials.js';
import { type LocalCluster, startLocalCluster } from './local-cluster.js';

function fail(error: unknown, exitCode: number): never {
  const message = isSparkMesosError(error) || error instanceof Error ? error.message : String(error);
  process.stderr.write(`${message}\n`);
  process.exit(exitCode);
}

let commandLine: MesosLocalCommandLine;
try {
  commandLine = parseMesosLocalArguments(process.argv.slice(2));
} catch (error) {
  fail(error, 2);
}
if (commandLine.help) {
  process.stdout.write(MESOS_LOCAL_USAGE);
  process.exit(0);
}

let cluster: LocalCluster;
try {
  const { credentialsFile, help: _help, ...options } = commandLine;
  cluster = await startLocalCluster({
    ...options,
    ...(credentialsFile === undefined ? {} : { credentials: readCredentialsFile(credentialsFile) }),
  });
} catch (error) {
  fail(error, 1);
}
process.stdout.write(`${cluster.masterUrl}\n`);
process.stderr.write(
  `mesos-local: ${cluster.agents.length} agent(s); master state at ${cluster.httpUrl}/master/state; sandboxes in ${cluster.workDir}. Stop with Ctrl-C.\n`,
);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void cluster.stop().then(
    () => process.exit(0),
    (error: unknown) => fail(error, 1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
