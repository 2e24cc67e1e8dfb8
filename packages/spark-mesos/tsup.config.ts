// `cli` is the `spark-mesos` command.
import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup-preset.ts';

export default defineConfig(tsupPreset({ entry: { index: 'src/index.ts', cli: 'src/cli.ts' } }));
