// The measured pieces of the fleet benchmarks (fleet-query, worker-scaling):
// the plain ssh2 script as one or N processes, and a daemon on the same
// simulated fleet, each charged from /proc for exactly its own CPU.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processCpuMicros, processMemoryKiB, threadsCpu } from './proc-cpu.js';
import { jobWithHosts, startDaemon, type Daemon } from '../../harness/daemon.js';
import { BENCH_DIR } from './bench-env.js';
import type { PassResult } from '../baselines/plain-ssh2-query.js';
import { SIMULATOR_NICE, type SimulatorProc } from '../../harness/simulator-proc.js';

/** Hard bound on one daemon run (the target is 60 s for 10,000 hosts). */
const RUN_TIMEOUT_MS = 180_000;

/** One query of the fleet by the plain script (summed over its processes). */
export type BaselinePass = Omit<PassResult, 'errors'>;

/** One measured dry-run query of the fleet. */
export interface Pass {
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
  /** Where the memory was at the pass's highest RSS sample (every ~200 ms): which thread, heap or not. */
  memory_at_peak: MemoryBreakdown | null;
  front_elu_mean: number;
  front_elu_max: number;
  worker_elu_max: number;
  completed: number;
  failed: number;
  /** The job's own counts (total, completed, failed, unreachable, skipped, …): every host accounted for when they add up to total. */
  job_summary: Record<string, number>;
  /** The first few hosts that did not complete, with their error: what to look at when a run is incorrect. */
  failures: string[];
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
export type ThreadGroup = 'front' | 'shards' | 'store_writer' | 'runtime';

export function cpuByThreadGroup(pid: number): Record<ThreadGroup, number> {
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

/** The plain script kept running between queries (its --serve mode), as one or N processes. */
export interface PlainFleet {
  /** One query of the whole fleet; `known` sends what a daemon that knows each host sends. */
  query(known: boolean): Promise<BaselinePass>;
  stop(): void;
}

/**
 * The plain script as `processes` processes, each on every n-th host with an
 * n-th of the concurrency: with n > 1 it is the parallel control for a daemon
 * with n workers (separate processes share no locks and no heap, so whatever
 * CPU/host they add over one process is this machine's, not the daemon's).
 */
export function startPlainFleet(toml: string, processes: number, concurrency: number): PlainFleet {
  const procs = Array.from({ length: processes }, (_, shard) => {
    const args = [join(BENCH_DIR, 'baselines/plain-ssh2-query.js'), '--serve', '--toml', toml, '--concurrency', String(Math.ceil(concurrency / processes)), '--shard', `${shard}/${processes}`];
    // At the nice level of the daemon's worker threads, which do this work in the daemon.
    const p = spawn('nice', ['-n', String(SIMULATOR_NICE), process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
    return { p, lines };
  });
  const one = async ({ p, lines }: (typeof procs)[number], known: boolean): Promise<BaselinePass> => {
    p.stdin!.write(known ? 'known\n' : 'cold\n');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`plain ssh2 query did not finish within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
    });
    try {
      const next = await Promise.race([lines.next(), timeout]);
      if (next.done) throw new Error(`plain ssh2 process exited (${p.exitCode})`);
      return JSON.parse(next.value) as BaselinePass;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    query: async (known) => sumPasses(await Promise.all(procs.map((proc) => one(proc, known)))),
    stop: () => procs.forEach(({ p }) => p.kill()),
  };
}

/** One query of the fleet by a fresh plain script (start-up and JIT included, as in a one-shot tool). */
export async function runBaseline(toml: string, processes: number, concurrency: number): Promise<BaselinePass> {
  const plain = startPlainFleet(toml, processes, concurrency);
  try {
    return await plain.query(false);
  } finally {
    plain.stop();
  }
}

/** The processes' passes as one: counts and CPU added, wall time the slowest's. */
function sumPasses(parts: BaselinePass[]): BaselinePass {
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
 * A daemon's RSS split by where it goes, in MiB: each thread's V8 heap
 * (used, and reserved: V8 keeps freed pages until it shrinks the heap), the
 * Buffers its objects hold outside the heap (external), and the rest — code,
 * thread stacks, ssh2/OpenSSL and libuv native state, malloc's free lists.
 * Worker figures are as their threads last reported (every 2 s).
 */
export interface MemoryBreakdown {
  rss: number;
  front_heap_used: number;
  front_heap_reserved: number;
  front_external: number;
  workers_heap_used: number;
  workers_heap_reserved: number;
  workers_external: number;
  /** RSS − reserved heaps − external: native memory that no heap gauge covers. */
  other: number;
}

function gaugeSum(text: string, name: string): number {
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm');
  return [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
}

function breakdown(text: string, rssKib: number): MemoryBreakdown {
  const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
  const b = {
    rss: Math.round(rssKib / 1024),
    front_heap_used: mib(gaugeSum(text, 'tendhost_heap_used_bytes')),
    front_heap_reserved: mib(gaugeSum(text, 'tendhost_heap_total_bytes')),
    front_external: mib(gaugeSum(text, 'tendhost_external_bytes')),
    workers_heap_used: mib(gaugeSum(text, 'tendhost_worker_heap_used_bytes')),
    workers_heap_reserved: mib(gaugeSum(text, 'tendhost_worker_heap_total_bytes')),
    workers_external: mib(gaugeSum(text, 'tendhost_worker_external_bytes')),
  };
  return { ...b, other: b.rss - b.front_heap_reserved - b.front_external - b.workers_heap_reserved - b.workers_external };
}

export function formatBreakdown(m: MemoryBreakdown | null): string {
  if (m === null) return 'n/a';
  return (
    `RSS ${m.rss} MiB = front heap ${m.front_heap_reserved} (used ${m.front_heap_used}) + front external ${m.front_external} + ` +
    `workers' heaps ${m.workers_heap_reserved} (used ${m.workers_heap_used}) + workers' external ${m.workers_external} + other native ${m.other}`
  );
}

/**
 * Progress from one /metrics read (cheap to compute, unlike a 10,000-host job
 * document): jobs running, and host queries finished so far (the
 * operation-duration histogram's count).
 */
async function progress(d: Daemon): Promise<{ jobsRunning: number; queriesDone: number; memory: MemoryBreakdown }> {
  const text = (await d.get('/metrics')).text;
  const memory = breakdown(text, processMemoryKiB(d.proc.pid!).rss_kib);
  const running = /^tendhost_jobs\{state="running"\} (\d+)/m.exec(text);
  const queries = [...text.matchAll(/^tendhost_operation_duration_seconds_count\{[^}]*op="query"[^}]*\} (\d+)/gm)];
  return { jobsRunning: running ? Number(running[1]) : -1, queriesDone: queries.reduce((n, m) => n + Number(m[1]), 0), memory };
}

/** One dry-run query of the whole fleet through the API, measured. */
export async function measurePass(d: Daemon, sim: SimulatorProc, hosts: number, timeoutMs = RUN_TIMEOUT_MS): Promise<Pass> {
  const pid = d.proc.pid!;
  const logsBefore = d.logs.length;
  const queries0 = (await progress(d)).queriesDone;
  const cpu0 = processCpuMicros(pid);
  const groups0 = cpuByThreadGroup(pid);
  const t0 = performance.now();
  const postedAt = Date.now();
  const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: hosts });
  if (r.status !== 202) throw new Error(`POST /fleet/update: ${r.status} ${r.text}`);
  let cpuAtHalf: number | null = null;
  let groupsAtHalf: Record<ThreadGroup, number> | null = null;
  let atPeak: MemoryBreakdown | null = null;
  for (;;) {
    await new Promise((res) => setTimeout(res, 200));
    const now = await progress(d);
    if (atPeak === null || now.memory.rss > atPeak.rss) atPeak = now.memory;
    if (cpuAtHalf === null && now.queriesDone - queries0 >= hosts / 2) {
      cpuAtHalf = processCpuMicros(pid);
      groupsAtHalf = cpuByThreadGroup(pid);
    }
    if (now.jobsRunning === 0) break;
    if (performance.now() - t0 > timeoutMs) throw new Error(`the dry run did not finish within ${timeoutMs} ms: ${await stuckReport(d, sim, r.body.job_id, now.queriesDone - queries0)}`);
  }
  const cpuUs = processCpuMicros(pid) - cpu0;
  const groupsEnd = cpuByThreadGroup(pid);
  const mem = processMemoryKiB(pid);
  const job = (await d.get(`/jobs/${r.body.job_id}`)).body;
  // Wall time ends at the job's own finish (same clock), not at the poll that
  // saw it: the 200 ms poll would add ~100 ms, 4 % of a 1,000-host pass.
  if (typeof job.finished_at !== 'string') throw new Error(`job ${r.body.job_id} is not running but has no finished_at: ${JSON.stringify(job).slice(0, 300)}`);
  const wallMs = Date.parse(job.finished_at) - postedAt;
  const completed: number = job.summary.completed;
  const failed = completed === hosts ? [] : ((await jobWithHosts(d, r.body.job_id)).hosts as JobHost[]).filter((h) => h.state !== 'completed');
  const failures = failed.slice(0, 5).map((h) => `${h.host}: ${h.state} ${h.code ?? ''} ${h.error ?? ''}`.trim());
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
    memory_at_peak: atPeak,
    front_elu_mean: round2(elus.reduce((a, b) => a + b, 0) / Math.max(1, elus.length)),
    front_elu_max: round2(Math.max(0, ...elus)),
    worker_elu_max: round2(Math.max(0, ...loads.flatMap((l) => l.shards.map((s) => s.elu)))),
    completed,
    failed: hosts - completed,
    job_summary: job.summary,
    failures,
    execs: summary.execs,
    connections: summary.connections,
    pending,
  };
}

/** The part of a job's host result the benchmarks read. */
interface JobHost {
  host: string;
  state: string;
  code: string | null;
  error: string | null;
}

/** What a run that did not finish was waiting on: the job's host states, the SSH gauges, the simulator's counters. */
async function stuckReport(d: Daemon, sim: SimulatorProc, jobId: string, queriesDone: number): Promise<string> {
  const job = (await jobWithHosts(d, jobId)) as { state: string; hosts: JobHost[] };
  const byState = new Map<string, string[]>();
  for (const h of job.hosts) byState.set(h.state, [...(byState.get(h.state) ?? []), h.host]);
  const states = [...byState].map(([state, names]) => `${state} ${names.length} (${names.slice(0, 5).join(', ')})`).join('; ');
  const gauges = (await d.get('/metrics')).text.split('\n').filter((l) => /^tendhost_ssh_(sessions_open|handshakes_in_flight)/.test(l));
  return `job ${job.state}, ${queriesDone} queries done; hosts by state: ${states}; ${gauges.join(', ')}; simulator: ${JSON.stringify(await sim.json('/summary'))}; daemon stderr: ${d.stderr.slice(-5).join(' | ')}`;
}

/** Until the daemon reports no open SSH session (bounded: idle_timeout_s is 2 here). */
export async function waitForNoSessions(d: Daemon): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const text = (await d.get('/metrics')).text;
    const open = [...text.matchAll(/^tendhost_ssh_sessions_open\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    if (open === 0) return;
    if (performance.now() - t0 > 30_000) throw new Error(`${open} SSH sessions still open 30 s after the pass`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/**
 * A fresh daemon with `workers` shard workers serving the simulator's fleet,
 * given `concurrency` hosts in flight like the plain script (split over its
 * workers), for as long as `use` runs; stopped and removed afterwards.
 */
export async function withDaemon<T>(sim: SimulatorProc, workers: number, concurrency: number, use: (d: Daemon) => Promise<T>): Promise<T> {
  const d = await startDaemon({
    workers,
    logLevel: 'debug',
    daemon: [
      '[daemon.ssh]',
      `max_handshakes_per_worker = ${Math.max(1, Math.ceil(concurrency / workers))}`,
      // FLEET_QUERY_MAX_SESSIONS: a lower cap puts more hosts behind it (memory per waiting host).
      `max_sessions_per_worker = ${Math.ceil(Number(process.env.FLEET_QUERY_MAX_SESSIONS ?? 8000) / workers)}`,
      'idle_timeout_s = 2',
      // A stalled host fails with its error well inside RUN_TIMEOUT_MS
      // (a query is a connect and at most four commands).
      'connect_timeout_s = 20',
      '[daemon.operations]',
      'command_timeout_s = 20',
    ].join('\n'),
    toml: readFileSync(sim.toml, 'utf8'),
  });
  try {
    // Let startup work (attach, first statuses, JIT of the read path) settle.
    await new Promise((r) => setTimeout(r, 1500));
    return await use(d);
  } finally {
    await d.stop();
    rmSync(d.dir, { recursive: true, force: true });
  }
}

export function formatGroups(g: Record<ThreadGroup, number> | null): string {
  return g === null ? 'n/a' : Object.entries(g).map(([k, v]) => `${k} ${v}`).join(', ');
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median and range of repeated figures (fresh daemons, rounds), rounded for the report. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(xs: number[]): Spread {
  return { median: round2(median(xs)), min: round2(Math.min(...xs)), max: round2(Math.max(...xs)) };
}

/** "label median (min–max)". */
export function showSpread(label: string, s: Spread): string {
  return `${label}${s.median} (${s.min}–${s.max})`;
}
