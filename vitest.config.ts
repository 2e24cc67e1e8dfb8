import { defineConfig } from 'vitest/config';

// Two cores per machine: two workers keep ZooKeeper and friends responsive.
export default defineConfig({
  test: {
    projects: ['packages/*', 'tests/*'],
    maxWorkers: 2,
    fileParallelism: true,
  },
});
