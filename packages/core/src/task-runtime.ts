/**
 * Why a store refused a task's request, from the answer's body: S3's XML `<Code>`/`<Message>`,
 * WebHDFS' `RemoteException` JSON; `''` when it says nothing readable. Shared by reading splits and
 * writing parts.
 */
const STORE_REASON = `async function storeReason(response) {
    try {
      const body = (await response.text()).slice(0, 4096);
      const code = /<Code>([^<]*)<\\/Code>/.exec(body)?.[1];
      const message = /<Message>([^<]*)<\\/Message>/.exec(body)?.[1];
      if (code !== undefined) return ': ' + code + (message !== undefined ? ' (' + message + ')' : '');
      if (body.includes('RemoteException')) {
        const remote = JSON.parse(body).RemoteException;
        return ': ' + remote.exception + ' (' + remote.message + ')';
      }
    } catch {}
    return '';
  }`;

/**
 * The code tasks carry: how a partition's input becomes items (sources), the narrow
 * transformations (steps) and what the task hands back (actions). It is JavaScript source, not a
 * function of this module, because it is shipped inside each task's function source and must
 * not depend on how this package was compiled or bundled.
 *
 * Items flow between steps as synchronous iterables (iterators), so a chain of narrow
 * transformations streams through one partition without materialising it. Only a source may be
 * asynchronous (reading a text split).
 *
 * Each step is called as `step(items, f, captured, partition, extra, context)`: `f` the user's
 * function (or null), `captured` the user's captured values, `partition` the index of the
 * partition in the step's own dataset (it differs from the task's partition after a union),
 * `extra` values the library adds (a zero value, an offset, an output directory).
 */
const SOURCE_OPS: Record<SourceOp, string> = {
  items: `(input) => input`,
  empty: `() => []`,
  range: `(input) => {
  const { start, end, step } = input;
  let value = start;
  return {
    [Symbol.iterator]() { return this; },
    next() {
      if (step > 0 ? value >= end : value <= end) return { value: undefined, done: true };
      const current = value;
      value += step;
      return { value: current, done: false };
    },
  };
}`,
  text: `async function textSplit(split) {
  ${STORE_REASON}
  // Hadoop's LineRecordReader: a split that does not start the file drops everything up to
  // its first line terminator (the previous split read that line), and a split reads every
  // line that starts at or before its end. Terminators are \\n, \\r and \\r\\n.
  const lines = [];
  if (split.end <= split.start) return lines; // the one empty split of an empty file
  // ignoreBOM keeps a U+FEFF that starts a line; only the file's own BOM is dropped (below), as
  // Hadoop's LineRecordReader does.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let position = split.start;
  let lineStart = split.start;
  let skipping = split.start > 0;
  let parts = [];
  let afterCarriageReturn = false;
  let done = false;
  const endLine = (terminatorAt) => {
    if (skipping) skipping = false;
    else if (lineStart <= split.end) {
      lines.push(parts.length === 1 ? decoder.decode(parts[0]) : decoder.decode(concat(parts)));
    } else done = true;
    parts = [];
    lineStart = terminatorAt + 1;
  };
  const concat = (chunks) => {
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    const joined = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) { joined.set(chunk, offset); offset += chunk.length; }
    return joined;
  };
  const consume = (chunk) => {
    let from = 0;
    for (let index = 0; index < chunk.length && !done; index++) {
      const byte = chunk[index];
      if (afterCarriageReturn) {
        afterCarriageReturn = false;
        if (byte === 10) { lineStart = position + index + 1; from = index + 1; continue; }
      }
      if (byte === 10 || byte === 13) {
        parts.push(chunk.subarray(from, index));
        endLine(position + index);
        from = index + 1;
        if (byte === 13) afterCarriageReturn = true;
        if (!skipping && lineStart > split.end) done = true;
      }
    }
    if (!done && from < chunk.length) parts.push(chunk.subarray(from));
    position += chunk.length;
  };
  if (split.url !== undefined) {
    // A store's read URL is a credential (a presigned signature, a delegation token): messages
    // name the store URI, or the URL without its query.
    const shown = split.source ?? split.url.replace(/\\?.*$/s, '?…');
    // WebHDFS' OPEN takes the start as offset=; HTTP servers and S3 take a Range header.
    const byOffset = split.rangeParam === 'offset';
    let target = split.url;
    let init = {};
    if (split.start > 0) {
      if (byOffset) target += (target.includes('?') ? '&' : '?') + 'offset=' + split.start;
      else init = { headers: { range: 'bytes=' + split.start + '-' } };
    }
    let response;
    try {
      response = await fetch(target, init);
    } catch (error) {
      throw new Error('Cannot read ' + shown + ': ' + (error.cause?.message ?? error.message));
    }
    if (!response.ok) {
      const reason = await storeReason(response);
      let fix = '';
      if (/expired/i.test(reason)) {
        fix = '; the read URL the driver made for this split expired while the job ran (the driver renews URLs before a job once they are past half their life): raise spark.mesos.textFile.presignedUrlExpiry above the longest job';
      } else if (response.status === 403 || response.status === 401) {
        fix = '; the credentials the driver listed the file with may not read it (S3: s3:GetObject; HDFS: read permission, or a valid delegation token)';
      } else if (response.status === 404) {
        fix = '; the file was removed or replaced after the job listed it';
      }
      throw new Error('GET ' + shown + ' answered ' + response.status + ' ' + response.statusText + reason + fix);
    }
    // A server that ignores Range sends the whole file: skip to the split's start. (WebHDFS
    // answers 200 from the offset asked for.)
    let skip = split.start > 0 && response.status !== 206 && !byOffset ? split.start : 0;
    // A .gz file is one split, decompressed here unless the server already sent it decoded.
    const decoded = /gzip/i.test(response.headers.get('content-encoding') ?? '');
    const body = split.gzip && !decoded ? response.body.pipeThrough(new DecompressionStream('gzip')) : response.body;
    const reader = body.getReader();
    try {
      while (!done) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        let chunk = value;
        if (skip > 0) {
          if (chunk.length <= skip) { skip -= chunk.length; continue; }
          chunk = chunk.subarray(skip);
          skip = 0;
        }
        consume(chunk);
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  } else {
    const fs = globalThis.process?.getBuiltinModule?.('node:fs') ?? (await import('node:fs'));
    const file = fs.createReadStream(split.path, { start: split.start, highWaterMark: 65536 });
    let stream = file;
    if (split.gzip) {
      const zlib = globalThis.process?.getBuiltinModule?.('node:zlib') ?? (await import('node:zlib'));
      stream = file.pipe(zlib.createGunzip());
    }
    try {
      for await (const chunk of stream) {
        consume(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        if (done) break;
      }
    } finally {
      stream.destroy();
      file.destroy();
    }
  }
  if (!done && !skipping && lineStart <= split.end) {
    const rest = concat(parts);
    if (rest.length > 0) lines.push(decoder.decode(rest));
  }
  if (split.start === 0 && lines.length > 0 && lines[0].charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1);
  return lines;
}`,
};

// Steps are hand-written iterators rather than generators: about 2.5 times faster per item on
// Node 20, and `return` still reaches the source when an action stops early (take).
const STEP_OPS: Record<StepOp, string> = {
  map: `(items, f, captured) => {
  const source = items[Symbol.iterator]();
  return {
    [Symbol.iterator]() { return this; },
    next() {
      const step = source.next();
      return step.done ? step : { value: f(step.value, captured), done: false };
    },
    return(value) { source.return?.(); return { value, done: true }; },
  };
}`,
  filter: `(items, f, captured) => {
  const source = items[Symbol.iterator]();
  return {
    [Symbol.iterator]() { return this; },
    next() {
      for (;;) {
        const step = source.next();
        if (step.done || f(step.value, captured)) return step;
      }
    },
    return(value) { source.return?.(); return { value, done: true }; },
  };
}`,
  flatMap: `function* flatMap(items, f, captured) { for (const item of items) yield* f(item, captured); }`,
  mapPartitions: `(items, f, captured) => f(items, captured)`,
  mapPartitionsWithIndex: `(items, f, captured, partition) => f(partition, items, captured)`,
  keyBy: `(items, f, captured) => {
  const source = items[Symbol.iterator]();
  return {
    [Symbol.iterator]() { return this; },
    next() {
      const step = source.next();
      return step.done ? step : { value: [f(step.value, captured), step.value], done: false };
    },
    return(value) { source.return?.(); return { value, done: true }; },
  };
}`,
  mapValues: `(items, f, captured) => {
  const source = items[Symbol.iterator]();
  return {
    [Symbol.iterator]() { return this; },
    next() {
      const step = source.next();
      return step.done ? step : { value: [step.value[0], f(step.value[1], captured)], done: false };
    },
    return(value) { source.return?.(); return { value, done: true }; },
  };
}`,
  zipWithIndex: `(items, f, captured, partition, extra) => {
  const source = items[Symbol.iterator]();
  let index = extra.offset;
  return {
    [Symbol.iterator]() { return this; },
    next() {
      const step = source.next();
      return step.done ? step : { value: [step.value, index++], done: false };
    },
    return(value) { source.return?.(); return { value, done: true }; },
  };
}`,
};

const ACTION_OPS: Record<ActionOp, string> = {
  collect: `(items) => Array.from(items)`,
  count: `(items) => { let count = 0; for (const _ of items) count++; return count; }`,
  reduce: `(items, f, captured) => {
  let empty = true;
  let value;
  for (const item of items) {
    if (empty) { value = item; empty = false; } else value = f(value, item, captured);
  }
  return empty ? { empty: true } : { empty: false, value };
}`,
  fold: `(items, f, captured, partition, extra) => {
  let value = extra.zero;
  for (const item of items) value = f(value, item, captured);
  return value;
}`,
  take: `(items, f, captured, partition, extra) => {
  const taken = [];
  if (extra.count <= 0) return taken;
  for (const item of items) { taken.push(item); if (taken.length >= extra.count) break; }
  return taken;
}`,
  foreach: `async (items, f, captured) => {
  for (const item of items) {
    const result = f(item, captured);
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') await result;
  }
  return null;
}`,
  foreachPartition: `async (items, f, captured) => { await f(items, captured); return null; }`,
  runJob: `(items, f, captured, partition, extra, context) => f(items, context, captured)`,
  saveAsTextFile: `async (items, f, captured, partition, extra, context) => {
  const name = 'part-' + String(context.partition).padStart(5, '0');
  if (extra.target !== undefined) {
    // A part in a store, through the write URL the driver made for it (a credential: messages
    // name the store URI). One PUT of the whole part: S3 wants the length up front, one PUT
    // replaces an object atomically, and a retried attempt simply replaces the part.
    ${STORE_REASON}
    const { url, source, redirect, headers = {} } = extra.target;
    const chunks = [];
    let buffer = '';
    for (const item of items) {
      buffer += (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.getPrototypeOf(item) === Object.prototype
        ? JSON.stringify(item) : String(item)) + '\\n';
      if (buffer.length >= 65536) { chunks.push(buffer); buffer = ''; }
    }
    if (buffer.length > 0) chunks.push(buffer);
    const body = new Blob(chunks);
    const put = async (target, init) => {
      try {
        return await fetch(target, { method: 'PUT', headers, ...init });
      } catch (error) {
        throw new Error('Cannot write ' + source + ': ' + (error.cause?.message ?? error.message));
      }
    };
    const refused = async (response, step) => {
      const reason = await storeReason(response);
      let fix = '';
      if (/expired/i.test(reason)) {
        fix = '; the write URL the driver made for this part expired while the job ran: raise spark.mesos.textFile.presignedUrlExpiry above the longest job';
      } else if (response.status === 403 || response.status === 401) {
        fix = '; the credentials the driver signed with may not write it (S3: s3:PutObject on the prefix; HDFS: write permission on the directory, or a valid delegation token)';
      } else if (response.status === 404) {
        fix = '; the bucket or directory was removed while the job ran';
      }
      return new Error('PUT ' + source + step + ' answered ' + response.status + ' ' + response.statusText + reason + fix);
    };
    let target = url;
    if (redirect === 'location') {
      // WebHDFS' CREATE as Hadoop documents it: a PUT without the data to the namenode, not
      // following its redirect, then the data to the datanode its 307 names.
      const created = await put(url, { redirect: 'manual' });
      const location = created.headers.get('location');
      if (created.status !== 307 || location === null) throw await refused(created, ' (namenode)');
      await created.body?.cancel();
      target = location;
    }
    const response = await put(target, { body });
    if (!response.ok) throw await refused(response, redirect === 'location' ? ' (datanode)' : '');
    await response.body?.cancel();
    return name;
  }
  const fs = globalThis.process?.getBuiltinModule?.('node:fs/promises') ?? (await import('node:fs/promises'));
  // Written under a per-attempt name and renamed, so a retried or lost attempt never leaves
  // half a file under the final name.
  const temporary = extra.directory + '/.' + name + '.' + context.taskId + '.tmp';
  const handle = await fs.open(temporary, 'w');
  try {
    let buffer = '';
    for (const item of items) {
      buffer += (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.getPrototypeOf(item) === Object.prototype
        ? JSON.stringify(item) : String(item)) + '\\n';
      if (buffer.length >= 65536) { await handle.write(buffer); buffer = ''; }
    }
    if (buffer.length > 0) await handle.write(buffer);
  } finally {
    await handle.close();
  }
  await fs.rename(temporary, extra.directory + '/' + name);
  return name;
}`,
};

/** The operations a task function is composed from, by role. */
export type SourceOp = 'items' | 'empty' | 'range' | 'text';
export type StepOp =
  | 'map'
  | 'filter'
  | 'flatMap'
  | 'mapPartitions'
  | 'mapPartitionsWithIndex'
  | 'keyBy'
  | 'mapValues'
  | 'zipWithIndex';
export type ActionOp =
  | 'collect'
  | 'count'
  | 'reduce'
  | 'fold'
  | 'take'
  | 'foreach'
  | 'foreachPartition'
  | 'runJob'
  | 'saveAsTextFile';

/** The shape a stage's function is composed from (see {@link composeTaskSource}). */
export interface TaskShape {
  readonly source: SourceOp;
  /** Each step's operation and the user function's source (null when the step has none). */
  readonly steps: ReadonlyArray<{ readonly op: StepOp; readonly fn: string | null }>;
  readonly action: { readonly op: ActionOp; readonly fn: string | null };
}

/** What a composed task function receives as `captured`. */
export interface ComposedCaptured {
  /** The user's captured values per step, then the action's. */
  readonly values: unknown[];
  /**
   * The partition index each step sees (it differs from the task's after a union), or null when
   * every step sees the task's own partition (then one `captured` serves every task of a stage).
   */
  readonly partitions: number[] | null;
  /** Library values per step, then the action's (zero values, offsets, directories). */
  readonly extras: unknown[];
}

/**
 * Composes one task function from a stage's source, its chain of narrow steps and the action, so
 * the whole chain runs as one task per partition. The result is a function expression called as
 * `fn(input, captured, context)` with `captured` a {@link ComposedCaptured}.
 */
export function composeTaskSource(shape: TaskShape): string {
  const functions = [...shape.steps.map((step) => step.fn), shape.action.fn].map((fn) =>
    fn === null ? 'null' : `(${fn}\n)`,
  );
  // Only the operations the chain uses travel with the task.
  const usedSteps = [...new Set(shape.steps.map((step) => step.op))];
  const stepTable = usedSteps.map((op) => `${op}: ${STEP_OPS[op]}`).join(',\n');
  const last = shape.steps.length;
  // The user functions and the runtime are evaluated as arguments of an outer arrow, so their
  // free variables resolve where the runner evaluates the source, never to this function's locals
  // (a driver variable called `items` must still be a ReferenceError, not our iterable).
  return `((functions, source, stepTable, action, steps) => async function sparkMesosTask(input, captured, context) {
  let items = await source(input, context);
  const partitions = captured.partitions;
  for (let index = 0; index < steps.length; index++) {
    const partition = partitions === null ? context.partition : partitions[index];
    items = stepTable[steps[index]](items, functions[index], captured.values[index], partition, captured.extras[index], context);
  }
  return await action(items, functions[${last}], captured.values[${last}], context.partition, captured.extras[${last}], context);
})([
${functions.join(',\n')}
], ${SOURCE_OPS[shape.source]}, {
${stepTable}
}, ${ACTION_OPS[shape.action.op]}, ${JSON.stringify(shape.steps.map((step) => step.op))})`;
}
