import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup-preset.ts';

// Subpath exports: `./recordio` (the framing on its own) and `./testing` (the replay server).
export default defineConfig(
  tsupPreset({
    entry: { index: 'src/index.ts', recordio: 'src/recordio.ts', 'testing/index': 'src/testing/index.ts' },
  }),
);
