import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * Shared per-package test settings. Workspace packages resolve to their TypeScript sources
 * through the `@spark-mesos/source` export condition, so tests never need a prior build.
 */
export function vitestPreset(name: string, overrides: UserWorkspaceConfig['test'] = {}) {
  return defineProject({
    resolve: { conditions: ['@spark-mesos/source'] },
    ssr: { resolve: { conditions: ['@spark-mesos/source'] } },
    test: {
      name,
      environment: 'node',
      include: ['src/**/*.test.ts'],
      testTimeout: 20_000,
      hookTimeout: 60_000,
      ...overrides,
    },
  });
}
