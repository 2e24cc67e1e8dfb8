/**
 * Settings of {@link HealthTracker}, after Spark's `spark.excludeOnFailure.*` keys.
 *
 * @see https://spark.apache.org/docs/3.5.0/configuration.html#scheduling
 */
export interface HealthTrackerSettings {
  /** Whether failures exclude executors and hosts at all (`spark.excludeOnFailure.enabled`). */
  readonly enabled: boolean;
  /** Attempts of one task on one executor before that task avoids it (`…task.maxTaskAttemptsPerExecutor`). @default 1 */
  readonly maxTaskAttemptsPerExecutor: number;
  /** Failed tasks on one executor before it is excluded (`…application.maxFailedTasksPerExecutor`). @default 2 */
  readonly maxFailedTasksPerExecutor: number;
  /** Excluded executors on one host before the host is excluded (`…application.maxFailedExecutorsPerNode`). @default 2 */
  readonly maxFailedExecutorsPerNode: number;
  /** How long an exclusion lasts, in milliseconds (`spark.excludeOnFailure.timeout`). @default 3_600_000 */
  readonly timeoutMs: number;
}

/**
 * Counts task failures per executor and host and decides exclusions, as Spark's
 * `HealthTracker` does at the application level. Time comes from the caller.
 */
export class HealthTracker {
  readonly #settings: HealthTrackerSettings;
  readonly #failuresByExecutor = new Map<string, number>();
  readonly #excludedExecutors = new Map<string, { host: string; until: number }>();
  readonly #excludedHosts = new Map<string, number>();

  constructor(settings: HealthTrackerSettings) {
    this.#settings = settings;
  }

  /** The settings in use. */
  get settings(): HealthTrackerSettings {
    return this.#settings;
  }

  /** Records a failed task on an executor; returns true when that changed the excluded hosts. */
  taskFailed(executorId: string, host: string, now: number): boolean {
    if (!this.#settings.enabled) return false;
    const failures = (this.#failuresByExecutor.get(executorId) ?? 0) + 1;
    this.#failuresByExecutor.set(executorId, failures);
    if (failures < this.#settings.maxFailedTasksPerExecutor || this.#excludedExecutors.has(executorId)) return false;
    const until = now + this.#settings.timeoutMs;
    this.#excludedExecutors.set(executorId, { host, until });
    let onHost = 0;
    for (const excluded of this.#excludedExecutors.values()) if (excluded.host === host) onHost++;
    if (onHost >= this.#settings.maxFailedExecutorsPerNode && !this.#excludedHosts.has(host)) {
      this.#excludedHosts.set(host, until);
      return true;
    }
    return false;
  }

  /** Whether tasks may run on this executor now. */
  isExecutorUsable(executorId: string, host: string, now: number): boolean {
    this.#expire(now);
    return !this.#excludedExecutors.has(executorId) && !this.#excludedHosts.has(host);
  }

  /** The hosts excluded now. */
  excludedHosts(now: number): Set<string> {
    this.#expire(now);
    return new Set(this.#excludedHosts.keys());
  }

  #expire(now: number): void {
    for (const [executorId, excluded] of this.#excludedExecutors) {
      if (excluded.until <= now) {
        this.#excludedExecutors.delete(executorId);
        this.#failuresByExecutor.delete(executorId);
      }
    }
    for (const [host, until] of this.#excludedHosts) if (until <= now) this.#excludedHosts.delete(host);
  }
}
