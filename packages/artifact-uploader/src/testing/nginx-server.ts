import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparkMesosError, truncateBody } from '@spark-mesos/errors';

/** The user and password `/private/` accepts for writes. */
export const NGINX_TEST_USER = { username: 'uploader', password: 's3cret-pw' } as const;
/** The bearer token `/bearer/` accepts for writes. */
export const NGINX_TEST_TOKEN = 'test-token-0123';

/** A running nginx for tests. */
export interface NginxTestServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The temporary prefix (config, logs, pid, the served `www/`). */
  readonly directory: string;
  /** The directory served at `/` (so `/dav/x` is `<root>/dav/x`). */
  readonly root: string;
  /** The access log's lines so far: `METHOD /path STATUS`. */
  accessLog(): string[];
  /** Stops nginx (fast shutdown) and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

const DEBIAN_NGINX = '/usr/sbin/nginx';

/** The nginx binary: `/usr/sbin/nginx` (Debian's, built with http_dav_module), else undefined. */
export function findNginx(): string | undefined {
  return existsSync(DEBIAN_NGINX) ? DEBIAN_NGINX : undefined;
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

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts Debian's nginx on a free loopback port with its own temporary prefix, config, pid file
 * and logs, serving `www/` with these locations:
 * - `/dav/`: WebDAV `PUT DELETE MOVE`, `create_full_put_path on` (a writable destination);
 * - `/nomove/`: `PUT DELETE` only (the no-MOVE fallback);
 * - `/readonly/`: no WebDAV (an unwritable destination: PUT answers 405);
 * - `/private/`: like `/dav/`, writes need basic auth ({@link NGINX_TEST_USER}), reads are open;
 * - `/bearer/`: like `/dav/`, writes need `Authorization: Bearer` {@link NGINX_TEST_TOKEN}.
 *
 * @throws SparkMesosError `SM_ERR_NGINX` when nginx is not installed or does not start.
 */
export async function startNginxServer(options: { readonly startTimeoutMs?: number } = {}): Promise<NginxTestServer> {
  const binary = findNginx();
  if (binary === undefined) {
    throw new SparkMesosError(
      'SM_ERR_NGINX',
      `nginx is not installed (no ${DEBIAN_NGINX}). Install Debian's nginx (apt-get install nginx), which has http_dav_module.`,
      { cause: { binary: DEBIAN_NGINX } },
    );
  }
  const directory = await mkdtemp(join(tmpdir(), 'spark-mesos-nginx-'));
  const root = join(directory, 'www');
  for (const sub of ['www/dav', 'www/nomove', 'www/readonly', 'www/private', 'www/bearer', 'temp', 'logs']) {
    await mkdir(join(directory, sub), { recursive: true });
  }
  await writeFile(join(directory, 'htpasswd'), `${NGINX_TEST_USER.username}:{PLAIN}${NGINX_TEST_USER.password}\n`);
  const port = await freePort();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const dav = 'dav_methods PUT DELETE MOVE; create_full_put_path on; dav_access user:rw group:r all:r;';
  const config = [
    'daemon off;',
    'worker_processes 1;',
    // Workers of a root master would drop to nobody, who may not write the temporary prefix.
    ...(isRoot ? ['user root root;'] : []),
    `pid ${join(directory, 'nginx.pid')};`,
    `error_log ${join(directory, 'logs', 'error.log')} info;`,
    'events { worker_connections 128; }',
    'http {',
    "  log_format short '$request_method $uri $status';",
    `  access_log ${join(directory, 'logs', 'access.log')} short;`,
    `  client_body_temp_path ${join(directory, 'temp', 'body')};`,
    `  proxy_temp_path ${join(directory, 'temp', 'proxy')};`,
    `  fastcgi_temp_path ${join(directory, 'temp', 'fastcgi')};`,
    `  uwsgi_temp_path ${join(directory, 'temp', 'uwsgi')};`,
    `  scgi_temp_path ${join(directory, 'temp', 'scgi')};`,
    '  client_max_body_size 0;',
    '  sendfile on;',
    '  map "$request_method:$http_authorization" $bearer_refused {',
    '    default 1;',
    '    "~^(GET|HEAD):" 0;',
    `    "~^(PUT|DELETE|MOVE):Bearer ${NGINX_TEST_TOKEN}$" 0;`,
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    `    root ${root};`,
    `    location /dav/ { ${dav} }`,
    '    location /nomove/ { dav_methods PUT DELETE; create_full_put_path on; }',
    '    location /readonly/ { }',
    `    location /private/ { ${dav} limit_except GET HEAD { auth_basic "uploads"; auth_basic_user_file ${join(directory, 'htpasswd')}; } }`,
    `    location /bearer/ { ${dav} if ($bearer_refused) { return 401; } }`,
    '  }',
    '}',
    '',
  ].join('\n');
  const configFile = join(directory, 'nginx.conf');
  await writeFile(configFile, config);

  const errorLog = join(directory, 'logs', 'error.log');
  let output = '';
  const child: ChildProcess = spawn(binary, ['-p', directory, '-c', configFile, '-e', errorLog], {
    cwd: directory,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(directory, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
      await stop();
      throw new SparkMesosError(
        'SM_ERR_NGINX',
        `nginx did not start on 127.0.0.1:${port}: ${truncateBody(`${output}\n${log}`.trim(), 2000)}`,
        { cause: { exitCode: child.exitCode } },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    directory,
    root,
    accessLog() {
      const file = join(directory, 'logs', 'access.log');
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '');
    },
    stop,
  };
}
