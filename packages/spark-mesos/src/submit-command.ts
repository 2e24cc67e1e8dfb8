// `spark-mesos submit`: runs a driver program in this process, as spark-submit does in client
// mode, with the command line's configuration registered so the program's `new SparkConf()`
// starts from it (see submit-conf.ts).
import { realpathSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { onSparkContextStarted, type SparkContext } from '@spark-mesos/core';
import { EXIT_CODES, exitCodeOf, formatError, usageError } from './cli-errors.js';
import { createProgressLine, type ProgressStream } from './progress-line.js';
import { parseSubmitArguments } from './submit-arguments.js';
import { loadSubmitConf, registerSubmitConf } from './submit-conf.js';

const COMMAND = 'spark-mesos submit';

/** The text of `spark-mesos submit --help`. */
export const SUBMIT_USAGE = `Usage: spark-mesos submit [options] <app.js> [app arguments]

Runs a driver program (an ES module or CommonJS file) in this process, in client mode, as
spark-submit does. The options reach the program's new SparkConf() in the command-line layer:
precedence is code > --conf and the options below > properties file > environment > defaults
(conf.explain(key) tells which won). process.argv in the program is [node, app.js, ...args].

Options:
  --master URL                 spark.master: local, local[N], local[*], mesos://host:5050,
                               mesos://zk://host:2181/mesos, local-cluster[A,C,M]
                               (default: spark.master from the sources below, else $MASTER,
                               else local[*])
  --conf key=value             any Spark property; repeatable
  --properties-file FILE       read instead of spark-defaults.conf (from SPARK_CONF_DIR or
                               SPARK_HOME/conf)
  --name NAME                  spark.app.name (default: the program's file name)
  --executor-memory MEM        spark.executor.memory, e.g. 2g
  --total-executor-cores N     spark.cores.max
  --deploy-mode client         where the driver runs; only client (cluster needs a
                               MesosClusterDispatcher, which spark-mesos has not)
  --verbose                    stacks with errors, the effective configuration on stderr
  -h, --help                   this text

A SparkContext the program leaves running is stopped when the program is done. On a terminal
a progress line shows each running stage (tasks done/total, failed attempts).

Exit codes: the program's own (0 when it ends normally, 1 on an uncaught error); 2 bad usage;
3 bad configuration (--conf, properties file, master URL, deploy mode); 4 the master could not
be reached or refused the framework; 130/143 interrupted by SIGINT/SIGTERM.
`;

/** Where the command writes; the bin passes the process's own. */
export interface SubmitIo {
  /** The program's stdout is the process's; this receives the help. @default process.stdout */
  readonly stdout?: { write(text: string): unknown };
  /** Errors, warnings and the progress line. @default process.stderr */
  readonly stderr?: ProgressStream;
}

/**
 * Runs `spark-mesos submit` with `args` in this process. It owns the process from then on: the
 * program's exit code becomes the process's, signals stop the program's contexts, and an
 * error before the program starts ends the process with its exit code. Resolves once the
 * program's module has been evaluated (the program may still be running).
 */
export async function runSubmitCommand(args: readonly string[], io: SubmitIo = {}): Promise<void> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let verbose = args.includes('--verbose');
  const fail = (error: unknown): never => {
    stderr.write(formatError(error, { command: COMMAND, verbose }));
    process.exit(exitCodeOf(error));
  };

  let appPath: string;
  let parsed: ReturnType<typeof parseSubmitArguments>;
  try {
    parsed = parseSubmitArguments(args, COMMAND);
    verbose = parsed.verbose;
    if (parsed.help) {
      stdout.write(SUBMIT_USAGE);
      return;
    }
    if (parsed.app === undefined) throw usageError(COMMAND, 'give the application file to run, e.g. app.js');
    appPath = resolve(parsed.app);
    if (!statSync(appPath, { throwIfNoEntry: false })?.isFile()) {
      throw usageError(COMMAND, `the application file ${parsed.app} does not exist (looked at ${appPath})`);
    }
    // The module's import.meta.url names the real file; process.argv[1] must match it so a
    // program's "am I the main module" check holds, as under plain node.
    appPath = realpathSync(appPath);
  } catch (error) {
    return fail(error);
  }

  try {
    const submit = await loadSubmitConf(parsed, {
      command: COMMAND,
      defaultAppName: basename(appPath, extname(appPath)),
    });
    registerSubmitConf(submit);
    if (verbose) {
      stderr.write(`${COMMAND}: running ${appPath} on ${submit.conf.get('spark.master')}\n`);
      stderr.write(`${submit.conf.toDebugString()}\n`);
    }
  } catch (error) {
    return fail(error);
  }

  const contexts = new Set<SparkContext>();
  const progress = createProgressLine(stderr);
  onSparkContextStarted((context) => {
    contexts.add(context);
    context.onStageProgress((stage) => progress.update(stage));
  });
  const live = (): SparkContext[] => [...contexts].filter((context) => !context.isStopped);
  const stopAll = async (): Promise<void> => {
    progress.clear();
    await Promise.allSettled(live().map((context) => context.stop()));
  };

  let ending = false;
  const end = (code: number): void => {
    if (ending) return;
    ending = true;
    // A context that will not stop must not hold the exit forever.
    setTimeout(() => process.exit(code), 10_000).unref();
    void stopAll().finally(() => process.exit(code));
  };
  process.on('uncaughtException', (error) => {
    progress.clear();
    stderr.write(formatError(error, { command: COMMAND, verbose }));
    end(Math.max(exitCodeOf(error), EXIT_CODES.failed));
  });
  process.on('unhandledRejection', (reason) => {
    progress.clear();
    stderr.write(formatError(reason, { command: COMMAND, verbose }));
    end(Math.max(exitCodeOf(reason), EXIT_CODES.failed));
  });
  process.once('SIGINT', () => end(EXIT_CODES.interrupted));
  process.once('SIGTERM', () => end(EXIT_CODES.terminated));
  // The program is done when nothing keeps the process alive: a context holds nothing between
  // jobs, so beforeExit comes, as a JVM ends with its last non-daemon thread and Spark's shutdown
  // hook stops the context. (Each context also stops itself there; this says so, and clears the
  // progress line first.)
  process.on('beforeExit', () => {
    if (live().length === 0) return;
    if (verbose) stderr.write(`${COMMAND}: the program is done; stopping the SparkContext it left running\n`);
    void stopAll();
  });

  process.argv = [process.argv[0] ?? process.execPath, appPath, ...parsed.appArgs];
  try {
    await import(pathToFileURL(appPath).href);
  } catch (error) {
    progress.clear();
    stderr.write(formatError(error, { command: COMMAND, verbose }));
    end(Math.max(exitCodeOf(error), EXIT_CODES.failed));
  }
}
