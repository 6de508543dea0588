// A dry-run query over every host of a big simulated fleet (issue: "a dry-run
// query over all 100,000 simulated hosts completes with every host accounted
// for and RSS < 2 GiB"): one daemon, one POST /fleet/update {dry_run: true},
// measured like fleet-query's daemon pass (bench/lib/fleet-runs.ts), without
// fleet-query's plain-ssh2 ceiling runs (at 100,000 hosts each would take as
// long as the daemon's). The simulator is spread over processes
// (harness/simulator-proc.ts: one per 10,000 hosts, as each needs a
// descriptor per host). Also watched: the daemon's open descriptors against
// its limit, since it holds sessions to the simulated hosts.
//
//   npx tsc && SCALE_QUERY_HOSTS=100000 node dist/bench/scale-query.js
//   (bench/scale.ts runs it with SCALE_QUERY=1; SIM_PROCS sets the simulator's processes)
// Env: SCALE_QUERY_HOSTS (100000) SCALE_QUERY_WORKERS (2) SCALE_QUERY_CONCURRENCY (128)
//      SCALE_QUERY_BASE_ADDR (127.100.0.1) SCALE_QUERY_MAX_SESSIONS (8000, as fleet-query)
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envNumber } from './lib/bench-env.js';
import { formatBreakdown, measurePass, round2, withDaemon } from './lib/fleet-runs.js';
import { processCpuMicros } from './lib/proc-cpu.js';
import { startSimulatorProc } from '../harness/simulator-proc.js';

const HOSTS = Math.round(envNumber('SCALE_QUERY_HOSTS', 100_000));
const WORKERS = Math.round(envNumber('SCALE_QUERY_WORKERS', 2));
const CONCURRENCY = Math.round(envNumber('SCALE_QUERY_CONCURRENCY', 128));
const PEAK_RSS_GOAL_MIB = 2048;
/**
 * 30 ms of wall time per host, at least 3 minutes: a stalled run ends with a
 * report of where it stood. (100,000 hosts took 10 minutes with the machine
 * shared by other work, and ran at a third of that speed when it was busier.)
 */
const TIMEOUT_MS = Math.max(180_000, HOSTS * 30);

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

function fdLimit(pid: number): number {
  const m = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-scale-query-'));
  const t0 = Date.now();
  const sim = await startSimulatorProc({ hosts: HOSTS, dir, baseAddr: process.env.SCALE_QUERY_BASE_ADDR ?? '127.100.0.1', durationS: Math.ceil(TIMEOUT_MS / 1000) + 600 });
  // Interrupted: the simulator processes go too (they would otherwise run out their duration).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void sim.stop().then(() => process.exit(130)));
  console.log(`scale-query: ${HOSTS.toLocaleString('en-US')} simulated hosts in ${sim.procs.length} simulator processes, ready in ${Date.now() - t0} ms`);
  try {
    if (process.env.SCALE_QUERY_MAX_SESSIONS === undefined) process.env.FLEET_QUERY_MAX_SESSIONS ??= '8000';
    else process.env.FLEET_QUERY_MAX_SESSIONS = process.env.SCALE_QUERY_MAX_SESSIONS;
    const { pending, pending_images } = await sim.json('/summary');
    return await withDaemon(sim, WORKERS, CONCURRENCY, async (d) => {
      const pid = d.proc.pid!;
      const simPids = sim.procs.map((p) => p.pid!);
      const simCpu0 = simPids.reduce((n, p) => n + processCpuMicros(p), 0);
      let maxFds = openFds(pid);
      const sampler = setInterval(() => (maxFds = Math.max(maxFds, openFds(pid))), 1000);
      let pass;
      try {
        pass = await measurePass(d, sim, HOSTS, TIMEOUT_MS);
      } finally {
        clearInterval(sampler);
      }
      const simCpuMs = (simPids.reduce((n, p) => n + processCpuMicros(p), 0) - simCpu0) / 1000;
      const js = pass.job_summary;
      const accounted = js.completed + js.failed + js.unreachable + js.skipped;
      const rows: Array<[string, string, string, boolean]> = [
        ['hosts accounted for (completed + failed + unreachable + skipped)', `${accounted} of ${js.total} selected, ${HOSTS} registered`, 'every host', accounted === HOSTS && js.total === HOSTS],
        ['hosts completed', `${pass.completed.toLocaleString('en-US')} of ${HOSTS.toLocaleString('en-US')}`, 'every host', pass.completed === HOSTS],
        ['pending updates found', `${pass.pending} of ${pending + pending_images}`, 'all the simulator holds', pass.pending === pending + pending_images],
        ['daemon peak RSS, MiB', String(pass.peak_rss_mib), `< ${PEAK_RSS_GOAL_MIB}`, pass.peak_rss_mib < PEAK_RSS_GOAL_MIB],
        ['daemon open descriptors, max sampled', `${maxFds} of ${fdLimit(pid)}`, 'under its limit', maxFds < fdLimit(pid)],
      ];
      console.log(`\nscale-query: ${HOSTS.toLocaleString('en-US')} hosts, ${WORKERS} workers, ${CONCURRENCY} in flight`);
      console.log(`  wall ${(pass.wall_ms / 1000).toFixed(1)} s (${pass.hosts_per_s} hosts/s), daemon CPU ${pass.cpu_ms_per_host} ms/host (front thread ${pass.front_cpu_ms_per_host}; second half ${pass.second_half_cpu_ms_per_host}), simulator CPU ${round2(simCpuMs / HOSTS)} ms/host`);
      console.log(`  job summary ${JSON.stringify(js)}${pass.failures.length ? `; first not completed: ${pass.failures.join('; ')}` : ''}; simulator execs ${pass.execs}, connections ${pass.connections}`);
      console.log(`  memory at the highest RSS sample: ${formatBreakdown(pass.memory_at_peak)}`);
      console.log(`  front ELU mean ${pass.front_elu_mean} max ${pass.front_elu_max}, worker ELU max ${pass.worker_elu_max}`);
      for (const [name, value, goal, ok] of rows) console.log(`  ${ok ? 'PASS' : 'MISS'}  ${name.padEnd(66)} ${value} (${goal})`);
      console.log(JSON.stringify({ benchmark: 'scale-query', node: process.version, hosts: HOSTS, workers: WORKERS, concurrency: CONCURRENCY, simulator_processes: sim.procs.length, max_fds: maxFds, simulator_cpu_ms_per_host: round2(simCpuMs / HOSTS), ...pass }));
      return rows.every((r) => r[3]) ? 0 : 1;
    });
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`scale-query: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
