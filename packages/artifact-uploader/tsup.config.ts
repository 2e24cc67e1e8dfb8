import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup-preset.ts';

// `cli` is the `spark-mesos-upload` command; `testing` a subpath export (test servers,
// packing fixtures) for other packages' tests and the benchmark.
export default defineConfig(
  tsupPreset({ entry: { index: 'src/index.ts', cli: 'src/cli.ts', 'testing/index': 'src/testing/index.ts' } }),
);
