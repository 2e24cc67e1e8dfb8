import type { TaskOutcome, TaskSpec } from '../task-spec.js';

/** How the executor was started. */
export type ExecutorMode = 'coarse' | 'fine';

/** What an executor tells the driver when it registers. */
export interface ExecutorRegistration {
  /** The executor id (Spark's executor id in coarse mode, the Mesos executor id in fine mode). */
  executorId: string;
  /** The agent's hostname. */
  hostname: string;
  /** The Mesos agent id, when known. */
  agentId?: string;
  /** CPUs the executor was given. */
  cores: number;
  /** Memory the executor was given, in MiB. */
  memoryMiB: number;
  /** How the executor was started. */
  mode: ExecutorMode;
  /** How many tasks it runs at once (`cores / spark.task.cpus`). */
  slots: number;
  /** The executor's process id, for logs. */
  pid?: number;
}

/** One task's ending, as the executor reports it. */
export interface TaskOutcomeReport {
  /** The task. */
  taskId: string;
  /** How it ended. */
  outcome: TaskOutcome;
}

/** Messages from the driver to an executor (after the handshake). */
export type DriverMessage =
  | { type: 'registered' }
  | { type: 'launch'; tasks: TaskSpec[] }
  | { type: 'kill'; taskId: string; reason: string; graceMs?: number }
  | { type: 'shutdown'; timeoutMs: number; reason: string };

/** Messages from an executor to the driver (after the handshake). */
export type ExecutorMessage =
  | { type: 'register'; registration: ExecutorRegistration }
  | { type: 'outcomes'; outcomes: TaskOutcomeReport[] }
  | { type: 'goodbye'; reason: string };

/** Handshake messages (JSON frames). Nonces and proofs are hex. */
export type HandshakeMessage =
  | { type: 'challenge'; protocol: number; nonce: string }
  | { type: 'response'; protocol: number; nonce: string; proof: string }
  | { type: 'proof'; proof: string }
  | { type: 'refused'; reason: string };

/** A log sink: one line per call. */
export type LinkLogger = (level: 'info' | 'warn' | 'error', message: string) => void;

/** Logs warnings and errors to stderr, one line each. */
export const STDERR_LINK_LOGGER: LinkLogger = (level, message) => {
  if (level !== 'info') process.stderr.write(`[spark-mesos ${level}] ${message}\n`);
};
