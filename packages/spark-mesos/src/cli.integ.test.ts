// The `spark-mesos` command as a user runs it: the built dist/cli.js in a process of its own.
// `npm test` builds before testing; run `pnpm build` first when running this file alone.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSchedulerClient, type SchedulerEvent } from '@spark-mesos/mesos-client';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));
const confApp = fileURLToPath(new URL('./__fixtures__/conf-app.mjs', import.meta.url));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the command to its end; the environment is the test's without SPARK_* and MASTER. */
function cli(
  args: string[],
  options: { env?: Record<string, string>; input?: string; cwd?: string } = {},
): Promise<Result> {
  expect(existsSync(CLI), `${CLI} is missing: build spark-mesos first (pnpm build)`).toBe(true);
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  for (const name of Object.keys(env)) {
    if ((name.startsWith('SPARK_') || name === 'MASTER') && options.env?.[name] === undefined) delete env[name];
  }
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env, timeout: 60_000, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'spark-mesos-cli-'));
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

describe('spark-mesos submit', () => {
  it('runs examples/pi without --master (local[*]) and prints the answer', async () => {
    const { code, stdout, stderr } = await cli(['submit', join(examples, 'pi/pi.mjs'), '2']);
    expect(code, stderr).toBe(0);
    const match = /^Pi is roughly (\d\.\d+)$/m.exec(stdout);
    expect(match, stdout).not.toBeNull();
    expect(Math.abs(Number(match![1]) - Math.PI)).toBeLessThan(0.1);
    expect(stderr).toBe('');
  });

  it('runs examples/word-count with its arguments on --master local[2]', async () => {
    const input = join(examples, 'word-count/input.txt');
    const { code, stdout, stderr } = await cli([
      'submit',
      '--master',
      'local[2]',
      join(examples, 'word-count/word-count.mjs'),
      input,
      '3',
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^\d+ words, \d+ distinct; the 3 most frequent:$/m);
    expect(stdout).toMatch(/^\s+\d+ {2}the$/m);
  });

  it('puts --conf and the options over the properties file and the environment, and code over them all', async () => {
    const directory = temporaryDirectory();
    const properties = join(directory, 'app.conf');
    writeFileSync(
      properties,
      'spark.cores.max 2\nspark.executor.memory 1g\nspark.app.name from-file\nspark.executor.uri http://file/exec.tgz\nspark.default.parallelism 7\n',
    );
    const { code, stdout, stderr } = await cli(
      [
        'submit',
        '--properties-file',
        properties,
        '--conf',
        'spark.cores.max=4',
        '--conf',
        'spark.executor.memory=2g',
        '--executor-memory',
        '3g',
        '--conf',
        'spark.default.parallelism=3',
        '--master',
        'local[2]',
        confApp,
        '0',
        '--not-an-option-of-submit',
      ],
      { env: { SPARK_EXECUTOR_URI: 'http://env/exec.tgz' } },
    );
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as {
      argv: string[];
      explain: Record<
        string,
        { value: string; source: string; origin?: string; overridden: Array<{ source: string; value: string }> }
      >;
      count: number;
    };
    expect(report.argv).toEqual([confApp, '0', '--not-an-option-of-submit']);
    expect(report.count).toBe(3);
    const { explain } = report;
    expect(explain['spark.master']).toMatchObject({ value: 'local[2]', source: 'command-line', origin: '--master' });
    expect(explain['spark.cores.max']).toMatchObject({
      value: '4',
      source: 'command-line',
      origin: '--conf #1',
      overridden: [{ source: 'properties-file', value: '2' }],
    });
    // --executor-memory wins over --conf spark.executor.memory, as in spark-submit.
    expect(explain['spark.executor.memory']).toMatchObject({
      value: '3g',
      source: 'command-line',
      origin: '--executor-memory',
    });
    expect(explain['spark.app.name']).toMatchObject({ value: 'from-file', source: 'properties-file' });
    expect(explain['spark.executor.uri']).toMatchObject({
      value: 'http://file/exec.tgz',
      source: 'properties-file',
      overridden: [{ source: 'environment', value: 'http://env/exec.tgz' }],
    });
    expect(explain['spark.default.parallelism']).toMatchObject({
      value: '5',
      source: 'code',
      overridden: [
        { source: 'command-line', value: '3' },
        { source: 'properties-file', value: '7' },
      ],
    });
  });

  it('keeps the program exit code and stops the context it left running', async () => {
    const { code, stdout, stderr } = await cli(['submit', '--verbose', confApp, '7']);
    expect(code, stderr).toBe(7);
    expect(JSON.parse(stdout)).toMatchObject({ count: 3 });
    expect(stderr).toContain('stopping the SparkContext it left running');
    // The default name is the program's file name; the default master local[*].
    expect(JSON.parse(stdout).explain['spark.app.name']).toMatchObject({ value: 'conf-app' });
    expect(JSON.parse(stdout).explain['spark.master']).toMatchObject({ value: 'local[*]' });
  });

  it('ends a program that leaves its local-cluster context running once it is done, with its exit code', async () => {
    const { code, stdout, stderr } = await cli([
      'submit',
      '--verbose',
      '--master',
      'local-cluster[1,1,1024]',
      '--conf',
      'spark.mesos.coarse.shutdownTimeout=3s',
      confApp,
      '5',
    ]);
    expect(code, stderr).toBe(5);
    expect(JSON.parse(stdout)).toMatchObject({ count: 3 });
    expect(stderr).toContain('stopping the SparkContext it left running');
  });

  it('refuses a master URL it cannot parse with one clear line and exit code 3', async () => {
    const { code, stdout, stderr } = await cli(['submit', '--master', 'yarn', confApp]);
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^spark-mesos submit: \[SM_ERR_BAD_MASTER_URL\] .*'yarn'.*mesos:\/\/host:5050/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('ends a program whose master cannot be used with one line naming the code (exit 3 or 4)', async () => {
    // Nothing listens on port 1. Without an executor package that is a configuration error (3);
    // with one the master is unreachable (4). Either way one line, no stack.
    const noPackage = await cli(['submit', '--master', 'mesos://127.0.0.1:1', confApp]);
    expect(noPackage.code).toBe(3);
    expect(noPackage.stderr).toMatch(/^spark-mesos submit: \[SM_ERR_NO_EXECUTOR_SOURCE\] /);
    expect(noPackage.stderr).not.toMatch(/^\s+at /m);
    const unreachable = await cli([
      'submit',
      '--master',
      'mesos://127.0.0.1:1',
      '--conf',
      'spark.mesos.executor.home=/opt/spark-mesos-executor',
      '--conf',
      'spark.mesos.subscribeTimeout=1s',
      confApp,
    ]);
    expect(unreachable.code).toBe(4);
    // The backend logs its retries first; the error is the last line.
    expect(unreachable.stderr.trim().split('\n').at(-1)).toMatch(/^spark-mesos submit: \[SM_ERR_MESOS_UNREACHABLE\] /);
    expect(unreachable.stderr).not.toMatch(/^\s+at /m);
  });

  it('refuses --deploy-mode cluster, a bad --conf and a missing properties file (exit code 3)', async () => {
    const cluster = await cli(['submit', '--deploy-mode', 'cluster', confApp]);
    expect(cluster.code).toBe(3);
    expect(cluster.stderr).toContain('[SM_ERR_UNSUPPORTED_DEPLOY_MODE]');
    expect(cluster.stderr).toContain('MesosClusterDispatcher');
    const badConf = await cli(['submit', '--conf', 'spark.cores.max', confApp]);
    expect(badConf.code).toBe(3);
    expect(badConf.stderr).toContain('[SM_ERR_BAD_CONFIG]');
    expect(badConf.stderr).toContain('has no "="');
    const missingFile = await cli(['submit', '--properties-file', '/nonexistent/app.conf', confApp]);
    expect(missingFile.code).toBe(3);
    expect(missingFile.stderr).toContain('[SM_ERR_CONFIG_FILE] --properties-file /nonexistent/app.conf does not exist');
  });

  it('answers bad usage with exit code 2 and the way to the help', async () => {
    const unknown = await cli(['submit', '--frobnicate', confApp]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'spark-mesos submit: [SM_ERR_USAGE] unknown option "--frobnicate"; run spark-mesos submit --help for usage\n',
    );
    expect((await cli(['submit'])).code).toBe(2);
    expect((await cli(['submit', 'missing-app.js'])).stderr).toContain('does not exist');
    expect((await cli(['launch'])).code).toBe(2);
  });

  it('stops the running context on SIGTERM and exits 143', async () => {
    const directory = temporaryDirectory();
    const app = join(directory, 'serves.mjs');
    writeFileSync(
      app,
      [
        `import { SparkConf, SparkContext } from ${JSON.stringify(fileURLToPath(new URL('../dist/index.js', import.meta.url)))};`,
        'const sc = await SparkContext.create(new SparkConf());',
        "console.log('ready', await sc.parallelize([1, 2]).count());",
        'setInterval(() => {}, 1000);',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [CLI, 'submit', '--master', 'local[1]', app], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready 2')) resolve();
      });
      void exited.then(() => reject(new Error('the program ended before it was ready')));
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
  });

  it('draws a progress line per running stage on a terminal (through script(1), a pseudo-terminal)', async () => {
    const directory = temporaryDirectory();
    const app = join(directory, 'slow.mjs');
    writeFileSync(
      app,
      [
        `import { SparkConf, SparkContext } from ${JSON.stringify(fileURLToPath(new URL('../dist/index.js', import.meta.url)))};`,
        'const sc = await SparkContext.create(new SparkConf());',
        'const busy = (x) => { const end = Date.now() + 150; while (Date.now() < end); return x; };',
        "console.log('count', await sc.parallelize([1, 2, 3, 4], 4).map(busy).count());",
        'await sc.stop();',
        '',
      ].join('\n'),
    );
    const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, CLI, 'submit', '--master', 'local[1]', app].map(quote).join(' ');
    // script(1) is in util-linux (Debian's essential bsdutils): it gives the command a terminal.
    const output = await new Promise<string>((resolve, reject) => {
      execFile('script', ['-qec', command, '/dev/null'], { timeout: 30_000 }, (error, stdout) => {
        if (error !== null) reject(new Error(`script(1) failed (is util-linux installed?): ${error.message}`));
        else resolve(stdout);
      });
    });
    expect(output).toMatch(/\[Stage \d+: [0-3]\/4 tasks \(1 running\)\]/);
    // The line is erased before the program's answer.
    expect(output).toContain('\r\u001b[2Kcount ');
  });

  it('reports an uncaught failure of the program in one line (stack with --verbose), exit code 1', async () => {
    const directory = temporaryDirectory();
    const app = join(directory, 'fails.mjs');
    writeFileSync(app, "throw Object.assign(new Error('the input is gone'), { code: 'SM_ERR_INPUT_NOT_FOUND' });\n");
    const quiet = await cli(['submit', app]);
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).toBe('spark-mesos submit: [SM_ERR_INPUT_NOT_FOUND] the input is gone\n');
    const verbose = await cli(['submit', '--verbose', app]);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/the input is gone\n\s+at .*fails\.mjs/);
  });
});

describe('spark-mesos shell', () => {
  it('evaluates lines from stdin with sc ready, awaits actions, honours SPARK_EXECUTOR_URI, stops on .exit', async () => {
    const { code, stdout, stderr } = await cli(['shell', '--master', 'local[2]'], {
      input:
        'sc.parallelize([1,2,3]).count()\nsc.conf.get("spark.executor.uri")\nnew SparkConf().get("spark.master")\n.exit\n',
      env: { SPARK_EXECUTOR_URI: 'http://repo/spark-mesos-executor.tgz' },
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("Spark context available as 'sc' (master = local[2]");
    const answers = stdout
      .split('spark-mesos> ')
      .slice(1)
      .map((answer) => answer.trim());
    expect(answers.slice(0, 3)).toEqual(['3', "'http://repo/spark-mesos-executor.tgz'", "'local[2]'"]);
  });
});

describe('spark-mesos local-cluster', () => {
  it('prints a master URL a scheduler can subscribe to, and stops on SIGTERM', async () => {
    expect(existsSync(CLI), `${CLI} is missing: build spark-mesos first (pnpm build)`).toBe(true);
    const workDir = temporaryDirectory();
    const child: ChildProcess = spawn(
      process.execPath,
      [
        CLI,
        'local-cluster',
        '--agents',
        '2',
        '--resources',
        'cpus:2;mem:512',
        '--work-dir',
        workDir,
        '--allocation-interval-ms',
        '50',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const masterUrl = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
      });
      void exited.then(() => reject(new Error(`local-cluster exited before printing its URL: ${stderr}`)));
    });
    expect(masterUrl).toMatch(/^mesos:\/\/127\.0\.0\.1:\d+$/);

    const scheduler = createSchedulerClient({
      master: masterUrl,
      encoding: 'json',
      reconcile: { enabled: false },
      frameworkInfo: { user: userInfo().username, name: 'spark-mesos local-cluster test' },
    });
    const events: SchedulerEvent[] = [];
    scheduler.on('event', (event) => {
      events.push(event);
    });
    try {
      await scheduler.start();
      const deadline = Date.now() + 10_000;
      const agentsOffered = (): number =>
        new Set(
          events
            .flatMap((event) => (event.type === 'OFFERS' ? (event.offers?.offers ?? []) : []))
            .map((offer) => offer.agent_id.value),
        ).size;
      while ((!events.some((event) => event.type === 'SUBSCRIBED') || agentsOffered() < 2) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(events.some((event) => event.type === 'SUBSCRIBED')).toBe(true);
      expect(agentsOffered()).toBe(2);
    } finally {
      await scheduler.teardown().catch(() => {});
      await scheduler.close();
    }
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(stderr).toContain('2 agent(s)');
  });
});

describe('spark-mesos upload, --help and --version', () => {
  it('upload delegates to the uploader: a file:// destination gets the package, its URI on stdout', async () => {
    const directory = temporaryDirectory();
    const file = join(directory, 'package.tgz');
    writeFileSync(file, Buffer.from('1f8b0800000000000003030000000000000000', 'hex'));
    const destination = join(directory, 'store');
    const { code, stdout, stderr } = await cli(['upload', '--quiet', '--file', file, `file://${destination}/`]);
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toBe(`file://${destination}/package.tgz`);
    expect(readdirSync(destination)).toEqual(['package.tgz']);
    expect((await cli(['upload'])).code).toBe(2);
  });

  it('prints help for the command and each subcommand, and the version', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^Usage: spark-mesos <command>/);
    expect(top.stdout).toMatch(/^ {2}doctor \[options\] /m);
    for (const [command, heading] of [
      ['submit', 'Usage: spark-mesos submit'],
      ['shell', 'Usage: spark-mesos shell'],
      ['local-cluster', 'Usage: spark-mesos local-cluster'],
      ['upload', 'Usage: spark-mesos-upload'],
      ['doctor', 'Usage: spark-mesos doctor'],
    ] as const) {
      const help = await cli([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toContain(heading);
    }
    expect((await cli(['local-cluster', '--help'])).stdout).toContain('--agents N');
    expect((await cli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});
