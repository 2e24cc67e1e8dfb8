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

// Field 5 of /proc/<pid>/stat is the process group; the command name (field 2) may hold spaces
// and parentheses, so fields are counted from the last ')'.
function processGroupOf(stat: string): number | undefined {
  const end = stat.lastIndexOf(')');
  if (end < 0) return undefined;
  const fields = stat.slice(end + 2).split(' ');
  const group = Number(fields[2]);
  return Number.isInteger(group) ? group : undefined;
}

function residentBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * The summed resident set size, in bytes, of every process in each of the `groups` (process
 * group ids). Groups without a live process are absent from the result. Processes that vanish
 * while being read are skipped.
 */
export async function sampleGroupMemory(groups: ReadonlySet<number>): Promise<Map<number, number>> {
  const usage = new Map<number, number>();
  if (groups.size === 0) return usage;
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  await Promise.all(
    pids.map(async (pid) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
      const group = stat === undefined ? undefined : processGroupOf(stat);
      if (group === undefined || !groups.has(group)) return;
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
      if (status === undefined) return;
      usage.set(group, (usage.get(group) ?? 0) + residentBytes(status));
    }),
  );
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
