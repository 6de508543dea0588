// A one-shot dry-run query across a simulated fleet, through the daemon's API
// (POST /fleet/update {dry_run: true, batch_size: N}), against the ceiling: a
// plain ssh2 script (bench/baselines/plain-ssh2-query.ts) sending the same
// commands to the same simulator with the same concurrency.
//
//   npx tsc && node dist/bench/fleet-query.js
//   FLEET_QUERY_SIZES=1000 FLEET_QUERY_WORKERS=1,2 FLEET_QUERY_CONCURRENCY=128 node dist/bench/fleet-query.js
//
// Per run: wall time (POST → job finished), hosts/s, the daemon's CPU per
// host (all threads, from /proc), its peak RSS (VmHWM), and the front thread's
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
// The simulator is a separate process (bench/lib/simulator-proc.ts; it and
// the plain script run at the nice level of the daemon's worker threads),
// started once per fleet size and shared by every run on that size. Sessions
// idle-close after 2 s so neither process runs out of file descriptors.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processCpuMicros, processMemoryKiB, threadsCpu } from './lib/proc-cpu.js';
import { startDaemon, type Daemon } from '../test/helpers/daemon.js';
import { BENCH_DIR } from './lib/bench-env.js';
import { SIMULATOR_NICE, startSimulatorProc, type SimulatorProc } from './lib/simulator-proc.js';

const list = (v: string | undefined, d: string) => (v ?? d).split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const SIZES = list(process.env.FLEET_QUERY_SIZES, '1000,10000');
const WORKERS = list(process.env.FLEET_QUERY_WORKERS, '1,2');
const CONCURRENCY = Number(process.env.FLEET_QUERY_CONCURRENCY ?? 128);
/** Hard bound on one daemon run (the target is 60 s for 10,000 hosts). */
const RUN_TIMEOUT_MS = 180_000;

interface BaselineResult {
  hosts: number;
  ok: number;
  failed: number;
  execs: number;
  pending: number;
  wall_ms: number;
  cpu_ms: number;
  second_half_cpu_ms: number;
}

/** One measured dry-run query of the fleet. */
interface Pass {
  wall_ms: number;
  hosts_per_s: number;
  cpu_ms_per_host: number;
  /** CPU/host from the moment half the hosts were done: without start-up and most JIT warm-up. */
  second_half_cpu_ms_per_host: number | null;
  /** Of which the front thread (HTTP, broadcaster, read model, rollout). */
  front_cpu_ms_per_host: number;
  /** CPU/host by thread group, over the whole pass and over its second half: where a second worker's cost lands. */
  thread_cpu_ms_per_host: Record<ThreadGroup, number>;
  second_half_thread_cpu_ms_per_host: Record<ThreadGroup, number> | null;
  peak_rss_mib: number;
  front_elu_mean: number;
  front_elu_max: number;
  worker_elu_max: number;
  completed: number;
  failed: number;
  execs: number;
  /** SSH connections the simulator accepted during the run. */
  connections: number;
  pending: number;
}

/**
 * The daemon's threads, by what they do: the front (main) thread, the shard
 * workers, the store writer, and everything else (V8's GC and compiler
 * helpers, libuv's pool), which the daemon does not run code on itself.
 */
type ThreadGroup = 'front' | 'shards' | 'store_writer' | 'runtime';

function cpuByThreadGroup(pid: number): Record<ThreadGroup, number> {
  const out: Record<ThreadGroup, number> = { front: 0, shards: 0, store_writer: 0, runtime: 0 };
  for (const t of threadsCpu(pid)) {
    const group: ThreadGroup = t.tid === pid ? 'front' : t.name.startsWith('shard-') ? 'shards' : t.name === 'store-writer' ? 'store_writer' : 'runtime';
    out[group] += t.micros;
  }
  return out;
}

/** (b − a) per host, in ms, for each group. */
function perHostDelta(a: Record<ThreadGroup, number>, b: Record<ThreadGroup, number>, hosts: number): Record<ThreadGroup, number> {
  const out = { ...a };
  for (const k of Object.keys(out) as ThreadGroup[]) out[k] = round2((b[k] - a[k]) / 1000 / hosts);
  return out;
}

/** A fresh daemon: its first query of the fleet (the one-shot figure), then the same query again. */
interface DaemonRun extends Pass {
  workers: number;
  warm: Pass;
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

/**
 * The plain script as `processes` processes, each on every n-th host with an
 * n-th of the concurrency: with n > 1 it is the parallel control for a daemon
 * with n workers (separate processes share no locks and no heap, so whatever
 * CPU/host they add over one process is this machine's, not the daemon's).
 */
async function runBaseline(toml: string, processes: number): Promise<BaselineResult> {
  const one = (shard: number) =>
    new Promise<BaselineResult>((resolve, reject) => {
      // At the nice level of the daemon's worker threads, which do this work in the daemon.
      const args = [join(BENCH_DIR, 'baselines/plain-ssh2-query.js'), '--toml', toml, '--concurrency', String(Math.ceil(CONCURRENCY / processes)), '--shard', `${shard}/${processes}`];
      const p = spawn('nice', ['-n', String(SIMULATOR_NICE), process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
      p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`baseline exited ${code}: ${out}`))));
    });
  const parts = await Promise.all(Array.from({ length: processes }, (_, i) => one(i)));
  const sum = (k: 'hosts' | 'ok' | 'failed' | 'execs' | 'pending' | 'cpu_ms' | 'second_half_cpu_ms') => parts.reduce((n, r) => n + r[k], 0);
  return {
    hosts: sum('hosts'),
    ok: sum('ok'),
    failed: sum('failed'),
    execs: sum('execs'),
    pending: sum('pending'),
    wall_ms: Math.max(...parts.map((r) => r.wall_ms)),
    cpu_ms: sum('cpu_ms'),
    second_half_cpu_ms: sum('second_half_cpu_ms'),
  };
}

/**
 * Progress from one /metrics read (cheap to compute, unlike a 10,000-host job
 * document): jobs running, and host queries finished so far (the
 * operation-duration histogram's count).
 */
async function progress(d: Daemon): Promise<{ jobsRunning: number; queriesDone: number }> {
  const text = (await d.get('/metrics')).text;
  const running = /^tendhost_jobs\{state="running"\} (\d+)/m.exec(text);
  const queries = [...text.matchAll(/^tendhost_operation_duration_seconds_count\{[^}]*op="query"[^}]*\} (\d+)/gm)];
  return { jobsRunning: running ? Number(running[1]) : -1, queriesDone: queries.reduce((n, m) => n + Number(m[1]), 0) };
}

/** One dry-run query of the whole fleet through the API, measured. */
async function measurePass(d: Daemon, sim: SimulatorProc, hosts: number): Promise<Pass> {
  const pid = d.proc.pid!;
  const logsBefore = d.logs.length;
  const queries0 = (await progress(d)).queriesDone;
  const cpu0 = processCpuMicros(pid);
  const groups0 = cpuByThreadGroup(pid);
  const t0 = performance.now();
  const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: hosts });
  if (r.status !== 202) throw new Error(`POST /fleet/update: ${r.status} ${r.text}`);
  let cpuAtHalf: number | null = null;
  let groupsAtHalf: Record<ThreadGroup, number> | null = null;
  for (;;) {
    await new Promise((res) => setTimeout(res, 200));
    const now = await progress(d);
    if (cpuAtHalf === null && now.queriesDone - queries0 >= hosts / 2) {
      cpuAtHalf = processCpuMicros(pid);
      groupsAtHalf = cpuByThreadGroup(pid);
    }
    if (now.jobsRunning === 0) break;
    if (performance.now() - t0 > RUN_TIMEOUT_MS) throw new Error(`the dry run did not finish within ${RUN_TIMEOUT_MS} ms`);
  }
  const wallMs = performance.now() - t0;
  const cpuUs = processCpuMicros(pid) - cpu0;
  const groupsEnd = cpuByThreadGroup(pid);
  const mem = processMemoryKiB(pid);
  const job = (await d.get(`/jobs/${r.body.job_id}`)).body;
  const completed = job.hosts.filter((h: { state: string }) => h.state === 'completed').length;
  let pending = 0;
  for (let page = 1; page <= Math.ceil(hosts / 200); page++) {
    const b = (await d.get(`/hosts?per_page=200&page=${page}`)).body;
    for (const h of b.data) pending += h.pending_updates ?? 0;
  }
  const loads = d.logs.slice(logsBefore).filter((l) => l.msg === 'load') as unknown as Array<{ elu: number; shards: Array<{ elu: number }> }>;
  const elus = loads.map((l) => l.elu);
  const summary = await sim.json('/summary');
  return {
    wall_ms: Math.round(wallMs),
    hosts_per_s: Math.round((hosts / wallMs) * 1000),
    cpu_ms_per_host: round2(cpuUs / 1000 / hosts),
    second_half_cpu_ms_per_host: cpuAtHalf === null ? null : round2((processCpuMicros(pid) - cpuAtHalf) / 1000 / (hosts / 2)),
    front_cpu_ms_per_host: round2((groupsEnd.front - groups0.front) / 1000 / hosts),
    thread_cpu_ms_per_host: perHostDelta(groups0, groupsEnd, hosts),
    second_half_thread_cpu_ms_per_host: groupsAtHalf === null ? null : perHostDelta(groupsAtHalf, groupsEnd, hosts / 2),
    peak_rss_mib: Math.round(mem.peak_rss_kib / 1024),
    front_elu_mean: round2(elus.reduce((a, b) => a + b, 0) / Math.max(1, elus.length)),
    front_elu_max: round2(Math.max(0, ...elus)),
    worker_elu_max: round2(Math.max(0, ...loads.flatMap((l) => l.shards.map((s) => s.elu)))),
    completed,
    failed: hosts - completed,
    execs: summary.execs,
    connections: summary.connections,
    pending,
  };
}

/** Until the daemon reports no open SSH session (bounded: idle_timeout_s is 2 here). */
async function waitForNoSessions(d: Daemon): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const text = (await d.get('/metrics')).text;
    const open = [...text.matchAll(/^tendhost_ssh_sessions_open\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    if (open === 0) return;
    if (performance.now() - t0 > 30_000) throw new Error(`${open} SSH sessions still open 30 s after the pass`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

async function runDaemon(sim: SimulatorProc, hosts: number, workers: number): Promise<DaemonRun> {
  const fleet = readFileSync(sim.toml, 'utf8');
  const d = await startDaemon({
    workers,
    logLevel: 'debug',
    daemon: [
      '[daemon.ssh]',
      `max_handshakes_per_worker = ${Math.max(1, Math.ceil(CONCURRENCY / workers))}`,
      `max_sessions_per_worker = ${Math.ceil(8000 / workers)}`,
      'idle_timeout_s = 2',
      'connect_timeout_s = 30',
      '[daemon.operations]',
      'command_timeout_s = 60',
    ].join('\n'),
    toml: fleet,
  });
  try {
    // Let startup work (attach, first statuses, JIT of the read path) settle.
    await new Promise((r) => setTimeout(r, 1500));
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
  } finally {
    await d.stop();
    rmSync(d.dir, { recursive: true, force: true });
  }
}

function formatGroups(g: Record<ThreadGroup, number> | null): string {
  return g === null ? 'n/a' : Object.entries(g).map(([k, v]) => `${k} ${v}`).join(', ');
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

async function main(): Promise<void> {
  const report: unknown[] = [];
  for (const hosts of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'tendhost-fleet-query-'));
    const sim = await startSimulatorProc({ hosts, dir });
    try {
      const simPending = (await sim.json('/summary')).pending;
      await sim.json('/reset-counters', {});
      const base = await runBaseline(sim.toml, 1);
      const { execs: baseExecs, connections: baseConnections } = await sim.json('/summary');
      const baseHostsPerS = (hosts / base.wall_ms) * 1000;
      const baseCpuPerHost = base.cpu_ms / hosts;
      const baseSecondHalf = base.second_half_cpu_ms / (hosts / 2);
      console.log(
        `fleet ${hosts}: plain ssh2 (concurrency ${CONCURRENCY}): ${base.wall_ms} ms, ${Math.round(baseHostsPerS)} hosts/s, ` +
          `${round2(baseCpuPerHost)} ms CPU/host (second half ${round2(baseSecondHalf)}), ok ${base.ok}/${hosts}, execs ${baseExecs}, connections ${baseConnections}`,
      );
      const runs: Array<DaemonRun & { control?: ParallelControl }> = [];
      for (const workers of WORKERS) {
        let control: ParallelControl | undefined;
        if (workers > 1) {
          await sim.json('/reset-counters', {});
          const c = await runBaseline(sim.toml, workers);
          control = {
            processes: workers,
            wall_ms: c.wall_ms,
            hosts_per_s: Math.round((hosts / c.wall_ms) * 1000),
            cpu_ms_per_host: round2(c.cpu_ms / hosts),
            cpu_growth: round2(c.cpu_ms / hosts / baseCpuPerHost),
            second_half_cpu_ms_per_host: round2(c.second_half_cpu_ms / (hosts / 2)),
            second_half_cpu_growth: round2(c.second_half_cpu_ms / (hosts / 2) / baseSecondHalf),
            ok: c.ok,
          };
          console.log(
            `fleet ${hosts}: plain ssh2 as ${workers} processes (the control for ${workers} workers): ${c.wall_ms} ms, ${control.hosts_per_s} hosts/s, ` +
              `${control.cpu_ms_per_host} ms CPU/host (${control.cpu_growth}x one process; second half ${control.second_half_cpu_ms_per_host}, ${control.second_half_cpu_growth}x), ok ${c.ok}/${hosts}`,
          );
        }
        await sim.json('/reset-counters', {});
        const run = await runDaemon(sim, hosts, workers);
        runs.push({ ...run, control });
        console.log(
          `fleet ${hosts}: daemon, ${workers} worker(s): ${run.wall_ms} ms, ${run.hosts_per_s} hosts/s, ${run.cpu_ms_per_host} ms CPU/host (front thread ${run.front_cpu_ms_per_host}; second half ${run.second_half_cpu_ms_per_host}), ` +
            `peak RSS ${run.peak_rss_mib} MiB, front ELU mean ${run.front_elu_mean} max ${run.front_elu_max}, worker ELU max ${run.worker_elu_max}, ` +
            `completed ${run.completed}/${hosts}, execs ${run.execs}, connections ${run.connections}, pending ${run.pending}/${simPending}`,
        );
        console.log(`  CPU/host by thread: ${formatGroups(run.thread_cpu_ms_per_host)}; second half: ${formatGroups(run.second_half_thread_cpu_ms_per_host)}`);
        console.log(
          `fleet ${hosts}: the same daemon again (warm; probes remembered, so fewer commands): ${run.warm.wall_ms} ms, ${run.warm.hosts_per_s} hosts/s, ${run.warm.cpu_ms_per_host} ms CPU/host (front thread ${run.warm.front_cpu_ms_per_host}), ` +
            `peak RSS ${run.warm.peak_rss_mib} MiB, front ELU max ${run.warm.front_elu_max}, completed ${run.warm.completed}/${hosts}, execs ${run.warm.execs}, connections ${run.warm.connections}`,
        );
        const oneWorker = runs.find((r) => r.workers === 1);
        console.log(
          `  ratios: throughput ${round2(run.hosts_per_s / baseHostsPerS)} of plain ssh2 (target >= 0.8), ` +
            `CPU/host ${round2(run.cpu_ms_per_host / baseCpuPerHost)}x plain ssh2 (target <= 5 ms/host)` +
            (control && oneWorker
              ? `; CPU/host ${round2(run.cpu_ms_per_host / oneWorker.cpu_ms_per_host)}x the 1-worker run ` +
                `(second half ${round2((run.second_half_cpu_ms_per_host ?? NaN) / (oneWorker.second_half_cpu_ms_per_host ?? NaN))}x, warm ${round2(run.warm.cpu_ms_per_host / oneWorker.warm.cpu_ms_per_host)}x), ` +
                `where the plain control grew ${control.cpu_growth}x (second half ${control.second_half_cpu_growth}x)`
              : ''),
        );
      }
      report.push({
        hosts,
        concurrency: CONCURRENCY,
        simulator_pending: simPending,
        baseline: {
          ...base,
          hosts_per_s: Math.round(baseHostsPerS),
          cpu_ms_per_host: round2(baseCpuPerHost),
          second_half_cpu_ms_per_host: round2(baseSecondHalf),
          sim_execs: baseExecs,
        },
        daemon: runs.map((r) => ({
          ...r,
          throughput_ratio: round2(r.hosts_per_s / baseHostsPerS),
          cpu_ratio: round2(r.cpu_ms_per_host / baseCpuPerHost),
          same_commands: r.execs === baseExecs,
          correct: r.completed === hosts && r.pending === simPending && r.warm.completed === hosts && r.warm.pending === simPending,
        })),
      });
    } finally {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(JSON.stringify({ benchmark: 'fleet-query', node: process.version, runs: report }, null, 2));
  const bad = (report as Array<{ daemon: Array<{ correct: boolean; same_commands: boolean }> }>).some((r) => r.daemon.some((d) => !d.correct || !d.same_commands));
  if (bad) {
    console.error('fleet-query: a run was incorrect (not every host completed, pending counts differ, or different commands were sent)');
    process.exit(1);
  }
}

await main();
