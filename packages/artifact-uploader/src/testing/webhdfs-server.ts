// Test support: a WebHDFS namenode and a separate datanode, both plain node:http servers on free
// loopback ports, holding files in memory. It follows the protocol as Hadoop documents it (no HDFS
// package is reachable here): JSON shapes (FileStatus, boolean, RemoteException), status codes
// (400 IllegalArgumentException, 401 SecurityException, 403 IOException and its subclasses, 404
// FileNotFoundException, 500 RuntimeException), CREATE and OPEN redirected by the namenode with a
// 307 to the datanode (whose URL carries `namenoderpcaddress`), 201 Created from the datanode,
// `overwrite` defaulting to false, rename answering `false` rather than failing when the source is
// missing or the destination exists, and permission checks by `user.name` or delegation token.
//
// See https://hadoop.apache.org/docs/stable/hadoop-project-dist/hadoop-hdfs/WebHDFS.html

import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** A path some users may not write under (as if owned by `hdfs` with mode 755). */
export interface ReadOnlyPath {
  /** Absolute HDFS path; everything below it is read-only too. */
  readonly path: string;
  /** The users denied; every user when absent. @default undefined (everyone) */
  readonly users?: readonly string[];
}

/** Options of {@link startWebHdfsServer}. */
export interface WebHdfsServerOptions {
  /** Paths that are unwritable (for some or all users). @default [] */
  readonly readOnlyPaths?: readonly ReadOnlyPath[];
  /**
   * Delegation tokens the cluster accepts, token → user. A request carrying another token gets a
   * 403 `InvalidToken`.
   * @default {}
   */
  readonly delegationTokens?: Readonly<Record<string, string>>;
  /**
   * The user of requests with neither `user.name` nor `delegation` (Hadoop's
   * `hadoop.http.staticuser.user`).
   * @default 'dr.who'
   */
  readonly defaultUser?: string;
  /** The namenode RPC address redirects carry as `namenoderpcaddress`. @default '127.0.0.1:8020' */
  readonly rpcAddress?: string;
}

/** Faults to inject; set fields on {@link WebHdfsTestServer.faults} at any time. */
export interface WebHdfsFaults {
  /**
   * The datanode drops the connection of the next CREATE once it has received this many body
   * bytes (what it received stays in the file, as after a writer crash). One-shot.
   */
  dropCreateAfterBytes?: number;
  /** The datanode answers the next OPEN without a `Content-Length` (chunked). One-shot. */
  openWithoutContentLength?: boolean;
  /**
   * The namenode is the standby of an HA pair: every request gets 403 `StandbyException`, until
   * this is cleared.
   */
  standby?: boolean;
}

/** One request either server received. */
export interface RecordedWebHdfsRequest {
  /** Which server got it. */
  readonly server: 'namenode' | 'datanode';
  /** HTTP method. */
  readonly method: string;
  /** The HDFS path (decoded, without `/webhdfs/v1`). */
  readonly path: string;
  /** The `op` query parameter. */
  readonly op: string;
  /** All query parameters. */
  readonly query: Readonly<Record<string, string>>;
  /** Request headers, lower-case names. */
  readonly headers: IncomingHttpHeaders;
}

/** A running WebHDFS test cluster. */
export interface WebHdfsTestServer {
  /** `http://127.0.0.1:<port>` of the namenode. */
  readonly namenodeUrl: string;
  /** `127.0.0.1:<port>`, as `dfs.namenode.http-address` would say. */
  readonly namenodeHttpAddress: string;
  /** `http://127.0.0.1:<port>` of the datanode. */
  readonly datanodeUrl: string;
  /** Faults to inject (mutable). */
  readonly faults: WebHdfsFaults;
  /** Every request, oldest first. */
  readonly requests: RecordedWebHdfsRequest[];
  /** The bytes of a file, or `undefined` when there is none. */
  readFile(path: string): Buffer | undefined;
  /** Creates or replaces a file (and its parent directories) directly, as `owner`. */
  writeFile(path: string, bytes: Uint8Array, owner?: string): void;
  /** Names of the entries directly under a directory, sorted. */
  list(directory: string): string[];
  /** Stops both servers. */
  close(): Promise<void>;
}

interface Inode {
  readonly type: 'FILE' | 'DIRECTORY';
  readonly fileId: number;
  owner: string;
  bytes: Buffer;
  permission: string;
  modificationTime: number;
}

class RemoteError extends Error {
  constructor(
    readonly status: number,
    readonly exception: string,
    readonly javaClassName: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (message: string) =>
  new RemoteError(404, 'FileNotFoundException', 'java.io.FileNotFoundException', message);
const illegalArgument = (message: string) =>
  new RemoteError(400, 'IllegalArgumentException', 'java.lang.IllegalArgumentException', message);

function normalize(path: string): string {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  return `/${parts.join('/')}`;
}

function parentOf(path: string): string {
  const index = path.lastIndexOf('/');
  return index <= 0 ? '/' : path.slice(0, index);
}

function sendJson(response: ServerResponse, status: number, value: unknown, extraHeaders: Record<string, string> = {}) {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  response.end(body);
}

function sendRemote(response: ServerResponse, error: RemoteError) {
  sendJson(response, error.status, {
    RemoteException: { exception: error.exception, javaClassName: error.javaClassName, message: error.message },
  });
}

/**
 * Starts a WebHDFS namenode and datanode on `127.0.0.1` (free ports), files in memory. The root
 * directory exists, owned by `hdfs`, and is writable by everyone unless
 * {@link WebHdfsServerOptions.readOnlyPaths} says otherwise.
 */
export async function startWebHdfsServer(options: WebHdfsServerOptions = {}): Promise<WebHdfsTestServer> {
  const inodes = new Map<string, Inode>();
  let nextFileId = 16385;
  const now = () => Date.now();
  const newInode = (type: Inode['type'], owner: string, bytes = Buffer.alloc(0)): Inode => ({
    type,
    fileId: nextFileId++,
    owner,
    bytes,
    permission: type === 'FILE' ? '644' : '755',
    modificationTime: now(),
  });
  inodes.set('/', newInode('DIRECTORY', 'hdfs'));
  const faults: WebHdfsFaults = {};
  const requests: RecordedWebHdfsRequest[] = [];
  const rpcAddress = options.rpcAddress ?? '127.0.0.1:8020';
  const defaultUser = options.defaultUser ?? 'dr.who';
  const tokens = options.delegationTokens ?? {};
  let namenodeHttpAddress = '';
  let datanodeUrl = '';

  const userOf = (query: URLSearchParams): string => {
    const token = query.get('delegation');
    if (token !== null) {
      const user = tokens[token];
      if (user === undefined) {
        throw new RemoteError(
          403,
          'InvalidToken',
          'org.apache.hadoop.security.token.SecretManager$InvalidToken',
          `token (HDFS_DELEGATION_TOKEN token for a delegation) can't be found in cache`,
        );
      }
      return user;
    }
    return query.get('user.name') ?? defaultUser;
  };

  const checkWrite = (user: string, path: string) => {
    for (const rule of options.readOnlyPaths ?? []) {
      const root = normalize(rule.path);
      const under = path === root || path.startsWith(root === '/' ? '/' : `${root}/`);
      if (under && (rule.users === undefined || rule.users.includes(user))) {
        throw new RemoteError(
          403,
          'AccessControlException',
          'org.apache.hadoop.security.AccessControlException',
          `Permission denied: user=${user}, access=WRITE, inode="${root}":hdfs:supergroup:drwxr-xr-x`,
        );
      }
    }
  };

  const mkdirs = (path: string, user: string, check = true) => {
    const parts = path.split('/').filter(Boolean);
    let current = '';
    for (const part of parts) {
      current = `${current}/${part}`;
      const existing = inodes.get(current);
      if (existing === undefined) {
        if (check) checkWrite(user, current);
        inodes.set(current, newInode('DIRECTORY', user));
      } else if (existing.type === 'FILE') {
        throw new RemoteError(
          403,
          'ParentNotDirectoryException',
          'org.apache.hadoop.fs.ParentNotDirectoryException',
          `${current} (is not a directory)`,
        );
      }
    }
  };

  const childrenOf = (directory: string): string[] => {
    const prefix = directory === '/' ? '/' : `${directory}/`;
    return [...inodes.keys()]
      .filter((key) => key !== directory && key.startsWith(prefix) && !key.slice(prefix.length).includes('/'))
      .map((key) => key.slice(prefix.length))
      .sort();
  };

  const fileStatus = (path: string, inode: Inode, pathSuffix = '') => ({
    accessTime: inode.type === 'FILE' ? inode.modificationTime : 0,
    blockSize: inode.type === 'FILE' ? 134217728 : 0,
    childrenNum: inode.type === 'DIRECTORY' ? childrenOf(path).length : 0,
    fileId: inode.fileId,
    group: 'supergroup',
    length: inode.type === 'FILE' ? inode.bytes.length : 0,
    modificationTime: inode.modificationTime,
    owner: inode.owner,
    pathSuffix,
    permission: inode.permission,
    replication: inode.type === 'FILE' ? 1 : 0,
    storagePolicy: 0,
    type: inode.type,
  });

  const parse = (request: IncomingMessage, server: 'namenode' | 'datanode') => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/webhdfs/v1')) return undefined;
    const path = normalize(decodeURIComponent(url.pathname.slice('/webhdfs/v1'.length)));
    const op = (url.searchParams.get('op') ?? '').toUpperCase();
    requests.push({
      server,
      method: request.method ?? '',
      path,
      op,
      query: Object.fromEntries(url.searchParams),
      headers: request.headers,
    });
    return { path, op, query: url.searchParams };
  };

  const redirectQuery = (op: string, query: URLSearchParams, user: string, extra: Record<string, string>) => {
    const params = new URLSearchParams({ op });
    const token = query.get('delegation');
    if (token !== null) params.set('delegation', token);
    else params.set('user.name', user);
    params.set('namenoderpcaddress', rpcAddress);
    for (const [key, value] of Object.entries(extra)) params.set(key, value);
    return params;
  };

  const datanodeLocation = (path: string, params: URLSearchParams) =>
    `${datanodeUrl}/webhdfs/v1${path
      .split('/')
      .map((segment) => encodeURIComponent(segment))
      .join('/')}?${params.toString()}`;

  const handleNamenode = (request: IncomingMessage, response: ServerResponse) => {
    const parsed = parse(request, 'namenode');
    if (parsed === undefined) {
      response.writeHead(404).end();
      return;
    }
    const { path, op, query } = parsed;
    if (faults.standby === true) {
      throw new RemoteError(
        403,
        'StandbyException',
        'org.apache.hadoop.ipc.StandbyException',
        `Operation category ${request.method === 'GET' ? 'READ' : 'WRITE'} is not supported in state standby`,
      );
    }
    const user = userOf(query);
    const method = request.method ?? '';
    const redirect = (location: string) => {
      if (query.get('noredirect') === 'true') sendJson(response, 200, { Location: location });
      else {
        response.writeHead(307, { location, 'content-length': 0 });
        response.end();
      }
    };
    if (method === 'GET' && op === 'GETFILESTATUS') {
      const inode = inodes.get(path);
      if (inode === undefined) throw notFound(`File does not exist: ${path}`);
      sendJson(response, 200, { FileStatus: fileStatus(path, inode) });
    } else if (method === 'GET' && op === 'LISTSTATUS') {
      const inode = inodes.get(path);
      if (inode === undefined) throw notFound(`File ${path} does not exist.`);
      const entries =
        inode.type === 'FILE'
          ? [fileStatus(path, inode)]
          : childrenOf(path).map((name) => {
              const childPath = path === '/' ? `/${name}` : `${path}/${name}`;
              return fileStatus(childPath, inodes.get(childPath) as Inode, name);
            });
      sendJson(response, 200, { FileStatuses: { FileStatus: entries } });
    } else if (method === 'GET' && op === 'OPEN') {
      const inode = inodes.get(path);
      if (inode === undefined) throw notFound(`File does not exist: ${path}`);
      if (inode.type !== 'FILE') throw notFound(`Path is not a file: ${path}`);
      // Hadoop's namenode passes offset and length on to the datanode it redirects to.
      const length = query.get('length');
      redirect(
        datanodeLocation(
          path,
          redirectQuery('OPEN', query, user, {
            offset: query.get('offset') ?? '0',
            ...(length !== null ? { length } : {}),
          }),
        ),
      );
    } else if (method === 'PUT' && op === 'CREATE') {
      // Like Hadoop's namenode, step one only picks a datanode; checks happen when it writes.
      const extra: Record<string, string> = {
        createflag: '',
        createparent: 'true',
        overwrite: query.get('overwrite') ?? 'false',
      };
      const permission = query.get('permission');
      if (permission !== null) extra.permission = permission;
      redirect(datanodeLocation(path, redirectQuery('CREATE', query, user, extra)));
    } else if (method === 'PUT' && op === 'MKDIRS') {
      mkdirs(path, user);
      sendJson(response, 200, { boolean: true });
    } else if (method === 'PUT' && op === 'RENAME') {
      const destinationParameter = query.get('destination');
      if (destinationParameter === null || !destinationParameter.startsWith('/')) {
        throw illegalArgument(`Invalid value for webhdfs parameter "destination": ${destinationParameter}`);
      }
      let destination = normalize(destinationParameter);
      const source = inodes.get(path);
      checkWrite(user, parentOf(path));
      checkWrite(user, parentOf(destination));
      const target = inodes.get(destination);
      // FileSystem.rename semantics: into an existing directory; false (no exception) when the
      // source is missing, the destination exists, or its parent does not.
      if (target?.type === 'DIRECTORY')
        destination = `${destination === '/' ? '' : destination}/${path.split('/').pop()}`;
      const ok =
        source !== undefined &&
        path !== '/' &&
        !inodes.has(destination) &&
        inodes.get(parentOf(destination))?.type === 'DIRECTORY' &&
        !destination.startsWith(`${path}/`);
      if (ok) {
        for (const key of [...inodes.keys()]) {
          if (key === path || key.startsWith(`${path}/`)) {
            const inode = inodes.get(key) as Inode;
            inodes.delete(key);
            inodes.set(destination + key.slice(path.length), inode);
          }
        }
      }
      sendJson(response, 200, { boolean: ok });
    } else if (method === 'DELETE' && op === 'DELETE') {
      const inode = inodes.get(path);
      if (inode === undefined) {
        sendJson(response, 200, { boolean: false });
        return;
      }
      checkWrite(user, parentOf(path));
      if (path === '/') throw new RemoteError(403, 'IOException', 'java.io.IOException', 'Cannot delete /');
      if (inode.type === 'DIRECTORY' && childrenOf(path).length > 0 && query.get('recursive') !== 'true') {
        throw new RemoteError(
          403,
          'PathIsNotEmptyDirectoryException',
          'org.apache.hadoop.fs.PathIsNotEmptyDirectoryException',
          `\`${path} is non empty': Directory is not empty`,
        );
      }
      for (const key of [...inodes.keys()]) if (key === path || key.startsWith(`${path}/`)) inodes.delete(key);
      sendJson(response, 200, { boolean: true });
    } else {
      throw illegalArgument(
        `Invalid value for webhdfs parameter "op": ${method} ${op || '(none)'} is not supported here`,
      );
    }
  };

  const handleDatanode = (request: IncomingMessage, response: ServerResponse) => {
    const parsed = parse(request, 'datanode');
    if (parsed === undefined) {
      response.writeHead(404).end();
      return;
    }
    const { path, op, query } = parsed;
    if (query.get('namenoderpcaddress') === null) throw illegalArgument('namenoderpcaddress is not specified.');
    const user = userOf(query);
    if (request.method === 'PUT' && op === 'CREATE') {
      const existing = inodes.get(path);
      checkWrite(user, parentOf(path));
      if (existing !== undefined && (existing.type === 'DIRECTORY' || query.get('overwrite') !== 'true')) {
        throw new RemoteError(
          403,
          'FileAlreadyExistsException',
          'org.apache.hadoop.fs.FileAlreadyExistsException',
          `${path} for client 127.0.0.1 already exists`,
        );
      }
      mkdirs(parentOf(path), user);
      // The file exists (empty) as soon as the datanode's client creates it, and grows as
      // blocks are written: a writer that dies leaves what it sent.
      const inode = newInode('FILE', user);
      inode.permission = query.get('permission') ?? '644';
      inodes.set(path, inode);
      const dropAfter = faults.dropCreateAfterBytes;
      faults.dropCreateAfterBytes = undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      let dropped = false;
      request.on('data', (chunk: Buffer) => {
        if (dropped) return;
        if (dropAfter !== undefined && received + chunk.length >= dropAfter) {
          chunks.push(chunk.subarray(0, dropAfter - received));
          received = dropAfter;
          inode.bytes = Buffer.concat(chunks);
          dropped = true;
          request.socket.destroy();
          return;
        }
        chunks.push(chunk);
        received += chunk.length;
        inode.bytes = Buffer.concat(chunks);
      });
      request.on('end', () => {
        inode.bytes = Buffer.concat(chunks);
        inode.modificationTime = now();
        response.writeHead(201, { location: `webhdfs://${namenodeHttpAddress}${path}`, 'content-length': 0 });
        response.end();
      });
      return;
    }
    if (request.method === 'GET' && op === 'OPEN') {
      const inode = inodes.get(path);
      if (inode === undefined || inode.type !== 'FILE') throw notFound(`File does not exist: ${path}`);
      const offset = Number(query.get('offset') ?? '0');
      const length = query.get('length');
      const bytes = inode.bytes.subarray(offset, length === null ? undefined : offset + Number(length));
      const chunked = faults.openWithoutContentLength === true;
      faults.openWithoutContentLength = undefined;
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        ...(chunked ? {} : { 'content-length': bytes.length }),
      });
      response.end(bytes);
      return;
    }
    throw illegalArgument(
      `Invalid value for webhdfs parameter "op": ${request.method} ${op} is not a datanode operation`,
    );
  };

  const guard =
    (handler: (request: IncomingMessage, response: ServerResponse) => void) =>
    (request: IncomingMessage, response: ServerResponse) => {
      try {
        handler(request, response);
      } catch (error) {
        // Drain what the client sent so the error answer is read, as Jetty/Netty do.
        request.resume();
        if (error instanceof RemoteError) sendRemote(response, error);
        else
          sendRemote(
            response,
            new RemoteError(500, 'RuntimeException', 'java.lang.RuntimeException', String((error as Error)?.message)),
          );
      }
    };

  const listen = (server: Server) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const namenode = createServer(guard(handleNamenode));
  const datanode = createServer(guard(handleDatanode));
  const namenodePort = await listen(namenode);
  const datanodePort = await listen(datanode);
  namenodeHttpAddress = `127.0.0.1:${namenodePort}`;
  datanodeUrl = `http://127.0.0.1:${datanodePort}`;

  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  return {
    namenodeUrl: `http://${namenodeHttpAddress}`,
    namenodeHttpAddress,
    datanodeUrl,
    faults,
    requests,
    readFile(path) {
      const inode = inodes.get(normalize(path));
      return inode?.type === 'FILE' ? Buffer.from(inode.bytes) : undefined;
    },
    writeFile(path, bytes, owner = 'hdfs') {
      const normalized = normalize(path);
      mkdirs(parentOf(normalized), owner, false);
      inodes.set(normalized, newInode('FILE', owner, Buffer.from(bytes)));
    },
    list(directory) {
      return childrenOf(normalize(directory));
    },
    async close() {
      await Promise.all([close(namenode), close(datanode)]);
    },
  };
}
