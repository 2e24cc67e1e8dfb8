import { open, readdir, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { userInfo } from 'node:os';
import { join, resolve, sep } from 'node:path';
import type { LocalAgent } from './agent.js';
import { handleExecutorApi, isExecutorApiPath } from './executor-api.js';

/**
 * The agent endpoints: the v1 executor API (./executor-api.ts), and what the operator client
 * reads: `GET /state` and the sandbox `/files/browse` and `/files/read`, with a real agent's
 * shapes and status codes (see the recordings in mesos-client's `__fixtures__/files`).
 *
 * @see https://mesos.apache.org/documentation/latest/endpoints/files/read/
 * @module
 */

// What /files/read returns when no length is asked for (Mesos reads at most a page run too).
const MAX_READ_BYTES = 16 * 1024 * 1024;
const VIRTUAL = /^\/frameworks\/([^/]+)\/executors\/([^/]+)\/runs\/latest(\/.*)?$/;

function send(response: ServerResponse, status: number, body: string, contentType?: string): void {
  const headers: Record<string, string | number> = { 'Content-Length': Buffer.byteLength(body) };
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  response.writeHead(status, headers).end(body);
}

function sendJson(response: ServerResponse, value: unknown): void {
  send(response, 200, JSON.stringify(value), 'application/json');
}

// A virtual path `/frameworks/<fw>/executors/<id>/runs/latest/...` or an absolute path below the
// agent's work directory; anything else is not served (the agent only exposes sandboxes).
function resolvePath(agent: LocalAgent, path: string): string | undefined {
  const virtual = VIRTUAL.exec(path);
  if (virtual) {
    const sandbox = agent.sandboxOf(virtual[1] as string, virtual[2] as string);
    return sandbox === undefined ? undefined : join(sandbox, virtual[3] ?? '');
  }
  const absolute = resolve(path);
  const root = resolve(agent.workDir);
  return absolute === root || absolute.startsWith(root + sep) ? absolute : undefined;
}

function modeString(mode: number, directory: boolean): string {
  const bits = 'rwxrwxrwx';
  let text = directory ? 'd' : '-';
  for (let i = 0; i < 9; i++) text += mode & (1 << (8 - i)) ? bits[i] : '-';
  return text;
}

async function browse(agent: LocalAgent, path: string, response: ServerResponse): Promise<void> {
  const real = resolvePath(agent, path);
  const info = real === undefined ? undefined : await stat(real).catch(() => undefined);
  if (real === undefined || !info?.isDirectory()) {
    send(response, 404, '', 'text/plain; charset=utf-8');
    return;
  }
  const user = userInfo().username;
  const names = (await readdir(real)).sort();
  const entries = [];
  for (const name of names) {
    const entry = await stat(join(real, name)).catch(() => undefined);
    if (!entry) continue;
    entries.push({
      gid: String(entry.gid === process.getgid?.() ? user : entry.gid),
      mode: modeString(entry.mode, entry.isDirectory()),
      mtime: Math.floor(entry.mtimeMs / 1000),
      nlink: entry.nlink,
      path: `${path.replace(/\/+$/, '')}/${name}`,
      size: entry.size,
      uid: String(entry.uid === process.getuid?.() ? user : entry.uid),
    });
  }
  sendJson(response, entries);
}

async function read(agent: LocalAgent, url: URL, response: ServerResponse): Promise<void> {
  const path = url.searchParams.get('path') ?? '';
  const offset = Number(url.searchParams.get('offset') ?? '0');
  const lengthParam = url.searchParams.get('length');
  const length = lengthParam === null ? undefined : Number(lengthParam);
  if (!Number.isInteger(offset) || offset < -1 || (length !== undefined && (!Number.isInteger(length) || length < 0))) {
    send(response, 400, 'Failed to parse offset or length', 'text/plain; charset=utf-8');
    return;
  }
  const real = resolvePath(agent, path);
  const info = real === undefined ? undefined : await stat(real).catch(() => undefined);
  if (real === undefined || !info) {
    send(response, 404, '', 'text/plain; charset=utf-8');
    return;
  }
  if (info.isDirectory()) {
    send(response, 400, 'Cannot read a directory', 'text/plain; charset=utf-8');
    return;
  }
  if (offset === -1) {
    sendJson(response, { data: '', offset: info.size });
    return;
  }
  const want = Math.max(0, Math.min(length ?? MAX_READ_BYTES, MAX_READ_BYTES, info.size - offset));
  const buffer = Buffer.alloc(want);
  if (want > 0) {
    const file = await open(real, 'r');
    try {
      await file.read(buffer, 0, want, offset);
    } finally {
      await file.close();
    }
  }
  sendJson(response, { data: buffer.toString('utf8'), offset });
}

/** The request handler of an agent's HTTP server. */
export function createAgentHttpHandler(
  agent: LocalAgent,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (isExecutorApiPath(url.pathname)) {
      handleExecutorApi(agent, request, response);
      return;
    }
    const route = url.pathname.replace(/^\/slave\(1\)/, '');
    const work = async (): Promise<void> => {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.setHeader('Allow', 'GET');
        send(response, 405, '', 'text/plain; charset=utf-8');
      } else if (route === '/state' || route === '/state.json') sendJson(response, agent.state());
      else if (route === '/health') send(response, 200, '');
      else if (route === '/files/browse' || route === '/files/browse.json') {
        await browse(agent, url.searchParams.get('path') ?? '', response);
      } else if (route === '/files/read' || route === '/files/read.json') await read(agent, url, response);
      else send(response, 404, '', 'text/plain; charset=utf-8');
    };
    work().catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, String(error), 'text/plain; charset=utf-8');
    });
  };
}
