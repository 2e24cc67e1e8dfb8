/**
 * A stable error code: `SM_ERR_` followed by upper-case words. Codes never change meaning once
 * published, so callers may branch on them.
 *
 * Codes in use: `SM_ERR_BAD_CONFIG`, `SM_ERR_CONFIG_FILE`, `SM_ERR_BAD_MASTER_URL`,
 * `SM_ERR_BAD_MASTER_INFO`, `SM_ERR_ZOOKEEPER`, `SM_ERR_NO_LEADER`, `SM_ERR_CLOSED`; later
 * packages add their own.
 */
export type SparkMesosErrorCode = `SM_ERR_${Uppercase<string>}`;

/** Options of {@link SparkMesosError}. */
export interface SparkMesosErrorOptions {
  /**
   * What caused the error: the underlying error, or for a rejected input a plain object naming
   * it (for example `{ key, value }`). Always set, so a caller can see where a problem came from.
   */
  cause: unknown;
  /** Structured facts a program may read (never secrets). @default {} */
  details?: Readonly<Record<string, unknown>>;
}

// Symbol.for: the same marker in every copy of this package, so checks work even when two
// versions of @spark-mesos/errors end up in one node_modules tree.
const marker: unique symbol = Symbol.for('@spark-mesos/errors.SparkMesosError') as never;

/**
 * The one error class of spark-mesos. Messages name what was wrong, the value (with secrets
 * redacted) and the fix; `code` is stable; `cause` is always set.
 *
 * `instanceof SparkMesosError` works across copies of this package; prefer
 * {@link isSparkMesosError} when you also want to check the code.
 */
export class SparkMesosError extends Error {
  /** The stable code, e.g. `SM_ERR_BAD_MASTER_URL`. */
  readonly code: SparkMesosErrorCode;
  /** Structured facts about the failure (never secrets). */
  readonly details: Readonly<Record<string, unknown>>;
  declare readonly [marker]: true;

  constructor(code: SparkMesosErrorCode, message: string, options: SparkMesosErrorOptions) {
    super(message, { cause: options.cause });
    this.name = 'SparkMesosError';
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, marker, { value: true, enumerable: false });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses keep ordinary prototype checks; the base class recognises every copy.
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class instanceof was asked about.
    if (this !== SparkMesosError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isSparkMesosError(value);
  }

  /** A JSON form for logs and APIs: name, code, message and details. */
  toJSON(): { name: string; code: SparkMesosErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Whether `value` is a {@link SparkMesosError} (from any copy of this package), optionally with
 * the given code.
 */
export function isSparkMesosError(value: unknown, code?: SparkMesosErrorCode): value is SparkMesosError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as { [marker]?: unknown })[marker] !== true) return false;
  return code === undefined || (value as SparkMesosError).code === code;
}
