// `npm start`: the README's first command. Installs and builds what is needed, then runs the
// main job on the embedded default.
import { ensurePnpm, installAndBuild, runOrExit } from './lib.mjs';

installAndBuild(ensurePnpm());
runOrExit(process.execPath, ['examples/packages-tour/tour.mjs', ...process.argv.slice(2)], 'the demo');
