import { REDACTED, redactSecrets } from '@spark-mesos/errors';

/** A master URL text with its password (if any) replaced by {@link REDACTED}. */
export interface MaskedMasterUrl {
  /** The text safe to print. */
  readonly masked: string;
  /** What was masked, so callers can also scrub it from other text; undefined when nothing was. */
  readonly secret: string | undefined;
}

/**
 * Masks the password of a `…zk://user:password@…` text, even a malformed one.
 *
 * Deliberately more eager than `redactUrlCredentials`: the user-info runs from after the first
 * `://` (and a `zk://` right behind it) to the LAST `@`, so passwords containing `/`, `@`, `:` or
 * spaces are masked whole — a rejected input is exactly where such characters turn up.
 */
export function maskMasterUrl(text: string): MaskedMasterUrl {
  const at = text.lastIndexOf('@');
  if (at < 0) return { masked: text, secret: undefined };
  // The user-info starts after the first '://', or after 'mesos://zk://' — never at a later '://'
  // (that may be part of the password itself).
  const scheme = text.indexOf('://');
  let start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
  if (text.startsWith('zk://', start) && start + 5 <= at) start += 5;
  const colon = text.indexOf(':', start);
  if (colon < 0 || colon >= at) return { masked: text, secret: undefined };
  const secret = text.slice(colon + 1, at);
  if (secret.length === 0) return { masked: text, secret: undefined };
  const masked = `${text.slice(0, colon + 1)}${REDACTED}${text.slice(at)}`;
  // The secret may also appear elsewhere (say, repeated in the path); scrub every copy.
  return { masked: redactSecrets(masked, [secret]), secret };
}
