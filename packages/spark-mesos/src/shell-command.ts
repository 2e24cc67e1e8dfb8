// `spark-mesos shell`: a Node REPL with a SparkContext `sc` ready, as spark-shell.
import { type REPLEval, start } from 'node:repl';
import { EXIT_CODES, exitCodeOf, formatError, usageError } from './cli-errors.js';
import { SparkConf, SparkContext } from './index.js';
import { createProgressLine, type ProgressStream } from './progress-line.js';
import { parseSubmitArguments } from './submit-arguments.js';
import { loadSubmitConf, registerSubmitConf } from './submit-conf.js';

const COMMAND = 'spark-mesos shell';

/** The text of `spark-mesos shell --help`. */
export const SHELL_USAGE = `Usage: spark-mesos shell [options]

A Node REPL with a SparkContext ready as \`sc\` (and SparkConf, SparkContext), as spark-shell.
Actions return promises; the shell awaits a promise an input evaluates to, so
sc.parallelize([1, 2, 3]).count() prints 3. .exit (or end of input) stops the context.

Options: as spark-mesos submit (--master, --conf, --properties-file, --name,
--executor-memory, --total-executor-cores, --deploy-mode client, --verbose); the default
master is spark.master from those sources, else $MASTER, else local[*], and the default name
"spark-mesos shell". SPARK_EXECUTOR_URI sets spark.executor.uri, as for spark-shell.

Exit codes: 0 after .exit; 2 bad usage; 3 bad configuration; 4 the master could not be
reached; 1 the context could not start for another reason.
`;

/** Where the shell reads and writes; the bin passes the process's own. */
export interface ShellIo {
  readonly input?: NodeJS.ReadableStream;
  readonly output?: NodeJS.WritableStream;
  readonly stderr?: ProgressStream;
}

/** Runs `spark-mesos shell` with `args`; resolves with the exit code when the shell ends. */
export async function runShellCommand(args: readonly string[], io: ShellIo = {}): Promise<number> {
  const input = io.input ?? process.stdin;
  const output = io.output ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let verbose = args.includes('--verbose');
  let sc: SparkContext;
  try {
    const parsed = parseSubmitArguments(args, COMMAND);
    verbose = parsed.verbose;
    if (parsed.help) {
      output.write(SHELL_USAGE);
      return EXIT_CODES.ok;
    }
    if (parsed.app !== undefined) {
      throw usageError(
        COMMAND,
        `unexpected argument ${JSON.stringify(parsed.app)} (to run a program, use spark-mesos submit)`,
      );
    }
    const submit = await loadSubmitConf(parsed, { command: COMMAND, defaultAppName: 'spark-mesos shell' });
    registerSubmitConf(submit);
    sc = await SparkContext.create(submit.conf);
  } catch (error) {
    stderr.write(formatError(error, { command: COMMAND, verbose }));
    return exitCodeOf(error);
  }

  const progress = createProgressLine(stderr);
  sc.onStageProgress((stage) => progress.update(stage));
  output.write(
    `Spark context available as 'sc' (master = ${sc.conf.get('spark.master')}, app id = ${sc.applicationId}).\n`,
  );
  const terminal = (output as { isTTY?: boolean }).isTTY === true;
  const server = start({ prompt: 'spark-mesos> ', input, output, terminal, useGlobal: true });
  Object.assign(server.context, { sc, SparkConf, SparkContext });

  // Inputs are evaluated one after the other, each promise awaited, so piped lines answer in
  // order; the queue is drained before the context stops.
  let queue: Promise<void> = Promise.resolve();
  const evaluate = server.eval;
  const awaitingEval: REPLEval = function (this: unknown, code, context, file, callback) {
    queue = queue.then(
      () =>
        new Promise<void>((done) => {
          evaluate.call(this as never, code, context, file, (error, result) => {
            const thenable = error === null && typeof (result as { then?: unknown } | null)?.then === 'function';
            if (!thenable) {
              callback(error, result);
              done();
              return;
            }
            Promise.resolve(result as Promise<unknown>)
              .then(
                (value) => {
                  progress.clear();
                  callback(null, value);
                },
                (reason: unknown) => {
                  progress.clear();
                  callback(reason instanceof Error ? reason : new Error(String(reason)), undefined);
                },
              )
              .finally(done);
          });
        }),
    );
  };
  (server as unknown as { eval: REPLEval }).eval = awaitingEval;

  return new Promise<number>((resolve) => {
    server.on('exit', () => {
      void (async () => {
        await queue;
        progress.clear();
        await sc.stop().catch((error: unknown) => {
          stderr.write(formatError(error, { command: COMMAND, verbose }));
        });
        resolve(EXIT_CODES.ok);
      })();
    });
  });
}
