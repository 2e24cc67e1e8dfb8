import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup-preset.ts';

// `testing` is a subpath export: the ZooKeeper test server other packages' tests reuse.
export default defineConfig(tsupPreset({ entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' } }));
