import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebHdfsServer, type WebHdfsTestServer } from './webhdfs-server.js';

let server: WebHdfsTestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function call(method: 'GET' | 'PUT' | 'DELETE', url: string, body?: string) {
  const response = await request(url, { method, ...(body !== undefined ? { body } : {}) });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    text,
    json: String(response.headers['content-type']).includes('json') ? JSON.parse(text) : undefined,
  };
}

describe('the WebHDFS fixture speaks the documented protocol', () => {
  it('redirects CREATE to the datanode, which answers 201 Created, and serves the file back', async () => {
    server = await startWebHdfsServer({ rpcAddress: 'nn:8020' });
    const base = `${server.namenodeUrl}/webhdfs/v1`;
    const step1 = await call('PUT', `${base}/d/f.txt?op=CREATE&user.name=alice`);
    expect(step1.status).toBe(307);
    const location = new URL(String(step1.headers.location));
    expect(location.origin).toBe(server.datanodeUrl);
    expect(location.searchParams.get('namenoderpcaddress')).toBe('nn:8020');
    expect(location.searchParams.get('overwrite')).toBe('false');
    expect(location.searchParams.get('user.name')).toBe('alice');
    expect(server.readFile('/d/f.txt')).toBeUndefined(); // step one writes nothing

    const step2 = await call('PUT', location.href, 'hello, webhdfs');
    expect(step2.status).toBe(201);
    expect(step2.headers.location).toBe(`webhdfs://${server.namenodeHttpAddress}/d/f.txt`);

    const status = await call('GET', `${base}/d/f.txt?op=GETFILESTATUS`);
    expect(status.json.FileStatus).toMatchObject({
      type: 'FILE',
      length: 14,
      owner: 'alice',
      permission: '644',
      pathSuffix: '',
    });
    const open = await call('GET', `${base}/d/f.txt?op=OPEN&noredirect=true`);
    expect(open.status).toBe(200);
    const read = await call('GET', open.json.Location);
    expect(read.text).toBe('hello, webhdfs');
    expect(read.headers['content-length']).toBe('14');
  });

  it('refuses to overwrite by default, answers false for impossible renames and 404 RemoteExceptions', async () => {
    server = await startWebHdfsServer();
    server.writeFile('/a', Buffer.from('1'));
    server.writeFile('/b', Buffer.from('2'));
    const base = `${server.namenodeUrl}/webhdfs/v1`;
    const step1 = await call('PUT', `${base}/a?op=CREATE`);
    const again = await call('PUT', String(step1.headers.location), 'x');
    expect(again.status).toBe(403);
    expect(again.json.RemoteException).toMatchObject({
      exception: 'FileAlreadyExistsException',
      javaClassName: 'org.apache.hadoop.fs.FileAlreadyExistsException',
    });
    expect((await call('PUT', `${base}/a?op=RENAME&destination=/b`)).json).toEqual({ boolean: false });
    expect((await call('PUT', `${base}/missing?op=RENAME&destination=/c`)).json).toEqual({ boolean: false });
    expect((await call('DELETE', `${base}/missing?op=DELETE`)).json).toEqual({ boolean: false });
    const missing = await call('GET', `${base}/missing?op=GETFILESTATUS`);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      RemoteException: {
        exception: 'FileNotFoundException',
        javaClassName: 'java.io.FileNotFoundException',
        message: 'File does not exist: /missing',
      },
    });
  });

  it('checks write permission by user, with the static web user for anonymous requests', async () => {
    server = await startWebHdfsServer({ readOnlyPaths: [{ path: '/ro', users: ['dr.who'] }] });
    const base = `${server.namenodeUrl}/webhdfs/v1`;
    const denied = await call('PUT', `${base}/ro/x?op=MKDIRS`);
    expect(denied.status).toBe(403);
    expect(denied.json.RemoteException.exception).toBe('AccessControlException');
    expect(denied.json.RemoteException.message).toContain('user=dr.who, access=WRITE');
    expect((await call('PUT', `${base}/ro/x?op=MKDIRS&user.name=eve`)).json).toEqual({ boolean: true });
  });
});
