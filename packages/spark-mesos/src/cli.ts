#!/usr/bin/env node
// The `spark-mesos` command: submit, shell, local-cluster, upload, doctor.
// Each command is imported when it runs: the uploader (with its S3 client) and the driver engine
// are not loaded for --help, --version or another command.
import { readFileSync } from 'node:fs';
import { EXIT_CODES, exitCodeOf, formatError, usageError } from './cli-errors.js';

const USAGE = `Usage: spark-mesos <command> [options]

Commands:
  submit [options] app.js [args]   run a driver program (client mode), as spark-submit
  shell [options]                  a Node REPL with a SparkContext \`sc\`, as spark-shell
  local-cluster [options]          start a local Mesos cluster and print its master URL
  upload [options] <destination>   pack the executor package and host it for the agents
  doctor [options]                 check the master, agents, executor fit, executor package
                                   and driver address a submit would meet

Run spark-mesos <command> --help for a command's options.
  --version                        print the version
  -h, --help                       this text

Exit codes: 0 done; 1 failed (submit: the program's own exit code); 2 bad usage; 3 bad
configuration; 4 the master or cluster could not be reached or started; 130/143 interrupted.
`;

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'submit':
    // It owns the process from here: the program's exit code is the command's.
    await (await import('./submit-command.js')).runSubmitCommand(rest);
    break;
  case 'shell':
    process.exitCode = await (await import('./shell-command.js')).runShellCommand(rest);
    // The REPL leaves stdin paused but open; nothing else is left to do.
    process.exit();
    break;
  case 'local-cluster':
    process.exitCode = await (await import('./local-cluster-command.js')).runLocalClusterCommand(rest);
    break;
  case 'upload':
    {
      const [{ runUploadCommand }, { executorRuntimeDirectory }] = await Promise.all([
        import('@spark-mesos/artifact-uploader'),
        import('@spark-mesos/executor/runtime'),
      ]);
      // Pack the runtime of the executor this CLI ships with when --runtime is not given.
      process.exitCode = await runUploadCommand(rest, { defaultRuntimeDirectory: executorRuntimeDirectory });
    }
    break;
  case 'doctor':
    process.exitCode = await (await import('./doctor-command.js')).runDoctorCommand(rest);
    break;
  case '--version':
  case '-V':
    process.stdout.write(`${version()}\n`);
    break;
  case undefined:
  case '--help':
  case '-h':
  case 'help':
    process.stdout.write(USAGE);
    if (command === undefined) process.exitCode = EXIT_CODES.usage;
    break;
  default: {
    const error = usageError(
      'spark-mesos',
      `unknown command ${JSON.stringify(command)}: use submit, shell, local-cluster, upload or doctor`,
    );
    process.stderr.write(formatError(error, { command: 'spark-mesos' }));
    process.exitCode = exitCodeOf(error);
  }
}
