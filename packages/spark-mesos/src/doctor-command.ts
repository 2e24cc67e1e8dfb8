// `spark-mesos doctor`: checks what a `submit` with the same options would meet on the cluster —
// the master, its agents, whether executors fit their free resources (the offer matcher's own
// reasons), the executor package and the driver's address — and says the fix for each problem.
import { lookup } from 'node:dns/promises';
import { statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { resolveMesosCredentials, type SparkConf } from '@spark-mesos/config';
import { isSparkMesosError } from '@spark-mesos/errors';
import { createMasterDetector, formatMasterUrl, type MesosMasterUrl } from '@spark-mesos/master-url';
import {
  type Attribute,
  createOperatorClient,
  type MasterState,
  type MasterStateAgent,
  type MesosAuthorization,
  type Offer,
  type Resource,
  type ValueRange,
} from '@spark-mesos/mesos-client';
import {
  type Demand,
  type OfferMatcherSettings,
  offerMatcherSettingsFrom,
  planOffers,
  resolveOfferMatcherSettings,
  subtractRanges,
} from '@spark-mesos/offer-matcher';
import { EXIT_CODES, exitCodeOf, formatError, usageError } from './cli-errors.js';
import { parseSubmitArguments } from './submit-arguments.js';
import { loadSubmitConf } from './submit-conf.js';

const COMMAND = 'spark-mesos doctor';

/** The text of `spark-mesos doctor --help`. */
export const DOCTOR_USAGE = `Usage: spark-mesos doctor [options]

Checks what spark-mesos submit with the same options would meet, one line each (ok, warn,
FAIL) with the numbers and the fix: the master (the leader, for mesos://zk://…), the active
agents and their resources, whether executors fit what each agent has free (the offer
matcher's own decisions and reasons), the executor package (spark.executor.uri is fetched as
the agents fetch it) and the address executors dial back (spark.driver.host).

Options:
  --master URL                 spark.master (default: as submit: the sources below, $MASTER,
                               else local[*], for which there is nothing to check)
  --conf key=value             any Spark property; repeatable
  --properties-file FILE       read instead of spark-defaults.conf
  --executor-memory MEM        spark.executor.memory
  --total-executor-cores N     spark.cores.max
  --json                       print the checks as one JSON document
  --verbose                    stacks with errors
  -h, --help                   this text

Exit codes: 0 nothing failed (warnings allowed); 1 a check failed; 2 bad usage; 3 bad
configuration; 4 the master could not be reached.
`;

/** How a check or one of its lines came out. */
export type DoctorStatus = 'ok' | 'warn' | 'FAIL' | 'skip';

/** One line of a check: an agent, a decision, a note. */
export interface DoctorLine {
  /** How this line came out. */
  readonly status: DoctorStatus;
  /** The line, with its numbers and, when not ok, the fix. */
  readonly text: string;
}

/** One check of `spark-mesos doctor`. */
export interface DoctorCheck {
  /** Stable name: `master`, `agents`, `executors`, `executor-package`, `driver-address`. */
  readonly name: 'master' | 'agents' | 'executors' | 'executor-package' | 'driver-address';
  /** The worst status of its lines (or its own, when it has none). */
  readonly status: DoctorStatus;
  /** One sentence: what was found, or what is wrong and the fix. */
  readonly summary: string;
  /** Per agent or per decision. @default [] */
  readonly lines: readonly DoctorLine[];
}

/** What `spark-mesos doctor --json` prints. */
export interface DoctorReport {
  /** `spark.master`, a ZooKeeper password masked. */
  readonly master: string;
  /** The checks, in the order run. */
  readonly checks: readonly DoctorCheck[];
  /** The command's exit code (see {@link DOCTOR_USAGE}). */
  readonly exitCode: number;
}

/** Where the command writes, and what it reads from outside. */
export interface DoctorIo {
  /** The report. @default process.stdout */
  readonly stdout?: { write(text: string): unknown };
  /** Errors and configuration warnings. @default process.stderr */
  readonly stderr?: { write(text: string): unknown };
  /** The environment the configuration is read from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Timeout of each request (master, agents' state, executor URI), in ms. @default 10000 */
  readonly timeoutMs?: number;
}

/** How many fine-grained tasks the fit check places (the fine backend's default parallelism). */
const FINE_GRAINED_PROBE_TASKS = 8;

/**
 * Runs `spark-mesos doctor` with `args` (those after `doctor`) and resolves with its exit code:
 * 0 nothing failed, 1 a check failed, 2 bad usage, 3 bad configuration, 4 the master could not
 * be reached. Never throws.
 */
export async function runDoctorCommand(args: readonly string[], io: DoctorIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const verbose = args.includes('--verbose') || args.includes('-v');
  try {
    // --json is doctor's own; the rest is parsed as submit parses it, so the sources match.
    const json = args.includes('--json');
    const parsed = parseSubmitArguments(
      args.filter((arg) => arg !== '--json'),
      COMMAND,
    );
    if (parsed.help) {
      stdout.write(DOCTOR_USAGE);
      return EXIT_CODES.ok;
    }
    if (parsed.app !== undefined) {
      throw usageError(COMMAND, `unexpected argument ${JSON.stringify(parsed.app)}: doctor takes options only`);
    }
    const submit = await loadSubmitConf(parsed, {
      command: COMMAND,
      defaultAppName: 'spark-mesos-doctor',
      ...(io.env === undefined ? {} : { env: io.env }),
      logger: { warn: (message) => stderr.write(`${COMMAND}: warning: ${message}\n`), info: () => {} },
    });
    const report = await diagnose(submit.conf, submit.master.kind === 'mesos' ? submit.master : submit.master.kind, {
      timeoutMs: io.timeoutMs ?? 10_000,
    });
    stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.exitCode;
  } catch (error) {
    stderr.write(formatError(error, { command: COMMAND, verbose }));
    // A malformed spark.mesos.constraints is a configuration error here as any other value.
    return isSparkMesosError(error, 'SM_ERR_BAD_CONSTRAINTS') ? EXIT_CODES.config : exitCodeOf(error);
  }
}

interface DiagnoseOptions {
  readonly timeoutMs: number;
}

/** The checks for `conf`; `master` is the parsed `mesos://` URL, or the kind of a local master. */
async function diagnose(
  conf: SparkConf,
  master: MesosMasterUrl | 'local' | 'local-cluster',
  options: DiagnoseOptions,
): Promise<DoctorReport> {
  const shown = conf.get('spark.master');
  if (master === 'local' || master === 'local-cluster') {
    const summary =
      master === 'local'
        ? `${shown} runs the job in this process: no cluster, nothing to check`
        : `${shown} is an embedded cluster (mesos-local) the driver starts and stops itself: nothing to check`;
    return { master: shown, checks: [{ name: 'master', status: 'ok', summary, lines: [] }], exitCode: EXIT_CODES.ok };
  }
  const masked = formatMasterUrl(master, { maskPassword: true });
  // Settings first: a bad value is a configuration error (exit 3), as submit would report it.
  const settings = offerMatcherSettingsFrom((key) => conf.getOption(key));
  const checks: DoctorCheck[] = [];
  const reached = await checkMaster(conf, master, masked, options);
  checks.push(reached.check);
  if (reached.state === undefined) {
    const skipped = 'skipped: the master could not be reached';
    checks.push({ name: 'agents', status: 'skip', summary: skipped, lines: [] });
    checks.push({ name: 'executors', status: 'skip', summary: skipped, lines: [] });
  } else {
    checks.push(checkAgents(reached.state, settings));
    checks.push(checkExecutorsFit(reached.state, conf, settings));
  }
  checks.push(await checkExecutorPackage(conf, options));
  checks.push(await checkDriverAddress(conf, reached.state?.slaves.map((agent) => agent.hostname) ?? []));
  const failed = checks.some((check) => check.status === 'FAIL');
  const exitCode = reached.state === undefined ? EXIT_CODES.unavailable : failed ? EXIT_CODES.failed : EXIT_CODES.ok;
  return { master: masked, checks, exitCode };
}

async function checkMaster(
  conf: SparkConf,
  master: MesosMasterUrl,
  shown: string,
  options: DiagnoseOptions,
): Promise<{ check: DoctorCheck; state?: MasterState }> {
  const lines: DoctorLine[] = [];
  let url: string;
  try {
    if (master.master.kind === 'static') {
      url = `${master.master.scheme}://${formatHost(master.master.host)}:${master.master.port}`;
    } else {
      const detector = createMasterDetector(master, {
        connectTimeoutMs: options.timeoutMs,
        leaderTimeoutMs: options.timeoutMs,
        logger: { warn: () => {}, info: () => {} },
      });
      try {
        const leader = await detector.detect();
        url = `${leader.scheme}://${formatHost(leader.host)}:${leader.port}`;
        lines.push({
          status: 'ok',
          text: `ZooKeeper names the leader ${url}${leader.version === undefined ? '' : ` (Mesos ${leader.version})`}`,
        });
      } finally {
        await detector.close();
      }
    }
    const credentials = await resolveMesosCredentials(conf);
    // The driver authenticates its operator reads with its framework credentials (HTTP Basic).
    const authorization: MesosAuthorization | undefined =
      credentials.principal === undefined
        ? undefined
        : { kind: 'basic', principal: credentials.principal, secret: credentials.secret ?? '' };
    const client = createOperatorClient({
      master: url,
      timeoutMs: options.timeoutMs,
      ...(authorization === undefined ? {} : { authorization }),
    });
    const leader = await client.getLeader();
    const leaderClient =
      leader.url === client.master
        ? client
        : createOperatorClient({
            master: leader.url,
            timeoutMs: options.timeoutMs,
            ...(authorization === undefined ? {} : { authorization }),
          });
    if (leader.url !== client.master) {
      lines.push({ status: 'ok', text: `${client.master} is not the leader; the leader is ${leader.url}` });
    }
    const state = await leaderClient.getMasterState();
    const activeAgents = state.slaves.filter((agent) => agent.active).length;
    return {
      check: {
        name: 'master',
        status: 'ok',
        summary: `${shown}: leader ${leaderClient.master} (Mesos ${state.version ?? 'version unknown'}) answers, ${activeAgents} active agent(s)${
          credentials.principal === undefined ? '' : `, read as principal "${credentials.principal}"`
        }`,
        lines,
      },
      state,
    };
  } catch (error) {
    // The credentials' own configuration errors are the user's to fix (exit 3), not the master's.
    if (isSparkMesosError(error, 'SM_ERR_BAD_CONFIG') || isSparkMesosError(error, 'SM_ERR_CONFIG_FILE')) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const code = isSparkMesosError(error) ? `[${error.code}] ` : '';
    return {
      check: {
        name: 'master',
        status: 'FAIL',
        summary: `${shown} could not be reached: ${code}${message}; check spark.master (--master), that the master runs and that this host reaches it (firewalls), and spark.mesos.principal / spark.mesos.secret when it asks for credentials`,
        lines,
      },
    };
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function checkAgents(state: MasterState, settings: OfferMatcherSettings): DoctorCheck {
  const role = settings.role;
  const lines: DoctorLine[] = [];
  const active = state.slaves.filter((agent) => agent.active && agent.deactivated !== true);
  for (const agent of state.slaves) {
    const parts = [`unreserved ${describeQuantities(agent.unreserved_resources)}`];
    if (role !== undefined) {
      const reserved = agent.reserved_resources[role];
      parts.push(
        reserved === undefined
          ? `nothing reserved for role ${role}`
          : `reserved for ${role} ${describeQuantities(reserved)}`,
      );
    }
    const otherRoles = Object.keys(agent.reserved_resources).filter((name) => name !== role);
    if (otherRoles.length > 0) parts.push(`reserved for other roles: ${otherRoles.join(', ')}`);
    parts.push(`used ${describeQuantities(agent.used_resources)}`);
    const attributes = Object.entries(agent.attributes)
      .map(([name, value]) => `${name}:${value}`)
      .join(';');
    parts.push(attributes === '' ? 'no attributes' : `attributes ${attributes}`);
    const usable = agent.active && agent.deactivated !== true;
    const why = !agent.active
      ? ' — inactive (disconnected): it gets no offers until its agent reregisters'
      : agent.deactivated === true
        ? ' — deactivated (draining or in maintenance): it gets no offers'
        : '';
    lines.push({ status: usable ? 'ok' : 'warn', text: `${agent.hostname} (${agent.id}): ${parts.join('; ')}${why}` });
  }
  if (active.length === 0) {
    return {
      name: 'agents',
      status: 'FAIL',
      summary: `no active agent is registered with the master (${state.slaves.length} known): start mesos-agent with --master pointing at this master, and check that the agents reach it`,
      lines,
    };
  }
  return {
    name: 'agents',
    status: 'ok',
    summary: `${active.length} active agent(s)${role === undefined ? '' : `; spark.mesos.role ${role}`}`,
    lines,
  };
}

function describeQuantities(quantities: Readonly<Record<string, number | string>>): string {
  const order = ['cpus', 'mem', 'disk', 'gpus'];
  const names = [...order, ...Object.keys(quantities).filter((name) => !order.includes(name) && name !== 'ports')];
  const parts = names.map((name) => {
    const value = quantities[name] ?? 0;
    const unit = name === 'mem' || name === 'disk' ? ' MB' : '';
    return `${name} ${typeof value === 'number' ? round(value) : value}${unit}`;
  });
  if (typeof quantities.ports === 'string') parts.push(`ports ${quantities.ports}`);
  return parts.join(', ');
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function checkExecutorsFit(state: MasterState, conf: SparkConf, settings: OfferMatcherSettings): DoctorCheck {
  const coarse = conf.getBoolean('spark.mesos.coarse', true);
  const resolved = resolveOfferMatcherSettings(settings);
  const agents = state.slaves.filter((agent) => agent.active && agent.deactivated !== true);
  const offers = agents.map((agent) => offerFromAgentState(agent, settings.role));
  const demand: Demand = coarse
    ? { mode: 'coarse' }
    : { mode: 'fine', tasks: Array.from({ length: FINE_GRAINED_PROBE_TASKS }, (_, index) => ({ id: String(index) })) };
  const plan = planOffers({ offers, demand, settings, now: Date.now() });
  const lines: DoctorLine[] = [];
  let executors = 0;
  let tasks = 0;
  let agentsUsed = 0;
  for (const agent of agents) {
    const launch = plan.launches.find((candidate) => candidate.agentId === agent.id);
    const decline = plan.declines.find((candidate) => candidate.agentId === agent.id);
    const name = `${agent.hostname} (${agent.id})`;
    if (launch !== undefined && (launch.executors.length > 0 || launch.taskIds.length > 0)) {
      agentsUsed += 1;
      executors += launch.executors.length;
      tasks += launch.taskIds.length;
      const sizes = launch.executors.map((executor) => `${round(executor.cpus)} cpus / ${round(executor.memMiB)} MB`);
      const distinct = [...new Set(sizes)];
      const started = coarse
        ? `would start ${launch.executors.length} executor(s) of ${distinct.join(', ')}`
        : `would start ${launch.executors.length === 0 ? 'no new executor' : `the fine-grained executor (${distinct.join(', ')})`} and ${launch.taskIds.length} task(s) of ${resolved.taskCpus} cpu(s)`;
      const reasons = launch.reasons.map((reason) => reason.message);
      lines.push({
        status: 'ok',
        text: `${name}: ${started}${reasons.length === 0 ? '' : `; then ${reasons.join('; ')}`}`,
      });
      continue;
    }
    const reasons = (decline?.reasons ?? launch?.reasons ?? []).map((reason) => reason.message);
    // Declined only because the application's cores are already placed elsewhere: not a problem.
    const capped = (decline?.reasons ?? []).every(
      (reason) => reason.code === 'MAX_CORES_REACHED' || reason.code === 'EXECUTOR_LIMIT_REACHED',
    );
    lines.push({
      status: capped && (decline?.reasons.length ?? 0) > 0 ? 'ok' : 'warn',
      text: `${name}: would start nothing: ${reasons.length === 0 ? 'no reason given' : reasons.join('; ')}`,
    });
  }
  const basis = `free resources = total − used from /master/state (unreserved${
    settings.role === undefined ? '' : ` and reserved for ${settings.role}`
  }; the state does not split used resources by role, so they are taken from the unreserved first); ${
    coarse ? 'coarse-grained' : `fine-grained, ${FINE_GRAINED_PROBE_TASKS} probe tasks`
  }`;
  const placed = coarse ? executors > 0 : tasks > 0;
  if (!placed) {
    return {
      name: 'executors',
      status: 'FAIL',
      summary: `no agent fits an executor${agents.length === 0 ? ' (no active agent)' : ''}: lower spark.executor.memory / spark.executor.cores, fix spark.mesos.constraints or spark.mesos.role, or free resources on the agents (${basis})`,
      lines,
    };
  }
  return {
    name: 'executors',
    status: lines.some((line) => line.status === 'warn') ? 'warn' : 'ok',
    summary: coarse
      ? `would start ${executors} executor(s) on ${agentsUsed} of ${agents.length} agent(s) (${basis})`
      : `would place ${tasks} of ${FINE_GRAINED_PROBE_TASKS} task(s) (${basis})`,
    lines,
  };
}

/**
 * An offer of what `agent` has free for a framework of `role`, from its `/master/state` entry:
 * the unreserved resources (and those reserved for `role`) minus `used_resources`. The state
 * does not split used resources by role, so they are taken from the unreserved first; used port
 * ranges are removed from every pool. Attributes are converted back from their JSON form.
 */
export function offerFromAgentState(agent: MasterStateAgent, role: string | undefined): Offer {
  const used: Record<string, number> = {};
  for (const [name, value] of Object.entries(agent.used_resources)) if (typeof value === 'number') used[name] = value;
  const usedPorts = typeof agent.used_resources.ports === 'string' ? parseRanges(agent.used_resources.ports) : [];
  const resources: Resource[] = [];
  const pools: Array<[Readonly<Record<string, number | string>>, string | undefined]> = [
    [agent.unreserved_resources, undefined],
  ];
  if (role !== undefined && agent.reserved_resources[role] !== undefined) {
    pools.push([agent.reserved_resources[role], role]);
  }
  for (const [quantities, reservedFor] of pools) {
    const reservation: Partial<Resource> =
      reservedFor === undefined
        ? {}
        : {
            role: reservedFor,
            reservations: [{ type: 'STATIC', role: reservedFor }],
            allocation_info: { role: reservedFor },
          };
    for (const [name, value] of Object.entries(quantities)) {
      if (typeof value === 'number') {
        const taken = Math.min(value, used[name] ?? 0);
        used[name] = (used[name] ?? 0) - taken;
        const free = round(value - taken);
        if (free > 0) resources.push({ name, type: 'SCALAR', scalar: { value: free }, ...reservation });
      } else if (value.startsWith('[')) {
        const free = subtractRanges(parseRanges(value), usedPorts);
        if (free.length > 0) resources.push({ name, type: 'RANGES', ranges: { range: free }, ...reservation });
      }
    }
  }
  return {
    id: { value: `doctor-${agent.id}` },
    framework_id: { value: 'spark-mesos-doctor' },
    agent_id: { value: agent.id },
    hostname: agent.hostname,
    resources,
    attributes: Object.entries(agent.attributes).map(([name, value]) => toAttribute(name, value)),
  };
}

/** Mesos' text form of ranges, `[31000-31005, 32000-32000]`. */
function parseRanges(text: string): ValueRange[] {
  const ranges: ValueRange[] = [];
  for (const match of text.matchAll(/(\d+)\s*-\s*(\d+)/g))
    ranges.push({ begin: Number(match[1]), end: Number(match[2]) });
  return ranges;
}

/** An attribute of `/master/state` (numbers for scalars; text, `[a-b]` ranges, `{a,b}` sets). */
function toAttribute(name: string, value: string | number): Attribute {
  if (typeof value === 'number') return { name, type: 'SCALAR', scalar: { value } };
  if (/^\[\s*\d+\s*-\s*\d+/.test(value)) return { name, type: 'RANGES', ranges: { range: parseRanges(value) } };
  if (value.startsWith('{') && value.endsWith('}')) {
    const items = value
      .slice(1, -1)
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    return { name, type: 'SET', set: { item: items } };
  }
  return { name, type: 'TEXT', text: { value } };
}

async function checkExecutorPackage(conf: SparkConf, options: DiagnoseOptions): Promise<DoctorCheck> {
  const uri = conf.getOption('spark.executor.uri')?.trim();
  const home = conf.getOption('spark.mesos.executor.home')?.trim();
  const check = (status: DoctorStatus, summary: string): DoctorCheck => ({
    name: 'executor-package',
    status,
    summary,
    lines: [],
  });
  if (uri !== undefined && uri !== '') {
    const origin = describeOrigin(conf, 'spark.executor.uri');
    if (uri.endsWith('/')) {
      return check(
        'ok',
        `spark.executor.uri ${uri} (${origin}) is an upload destination: submit packs the executor and uploads it there under its content-addressed name (spark-mesos upload ${uri} does it ahead); not checked from here`,
      );
    }
    let scheme: string;
    try {
      scheme = new URL(uri).protocol;
    } catch {
      scheme = '';
    }
    if (scheme === 'http:' || scheme === 'https:') return checkHttpPackage(uri, origin, options);
    if (scheme === 'file:' || scheme === '') {
      const path = scheme === 'file:' ? fileURLToPath(uri) : uri;
      const exists = statSync(path, { throwIfNoEntry: false })?.isFile() === true;
      return exists
        ? check(
            'ok',
            `spark.executor.uri ${uri} (${origin}) exists on this host; it must exist at that path on every agent too`,
          )
        : check(
            'warn',
            `spark.executor.uri ${uri} (${origin}) does not exist on this host; it must exist at that path on every agent, or use an http(s)/s3/hdfs URI every agent can fetch`,
          );
    }
    return check(
      'ok',
      `spark.executor.uri ${uri} (${origin}) is fetched by the agents' fetcher (${scheme.slice(0, -1)}); not checked from here: make sure every agent can fetch it (Hadoop client or credentials on the agents)`,
    );
  }
  if (home !== undefined && home !== '') {
    return check(
      'ok',
      `spark.mesos.executor.home ${home} (${describeOrigin(conf, 'spark.mesos.executor.home')}): it must exist, with the executor package's layout, on every agent; not checked from here`,
    );
  }
  return check(
    'FAIL',
    'Mesos agents need the executor and neither spark.executor.uri nor spark.mesos.executor.home is set: set spark.executor.uri (or SPARK_EXECUTOR_URI) to a package every agent can fetch, or to a prefix ending in "/" to upload one to (spark-mesos upload), or spark.mesos.executor.home to a directory with the executor on every agent',
  );
}

async function checkHttpPackage(uri: string, origin: string, options: DiagnoseOptions): Promise<DoctorCheck> {
  const check = (status: DoctorStatus, summary: string): DoctorCheck => ({
    name: 'executor-package',
    status,
    summary,
    lines: [],
  });
  let response: Response;
  try {
    // A GET as the agents' fetcher (curl) makes, following redirects; only the headers are read.
    response = await fetch(uri, { redirect: 'follow', signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return check(
      'FAIL',
      `spark.executor.uri ${uri} (${origin}) could not be fetched from this host (${(error as Error).message}${cause}): agents will fail the same way unless only this host is blocked; check the server and firewalls`,
    );
  }
  // Only the headers are wanted: the package itself is not downloaded.
  await response.body?.cancel().catch(() => {});
  if (response.status < 200 || response.status > 299) {
    return check(
      'FAIL',
      `spark.executor.uri ${uri} (${origin}) answered ${response.status} ${response.statusText}: the agents' fetcher fails the same way and no executor starts; upload the package there (spark-mesos upload) or fix spark.executor.uri`,
    );
  }
  const length = response.headers.get('content-length');
  if (length === null) {
    return check(
      'warn',
      `spark.executor.uri ${uri} (${origin}) answered ${response.status} without a Content-Length: is it a package? (agents fetch it, but the size is unknown)`,
    );
  }
  return check(
    'ok',
    `spark.executor.uri ${uri} (${origin}) answered ${response.status}, ${length} bytes (fetched from this host; agents must reach it too)`,
  );
}

function describeOrigin(conf: SparkConf, key: string): string {
  const explained = conf.explain(key);
  return `from ${explained.origin ?? explained.source}`;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address);
}

/** Resolves a host name to its addresses (`dns.lookup` with `all`). */
export type HostResolver = (host: string) => Promise<readonly string[]>;

const systemResolver: HostResolver = async (host) => (await lookup(host, { all: true })).map((entry) => entry.address);

/**
 * The `driver-address` check: the host and port executors dial, chosen as core's driver
 * endpoint chooses them (`spark.driver.host`, else `spark.driver.bindAddress` when it is not a
 * wildcard, else this host's name), and a warning when it resolves only to loopback addresses
 * while agents run on other hosts.
 *
 * @param agentHostnames The hostnames of the master's agents (none when it was not reached).
 * @param resolve @default `dns.lookup`
 */
export async function checkDriverAddress(
  conf: SparkConf,
  agentHostnames: readonly string[],
  resolve: HostResolver = systemResolver,
): Promise<DoctorCheck> {
  // As core's driver endpoint: spark.driver.host, else the bind address when it is not a
  // wildcard, else this host's name.
  const driverHost = conf.getOption('spark.driver.host');
  const bindAddress = conf.getOption('spark.driver.bindAddress') ?? driverHost ?? '0.0.0.0';
  const host = driverHost ?? (WILDCARDS.has(bindAddress) ? osHostname() : bindAddress);
  const port = conf.getInt('spark.driver.port', 0);
  const where = `${host}:${port === 0 ? '<a free port>' : port}`;
  const from =
    driverHost !== undefined
      ? 'spark.driver.host'
      : host === bindAddress
        ? 'spark.driver.bindAddress'
        : "this host's name";
  let addresses: string[];
  try {
    addresses = [...(await resolve(host))];
  } catch (error) {
    return {
      name: 'driver-address',
      status: 'warn',
      summary: `executors dial the driver at ${where} (${from}), but ${host} does not resolve here (${(error as Error).message}): set spark.driver.host to an address of this host the agents can reach`,
      lines: [],
    };
  }
  const remoteAgents = agentHostnames.filter((agent) => !isLoopback(agent));
  const loopbackOnly = addresses.every(isLoopback);
  if (loopbackOnly && remoteAgents.length > 0) {
    const agent = remoteAgents[0]!;
    return {
      name: 'driver-address',
      status: 'warn',
      summary: `executors dial the driver at ${where} (${from}), which resolves to ${addresses.join(', ')}: agents on host ${agent} cannot reach ${addresses[0]}; set spark.driver.host to an address of this host the agents can reach`,
      lines: [],
    };
  }
  return {
    name: 'driver-address',
    status: 'ok',
    summary: `executors dial the driver at ${where} (${from}; resolves to ${addresses.join(', ')})${
      port === 0
        ? '; a firewall between the agents and this host must let that port through (set spark.driver.port to fix it)'
        : ''
    }`,
    lines: [],
  };
}

/** The report as text: one line a check, its lines indented below. */
export function formatReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.name.length));
  const out: string[] = [];
  for (const check of report.checks) {
    out.push(`${check.status.padEnd(4)}  ${check.name.padEnd(width)}  ${check.summary}`);
    for (const line of check.lines) out.push(`      ${''.padEnd(width)}  ${line.status.padEnd(4)}  ${line.text}`);
  }
  return `${out.join('\n')}\n`;
}
