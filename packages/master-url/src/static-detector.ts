import { SparkMesosError } from '@spark-mesos/errors';
import type { DetectOptions, LeaderListener, MasterAddress, MasterDetector } from './master-detector.js';

/**
 * A detector for one fixed master (`mesos://host:5050`). It always answers the configured
 * address and never reports changes: following a non-leader's 307 redirect to the leader is the
 * Mesos HTTP client's job.
 */
export function createStaticDetector(address: MasterAddress): MasterDetector {
  const leader: MasterAddress = { ...address };
  let closed = false;
  return {
    detect(options: DetectOptions = {}): Promise<MasterAddress> {
      if (closed) {
        return Promise.reject(
          new SparkMesosError('SM_ERR_CLOSED', 'The master detector is closed; create a new one to detect again.', {
            cause: { address: `${leader.host}:${leader.port}` },
          }),
        );
      }
      if (options.signal?.aborted === true) return Promise.reject(options.signal.reason);
      return Promise.resolve(leader);
    },
    onChange(_listener: LeaderListener): () => void {
      return () => {};
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}
