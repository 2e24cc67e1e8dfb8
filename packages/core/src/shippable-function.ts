import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serialize } from 'node:v8';
import { SparkMesosError } from '@spark-mesos/errors';

/** What a call site accepts besides a plain (arrow or `function`) function. */
export interface ShippableOptions {
  /** Whether a generator function (`function*`) is allowed, e.g. for `flatMap`. @default false */
  allowGenerator?: boolean;
  /** Whether an async function is allowed, e.g. for `foreach`. @default false */
  allowAsync?: boolean;
}

/** A user function that passed the call-site checks, ready to be embedded in a task's source. */
export interface ShippableFunction {
  /** The function's source, an expression that evaluates to the function. */
  readonly source: string;
  /** Where the user called the API, e.g. `file:///app/job.mjs:12:8`, for later messages. */
  readonly callSite: string;
  /** How the user called the API, e.g. `dataset.map(fn)`. */
  readonly api: string;
}

// Frames inside this package are skipped so the call site named is the user's code.
const ownDirectory = dirname(fileURLToPath(import.meta.url));

function isOwnModule(location: string): boolean {
  const path = location.startsWith('file://') ? fileURLToPath(location.replace(/(:\d+)+$/, '')) : location;
  if (!path.startsWith(`${ownDirectory}/`)) return false;
  const rest = path.slice(ownDirectory.length + 1).replace(/(:\d+)+$/, '');
  // This package's modules sit directly in its directory; tests and helpers are user code here.
  return !rest.includes('/') && !rest.includes('.test.');
}

/** The first stack frame outside this package: the line of user code that called the API. */
export function userCallSite(): string {
  const previousLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = previousLimit;
  for (const line of stack.split('\n').slice(1)) {
    const frame = line.trim();
    if (!frame.startsWith('at ')) continue;
    // "at fn (location)" or "at location"
    const location = /\((.*)\)$/.exec(frame)?.[1] ?? frame.slice(3);
    if (location.startsWith('node:') || isOwnModule(location)) continue;
    return location;
  }
  return 'unknown location';
}

const shipRule =
  'Functions run on executors from their source text: write an arrow function or a `function` expression that uses only its parameters, globals and the captured values (the last parameter)';

function notShippable(api: string, callSite: string, problem: string, fix: string, source?: string): never {
  throw new SparkMesosError('SM_ERR_FUNCTION_NOT_SHIPPABLE', `${api} at ${callSite}: ${problem}. ${fix}`, {
    cause: { api, callSite, source },
    details: { api, callSite },
  });
}

/**
 * Checks at the call site that `fn` can be shipped as source and returns that source.
 *
 * Rejected, with an `SM_ERR_FUNCTION_NOT_SHIPPABLE` naming the call and the fix: anything not a
 * function, native functions, bound functions, classes, methods written without `function`
 * (their source is not an expression), and generator or async functions where the API does not
 * allow them. A reference to a driver-only variable cannot be seen here; it is reported when the
 * task runs (see {@link describeTaskError}).
 *
 * @param api - how the user called it, e.g. `dataset.map(fn)`, for messages.
 */
export function shippableFunction(api: string, fn: unknown, options: ShippableOptions = {}): ShippableFunction {
  const callSite = userCallSite();
  if (typeof fn !== 'function') {
    notShippable(api, callSite, `expected a function, got ${fn === null ? 'null' : typeof fn}`, shipRule);
  }
  const source = Function.prototype.toString.call(fn);
  if (/^[^{]*\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    const bound = fn.name.startsWith('bound ');
    notShippable(
      api,
      callSite,
      bound
        ? `the function "${fn.name}" is a bound function; its source and bound values cannot be shipped`
        : `the function "${fn.name || '(anonymous)'}" is native code and has no source to ship`,
      bound
        ? 'Pass the unbound function and give what it was bound to as a captured value, e.g. `ds.map((x, { k }) => x * k, { k: 3 })`'
        : 'Wrap it in an arrow function, e.g. `(x) => Math.sqrt(x)` instead of `Math.sqrt`',
    );
  }
  if (/^class\b/.test(source)) {
    notShippable(api, callSite, 'a class was given, not a function', shipRule);
  }
  const trimmed = source.trimStart();
  const isAsync = /^async\b/.test(trimmed);
  const isGenerator = /^(async\s+)?function\s*\*/.test(trimmed) || /^(async\s+)?\*/.test(trimmed);
  // Method shorthand (`{ m(x) { … } }.m`, class methods) prints as `m(x) { … }`, which is not an
  // expression; parsing it tells us (without running it).
  try {
    new Function(`"use strict"; return (${source}\n);`);
  } catch (error) {
    notShippable(
      api,
      callSite,
      `the source of "${fn.name || '(anonymous)'}" cannot be read back as a function expression (${(error as Error).message}); methods written without \`function\` print that way`,
      'Write it as an arrow function or a `function` expression, e.g. `(x) => obj.method(x)` becomes `(x, { factor }) => x * factor` with the values it needs captured',
      source,
    );
  }
  if (isGenerator && !options.allowGenerator) {
    notShippable(
      api,
      callSite,
      'a generator function is not allowed here',
      'Return a value instead; generators fit flatMap and mapPartitions',
    );
  }
  if (isAsync && !options.allowAsync) {
    notShippable(
      api,
      callSite,
      'an async function is not allowed here (its promise would be used as the value)',
      'Make it synchronous; async work fits foreach, foreachPartition and sc.runJob',
    );
  }
  return { source, callSite, api };
}

/**
 * Checks at the call site that the captured values survive `v8.serialize` (the structured clone
 * algorithm: no functions, symbols, sockets, class instances lose their prototype) and returns
 * them.
 */
export function checkCapturedValues(api: string, captured: unknown, callSite: string): unknown {
  if (captured === undefined) return undefined;
  try {
    serialize(captured);
  } catch (error) {
    throw new SparkMesosError(
      'SM_ERR_CAPTURED_NOT_SERIALIZABLE',
      `${api} at ${callSite}: the captured values cannot be shipped (${(error as Error).message}). Captured values are copied with v8.serialize: pass plain data (numbers, strings, arrays, plain objects, Maps, Sets, typed arrays, Dates), not functions, class instances with methods, sockets or promises`,
      { cause: error, details: { api, callSite } },
    );
  }
  return captured;
}

const notDefined = /^(\S+) is not defined$/;

/** The task error as the job failure shows it, with the shipping rule for driver-only variables. */
export function describeTaskError(error: { name: string; message: string; stack?: string }): {
  text: string;
  driverVariable?: string;
} {
  const match = error.name === 'ReferenceError' ? notDefined.exec(error.message) : null;
  if (match) {
    const name = match[1]!;
    return {
      driverVariable: name,
      text: `ReferenceError: ${error.message}: the task function uses "${name}", a variable of the driver program that does not exist where tasks run. Pass it in the captured values and read it from the last parameter, e.g. \`ds.map((x, { ${name} }) => …, { ${name} })\``,
    };
  }
  return { text: `${error.name}: ${error.message}` };
}
