// The packages tour: what spark-mesos already does, end to end, with real components.
// Run by `npm start` (after install and build). Until the driver exists this is the main demo.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { environmentFrom, loadSparkConf } from '@spark-mesos/config';
import { isSparkMesosError } from '@spark-mesos/errors';
import { createMasterDetector, formatMasterUrl, parseMasterUrl } from '@spark-mesos/master-url';
import { findZooKeeper, startZooKeeperServer } from '@spark-mesos/master-url/testing';
import { createOperatorClient, createSchedulerClient, launchOperation } from '@spark-mesos/mesos-client';
import { startLocalCluster } from '@spark-mesos/mesos-local';
import zookeeper from 'node-zookeeper-client';

const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const heading = (text) => console.log(`\n${bold(`== ${text}`)}`);
const quiet = { warn() {}, info() {}, debug() {} };

heading('1. Master URLs');
for (const text of [
  'local[*]',
  'local[4,2]',
  'local-cluster[2,2,1024]',
  'mesos://[::1]:5050',
  'mesos+https://master.example.com',
  'mesos://zk://jo:s3cret@zk1:2181,zk2/mesos',
]) {
  const url = parseMasterUrl(text);
  const summary =
    url.kind === 'mesos'
      ? url.master.kind === 'static'
        ? `one master at ${url.master.scheme}://${url.master.host.includes(':') ? `[${url.master.host}]` : url.master.host}:${url.master.port}`
        : `leader found in ZooKeeper ${url.master.servers.map((s) => `${s.host}:${s.port}`).join(',')} under ${url.master.path}${url.master.auth ? ` as ${url.master.auth.username}` : ''}`
      : url.kind === 'local'
        ? `${url.threads === '*' ? 'one worker thread per core' : `${url.threads} worker thread(s)`} in the driver, ${url.maxFailures} attempt(s) per task`
        : `${url.agents} embedded agents × ${url.coresPerAgent} cores × ${url.memoryPerAgentMb} MiB`;
  console.log(`  ${formatMasterUrl(url, { maskPassword: true }).padEnd(44)} ${summary}`);
}
try {
  parseMasterUrl('zk://jo:s3cret@zk1:2181/mesos');
} catch (error) {
  console.log(`  rejected (${error.code}), password never echoed:\n    ${error.message.split('\n').join('\n    ')}`);
}

heading('2. Configuration: every source, its precedence, and explain()');
const confDir = await mkdtemp(join(tmpdir(), 'spark-mesos-tour-'));
try {
  await writeFile(
    join(confDir, 'spark-defaults.conf'),
    [
      '# spark-defaults.conf: Java properties syntax',
      'spark.master          mesos://zk://zk1:2181/mesos',
      'spark.executor.memory 2g',
      'spark.mesos.principal spark',
      'spark.mesos.secret    hunter2',
      'spark.mesos.task.labels team:data,\\',
      '                        cost-center:42',
    ].join('\n'),
  );
  await writeFile(
    join(confDir, 'spark-env.sh'),
    'export SPARK_EXECUTOR_URI=http://repo.example.com/spark-mesos-executor.tgz\nMESOS_NATIVE_JAVA_LIBRARY=/usr/lib/libmesos.so\n',
  );
  const { conf, warnings, notices } = await loadSparkConf({
    env: environmentFrom({ PATH: process.env.PATH, HOME: process.env.HOME, SPARK_CONF_DIR: confDir }),
    commandLine: ['spark.executor.memory=4g', 'spark.cores.max=10', 'spark.executor.cores=4'],
    code: { 'spark.app.name': 'packages-tour' },
    logger: quiet,
  });
  for (const key of [
    'spark.app.name',
    'spark.executor.memory',
    'spark.executor.uri',
    'spark.mesos.task.labels',
    'spark.mesos.coarse',
    'spark.mesos.secret',
  ]) {
    const { value, source, origin, overridden } = conf.explain(key);
    const beaten = overridden.map((entry) => `${entry.source}=${JSON.stringify(entry.value)}`).join(', ');
    console.log(
      `  ${key.padEnd(24)} = ${String(value).padEnd(48)} from ${source}${origin ? ` (${origin})` : ''}${beaten ? `; overrode ${beaten}` : ''}`,
    );
  }
  console.log(
    `  executor memory in MiB: ${conf.getSizeAsMb('spark.executor.memory')}; reject offers for ${conf.getTimeAsSeconds('spark.mesos.rejectOfferDuration')} s`,
  );
  for (const line of [...notices, ...warnings]) console.log(`  note: ${line}`);

  try {
    await loadSparkConf({
      env: environmentFrom({}),
      commandLine: [
        'spark.executor.memory=12x',
        'spark.executor.cores=0',
        'spark.mesos.secret=hunter2',
        'spark.mesos.coarse=maybe',
      ],
      logger: quiet,
    });
  } catch (error) {
    if (!isSparkMesosError(error, 'SM_ERR_BAD_CONFIG')) throw error;
    console.log(`  one error for every problem (${error.code}):\n    ${error.message.split('\n').join('\n    ')}`);
  }
} finally {
  await rm(confDir, { recursive: true, force: true });
}

heading('3. Leader detection through a real ZooKeeper, across failover');
if (findZooKeeper() === undefined) {
  console.log('  skipped: ZooKeeper is not installed (apt-get install zookeeper, or npm test installs it).');
} else {
  const server = await startZooKeeperServer();
  const clients = [];
  try {
    console.log(`  ZooKeeper serving on ${server.connectionString}`);
    // Two fake masters register the way Mesos masters do: ephemeral sequential json.info_ nodes.
    const register = async (port) => {
      const client = zookeeper.createClient(server.connectionString, { sessionTimeout: 2000 });
      clients.push(client);
      await new Promise((resolve) => client.once('connected', resolve).connect());
      const info = {
        address: { hostname: 'localhost', ip: '127.0.0.1', port },
        hostname: 'localhost',
        id: `master-${port}`,
        port,
        version: '1.12.0',
      };
      const acl = zookeeper.ACL.OPEN_ACL_UNSAFE;
      await new Promise((resolve, reject) =>
        client.mkdirp('/mesos', acl, zookeeper.CreateMode.PERSISTENT, (e) => (e ? reject(e) : resolve())),
      );
      const node = await new Promise((resolve, reject) =>
        client.create(
          '/mesos/json.info_',
          Buffer.from(JSON.stringify(info)),
          acl,
          zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
          (e, path) => (e ? reject(e) : resolve(path)),
        ),
      );
      console.log(`  master :${port} registered ${node}`);
      return client;
    };
    const first = await register(5050);
    await register(5051);
    const detector = createMasterDetector(parseMasterUrl(`mesos://zk://${server.connectionString}/mesos`), {
      sessionTimeoutMs: 2000,
      logger: quiet,
    });
    const leader = await detector.detect();
    console.log(`  leader: ${leader.host}:${leader.port} (id ${leader.id}, Mesos ${leader.version})`);
    const next = new Promise((resolve) =>
      detector.onChange((address) => address && address.port !== 5050 && resolve(address)),
    );
    const started = Date.now();
    first.close();
    console.log('  the leading master dies (its session closes, its node vanishes)…');
    const failover = await next;
    console.log(`  new leader: ${failover.host}:${failover.port}, detected in ${Date.now() - started} ms`);
    await detector.close();
  } finally {
    for (const client of clients) client.close();
    await server.stop();
  }
}
heading('4. A local Mesos cluster, the scheduler client, one task and its sandbox');
{
  const cluster = await startLocalCluster({ agents: 2, resources: 'cpus:2;mem:1024', allocationIntervalMs: 100 });
  const client = createSchedulerClient({
    master: cluster.masterUrl,
    frameworkInfo: { user: userInfo().username, name: 'spark-mesos packages tour', failover_timeout: 0 },
    logger: quiet,
  });
  try {
    console.log(`  mesos-local: ${cluster.agents.length} agents, master at ${cluster.masterUrl}`);
    const offered = new Promise((resolve) => client.on('OFFERS', (event) => resolve(event.offers.offers)));
    await client.start();
    const offers = await offered;
    console.log(`  subscribed as framework ${client.frameworkId}; ${offers.length} offer(s):`);
    for (const offer of offers) {
      const amount = (name) => offer.resources.find((resource) => resource.name === name)?.scalar?.value;
      console.log(`    ${offer.id.value} on ${offer.hostname}: cpus ${amount('cpus')}, mem ${amount('mem')} MB`);
    }
    const offer = offers[0];
    const taskId = 'tour-task-1';
    const states = [];
    const finished = new Promise((resolve) =>
      client.on('UPDATE', (event) => {
        const status = event.update.status;
        if (status.task_id.value !== taskId) return;
        states.push(status.state);
        if (!['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'].includes(status.state)) resolve(status);
      }),
    );
    await client.accept({
      offer_ids: [offer.id],
      operations: [
        launchOperation([
          {
            name: 'hello',
            task_id: { value: taskId },
            agent_id: offer.agent_id,
            resources: [
              { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
              { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
            ],
            command: { shell: true, value: 'echo "hello from $MESOS_SANDBOX"' },
          },
        ]),
      ],
    });
    const status = await finished;
    console.log(`  task ${taskId}: ${states.join(' → ')} (${status.message})`);
    // The debugging path a driver uses when a task fails: the sandbox, found through the master.
    const operator = createOperatorClient({ master: cluster.httpUrl });
    const sandbox = await operator.locateTaskSandbox(taskId, client.frameworkId);
    const stdout = await operator.readFileTail(sandbox.agentUrl, `${sandbox.directory}/stdout`, 4096);
    console.log(`  its stdout, read from the agent's /files/read: ${stdout.data.trim()}`);
    await client.teardown();
  } finally {
    await client.close();
    await cluster.stop();
  }
}

console.log(`\n${bold('Done.')} Next: the offer matcher, the executor, and the Pi example on local-cluster[…].`);
