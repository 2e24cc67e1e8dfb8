// `spark-mesos local-cluster`: the `mesos-local` command of @spark-mesos/mesos-local (its options,
// its checks, its output), run as a child process so its option parsing is not duplicated.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES } from './cli-errors.js';

/** The `mesos-local` bin of the installed @spark-mesos/mesos-local. */
export function mesosLocalBin(): string {
  const manifestPath = fileURLToPath(import.meta.resolve('@spark-mesos/mesos-local/package.json'));
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: Record<string, string> };
  return join(dirname(manifestPath), manifest.bin['mesos-local']!);
}

const HEADER = `Usage: spark-mesos local-cluster [options]

Starts a local Mesos cluster (a master and agents on 127.0.0.1, Mesos' v1 HTTP API) and prints
its master URL on the first line of stdout; use it as --master. Runs until Ctrl-C or SIGTERM,
then stops every task and server it started. Unlike mesos-local, the port defaults to a free
one (--port 0), so it never collides with a Mesos master on 5050.

Exit codes: 0 stopped by a signal; 1 the cluster failed; 2 bad usage.

`;

/**
 * Runs `spark-mesos local-cluster` with `args`: `mesos-local` with the same arguments (and
 * `--port 0` unless a port is given), its stdout and stderr passed through; SIGINT and SIGTERM
 * are passed on so it stops cleanly. Resolves with its exit code.
 */
export async function runLocalClusterCommand(args: readonly string[]): Promise<number> {
  const bin = mesosLocalBin();
  if (args.includes('--help') || args.includes('-h')) {
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    process.stdout.write(HEADER + help.stdout.replace(/^Usage: mesos-local \[options\]\n\n[^\n]*\n[^\n]*\n\n?/, ''));
    return EXIT_CODES.ok;
  }
  const hasPort = args.some((arg) => arg === '--port' || arg.startsWith('--port='));
  const child = spawn(process.execPath, [bin, ...(hasPort ? [] : ['--port', '0']), ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => () => {
    child.kill(signal);
  };
  const onInterrupt = forward('SIGINT');
  const onTerminate = forward('SIGTERM');
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        resolve(code ?? (signal === 'SIGINT' ? EXIT_CODES.interrupted : EXIT_CODES.terminated));
      });
    });
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
  }
}
