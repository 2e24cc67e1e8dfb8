import { readFileSync } from 'node:fs';
import { SparkMesosError } from '@spark-mesos/errors';
import type { FrameworkCredential } from './master-http.js';

/**
 * Mesos' `--credentials` file: JSON `{"credentials":[{"principal":"…","secret":"…"}]}`, or the
 * older text form, one `principal secret` pair per line.
 *
 * @see https://mesos.apache.org/documentation/latest/authentication/
 * @see https://github.com/apache/mesos/blob/master/src/credentials/credentials.hpp
 * @module
 */

function badCredentials(source: string, problem: string, cause: unknown): SparkMesosError {
  return new SparkMesosError(
    'SM_ERR_BAD_CONFIG',
    `Invalid credentials in ${source}: ${problem}. Write {"credentials":[{"principal":"p","secret":"s"}]} or one "principal secret" line per credential.`,
    { cause },
  );
}

/**
 * Parses the text of a Mesos credentials file (JSON when it parses as JSON, else text lines).
 *
 * @param source names the file in error messages @default 'credentials'
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the entry or line at fault
 */
export function parseCredentials(text: string, source = 'credentials'): FrameworkCredential[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (json !== undefined) {
    const list = (json as { credentials?: unknown } | null)?.credentials;
    if (!Array.isArray(list)) throw badCredentials(source, 'no "credentials" array', { json });
    return list.map((entry: unknown, index) => {
      const { principal, secret } = (entry ?? {}) as { principal?: unknown; secret?: unknown };
      if (typeof principal !== 'string' || principal === '' || typeof secret !== 'string') {
        throw badCredentials(source, `entry ${index} needs a non-empty "principal" and a "secret" string`, { index });
      }
      return { principal, secret };
    });
  }
  const credentials: FrameworkCredential[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const words = line.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) continue;
    if (words.length !== 2)
      throw badCredentials(source, `line ${index + 1} is not "principal secret"`, { line: index + 1 });
    credentials.push({ principal: words[0] as string, secret: words[1] as string });
  }
  return credentials;
}

/**
 * Reads a Mesos credentials file (the CLI's `--credentials`).
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when it cannot be read or parsed
 */
export function readCredentialsFile(path: string): FrameworkCredential[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `Cannot read the credentials file ${path}: ${(error as Error).message}. Pass a readable file.`,
      { cause: error },
    );
  }
  return parseCredentials(text, path);
}
