// `npm test`: the README's second command, and what .ci/run calls. From a fresh clone: pnpm,
// dependencies, the Debian packages the integration tests need, a build, lint, typecheck and
// every test. Prints `tests: N passed, M failed, K skipped` (summed over every package from
// vitest's JSON report) as its last line and writes it to .test-results/summary.txt.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePnpm, ensureSystemPackages, installAndBuild, log, root, run } from './lib.mjs';

const resultsDir = join(root, '.test-results');
const reportFile = join(resultsDir, 'vitest.json');
const summaryFile = join(resultsDir, 'summary.txt');
rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });

const pnpm = ensurePnpm();
const [pnpmCommand, ...pnpmPrefix] = pnpm;
const missing = ensureSystemPackages();
if (missing.length > 0 && process.env.CI === 'true') {
  // With CI=true a missing real component fails the run; the tests that need it fail too.
  log(`CI=true and still missing: ${missing.join(', ')}`);
}
installAndBuild(pnpm);

const failures = [];
if (run(pnpmCommand, [...pnpmPrefix, 'run', 'lint']) !== 0) failures.push('lint');
if (run(pnpmCommand, [...pnpmPrefix, 'run', 'typecheck']) !== 0) failures.push('typecheck');

const vitestArgs = [
  'exec',
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${reportFile}`,
];
const vitestStatus = run(pnpmCommand, [...pnpmPrefix, ...vitestArgs, ...process.argv.slice(2)]);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(reportFile)) {
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A file that fails to load has no tests to count: count it as one failure.
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) failed += 1;
  }
} else {
  failed += 1;
  log('vitest wrote no JSON report');
}
if (vitestStatus !== 0 && failed === 0) {
  failures.push(`vitest exited ${vitestStatus} (errors outside tests, e.g. unhandled rejections)`);
}
if (failed > 0) failures.push(`${failed} failed test(s)`);

const summary = `tests: ${passed} passed, ${failed} failed, ${skipped} skipped`;
writeFileSync(summaryFile, `${summary}\n`);
if (failures.length > 0) log(`FAILED: ${failures.join('; ')}`);
process.stdout.write(`${summary}\n`);
process.exit(failures.length > 0 ? 1 : 0);
