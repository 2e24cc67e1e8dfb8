// The application's production dependencies, found the way Node finds them at run time and laid
// out again as a plain nested node_modules tree (pnpm's symlinks dereferenced), so the copy in
// the executor package resolves every `import` to the same package version as on the driver.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SparkMesosError } from '@spark-mesos/errors';

/** What the packer reads from a package.json. */
interface PackageManifest {
  readonly name?: string;
  readonly version?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
}

/** One installed package: a real directory on disk. */
interface InstalledPackage {
  readonly name: string;
  readonly version: string;
  /** Real path of the package directory (symlinks resolved). */
  readonly directory: string;
  /** Its production dependencies, by the name it imports them under. */
  readonly dependencies: Map<string, InstalledPackage>;
}

/** One package placed in the output tree. */
export interface PlacedPackage {
  /** Path under the application directory, e.g. `node_modules/a/node_modules/b`. */
  readonly path: string;
  /** Real directory the files are copied from. */
  readonly sourceDirectory: string;
  /** Package name. */
  readonly name: string;
  /** Package version (`''` when its package.json has none). */
  readonly version: string;
}

/** Reads a package.json; a missing one is an empty manifest (Node resolves such folders too). */
export function readManifest(directory: string): PackageManifest {
  const file = join(directory, 'package.json');
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageManifest;
  } catch (cause) {
    throw new SparkMesosError('SM_ERR_BAD_CONFIG', `Cannot read ${file}: ${(cause as Error).message}. Fix the file.`, {
      cause,
    });
  }
}

/**
 * Where Node finds `name` when it is imported from a module in `directory`: the first
 * `node_modules/<name>` folder walking up from it (skipping folders that are themselves
 * `node_modules`), as a real path; undefined when there is none.
 */
function resolvePackageDirectory(directory: string, name: string): string | undefined {
  let current = directory;
  for (;;) {
    if (basename(current) !== 'node_modules') {
      const candidate = join(current, 'node_modules', name);
      if (existsSync(candidate) && statSync(candidate).isDirectory()) return realpathSync(candidate);
    }
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/**
 * Finds the production dependency graph of the application in `appDirectory`: its
 * `dependencies` and `optionalDependencies`, and theirs, transitively (plus peer dependencies
 * that are installed; pnpm and npm both install those). Dev dependencies are never followed.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when a required dependency is not installed.
 */
function dependencyGraph(appDirectory: string): Map<string, InstalledPackage> {
  const packages = new Map<string, InstalledPackage>();
  const visit = (directory: string): InstalledPackage => {
    const known = packages.get(directory);
    if (known !== undefined) return known;
    const manifest = readManifest(directory);
    const installed: InstalledPackage = {
      name: manifest.name ?? basename(directory),
      version: manifest.version ?? '',
      directory,
      dependencies: new Map(),
    };
    packages.set(directory, installed);
    for (const [name, required] of wantedDependencies(manifest)) {
      const found = resolvePackageDirectory(directory, name);
      if (found === undefined) {
        if (!required) continue;
        throw new SparkMesosError(
          'SM_ERR_BAD_CONFIG',
          `The production dependency "${name}" of ${installed.name} (${directory}) is not installed. ` +
            'Install the application\'s dependencies (e.g. "npm install --omit=dev" or "pnpm install --prod") before packing.',
          { cause: { dependency: name, from: directory } },
        );
      }
      installed.dependencies.set(name, visit(found));
    }
    return installed;
  };
  visit(realpathSync(appDirectory));
  return packages;
}

/** Dependency names to follow, sorted, each with whether a missing one is an error. */
function wantedDependencies(manifest: PackageManifest): [string, boolean][] {
  const wanted = new Map<string, boolean>();
  for (const name of Object.keys(manifest.peerDependencies ?? {})) wanted.set(name, false);
  for (const name of Object.keys(manifest.optionalDependencies ?? {})) wanted.set(name, false);
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    // npm lists optional dependencies in both maps; optional wins.
    if (!(manifest.optionalDependencies && name in manifest.optionalDependencies)) wanted.set(name, true);
  }
  return [...wanted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A folder of the output tree: the application root or one placed package. */
interface TreeNode {
  readonly installed: InstalledPackage;
  readonly path: string;
  readonly parent: TreeNode | undefined;
  readonly children: Map<string, TreeNode>;
  /** Names some module below this folder resolves through it to a folder higher up. */
  readonly passedThrough: Set<string>;
}

/**
 * Lays the application's production dependencies out as a nested node_modules tree: each
 * package as high as it can go (hoisted) without changing what any module resolves, nested
 * below its dependent where two versions of one name conflict. Breadth-first, so shallow
 * dependents get the high places; names and the output are sorted, so the layout is the same
 * for the same installed packages whatever the order on disk.
 *
 * @returns the placed packages sorted by path.
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` when a required dependency is not installed.
 */
export function layOutProductionDependencies(appDirectory: string): PlacedPackage[] {
  const graph = dependencyGraph(appDirectory);
  const rootPackage = graph.get(realpathSync(appDirectory));
  if (rootPackage === undefined) throw new Error('unreachable: the application is the graph root');
  const root: TreeNode = {
    installed: rootPackage,
    path: '',
    parent: undefined,
    children: new Map(),
    passedThrough: new Set(),
  };
  const placed: TreeNode[] = [];
  const queue: TreeNode[] = [root];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const node = next;
    for (const [name, target] of node.installed.dependencies) {
      // Walk up from the dependent: stop at a folder that already has this name (the same
      // package: resolved; another version: conflict) or that a module below resolves this
      // name through (placing it there would change what that module gets).
      let resolvedAt: TreeNode | undefined;
      let highestFree: TreeNode = node;
      let blocked = false;
      for (let current: TreeNode | undefined = node; current !== undefined; current = current.parent) {
        const existing = current.children.get(name);
        if (existing !== undefined) {
          if (existing.installed === target) resolvedAt = current;
          break;
        }
        // Above a blocked folder we only look for the same package already placed higher up.
        if (current !== node && current.passedThrough.has(name)) blocked = true;
        if (!blocked) highestFree = current;
      }
      const stopAt = resolvedAt ?? highestFree;
      for (
        let current: TreeNode | undefined = node;
        current !== undefined && current !== stopAt;
        current = current.parent
      ) {
        current.passedThrough.add(name);
      }
      if (resolvedAt !== undefined) continue;
      const child: TreeNode = {
        installed: target,
        path: `${stopAt.path === '' ? '' : `${stopAt.path}/`}node_modules/${name}`,
        parent: stopAt,
        children: new Map(),
        passedThrough: new Set(),
      };
      stopAt.children.set(name, child);
      placed.push(child);
      queue.push(child);
    }
  }
  return placed
    .map((node) => ({
      path: node.path,
      sourceDirectory: node.installed.directory,
      name: node.installed.name,
      version: node.installed.version,
    }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
