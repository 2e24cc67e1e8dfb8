import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparkMesosError, truncateBody } from '@spark-mesos/errors';

/** Options of {@link startZooKeeperServer}. */
export interface StartZooKeeperServerOptions {
  /**
   * ZooKeeper's tick. Sessions may last 2 to 20 ticks, so a small tick allows the short session
   * timeouts tests want. @default 200
   */
  readonly tickTimeMs?: number;
  /** How long to wait for the server to serve requests. @default 30000 */
  readonly startTimeoutMs?: number;
  /** The `zkServer.sh` to run. @default findZooKeeper() */
  readonly script?: string;
}

/** A running single-node ZooKeeper server for tests. */
export interface ZooKeeperTestServer {
  /** Always `127.0.0.1`. */
  readonly host: string;
  /** The client port (free port picked at start; kept across restarts). */
  readonly port: number;
  /** `127.0.0.1:<port>`, for ZooKeeper clients. */
  readonly connectionString: string;
  /** The temporary directory holding config, data and logs. */
  readonly directory: string;
  /** Kills the server's process group and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** Kills the server but keeps its data (sessions and znodes survive), then starts it again. */
  restart(options?: { readonly downForMs?: number }): Promise<void>;
}

const DEBIAN_SCRIPT = '/usr/share/zookeeper/bin/zkServer.sh';

/**
 * The `zkServer.sh` to use: `$ZOOKEEPER_HOME/bin/zkServer.sh` when set and present, else the
 * Debian package's `/usr/share/zookeeper/bin/zkServer.sh`, else undefined.
 */
export function findZooKeeper(): string | undefined {
  const home = process.env.ZOOKEEPER_HOME;
  if (home !== undefined && home !== '') {
    const script = join(home, 'bin', 'zkServer.sh');
    if (existsSync(script)) return script;
  }
  return existsSync(DEBIAN_SCRIPT) ? DEBIAN_SCRIPT : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends a four-letter word and returns the answer ('' when the server is not there). */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// Servers still running when the test process exits are killed, so no JVM outlives a test run.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Starts a throw-away single-node ZooKeeper with `zkServer.sh start-foreground <cfg>` on a free
 * loopback port, with its own temporary directory (config, data, logs), JMX and the admin server
 * off, and a small tick so session timeouts can be short. Resolves once it serves (`srvr` reports its mode).
 *
 * @throws SparkMesosError `SM_ERR_ZOOKEEPER` when ZooKeeper is not installed or does not start.
 */
export async function startZooKeeperServer(options: StartZooKeeperServerOptions = {}): Promise<ZooKeeperTestServer> {
  const script = options.script ?? findZooKeeper();
  if (script === undefined) {
    throw new SparkMesosError(
      'SM_ERR_ZOOKEEPER',
      `ZooKeeper is not installed: no ${DEBIAN_SCRIPT} and no $ZOOKEEPER_HOME/bin/zkServer.sh. ` +
        'Install it (apt-get install zookeeper) or set ZOOKEEPER_HOME.',
      { cause: { zookeeperHome: process.env.ZOOKEEPER_HOME } },
    );
  }
  const tickTimeMs = options.tickTimeMs ?? 200;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const directory = await mkdtemp(join(tmpdir(), 'spark-mesos-zk-'));
  const dataDirectory = join(directory, 'data');
  const logDirectory = join(directory, 'log');
  await mkdir(dataDirectory);
  await mkdir(logDirectory);
  const port = await freePort();
  const config = join(directory, 'zoo.cfg');
  await writeFile(
    config,
    [
      `tickTime=${tickTimeMs}`,
      `dataDir=${dataDirectory}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr',
      // Sessions may be as short as two ticks; cap the long end so tests never wait long.
      `minSessionTimeout=${2 * tickTimeMs}`,
      `maxSessionTimeout=${Math.max(20 * tickTimeMs, 60_000)}`,
      'maxClientCnxns=0',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let output = '';
  let stopped = false;

  const launch = async (): Promise<void> => {
    output = '';
    const launched = spawn(script, ['start-foreground', config], {
      cwd: directory,
      detached: true, // its own process group, so stop() kills the JVM and the shell alike
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        JMXDISABLE: 'true',
        ZOO_LOG_DIR: logDirectory,
        ZOO_LOG4J_PROP: 'WARN,CONSOLE',
        ZOOPIDFILE: join(directory, 'zookeeper.pid'),
        // Later -D flags win, which matters where zkEnv.sh hard-codes the log directory (Debian).
        SERVER_JVMFLAGS: `-Dzookeeper.log.dir=${logDirectory} -Dzookeeper.root.logger=WARN,CONSOLE -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m`,
      },
    });
    child = launched;
    running.add(launched);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const process of running) killGroup(process);
      });
    }
    const collect = (chunk: Buffer): void => {
      output = truncateBody(output + chunk.toString('utf8'), 8000);
    };
    launched.stdout?.on('data', collect);
    launched.stderr?.on('data', collect);
    launched.once('exit', () => running.delete(launched));
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (launched.exitCode !== null || launched.signalCode !== null) break;
      // `ruok` answers imok before the server serves sessions; `srvr` shows a Mode only then.
      if ((await fourLetterWord(port, 'srvr')).includes('Mode: ')) return;
      await sleep(100);
    }
    killGroup(launched);
    throw new SparkMesosError(
      'SM_ERR_ZOOKEEPER',
      `ZooKeeper (${script}) did not start on 127.0.0.1:${port} within ${startTimeoutMs} ms. Its output:\n${output}`,
      { cause: { script, port, exitCode: launched.exitCode }, details: { directory } },
    );
  };

  const kill = async (): Promise<void> => {
    const current = child;
    child = undefined;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    killGroup(current);
    await exited;
  };

  await launch();

  return {
    host: '127.0.0.1',
    port,
    connectionString: `127.0.0.1:${port}`,
    directory,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      await rm(directory, { recursive: true, force: true });
    },
    async restart(restartOptions = {}) {
      if (stopped) {
        throw new SparkMesosError('SM_ERR_CLOSED', 'This ZooKeeper test server was stopped; start a new one.', {
          cause: { directory },
        });
      }
      await kill();
      if (restartOptions.downForMs !== undefined) await sleep(restartOptions.downForMs);
      await launch();
    },
  };
}
