import type { Options } from 'tsup';

/**
 * The one tsup configuration every package builds with. Kept minimal on purpose: tsup is in
 * maintenance mode and a later switch to tsdown should be mechanical.
 */
export function tsupPreset(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    ...overrides,
  };
}
