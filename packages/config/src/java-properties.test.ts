import { isSparkMesosError } from '@spark-mesos/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatJavaProperties, parseJavaProperties } from './java-properties.js';

const asMap = (text: string) => Object.fromEntries(parseJavaProperties(text).map((entry) => [entry.key, entry.value]));

describe('parseJavaProperties', () => {
  it('reads the three separators with surrounding blanks', () => {
    expect(asMap('a=1\nb = 2\nc:3\nd : 4\ne 5\nf\t \f6\ng   =  7\nh\n')).toEqual({
      a: '1',
      b: '2',
      c: '3',
      d: '4',
      e: '5',
      f: '6',
      g: '7',
      h: '',
    });
  });

  it('takes only the first separator: the rest belongs to the value', () => {
    expect(asMap('a=b=c\nx: y: z\nk  =: v')).toEqual({ a: 'b=c', x: 'y: z', k: ': v' });
  });

  it('skips comments and blank lines, with line numbers of the rest', () => {
    const entries = parseJavaProperties('# c\n! c\n\n   \n  spark.a 1\n\t# indented comment\nspark.b=2');
    expect(entries).toEqual([
      { key: 'spark.a', value: '1', line: 5 },
      { key: 'spark.b', value: '2', line: 7 },
    ]);
  });

  it('continues lines ending in an odd number of backslashes, dropping leading blanks', () => {
    expect(asMap('a=one, \\\n    two, \\\n\tthree\nb=x\\\\\nc=y\\\\\\\n  z')).toEqual({
      a: 'one, two, three',
      b: 'x\\',
      c: 'y\\z',
    });
    expect(parseJavaProperties('x=1\nlong=a\\\n b\\\n c\nafter=2').map((entry) => entry.line)).toEqual([1, 2, 5]);
  });

  it('does not continue a comment ending in a backslash', () => {
    expect(asMap('# comment \\\nspark.a=1')).toEqual({ 'spark.a': '1' });
  });

  it('continues into a line starting with # when the logical line is not empty', () => {
    expect(asMap('a=\\\n#not-a-comment')).toEqual({ a: '#not-a-comment' });
  });

  it('handles \\r\\n and lone \\r line ends, continuations included', () => {
    expect(asMap('a=1\r\nb=2\rc=3\r\nd=x\\\r\n  y\re=z\\\r  w')).toEqual({ a: '1', b: '2', c: '3', d: 'xy', e: 'zw' });
    expect(parseJavaProperties('a=1\r\n\r\nb=2\r\rc=3').map((entry) => entry.line)).toEqual([1, 3, 5]);
  });

  it('decodes escapes: \\uXXXX, \\t \\n \\r \\f, and any other escaped char as itself', () => {
    expect(asMap('k=\\u00e9\\u20AC\\t\\n\\r\\f\\q\\\\\\=\\:')).toEqual({ k: 'é€\t\n\r\fq\\=:' });
  });

  it('keeps escaped separators and blanks in keys', () => {
    expect(asMap('a\\=b=c\nx\\:y:z\nsp\\ ace = v\n\\#hash=1')).toEqual({
      'a=b': 'c',
      'x:y': 'z',
      'sp ace': 'v',
      '#hash': '1',
    });
  });

  it('keeps trailing whitespace of values, as Java does', () => {
    expect(asMap('a = value  \t')).toEqual({ a: 'value  \t' });
  });

  it('resolves duplicate keys last-wins, with the last line', () => {
    expect(parseJavaProperties('a=1\nb=2\na=3')).toEqual([
      { key: 'b', value: '2', line: 2 },
      { key: 'a', value: '3', line: 3 },
    ]);
  });

  it('follows Java at end of input: a final lone backslash is dropped, even leaving an empty entry', () => {
    expect(asMap('a=b\\')).toEqual({ a: 'b' });
    expect(asMap('\\')).toEqual({ '': '' });
    expect(asMap('\\\n')).toEqual({ '': '' });
    expect(asMap('\\\r\n')).toEqual({});
    expect(asMap('=v')).toEqual({ '': 'v' });
  });

  it('rejects a malformed \\u escape naming source and line', () => {
    for (const text of ['ok=1\nbad=\\u12', 'ok=1\nbad=\\u12G4', 'ok=1\n\\uZZZZ=x']) {
      let caught: unknown;
      try {
        parseJavaProperties(text, { source: '/etc/spark/conf/spark-defaults.conf' });
      } catch (error) {
        caught = error;
      }
      expect(isSparkMesosError(caught, 'SM_ERR_CONFIG_FILE')).toBe(true);
      expect((caught as Error).message).toContain('/etc/spark/conf/spark-defaults.conf:2: malformed \\uxxxx encoding');
    }
  });
});

describe('formatJavaProperties', () => {
  it('escapes what the parser would otherwise misread', () => {
    expect(formatJavaProperties({ 'a b': ' x', 'k=:#!': 'v=:#!', t: '\t\n\r\f\\', u: 'é\u0001' })).toBe(
      'a\\ b=\\ x\nk\\=\\:\\#\\!=v\\=\\:\\#\\!\nt=\\t\\n\\r\\f\\\\\nu=\\u00e9\\u0001\n',
    );
  });
});

// Any UTF-16 code unit, lone surrogates included, with the characters that matter over-weighted.
const codeUnit = fc.oneof(
  fc.constantFrom('\\', 'u', '=', ':', ' ', '\t', '\f', '\n', '\r', '#', '!', '0', 'a'),
  fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
);
const propertyText = fc.string({ unit: codeUnit, maxLength: 200 });

describe('parseJavaProperties properties', () => {
  it('never throws anything but SparkMesosError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(propertyText, fc.string({ unit: 'binary' })), (text) => {
        try {
          parseJavaProperties(text);
        } catch (error) {
          if (!isSparkMesosError(error, 'SM_ERR_CONFIG_FILE')) throw error;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('stays fast on huge continuation chains', () => {
    const text = `k=${'a\\\n   '.repeat(100_000)}end\n${'\\\n'.repeat(100_000)}x=\\u00`;
    const started = performance.now();
    expect(() => parseJavaProperties(text)).toThrow(/malformed/);
    expect(parseJavaProperties(text.slice(0, text.indexOf('x=')))[0]?.value).toBe(`${'a'.repeat(100_000)}end`);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('round-trips arbitrary maps through formatJavaProperties', () => {
    const text = fc.string({ unit: codeUnit, maxLength: 30 });
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(text, text), { selector: ([key]) => key, maxLength: 8 }), (pairs) => {
        const parsed = parseJavaProperties(formatJavaProperties(pairs));
        expect(new Map(parsed.map((entry) => [entry.key, entry.value]))).toEqual(new Map(pairs));
      }),
      { numRuns: 3000 },
    );
  });
});
