// Does the daemon's CPU per host grow with its worker count? (#3)
//
//   npx tsc && node dist/bench/worker-scaling.js
//   WORKER_SCALING_HOSTS=10000 WORKER_SCALING_WORKERS=2 WORKER_SCALING_ROUNDS=3 (the defaults) node dist/bench/worker-scaling.js
//
// On this machine (2 vCPUs, shared with the simulator and with whatever else
// runs on the host) a second busy thread costs CPU per unit of work by itself:
// caches, memory bandwidth, the scheduler. So 1 worker against N workers
// cannot tell the daemon's growth from the machine's. The control is the plain
// ssh2 script (the fleet-query ceiling) run as 1 process and as N processes on
// N slices of the fleet: processes share no heap, no JIT and no lock, so
// whatever CPU/host they add is the machine's.
//
// Each round starts all four subjects afresh and keeps them alive side by
// side, like running daemons: the daemon with 1 worker, the daemon with N
// workers, the plain script as 1 process and as N processes (its --serve
// mode). Each queries the whole simulated fleet (a dry run of every host), one
// subject at a time:
//   1. a cold pass each: what a freshly started process spends;
//   2. one warm-up pass each, not counted;
//   3. two measured passes each, in the order plain ×1, plain ×N, daemon 1,
//      daemon N and then backwards, so drift on the machine (it is shared and
//      noisy) lands on both sides alike.
// Fresh processes every round because a process keeps its own level: how its
// JIT happened to compile the hot code stays with it, and two daemons of the
// same configuration differ by 10-20 % in CPU/host for as long as they
// run. Rounds average that out. Per round (mean of its two measured passes):
//   daemon growth  = CPU/host(N workers)   / CPU/host(1 worker)
//   control growth = CPU/host(N processes) / CPU/host(1 process)
//   excess         = daemon growth / control growth   (1.00: the daemon adds nothing)
// with the median and range over rounds, the daemon's CPU/host by thread
// group (front, shards, store writer, V8/libuv runtime threads) so growth can
// be placed, and the front thread's event-loop utilisation.
//
// Why the cold pass is reported apart: each worker is a V8 isolate of its
// own, which compiles the worker code and grows its heap by itself. On a
// fresh daemon that is a one-off cost per worker (printed as CPU ms per added
// worker: cold pass minus a running pass, N workers against 1, next to the
// same figure for an added plain process), not a cost per host; a running
// daemon pays per host what the measured passes show.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Daemon } from '../harness/daemon.js';
import { envNumber, resultFile } from './lib/bench-env.js';
import { formatGroups, measurePass, median, round2, showSpread, spread, startPlainFleet, waitForNoSessions, withDaemon, type PlainFleet, type ThreadGroup } from './lib/fleet-runs.js';
import { startSimulatorProc, type SimulatorProc } from '../harness/simulator-proc.js';

const HOSTS = Math.round(envNumber('WORKER_SCALING_HOSTS', 10000));
const WORKERS = Math.round(envNumber('WORKER_SCALING_WORKERS', 2));
const ROUNDS = Math.round(envNumber('WORKER_SCALING_ROUNDS', 3));
const CONCURRENCY = Math.round(envNumber('WORKER_SCALING_CONCURRENCY', 128));

const SUBJECTS = ['plain_1', 'plain_n', 'daemon_1', 'daemon_n'] as const;
type Subject = (typeof SUBJECTS)[number];

/** One query of the fleet by one subject. */
interface Measured {
  cpu_ms_per_host: number;
  wall_ms: number;
  /** Daemons only: CPU/host by thread group, and the front thread's busiest ELU sample. */
  threads?: Record<ThreadGroup, number>;
  front_elu_max?: number;
}

/** Measured passes per subject and round. */
const MEASURED_PASSES = 2;

interface Round {
  /** The fresh processes' first pass. */
  cold: Record<Subject, Measured>;
  /** The mean of the measured passes of the running processes. */
  running: Record<Subject, Measured>;
  daemon_growth: number;
  control_growth: number;
  excess: number;
}

interface Running {
  sim: SimulatorProc;
  plain_1: PlainFleet;
  plain_n: PlainFleet;
  daemon_1: Daemon;
  daemon_n: Daemon;
}

/**
 * One query of the whole fleet by `subject`. A daemon's sessions are all
 * closed afterwards, so every pass handshakes with every host. The plain
 * script's `cold` query sends the OS/tool probes too, as a daemon's first
 * query of a host does.
 */
async function query(r: Running, subject: Subject, cold = false): Promise<Measured> {
  await r.sim.json('/reset-counters', {});
  if (subject === 'plain_1' || subject === 'plain_n') {
    const p = await r[subject].query(!cold);
    if (p.ok !== HOSTS) throw new Error(`${subject}: ${p.ok}/${HOSTS} hosts ok`);
    return { cpu_ms_per_host: p.cpu_ms / HOSTS, wall_ms: p.wall_ms };
  }
  const d = r[subject];
  const p = await measurePass(d, r.sim, HOSTS);
  if (p.completed !== HOSTS) throw new Error(`${subject}: ${p.completed}/${HOSTS} hosts completed; ${p.failures.join('; ')}`);
  await waitForNoSessions(d);
  return { cpu_ms_per_host: p.cpu_ms_per_host, wall_ms: p.wall_ms, threads: p.thread_cpu_ms_per_host, front_elu_max: p.front_elu_max };
}

/** One round on fresh subjects: their cold pass, a warm-up pass, and the measured passes. */
async function round(r: Running): Promise<Round> {
  const cold = {} as Record<Subject, Measured>;
  for (const s of SUBJECTS) cold[s] = await query(r, s, true);
  for (const s of SUBJECTS) await query(r, s); // warm-up: most of the JIT's work is done after this
  const measured = Object.fromEntries(SUBJECTS.map((s) => [s, [] as Measured[]])) as Record<Subject, Measured[]>;
  for (let i = 0; i < MEASURED_PASSES; i++) {
    for (const s of i % 2 === 0 ? SUBJECTS : [...SUBJECTS].reverse()) measured[s].push(await query(r, s));
  }
  const running = Object.fromEntries(SUBJECTS.map((s) => [s, meanOf(measured[s])])) as Record<Subject, Measured>;
  const daemon = running.daemon_n.cpu_ms_per_host / running.daemon_1.cpu_ms_per_host;
  const control = running.plain_n.cpu_ms_per_host / running.plain_1.cpu_ms_per_host;
  return { cold, running, daemon_growth: round2(daemon), control_growth: round2(control), excess: round2(daemon / control) };
}

/** The passes' mean (CPU/host and thread groups), their longest wall time and their busiest front ELU. */
function meanOf(passes: Measured[]): Measured {
  const mean = (f: (m: Measured) => number) => passes.reduce((n, m) => n + f(m), 0) / passes.length;
  const m: Measured = { cpu_ms_per_host: mean((p) => p.cpu_ms_per_host), wall_ms: Math.max(...passes.map((p) => p.wall_ms)) };
  if (passes[0]!.threads) {
    const groups = Object.keys(passes[0]!.threads) as ThreadGroup[];
    m.threads = Object.fromEntries(groups.map((g) => [g, round2(mean((p) => p.threads![g]))])) as Record<ThreadGroup, number>;
    m.front_elu_max = Math.max(...passes.map((p) => p.front_elu_max!));
  }
  return m;
}

/** Fresh plain processes and daemons for one round, stopped afterwards. */
async function withFreshSubjects<T>(sim: SimulatorProc, use: (r: Running) => Promise<T>): Promise<T> {
  const plain_1 = startPlainFleet(sim.toml, 1, CONCURRENCY);
  const plain_n = startPlainFleet(sim.toml, WORKERS, CONCURRENCY);
  try {
    return await withDaemon(sim, 1, CONCURRENCY, (daemon_1) => withDaemon(sim, WORKERS, CONCURRENCY, (daemon_n) => use({ sim, plain_1, plain_n, daemon_1, daemon_n })));
  } finally {
    plain_1.stop();
    plain_n.stop();
  }
}


/** Median CPU/host of each thread group over the rounds. */
function medianGroups(rounds: Round[], s: 'daemon_1' | 'daemon_n'): Record<ThreadGroup, number> {
  const groups = Object.keys(rounds[0]!.running[s].threads!) as ThreadGroup[];
  return Object.fromEntries(groups.map((g) => [g, round2(median(rounds.map((r) => r.running[s].threads![g])))])) as Record<ThreadGroup, number>;
}

async function main(): Promise<void> {
  if (WORKERS < 2) throw new Error('WORKER_SCALING_WORKERS must be at least 2');
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-worker-scaling-'));
  const sim = await startSimulatorProc({ hosts: HOSTS, dir });
  const rounds: Round[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const r = await withFreshSubjects(sim, round);
      rounds.push(r);
      console.log(
        `round ${i + 1}/${ROUNDS}: cold ${SUBJECTS.map((s) => `${s} ${round2(r.cold[s].cpu_ms_per_host)}`).join(', ')} ms/host; running: ` +
          `plain ${round2(r.running.plain_1.cpu_ms_per_host)} → ${round2(r.running.plain_n.cpu_ms_per_host)} ms/host (×${r.control_growth}), ` +
          `daemon ${round2(r.running.daemon_1.cpu_ms_per_host)} → ${round2(r.running.daemon_n.cpu_ms_per_host)} ms/host (×${r.daemon_growth}), excess ×${r.excess}`,
      );
      console.log(`  daemon by thread, 1 worker: ${formatGroups(r.running.daemon_1.threads!)}; ${WORKERS} workers: ${formatGroups(r.running.daemon_n.threads!)}`);
    }
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const pick = (f: (r: Round) => number) => rounds.map(f);
  const medianOf = (f: (r: Round) => number) => median(pick(f));
  // CPU the cold pass spent over a running pass, in ms: start-up work (JIT, heap growth), not per host.
  const oneOff = (s: Subject) => Math.round(medianOf((r) => (r.cold[s].cpu_ms_per_host - r.running[s].cpu_ms_per_host) * HOSTS));
  const summary = {
    daemon_growth: spread(pick((r) => r.daemon_growth)),
    control_growth: spread(pick((r) => r.control_growth)),
    excess: spread(pick((r) => r.excess)),
    running_cpu_ms_per_host: Object.fromEntries(SUBJECTS.map((s) => [s, round2(medianOf((r) => r.running[s].cpu_ms_per_host))])),
    cold_cpu_ms_per_host: Object.fromEntries(SUBJECTS.map((s) => [s, round2(medianOf((r) => r.cold[s].cpu_ms_per_host))])),
    one_off_cpu_ms: Object.fromEntries(SUBJECTS.map((s) => [s, oneOff(s)])),
    one_off_cpu_ms_per_added_worker: Math.round((oneOff('daemon_n') - oneOff('daemon_1')) / (WORKERS - 1)),
    one_off_cpu_ms_per_added_process: Math.round((oneOff('plain_n') - oneOff('plain_1')) / (WORKERS - 1)),
    daemon_threads_cpu_ms_per_host: { daemon_1: medianGroups(rounds, 'daemon_1'), daemon_n: medianGroups(rounds, 'daemon_n') },
    front_elu_max: round2(Math.max(...rounds.flatMap((r) => [r.running.daemon_1.front_elu_max!, r.running.daemon_n.front_elu_max!]))),
  };
  console.log(
    `worker scaling, ${HOSTS} hosts, 1 → ${WORKERS} workers, running processes, ${ROUNDS} rounds, median (range): ` +
      `${showSpread('daemon CPU/host ×', summary.daemon_growth)}, ${showSpread('control ×', summary.control_growth)}, ${showSpread('excess ×', summary.excess)}`,
  );
  console.log(`  daemon by thread (median ms/host), 1 worker: ${formatGroups(summary.daemon_threads_cpu_ms_per_host.daemon_1)}; ${WORKERS} workers: ${formatGroups(summary.daemon_threads_cpu_ms_per_host.daemon_n)}; front ELU max ${summary.front_elu_max}`);
  console.log(
    `  cold pass (fresh processes): daemon ${summary.cold_cpu_ms_per_host.daemon_1} → ${summary.cold_cpu_ms_per_host.daemon_n} ms/host, ` +
      `plain ${summary.cold_cpu_ms_per_host.plain_1} → ${summary.cold_cpu_ms_per_host.plain_n}; ` +
      `one-off start-up CPU per added worker ${summary.one_off_cpu_ms_per_added_worker} ms (per added plain process ${summary.one_off_cpu_ms_per_added_process} ms)`,
  );
  const out = { benchmark: 'worker-scaling', node: process.version, hosts: HOSTS, workers: WORKERS, rounds: ROUNDS, measured_passes: MEASURED_PASSES, concurrency: CONCURRENCY, summary, per_round: rounds };
  mkdirSync(dirname(resultFile('worker-scaling')), { recursive: true });
  writeFileSync(resultFile('worker-scaling'), JSON.stringify({ measured_at: new Date().toISOString(), ...out }, null, 2) + '\n');
  console.log(JSON.stringify(summary, null, 2));
}

await main();
