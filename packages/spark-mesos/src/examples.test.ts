import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: the examples are plain JavaScript without declarations.
import { estimatePi } from '../../../examples/pi/pi.mjs';
// @ts-expect-error: the examples are plain JavaScript without declarations.
import { countWords } from '../../../examples/word-count/word-count.mjs';
import { SparkConf, SparkContext } from './index.js';

const wordCountInput = fileURLToPath(new URL('../../../examples/word-count/input.txt', import.meta.url));

describe('examples on local[2]', () => {
  let sc: SparkContext;
  beforeAll(async () => {
    sc = await SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('examples'));
  });
  afterAll(() => sc.stop());

  it('pi estimates π', async () => {
    const pi = await estimatePi(sc, 200_000, 4);
    // 200,000 samples: the standard deviation of the estimate is about 0.004.
    expect(Math.abs(pi - Math.PI)).toBeLessThan(0.05);
  });

  it('word-count counts like plain JavaScript over the whole file', async () => {
    const text = await readFile(wordCountInput, 'utf8');
    const expected = new Map<string, number>();
    for (const word of text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []) {
      expected.set(word, (expected.get(word) ?? 0) + 1);
    }
    const counts = (await countWords(sc, wordCountInput, 3)) as Array<[string, number]>;
    expect(new Map(counts)).toEqual(expected);
    expect(counts[0]).toEqual(['the', expected.get('the')]);
    for (let index = 1; index < counts.length; index++) {
      expect(counts[index - 1]![1]).toBeGreaterThanOrEqual(counts[index]![1]);
    }
  });
});
