// Shared helpers of the project scripts. Plain Node (no dependencies): these run before
// `pnpm install` on a fresh clone that has only Node 20 and npm.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function log(message) {
  process.stderr.write(`\x1b[1m[spark-mesos]\x1b[0m ${message}\n`);
}

/** Runs a command with inherited stdio; returns its exit status (never throws). */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) {
    log(`could not run ${command}: ${result.error.message}`);
    return 127;
  }
  return result.status ?? 1;
}

/** Runs a command and returns its trimmed stdout, or undefined when it fails. */
export function capture(command, args) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export function runOrExit(command, args, what) {
  const status = run(command, args);
  if (status !== 0) {
    log(`${what} failed (exit ${status}).`);
    process.exit(status);
  }
}

/** The pnpm version the project pins in package.json#packageManager. */
function pinnedPnpmVersion() {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const match = /^pnpm@(\d+\.\d+\.\d+)/.exec(manifest.packageManager ?? '');
  if (!match) throw new Error('package.json#packageManager must name pnpm@X.Y.Z');
  return match[1];
}

/**
 * Makes sure a pnpm of the pinned major version is available and returns how to call it:
 * an installed pnpm when its major matches, else `npm install -g` (we run as root on CI
 * machines), else `npx pnpm@X` as a last resort. corepack is not used: its signature check
 * fails on these machines.
 */
export function ensurePnpm() {
  const version = pinnedPnpmVersion();
  const major = version.split('.')[0];
  const installed = capture('pnpm', ['--version']);
  if (installed?.split('.')[0] === major) return ['pnpm'];
  log(`installing pnpm@${version} (found: ${installed ?? 'none'})`);
  if (run('npm', ['install', '--global', '--no-fund', '--no-audit', `pnpm@${version}`]) === 0) {
    if (capture('pnpm', ['--version'])?.split('.')[0] === major) return ['pnpm'];
  }
  log(`global install failed; using npx pnpm@${version}`);
  return ['npx', '--yes', `pnpm@${version}`];
}

/** Installs the workspace's dependencies (frozen lockfile) and builds every package. */
export function installAndBuild(pnpm) {
  const [command, ...prefix] = pnpm;
  runOrExit(command, [...prefix, 'install', '--frozen-lockfile'], 'pnpm install');
  runOrExit(command, [...prefix, 'run', 'build'], 'build');
}

/**
 * Debian packages the integration tests need, each with the file that shows it is there.
 * Missing ones are installed with apt-get when we are root (CI machines are).
 */
export const systemPackages = [
  {
    name: 'zookeeper',
    present: () => existsSync('/usr/share/zookeeper/bin/zkServer.sh') || Boolean(process.env.ZOOKEEPER_HOME),
  },
  {
    // artifact-uploader's tests upload to a loopback nginx with WebDAV (http_dav_module).
    name: 'nginx',
    present: () => existsSync('/usr/sbin/nginx'),
  },
  {
    // spark-mesos's CLI test runs the command under script(1) to give it a terminal (progress line).
    name: 'bsdutils',
    present: () => existsSync('/usr/bin/script'),
  },
];

export function ensureSystemPackages() {
  const missing = systemPackages.filter((pkg) => !pkg.present()).map((pkg) => pkg.name);
  if (missing.length === 0) return [];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !capture('sh', ['-c', 'command -v apt-get'])) {
    log(`missing Debian packages: ${missing.join(', ')} (not root or no apt-get: install them yourself)`);
    return missing;
  }
  log(`installing Debian packages: ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  if (run('apt-get', ['install', '-y', '-qq', ...missing], { env }) !== 0) {
    log(`apt-get install ${missing.join(' ')} failed`);
  }
  return systemPackages.filter((pkg) => !pkg.present()).map((pkg) => pkg.name);
}
