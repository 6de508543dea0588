// Scale: one daemon with 100,000 registered hosts (issue: "100,000 hosts per
// daemon"). First the start-up alone, twice on one state dir (a first start,
// then a restart that restores every host's status from the store), with the
// daemon's stage breakdown (config parse/validate/resolve, store load and
// restore, shard attach, …: GET /health `startup`), then two benchmarks as
// child processes, each printing its figures beside its goals:
//   1. http-reads at SCALE_HOSTS (100,000) hosts, daemon and bare uWS on the
//      same data: start-up to serving (< 10 s), idle RSS (< 1.5 GiB), idle CPU
//      over 10 s (< 1 % of a core), GET /hosts/:name CPU/request against bare
//      uWS in the same run (≤ 1.3×).
//   2. waiting-hosts: heap per host waiting for its turn in a shard (goal < 1 KB).
//   3. with SCALE_QUERY=1: scale-query, a dry-run over SCALE_HOSTS simulated
//      hosts (every host accounted for; peak RSS, goal < 2 GiB; CPU/host; the
//      daemon's open descriptors), the simulator spread over processes. Off by
//      default: on this 2-core machine it runs for many minutes, with the
//      simulator sharing the cores.
//
//   npx tsc && node dist/bench/scale.js
//   SCALE_HOSTS=100000 SCALE_QUERY=1 node dist/bench/scale.js
//   SCALE_STARTUP_ONLY=1 node dist/bench/scale.js   (the start-up runs alone)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envNumber } from './lib/bench-env.js';
import { fleetHosts, hostName, writeDaemonConfig } from './lib/fleet-config.js';
import { printStartupRuns, probeStartup } from './lib/startup-probe.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench
const HOSTS = Math.round(envNumber('SCALE_HOSTS', 100_000));

function runBench(name: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<number> {
  console.log(`\n--- scale: ${name} ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} ---`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, join(HERE, `${name}.js`)], { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', (err) => {
      console.error(`${name}: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const STARTUP_GOAL_MS = 10_000;

async function startupRuns(): Promise<number> {
  console.log(`\n--- scale: start-up with ${HOSTS.toLocaleString('en-US')} hosts (first start, then a restart on the same state) ---`);
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-bench-scale-'));
  try {
    const config = writeDaemonConfig(fleetHosts(HOSTS), { workers: Math.round(envNumber('BENCH_DAEMON_WORKERS', 2)), dir });
    const runs = [await probeStartup('first start', config, hostName(HOSTS)), await probeStartup('restart', config, hostName(HOSTS))];
    printStartupRuns(runs, STARTUP_GOAL_MS);
    return 0;
  } catch (err) {
    console.error(`scale: start-up: ${(err as Error).message}`);
    return 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const codes = [await startupRuns()];
if (process.env.SCALE_STARTUP_ONLY === '1') process.exit(codes[0]);
// The memory a host costs while it waits for its turn (the big lever of a 100,000-host dry run).
codes.push(await runBench('waiting-hosts', {}, ['--expose-gc']));
codes.push(
  await runBench('http-reads', {
    BENCH_HOSTS: String(HOSTS),
    BENCH_SERVERS: 'bare-uws,daemon',
    BENCH_IDLE_SECONDS: process.env.BENCH_IDLE_SECONDS ?? '10',
  }),
);
if (process.env.SCALE_QUERY === '1') {
  codes.push(await runBench('scale-query', { SCALE_QUERY_HOSTS: String(HOSTS) }));
} else {
  console.log('\nscale: the dry-run query over every host is skipped (SCALE_QUERY=1 runs it)');
}
process.exit(codes.some((c) => c !== 0) ? 1 : 0);
