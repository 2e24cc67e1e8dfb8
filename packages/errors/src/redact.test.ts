import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets, redactUrlCredentials, truncateBody } from './redact.js';

describe('redactUrlCredentials', () => {
  it('masks passwords and keeps users', () => {
    expect(redactUrlCredentials('mesos://zk://jo:s3cret@h1:2181/mesos')).toBe(
      `mesos://zk://jo:${REDACTED}@h1:2181/mesos`,
    );
    expect(redactUrlCredentials('see http://a:b@x and s3://k:v@bucket/p')).toBe(
      `see http://a:${REDACTED}@x and s3://k:${REDACTED}@bucket/p`,
    );
  });
  it('leaves URLs without a password alone', () => {
    expect(redactUrlCredentials('http://user@host/ and mesos://h:5050')).toBe('http://user@host/ and mesos://h:5050');
  });
});

describe('redactSecrets', () => {
  it('masks every occurrence, longest secret first', () => {
    expect(redactSecrets('pw=abc, again abcdef', ['abc', 'abcdef', ''])).toBe(`pw=${REDACTED}, again ${REDACTED}`);
  });
});

describe('truncateBody', () => {
  it('keeps short bodies and cuts long ones with a marker', () => {
    expect(truncateBody('short')).toBe('short');
    const cut = truncateBody('x'.repeat(5000));
    expect(cut.startsWith('x'.repeat(4096))).toBe(true);
    expect(cut).toContain('904 more characters');
  });
});
