// `npm start`: the README's first command. Installs and builds what is needed, then runs the Pi
// example through `spark-mesos submit` on its default master (local[*], worker threads in this
// machine) and prints the answer. Arguments go to the example (`npm start -- 8`: 8 slices).
// `npm run tour` (this script with --tour) runs the packages tour instead.
import { ensurePnpm, installAndBuild, runOrExit } from './lib.mjs';

const [first, ...rest] = process.argv.slice(2);
installAndBuild(ensurePnpm());
if (first === '--tour') {
  runOrExit(process.execPath, ['examples/packages-tour/tour.mjs', ...rest], 'the packages tour');
} else {
  runOrExit(
    process.execPath,
    ['packages/spark-mesos/dist/cli.js', 'submit', 'examples/pi/pi.mjs', ...process.argv.slice(2)],
    'spark-mesos submit examples/pi/pi.mjs',
  );
}
