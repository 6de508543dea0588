// A one-shot dry-run query across a simulated fleet, through the daemon's API
// (POST /fleet/update {dry_run: true, batch_size: N}), against the ceiling: a
// plain ssh2 script (bench/baselines/plain-ssh2-query.ts) sending the same
// commands to the same simulator with the same concurrency.
//
//   npx tsc && node dist/bench/fleet-query.js
//   FLEET_QUERY_SIZES=1000,10000 FLEET_QUERY_WORKERS=1,2 FLEET_QUERY_CONCURRENCY=128 FLEET_QUERY_REPEAT=3 (the defaults) node dist/bench/fleet-query.js
//   FLEET_QUERY_BASE_ADDR=127.60.0.1 … (the simulated hosts' first address, when another run on this machine uses the default)
//   FLEET_QUERY_MAX_SESSIONS=2000 … (the daemon's SSH session cap, split over its workers; 8000 by default)
//
// Everything runs FLEET_QUERY_REPEAT times per fleet size, each time with a
// fresh plain script and fresh daemons, and the summary gives each worker
// count's median and range: fresh daemons on this machine differ by up to
// 10-20 % in CPU/host for their whole life (so, with the CPU-bound simulator
// on the same cores, in hosts/s too), and one run is one draw. Each daemon is
// compared with the mean of the one-process plain runs right before and right
// after it, and the bench prints how far those two differ (the machine's drift
// across the daemon's run): this machine is shared, and a single plain run
// minutes earlier read a slowdown of the machine as the daemon's.
//
// Per run: wall time (POST → job finished), hosts/s, the daemon's CPU per
// host (all threads, from /proc), its peak RSS (VmHWM) and where the memory was
// at the highest RSS sample (front vs worker heaps, used and reserved, Buffers,
// other native; goal ≤ 600 MiB at 10,000 hosts), and the front thread's
// event-loop utilisation from the daemon's debug `load` log lines (every 2 s;
// src/load-log.ts). Each daemon is measured on its first query of the fleet
// (the one-shot figure, compared with the plain script) and again on a second,
// warm query. For N > 1 workers, the plain script also runs as N processes
// on N slices of the fleet: the same-run control for how much CPU/host this
// machine adds when N clients share its cores (its simulator included).
// Concurrency: the script keeps C hosts in flight; the daemon gets
// max_handshakes_per_worker = C / workers (its only cap on
// concurrent hosts: a host holds its handshake slot until authenticated,
// then runs its commands on its own session).
//
// The simulator is a separate process (harness/simulator-proc.ts; it and
// the plain script run at the nice level of the daemon's worker threads),
// started once per fleet size and shared by every run on that size. Sessions
// idle-close after 2 s so neither process runs out of file descriptors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatBreakdown, formatGroups, measurePass, round2, runBaseline, waitForNoSessions, withDaemon, showSpread, spread, type BaselinePass, type Pass } from './lib/fleet-runs.js';
import { startSimulatorProc, type SimulatorProc } from '../harness/simulator-proc.js';

const list = (v: string | undefined, d: string) => (v ?? d).split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const SIZES = list(process.env.FLEET_QUERY_SIZES, '1000,10000');
const WORKERS = list(process.env.FLEET_QUERY_WORKERS, '1,2');
const CONCURRENCY = Number(process.env.FLEET_QUERY_CONCURRENCY ?? 128);
/** The issue's goal for a full dry-run query of 10,000 hosts (VmHWM of the daemon, both passes). */
const PEAK_RSS_GOAL_MIB = 600;
/** Fresh daemons (and plain runs) per fleet size; the summary gives median and range. */
const REPEAT = Math.max(1, Math.round(Number(process.env.FLEET_QUERY_REPEAT ?? 3)));

/** A fresh daemon: its first query of the fleet (the one-shot figure), then the same query again. */
interface DaemonRun extends Pass {
  workers: number;
  warm: Pass;
}

async function runDaemon(sim: SimulatorProc, hosts: number, workers: number): Promise<DaemonRun> {
  return withDaemon(sim, workers, CONCURRENCY, async (d) => {
    const cold = await measurePass(d, sim, hosts);
    // The same query again on the same daemon, once every session has
    // idle-closed (so each host is a fresh handshake again): what a
    // long-running daemon spends per host once its code is compiled and its
    // known_hosts holds the fleet. Not comparable with the plain script: the
    // daemon remembers each host's OS and tools, so it sends fewer commands.
    await sim.json('/reset-counters', {});
    await waitForNoSessions(d);
    const warm = await measurePass(d, sim, hosts);
    return { workers, ...cold, warm };
  });
}

/** The plain script split over as many processes as the daemon has workers. */
interface ParallelControl {
  processes: number;
  wall_ms: number;
  hosts_per_s: number;
  cpu_ms_per_host: number;
  /** CPU/host over the one-process baseline's. */
  cpu_growth: number;
  second_half_cpu_ms_per_host: number;
  second_half_cpu_growth: number;
  ok: number;
}

/** One run of the plain script as one process: the ceiling a daemon is compared with. */
type PlainRun = BaselinePass & { hosts_per_s: number; cpu_ms_per_host: number; second_half_cpu_ms_per_host: number; sim_execs: number };

/** A daemon's plain ceiling: the one-process runs right before and right after it, and how far they differ (the machine's drift meanwhile). */
interface Bracket {
  hosts_per_s: number;
  cpu_ms_per_host: number;
  /** hosts/s after over before: this shared machine's speed change across the daemon's run. */
  drift: number;
}

/** One repetition on one fleet size. */
interface SizeReport {
  hosts: number;
  concurrency: number;
  simulator_pending: number;
  /** The one-process plain runs, in order: one before the first daemon, then one after each daemon. */
  baselines: PlainRun[];
  daemon: Array<DaemonRun & { control?: ParallelControl; plain: Bracket; throughput_ratio: number; cpu_ratio: number; same_commands: boolean; correct: boolean }>;
}

/** A plain pass's figures per host (one process or N, summed). */
function perHost(p: BaselinePass, hosts: number): { hosts_per_s: number; cpu_ms_per_host: number; second_half_cpu_ms_per_host: number } {
  return {
    hosts_per_s: Math.round((hosts / p.wall_ms) * 1000),
    cpu_ms_per_host: round2(p.cpu_ms / hosts),
    second_half_cpu_ms_per_host: round2(p.second_half_cpu_ms / (hosts / 2)),
  };
}

async function runPlain(sim: SimulatorProc, hosts: number): Promise<PlainRun> {
  await sim.json('/reset-counters', {});
  const base = await runBaseline(sim.toml, 1, CONCURRENCY);
  const { execs, connections } = await sim.json('/summary');
  const run = { ...base, ...perHost(base, hosts), sim_execs: execs };
  console.log(
    `fleet ${hosts}: plain ssh2 (concurrency ${CONCURRENCY}): ${base.wall_ms} ms, ${run.hosts_per_s} hosts/s, ` +
      `${run.cpu_ms_per_host} ms CPU/host (second half ${run.second_half_cpu_ms_per_host}), ok ${base.ok}/${hosts}, execs ${execs}, connections ${connections}`,
  );
  return run;
}

function bracket(before: PlainRun, after: PlainRun): Bracket {
  return {
    hosts_per_s: Math.round((before.hosts_per_s + after.hosts_per_s) / 2),
    cpu_ms_per_host: round2((before.cpu_ms_per_host + after.cpu_ms_per_host) / 2),
    drift: round2(after.hosts_per_s / before.hosts_per_s),
  };
}

/**
 * One measurement of a fleet size. Per worker count: its control (N > 1),
 * then a fresh daemon between two one-process plain runs, so each daemon is
 * compared with the ceiling measured right around it (with 1 and 2 workers:
 * plain, daemon 1, control 2, plain, daemon 2, plain). This machine is shared,
 * and its speed can change within the minutes a repetition takes; a single
 * plain run at the start read such a slowdown as the daemon's.
 */
async function measureOnce(sim: SimulatorProc, hosts: number): Promise<SizeReport> {
  // The daemon counts an outdated compose service as a pending update, like a package.
  const { pending, pending_images } = await sim.json('/summary');
  const simPending = pending + pending_images;
  const baselines = [await runPlain(sim, hosts)];
  const runs: Array<DaemonRun & { control?: ParallelControl; plain: Bracket }> = [];
  for (const workers of WORKERS) {
    let control: ParallelControl | undefined;
    if (workers > 1) {
      await sim.json('/reset-counters', {});
      const c = await runBaseline(sim.toml, workers, CONCURRENCY);
      const ref = baselines.at(-1)!;
      control = {
        processes: workers,
        wall_ms: c.wall_ms,
        ...perHost(c, hosts),
        cpu_growth: round2(c.cpu_ms / hosts / ref.cpu_ms_per_host),
        second_half_cpu_growth: round2(c.second_half_cpu_ms / (hosts / 2) / ref.second_half_cpu_ms_per_host),
        ok: c.ok,
      };
      console.log(
        `fleet ${hosts}: plain ssh2 as ${workers} processes (the control for ${workers} workers): ${c.wall_ms} ms, ${control.hosts_per_s} hosts/s, ` +
          `${control.cpu_ms_per_host} ms CPU/host (${control.cpu_growth}x one process; second half ${control.second_half_cpu_ms_per_host}, ${control.second_half_cpu_growth}x), ok ${c.ok}/${hosts}`,
      );
      // The daemon's "before" plain run comes after the control, right next to the daemon.
      baselines.push(await runPlain(sim, hosts));
    }
    const before = baselines.at(-1)!;
    await sim.json('/reset-counters', {});
    const run = await runDaemon(sim, hosts, workers);
    console.log(
      `fleet ${hosts}: daemon, ${workers} worker(s): ${run.wall_ms} ms, ${run.hosts_per_s} hosts/s, ${run.cpu_ms_per_host} ms CPU/host (front thread ${run.front_cpu_ms_per_host}; second half ${run.second_half_cpu_ms_per_host}), ` +
        `peak RSS ${run.peak_rss_mib} MiB, front ELU mean ${run.front_elu_mean} max ${run.front_elu_max}, worker ELU max ${run.worker_elu_max}, ` +
        `completed ${run.completed}/${hosts}, execs ${run.execs}, connections ${run.connections}, pending ${run.pending}/${simPending}` +
        (run.failed > 0 ? `; first failures: ${run.failures.join('; ')}` : ''),
    );
    console.log(`  CPU/host by thread: ${formatGroups(run.thread_cpu_ms_per_host)}; second half: ${formatGroups(run.second_half_thread_cpu_ms_per_host)}`);
    console.log(`  memory at the highest RSS sample: ${formatBreakdown(run.memory_at_peak)} [goal: peak RSS ≤ ${PEAK_RSS_GOAL_MIB} MiB at 10,000 hosts]`);
    console.log(
      `fleet ${hosts}: the same daemon again (warm; probes remembered, so fewer commands): ${run.warm.wall_ms} ms, ${run.warm.hosts_per_s} hosts/s, ${run.warm.cpu_ms_per_host} ms CPU/host (front thread ${run.warm.front_cpu_ms_per_host}), ` +
        `peak RSS ${run.warm.peak_rss_mib} MiB, front ELU max ${run.warm.front_elu_max}, completed ${run.warm.completed}/${hosts}, execs ${run.warm.execs}, connections ${run.warm.connections}`,
    );
    console.log(`  memory at the highest RSS sample (warm): ${formatBreakdown(run.warm.memory_at_peak)}`);
    baselines.push(await runPlain(sim, hosts));
    const plain = bracket(before, baselines.at(-1)!);
    runs.push({ ...run, control, plain });
    const oneWorker = runs.find((r) => r.workers === 1);
    console.log(
      `  ratios: throughput ${round2(run.hosts_per_s / plain.hosts_per_s)} of plain ssh2 (target >= 0.8; plain ${before.hosts_per_s} hosts/s before the daemon, ` +
        `${baselines.at(-1)!.hosts_per_s} after: drift ${plain.drift}x), ` +
        `CPU/host ${round2(run.cpu_ms_per_host / plain.cpu_ms_per_host)}x plain ssh2 (target <= 5 ms/host)` +
        (control && oneWorker
          ? `; CPU/host ${round2(run.cpu_ms_per_host / oneWorker.cpu_ms_per_host)}x the 1-worker run ` +
            `(second half ${round2((run.second_half_cpu_ms_per_host ?? NaN) / (oneWorker.second_half_cpu_ms_per_host ?? NaN))}x, warm ${round2(run.warm.cpu_ms_per_host / oneWorker.warm.cpu_ms_per_host)}x), ` +
            `where the plain control grew ${control.cpu_growth}x (second half ${control.second_half_cpu_growth}x)`
          : ''),
    );
  }
  return {
    hosts,
    concurrency: CONCURRENCY,
    simulator_pending: simPending,
    baselines,
    daemon: runs.map((r) => ({
      ...r,
      throughput_ratio: round2(r.hosts_per_s / r.plain.hosts_per_s),
      cpu_ratio: round2(r.cpu_ms_per_host / r.plain.cpu_ms_per_host),
      same_commands: r.execs === baselines[0]!.sim_execs,
      correct: r.completed === hosts && r.pending === simPending && r.warm.completed === hosts && r.warm.pending === simPending,
    })),
  };
}

async function main(): Promise<void> {
  const report: Array<{ hosts: number; summary: Record<string, unknown>; repetitions: SizeReport[] }> = [];
  for (const hosts of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'tendhost-fleet-query-'));
    const sim = await startSimulatorProc({ hosts, dir, ...(process.env.FLEET_QUERY_BASE_ADDR ? { baseAddr: process.env.FLEET_QUERY_BASE_ADDR } : {}) });
    const repetitions: SizeReport[] = [];
    try {
      for (let i = 0; i < REPEAT; i++) {
        if (REPEAT > 1) console.log(`fleet ${hosts}: repetition ${i + 1}/${REPEAT}`);
        repetitions.push(await measureOnce(sim, hosts));
      }
    } finally {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    report.push({ hosts, summary: summarise(hosts, repetitions), repetitions });
  }
  console.log(JSON.stringify({ benchmark: 'fleet-query', node: process.version, repeat: REPEAT, runs: report }, null, 2));
  const bad = report.some((r) => r.repetitions.some((rep) => rep.daemon.some((d) => !d.correct || !d.same_commands)));
  if (bad) {
    console.error('fleet-query: a run was incorrect (not every host completed, pending counts differ, or different commands were sent)');
    process.exit(1);
  }
}

/**
 * Per worker count, the median and range over repetitions of the figures the
 * targets are about. Each repetition starts a fresh daemon, and fresh daemons
 * differ: one may run its whole life 10-20 % above another in CPU/host.
 */
function summarise(hosts: number, reps: SizeReport[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const workers of WORKERS) {
    const runs = reps.map((r) => r.daemon.find((d) => d.workers === workers)!);
    const figures = {
      throughput_ratio: spread(runs.map((r) => r.throughput_ratio)),
      // How much the plain ceiling moved across each daemon's run (after over before).
      plain_drift: spread(runs.map((r) => r.plain.drift)),
      // N > 1 workers: against the plain script split over as many processes, in the same repetition.
      throughput_vs_control: runs.every((r) => r.control) ? spread(runs.map((r) => r.hosts_per_s / r.control!.hosts_per_s)) : null,
      cpu_ms_per_host: spread(runs.map((r) => r.cpu_ms_per_host)),
      wall_ms: spread(runs.map((r) => r.wall_ms)),
      peak_rss_mib: spread(runs.map((r) => Math.max(r.peak_rss_mib, r.warm.peak_rss_mib))),
      front_elu_max: spread(runs.map((r) => Math.max(r.front_elu_max, r.warm.front_elu_max))),
    };
    out[`workers_${workers}`] = figures;
    if (reps.length > 1) {
      console.log(
        `fleet ${hosts}, ${workers} worker(s), median (range) of ${reps.length} fresh daemons: ${showSpread('throughput ×plain ', figures.throughput_ratio)} (plain drift ${showSpread('', figures.plain_drift)}), ` +
          (figures.throughput_vs_control ? `${showSpread(`×plain as ${workers} processes `, figures.throughput_vs_control)}, ` : '') +
          `${showSpread('CPU/host ms ', figures.cpu_ms_per_host)}, ${showSpread('wall ms ', figures.wall_ms)}, ${showSpread('peak RSS MiB ', figures.peak_rss_mib)}, ${showSpread('front ELU max ', figures.front_elu_max)}`,
      );
    }
  }
  return out;
}

await main();
