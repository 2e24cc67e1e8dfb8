import type { Logger } from '@spark-mesos/master-url';
import type { Backoff } from './backoff.js';
import type { SchedulerCallReconcileTask, TaskStatus } from './generated/mesos-types.js';
import type { SchedulerTimers } from './scheduler-timers.js';

/**
 * Task state reconciliation after each (re-)subscription, as Mesos' reconciliation guide
 * prescribes: explicit reconciliation of the tasks the framework knows, repeated with truncated
 * exponential backoff until an update arrived for each, then one implicit reconciliation.
 *
 * @see https://mesos.apache.org/documentation/latest/reconciliation/
 * @module
 */

/** Options of {@link createReconciler}. */
export interface ReconcilerOptions {
  /** Sends a RECONCILE call with these tasks (an empty list asks for every task: implicit). */
  readonly send: (tasks: readonly SchedulerCallReconcileTask[]) => Promise<void>;
  /** Delays between repeated explicit requests (and retries of a failed send). */
  readonly backoff: Backoff;
  /** The clock. */
  readonly timers: SchedulerTimers;
  /** Where progress and failed sends are reported. */
  readonly logger: Logger;
  /** Called when a round finished (implicit request accepted). @default undefined */
  readonly onDone?: () => void;
}

/** Reconciliation rounds, one at a time. */
export interface Reconciler {
  /**
   * Starts a round for `knownTasks` (the framework's non-terminal tasks). Returns `false` and
   * does nothing while a round is pending: its next request goes to the current subscription
   * anyway, and starting over would only multiply requests.
   */
  start(knownTasks: readonly SchedulerCallReconcileTask[]): boolean;
  /** A task status arrived (any source): that task is reconciled. */
  observe(status: TaskStatus): void;
  /** Stops the round in progress, if any. */
  stop(): void;
  /** Whether a round is in progress. */
  readonly pending: boolean;
  /** Task ids still awaiting an update in the explicit phase. */
  readonly remaining: readonly string[];
}

/**
 * Creates a {@link Reconciler}. A round: (1) explicit RECONCILE of the remaining known tasks;
 * (2) on each update, that task is no longer remaining; (3) while some remain after the backoff
 * delay, ask again for those only; (4) once none remain, send an implicit RECONCILE (empty list)
 * and the round is done. Mesos answers reconciliation with master-generated updates that carry
 * no `uuid` and must not be acknowledged.
 *
 * @see https://mesos.apache.org/documentation/latest/reconciliation/
 */
export function createReconciler(options: ReconcilerOptions): Reconciler {
  const { send, backoff, timers, logger } = options;
  const remaining = new Map<string, SchedulerCallReconcileTask>();
  let phase: 'idle' | 'explicit' | 'implicit' = 'idle';
  let handle: unknown;
  let sending = false;
  let again = false;

  const disarm = (): void => {
    if (handle !== undefined) timers.clearTimeout(handle);
    handle = undefined;
  };
  const schedule = (ms: number): void => {
    disarm();
    handle = timers.setTimeout(() => {
      handle = undefined;
      void step();
    }, ms);
  };

  async function step(): Promise<void> {
    // One request at a time: an update arriving during a send only asks for another pass.
    if (sending) {
      again = true;
      return;
    }
    sending = true;
    try {
      do {
        again = false;
        if (phase === 'explicit' && remaining.size === 0) {
          phase = 'implicit';
          backoff.reset();
        }
        if (phase === 'idle') return;
        const current = phase;
        const tasks = current === 'explicit' ? [...remaining.values()] : [];
        let sent = false;
        try {
          await send(tasks);
          sent = true;
        } catch (error) {
          logger.warn('RECONCILE failed; it will be sent again after a backoff delay.', {
            explicitTasks: tasks.length,
            code: (error as { code?: unknown }).code,
            error: (error as Error).message,
          });
        }
        if (phase !== current) return; // stopped meanwhile
        if (current === 'implicit' && sent) {
          phase = 'idle';
          disarm();
          logger.debug?.('Reconciliation round done.');
          options.onDone?.();
          return;
        }
        if (!sent || remaining.size > 0) schedule(backoff.next());
      } while (again);
    } finally {
      sending = false;
    }
  }

  return {
    start(knownTasks): boolean {
      if (phase !== 'idle') return false;
      remaining.clear();
      for (const task of knownTasks) remaining.set(task.task_id.value, task);
      backoff.reset();
      phase = remaining.size > 0 ? 'explicit' : 'implicit';
      void step();
      return true;
    },
    observe(status): void {
      if (phase !== 'explicit') return;
      if (remaining.delete(status.task_id.value) && remaining.size === 0) {
        disarm();
        void step();
      }
    },
    stop(): void {
      phase = 'idle';
      remaining.clear();
      disarm();
    },
    get pending(): boolean {
      return phase !== 'idle';
    },
    get remaining(): readonly string[] {
      return [...remaining.keys()];
    },
  };
}
