import { readFileSync } from 'node:fs';
import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { parseCredentials } from './credentials.js';

describe('parseCredentials', () => {
  it('reads the JSON file a real master was started with (auth/creds.json)', () => {
    const text = readFileSync(new URL('./__fixtures__/auth/creds.json', import.meta.url), 'utf8');
    expect(parseCredentials(text)).toEqual([{ principal: 'fw', secret: 'fixture-secret' }]);
  });

  it('reads the text form, one "principal secret" per line', () => {
    expect(parseCredentials('fw fixture-secret\n\n  spark   s3cret \n')).toEqual([
      { principal: 'fw', secret: 'fixture-secret' },
      { principal: 'spark', secret: 's3cret' },
    ]);
  });

  it('names the entry or line at fault', () => {
    const bad = (text: string): unknown => {
      try {
        parseCredentials(text, 'creds.json');
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const missing = bad('{"credentials":[{"principal":"fw"}]}');
    expect(isSparkMesosError(missing, 'SM_ERR_BAD_CONFIG')).toBe(true);
    expect((missing as Error).message).toContain('creds.json: entry 0');
    expect((bad('{"principals":[]}') as Error).message).toContain('no "credentials" array');
    expect((bad('fw\n') as Error).message).toContain('line 1');
  });
});
