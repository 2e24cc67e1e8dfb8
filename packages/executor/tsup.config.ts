import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup-preset.ts';
import { buildExecutorRuntime } from './src/runtime-build.ts';

// The library entries, then the self-contained runtime directory (dist/runtime) agents run.
export default defineConfig(
  tsupPreset({
    entry: { index: 'src/index.ts', protocol: 'src/protocol/index.ts', runtime: 'src/runtime.ts' },
    onSuccess: async () => {
      await buildExecutorRuntime({ packageDirectory: process.cwd(), outDirectory: 'dist/runtime' });
    },
  }),
);
