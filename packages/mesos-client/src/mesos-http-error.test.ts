import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import {
  createMesosHttpError,
  createMesosNetworkError,
  isRetryable,
  isSubscriptionLost,
  mesosHttpErrorCode,
  parseRetryAfter,
  resolveLeaderLocation,
} from './mesos-http-error.js';
import { loadRecordedExchange, type RecordedExchange } from './testing/recorded-exchange.js';

const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
const MASTER = 'http://127.0.0.1:5050/api/v1/scheduler';

/** Builds the error the client would build from a recorded answer. */
function errorOf(
  exchange: RecordedExchange,
  url = MASTER,
  request?: Parameters<typeof createMesosHttpError>[0]['request'],
) {
  const { response } = exchange;
  return createMesosHttpError({
    method: exchange.request?.method ?? 'POST',
    url,
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    body: response.decodedBody,
    ...(request ? { request } : {}),
  });
}

async function load(path: string): Promise<RecordedExchange> {
  const slash = path.lastIndexOf('/');
  return loadRecordedExchange(`${fixtures}${path.slice(0, slash + 1)}`, path.slice(slash + 1));
}

// Every err-* answer of the JSON flow: [name, status, code, subscription lost?, message fragment]
const flowErrors: [string, number, string, boolean, string][] = [
  ['err-wrong-stream-id', 400, 'SM_ERR_MESOS_BAD_REQUEST', true, 'new Mesos-Stream-Id'],
  ['err-missing-stream-id', 400, 'SM_ERR_MESOS_BAD_REQUEST', true, 'Send the Mesos-Stream-Id header'],
  ['err-malformed-json', 400, 'SM_ERR_MESOS_BAD_REQUEST', false, 'Failed to parse body into JSON'],
  ['err-empty-body', 400, 'SM_ERR_MESOS_BAD_REQUEST', false, 'Failed to parse body into JSON'],
  ['err-unknown-call-type', 400, 'SM_ERR_MESOS_BAD_REQUEST', false, "Expecting 'type' to be present"],
  ['err-missing-framework-id', 400, 'SM_ERR_MESOS_BAD_REQUEST', false, "Expecting 'framework_id'"],
  ['err-wrong-framework-id', 400, 'SM_ERR_MESOS_BAD_REQUEST', false, 'subscribe again without a framework id'],
  ['err-unsupported-content-type', 415, 'SM_ERR_MESOS_UNSUPPORTED_MEDIA_TYPE', false, 'no charset'],
  ['err-content-type-with-charset', 415, 'SM_ERR_MESOS_UNSUPPORTED_MEDIA_TYPE', false, 'exactly application/json'],
  ['err-not-acceptable', 406, 'SM_ERR_MESOS_NOT_ACCEPTABLE', false, 'Send Accept'],
  ['err-get-method', 405, 'SM_ERR_MESOS_METHOD_NOT_ALLOWED', false, 'Use POST'],
  ['err-subscribe-with-stream-id-header', 400, 'SM_ERR_MESOS_BAD_REQUEST', false, 'with SUBSCRIBE'],
  ['err-subscribe-with-stream-id-header-2', 400, 'SM_ERR_MESOS_BAD_REQUEST', false, 'with SUBSCRIBE'],
  ['err-no-content-type', 400, 'SM_ERR_MESOS_BAD_REQUEST', false, "Expecting 'Content-Type' to be present"],
];

describe('createMesosHttpError on the recorded flow/err-* answers', () => {
  it('covers every err-* recording with a non-2xx answer', () => {
    const names = readdirSync(`${fixtures}flow`)
      .filter((file) => file.startsWith('err-') && file.endsWith('.response.raw'))
      .map((file) => file.replace('.response.raw', ''));
    // err-accept-unknown-offer is answered 202: Mesos accepts an ACCEPT naming an unknown offer.
    expect(names.filter((name) => name !== 'err-accept-unknown-offer').sort()).toEqual(
      flowErrors.map(([name]) => name).sort(),
    );
  });

  it.each(flowErrors)('%s → %i %s', async (name, status, code, lost, fragment) => {
    const exchange = await load(`flow/${name}`);
    expect(exchange.response.status).toBe(status);
    const error = errorOf(exchange);
    expect(error).toBeInstanceOf(SparkMesosError);
    expect(error.code).toBe(code);
    const body = Buffer.from(exchange.response.decodedBody).toString('utf8').trim();
    expect(
      error.message.startsWith(
        `[${exchange.request!.method}] "${MASTER}": ${status} ${exchange.response.statusText}: ${body}`,
      ),
    ).toBe(true);
    expect(error.message).toContain(fragment);
    expect(error.details).toMatchObject({ status, method: exchange.request!.method, url: MASTER, body });
    expect(isSubscriptionLost(error)).toBe(lost);
    expect(isRetryable(error)).toBe(false);
  });

  it('the recorded 405 names the allowed method from the Allow header', async () => {
    const error = errorOf(await load('flow/err-get-method'));
    expect(error.details.allow).toBe('POST');
    expect(error.message).toContain("405 Method Not Allowed: 405 Method Not Allowed. Expecting one of { 'POST' }");
  });

  it('flow2: a call with the old stream id after a failover means the subscription is lost', async () => {
    const error = errorOf(await load('flow2/failover-old-stream-id-after-failover'));
    expect(error.code).toBe('SM_ERR_MESOS_BAD_REQUEST');
    expect(error.details.reason).toBe('stream-id-mismatch');
    expect(isSubscriptionLost(error)).toBe(true);
  });

  it('flow_pb: a garbage protobuf body is a bad request', async () => {
    const error = errorOf(await load('flow_pb/pb-err-garbage-body'));
    expect(error.code).toBe('SM_ERR_MESOS_BAD_REQUEST');
    expect(error.message).toContain('Failed to parse body into Call protobuf');
  });
});

describe('createMesosHttpError on the top-level error-* captures', () => {
  it.each([
    ['error-malformed-json', 'SM_ERR_MESOS_BAD_REQUEST', false],
    ['error-subscribe-missing-user', 'SM_ERR_MESOS_BAD_REQUEST', false],
    ['error-wrong-stream-id', 'SM_ERR_MESOS_NOT_SUBSCRIBED', true],
  ])('%s → %s', async (name, code, lost) => {
    const error = errorOf(await load(name), MASTER, { callType: name.includes('subscribe') ? 'SUBSCRIBE' : 'REVIVE' });
    expect(error.code).toBe(code);
    expect(isSubscriptionLost(error)).toBe(lost);
    expect(isRetryable(error)).toBe(false);
  });

  it('any other 403 is an authorization refusal, not a lost subscription', () => {
    const error = createMesosHttpError({
      method: 'POST',
      url: MASTER,
      status: 403,
      headers: {},
      body: "Not authorized to use roles 'analytics'",
    });
    expect(error.code).toBe('SM_ERR_MESOS_FORBIDDEN');
    expect(error.message).toContain('--acls');
    expect(isSubscriptionLost(error)).toBe(false);
    expect(isRetryable(error)).toBe(false);
  });

  it('403 "Framework is not subscribed" says to subscribe again', async () => {
    const error = errorOf(await load('error-wrong-stream-id'), MASTER, { callType: 'REVIVE' });
    expect(error.message).toBe(
      `[POST] "${MASTER}" REVIVE: 403 Forbidden: Framework is not subscribed. The master knows the framework but it is not connected: SUBSCRIBE again with its framework_id before sending other calls.`,
    );
    expect(error.details).toMatchObject({ reason: 'not-subscribed', callType: 'REVIVE' });
  });
});

describe('createMesosHttpError on auth/*', () => {
  const authorization = `Basic ${Buffer.from('fw:fixture-secret').toString('base64')}`;

  it.each(['subscribe-noauth', 'subscribe-wrongpass'])(
    '%s → 401 naming principal/secret, no secret leaks',
    async (name) => {
      const exchange = await load(`auth/${name}`);
      const error = errorOf(exchange, 'http://fw:fixture-secret@127.0.0.1:5070/api/v1/scheduler', {
        callType: 'SUBSCRIBE',
        principal: 'fw',
        headers: { Authorization: authorization },
        secrets: ['fixture-secret'],
      });
      expect(error.code).toBe('SM_ERR_MESOS_UNAUTHORIZED');
      expect(error.message).toContain('realm "mesos-master-scheduler"');
      expect(error.message).toContain('principal and secret settings');
      expect(error.message).toContain('"fw"');
      const everything = JSON.stringify({ message: error.message, details: error.details, cause: error.cause });
      expect(everything).not.toContain('fixture-secret');
      expect(everything).not.toContain(authorization.slice(6));
      expect(error.details.url).toBe('http://fw:****@127.0.0.1:5070/api/v1/scheduler');
      expect(isRetryable(error)).toBe(false);
      expect(isSubscriptionLost(error)).toBe(false);
    },
  );

  it('a body echoing the secret is redacted', () => {
    const error = createMesosHttpError({
      method: 'POST',
      url: MASTER,
      status: 401,
      headers: {},
      body: `bad credentials ${Buffer.from('fw:fixture-secret').toString('base64')} / fixture-secret`,
      request: { headers: new Headers({ authorization }) },
    });
    expect(error.message).not.toContain('fixture-secret');
    expect(error.message).not.toContain(authorization.slice(6));
    expect(error.message).toContain('****');
  });

  it('subscribe-principal-mismatch → 400 with the principal fix', async () => {
    const error = errorOf(await load('auth/subscribe-principal-mismatch'));
    expect(error.code).toBe('SM_ERR_MESOS_BAD_REQUEST');
    expect(error.details.reason).toBe('principal-mismatch');
    expect(error.message).toContain('framework_info.principal');
  });
});

describe('307 from a non-leading master (zookeeper_ha/subscribe-nonleader)', () => {
  it('is SM_ERR_NOT_LEADER with the Location as given and the leader URL resolved', async () => {
    const exchange = await load('zookeeper_ha/subscribe-nonleader');
    expect(exchange.response.status).toBe(307);
    const error = errorOf(exchange, 'http://127.0.0.1:5061/api/v1/scheduler', { callType: 'SUBSCRIBE' });
    expect(error.code).toBe('SM_ERR_NOT_LEADER');
    expect(error.details.location).toBe('//127.0.0.1:5060/master/api/v1/scheduler');
    expect(error.details.leaderUrl).toBe('http://127.0.0.1:5060/master/api/v1/scheduler');
    expect(error.message).toBe(
      '[POST] "http://127.0.0.1:5061/api/v1/scheduler" SUBSCRIBE: 307 Temporary Redirect. This master is not the leader; the leader is at "http://127.0.0.1:5060/master/api/v1/scheduler": send the call there (or let the master detector re-detect the leader).',
    );
    expect(isRetryable(error)).toBe(true);
    expect(isSubscriptionLost(error)).toBe(false);
  });
});

describe('resolveLeaderLocation', () => {
  it('keeps our scheme, drops our credentials, and keeps explicit ports', () => {
    const location = '//127.0.0.1:5060/master/api/v1/scheduler';
    expect(resolveLeaderLocation(location, 'https://u:p@m2:5061/api/v1/scheduler')).toBe(
      'https://127.0.0.1:5060/master/api/v1/scheduler',
    );
    expect(resolveLeaderLocation('//127.0.0.1:5060', 'http://m2:5061/master/redirect')).toBe('http://127.0.0.1:5060/');
    expect(resolveLeaderLocation('http://leader/api/v1/scheduler', 'https://m2:5061/api/v1/scheduler')).toBe(
      'https://leader:80/api/v1/scheduler',
    );
    expect(resolveLeaderLocation('/master/api/v1/scheduler', 'http://m2:5061/api/v1/scheduler')).toBe(
      'http://m2:5061/master/api/v1/scheduler',
    );
  });

  it('rejects an empty Location', () => {
    expect(() => resolveLeaderLocation('', MASTER)).toThrow(SparkMesosError);
  });
});

describe('codes, predicates and Retry-After', () => {
  it.each([
    [429, 'SM_ERR_MESOS_TOO_MANY_REQUESTS', true],
    [503, 'SM_ERR_MESOS_UNAVAILABLE', true],
    [500, 'SM_ERR_MESOS_SERVER', true],
    [502, 'SM_ERR_MESOS_SERVER', true],
    [404, 'SM_ERR_MESOS_NOT_FOUND', false],
    [409, 'SM_ERR_MESOS_CONFLICT', false],
    [418, 'SM_ERR_MESOS_HTTP', false],
    [302, 'SM_ERR_MESOS_HTTP', false],
  ])('%i → %s (retryable %s)', (status, code, retryable) => {
    expect(mesosHttpErrorCode(status)).toBe(code);
    const error = createMesosHttpError({
      method: 'POST',
      url: MASTER,
      status,
      headers: [['Retry-After', '7']],
      body: '',
    });
    expect(error.code).toBe(code);
    expect(isRetryable(error)).toBe(retryable);
    expect(error.details.retryAfterSeconds).toBe(7);
    expect(error.message).toMatch(new RegExp(`^\\[POST\\] "${MASTER}": ${status} [A-Za-z' ]+\\. `));
  });

  it('503 says no leader is elected yet', () => {
    const error = createMesosHttpError({ method: 'POST', url: MASTER, status: 503, headers: {}, body: '' });
    expect(error.message).toContain('no elected leader yet or is recovering');
  });

  it('keeps at most 4 KiB of a body', () => {
    const error = createMesosHttpError({
      method: 'POST',
      url: MASTER,
      status: 500,
      headers: {},
      body: 'x'.repeat(10_000),
    });
    expect((error.details.body as string).length).toBeLessThan(4200);
  });

  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(30);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('network errors are retryable; on the event stream they also lose the subscription', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5050'), { code: 'ECONNREFUSED' });
    const call = createMesosNetworkError('POST', 'http://u:pw@127.0.0.1:5050/api/v1/scheduler', cause, {
      callType: 'ACCEPT',
    });
    expect(call.code).toBe('SM_ERR_MESOS_NETWORK');
    expect(call.cause).toBe(cause);
    expect(call.message).toBe(
      '[POST] "http://u:****@127.0.0.1:5050/api/v1/scheduler" ACCEPT: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:5050. Check that the master is running and reachable at this address; the call can be retried.',
    );
    expect(isRetryable(call)).toBe(true);
    expect(isSubscriptionLost(call)).toBe(false);
    const stream = createMesosNetworkError('POST', MASTER, new Error('other side closed'), { stream: true });
    expect(isSubscriptionLost(stream)).toBe(true);
    expect(stream.message).toContain('re-subscribe');
  });

  it('predicates ignore anything but SparkMesosError', () => {
    expect(isRetryable(new Error('x'))).toBe(false);
    expect(isSubscriptionLost({ code: 'SM_ERR_MESOS_NOT_SUBSCRIBED' })).toBe(false);
    expect(isRetryable(new SparkMesosError('SM_ERR_RECORDIO_TRUNCATED', 'x', { cause: null }))).toBe(false);
  });
});

describe('createMesosNetworkError and TLS', () => {
  it('makes an untrusted master certificate SM_ERR_MESOS_TLS, final and naming the fix', () => {
    const cause = Object.assign(new Error('unable to verify the first certificate'), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    const error = createMesosNetworkError('POST', 'https://m:5050/api/v1/scheduler', cause, { stream: true });
    expect(error.code).toBe('SM_ERR_MESOS_TLS');
    expect(error.message).toContain('tls.ca');
    expect(isRetryable(error)).toBe(false);
    expect(isSubscriptionLost(error)).toBe(false);
  });

  it('finds the certificate code one level down, as undici wraps socket errors', () => {
    const cause = Object.assign(new Error('fetch failed'), {
      cause: Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      }),
    });
    expect(createMesosNetworkError('POST', 'https://m:5050/x', cause).code).toBe('SM_ERR_MESOS_TLS');
  });

  it('keeps a closed connection retryable and hints at client certificates for https', () => {
    const cause = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const secure = createMesosNetworkError('POST', 'https://m:5050/api/v1/scheduler', cause);
    expect(secure.code).toBe('SM_ERR_MESOS_NETWORK');
    expect(isRetryable(secure)).toBe(true);
    expect(secure.message).toContain('tls.cert and tls.key');
    expect(createMesosNetworkError('POST', 'http://m:5050/x', cause).message).not.toContain('tls.cert');
  });
});
