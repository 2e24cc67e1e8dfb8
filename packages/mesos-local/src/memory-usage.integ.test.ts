// Resident memory of process groups from /proc (Linux), and stout's way of printing bytes.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { canSampleMemory, formatBytes, sampleGroupMemory } from './memory-usage.js';

describe('formatBytes', () => {
  it.each([
    [64 * 1024 * 1024, '64MB'],
    [3 * 1024 ** 3, '3GB'],
    [70_012 * 1024, '70012KB'],
    [1000, '1000B'],
    [0, '0B'],
  ])('%i → %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});

describe('sampleGroupMemory', () => {
  it.skipIf(process.platform !== 'linux')('sums the resident memory of a process group', async () => {
    expect(await canSampleMemory()).toBe(true);
    // A group of two: a shell and the node it started.
    const child = spawn('/bin/sh', ['-c', `${process.execPath} -e "setTimeout(()=>{},10000)" & wait`], {
      detached: true,
      stdio: 'ignore',
    });
    try {
      const group = child.pid as number;
      let usage = new Map<number, number>();
      for (let i = 0; i < 50 && (usage.get(group) ?? 0) < 10 * 1024 * 1024; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        usage = await sampleGroupMemory(new Set([group, 999_999_999]));
      }
      // A node process holds well over 10 MB resident; the unknown group is absent.
      expect(usage.get(group)).toBeGreaterThan(10 * 1024 * 1024);
      expect(usage.has(999_999_999)).toBe(false);
    } finally {
      process.kill(-(child.pid as number), 'SIGKILL');
    }
  });
});
