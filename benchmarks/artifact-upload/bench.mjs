// Upload throughput of a 200 MB executor package to a loopback nginx with WebDAV, through
// @spark-mesos/artifact-uploader's uploadArtifact (stat GET, PUT to a temporary name, MOVE, fetch
// check GET) against `curl -T` of the same file (one PUT) in the same run, alternating so both
// see the same machine load. Then the no-op re-upload: its time and the requests nginx saw.
//
//   node bench.mjs [--runs N] [--size-mib M]
//
// Not a test: nothing here asserts on speed. Results go to results.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { packExecutor, uploadArtifact } from '@spark-mesos/artifact-uploader';
import { startNginxServer } from '@spark-mesos/artifact-uploader/testing';

const { values: args } = parseArgs({ options: { runs: { type: 'string' }, 'size-mib': { type: 'string' } } });
const runs = Number(args.runs ?? 7);
const sizeMiB = Number(args['size-mib'] ?? 200);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const summary = (values, digits = 1) => ({
  median: Number(median(values).toFixed(digits)),
  min: Number(Math.min(...values).toFixed(digits)),
  max: Number(Math.max(...values).toFixed(digits)),
});

const work = mkdtempSync(join(os.tmpdir(), 'spark-mesos-bench-upload-'));
const nginx = await startNginxServer();
try {
  // A runtime directory with incompressible bytes, so the package really is ~200 MB.
  const runtime = join(work, 'runtime');
  mkdirSync(join(runtime, 'bin'), { recursive: true });
  mkdirSync(join(runtime, 'lib'), { recursive: true });
  writeFileSync(join(runtime, 'bin', 'spark-mesos-executor'), '#!/usr/bin/env node\n', { mode: 0o755 });
  spawnSync('sh', ['-c', `head -c ${sizeMiB * 1024 * 1024} /dev/urandom > '${join(runtime, 'lib', 'blob.bin')}'`]);
  const packStarted = performance.now();
  const packed = await packExecutor({
    runtimeDirectory: runtime,
    outputDirectory: join(work, 'out'),
    compressionLevel: 1,
  });
  const packMs = performance.now() - packStarted;
  const mib = packed.size / 1024 / 1024;
  process.stderr.write(`packed ${packed.name}: ${mib.toFixed(1)} MiB in ${(packMs / 1000).toFixed(1)} s\n`);

  const ours = [];
  const curl = [];
  for (let run = 0; run < runs; run++) {
    // Alternate which goes first, so neither always meets a warm or a cold page cache.
    const order = run % 2 === 0 ? ['ours', 'curl'] : ['curl', 'ours'];
    for (const which of order) {
      rmSync(join(nginx.root, 'dav', which), { recursive: true, force: true });
      const started = performance.now();
      if (which === 'ours') {
        const result = await uploadArtifact(packed.file, `${nginx.url}/dav/ours/`, {
          sha256: packed.sha256,
          progress: false,
        });
        if (!result.uploaded) throw new Error('expected an upload');
        ours.push(mib / ((performance.now() - started) / 1000));
      } else {
        execFileSync('curl', [
          '-sS',
          '-f',
          '-o',
          '/dev/null',
          '-T',
          packed.file,
          `${nginx.url}/dav/curl/${packed.name}`,
        ]);
        curl.push(mib / ((performance.now() - started) / 1000));
      }
    }
    process.stderr.write(
      `run ${run + 1}/${runs}: ours ${ours.at(-1).toFixed(0)} MiB/s, curl ${curl.at(-1).toFixed(0)} MiB/s\n`,
    );
  }

  // No-op re-upload: the package is there; count what nginx sees.
  const noopMs = [];
  const noopRequests = [];
  for (let run = 0; run < runs; run++) {
    const before = nginx.accessLog().length;
    const started = performance.now();
    const result = await uploadArtifact(packed.file, `${nginx.url}/dav/ours/`, {
      sha256: packed.sha256,
      progress: false,
    });
    noopMs.push(performance.now() - started);
    if (result.uploaded) throw new Error('expected no upload');
    // nginx logs a request when it is done with it; the dropped GET body may end a moment later.
    await new Promise((resolve) => setTimeout(resolve, 200));
    noopRequests.push(nginx.accessLog().length - before);
  }
  // The floor for one round trip: curl's GET of the headers only.
  const roundTripMs = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    execFileSync('curl', ['-sS', '-f', '-o', '/dev/null', '-I', `${nginx.url}/dav/ours/${packed.name}`]);
    roundTripMs.push(performance.now() - started);
  }

  const oursSummary = summary(ours);
  const curlSummary = summary(curl);
  const results = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
      nginx: spawnSync('/usr/sbin/nginx', ['-v'], { encoding: 'utf8' }).stderr.trim(),
    },
    packageMiB: Number(mib.toFixed(1)),
    packSeconds: Number((packMs / 1000).toFixed(1)),
    runs,
    uploadMiBPerSecond: { uploadArtifact: oursSummary, curlT: curlSummary },
    ratioOfMedians: Number((oursSummary.median / curlSummary.median).toFixed(3)),
    // Each run's two uploads ran back to back: their ratio is less disturbed by load that drifts.
    pairedRatio: summary(
      ours.map((value, index) => value / curl[index]),
      3,
    ),
    noopReupload: { milliseconds: summary(noopMs, 2), requests: [...new Set(noopRequests)] },
    curlHeadRoundTripMilliseconds: summary(roundTripMs, 2),
  };
  writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} finally {
  await nginx.stop();
  rmSync(work, { recursive: true, force: true });
}
