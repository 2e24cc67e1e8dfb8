import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { SparkConf } from '@spark-mesos/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SparkContext } from './spark-context.js';

const lines = Array.from({ length: 2000 }, (_, index) => `line ${index} ${'é'.repeat(index % 7)}`);
const text = `${lines.join('\n')}\n`;
const files: Record<string, Buffer> = { '/data.txt': Buffer.from(text), '/data.txt.gz': gzipSync(text) };

/** Serves /data.txt and /data.txt.gz; with `ranges`, answers Range requests with 206 as nginx does. */
function startServer(ranges: boolean, requests: string[]): Promise<Server> {
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.headers.range ?? ''}`);
    const body = files[request.url ?? ''];
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    const headers: Record<string, string | number> = { 'content-type': 'text/plain' };
    if (ranges) headers['accept-ranges'] = 'bytes';
    const range = ranges ? /^bytes=(\d+)-$/.exec(request.headers.range ?? '') : null;
    const start = range ? Number(range[1]) : 0;
    const slice = body.subarray(start);
    headers['content-length'] = slice.length;
    if (range) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    response.writeHead(range ? 206 : 200, headers);
    response.end(request.method === 'HEAD' ? undefined : slice);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('textFile over http(s)', () => {
  let sc: SparkContext;
  const servers: Server[] = [];
  beforeAll(async () => {
    sc = await SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('http-text'));
  });
  afterAll(async () => {
    await sc?.stop();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('splits a file served with Range support by byte ranges', async () => {
    const requests: string[] = [];
    const server = await startServer(true, requests);
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.txt`;
    const ds = sc.textFile(url, 4);
    expect(await ds.getNumPartitions()).toBe(4);
    expect(await ds.collect()).toEqual(lines);
    expect(requests.filter((request) => request.startsWith('GET bytes=')).length).toBe(3);
  });

  it('reads a file served without ranges as one split', async () => {
    const requests: string[] = [];
    const server = await startServer(false, requests);
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.txt`;
    const ds = sc.textFile(url, 4);
    expect(await ds.getNumPartitions()).toBe(1);
    expect(await ds.count()).toBe(lines.length);
    await expect(sc.textFile(url.replace('data', 'missing')).count()).rejects.toMatchObject({
      code: 'SM_ERR_INPUT_NOT_FOUND',
      message: expect.stringContaining('404'),
    });
  });

  it('reads a .gz URL whole and gunzipped', async () => {
    const requests: string[] = [];
    const server = await startServer(true, requests);
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.txt.gz`;
    const ds = sc.textFile(url, 4);
    expect(await ds.getNumPartitions()).toBe(1);
    expect(await ds.collect()).toEqual(lines);
  });
});
