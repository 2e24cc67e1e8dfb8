import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup-preset.ts';

// `cli` is the `spark-mesos-upload` command.
export default defineConfig(tsupPreset({ entry: { index: 'src/index.ts', cli: 'src/cli.ts' } }));
