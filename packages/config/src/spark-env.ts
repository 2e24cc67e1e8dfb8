import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { redactUrlCredentials, SparkMesosError, truncateBody } from '@spark-mesos/errors';

/** What a {@link SparkEnvRunner} is asked to run. */
export interface SparkEnvRequest {
  /** The spark-env.sh path. */
  readonly file: string;
  /** The whole environment the script starts with (the loader passes PATH, HOME, SPARK_HOME, SPARK_CONF_DIR). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Evaluates a spark-env.sh and returns the variables it set or changed. The loader's seam: tests
 * may pass a fake, production uses {@link runSparkEnvScript}.
 */
export type SparkEnvRunner = (request: SparkEnvRequest) => Promise<Record<string, string>>;

/** Options of {@link createSparkEnvRunner}. */
export interface SparkEnvRunnerOptions {
  /** The bash to run. @default 'bash' (looked up on the request's PATH by env) */
  bash?: string;
  /** How long the script may run before it is killed. @default 30000 */
  timeoutMs?: number;
}

// Shell-maintained variables that change without the script meaning to set them.
const shellVariables = new Set(['_', 'PWD', 'OLDPWD', 'SHLVL']);
const boundary = '--spark-mesos-env-boundary--';
const namePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Output goes to fd 3 so whatever the script prints cannot corrupt it; `set -a` exports every
// assignment, as Spark's load-spark-env.sh does; env -0 keeps values with newlines intact.
const script = [
  'exec 3>&1 1>&2',
  'env -0 >&3',
  `printf '%s\\0' '${boundary}' >&3`,
  'set -a',
  '. "$1"',
  'set +a',
  'env -0 >&3',
].join('\n');

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly timedOut: boolean;
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
      });
    });
  });
}

function parseEnvironment(text: string): Map<string, string> {
  const variables = new Map<string, string>();
  for (const entry of text.split('\0')) {
    const separator = entry.indexOf('=');
    if (separator > 0) variables.set(entry.slice(0, separator), entry.slice(separator + 1));
  }
  return variables;
}

function configFileError(file: string, message: string, cause: unknown, details: Record<string, unknown> = {}) {
  return new SparkMesosError('SM_ERR_CONFIG_FILE', message, { cause, details: { file, ...details } });
}

/**
 * A {@link SparkEnvRunner} that evaluates the script with real bash in a clean environment:
 * `bash -n` first (a syntax error becomes `SM_ERR_CONFIG_FILE` naming file and line), then
 * `env -i <request.env> bash -c 'set -a; . file'`, diffing `env -0` after against before.
 */
export function createSparkEnvRunner(options: SparkEnvRunnerOptions = {}): SparkEnvRunner {
  const bash = options.bash ?? 'bash';
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async ({ file: givenFile, env }) => {
    // `.` searches PATH for a bare name; an absolute path makes it read exactly this file.
    const file = isAbsolute(givenFile) ? givenFile : resolve(givenFile);
    const assignments = Object.entries(env).map(([name, value]) => `${name}=${value}`);
    const started = async (args: readonly string[]): Promise<RunResult> => {
      try {
        return await run('env', ['-i', ...assignments, bash, ...args], timeoutMs);
      } catch (error) {
        throw configFileError(
          file,
          `${file}: cannot run bash to evaluate it (${(error as Error).message}); install bash or put it on PATH`,
          error,
        );
      }
    };
    const check = await started(['-n', file]);
    if (check.code !== 0) {
      const stderr = redactUrlCredentials(check.stderr.trim());
      const located = /^(?:.*?): line (\d+): (.*)$/m.exec(stderr);
      const where = located === null ? file : `${file}:${located[1]}`;
      const what = located === null ? stderr : located[2];
      throw configFileError(
        file,
        `${where}: bash reports a syntax error: ${truncateBody(what ?? '', 500)}; fix the script (bash -n ${file} shows the same)`,
        { file, stderr },
        located === null ? {} : { line: Number(located[1]) },
      );
    }
    const result = await started(['-c', script, 'spark-env.sh', file]);
    const stderr = truncateBody(redactUrlCredentials(result.stderr.trim()), 2000);
    if (result.timedOut) {
      throw configFileError(
        file,
        `${file} did not finish within ${timeoutMs} ms; remove what blocks (reads from stdin, long commands)`,
        { file, stderr },
      );
    }
    if (result.code !== 0) {
      const status = result.code === null ? `signal ${result.signal}` : `status ${result.code}`;
      throw configFileError(
        file,
        `${file} exited with ${status} while being sourced${stderr === '' ? '' : `: ${stderr}`}; fix the failing command or remove the exit`,
        { file, stderr, code: result.code },
      );
    }
    const output = result.stdout.toString('utf8');
    const split = output.indexOf(`\0${boundary}\0`);
    const after = split < 0 ? undefined : output.slice(split + boundary.length + 2);
    if (after === undefined || after === '') {
      throw configFileError(
        file,
        `${file} exited before it finished being sourced (an exit 0 in the script?); remove the exit`,
        { file, stderr },
      );
    }
    const before = parseEnvironment(output.slice(0, split));
    const changed: Record<string, string> = {};
    for (const [name, value] of parseEnvironment(after)) {
      if (shellVariables.has(name) || !namePattern.test(name) || before.get(name) === value) continue;
      changed[name] = value;
    }
    return changed;
  };
}

/** The default {@link SparkEnvRunner}: {@link createSparkEnvRunner} with default options. */
export const runSparkEnvScript: SparkEnvRunner = createSparkEnvRunner();
