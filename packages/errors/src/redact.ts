/** What replaces a secret in anything we print. */
export const REDACTED = '****';

const urlCredentials = /(\b[a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi;

/**
 * Masks the password of every `scheme://user:password@` in `text`, keeping the user so the
 * message still says who tried: `zk://jo:s3cret@h/m` becomes `zk://jo:****@h/m`.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(urlCredentials, (_match, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`);
}

/**
 * Replaces every occurrence of each secret value in `text` with {@link REDACTED}, longest first
 * so a secret that contains another is masked whole. Empty secrets are ignored.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const values = [...new Set(secrets)].filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
  let result = text;
  for (const secret of values) result = result.split(secret).join(REDACTED);
  return result;
}

/** The most of a server's error body an error keeps. @default 4096 */
export const MAX_KEPT_BODY_BYTES = 4096;

/**
 * Keeps at most `limit` UTF-16 code units of `body` (a server's error text), marking the cut, so
 * that an error never carries a whole HTML page or a multi-megabyte answer.
 */
export function truncateBody(body: string, limit: number = MAX_KEPT_BODY_BYTES): string {
  if (body.length <= limit) return body;
  return `${body.slice(0, limit)}… (${body.length - limit} more characters)`;
}
