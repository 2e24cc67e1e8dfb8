// Packs the executor runtime, the application and its production dependencies (and optionally
// the Node binary) into one deterministic .tgz. Determinism is what makes content addressing
// work: Mesos' fetcher cache never refreshes a URI, so a new build must get a new name and an
// unchanged build the same one.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { SparkMesosError } from '@spark-mesos/errors';
import { layOutProductionDependencies, readManifest } from './production-dependencies.js';
import { tarEnd, tarHeader, tarPadding } from './tar-header.js';

/** The one top-level directory of every executor package (contract §1). */
export const EXECUTOR_PACKAGE_DIRECTORY = 'spark-mesos-executor';

/** The executable the runtime directory must hold, relative to it. */
export const EXECUTOR_ENTRY = 'bin/spark-mesos-executor';

/**
 * The modification time written for every entry: 2000-01-01T00:00:00Z. Fixed so that packing
 * the same inputs twice gives the same bytes; not 0, which some tools flag as suspicious.
 */
export const PACKAGE_MTIME_SECONDS = 946_684_800;

/** Options of {@link packExecutor}. */
export interface PackExecutorOptions {
  /**
   * The executor's runtime directory (from `@spark-mesos/executor/runtime`'s
   * `executorRuntimeDirectory()`): holds `bin/spark-mesos-executor` and optionally `lib/`.
   * Copied as is to the top of the package.
   */
  readonly runtimeDirectory: string;
  /**
   * The application: the directory holding its package.json, and its entry module relative to
   * it. Its production dependencies (package.json `dependencies` and `optionalDependencies`,
   * transitively, as installed in node_modules) go with it; dev dependencies never do.
   * @default undefined (no application: tasks are sent as function source)
   */
  readonly application?: {
    /** Directory holding the application's package.json. */
    readonly directory: string;
    /** Entry module relative to `directory`. @default package.json `main`, else `index.js` */
    readonly entry?: string;
  };
  /**
   * Include the current Node binary as `node/bin/node`, for agents without Node
   * (`spark.mesos.executor.bundleNode`).
   * @default false
   */
  readonly bundleNode?: boolean;
  /** Where the .tgz is written. @default join(os.tmpdir(), 'spark-mesos-packages') */
  readonly outputDirectory?: string;
  /**
   * `runtimeVersion` written to manifest.json.
   * @default the runtime directory's package.json `version`, else `'0.0.0'`
   */
  readonly runtimeVersion?: string;
  /** The Node binary bundled with `bundleNode`. @default process.execPath */
  readonly nodeBinary?: string;
  /** The Node version recorded for a bundled binary. @default process.version */
  readonly nodeVersion?: string;
  /** gzip level, 1 (fast) to 9 (small). @default 6 */
  readonly compressionLevel?: number;
}

/** The packed executor package. */
export interface PackedExecutor {
  /** Absolute path of the .tgz. */
  readonly file: string;
  /** Hex SHA-256 of the .tgz bytes. */
  readonly sha256: string;
  /** `spark-mesos-executor-<first 16 hex characters of sha256>.tgz`. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
}

/** One archive member before it is written. */
interface PackEntry {
  readonly path: string;
  readonly type: 'file' | 'directory';
  readonly mode: number;
  readonly size: number;
  /** Where the bytes come from: a file on disk or bytes made here (manifest.json). */
  readonly source?: string;
  readonly content?: Buffer;
}

/** The content-addressed file name of a package with this SHA-256. */
export function executorPackageName(sha256: string): string {
  return `${EXECUTOR_PACKAGE_DIRECTORY}-${sha256.slice(0, 16)}.tgz`;
}

function badConfig(message: string, cause: unknown): SparkMesosError {
  return new SparkMesosError('SM_ERR_BAD_CONFIG', message, { cause });
}

/** Keeps the executable bit only: 0755 when anyone may execute the file, else 0644. */
function normalisedFileMode(mode: number): number {
  return (mode & 0o111) !== 0 ? 0o755 : 0o644;
}

/**
 * Adds `sourceDirectory`'s tree under `archivePath` (directories and regular files, symbolic
 * links followed: pnpm's store links become plain copies). `skip(name, relative)` drops an entry
 * and everything below it.
 */
function addTree(
  entries: PackEntry[],
  sourceDirectory: string,
  archivePath: string,
  skip: (name: string, relativePath: string) => boolean,
  ancestors: ReadonlySet<string> = new Set(),
): void {
  const real = realpathSync(sourceDirectory);
  if (ancestors.has(real)) {
    throw badConfig(`${sourceDirectory} links back to one of its parents; cannot pack a cycle. Remove the link.`, {
      directory: sourceDirectory,
    });
  }
  const inside = new Set(ancestors).add(real);
  entries.push({ path: `${archivePath}/`, type: 'directory', mode: 0o755, size: 0 });
  for (const name of readdirSync(sourceDirectory).sort()) {
    const relative = `${archivePath}/${name}`;
    if (skip(name, relative)) continue;
    const source = join(sourceDirectory, name);
    let stats: ReturnType<typeof statSync>;
    try {
      stats = statSync(source); // follows symbolic links
    } catch (cause) {
      throw badConfig(`Cannot read ${source} (${(cause as Error).message}); a broken link? Remove or fix it.`, cause);
    }
    if (stats.isDirectory()) addTree(entries, source, relative, skip, inside);
    else if (stats.isFile()) {
      entries.push({ path: relative, type: 'file', mode: normalisedFileMode(stats.mode), size: stats.size, source });
    }
    // Sockets, FIFOs and devices have no place in a package: left out.
  }
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Strips `./` and checks that an entry stays inside its application. */
function normaliseEntry(entry: string): string {
  const normalised = posix.normalize(entry.replaceAll('\\', '/')).replace(/^\.\//, '');
  if (normalised.startsWith('../') || normalised.startsWith('/') || normalised === '..') {
    throw badConfig(`The application entry "${entry}" is outside the application directory. Give a path inside it.`, {
      entry,
    });
  }
  return normalised;
}

/** Everything that goes into the package, sorted, with manifest.json made. */
export function collectExecutorEntries(options: PackExecutorOptions): PackEntry[] {
  const top = EXECUTOR_PACKAGE_DIRECTORY;
  const runtimeDirectory = resolve(options.runtimeDirectory);
  const entryFile = join(runtimeDirectory, EXECUTOR_ENTRY);
  if (!existsSync(entryFile) || !statSync(entryFile).isFile()) {
    throw badConfig(
      `The executor runtime directory ${runtimeDirectory} has no ${EXECUTOR_ENTRY}. ` +
        'Build @spark-mesos/executor (pnpm build) or pass the directory executorRuntimeDirectory() returns.',
      { runtimeDirectory },
    );
  }
  const reserved = new Set(['manifest.json', 'node', ...(options.application ? ['app'] : [])]);
  const entries: PackEntry[] = [];
  addTree(entries, runtimeDirectory, top, (name, relative) => {
    if (relative === `${top}/${name}` && reserved.has(name)) {
      throw badConfig(
        `The executor runtime directory ${runtimeDirectory} holds "${name}", which the packer writes itself. ` +
          'Remove it from the runtime directory.',
        { runtimeDirectory, name },
      );
    }
    return false;
  });
  // The start command runs bin/spark-mesos-executor directly: it must be executable.
  const executorEntry = entries.findIndex((entry) => entry.path === `${top}/${EXECUTOR_ENTRY}`);
  const executor = entries[executorEntry];
  if (executor !== undefined) entries[executorEntry] = { ...executor, mode: 0o755 };

  let app: { name: string; entry: string } | null = null;
  if (options.application !== undefined) {
    const appDirectory = resolve(options.application.directory);
    if (!existsSync(join(appDirectory, 'package.json'))) {
      throw badConfig(
        `The application directory ${appDirectory} has no package.json. Point at the folder that holds it.`,
        {
          appDirectory,
        },
      );
    }
    const manifest = readManifest(appDirectory) as { name?: string; main?: string };
    const entry = normaliseEntry(options.application.entry ?? manifest.main ?? 'index.js');
    if (!existsSync(join(appDirectory, entry)) || !statSync(join(appDirectory, entry)).isFile()) {
      throw badConfig(
        `The application entry ${join(appDirectory, entry)} does not exist. Pass the entry module's path relative to ${appDirectory}.`,
        {
          appDirectory,
          entry,
        },
      );
    }
    // The application's own files: everything but node_modules (rebuilt below from the
    // production dependencies only) and hidden files (.git, .env and other secrets).
    addTree(entries, appDirectory, `${top}/app`, (name) => name === 'node_modules' || name.startsWith('.'));
    if (!entries.some((candidate) => candidate.path === `${top}/app/${entry}`)) {
      throw badConfig(
        `The application entry "${entry}" is hidden or inside node_modules, so it is not packed. Move it.`,
        {
          entry,
        },
      );
    }
    const placed = layOutProductionDependencies(appDirectory);
    for (const dependency of placed) {
      // Within a package, skip only its own node_modules: the tree below is rebuilt.
      const base = `${top}/app/${dependency.path}`;
      addParentDirectories(entries, base);
      addTree(
        entries,
        dependency.sourceDirectory,
        base,
        (name, relative) => name === 'node_modules' && relative === `${base}/${name}`,
      );
    }
    app = { entry, name: manifest.name ?? 'app' };
  }

  let node: string | null = null;
  if (options.bundleNode === true) {
    const binary = options.nodeBinary ?? process.execPath;
    const stats = statSync(binary);
    entries.push({ path: `${top}/node/`, type: 'directory', mode: 0o755, size: 0 });
    entries.push({ path: `${top}/node/bin/`, type: 'directory', mode: 0o755, size: 0 });
    entries.push({ path: `${top}/node/bin/node`, type: 'file', mode: 0o755, size: stats.size, source: binary });
    node = options.nodeVersion ?? process.version;
  }

  const runtimeVersion = options.runtimeVersion ?? readManifest(runtimeDirectory).version ?? '0.0.0';
  // Keys in sorted order and no timestamps: the manifest is part of the hashed bytes.
  const manifest = Buffer.from(`${JSON.stringify({ app, format: 1, node, runtimeVersion }, null, 2)}\n`, 'utf8');
  entries.push({ path: `${top}/manifest.json`, type: 'file', mode: 0o644, size: manifest.length, content: manifest });

  const unique = new Map<string, PackEntry>();
  for (const entry of entries) {
    const existing = unique.get(entry.path);
    if (existing !== undefined && !(existing.type === 'directory' && entry.type === 'directory')) {
      throw badConfig(`Two inputs both want ${entry.path} in the package. Rename one of them.`, { path: entry.path });
    }
    unique.set(entry.path, entry);
  }
  return [...unique.values()].sort((a, b) => compareBytes(a.path, b.path));
}

/** Directory entries for `node_modules/a/node_modules` between placed packages. */
function addParentDirectories(entries: PackEntry[], path: string): void {
  const parts = path.split('/');
  for (let index = 1; index < parts.length; index++) {
    entries.push({ path: `${parts.slice(0, index).join('/')}/`, type: 'directory', mode: 0o755, size: 0 });
  }
}

/** The archive's bytes, entry by entry; fails when a file changes size while it is read. */
async function* tarStream(entries: readonly PackEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield tarHeader({
      path: entry.path,
      type: entry.type,
      mode: entry.mode,
      size: entry.size,
      mtimeSeconds: PACKAGE_MTIME_SECONDS,
    });
    if (entry.type !== 'file') continue;
    if (entry.content !== undefined) yield entry.content;
    else if (entry.source !== undefined) {
      let read = 0;
      for await (const chunk of createReadStream(entry.source, { highWaterMark: 1 << 20 })) {
        const bytes = chunk as Buffer;
        read += bytes.length;
        if (read > entry.size) break;
        yield bytes;
      }
      if (read !== entry.size) {
        throw new SparkMesosError(
          'SM_ERR_PACK',
          `${entry.source} changed while it was packed (${entry.size} bytes expected, ${read} read). Pack again once nothing writes to it.`,
          { cause: { source: entry.source, expected: entry.size, read } },
        );
      }
    }
    yield tarPadding(entry.size);
  }
  yield tarEnd();
}

/**
 * Fixes the gzip header's OS byte (offset 9) to 3 (Unix): zlib writes the build platform there,
 * and the same inputs must give the same bytes on every machine. The header's mtime is already 0.
 */
function fixedGzipHeader(): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (offset <= 9 && offset + chunk.length > 9) {
        chunk[9 - offset] = 3;
      }
      offset += chunk.length;
      callback(null, chunk);
    },
  });
}

/**
 * Packs the executor package described in contract §1: a gzip'd tar with the single top-level
 * directory `spark-mesos-executor/` holding the runtime directory's files, `manifest.json`,
 * optionally `app/` (the application with its production node_modules, dereferenced) and
 * `node/bin/node`. Deterministic: sorted entries, fixed mtime, uid/gid 0, empty user/group
 * names, modes 0644/0755 (the executable bit kept), a fixed gzip header. The same inputs give
 * the same bytes with the same Node version (zlib's output may differ between versions).
 *
 * @returns the file, its SHA-256 and its content-addressed name `spark-mesos-executor-<h>.tgz`.
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` for a runtime directory without
 *   `bin/spark-mesos-executor`, a missing application entry or dependency; `SM_ERR_PACK` when a
 *   file changes while it is read or the output cannot be written.
 */
export async function packExecutor(options: PackExecutorOptions): Promise<PackedExecutor> {
  const entries = collectExecutorEntries(options);
  const outputDirectory = resolve(options.outputDirectory ?? join(tmpdir(), 'spark-mesos-packages'));
  await mkdir(outputDirectory, { recursive: true });
  const partial = join(outputDirectory, `.${EXECUTOR_PACKAGE_DIRECTORY}-${randomBytes(6).toString('hex')}.partial`);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.from(tarStream(entries)),
      createGzip({ level: options.compressionLevel ?? 6 }),
      fixedGzipHeader(),
      tap,
      createWriteStream(partial),
    );
    const sha256 = hash.digest('hex');
    const name = executorPackageName(sha256);
    const file = join(outputDirectory, name);
    await rename(partial, file);
    return { file, sha256, name, size };
  } catch (cause) {
    await rm(partial, { force: true });
    if (cause instanceof SparkMesosError) throw cause;
    throw new SparkMesosError(
      'SM_ERR_PACK',
      `Could not write the executor package in ${outputDirectory}: ${(cause as Error).message}. Check that the directory is writable and has space.`,
      { cause },
    );
  }
}
