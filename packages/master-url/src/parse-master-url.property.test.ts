import { isSparkMesosError, type SparkMesosError } from '@spark-mesos/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMasterUrl } from './format-master-url.js';
import type { MasterUrl } from './master-url.js';
import { parseMasterUrl } from './parse-master-url.js';

const RUNS = 5000;

/** Parses, and checks that any failure is a proper SM_ERR_BAD_MASTER_URL. */
function parseOrRejection(text: string): MasterUrl | SparkMesosError {
  try {
    return parseMasterUrl(text);
  } catch (error) {
    if (!isSparkMesosError(error, 'SM_ERR_BAD_MASTER_URL')) throw error;
    return error;
  }
}

// Pieces that steer random text into the interesting branches of the parser.
const piece = fc.constantFrom(
  'local',
  'local-cluster',
  '[',
  ']',
  '*',
  ',',
  ' ',
  'mesos://',
  'mesos+https://',
  'zk://',
  'http://',
  '@',
  ':',
  '/',
  '[::1]',
  '2181',
  '5050',
  '0',
  'h1',
  '.',
  '..',
  '%',
  '?',
  '#',
  '\u0000',
  '\u00e9',
  '-',
);
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc
    .array(fc.oneof(piece, fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 16 })
    .map((parts) => parts.join('')),
);

describe('parseMasterUrl fuzzing', () => {
  it('never crashes: every input is accepted or rejected with SM_ERR_BAD_MASTER_URL', () => {
    fc.assert(
      fc.property(text, (input) => {
        const result = parseOrRejection(input);
        if (!(result instanceof Error)) {
          // Whatever is accepted also survives a format/parse round trip.
          expect(parseMasterUrl(formatMasterUrl(result))).toStrictEqual(result);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('stays fast on long inputs (no catastrophic backtracking)', () => {
    const started = performance.now();
    for (const input of [
      `local[${'1'.repeat(100_000)}`,
      `local-cluster[${' 1 ,'.repeat(50_000)}`,
      `local[1${' '.repeat(100_000)}`,
      `mesos://zk://${'h,'.repeat(50_000)}/m`,
      `mesos://${'a.'.repeat(100_000)}`,
      `mesos://zk://${'u:@'.repeat(50_000)}h/m`,
    ]) {
      parseOrRejection(input);
    }
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('never puts a zk://user:PASSWORD@ password in a rejection', () => {
    const user = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
    // A marker keeps the password from turning up by chance in the rest of the message.
    const password = fc.string({ unit: 'binary', minLength: 1, maxLength: 24 }).map((tail) => `Pw${tail}`);
    const rest = fc.oneof(
      fc.constant('h1:2181/mesos'),
      fc.stringMatching(/^[a-oq-z0-9:,/.[\]-]{0,30}$/),
      fc
        .array(
          piece.filter((p) => !p.includes('P')),
          { maxLength: 8 },
        )
        .map((parts) => parts.join('')),
    );
    const prefix = fc.constantFrom('mesos://zk://', 'mesos+https://zk://', 'zk://', 'mesos://', 'http://');
    fc.assert(
      fc.property(prefix, user, password, rest, (start, name, secret, tail) => {
        const result = parseOrRejection(`${start}${name}:${secret}@${tail}`);
        if (result instanceof Error) {
          expect(result.message).not.toContain(secret);
          expect(JSON.stringify(result.details)).not.toContain(JSON.stringify(secret).slice(1, -1));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('round-trips generated valid URLs through format and parse', () => {
    const count = fc.integer({ min: 1, max: 2_147_483_647 });
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const hostName = fc
      .array(label, { minLength: 1, maxLength: 4 })
      .map((labels) => labels.join('.'))
      .filter((name) => !/^[0-9.]+$/.test(name) && !/(^|\.)[0-9]+$/.test(name));
    const host = fc.oneof(hostName, fc.ipV4(), fc.ipV6());
    const port = fc.integer({ min: 1, max: 65535 });
    const scheme = fc.constantFrom('http' as const, 'https' as const);
    const segment = fc
      .stringMatching(/^[A-Za-z0-9_.:-]{1,12}$/)
      .filter((s) => s !== '.' && s !== '..' && s !== 'zookeeper');
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
    const auth = fc.record({
      scheme: fc.constant('digest' as const),
      username: fc.stringMatching(/^[A-Za-z0-9._-]{1,10}$/),
      password: fc.stringMatching(/^[\x21-\x7e]{1,20}$/),
    });
    const url: fc.Arbitrary<MasterUrl> = fc.oneof(
      fc.record({
        kind: fc.constant('local' as const),
        threads: fc.oneof(count, fc.constant('*' as const)),
        maxFailures: count,
      }),
      fc.record({
        kind: fc.constant('local-cluster' as const),
        agents: count,
        coresPerAgent: count,
        memoryPerAgentMb: count,
      }),
      fc.record({
        kind: fc.constant('mesos' as const),
        master: fc.record({ kind: fc.constant('static' as const), scheme, host, port }),
      }),
      fc.record({
        kind: fc.constant('mesos' as const),
        master: fc.record(
          {
            kind: fc.constant('zookeeper' as const),
            scheme,
            servers: fc.array(fc.record({ host, port }), { minLength: 1, maxLength: 4 }),
            path,
            auth,
          },
          { requiredKeys: ['kind', 'scheme', 'servers', 'path'] },
        ),
      }),
    );
    fc.assert(
      fc.property(url, (value) => {
        // fast-check builds null-prototype records; compare plain copies.
        expect(parseMasterUrl(formatMasterUrl(value))).toStrictEqual(JSON.parse(JSON.stringify(value)));
        // The masked form parses too (to the masked password) and never shows the real one.
        if (value.kind === 'mesos' && value.master.kind === 'zookeeper' && value.master.auth !== undefined) {
          const masked = formatMasterUrl(value, { maskPassword: true });
          expect(masked).toContain(`${value.master.auth.username}:****@`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
