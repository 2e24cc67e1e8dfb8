import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

/**
 * The resident memory of process groups, read from Linux's `/proc`: a coarse stand-in for the
 * cgroups memory isolator of Mesos, which mesos-local enforces by sampling rather than by a
 * kernel limit.
 *
 * @see https://mesos.apache.org/documentation/latest/isolators/cgroups-memory/
 * @module
 */

/** Whether `/proc` is there to read (Linux); elsewhere no memory limit is enforced. */
export async function canSampleMemory(): Promise<boolean> {
  return readFile('/proc/self/status', 'utf8').then(
    () => true,
    () => false,
  );
}

// One scan of /proc serves every agent of the process that asks within this time, so that many
// agents (the benchmark runs a thousand) do not each read every process's stat each second.
const SCAN_REUSE_MS = 200;
let lastScan: { readonly at: number; readonly usage: Promise<Map<number, number>> } | undefined;
let pageSize: Promise<number> | undefined;

function pageSizeBytes(): Promise<number> {
  pageSize ??= new Promise((resolve) => {
    execFile('getconf', ['PAGESIZE'], (error, stdout) => {
      const size = Number(String(stdout).trim());
      resolve(error === null && Number.isInteger(size) && size > 0 ? size : 4096);
    });
  });
  return pageSize;
}

// Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses, so
// they are counted from the last ')'): the 3rd is the process group, the 22nd the resident pages.
function groupAndPages(stat: string): [number, number] | undefined {
  const end = stat.lastIndexOf(')');
  if (end < 0) return undefined;
  const fields = stat.slice(end + 2).split(' ');
  const group = Number(fields[2]);
  const pages = Number(fields[21]);
  return Number.isInteger(group) && Number.isInteger(pages) ? [group, pages] : undefined;
}

async function scanProcesses(): Promise<Map<number, number>> {
  const bytesPerPage = await pageSizeBytes();
  const usage = new Map<number, number>();
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  await Promise.all(
    pids.map(async (pid) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
      const parsed = stat === undefined ? undefined : groupAndPages(stat);
      if (parsed) usage.set(parsed[0], (usage.get(parsed[0]) ?? 0) + parsed[1] * bytesPerPage);
    }),
  );
  return usage;
}

/**
 * The summed resident set size, in bytes, of every process in each of the `groups` (process
 * group ids). Groups without a live process are absent from the result. Processes that vanish
 * while being read are skipped.
 */
export async function sampleGroupMemory(groups: ReadonlySet<number>): Promise<Map<number, number>> {
  const usage = new Map<number, number>();
  if (groups.size === 0) return usage;
  const now = Date.now();
  if (lastScan === undefined || now - lastScan.at > SCAN_REUSE_MS) lastScan = { at: now, usage: scanProcesses() };
  for (const [group, bytes] of await lastScan.usage) if (groups.has(group)) usage.set(group, bytes);
  return usage;
}

/** Bytes as stout prints them: the largest unit that loses nothing (`64MB`, `70012KB`, `12B`). */
export function formatBytes(bytes: number): string {
  const units: Array<[string, number]> = [
    ['TB', 1024 ** 4],
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ];
  for (const [unit, size] of units) if (bytes > 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  return `${bytes}B`;
}
