import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isSparkMesosError } from '@spark-mesos/errors';
import { Agent, buildConnector } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { getSandboxFileSize, readSandboxFileTail } from './agent-files.js';
import { findTaskSandbox, virtualSandboxPath } from './agent-state.js';
import { createOperatorClient } from './operator-client.js';
import { getMesosJson } from './operator-http.js';
import { findMasterStateTask } from './operator-master-state.js';
import {
  loadRecordedExchange,
  parseRecordedResponse,
  type ReceivedRequest,
  type RecordedResponse,
  type ReplayServer,
  type ReplayStep,
  startReplayServer,
} from './testing/index.js';

const fixtures = (dir: string): string => fileURLToPath(new URL(`./__fixtures__/${dir}`, import.meta.url));
const servers: ReplayServer[] = [];
const dispatchers: Agent[] = [];

afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((dispatcher) => dispatcher.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function replay(steps: ReplayStep[]): Promise<ReplayServer> {
  const server = await startReplayServer({ script: steps });
  servers.push(server);
  return server;
}

/**
 * A recorded curl capture whose JSON body had machine paths rewritten after capture (see the
 * fixtures' README): the recorded head is kept byte for byte except Content-Length, which is set
 * to the rewritten body's length.
 */
function rewrittenCapture(headersFile: string, bodyFile: string): RecordedResponse {
  const body = readFileSync(fixtures(bodyFile));
  const head = readFileSync(fixtures(headersFile), 'latin1').replace(
    /^Content-Length: \d+\r$/m,
    `Content-Length: ${body.length}\r`,
  );
  return parseRecordedResponse(Buffer.concat([Buffer.from(head, 'latin1'), body]));
}

const get = (pathname: string, query: Record<string, string> = {}) => ({
  method: 'GET',
  test: (request: ReceivedRequest) => {
    const url = new URL(request.path, 'http://replay');
    return (
      url.pathname === pathname && Object.entries(query).every(([key, value]) => url.searchParams.get(key) === value)
    );
  },
});

/** Routes every connection to the replay server, whatever host and port the URL names. */
function routeTo(server: ReplayServer): Agent {
  const connect = buildConnector({});
  const dispatcher = new Agent({
    connect: (options, callback) => connect({ ...options, hostname: '127.0.0.1', port: String(server.port) }, callback),
  });
  dispatchers.push(dispatcher);
  return dispatcher;
}

// The recorded sandbox: the finished executor "fixture-exec" of framework …-0015 (files/README.txt).
const FRAMEWORK = '5cdd377a-dae9-4944-98c2-8f0426d20e10-0015';
const SANDBOX =
  '/var/lib/mesos/slaves/5cdd377a-dae9-4944-98c2-8f0426d20e10-S0/frameworks/5cdd377a-dae9-4944-98c2-8f0426d20e10-0015/executors/fixture-exec/runs/46272a2a-6644-4c48-90d7-5b6022a48f66';

describe('createOperatorClient: master reads', () => {
  it('reads /master/state with two agents, typed, counts as floats', async () => {
    const server = await replay([
      {
        match: get('/master/state'),
        respond: rewrittenCapture('master-state-2agents.headers.txt', 'master-state-2agents.json'),
      },
    ]);
    const operator = createOperatorClient({ master: `${server.url}/ignored/path` });
    expect(operator.master).toBe(server.url);
    const state = await operator.getMasterState();

    expect(state.version).toBe('1.12.0');
    expect(state.activated_slaves).toBe(2);
    expect(state.unreachable_slaves).toBe(0);
    expect(state.leader_info?.port).toBe(5050);
    const agents = Object.fromEntries(state.slaves.map((agent) => [agent.id.slice(-2), agent]));
    expect(agents.S1).toMatchObject({
      hostname: '127.0.0.1',
      port: 5052,
      active: true,
      attributes: { rack: 'r2', zone: 'b' },
      resources: { cpus: 2, mem: 2048, disk: 5000, ports: '[32001-33000]' },
    });
    expect(agents.S0?.used_resources.cpus).toBe(0.1);
    expect(operator.agentUrlOf(agents.S0!)).toBe('http://127.0.0.1:5051');

    const [framework] = state.frameworks;
    expect(framework).toMatchObject({ name: 'probe-failover', active: false, connected: false, failover_timeout: 120 });
    const task = framework!.tasks[0]!;
    expect(task).toMatchObject({
      id: 'probe-sleep-3ab827f7',
      name: 'sleep',
      state: 'TASK_RUNNING',
      executor_id: '',
      slave_id: '5cdd377a-dae9-4944-98c2-8f0426d20e10-S0',
    });
    expect(task.statuses.map((status) => status.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING']);
    expect(task.statuses[0]!.container_status?.container_id?.value).toBe('c1ce09e6-bc87-429a-981b-c334ccc888eb');

    const running = findMasterStateTask(state, 'probe-sleep-3ab827f7');
    expect(running).toMatchObject({ completed: false, agent: { port: 5051 }, framework: { name: 'probe-failover' } });
    const finished = state.completed_frameworks.flatMap((candidate) => candidate.completed_tasks);
    expect(finished.length).toBeGreaterThan(0);
    const located = findMasterStateTask(state, finished[0]!.id);
    expect(located?.completed).toBe(true);
    expect(findMasterStateTask(state, 'no-such-task')).toBeUndefined();
    expect(server.requests[0]!.method).toBe('GET');
    expect(server.requests[0]!.path).toBe('/master/state');
  });

  it('reads a one-agent /master/state with no frameworks', async () => {
    const server = await replay([
      { match: get('/master/state'), respond: rewrittenCapture('master-state.headers.txt', 'master-state.json') },
    ]);
    const state = await createOperatorClient({ master: server.url }).getMasterState();
    expect(state.slaves).toHaveLength(1);
    expect(state.activated_slaves).toBe(1);
    expect(state.frameworks).toEqual([]);
  });

  it.each([
    ['operator', 'http-master_redirect', 'http://127.0.0.1:5050', 5050],
    ['zookeeper_ha', 'redirect-leader', 'http://127.0.0.1:5060', 5060],
    ['zookeeper_ha', 'redirect-nonleader', 'http://127.0.0.1:5060', 5060],
    ['zookeeper_ha', 'redirect-after-failover', 'http://127.0.0.1:5061', 5061],
  ])('finds the leader from the recorded 307 of /master/redirect (%s/%s)', async (dir, name, url, port) => {
    const exchange = await loadRecordedExchange(fixtures(dir), name);
    const server = await replay([{ match: get('/master/redirect'), respond: exchange }]);
    const leader = await createOperatorClient({ master: server.url }).getLeader();
    expect(leader).toEqual({ url, host: '127.0.0.1', port });
  });

  it('reports a non-leading master as SM_ERR_NOT_LEADER with the leader URL in our scheme', async () => {
    const exchange = await loadRecordedExchange(fixtures('zookeeper_ha'), 'state-nonleader');
    const server = await replay([{ match: get('/master/state'), respond: exchange }]);
    await expect(createOperatorClient({ master: server.url }).getMasterState()).rejects.toSatisfy(
      (error) =>
        isSparkMesosError(error, 'SM_ERR_NOT_LEADER') &&
        error.details.leaderUrl === 'http://127.0.0.1:5060/master/state' &&
        error.details.method === 'GET',
    );
  });

  it('rejects a master that is not an http(s) URL', () => {
    expect(() => createOperatorClient({ master: 'zk://127.0.0.1:2181/mesos' })).toThrow(
      expect.objectContaining({ code: 'SM_ERR_BAD_MASTER_URL' }),
    );
  });

  it('wraps a refused connection as SM_ERR_MESOS_NETWORK', async () => {
    const server = await replay([]);
    const url = server.url;
    await server.close();
    await expect(createOperatorClient({ master: url }).getMasterState()).rejects.toSatisfy((error) =>
      isSparkMesosError(error, 'SM_ERR_MESOS_NETWORK'),
    );
  });

  it('says when a 200 body is not JSON', async () => {
    const jsonp = rewrittenCapture('operator/master-state-jsonp.headers.txt', 'operator/master-state-jsonp.body');
    const server = await replay([{ respond: jsonp }]);
    await expect(getMesosJson(`${server.url}/master/state?jsonp=cb`)).rejects.toSatisfy((error) =>
      isSparkMesosError(error, 'SM_ERR_MESOS_DECODE'),
    );
  });
});

describe('createOperatorClient: agent sandboxes', () => {
  it("finds a task's sandbox through the master's and the agent's state", async () => {
    const server = await replay([
      {
        match: get('/master/state'),
        respond: rewrittenCapture('master-state-2agents.headers.txt', 'master-state-2agents.json'),
      },
      {
        match: get('/state'),
        respond: rewrittenCapture('operator/agent-state.headers.txt', 'operator/agent-state.json'),
      },
    ]);
    // The recorded states name 127.0.0.1:5050 and :5051; route both to the replay server.
    const operator = createOperatorClient({ master: 'http://127.0.0.1:5050', dispatcher: routeTo(server) });
    const sandbox = await operator.locateTaskSandbox('probe-sleep-3ab827f7');
    expect(sandbox).toMatchObject({
      agentUrl: 'http://127.0.0.1:5051',
      frameworkId: '5cdd377a-dae9-4944-98c2-8f0426d20e10-0006',
      executorId: 'probe-sleep-3ab827f7',
      completed: false,
      directory:
        '/var/lib/mesos/agent1/slaves/5cdd377a-dae9-4944-98c2-8f0426d20e10-S0/frameworks/5cdd377a-dae9-4944-98c2-8f0426d20e10-0006/executors/probe-sleep-3ab827f7/runs/c1ce09e6-bc87-429a-981b-c334ccc888eb',
      virtualDirectory:
        '/frameworks/5cdd377a-dae9-4944-98c2-8f0426d20e10-0006/executors/probe-sleep-3ab827f7/runs/latest',
    });
    expect(sandbox.location.task.state).toBe('TASK_RUNNING');
    expect(server.requests.map((request) => request.header('host'))).toEqual(['127.0.0.1:5050', '127.0.0.1:5051']);
  });

  it("finds a finished command task's sandbox in the agent's completed executors", async () => {
    const server = await replay([
      {
        match: get('/state'),
        respond: rewrittenCapture('operator/agent-state.headers.txt', 'operator/agent-state.json'),
      },
    ]);
    const state = await createOperatorClient({ master: server.url }).getAgentState(server.url);
    expect(findTaskSandbox(state, 'probe-task-137478dd')).toMatchObject({
      executorId: 'probe-task-137478dd',
      completed: true,
      directory: expect.stringMatching(/\/executors\/probe-task-137478dd\/runs\/f9227a59-bef5-489f-9d6a-66fc726ee721$/),
    });
    expect(findTaskSandbox(state, 'probe-task-137478dd', 'another-framework')).toBeUndefined();
    expect(findTaskSandbox(state, 'no-such-task')).toBeUndefined();
  });

  it('browses a sandbox (recorded /files/browse of the virtual path)', async () => {
    const virtual = virtualSandboxPath(FRAMEWORK, 'fixture-exec');
    const server = await replay([
      {
        match: get('/files/browse', { path: virtual }),
        respond: await loadRecordedExchange(fixtures('files'), 'browse-virtual'),
      },
    ]);
    const entries = await createOperatorClient({ master: server.url }).browseFiles(server.url, virtual);
    expect(entries.map((entry) => [entry.path.split('/').pop(), entry.size, entry.mode])).toEqual([
      ['stderr', 895, '-rw-r--r--'],
      ['stdout', 8, '-rw-r--r--'],
    ]);
    expect(entries[0]!.path).toBe(`${virtual}/stderr`);
  });

  it('reads ranges, past the end, and the size (recorded /files/read)', async () => {
    const files = fixtures('files');
    const stdout = `${SANDBOX}/stdout`;
    const server = await replay([
      {
        match: get('/files/read', { path: stdout, offset: '0', length: '4' }),
        respond: await loadRecordedExchange(files, 'read-stdout-offset0-len4'),
      },
      {
        match: get('/files/read', { path: stdout, offset: '0', length: '1000' }),
        respond: await loadRecordedExchange(files, 'read-stdout-offset0-len1000'),
      },
      {
        match: get('/files/read', { path: stdout, offset: '100', length: '100' }),
        respond: await loadRecordedExchange(files, 'read-stdout-past-end'),
      },
      {
        match: get('/files/read', { path: stdout, offset: '-1' }),
        respond: await loadRecordedExchange(files, 'read-stdout-size'),
      },
    ]);
    const operator = createOperatorClient({ master: server.url });
    expect(await operator.readFile(server.url, stdout, { offset: 0, length: 4 })).toEqual({ data: 'fixt', offset: 0 });
    expect(await operator.readFile(server.url, stdout, { offset: 0, length: 1000 })).toEqual({
      data: 'fixture\n',
      offset: 0,
    });
    expect(await operator.readFile(server.url, stdout, { offset: 100, length: 100 })).toEqual({
      data: '',
      offset: 100,
    });
    expect(await operator.readFileSize(server.url, stdout)).toBe(8);
    expect(server.mismatches).toEqual([]);
  });

  it('reads the tail of stdout: the size first, then the last bytes', async () => {
    const files = fixtures('files');
    const stdout = `${SANDBOX}/stdout`;
    const server = await replay([
      {
        match: get('/files/read', { path: stdout, offset: '-1' }),
        respond: await loadRecordedExchange(files, 'read-stdout-size'),
      },
      // The file has 8 bytes: the last 4096 are all of it (the recording asked length=1000, same answer).
      {
        match: get('/files/read', { path: stdout, offset: '0', length: '8' }),
        respond: await loadRecordedExchange(files, 'read-stdout-offset0-len1000'),
      },
    ]);
    const tail = await readSandboxFileTail(server.url, stdout, 4096);
    expect(tail).toEqual({ data: 'fixture\n', offset: 0, size: 8 });
    expect(server.mismatches).toEqual([]);
    expect(server.requests).toHaveLength(2);
  });

  it('names the missing path on a 404 (recorded empty body)', async () => {
    const missing = `${SANDBOX}/does-not-exist`;
    const server = await replay([
      {
        match: get('/files/read', { path: missing }),
        respond: await loadRecordedExchange(fixtures('files'), 'read-nonexistent'),
      },
    ]);
    const failure = await getSandboxFileSize(server.url, missing).catch((error: unknown) => error);
    expect(isSparkMesosError(failure, 'SM_ERR_MESOS_NOT_FOUND')).toBe(true);
    expect((failure as Error).message).toContain(`no file or directory "${missing}"`);
    expect((failure as Error).message).toContain('--gc_delay');
    expect((failure as { details: Record<string, unknown> }).details).toMatchObject({ status: 404, path: missing });
  });
});
