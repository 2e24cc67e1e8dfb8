// `npm run bootstrap`: pnpm, dependencies and a build, from a fresh clone.
import { ensurePnpm, installAndBuild } from './lib.mjs';

installAndBuild(ensurePnpm());
