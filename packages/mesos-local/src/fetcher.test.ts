// The fetcher without servers or child processes: validation, local files, output files, the
// executable bit, pluggable schemes and what lands in the sandbox's stderr.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSparkMesosError } from '@spark-mesos/errors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentFetcherOptions, createFetcherCache, fetchFailureMessage, fetchUris, type UriFetcher } from './fetcher.js';

let root: string;
let sandbox: string;
let source: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'mesos-local-fetcher-'));
  sandbox = join(root, 'sandbox');
  source = join(root, 'source');
  mkdirSync(sandbox);
  mkdirSync(source);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const stderrOf = (): string => readFileSync(join(sandbox, 'stderr'), 'utf8');

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  const error = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  if (!(error instanceof Error)) throw new Error('expected the fetch to fail');
  return error;
}

describe('fetchUris with local files', () => {
  it('copies an absolute path and a file:// URI under their basenames and logs like Mesos', async () => {
    writeFileSync(join(source, 'a.txt'), 'alpha');
    writeFileSync(join(source, 'b.txt'), 'beta');
    const results = await fetchUris([{ value: join(source, 'a.txt') }, { value: `file://${join(source, 'b.txt')}` }], {
      sandbox,
    });
    expect(readFileSync(join(sandbox, 'a.txt'), 'utf8')).toBe('alpha');
    expect(readFileSync(join(sandbox, 'b.txt'), 'utf8')).toBe('beta');
    expect(results.map((result) => result.path)).toEqual([join(sandbox, 'a.txt'), join(sandbox, 'b.txt')]);
    expect(stderrOf()).toContain(`Fetching URI '${join(source, 'a.txt')}'`);
    expect(stderrOf()).toContain(`Fetched '${join(source, 'a.txt')}' to '${join(sandbox, 'a.txt')}'`);
    expect(stderrOf()).toContain(`Successfully fetched all URIs into '${sandbox}'`);
  });

  it('writes to output_file relative to the sandbox, creating its directories', async () => {
    writeFileSync(join(source, 'conf'), 'x=1');
    await fetchUris([{ value: join(source, 'conf'), output_file: 'etc/app/app.conf' }], { sandbox });
    expect(readFileSync(join(sandbox, 'etc/app/app.conf'), 'utf8')).toBe('x=1');
  });

  it('sets mode 0755 for executable and leaves other files as they were', async () => {
    writeFileSync(join(source, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o600 });
    writeFileSync(join(source, 'data'), 'd', { mode: 0o600 });
    await fetchUris([{ value: join(source, 'run.sh'), executable: true }, { value: join(source, 'data') }], {
      sandbox,
    });
    expect(statSync(join(sandbox, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(join(sandbox, 'data')).mode & 0o111).toBe(0);
  });

  it('copies a file with extract but no archive extension, saying so in stderr', async () => {
    writeFileSync(join(source, 'plain.bin'), 'p');
    await fetchUris([{ value: join(source, 'plain.bin'), extract: true }], { sandbox });
    expect(readFileSync(join(sandbox, 'plain.bin'), 'utf8')).toBe('p');
    expect(stderrOf()).toContain('does not seem to be an archive');
  });

  it('fails on a missing file with SM_ERR_FETCH_FAILED in Mesos words, in the error and in stderr', async () => {
    const missing = join(source, 'missing.jar');
    const error = await failure(fetchUris([{ value: missing }], { sandbox }));
    expect(isSparkMesosError(error, 'SM_ERR_FETCH_FAILED')).toBe(true);
    expect(error.message).toMatch(new RegExp(`^Failed to fetch '${missing}': .*ENOENT`));
    expect(stderrOf()).toContain(`Failed to fetch '${missing}'`);
  });

  it('stops at the first failing URI, as the Mesos fetcher does', async () => {
    writeFileSync(join(source, 'later'), 'l');
    await failure(fetchUris([{ value: join(source, 'nope') }, { value: join(source, 'later') }], { sandbox }));
    expect(() => statSync(join(sandbox, 'later'))).toThrow();
  });

  it('resolves a relative path against frameworksHome and refuses one without it', async () => {
    writeFileSync(join(source, 'rel.txt'), 'r');
    await fetchUris([{ value: 'rel.txt' }], { sandbox, frameworksHome: source });
    expect(readFileSync(join(sandbox, 'rel.txt'), 'utf8')).toBe('r');
    const error = await failure(fetchUris([{ value: 'rel.txt' }], { sandbox }));
    expect(error.message).toContain('Mesos framework home was not specified');
    const fileUri = await failure(fetchUris([{ value: 'file://dir/rel.txt' }], { sandbox }));
    expect(fileUri.message).toContain('File URI only supports absolute paths');
  });
});

describe('fetchUris validation', () => {
  it.each([
    [{ value: 'http://host-without-path' }, 'Malformed URI (missing path)'],
    [{ value: "/tmp/it's" }, 'Illegal characters in URI'],
    [{ value: '/tmp/a', output_file: '/etc/passwd' }, 'URI output file must be within the sandbox directory'],
    [{ value: '/tmp/a', output_file: '../outside' }, 'URI output file must be within the sandbox directory'],
    [{ value: '/tmp/a', output_file: '' }, 'URI output file path is empty'],
  ])('rejects %j before fetching anything', async (uri, reason) => {
    writeFileSync(join(source, 'first'), 'f');
    const error = await failure(fetchUris([{ value: join(source, 'first') }, uri], { sandbox }));
    expect(isSparkMesosError(error, 'SM_ERR_FETCH_INVALID_URI')).toBe(true);
    expect(error.message.startsWith(`Failed to fetch '${uri.value}': ${reason}`)).toBe(true);
    expect(() => statSync(join(sandbox, 'first'))).toThrow();
    expect(fetchFailureMessage(error, 'c1')).toBe(
      `Failed to launch container: Could not fetch: ${(error as unknown as { details: { reason: string } }).details.reason}`,
    );
  });
});

describe('fetchUris with other schemes', () => {
  it('fails an s3:// or hdfs:// URI without a fetcher with SM_ERR_FETCH_UNSUPPORTED_SCHEME naming the fix', async () => {
    for (const uri of ['s3://bucket/jobs/app.jar', 'hdfs://namenode:8020/jobs/app.jar']) {
      const error = await failure(fetchUris([{ value: uri }], { sandbox }));
      expect(isSparkMesosError(error, 'SM_ERR_FETCH_UNSUPPORTED_SCHEME')).toBe(true);
      expect(error.message).toMatch(new RegExp(`^Failed to fetch '${uri}': the URI scheme '\\w+' is not supported`));
      expect(error.message).toContain('fetchers');
      expect(stderrOf()).toContain(`Failed to fetch '${uri}'`);
    }
  });

  it('hands the URI to the injected fetcher of its scheme, then extracts or chmods like any download', async () => {
    const calls: Array<[string, string]> = [];
    const s3: UriFetcher = async (uri, destination) => {
      calls.push([uri, destination]);
      writeFileSync(destination, '#!/bin/sh\n');
    };
    await fetchUris([{ value: 's3://bucket/bin/tool', executable: true }], { sandbox, fetchers: { s3 } });
    expect(calls).toEqual([['s3://bucket/bin/tool', join(sandbox, 'tool')]]);
    expect(statSync(join(sandbox, 'tool')).mode & 0o777).toBe(0o755);
  });

  it('wraps an injected fetcher failure in SM_ERR_FETCH_FAILED with its reason', async () => {
    const hdfs: UriFetcher = async () => {
      throw new Error('NameNode is in safe mode');
    };
    const error = await failure(fetchUris([{ value: 'hdfs://nn/a.jar' }], { sandbox, fetchers: { hdfs } }));
    expect(isSparkMesosError(error, 'SM_ERR_FETCH_FAILED')).toBe(true);
    expect(error.message).toBe("Failed to fetch 'hdfs://nn/a.jar': NameNode is in safe mode");
    expect(fetchFailureMessage(error, 'run-1')).toBe(
      "Failed to launch container: Failed to fetch all URIs for container 'run-1': exited with status 1",
    );
  });
});

describe('fetcher cache with local files', () => {
  it('copies from the cache and never refreshes it, per user', async () => {
    const cache = createFetcherCache(join(root, 'cache'));
    const file = join(source, 'lib.jar');
    writeFileSync(file, 'v1');
    const first = await fetchUris([{ value: file, cache: true }], { sandbox, cache, user: 'alice' });
    expect(first[0]?.fromCache).toBe(false);
    writeFileSync(file, 'v2');
    const second = join(root, 'sandbox2');
    mkdirSync(second);
    const again = await fetchUris([{ value: file, cache: true }], { sandbox: second, cache, user: 'alice' });
    expect(again[0]?.fromCache).toBe(true);
    expect(readFileSync(join(second, 'lib.jar'), 'utf8')).toBe('v1');
    // Another user has a cache of its own.
    const third = join(root, 'sandbox3');
    mkdirSync(third);
    await fetchUris([{ value: file, cache: true }], { sandbox: third, cache, user: 'bob' });
    expect(readFileSync(join(third, 'lib.jar'), 'utf8')).toBe('v2');
  });

  it('copies an executable from the cache with mode 0755, leaving the cache file as it was', async () => {
    const cache = createFetcherCache(join(root, 'cache'));
    const file = join(source, 'tool');
    writeFileSync(file, '#!/bin/sh\n', { mode: 0o600 });
    await fetchUris([{ value: file, cache: true, executable: true }], { sandbox, cache });
    expect(statSync(join(sandbox, 'tool')).mode & 0o777).toBe(0o755);
    const [cacheFile] = readdirSync(join(root, 'cache'));
    expect(cacheFile).toMatch(/^c1-tool$/);
    expect(statSync(join(root, 'cache', cacheFile as string)).mode & 0o111).toBe(0);
  });

  it('empties the cache directory when a cache is created, as an agent does at start', () => {
    const directory = join(root, 'cache');
    mkdirSync(directory);
    writeFileSync(join(directory, 'c1-stale'), 's');
    createFetcherCache(directory);
    expect(() => statSync(join(directory, 'c1-stale'))).toThrow();
  });

  it('gives each agent of a cluster its own cache directory', () => {
    expect(agentFetcherOptions({ cacheDirectory: '/c' }, 'M-S1').cacheDirectory).toBe('/c/M-S1');
    expect(agentFetcherOptions({}, 'M-S1').cacheDirectory).toBeUndefined();
  });
});
