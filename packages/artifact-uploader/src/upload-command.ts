// The `spark-mesos-upload` command (and `spark-mesos upload`, which the driver wires to this
// same function): pack the executor package and host it. The URI goes to stdout, alone, for
// scripts; everything meant for people goes to stderr.
import { parseArgs } from 'node:util';
import { isSparkMesosError, redactUrlCredentials, SparkMesosError } from '@spark-mesos/errors';
import { packExecutor } from './pack-executor.js';
import type { ProgressStream } from './progress.js';
import { ensureExecutorPackage, type UploadEvent, type UploadOptions, uploadArtifact } from './upload.js';

/** The command's help text. */
export const UPLOAD_USAGE = `Usage: spark-mesos-upload [options] <destination>

Packs the executor package (the executor runtime, your application and its production
dependencies) and uploads it where every Mesos agent can fetch it. Prints the URI to use as
spark.executor.uri on stdout. The name is content-addressed (spark-mesos-executor-<sha>.tgz):
re-running with unchanged inputs uploads nothing.

<destination>   a prefix ending in "/": file:///shared/dir/, http(s)://host/dav/path/,
                s3a://bucket/path/ (also s3://, s3n://), hdfs://namenode:8020/path/ (also
                webhdfs://, swebhdfs://), or an absolute directory; with --file, also the full
                URI of the object.

Options:
  --runtime <dir>    the executor runtime directory
                     (default: executorRuntimeDirectory() of @spark-mesos/executor, if installed)
  --app <dir>        the application directory (holds package.json)
  --entry <path>     the application's entry module (default: package.json "main", else index.js)
  --bundle-node      include this machine's Node binary as node/bin/node
  --output <dir>     where the .tgz is written (default: $TMPDIR/spark-mesos-packages)
  --file <tgz>       upload this file instead of packing
  --pack-only        pack and print the file's path; no destination, no upload
  --user <name>      HTTP basic-auth user; the password is read from $SPARK_MESOS_UPLOAD_PASSWORD
  --retries <n>      retries on 5xx answers and network errors (default: 4)
  --conf <key=value> a Spark setting for the store, repeatable: spark.hadoop.fs.s3a.endpoint,
                     .access.key, .secret.key, .path.style.access; spark.hadoop.dfs.namenode.http-address,
                     spark.hadoop.hadoop.user.name (AWS_* and HADOOP_USER_NAME are read too)
  --quiet            no progress bar and no log on stderr
  -h, --help         this text

Environment:
  SPARK_MESOS_UPLOAD_PASSWORD   password for --user (never on the command line)
  SPARK_MESOS_UPLOAD_TOKEN      HTTP bearer token

Exit codes: 0 done; 1 the upload failed; 2 bad usage or configuration; 3 the package is not
fetchable the way agents fetch it; 4 packing failed.
`;

/** Exit codes of the command. */
export const UPLOAD_EXIT_CODES = {
  ok: 0,
  uploadFailed: 1,
  usage: 2,
  unreachable: 3,
  packFailed: 4,
} as const;

/** Where the command reads and writes; the bin passes the process's own. */
export interface UploadCommandIo {
  /** Receives the URI (or the packed file with --pack-only). @default process.stdout */
  readonly stdout?: { write(text: string): unknown };
  /** Receives logs, errors and the progress bar. @default process.stderr */
  readonly stderr?: ProgressStream;
  /** Reads the environment. @default (name) => process.env[name] */
  readonly env?: (name: string) => string | undefined;
  /** Extra upload options (dispatcher, sleep, stores), for tests and the driver. @default {} */
  readonly uploadOptions?: UploadOptions;
  /**
   * The executor runtime directory used when `--runtime` is not given. The `spark-mesos` CLI
   * passes `executorRuntimeDirectory` of the executor it depends on; this package does not
   * depend on the executor, so on its own it can only try to import one.
   * @default an import of `@spark-mesos/executor/runtime`, when resolvable
   */
  readonly defaultRuntimeDirectory?: () => string | undefined;
}

function usageError(message: string): SparkMesosError {
  return new SparkMesosError('SM_ERR_BAD_CONFIG', `${message} Run spark-mesos-upload --help for usage.`, {
    cause: null,
  });
}

/** The runtime directory of an installed @spark-mesos/executor, when there is one. */
async function installedRuntimeDirectory(): Promise<string | undefined> {
  // A variable specifier: the executor package is optional here and not a dependency.
  const specifier = '@spark-mesos/executor/runtime';
  try {
    const module = (await import(specifier)) as { executorRuntimeDirectory?: () => string };
    return module.executorRuntimeDirectory?.();
  } catch {
    return undefined;
  }
}

function exitCodeOf(error: unknown): number {
  if (!isSparkMesosError(error)) return UPLOAD_EXIT_CODES.uploadFailed;
  switch (error.code) {
    case 'SM_ERR_BAD_CONFIG':
      return UPLOAD_EXIT_CODES.usage;
    case 'SM_ERR_ARTIFACT_UNREACHABLE':
      return UPLOAD_EXIT_CODES.unreachable;
    case 'SM_ERR_PACK':
      return UPLOAD_EXIT_CODES.packFailed;
    default:
      return UPLOAD_EXIT_CODES.uploadFailed;
  }
}

function describe(event: UploadEvent): string {
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  switch (event.type) {
    case 'packed':
      return `packed ${event.file} (${mib(event.size)})`;
    case 'present':
      return `already there: ${redactUrlCredentials(event.uri)} (nothing uploaded)`;
    case 'replacing':
      return `replacing ${redactUrlCredentials(event.uri)}: it holds ${event.storedSize} bytes, not ${event.size}`;
    case 'uploading':
      return `uploading ${mib(event.size)} to ${redactUrlCredentials(event.uri)}`;
    case 'uploaded':
      return `uploaded in ${(event.milliseconds / 1000).toFixed(1)} s`;
    case 'retrying':
      return `retrying ${event.what} (attempt ${event.attempt} failed): ${event.message}`;
  }
}

/**
 * Runs `spark-mesos-upload` with `args` (without the node and script paths) and returns the
 * exit code; never throws and never exits the process.
 */
export async function runUploadCommand(args: readonly string[], io: UploadCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? ((name: string) => process.env[name]);
  try {
    const { values, positionals } = (() => {
      try {
        return parseArgs({
          args: [...args],
          allowPositionals: true,
          options: {
            runtime: { type: 'string' },
            app: { type: 'string' },
            entry: { type: 'string' },
            'bundle-node': { type: 'boolean' },
            output: { type: 'string' },
            file: { type: 'string' },
            'pack-only': { type: 'boolean' },
            user: { type: 'string' },
            retries: { type: 'string' },
            conf: { type: 'string', multiple: true },
            quiet: { type: 'boolean' },
            help: { type: 'boolean', short: 'h' },
          },
        });
      } catch (cause) {
        throw usageError(`${(cause as Error).message}.`);
      }
    })();
    if (values.help === true) {
      stdout.write(UPLOAD_USAGE);
      return UPLOAD_EXIT_CODES.ok;
    }
    const packOnly = values['pack-only'] === true;
    if (positionals.length > 1) throw usageError(`Give one destination, not ${positionals.length}.`);
    const destination = positionals[0];
    if (destination === undefined && !packOnly)
      throw usageError('Missing <destination> (e.g. http://host/dav/spark/).');
    if (packOnly && values.file !== undefined) throw usageError('--pack-only and --file exclude each other.');
    let retries: number | undefined;
    if (values.retries !== undefined) {
      retries = Number(values.retries);
      if (!Number.isInteger(retries) || retries < 0)
        throw usageError(`--retries must be a whole number >= 0, not "${values.retries}".`);
    }
    const settings = new Map<string, string>();
    for (const entry of values.conf ?? []) {
      const at = entry.indexOf('=');
      if (at <= 0) throw usageError(`--conf takes key=value, not "${entry}".`);
      settings.set(entry.slice(0, at).trim(), entry.slice(at + 1).trim());
    }
    const quiet = values.quiet === true;
    const password = env('SPARK_MESOS_UPLOAD_PASSWORD');
    const token = env('SPARK_MESOS_UPLOAD_TOKEN');
    if (values.user !== undefined && password === undefined) {
      throw usageError('--user needs the password in $SPARK_MESOS_UPLOAD_PASSWORD (never on the command line).');
    }
    const credentials =
      token !== undefined ? { token } : values.user !== undefined ? { username: values.user, password } : undefined;
    const options: UploadOptions = {
      conf: (key) => settings.get(key),
      env,
      ...io.uploadOptions,
      ...(credentials === undefined ? {} : { credentials }),
      ...(retries === undefined ? {} : { retries }),
      progress: quiet ? false : stderr,
      ...(quiet ? {} : { onEvent: (event: UploadEvent) => stderr.write(`spark-mesos-upload: ${describe(event)}\n`) }),
    };

    if (values.file !== undefined) {
      const result = await uploadArtifact(values.file, destination as string, options);
      stdout.write(`${result.uri}\n`);
      return UPLOAD_EXIT_CODES.ok;
    }
    const runtimeDirectory = values.runtime ?? io.defaultRuntimeDirectory?.() ?? (await installedRuntimeDirectory());
    if (runtimeDirectory === undefined) {
      throw usageError(
        'No executor runtime: pass --runtime <dir>, or install @spark-mesos/executor next to this package.',
      );
    }
    const packOptions = {
      runtimeDirectory,
      ...(values.app === undefined
        ? {}
        : { application: { directory: values.app, ...(values.entry === undefined ? {} : { entry: values.entry }) } }),
      ...(values['bundle-node'] === true ? { bundleNode: true } : {}),
      ...(values.output === undefined ? {} : { outputDirectory: values.output }),
    };
    if (values.entry !== undefined && values.app === undefined) throw usageError('--entry needs --app.');
    if (packOnly) {
      const packed = await packExecutor(packOptions);
      stdout.write(`${packed.file}\n`);
      return UPLOAD_EXIT_CODES.ok;
    }
    const result = await ensureExecutorPackage({ ...packOptions, ...options, destination: destination as string });
    stdout.write(`${result.uri}\n`);
    return UPLOAD_EXIT_CODES.ok;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    stderr.write(`spark-mesos-upload: ${redactUrlCredentials(message)}\n`);
    return exitCodeOf(error);
  }
}
