import type { OperationStatus, TaskStatus } from './generated/mesos-types.js';

/**
 * Which status updates were acknowledged, so that each (task, uuid) is acknowledged once.
 *
 * @module
 */

/** Tracks acknowledgements of one subscription. */
export interface AcknowledgementTracker {
  /**
   * Claims the acknowledgement of `key`: `true` the first time (send it), `false` when it is
   * already sent or in flight (a duplicate delivery).
   */
  claim(key: string): boolean;
  /** The acknowledgement of `key` failed: a re-sent update with this key must be acknowledged. */
  release(key: string): void;
  /** Forgets everything (a new subscription, possibly to another master). */
  reset(): void;
  /** How many keys are remembered. */
  readonly size: number;
}

/** How many acknowledged keys are remembered; older ones are forgotten first. */
export const MAX_REMEMBERED_ACKNOWLEDGEMENTS = 16_384;

/**
 * The key of a status update that needs an acknowledgement, `undefined` when it needs none:
 * Mesos sets `uuid` only on updates it wants acknowledged (from executors, agents); updates the
 * master generates (reconciliation answers) have none and must not be acknowledged.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/#acknowledge
 */
export function taskAcknowledgementKey(status: TaskStatus): string | undefined {
  if (status.uuid === undefined || status.uuid.length === 0) return undefined;
  return `task\u0000${status.agent_id?.value ?? ''}\u0000${status.task_id.value}\u0000${Buffer.from(status.uuid).toString('base64')}`;
}

/** The key of an operation status update that needs an acknowledgement, `undefined` otherwise. */
export function operationAcknowledgementKey(status: OperationStatus): string | undefined {
  if (status.uuid === undefined || status.operation_id === undefined) return undefined;
  return `operation\u0000${status.agent_id?.value ?? ''}\u0000${status.operation_id.value}\u0000${Buffer.from(status.uuid.value).toString('base64')}`;
}

/**
 * Creates an {@link AcknowledgementTracker} that remembers at most `limit` keys (a Map keeps
 * insertion order, so the oldest go first; Mesos re-sends an unacknowledged update after about
 * 10 s, long before that many others could have arrived).
 */
export function createAcknowledgementTracker(limit: number = MAX_REMEMBERED_ACKNOWLEDGEMENTS): AcknowledgementTracker {
  const keys = new Set<string>();
  return {
    claim(key): boolean {
      if (keys.has(key)) return false;
      keys.add(key);
      if (keys.size > limit) {
        const oldest = keys.values().next().value;
        if (oldest !== undefined) keys.delete(oldest);
      }
      return true;
    },
    release(key): void {
      keys.delete(key);
    },
    reset(): void {
      keys.clear();
    },
    get size(): number {
      return keys.size;
    },
  };
}
