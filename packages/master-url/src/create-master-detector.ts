import type { MasterDetector } from './master-detector.js';
import type { MesosMasterUrl } from './master-url.js';
import { createStaticDetector } from './static-detector.js';
import { createZooKeeperDetector, type ZooKeeperDetectorOptions } from './zookeeper-detector.js';

/**
 * Options of {@link createMasterDetector}: those of {@link createZooKeeperDetector} that do not
 * come from the URL. Ignored for a static master.
 */
export type MasterDetectorOptions = Omit<ZooKeeperDetectorOptions, 'servers' | 'path' | 'auth' | 'scheme'>;

/**
 * Makes the detector a parsed `mesos://` URL calls for: a static detector for
 * `mesos://host:5050`, a ZooKeeper detector for `mesos://zk://…/path`.
 */
export function createMasterDetector(url: MesosMasterUrl, options: MasterDetectorOptions = {}): MasterDetector {
  const master = url.master;
  if (master.kind === 'static') {
    return createStaticDetector({ host: master.host, port: master.port, scheme: master.scheme });
  }
  return createZooKeeperDetector({
    ...options,
    servers: master.servers,
    path: master.path,
    scheme: master.scheme,
    ...(master.auth === undefined ? {} : { auth: master.auth }),
  });
}
