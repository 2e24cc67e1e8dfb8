import { isIPv4, isIPv6 } from 'node:net';

/** A `host[:port]` split out of a URL authority, before validation of the port. */
export interface SplitHostPort {
  /** The host, without IPv6 brackets. */
  readonly host: string;
  /** The port text after `:`, or undefined when there was none. */
  readonly portText: string | undefined;
  /** Whether the host was written in brackets (`[::1]`). */
  readonly bracketed: boolean;
}

const label = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Why `host` is not a usable host name, IPv4 or IPv6 address, or undefined when it is. Names
 * follow RFC 1123 (labels of 1–63 letters, digits and inner hyphens, at most 253 characters); an
 * all-numeric name must be a valid dotted IPv4 address, so typos like `10.0.0.256` are caught.
 */
export function hostProblem(host: string, bracketed: boolean): string | undefined {
  if (host.length === 0) return 'the host is empty';
  if (bracketed) {
    if (host.includes('%')) return 'IPv6 zone identifiers (`%eth0`) are not supported';
    return isIPv6(host) ? undefined : `'${host}' is not a valid IPv6 address`;
  }
  if (host.includes(':')) return `'${host}' looks like an IPv6 address: write it in brackets, e.g. [${host}]`;
  if (/^[0-9.]+$/.test(host)) {
    return isIPv4(host) ? undefined : `'${host}' is not a valid IPv4 address (four numbers 0-255, no leading zeros)`;
  }
  if (host.length > 253) return `the host name is ${host.length} characters long; at most 253 are allowed`;
  const labels = host.split('.');
  for (const part of labels) {
    if (!label.test(part)) {
      return `'${host}' is not a valid host name (RFC 1123: dot-separated labels of 1-63 letters, digits and inner hyphens)`;
    }
  }
  // An all-numeric last label would be read as an IPv4 shorthand by URL parsers.
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) {
    return `'${host}' is not a valid host name: its last label is all digits`;
  }
  return undefined;
}

/** Splits `host`, `host:port`, `[v6]` or `[v6]:port`; returns a problem text when malformed. */
export function splitHostPort(text: string): SplitHostPort | string {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return `'${text}' has an opening '[' without a closing ']'`;
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return `unexpected '${rest}' after the IPv6 address`;
    return { host: text.slice(1, close), portText: rest === '' ? undefined : rest.slice(1), bracketed: true };
  }
  const colon = text.indexOf(':');
  if (colon >= 0 && text.indexOf(':', colon + 1) >= 0) {
    return `'${text}' looks like an IPv6 address: write it in brackets, e.g. [::1]:5050`;
  }
  if (colon < 0) return { host: text, portText: undefined, bracketed: false };
  return { host: text.slice(0, colon), portText: text.slice(colon + 1), bracketed: false };
}

/** Parses a port number (1-65535, digits only), or returns a problem text. */
export function parsePort(text: string): number | string {
  if (!/^[0-9]{1,5}$/.test(text)) return `port '${text}' is not a number from 1 to 65535`;
  const port = Number(text);
  if (port < 1 || port > 65535) return `port ${port} is out of range (1-65535)`;
  return port;
}

/** Formats a host for a URL authority: IPv6 addresses get brackets back. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
