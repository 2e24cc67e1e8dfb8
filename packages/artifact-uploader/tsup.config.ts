import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup-preset.ts';

// Subpath export `./testing`: the S3 and WebHDFS test servers other packages' tests start.
export default defineConfig(tsupPreset({ entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' } }));
