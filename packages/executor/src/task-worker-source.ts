// The program of one task worker thread, kept as text and started with `new Worker(text, { eval:
// true })`. Why text: the same code must run from the TypeScript sources under vitest, from
// `dist/`, and from the single bundled file an agent extracts — a separate worker file would need
// a path that differs in each of the three, and Node 20 cannot start a `.ts` worker.
//
// The protocol with the parent (task-runner.ts) is messages of one transferred buffer each:
//   parent → worker  { type: 'run', functions, bytes } a chunk; tasks run one at a time, in order
//                                                      (every field but the function descriptors
//                                                      packed in "bytes")
//   parent → worker  { type: 'cancel', taskId, reason }  abort the running task's context.signal
//                                                      (a kill with a grace period); a task
//                                                      waiting here is cancelled through the
//                                                      shared state instead
//   worker → parent  { type: 'done', bytes }          a batch of results, in the order they ran
// Output is captured per task (a tail kept here, sent with the outcome) and written to the
// worker's own stdout/stderr with the task id at the start of every line.

/** The JavaScript source of a task worker (evaluated; valid as CommonJS and as an ES module). */
export const TASK_WORKER_SOURCE = String.raw`
'use strict';
// A worker inherits the parent's execArgv, so under \`node --input-type=module\` this text is
// evaluated as an ES module, where \`require\` does not exist: built-ins come through
// process.getBuiltinModule (Node ≥ 20.16), which both module types have.
const builtin = typeof process.getBuiltinModule === 'function' ? (name) => process.getBuiltinModule(name) : require;
const { parentPort, workerData } = builtin('node:worker_threads');
const v8 = builtin('node:v8');
const path = builtin('node:path');
const fs = builtin('node:fs');
const { createRequire } = builtin('node:module');
const { pathToFileURL } = builtin('node:url');
const { performance } = builtin('node:perf_hooks');

const appDirectory = workerData.appDirectory;
// Shared with the parent: [0] the task running (its seq, 0 for none), [1] the last one finished,
// and from [2] a ring of cells where a task the parent cancelled while it waited here has its seq
// (at 2 + seq % cancelRing).
const state = new Int32Array(workerData.state);
const cancelRing = workerData.cancelRing;
// At most this many results wait here before they go to the parent together.
const resultBatch = workerData.resultBatch;
const tailLimit = workerData.outputTailChars;

let current = null;
let tail = '';
const queue = [];
let busy = false;

function appendTail(text) {
  tail += text;
  if (tail.length > tailLimit * 2) tail = tail.slice(tail.length - tailLimit);
}

function prefixLines(text, state, prefix) {
  let out = '';
  let start = 0;
  for (;;) {
    if (state.atLineStart && start < text.length) out += prefix;
    const newline = text.indexOf('\n', start);
    if (newline === -1) {
      out += text.slice(start);
      if (start < text.length) state.atLineStart = false;
      return out;
    }
    out += text.slice(start, newline + 1);
    state.atLineStart = true;
    start = newline + 1;
  }
}

// Output goes to the parent as messages on the worker's own port, not through the worker's
// stdout/stderr streams: a parent reading those streams stays alive even after worker.unref(),
// so an idle runner would keep the process from exiting. The port also keeps output and
// results in order.
function capture(stream, name) {
  const state = { atLineStart: true };
  stream.write = function write(chunk, encoding, callback) {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const done = typeof encoding === 'function' ? encoding : callback;
    if (current !== null) appendTail(text);
    const prefix = current === null ? '[worker] ' : '[task ' + current.taskId + '] ';
    parentPort.postMessage({ type: 'output', stream: name, text: prefixLines(text, state, prefix) });
    if (typeof done === 'function') queueMicrotask(done);
    return true;
  };
}
capture(process.stdout, 'stdout');
capture(process.stderr, 'stderr');

function plainError(error, code) {
  if (error !== null && typeof error === 'object') {
    const out = {
      name: typeof error.name === 'string' ? error.name : 'Error',
      message: typeof error.message === 'string' ? error.message : String(error),
    };
    if (typeof error.stack === 'string') out.stack = error.stack;
    const ownCode = typeof error.code === 'string' ? error.code : undefined;
    if (code !== undefined) out.code = code;
    else if (ownCode !== undefined) out.code = ownCode;
    return out;
  }
  const out = { name: 'Error', message: 'task threw a non-error value: ' + safeString(error) };
  if (code !== undefined) out.code = code;
  return out;
}

function safeString(value) {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function runtimeError(code, message, cause) {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  error.name = 'SparkMesosError';
  error.code = code;
  if (cause !== undefined && cause !== null && typeof cause.stack === 'string') {
    error.stack = error.stack + '\nCaused by: ' + cause.stack;
  }
  return error;
}

const compiled = new Map();
function compileSource(source) {
  let fn = compiled.get(source);
  if (fn !== undefined) return fn;
  try {
    fn = new Function('"use strict"; return (' + source + '\n);')();
  } catch (error) {
    throw runtimeError(
      'SM_ERR_TASK_BAD_SOURCE',
      'the task function source does not compile: ' + (error && error.message) +
        '; send a function expression such as "(input, captured, context) => ..."',
      error,
    );
  }
  if (typeof fn !== 'function') {
    throw runtimeError(
      'SM_ERR_TASK_BAD_SOURCE',
      'the task function source evaluates to a ' + typeof fn + ', not a function; send a function expression',
      null,
    );
  }
  if (compiled.size >= 256) compiled.clear();
  compiled.set(source, fn);
  return fn;
}

function readPackageJson(directory) {
  return JSON.parse(fs.readFileSync(path.join(directory, 'package.json'), 'utf8'));
}

function exportTarget(value) {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return undefined;
  for (const key of ['import', 'node', 'default', 'require']) {
    if (key in value) {
      const found = exportTarget(value[key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

// Resolves a package's entry the way Node's ESM loader would for the root subpath: the exports
// map's "." (import, node, default), else "module"/"main", else index.js.
function packageEntry(directory, subpath) {
  const manifest = readPackageJson(directory);
  if (manifest.exports !== undefined) {
    const exportsField = manifest.exports;
    const key = subpath === '' ? '.' : './' + subpath;
    const entry =
      typeof exportsField === 'string' || (exportsField && !Object.keys(exportsField).some((k) => k.startsWith('.')))
        ? key === '.' ? exportTarget(exportsField) : undefined
        : exportTarget(exportsField[key]);
    if (entry !== undefined) return path.join(directory, entry);
  }
  if (subpath !== '') return path.join(directory, subpath);
  return path.join(directory, manifest.main || 'index.js');
}

const resolvedModules = new Map();
function resolveModule(specifier) {
  let url = resolvedModules.get(specifier);
  if (url !== undefined) return url;
  if (appDirectory === undefined && !path.isAbsolute(specifier)) {
    throw runtimeError(
      'SM_ERR_TASK_MODULE_NOT_FOUND',
      'task module "' + specifier + '" cannot be resolved: this runner has no application directory (appDirectory); ship the application with the executor or send function source',
      null,
    );
  }
  let file;
  if (path.isAbsolute(specifier)) file = specifier;
  else if (specifier === '.' || specifier.startsWith('./') || specifier.startsWith('../')) {
    file = path.resolve(appDirectory, specifier);
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = packageEntry(file, '');
  } else {
    const parts = specifier.split('/');
    const nameLength = specifier.startsWith('@') ? 2 : 1;
    const name = parts.slice(0, nameLength).join('/');
    const subpath = parts.slice(nameLength).join('/');
    let own;
    try {
      own = readPackageJson(appDirectory).name;
    } catch {}
    if (own === name) file = packageEntry(appDirectory, subpath);
    else {
      try {
        file = createRequire(path.join(appDirectory, 'package.json')).resolve(specifier);
      } catch {
        const directory = path.join(appDirectory, 'node_modules', ...name.split('/'));
        if (fs.existsSync(path.join(directory, 'package.json'))) file = packageEntry(directory, subpath);
      }
    }
  }
  if (file === undefined || !fs.existsSync(file)) {
    throw runtimeError(
      'SM_ERR_TASK_MODULE_NOT_FOUND',
      'task module "' + specifier + '" was not found in the application directory ' + appDirectory +
        '; check the module path (relative to the application) and that the package is in its dependencies',
      null,
    );
  }
  url = pathToFileURL(file).href;
  resolvedModules.set(specifier, url);
  return url;
}

async function loadFunction(spec) {
  if (spec === null || typeof spec !== 'object') {
    throw runtimeError('SM_ERR_TASK_BAD_PAYLOAD', 'the task has no function descriptor; send { kind: "source" } or { kind: "module" }', null);
  }
  if (spec.kind === 'source') {
    if (typeof spec.source !== 'string') {
      throw runtimeError('SM_ERR_TASK_BAD_PAYLOAD', 'the task function source is not a string', null);
    }
    return compileSource(spec.source);
  }
  if (spec.kind === 'module') {
    if (typeof spec.module !== 'string' || typeof spec.export !== 'string') {
      throw runtimeError('SM_ERR_TASK_BAD_PAYLOAD', 'a module task needs string "module" and "export" fields', null);
    }
    const url = resolveModule(spec.module);
    let namespace;
    try {
      namespace = await import(url);
    } catch (error) {
      throw runtimeError(
        'SM_ERR_TASK_MODULE_LOAD',
        'task module "' + spec.module + '" failed to load: ' + (error && error.message),
        error,
      );
    }
    const fn = namespace[spec.export];
    if (typeof fn !== 'function') {
      throw runtimeError(
        'SM_ERR_TASK_EXPORT_NOT_FOUND',
        'task module "' + spec.module + '" has no function export "' + spec.export + '" (exports: ' +
          Object.keys(namespace).join(', ') + ')',
        null,
      );
    }
    return fn;
  }
  throw runtimeError('SM_ERR_TASK_BAD_PAYLOAD', 'unknown task function kind "' + safeString(spec.kind) + '"; use "source" or "module"', null);
}

function deserialize(bytes, what) {
  try {
    return v8.deserialize(bytes);
  } catch (error) {
    throw runtimeError('SM_ERR_TASK_BAD_PAYLOAD', 'the task ' + what + ' is not valid v8.serialize data: ' + (error && error.message), error);
  }
}

async function execute(task) {
  const fn = await loadFunction(task.function);
  const input = deserialize(task.input, 'input');
  const captured = deserialize(task.captured, 'captured values');
  const context = { taskId: task.taskId, stageId: task.stageId, partition: task.partition, attempt: task.attempt };
  // Made on first use: most tasks never look at it.
  // Not enumerable: a task that returns its context must still serialize.
  Object.defineProperty(context, 'signal', {
    enumerable: false,
    get() {
      if (controller === null) {
        controller = new AbortController();
        if (cancelReason !== undefined) controller.abort(cancelReason);
      }
      return controller.signal;
    },
  });
  const value = await fn(input, captured, context);
  try {
    return v8.serialize(value);
  } catch (error) {
    throw runtimeError(
      'SM_ERR_TASK_RESULT_NOT_SERIALIZABLE',
      'the result of task ' + task.taskId + ' cannot be serialized with v8.serialize (' + (error && error.message) +
        '); return plain data: no functions, symbols or promises inside',
      error,
    );
  }
}

let failCurrent = null;
// The running task's stop request: the reason once the parent asked it to stop (a kill with a
// grace period), and the AbortController behind context.signal once the task asked for it.
let cancelReason;
let controller = null;

async function runOne(task) {
  // Store first, then read the mark (the parent does the reverse): see kill() in task-runner.ts.
  Atomics.store(state, 0, task.seq);
  if (Atomics.load(state, 2 + (task.seq % cancelRing)) === task.seq) {
    // Cancelled by the parent while it waited (the parent may also have seen it start). The
    // negated mark, stored before it counts as finished, tells the parent it did not run.
    Atomics.store(state, 2 + (task.seq % cancelRing), -task.seq);
    Atomics.store(state, 1, task.seq);
    Atomics.store(state, 0, 0);
    done.push({ seq: task.seq, ok: false, killed: 'cancelled', durationMs: 0, outputTail: '' });
    return;
  }
  current = task;
  tail = '';
  const started = performance.now();
  let message;
  try {
    const result = await new Promise((resolve, reject) => {
      failCurrent = reject;
      execute(task).then(resolve, reject);
    });
    message = { seq: task.seq, ok: true, result, durationMs: performance.now() - started };
  } catch (error) {
    message = { seq: task.seq, ok: false, error: plainError(error), durationMs: performance.now() - started };
    // A task that gives up after being asked to stop was killed, whatever it threw.
    if (cancelReason !== undefined) message.killed = cancelReason;
  }
  failCurrent = null;
  cancelReason = undefined;
  controller = null;
  Atomics.store(state, 1, task.seq);
  Atomics.store(state, 0, 0);
  message.outputTail = tail.length > tailLimit ? tail.slice(tail.length - tailLimit) : tail;
  current = null;
  tail = '';
  done.push(message);
  // Quick results of a chunk travel together; a slow task's result, or the last of the queue,
  // goes at once, so the parent's idea of which task runs stays within a couple of ms.
  if (queue.length === 0 || done.length >= resultBatch || performance.now() - started > 1 || performance.now() - doneSince > 2) flushDone();
}

let done = [];
let doneSince = performance.now();
// Sends the results gathered so far as one transferred buffer (layout: RESULT_HEADER_BYTES in
// task-runner.ts): a u32 count, then per result u32 seq, u8 kind (0 finished, 1 failed,
// 2 killed), 3 bytes of padding, f64 durationMs, u32 tail bytes, u32 payload bytes, the output
// tail and the payload (the result bytes, the error as JSON, or the kill reason).
function flushDone() {
  if (done.length > 0) {
    let total = 4;
    for (const result of done) {
      result.tailBytes = result.outputTail === '' ? undefined : Buffer.from(result.outputTail, 'utf8');
      result.payload = result.ok
        ? result.result
        : Buffer.from(result.killed !== undefined ? result.killed : JSON.stringify(result.error), 'utf8');
      total += 24 + (result.tailBytes === undefined ? 0 : result.tailBytes.length) + result.payload.byteLength;
    }
    const bytes = Buffer.allocUnsafeSlow(total);
    let offset = bytes.writeUInt32LE(done.length, 0);
    for (const result of done) {
      bytes.writeUInt32LE(result.seq, offset);
      bytes.writeUInt32LE(result.ok ? 0 : result.killed !== undefined ? 2 : 1, offset + 4);
      bytes.writeDoubleLE(result.durationMs, offset + 8);
      const tailLength = result.tailBytes === undefined ? 0 : result.tailBytes.length;
      bytes.writeUInt32LE(tailLength, offset + 16);
      bytes.writeUInt32LE(result.payload.byteLength, offset + 20);
      offset += 24;
      if (tailLength > 0) {
        bytes.set(result.tailBytes, offset);
        offset += tailLength;
      }
      bytes.set(result.payload, offset);
      offset += result.payload.byteLength;
    }
    parentPort.postMessage({ type: 'done', bytes }, [bytes.buffer]);
  }
  done = [];
  doneSince = performance.now();
}

async function drain() {
  busy = true;
  let yielded = performance.now();
  while (queue.length > 0) {
    // Let the parent's messages in now and then (a cancel of a task waiting here), even when
    // every task is synchronous and the loop would otherwise never return to the event loop.
    if (performance.now() - yielded > 2) {
      flushDone();
      await new Promise((resolve) => setImmediate(resolve));
      yielded = performance.now();
      if (queue.length === 0) break;
    }
    await runOne(queue.shift());
  }
  flushDone();
  busy = false;
}

// An error thrown later by a task's own timers or an unhandled rejection fails the running task;
// with no task running it is only logged, and the worker keeps serving.
process.on('uncaughtException', (error) => {
  if (failCurrent !== null) failCurrent(error);
  else process.stderr.write('uncaught error outside a task: ' + ((error && error.stack) || safeString(error)) + '\n');
});
process.on('unhandledRejection', (reason) => {
  if (failCurrent !== null) failCurrent(reason);
  else process.stderr.write('unhandled rejection outside a task: ' + ((reason && reason.stack) || safeString(reason)) + '\n');
});

parentPort.on('message', (message) => {
  if (message.type === 'run') {
    // One transferred buffer (layout: packChunk in task-runner.ts): a u32 count, then per task
    // u32 seq, function index, taskId bytes, i32 input bytes, captured bytes (-1 not bytes, -2
    // the previous task's), f64 stageId, partition, attempt, then taskId, input, captured.
    const bytes = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
    const count = bytes.readUInt32LE(0);
    let offset = 4;
    let previousCaptured;
    for (let index = 0; index < count; index += 1) {
      const seq = bytes.readUInt32LE(offset);
      const fn = message.functions[bytes.readUInt32LE(offset + 4)];
      const idBytes = bytes.readUInt32LE(offset + 8);
      const inputBytes = bytes.readInt32LE(offset + 12);
      const capturedBytes = bytes.readInt32LE(offset + 16);
      const stageId = bytes.readDoubleLE(offset + 20);
      const partition = bytes.readDoubleLE(offset + 28);
      const attempt = bytes.readDoubleLE(offset + 36);
      offset += 44;
      const taskId = bytes.toString('utf8', offset, offset + idBytes);
      offset += idBytes;
      let input;
      if (inputBytes >= 0) {
        input = bytes.subarray(offset, offset + inputBytes);
        offset += inputBytes;
      }
      let captured = previousCaptured;
      if (capturedBytes === -1) captured = undefined;
      else if (capturedBytes >= 0) {
        captured = bytes.subarray(offset, offset + capturedBytes);
        offset += capturedBytes;
      }
      previousCaptured = captured;
      queue.push({ taskId, stageId, partition, attempt, seq, function: fn, input, captured });
    }
    if (!busy) void drain();
  } else if (message.type === 'cancel') {
    if (current !== null && current.taskId === message.taskId) {
      if (cancelReason === undefined) {
        cancelReason = message.reason;
        if (controller !== null) controller.abort(message.reason);
      }
    }
    // Otherwise the task ended before the request arrived: its result stands.
  }
});
`;
