import { STATUS_CODES } from 'node:http';
import { redactSecrets, redactUrlCredentials, SparkMesosError, truncateBody } from '@spark-mesos/errors';

/**
 * Turning Mesos' HTTP answers into {@link SparkMesosError}s with stable codes, and deciding what
 * a caller should do about them (retry, follow the leader, re-subscribe).
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @module
 */

/** The codes {@link createMesosHttpError} and {@link createMesosNetworkError} produce. */
export type MesosHttpErrorCode =
  | 'SM_ERR_NOT_LEADER'
  | 'SM_ERR_MESOS_BAD_REQUEST'
  | 'SM_ERR_MESOS_UNAUTHORIZED'
  | 'SM_ERR_MESOS_NOT_SUBSCRIBED'
  | 'SM_ERR_MESOS_FORBIDDEN'
  | 'SM_ERR_MESOS_NOT_FOUND'
  | 'SM_ERR_MESOS_METHOD_NOT_ALLOWED'
  | 'SM_ERR_MESOS_NOT_ACCEPTABLE'
  | 'SM_ERR_MESOS_CONFLICT'
  | 'SM_ERR_MESOS_UNSUPPORTED_MEDIA_TYPE'
  | 'SM_ERR_MESOS_TOO_MANY_REQUESTS'
  | 'SM_ERR_MESOS_UNAVAILABLE'
  | 'SM_ERR_MESOS_SERVER'
  | 'SM_ERR_MESOS_HTTP'
  | 'SM_ERR_MESOS_NETWORK'
  | 'SM_ERR_MESOS_TLS';

/**
 * Why a 400/403 answer was given, read from Mesos' (stable, since 1.0) error texts, in
 * `details.reason`.
 */
export type MesosRejectionReason =
  | 'stream-id-mismatch'
  | 'stream-id-missing'
  | 'stream-id-on-subscribe'
  | 'framework-not-found'
  | 'not-subscribed'
  | 'principal-mismatch';

/** Headers in any of the shapes undici, fetch and node:http use. */
export type HeadersLike =
  | Headers
  | Iterable<readonly [string, string]>
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** What the caller sent, to make the message precise and to keep its secrets out. */
export interface MesosRequestInfo {
  /** The call type, e.g. `SUBSCRIBE`, named in the message. @default undefined */
  readonly callType?: string;
  /** The framework principal in use, named by the 401 hint. @default undefined */
  readonly principal?: string;
  /**
   * Headers that were sent. An `Authorization` value (and the decoded Basic secret) is
   * redacted from everything the error keeps. @default undefined
   */
  readonly headers?: HeadersLike;
  /** Further secret values to redact (a framework secret, tokens). @default [] */
  readonly secrets?: Iterable<string>;
  /** Whether this request carried the subscription's event stream. @default false */
  readonly stream?: boolean;
}

/** Input of {@link createMesosHttpError}: a Mesos answer with a status of 300 or more. */
export interface MesosHttpErrorInput {
  /** Request method, e.g. `POST`. */
  readonly method: string;
  /** Request URL (credentials in it are redacted). */
  readonly url: string | URL;
  /** HTTP status, e.g. 400. */
  readonly status: number;
  /** Reason phrase. @default the standard phrase of `status` */
  readonly statusText?: string;
  /** Response headers (`Location`, `Retry-After`, `Allow`, `WWW-Authenticate` are read). */
  readonly headers: HeadersLike;
  /** Response body: Mesos sends `text/plain` explanations. Kept up to 4 KiB. */
  readonly body: string | Uint8Array;
  /** The request, for precision and redaction. @default undefined */
  readonly request?: MesosRequestInfo;
}

function headerOf(headers: HeadersLike | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  const lower = name.toLowerCase();
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    return (headers as Headers).get(lower) ?? undefined;
  }
  if (Symbol.iterator in headers) {
    const values: string[] = [];
    for (const [key, value] of headers as Iterable<readonly [string, string]>) {
      if (key.toLowerCase() === lower) values.push(value);
    }
    return values.length > 0 ? values.join(', ') : undefined;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower || value === undefined) continue;
    return typeof value === 'string' ? value : value.join(', ');
  }
  return undefined;
}

/** Every secret value a request reveals: Authorization header, its Basic password, URL password. */
function secretsOf(url: string, request: MesosRequestInfo | undefined): string[] {
  const secrets = [...(request?.secrets ?? [])];
  const authorization = headerOf(request?.headers, 'authorization');
  if (authorization) {
    secrets.push(authorization);
    const [scheme, token] = authorization.split(/\s+/, 2);
    if (token) {
      secrets.push(token);
      if (scheme?.toLowerCase() === 'basic') {
        const decoded = Buffer.from(token, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon >= 0 && colon < decoded.length - 1) secrets.push(decoded.slice(colon + 1));
      }
    }
  }
  try {
    const password = new URL(url).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // Not a URL we can parse: redactUrlCredentials still masks what looks like credentials.
  }
  return secrets;
}

/**
 * Seconds to wait that a `Retry-After` header asks for (delta-seconds or an HTTP date);
 * `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * Resolves the `Location` of a non-leading master's 307 against the URL that was asked, keeping
 * OUR scheme: Mesos sends scheme-less locations such as
 * `//127.0.0.1:5060/master/api/v1/scheduler`, and a client talking TLS must not be downgraded.
 * Credentials of `currentUrl` are not carried to the other host.
 *
 * @example resolveLeaderLocation('//127.0.0.1:5060/master/api/v1/scheduler', 'https://m2:5061/api/v1/scheduler')
 *   // 'https://127.0.0.1:5060/master/api/v1/scheduler'
 * @throws SparkMesosError `SM_ERR_NOT_LEADER` when `location` is empty or not a URL.
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 */
export function resolveLeaderLocation(location: string, currentUrl: string | URL): string {
  const current = new URL(currentUrl);
  let resolved: URL;
  try {
    if (location.trim() === '') throw new TypeError('empty Location');
    resolved = new URL(location.trim(), current);
  } catch (cause) {
    throw new SparkMesosError(
      'SM_ERR_NOT_LEADER',
      `The master at "${redactUrlCredentials(current.origin)}" is not the leader and its Location ${JSON.stringify(location)} is not a URL: detect the leader another way (mesos://zk://…).`,
      { cause, details: { location } },
    );
  }
  if (resolved.protocol !== current.protocol && /^https?:$/.test(resolved.protocol)) {
    // Keep the leader's port even when it was the default of the scheme it named.
    const port = resolved.port || (resolved.protocol === 'http:' ? '80' : '443');
    resolved.protocol = current.protocol;
    resolved.port = port;
  }
  resolved.username = '';
  resolved.password = '';
  return resolved.href;
}

const codeByStatus: Readonly<Record<number, MesosHttpErrorCode>> = {
  307: 'SM_ERR_NOT_LEADER',
  400: 'SM_ERR_MESOS_BAD_REQUEST',
  401: 'SM_ERR_MESOS_UNAUTHORIZED',
  // Only "Framework is not subscribed" is a lost subscription (see createMesosHttpError); any
  // other 403 is an authorization refusal that subscribing again cannot cure.
  403: 'SM_ERR_MESOS_FORBIDDEN',
  404: 'SM_ERR_MESOS_NOT_FOUND',
  405: 'SM_ERR_MESOS_METHOD_NOT_ALLOWED',
  406: 'SM_ERR_MESOS_NOT_ACCEPTABLE',
  409: 'SM_ERR_MESOS_CONFLICT',
  415: 'SM_ERR_MESOS_UNSUPPORTED_MEDIA_TYPE',
  429: 'SM_ERR_MESOS_TOO_MANY_REQUESTS',
  503: 'SM_ERR_MESOS_UNAVAILABLE',
};

/** The stable code of a Mesos answer with HTTP status `status`. */
export function mesosHttpErrorCode(status: number): MesosHttpErrorCode {
  return codeByStatus[status] ?? (status >= 500 && status <= 599 ? 'SM_ERR_MESOS_SERVER' : 'SM_ERR_MESOS_HTTP');
}

/** Reads the reason of a 400/403 from Mesos' error text. */
export function mesosRejectionReason(status: number, body: string): MesosRejectionReason | undefined {
  if (status === 403 && /Framework is not subscribed/i.test(body)) return 'not-subscribed';
  if (status !== 400) return undefined;
  if (/didn't match the stream ID/i.test(body)) return 'stream-id-mismatch';
  if (/should include the 'Mesos-Stream-Id' header/i.test(body)) return 'stream-id-missing';
  if (/should not include the 'Mesos-Stream-Id' header/i.test(body)) return 'stream-id-on-subscribe';
  if (/Framework cannot be found/i.test(body)) return 'framework-not-found';
  if (/Authenticated principal .* does not match principal/i.test(body)) return 'principal-mismatch';
  return undefined;
}

function hintFor(
  code: MesosHttpErrorCode,
  reason: MesosRejectionReason | undefined,
  facts: {
    leaderUrl?: string | undefined;
    allow?: string | undefined;
    realm?: string | undefined;
    principal?: string | undefined;
    retryAfterSeconds?: number | undefined;
  },
): string {
  const retryAfter = facts.retryAfterSeconds === undefined ? '' : ` (Retry-After: ${facts.retryAfterSeconds} s)`;
  switch (code) {
    case 'SM_ERR_NOT_LEADER':
      return facts.leaderUrl
        ? `This master is not the leader; the leader is at "${facts.leaderUrl}": send the call there (or let the master detector re-detect the leader).`
        : 'This master is not the leader and named none: re-detect the leader (mesos://zk://…) and retry.';
    case 'SM_ERR_MESOS_BAD_REQUEST':
      switch (reason) {
        case 'stream-id-mismatch':
          return 'The subscription this call belongs to was replaced (failover) or lost: re-subscribe and send the new Mesos-Stream-Id.';
        case 'stream-id-missing':
          return 'Send the Mesos-Stream-Id header of the SUBSCRIBE response with every other call.';
        case 'stream-id-on-subscribe':
          return 'Do not send a Mesos-Stream-Id header with SUBSCRIBE.';
        case 'framework-not-found':
          return 'The master does not know this framework id (torn down, or its failover timeout expired): subscribe again without a framework id.';
        case 'principal-mismatch':
          return 'Set framework_info.principal to the principal you authenticate as (the principal setting).';
        default:
          return 'Mesos rejected the call: check its fields against scheduler.proto (required fields, framework_id, enum names).';
      }
    case 'SM_ERR_MESOS_UNAUTHORIZED':
      return `Mesos requires framework authentication${facts.realm ? ` (realm "${facts.realm}")` : ''}${
        facts.principal ? ` and rejected principal "${facts.principal}"` : ''
      }: set the principal and secret settings to credentials in the master's --credentials.`;
    case 'SM_ERR_MESOS_NOT_SUBSCRIBED':
      return 'The master knows the framework but it is not connected: SUBSCRIBE again with its framework_id before sending other calls.';
    case 'SM_ERR_MESOS_FORBIDDEN':
      return "Mesos refused this principal the action (authorization ACLs): check the role, user and principal against the master's --acls.";
    case 'SM_ERR_MESOS_NOT_FOUND':
      return 'Check the master URL and path (/api/v1/scheduler); a master still starting may answer 404 briefly.';
    case 'SM_ERR_MESOS_METHOD_NOT_ALLOWED':
      return `Use ${facts.allow ?? 'POST'} for this endpoint.`;
    case 'SM_ERR_MESOS_NOT_ACCEPTABLE':
      return 'Send Accept: application/json or application/x-protobuf.';
    case 'SM_ERR_MESOS_CONFLICT':
      return 'The request conflicts with the master state or API version: check the Mesos version (1.x v1 API).';
    case 'SM_ERR_MESOS_UNSUPPORTED_MEDIA_TYPE':
      return 'Content-Type must be exactly application/json or application/x-protobuf, with no charset or other parameter.';
    case 'SM_ERR_MESOS_TOO_MANY_REQUESTS':
      return `The master rate-limits this framework${retryAfter}: retry later with backoff, or raise its --rate_limits.`;
    case 'SM_ERR_MESOS_UNAVAILABLE':
      return `The master has no elected leader yet or is recovering${retryAfter}: retry with backoff.`;
    case 'SM_ERR_MESOS_SERVER':
      return `Mesos failed internally${retryAfter}: retry with backoff and check the master log.`;
    default:
      return 'Mesos gave an unexpected answer: check the master URL and that it is a Mesos master.';
  }
}

function joinMessage(head: string, body: string, hint: string): string {
  if (body.length === 0) return `${head}. ${hint}`;
  return `${head}: ${body}${/[.!?]$/.test(body) ? '' : '.'} ${hint}`;
}

/**
 * Turns a Mesos answer with status 300 or more into a {@link SparkMesosError} with a stable code:
 * 307 `SM_ERR_NOT_LEADER`, 400 `SM_ERR_MESOS_BAD_REQUEST`, 401 `SM_ERR_MESOS_UNAUTHORIZED`,
 * 403 `SM_ERR_MESOS_NOT_SUBSCRIBED` ("Framework is not subscribed") or `SM_ERR_MESOS_FORBIDDEN` (any
 * other refusal, e.g. an authorization ACL), 404 `SM_ERR_MESOS_NOT_FOUND`, 405
 * `SM_ERR_MESOS_METHOD_NOT_ALLOWED`, 406 `SM_ERR_MESOS_NOT_ACCEPTABLE`, 409
 * `SM_ERR_MESOS_CONFLICT`, 415 `SM_ERR_MESOS_UNSUPPORTED_MEDIA_TYPE`, 429
 * `SM_ERR_MESOS_TOO_MANY_REQUESTS`, 503 `SM_ERR_MESOS_UNAVAILABLE`, other 5xx
 * `SM_ERR_MESOS_SERVER`, anything else `SM_ERR_MESOS_HTTP`.
 *
 * The message reads `[POST] "http://m:5050/api/v1/scheduler": 400 Bad Request: <body>. <fix>`.
 * `details` holds `status`, `statusText`, `method`, `url` (credentials redacted), `body` (at
 * most 4 KiB, secrets redacted), and when known `callType`, `reason`, `retryAfterSeconds`,
 * `location` (as sent) and `leaderUrl` (resolved, see {@link resolveLeaderLocation}), `allow`.
 * The Authorization header and secrets never appear.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 */
export function createMesosHttpError(input: MesosHttpErrorInput): SparkMesosError {
  const { method, status, request } = input;
  const rawUrl = String(input.url);
  const secrets = secretsOf(rawUrl, request);
  const clean = (value: string): string => redactUrlCredentials(redactSecrets(value, secrets));
  const url = clean(rawUrl);
  const statusText = input.statusText || STATUS_CODES[status] || 'Unknown Status';
  const bodyText = typeof input.body === 'string' ? input.body : Buffer.from(input.body).toString('utf8');
  const body = truncateBody(clean(bodyText).trim());
  const reason = mesosRejectionReason(status, bodyText);
  const code = reason === 'not-subscribed' ? 'SM_ERR_MESOS_NOT_SUBSCRIBED' : mesosHttpErrorCode(status);
  const retryAfterSeconds = parseRetryAfter(headerOf(input.headers, 'retry-after'));
  const allow = headerOf(input.headers, 'allow');
  const realm = /realm="([^"]*)"/i.exec(headerOf(input.headers, 'www-authenticate') ?? '')?.[1];
  const location = status >= 300 && status < 400 ? headerOf(input.headers, 'location') : undefined;
  let leaderUrl: string | undefined;
  if (location !== undefined) {
    try {
      leaderUrl = resolveLeaderLocation(location, rawUrl);
    } catch {
      leaderUrl = undefined;
    }
  }
  const hint = hintFor(code, reason, {
    leaderUrl,
    allow,
    realm,
    principal: request?.principal,
    retryAfterSeconds,
  });
  const call = request?.callType ? ` ${request.callType}` : '';
  const head = `[${method}] "${url}"${call}: ${status} ${statusText}`;
  const details: Record<string, unknown> = { status, statusText, method, url, body };
  if (request?.callType) details.callType = request.callType;
  if (reason) details.reason = reason;
  if (retryAfterSeconds !== undefined) details.retryAfterSeconds = retryAfterSeconds;
  if (location !== undefined) details.location = location;
  if (leaderUrl !== undefined) details.leaderUrl = leaderUrl;
  if (allow !== undefined) details.allow = allow;
  if (request?.stream) details.stream = true;
  return new SparkMesosError(code, joinMessage(head, body, hint), {
    cause: { status, statusText, body },
    details,
  });
}

// Node's (OpenSSL's) codes for a peer certificate that does not verify.
const CERTIFICATE_FAILURE =
  /^(UNABLE_TO_|CERT_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)/;

function errorCodeOf(cause: unknown): string | undefined {
  // undici may wrap the socket's error; look one level down too.
  for (let current = cause, depth = 0; depth < 3 && current !== null && typeof current === 'object'; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CERTIFICATE_FAILURE.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Wraps a connection failure (refused, reset, timeout, TLS, a stream cut mid-record) of a call
 * to Mesos as `SM_ERR_MESOS_NETWORK`. Pass `{ stream: true }` for the subscription's event
 * stream: losing it means the subscription is lost ({@link isSubscriptionLost}).
 *
 * A master certificate that does not verify (unknown CA, self-signed, wrong host name) is
 * `SM_ERR_MESOS_TLS` instead: not retryable, since trying again cannot make it trusted.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 */
export function createMesosNetworkError(
  method: string,
  url: string | URL,
  cause: unknown,
  request: MesosRequestInfo = {},
): SparkMesosError {
  const rawUrl = String(url);
  const secrets = secretsOf(rawUrl, request);
  const clean = (value: string): string => redactUrlCredentials(redactSecrets(value, secrets));
  const cleanUrl = clean(rawUrl);
  const causeCode = errorCodeOf(cause);
  const causeText = clean(
    cause instanceof Error ? `${typeof causeCode === 'string' ? `${causeCode}: ` : ''}${cause.message}` : String(cause),
  );
  const call = request.callType ? ` ${request.callType}` : '';
  const https = cleanUrl.startsWith('https:');
  if (causeCode !== undefined && CERTIFICATE_FAILURE.test(causeCode)) {
    return new SparkMesosError(
      'SM_ERR_MESOS_TLS',
      `[${method}] "${cleanUrl}"${call}: the master's TLS certificate is not trusted (${causeText}). Pass the CA that signed it as tls.ca (or give the master a certificate for this host name); retrying cannot help.`,
      {
        cause,
        details: { method, url: cleanUrl, causeCode, ...(request.callType ? { callType: request.callType } : {}) },
      },
    );
  }
  // With TLS 1.3 a refused client certificate arrives as a plain closed connection.
  const clientCertificateHint = https
    ? ' If the master requires client certificates (--ssl_require_cert), pass tls.cert and tls.key.'
    : '';
  const fix = request.stream
    ? 'The event stream is lost: re-detect the leader and re-subscribe.'
    : 'Check that the master is running and reachable at this address; the call can be retried.';
  const details: Record<string, unknown> = { method, url: cleanUrl };
  if (typeof causeCode === 'string') details.causeCode = causeCode;
  if (request.callType) details.callType = request.callType;
  if (request.stream) details.stream = true;
  return new SparkMesosError(
    'SM_ERR_MESOS_NETWORK',
    `[${method}] "${cleanUrl}"${call}: ${causeText}. ${fix}${clientCertificateHint}`,
    {
      cause,
      details,
    },
  );
}

function codeOf(error: unknown): string | undefined {
  if (!(error instanceof SparkMesosError)) return undefined;
  return error.code;
}

const retryableCodes: ReadonlySet<string> = new Set([
  'SM_ERR_MESOS_NETWORK',
  'SM_ERR_MESOS_UNAVAILABLE',
  'SM_ERR_MESOS_TOO_MANY_REQUESTS',
  'SM_ERR_MESOS_SERVER',
  'SM_ERR_NOT_LEADER',
]);

/**
 * Whether retrying the same call may succeed: network failures, 503 (no leader yet, recovering),
 * 429 (honour `details.retryAfterSeconds`), other 5xx, and 307 (retry at `details.leaderUrl`).
 * mesos-go's `Temporary()` covers only 429 and 503; network errors and 307 are retried by its
 * HTTP client and redirect handling.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 */
export function isRetryable(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && retryableCodes.has(code);
}

/**
 * Whether the error means the event subscription is gone and the framework must SUBSCRIBE again:
 * 403 "Framework is not subscribed" (mesos-go's `SubscriptionLoss()`), 400 with a wrong or
 * missing `Mesos-Stream-Id` (the stream was replaced by a failover, or never known), and a
 * network error of the event stream itself.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 */
export function isSubscriptionLost(error: unknown): boolean {
  if (!(error instanceof SparkMesosError)) return false;
  switch (error.code) {
    case 'SM_ERR_MESOS_NOT_SUBSCRIBED':
      return true;
    case 'SM_ERR_MESOS_BAD_REQUEST':
      return error.details.reason === 'stream-id-mismatch' || error.details.reason === 'stream-id-missing';
    case 'SM_ERR_MESOS_NETWORK':
      return error.details.stream === true;
    default:
      return false;
  }
}
