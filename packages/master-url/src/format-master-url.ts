import { REDACTED } from '@spark-mesos/errors';
import { formatHost } from './host.js';
import type { MasterUrl } from './master-url.js';

/** Options of {@link formatMasterUrl}. */
export interface FormatMasterUrlOptions {
  /** Print the ZooKeeper password as `****`, for logs and UIs. @default false */
  readonly maskPassword?: boolean;
}

/**
 * Writes a parsed master URL back as text, with every port spelled out, such that
 * `parseMasterUrl(formatMasterUrl(url))` deep-equals `url` (unless the password is masked).
 */
export function formatMasterUrl(url: MasterUrl, options: FormatMasterUrlOptions = {}): string {
  switch (url.kind) {
    case 'local':
      return url.threads === 1 && url.maxFailures === 1
        ? 'local'
        : url.maxFailures === 1
          ? `local[${url.threads}]`
          : `local[${url.threads},${url.maxFailures}]`;
    case 'local-cluster':
      return `local-cluster[${url.agents},${url.coresPerAgent},${url.memoryPerAgentMb}]`;
    case 'mesos': {
      const master = url.master;
      const scheme = master.scheme === 'https' ? 'mesos+https://' : 'mesos://';
      if (master.kind === 'static') return `${scheme}${formatHost(master.host)}:${master.port}`;
      const auth =
        master.auth === undefined
          ? ''
          : `${master.auth.username}:${options.maskPassword === true ? REDACTED : master.auth.password}@`;
      const servers = master.servers.map((server) => `${formatHost(server.host)}:${server.port}`).join(',');
      return `${scheme}zk://${auth}${servers}${master.path}`;
    }
  }
}
