// Does the daemon's CPU per host grow with its worker count? (#3)
//
//   npx tsc && node dist/bench/worker-scaling.js
//   WORKER_SCALING_HOSTS=10000 WORKER_SCALING_WORKERS=2 WORKER_SCALING_ROUNDS=3 (the defaults) node dist/bench/worker-scaling.js
//
// On this machine (2 vCPUs, shared with the simulator and with whatever else
// runs on the host) a second busy thread costs CPU per unit of work by itself:
// caches, memory bandwidth, the scheduler. So one run of 1 worker against N
// workers cannot tell the daemon's growth from the machine's. The control is
// the plain ssh2 script (the fleet-query ceiling) run as 1 process and as N
// processes on N slices of the fleet: processes share no heap, no JIT and no
// lock, so whatever CPU/host they add is the machine's.
//
// Each round runs all four on the same simulated fleet (one dry-run query of
// every host), in an order that flips every round so slow drift on the machine
// cancels out:
//   plain ×1, plain ×N, daemon 1 worker, daemon N workers   (odd rounds)
//   daemon N workers, daemon 1 worker, plain ×N, plain ×1   (even rounds)
// and reports, per round and as median and range over rounds:
//   daemon growth  = CPU/host(N workers)   / CPU/host(1 worker)
//   control growth = CPU/host(N processes) / CPU/host(1 process)
//   excess         = daemon growth / control growth   (1.00: the daemon adds nothing)
// for the whole pass, for its second half, and for a second, warm pass (the
// same daemon, and the same plain processes, querying the fleet again once
// each host is known: fewer commands, code compiled, heaps grown), and the
// daemon's CPU/host by thread group (front, shards, store writer, V8/libuv
// runtime threads) so growth can be placed.
//
// The first pass is what a freshly started daemon spends: every worker is a
// separate V8 isolate that compiles the worker code and grows its heap by
// itself, a one-off cost per worker which N workers pay N times. The warm
// pass is what a running daemon spends per host, which is what should not
// grow with the worker count.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { envNumber, resultFile } from './lib/bench-env.js';
import { formatGroups, measurePass, round2, runBaseline, waitForNoSessions, withDaemon, type Pass, type ThreadGroup } from './lib/fleet-runs.js';
import { startSimulatorProc, type SimulatorProc } from './lib/simulator-proc.js';

const HOSTS = Math.round(envNumber('WORKER_SCALING_HOSTS', 10000));
const WORKERS = Math.round(envNumber('WORKER_SCALING_WORKERS', 2));
const ROUNDS = Math.round(envNumber('WORKER_SCALING_ROUNDS', 3));
const CONCURRENCY = Math.round(envNumber('WORKER_SCALING_CONCURRENCY', 128));

/** CPU/host of one run, whole first pass, its second half, and the warm pass, in ms. */
interface Cost {
  cpu_ms_per_host: number;
  second_half_cpu_ms_per_host: number;
  warm_cpu_ms_per_host: number;
}

interface DaemonCost extends Cost {
  wall_ms: number;
  thread_cpu_ms_per_host: Record<ThreadGroup, number>;
  warm_thread_cpu_ms_per_host: Record<ThreadGroup, number>;
}

interface Round {
  order: string[];
  plain_1: Cost;
  plain_n: Cost;
  daemon_1: DaemonCost;
  daemon_n: DaemonCost;
  daemon_growth: number;
  control_growth: number;
  excess: number;
  second_half_daemon_growth: number;
  second_half_control_growth: number;
  second_half_excess: number;
  warm_daemon_growth: number;
  warm_control_growth: number;
  warm_excess: number;
}

async function plain(sim: SimulatorProc, processes: number): Promise<Cost> {
  const r = await runBaseline(sim.toml, processes, CONCURRENCY, 2);
  if (r.ok !== HOSTS || r.warm!.ok !== HOSTS) throw new Error(`plain ssh2 ×${processes}: ${r.ok}/${HOSTS} hosts ok, warm ${r.warm!.ok}/${HOSTS}`);
  return { cpu_ms_per_host: r.cpu_ms / HOSTS, second_half_cpu_ms_per_host: r.second_half_cpu_ms / (HOSTS / 2), warm_cpu_ms_per_host: r.warm!.cpu_ms / HOSTS };
}

async function daemon(sim: SimulatorProc, workers: number): Promise<DaemonCost> {
  const [pass, warm]: Pass[] = await withDaemon(sim, workers, CONCURRENCY, async (d) => {
    const first = await measurePass(d, sim, HOSTS);
    // Every session idle-closed, so the warm pass handshakes with every host again.
    await waitForNoSessions(d);
    return [first, await measurePass(d, sim, HOSTS)];
  });
  for (const p of [pass, warm]) {
    if (p.completed !== HOSTS) throw new Error(`daemon, ${workers} worker(s): ${p.completed}/${HOSTS} hosts completed; ${p.failures.join('; ')}`);
  }
  if (pass.second_half_cpu_ms_per_host === null) throw new Error(`daemon, ${workers} worker(s): the pass ended before its half was seen`);
  return {
    wall_ms: pass.wall_ms,
    cpu_ms_per_host: pass.cpu_ms_per_host,
    second_half_cpu_ms_per_host: pass.second_half_cpu_ms_per_host,
    warm_cpu_ms_per_host: warm.cpu_ms_per_host,
    thread_cpu_ms_per_host: pass.thread_cpu_ms_per_host,
    warm_thread_cpu_ms_per_host: warm.thread_cpu_ms_per_host,
  };
}

async function runRound(sim: SimulatorProc, index: number): Promise<Round> {
  const steps = {
    plain_1: () => plain(sim, 1),
    plain_n: () => plain(sim, WORKERS),
    daemon_1: () => daemon(sim, 1),
    daemon_n: () => daemon(sim, WORKERS),
  };
  const forward = ['plain_1', 'plain_n', 'daemon_1', 'daemon_n'] as const;
  const order = index % 2 === 0 ? [...forward] : [...forward].reverse();
  const got: Partial<{ plain_1: Cost; plain_n: Cost; daemon_1: DaemonCost; daemon_n: DaemonCost }> = {};
  for (const step of order) {
    await sim.json('/reset-counters', {});
    (got as Record<string, Cost>)[step] = await steps[step]();
  }
  const { plain_1, plain_n, daemon_1, daemon_n } = got as Required<typeof got>;
  const growth = (k: keyof Cost) => ({ daemon: daemon_n[k] / daemon_1[k], control: plain_n[k] / plain_1[k] });
  const whole = growth('cpu_ms_per_host');
  const half = growth('second_half_cpu_ms_per_host');
  const warm = growth('warm_cpu_ms_per_host');
  return {
    order: [...order],
    plain_1,
    plain_n,
    daemon_1,
    daemon_n,
    daemon_growth: round2(whole.daemon),
    control_growth: round2(whole.control),
    excess: round2(whole.daemon / whole.control),
    second_half_daemon_growth: round2(half.daemon),
    second_half_control_growth: round2(half.control),
    second_half_excess: round2(half.daemon / half.control),
    warm_daemon_growth: round2(warm.daemon),
    warm_control_growth: round2(warm.control),
    warm_excess: round2(warm.daemon / warm.control),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function spread(xs: number[]): { median: number; min: number; max: number } {
  return { median: round2(median(xs)), min: round2(Math.min(...xs)), max: round2(Math.max(...xs)) };
}

function show(label: string, xs: number[]): string {
  const s = spread(xs);
  return `${label} ${s.median} (${s.min}–${s.max})`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-worker-scaling-'));
  const sim = await startSimulatorProc({ hosts: HOSTS, dir });
  const rounds: Round[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const r = await runRound(sim, i);
      rounds.push(r);
      console.log(
        `round ${i + 1}/${ROUNDS} (${r.order.join(', ')}): ` +
          `plain ${round2(r.plain_1.cpu_ms_per_host)} → ${round2(r.plain_n.cpu_ms_per_host)} ms/host (×${r.control_growth}), ` +
          `daemon ${r.daemon_1.cpu_ms_per_host} → ${r.daemon_n.cpu_ms_per_host} ms/host (×${r.daemon_growth}), excess ×${r.excess}; ` +
          `second half: control ×${r.second_half_control_growth}, daemon ×${r.second_half_daemon_growth}, excess ×${r.second_half_excess}; ` +
          `warm: plain ${round2(r.plain_1.warm_cpu_ms_per_host)} → ${round2(r.plain_n.warm_cpu_ms_per_host)} (×${r.warm_control_growth}), ` +
          `daemon ${r.daemon_1.warm_cpu_ms_per_host} → ${r.daemon_n.warm_cpu_ms_per_host} (×${r.warm_daemon_growth}), excess ×${r.warm_excess}`,
      );
      console.log(`  daemon by thread, 1 worker: ${formatGroups(r.daemon_1.thread_cpu_ms_per_host)}; ${WORKERS} workers: ${formatGroups(r.daemon_n.thread_cpu_ms_per_host)}`);
      console.log(`  warm, 1 worker: ${formatGroups(r.daemon_1.warm_thread_cpu_ms_per_host)}; ${WORKERS} workers: ${formatGroups(r.daemon_n.warm_thread_cpu_ms_per_host)}`);
    }
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const pick = (k: keyof Round) => rounds.map((r) => r[k] as number);
  const summary = {
    daemon_growth: spread(pick('daemon_growth')),
    control_growth: spread(pick('control_growth')),
    excess: spread(pick('excess')),
    second_half_daemon_growth: spread(pick('second_half_daemon_growth')),
    second_half_control_growth: spread(pick('second_half_control_growth')),
    second_half_excess: spread(pick('second_half_excess')),
    warm_daemon_growth: spread(pick('warm_daemon_growth')),
    warm_control_growth: spread(pick('warm_control_growth')),
    warm_excess: spread(pick('warm_excess')),
  };
  console.log(
    `worker scaling, ${HOSTS} hosts, 1 → ${WORKERS} workers, ${ROUNDS} rounds, median (range): ` +
      `${show('daemon CPU/host ×', pick('daemon_growth'))}, ${show('control ×', pick('control_growth'))}, ${show('excess ×', pick('excess'))}; ` +
      `second half: ${show('daemon ×', pick('second_half_daemon_growth'))}, ${show('control ×', pick('second_half_control_growth'))}, ${show('excess ×', pick('second_half_excess'))}; ` +
      `warm: ${show('daemon ×', pick('warm_daemon_growth'))}, ${show('control ×', pick('warm_control_growth'))}, ${show('excess ×', pick('warm_excess'))}`,
  );
  const result = { benchmark: 'worker-scaling', node: process.version, hosts: HOSTS, workers: WORKERS, rounds: ROUNDS, concurrency: CONCURRENCY, summary, per_round: rounds };
  mkdirSync(dirname(resultFile('worker-scaling')), { recursive: true });
  writeFileSync(resultFile('worker-scaling'), JSON.stringify({ measured_at: new Date().toISOString(), ...result }, null, 2) + '\n');
  console.log(JSON.stringify(result.summary, null, 2));
}

await main();
