import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SparkMesosError } from '@spark-mesos/errors';
import { afterEach, describe, expect, it } from 'vitest';
import type { ArtifactDestination, DestinationFactory, StoredArtifact } from './destination.js';
import { createDestination } from './destinations.js';
import { createProgressReporter } from './progress.js';
import { backoffDelay } from './retry.js';
import { createPackFixture } from './testing/package-fixtures.js';
import { ensureExecutorPackage, sha256OfFile, splitDestination, type UploadEvent, uploadArtifact } from './upload.js';

const cleanup: string[] = [];
afterEach(async () => {
  for (const directory of cleanup.splice(0)) await rm(directory, { recursive: true, force: true });
});

async function temporary(prefix: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  cleanup.push(directory);
  return directory;
}

async function sampleFile(content = 'package bytes'): Promise<string> {
  const file = join(await temporary('spark-mesos-up-'), 'spark-mesos-executor-0123456789abcdef.tgz');
  await writeFile(file, content);
  return file;
}

/** An in-memory store that records calls and fails on demand. */
function memoryStore(options: { stored?: StoredArtifact; failPut?: SparkMesosError[]; announcedSize?: number }) {
  const calls: string[] = [];
  const failures = [...(options.failPut ?? [])];
  let stored = options.stored;
  const store: ArtifactDestination = {
    uriOf: (name) => `mem://bucket/${name}`,
    async stat(name) {
      calls.push(`stat ${name}`);
      return stored;
    },
    async put(name, file) {
      calls.push(`put ${name}`);
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      stored = { size: file.size, sha256: file.sha256 };
    },
    async remove(name) {
      calls.push(`remove ${name}`);
      stored = undefined;
    },
    async checkFetchable(name) {
      calls.push(`check ${name}`);
      return { size: options.announcedSize ?? stored?.size ?? 0 };
    },
  };
  const factories: Record<string, DestinationFactory> = { mem: () => store };
  return { calls, factories };
}

const serverError = (status: number) =>
  new SparkMesosError('SM_ERR_ARTIFACT_UPLOAD', `server said ${status}`, {
    cause: null,
    details: { retryable: status >= 500, status },
  });

describe('uploadArtifact flow', () => {
  it('uploads a missing package, then finds it and sends nothing (one stat when the store saw it as an agent does)', async () => {
    const file = await sampleFile();
    const { calls, factories } = memoryStore({});
    const first = await uploadArtifact(file, 'mem://bucket/', { destinations: factories, progress: false });
    expect(first).toMatchObject({
      uri: 'mem://bucket/spark-mesos-executor-0123456789abcdef.tgz',
      uploaded: true,
      size: 13,
    });
    expect(first.sha256).toBe(await sha256OfFile(file));
    expect(calls.map((call) => call.split(' ')[0])).toEqual(['stat', 'put', 'check']);
    calls.length = 0;
    const second = await uploadArtifact(file, 'mem://bucket/', { destinations: factories, progress: false });
    expect(second.uploaded).toBe(false);
    // The memory store's stat is not an agent's fetch, so the flow checks once more.
    expect(calls.map((call) => call.split(' ')[0])).toEqual(['stat', 'check']);
  });

  it('replaces an object of the wrong size or checksum under the final name', async () => {
    const file = await sampleFile();
    for (const stored of [{ size: 3 }, { size: 13, sha256: 'f'.repeat(64) }]) {
      const events: UploadEvent[] = [];
      const { calls, factories } = memoryStore({ stored });
      const result = await uploadArtifact(file, 'mem://bucket/', {
        destinations: factories,
        progress: false,
        onEvent: (event) => events.push(event),
      });
      expect(result.uploaded).toBe(true);
      expect(calls.map((call) => call.split(' ')[0])).toEqual(['stat', 'put', 'check']);
      expect(events.map((event) => event.type)).toEqual(['replacing', 'uploading', 'uploaded']);
    }
  });

  it('retries 5xx with jittered backoff and never 401/403/404', async () => {
    const file = await sampleFile();
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    const flaky = memoryStore({ failPut: [serverError(503), serverError(502)] });
    const result = await uploadArtifact(file, 'mem://bucket/', {
      destinations: flaky.factories,
      progress: false,
      sleep,
      random: () => 0.5,
      retryBaseDelayMs: 100,
    });
    expect(result.uploaded).toBe(true);
    expect(waits).toEqual([75, 150]);
    expect(flaky.calls.filter((call) => call.startsWith('put'))).toHaveLength(3);

    for (const status of [401, 403, 404]) {
      waits.length = 0;
      const refused = memoryStore({ failPut: [serverError(status)] });
      await expect(
        uploadArtifact(file, 'mem://bucket/', { destinations: refused.factories, progress: false, sleep }),
      ).rejects.toMatchObject({ code: 'SM_ERR_ARTIFACT_UPLOAD', details: { status } });
      expect(waits).toEqual([]);
    }

    const down = memoryStore({ failPut: Array.from({ length: 5 }, () => serverError(500)) });
    await expect(
      uploadArtifact(file, 'mem://bucket/', { destinations: down.factories, progress: false, sleep, retries: 2 }),
    ).rejects.toMatchObject({ message: expect.stringContaining('gave up after 3 attempts'), details: { attempts: 3 } });
  });

  it('keeps backoff within its jitter band and cap', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const low = backoffDelay(attempt, { random: () => 0, retryBaseDelayMs: 500, retryMaxDelayMs: 8000 });
      const high = backoffDelay(attempt, { random: () => 0.999999, retryBaseDelayMs: 500, retryMaxDelayMs: 8000 });
      const full = Math.min(8000, 500 * 2 ** attempt);
      expect(low).toBe(full / 2);
      expect(high).toBeLessThanOrEqual(full);
      expect(high).toBeGreaterThan(full * 0.99);
    }
  });

  it('reports a package the store announces with another size as unreachable', async () => {
    const file = await sampleFile();
    const { factories } = memoryStore({ announcedSize: 7 });
    await expect(
      uploadArtifact(file, 'mem://bucket/', { destinations: factories, progress: false }),
    ).rejects.toMatchObject({
      code: 'SM_ERR_ARTIFACT_UNREACHABLE',
      message: expect.stringMatching(/mem:\/\/bucket\/spark-mesos-executor-0123456789abcdef\.tgz.*7 bytes.*13/),
    });
  });

  it('names the supported schemes for an unknown one', () => {
    expect(() => createDestination('ftp://user:pw@host/x/')).toThrow(
      expect.objectContaining({
        code: 'SM_ERR_BAD_CONFIG',
        message: expect.stringMatching(
          /"ftp:\/\/user:\*\*\*\*@host\/x\/".*file:\/\/, hdfs:\/\/, http:\/\/, https:\/\/, s3:\/\/, s3a:\/\/, s3n:\/\/, swebhdfs:\/\/, webhdfs:\/\//,
        ),
      }),
    );
  });

  it('splits a destination into prefix and name', () => {
    expect(splitDestination('http://h/p/', 'x.tgz')).toEqual({ prefix: 'http://h/p/', name: 'x.tgz' });
    expect(splitDestination('s3://bucket/dir/pkg.tgz', 'x')).toEqual({ prefix: 's3://bucket/dir/', name: 'pkg.tgz' });
    expect(() => splitDestination('http://host', 'x')).toThrow(expect.objectContaining({ code: 'SM_ERR_BAD_CONFIG' }));
  });
});

describe('file:// destination', () => {
  it('uploads, skips an unchanged package with a single stat, and replaces a corrupt one', async () => {
    const file = await sampleFile('x'.repeat(1000));
    const directory = await temporary('spark-mesos-dest-');
    const prefix = `${pathToFileURL(directory).toString()}/packages/`;
    const first = await uploadArtifact(file, prefix, { progress: false });
    expect(first.uploaded).toBe(true);
    const target = join(directory, 'packages', 'spark-mesos-executor-0123456789abcdef.tgz');
    expect(first.uri).toBe(pathToFileURL(target).toString());
    expect(readFileSync(target, 'utf8')).toBe('x'.repeat(1000));
    expect((await uploadArtifact(file, prefix, { progress: false })).uploaded).toBe(false);
    await writeFile(target, 'x'.repeat(10)); // cut short by an earlier crash, say
    expect((await uploadArtifact(file, prefix, { progress: false })).uploaded).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('x'.repeat(1000));
    // No temporary files left behind.
    expect(readdirSync(join(directory, 'packages'))).toEqual(['spark-mesos-executor-0123456789abcdef.tgz']);
    // A plain absolute path is a file destination too.
    expect((await uploadArtifact(file, `${directory}/packages/`, { progress: false })).uploaded).toBe(false);
  });

  it('explains an unwritable destination without retrying', async () => {
    const file = await sampleFile();
    const directory = await temporary('spark-mesos-dest-');
    await writeFile(join(directory, 'a-file'), '');
    const waits: number[] = [];
    await expect(
      uploadArtifact(file, `${pathToFileURL(directory).toString()}/a-file/packages/`, {
        progress: false,
        sleep: async (ms) => {
          waits.push(ms);
        },
      }),
    ).rejects.toMatchObject({
      code: 'SM_ERR_ARTIFACT_UPLOAD',
      message: expect.stringContaining('is a file, not a directory'),
    });
    expect(waits).toEqual([]);
  });

  it('ensureExecutorPackage packs once, uploads once, and uses a finished package as is', async () => {
    const fixture = await createPackFixture();
    cleanup.push(fixture.directory);
    const directory = await temporary('spark-mesos-dest-');
    const options = {
      runtimeDirectory: fixture.runtimeDirectory,
      application: { directory: fixture.appDirectory },
      outputDirectory: join(directory, 'out'),
      destination: `${pathToFileURL(directory).toString()}/hosted/`,
      progress: false as const,
    };
    const first = await ensureExecutorPackage(options);
    expect(first.uploaded).toBe(true);
    expect(first.uri).toMatch(/\/hosted\/spark-mesos-executor-[0-9a-f]{16}\.tgz$/);
    expect(first.uri).toContain(first.sha256?.slice(0, 16));
    const again = await ensureExecutorPackage(options);
    expect(again).toMatchObject({ uri: first.uri, sha256: first.sha256, uploaded: false });
    const finished = await ensureExecutorPackage({ ...options, destination: first.uri });
    expect(finished).toMatchObject({ uri: first.uri, uploaded: false });
    await expect(ensureExecutorPackage({ ...options, destination: `${first.uri}.missing` })).rejects.toMatchObject({
      code: 'SM_ERR_ARTIFACT_UNREACHABLE',
      message: expect.stringContaining('.tgz.missing'),
    });
    expect(existsSync(join(directory, 'out'))).toBe(true);
  });
});

describe('progress bar', () => {
  it('draws on a terminal only, after the first second, and clears itself', () => {
    let now = 0;
    const written: string[] = [];
    const tty = { isTTY: true, columns: 100, write: (text: string) => written.push(text) };
    const bar = createProgressReporter({ label: 'pkg.tgz', stream: tty, now: () => now });
    bar.update(10, 100);
    expect(written).toEqual([]);
    now = 1500;
    bar.update(50 * 1024 * 1024, 100 * 1024 * 1024);
    expect(written[0]).toMatch(/^\rpkg\.tgz \[#+\.+\] {2}50% 50\.0\/100\.0 MiB 33\.3 MiB\/s$/);
    bar.done();
    expect(written[1]).toBe('\r\x1b[2K');
    const pipe = { isTTY: false, write: (text: string) => written.push(text) };
    const quiet = createProgressReporter({ label: 'x', stream: pipe, now: () => now });
    now = 5000;
    quiet.update(1, 2);
    quiet.done();
    expect(written).toHaveLength(2);
  });
});
