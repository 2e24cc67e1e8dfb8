import { SparkMesosError } from '@spark-mesos/errors';
import type { Dispatcher } from 'undici';
import {
  browseSandbox,
  getSandboxFileSize,
  readSandboxFile,
  readSandboxFileTail,
  type SandboxFileChunk,
  type SandboxFileEntry,
  type SandboxFileTail,
  type SandboxReadRange,
} from './agent-files.js';
import { type AgentState, findTaskSandbox, type TaskSandbox } from './agent-state.js';
import type { MesosAuthorization } from './mesos-http.js';
import { resolveLeaderLocation } from './mesos-http-error.js';
import { getMesos, getMesosJson, type MesosGetOptions } from './operator-http.js';
import {
  findMasterStateTask,
  type MasterState,
  type MasterStateAgent,
  type MasterStateTaskLocation,
} from './operator-master-state.js';

/**
 * Read-only operator access to a Mesos master and its agents: cluster state, the leader, and
 * task sandboxes (the debugging path from a failed task to its stdout/stderr).
 *
 * @see https://mesos.apache.org/documentation/latest/endpoints/
 * @module
 */

/** Options of {@link createOperatorClient}. */
export interface OperatorClientOptions {
  /** The master, `http(s)://host:port` (any path is ignored). */
  readonly master: string;
  /** The undici dispatcher (TLS, pool), for the master and the agents. @default undici's global dispatcher */
  readonly dispatcher?: Dispatcher;
  /**
   * Credentials, for a master and agents started with `--authenticate_http_readonly`.
   * @default undefined (no Authorization header)
   */
  readonly authorization?: MesosAuthorization;
  /** Timeout of each request, in milliseconds. @default 30000 */
  readonly timeoutMs?: number;
}

/** The leading master, from `/master/redirect`. */
export interface MesosLeader {
  /** `scheme://host:port` of the leader, in the scheme of the configured master. */
  readonly url: string;
  /** Host of the leader. */
  readonly host: string;
  /** Port of the leader. */
  readonly port: number;
}

/** A task's sandbox with the agent that holds it, from {@link OperatorClient.locateTaskSandbox}. */
export interface LocatedTaskSandbox extends TaskSandbox {
  /** The agent's URL, e.g. `http://10.0.0.5:5051`. */
  readonly agentUrl: string;
  /** The task as the master reports it (state and statuses). */
  readonly location: MasterStateTaskLocation;
}

/** Reads of a Mesos master and its agents. */
export interface OperatorClient {
  /** The master URL in use (origin only). */
  readonly master: string;
  /** `GET /master/state`: agents, frameworks, tasks. Ask the leader: others answer 307. */
  getMasterState(): Promise<MasterState>;
  /**
   * `GET /master/redirect`: the leading master. Mesos answers 307 with a scheme-less
   * `Location: //host:port`, resolved here in the configured master's scheme.
   */
  getLeader(): Promise<MesosLeader>;
  /** `GET <agentUrl>/state` of an agent. */
  getAgentState(agentUrl: string): Promise<AgentState>;
  /** The URL of an agent of the master's state: `scheme://hostname:port`, in the master's scheme. */
  agentUrlOf(agent: MasterStateAgent): string;
  /** Lists a sandbox directory (see {@link browseSandbox}). */
  browseFiles(agentUrl: string, path: string): Promise<readonly SandboxFileEntry[]>;
  /** Reads part of a sandbox file (see {@link readSandboxFile}). */
  readFile(agentUrl: string, path: string, range?: SandboxReadRange): Promise<SandboxFileChunk>;
  /** The size of a sandbox file (see {@link getSandboxFileSize}). */
  readFileSize(agentUrl: string, path: string): Promise<number>;
  /** The last `bytes` bytes of a sandbox file (see {@link readSandboxFileTail}). */
  readFileTail(agentUrl: string, path: string, bytes: number): Promise<SandboxFileTail>;
  /**
   * Finds a task's sandbox: the task and its agent in `/master/state`, then the executor's
   * `directory` in that agent's `/state`. Read `<directory>/stdout` and `/stderr` with
   * {@link readFileTail}.
   * @throws SparkMesosError `SM_ERR_TASK_NOT_FOUND` when the master or the agent does not know the task.
   */
  locateTaskSandbox(taskId: string, frameworkId?: string): Promise<LocatedTaskSandbox>;
}

function parseMasterUrl(master: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(master);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
    throw new SparkMesosError(
      'SM_ERR_BAD_MASTER_URL',
      `The operator client needs the master as http(s)://host:port, got ${JSON.stringify(master)}: for mesos://zk://… detect the leader first.`,
      { cause: { master } },
    );
  }
  return url;
}

/**
 * Creates a client of a master's (and its agents') read-only endpoints. Non-2xx answers throw
 * the errors of {@link createMesosHttpError} (`SM_ERR_NOT_LEADER` with `details.leaderUrl` when
 * the master is not the leader), connection failures `SM_ERR_MESOS_NETWORK`.
 *
 * @throws SparkMesosError `SM_ERR_BAD_MASTER_URL` when `master` is not an http(s) URL.
 * @see https://mesos.apache.org/documentation/latest/endpoints/
 */
export function createOperatorClient(options: OperatorClientOptions): OperatorClient {
  const masterUrl = parseMasterUrl(options.master);
  const master = masterUrl.origin;
  const getOptions: MesosGetOptions = {
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };

  const getMasterState = (): Promise<MasterState> => getMesosJson<MasterState>(`${master}/master/state`, getOptions);

  async function getLeader(): Promise<MesosLeader> {
    const url = `${master}/master/redirect`;
    const response = await getMesos(url, { ...getOptions, redirect: 'return' });
    const location = response.headers.location;
    const text = Array.isArray(location) ? location[0] : location;
    if (response.status < 300 || text === undefined) {
      throw new SparkMesosError(
        'SM_ERR_NO_LEADER',
        `[GET] "${url}" answered ${response.status} without a Location: the master does not know a leader yet; retry later.`,
        { cause: { status: response.status }, details: { url, status: response.status } },
      );
    }
    const leader = new URL(resolveLeaderLocation(text, url));
    const port = Number(leader.port || (leader.protocol === 'https:' ? 443 : 80));
    return { url: leader.origin, host: leader.hostname.replace(/^\[|\]$/g, ''), port };
  }

  const getAgentState = (agentUrl: string): Promise<AgentState> =>
    getMesosJson<AgentState>(new URL('/state', agentUrl).href, getOptions);

  const agentUrlOf = (agent: MasterStateAgent): string => {
    const host = agent.hostname.includes(':') ? `[${agent.hostname}]` : agent.hostname;
    return `${masterUrl.protocol}//${host}:${agent.port}`;
  };

  async function locateTaskSandbox(taskId: string, frameworkId?: string): Promise<LocatedTaskSandbox> {
    const state = await getMasterState();
    const location = findMasterStateTask(state, taskId, frameworkId);
    if (!location?.agent) {
      throw new SparkMesosError(
        'SM_ERR_TASK_NOT_FOUND',
        location
          ? `Task "${taskId}" ran on agent "${location.task.slave_id}", which is no longer registered with the master at "${master}": its sandbox cannot be reached through the master.`
          : `The master at "${master}" does not know task "${taskId}"${frameworkId ? ` of framework "${frameworkId}"` : ''}: check the id, or it aged out of completed_tasks (--max_completed_tasks_per_framework).`,
        { cause: { taskId, frameworkId }, details: { taskId, ...(frameworkId ? { frameworkId } : {}) } },
      );
    }
    const agentUrl = agentUrlOf(location.agent);
    const sandbox = findTaskSandbox(await getAgentState(agentUrl), taskId, location.framework.id);
    if (!sandbox) {
      throw new SparkMesosError(
        'SM_ERR_TASK_NOT_FOUND',
        `The agent at "${agentUrl}" no longer lists an executor of task "${taskId}": its sandbox was probably garbage-collected (--gc_delay).`,
        { cause: { taskId, agentUrl }, details: { taskId, agentUrl } },
      );
    }
    return { ...sandbox, agentUrl, location };
  }

  return {
    master,
    getMasterState,
    getLeader,
    getAgentState,
    agentUrlOf,
    browseFiles: (agentUrl, path) => browseSandbox(agentUrl, path, getOptions),
    readFile: (agentUrl, path, range) => readSandboxFile(agentUrl, path, range, getOptions),
    readFileSize: (agentUrl, path) => getSandboxFileSize(agentUrl, path, getOptions),
    readFileTail: (agentUrl, path, bytes) => readSandboxFileTail(agentUrl, path, bytes, getOptions),
    locateTaskSandbox,
  };
}
