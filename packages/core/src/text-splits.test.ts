import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask } from './__test__/in-process-backend.js';
import { composeTaskSource } from './task-runtime.js';
import { computeTextSplits, listTextFiles, type TextSplit } from './text-splits.js';

const readSplit = composeTaskSource({ source: 'text', steps: [], action: { op: 'collect', fn: null } });

async function linesOf(split: TextSplit): Promise<string[]> {
  const outcome = await runTask({
    taskId: 't',
    stageId: 0,
    partition: 0,
    attempt: 0,
    function: { kind: 'source', source: readSplit },
    captured: serialize({ values: [undefined], partitions: null, extras: [null] }),
    input: serialize(split),
  });
  if (outcome.state !== 'finished') throw new Error(JSON.stringify(outcome));
  const { deserialize } = await import('node:v8');
  return deserialize(outcome.result) as string[];
}

/** Lines as Hadoop's LineRecordReader yields them: \n, \r and \r\n end lines; no empty last line. */
function expectedLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

describe('computeTextSplits (Hadoop FileInputFormat.getSplits)', () => {
  it('splits by goal size with a 10% slop on the last split', () => {
    expect(computeTextSplits([{ path: '/f', length: 100, splittable: true }], 3)).toEqual([
      { path: '/f', start: 0, end: 33 },
      { path: '/f', start: 33, end: 66 },
      { path: '/f', start: 66, end: 100 },
    ]);
    // 105/2 = 52: 52, then 53 left, 53/52 < 1.1 so one last split.
    expect(computeTextSplits([{ path: '/f', length: 105, splittable: true }], 2)).toHaveLength(2);
    // An empty file is one empty split, as in Hadoop's old-API FileInputFormat.
    expect(computeTextSplits([{ path: '/e', length: 0, splittable: true }], 2)).toEqual([
      { path: '/e', start: 0, end: 0 },
    ]);
    // Capped by the block size.
    expect(computeTextSplits([{ path: '/f', length: 100, splittable: true }], 1, 25)).toHaveLength(4);
    expect(computeTextSplits([{ url: 'http://h/f', length: 0, splittable: false }], 4)).toEqual([
      { url: 'http://h/f', start: 0, end: Number.MAX_SAFE_INTEGER },
    ]);
  });
});

describe('reading text splits', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'spark-mesos-text-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('property: the splits of a file yield each line exactly once, in order', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(fc.constantFrom('\n', '\r\n', '\r', 'a', 'bc', 'é', '日本', ' '), fc.string({ maxLength: 5 })),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 40 }),
        async (pieces, minPartitions, blockSize) => {
          const text = pieces.join('');
          const file = join(directory, `f${run++}.txt`);
          await writeFile(file, text);
          const files = await listTextFiles(file);
          const splits = computeTextSplits(files, minPartitions, blockSize);
          const lines: string[] = [];
          for (const split of splits) lines.push(...(await linesOf(split)));
          expect(lines).toEqual(expectedLines(text));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads lines across 64 KiB read chunks, with \\r\\n split between chunks', async () => {
    // A deterministic pseudo-random 1.5 MiB text: long and short lines, all three terminators,
    // multi-byte characters, so chunk and split boundaries fall everywhere.
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const terminators = ['\n', '\r\n', '\r'];
    let text = '';
    while (text.length < 1_500_000) {
      const length = random() < 0.05 ? Math.floor(random() * 200_000) : Math.floor(random() * 80);
      text += 'é'.repeat(Math.floor(length / 10)) + 'x'.repeat(length) + terminators[Math.floor(random() * 3)];
    }
    const file = join(directory, 'large.txt');
    await writeFile(file, text);
    for (const minPartitions of [1, 3, 7, 40]) {
      const splits = computeTextSplits(await listTextFiles(file), minPartitions);
      const lines: string[] = [];
      for (const split of splits) lines.push(...(await linesOf(split)));
      expect(lines).toEqual(expectedLines(text));
    }
  });

  it('handles \\r\\n across a chunk boundary that is also a split boundary', async () => {
    const file = join(directory, 'boundary.txt');
    const text = `${'a'.repeat(65535)}\r\nb\nc`;
    await writeFile(file, text);
    const first = await linesOf({ path: file, start: 0, end: 65536 });
    const second = await linesOf({ path: file, start: 65536, end: text.length });
    expect([first.length, second]).toEqual([1, ['b', 'c']]);
    expect(first[0]).toHaveLength(65535);
  });

  it('drops the byte order mark of the file but keeps U+FEFF starting a later line', async () => {
    const file = join(directory, 'bom.txt');
    await writeFile(file, '\ufefffirst\n\ufeffsecond\n');
    expect(await linesOf({ path: file, start: 0, end: 100 })).toEqual(['first', '\ufeffsecond']);
  });

  it('reads a .gz file whole and gunzipped, as one split', async () => {
    const { gzipSync } = await import('node:zlib');
    const file = join(directory, 'lines.txt.gz');
    const text = Array.from({ length: 30_000 }, (_, index) => `row ${index}`).join('\n');
    await writeFile(file, gzipSync(text));
    const splits = computeTextSplits(await listTextFiles(file), 8);
    expect(splits).toEqual([{ path: file, gzip: true, start: 0, end: Number.MAX_SAFE_INTEGER }]);
    expect(await linesOf(splits[0]!)).toEqual(expectedLines(text));
    const empty = join(directory, 'empty.gz');
    await writeFile(empty, '');
    const emptySplits = computeTextSplits(await listTextFiles(empty), 2);
    expect(emptySplits).toEqual([{ path: empty, gzip: true, start: 0, end: 0 }]);
    expect(await linesOf(emptySplits[0]!)).toEqual([]);
  });

  it('lists a directory without hidden and underscore files, and reports a missing path', async () => {
    const folder = join(directory, 'folder');
    await (await import('node:fs/promises')).mkdir(folder);
    await writeFile(join(folder, 'b'), 'b\n');
    await writeFile(join(folder, 'a'), 'a\n');
    await writeFile(join(folder, '_SUCCESS'), '');
    await writeFile(join(folder, '.a.crc'), 'x');
    expect((await listTextFiles(folder)).map((file) => file.path)).toEqual([join(folder, 'a'), join(folder, 'b')]);
    await expect(listTextFiles(join(directory, 'missing'))).rejects.toMatchObject({ code: 'SM_ERR_INPUT_NOT_FOUND' });
    // Comma-separated locations and patterns in the last component, as Hadoop's FileInputFormat.
    await writeFile(join(folder, 'c.log'), 'c\n');
    const pathsOf = async (location: string) => (await listTextFiles(location)).map((file) => file.path);
    expect(await pathsOf(join(folder, '[ab]'))).toEqual([join(folder, 'a'), join(folder, 'b')]);
    expect(await pathsOf(join(folder, '*.log'))).toEqual([join(folder, 'c.log')]);
    expect(await pathsOf(`${join(folder, 'b')},${join(folder, '?.log')}`)).toEqual([
      join(folder, 'b'),
      join(folder, 'c.log'),
    ]);
    await expect(listTextFiles(join(folder, '*.csv'))).rejects.toMatchObject({
      code: 'SM_ERR_INPUT_NOT_FOUND',
      message: expect.stringContaining('matches 0 files'),
    });
  });
});
