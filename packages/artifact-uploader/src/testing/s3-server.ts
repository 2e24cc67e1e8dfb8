// Test support: an S3-compatible server (s3rver, from the npm registry) on a free loopback port
// with a temporary directory of its own, plus a log of the requests it received so tests can
// check what real S3 would have been sent (no aws-chunked bodies, no flexible checksums).

import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One request the S3 test server received. */
export interface RecordedS3Request {
  /** HTTP method. */
  readonly method: string;
  /** Path and query, e.g. `/bucket/key?uploadId=…&partNumber=1`. */
  readonly url: string;
  /** Request headers, lower-case names. */
  readonly headers: IncomingHttpHeaders;
}

/** Options of {@link startS3Server}. */
export interface S3ServerOptions {
  /** Buckets that exist from the start. @default ['artifacts'] */
  readonly buckets?: readonly string[];
}

/** A running S3 test server. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>`, for `s3.endpoint`. */
  readonly endpoint: string;
  /** The one access key id the server accepts (s3rver's built-in account). */
  readonly accessKeyId: string;
  /** Its secret. s3rver does not verify SigV4 signatures, so a wrong secret is not detected. */
  readonly secretAccessKey: string;
  /** The directory holding the buckets. */
  readonly directory: string;
  /** Every request received, oldest first. */
  readonly requests: RecordedS3Request[];
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

/**
 * Starts s3rver on `127.0.0.1` on a free port with its own temporary directory. It checks the
 * access key id (an unknown one gets `InvalidAccessKeyId`) but not SigV4 signatures. Needs the
 * optional peer dependency `s3rver`.
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  // A computed specifier keeps bundlers from inlining this optional, test-only dependency.
  const specifier = 's3rver';
  let S3rver: S3rverConstructor;
  try {
    const module = (await import(specifier)) as { default: S3rverConstructor };
    S3rver = module.default;
  } catch (cause) {
    throw new Error('startS3Server needs the npm package s3rver (an optional peer dependency): pnpm add -D s3rver', {
      cause,
    });
  }
  const directory = await mkdtemp(join(tmpdir(), 'spark-mesos-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? ['artifacts']).map((name) => ({ name })),
  });
  let address: { port: number };
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const requests: RecordedS3Request[] = [];
  server.httpServer?.prependListener('request', (request) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
  });
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory,
    requests,
    async close() {
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
