import type { Resource } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import { fineWorkerHeapLimitMiB } from './fine-executor.js';

const mem = (value: number, role?: string): Resource => ({
  name: 'mem',
  type: 'SCALAR',
  scalar: { value },
  ...(role === undefined ? {} : { role }),
});
const cpus: Resource = { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } };

describe('fineWorkerHeapLimitMiB', () => {
  it('takes heapLimitMiB of ExecutorInfo.data when given', () => {
    expect(fineWorkerHeapLimitMiB({ heapLimitMiB: 300 }, [cpus, mem(4096)], 2)).toBe(300);
  });

  it('derives the limit from the executor’s mem with the coarse-grained rule', () => {
    // (2048 − 96) × 0.75 / 4 = 366
    expect(fineWorkerHeapLimitMiB({}, [cpus, mem(2048)], 4)).toBe(366);
    // mem of several roles adds up: (1024 + 1024 − 96) × 0.75 / 2 = 732
    expect(fineWorkerHeapLimitMiB({}, [mem(1024, '*'), mem(1024, 'spark')], 2)).toBe(732);
    // A small executor still gives each worker 32 MiB.
    expect(fineWorkerHeapLimitMiB({}, [mem(128)], 8)).toBe(32);
  });

  it('keeps Node’s default without a mem resource', () => {
    expect(fineWorkerHeapLimitMiB({}, undefined, 2)).toBeUndefined();
    expect(fineWorkerHeapLimitMiB({}, [cpus], 2)).toBeUndefined();
  });
});
