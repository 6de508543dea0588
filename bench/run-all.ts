// `make bench` / `npm run bench`: runs every benchmark in bench/, one after
// another (never concurrently — they would steal each other's CPU), each in its
// own process so one cannot leave state behind for the next.
// Add a benchmark by appending its module name (bench/<name>.ts) here.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCHMARKS: readonly string[] = [
  'http-reads',
  'fleet-query',
  'worker-scaling',
  'ws-fanout',
  'store-write',
  'api-auth',
  'job-reads',
  'client-stream',
  'scale',
  'dashboard',
  'ssh2-patch',
  'cluster-parts',
  'cluster-jobs',
  'cluster',
  'soak',
];

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench

function runOne(name: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(HERE, `${name}.js`)], { stdio: 'inherit' });
    child.on('error', (err) => {
      console.error(`${name}: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

// BENCH_ONLY=a,b runs a subset, in the order of BENCHMARKS.
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((n) => !BENCHMARKS.includes(n)) ?? [];
if (unknown.length > 0) {
  console.error(`BENCH_ONLY: unknown benchmark(s) ${unknown.join(', ')} (known: ${BENCHMARKS.join(', ')})`);
  process.exit(2);
}

// Every number below belongs to this runtime: say which (BENCH_NODE picks it, see the Makefile).
const { uwsBuild } = await import('./lib/uws-native.js');
console.log(
  JSON.stringify({
    bench_runtime: { node: process.version, openssl: process.versions.openssl, abi: process.versions.modules, uws: uwsBuild },
  }),
);

const failed: string[] = [];
for (const name of BENCHMARKS) {
  if (only && !only.includes(name)) continue;
  console.log(`\n=== bench: ${name} ===`);
  const code = await runOne(name);
  if (code !== 0) failed.push(`${name} (exit ${code})`);
}
if (failed.length > 0) {
  console.error(`\nbenchmarks failed: ${failed.join(', ')}`);
  process.exit(1);
}
