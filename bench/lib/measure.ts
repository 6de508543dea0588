// One measured wrk run against one server: the server's CPU time (from /proc)
// divided by the requests wrk completed, beside throughput and latency.
import { processCpuMicros } from './proc-cpu.js';
import { runWrk, type WrkOptions, type WrkResult } from './wrk.js';

export interface Measurement {
  requests: number;
  seconds: number;
  req_per_s: number;
  /** Server process CPU (user+system, all threads) per completed request. */
  cpu_us_per_req: number;
  /** Server CPU as a share of one core over the run. */
  cpu_pct: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  /** Average bytes read per response, headers included. */
  bytes_per_req: number;
  /** Non-2xx/3xx answers, socket errors and timeouts — any of them invalidates the run. */
  errors: number;
  wrk: WrkResult;
}

export async function measure(pid: number, opts: WrkOptions): Promise<Measurement> {
  const cpuBefore = processCpuMicros(pid);
  const wrk = await runWrk(opts);
  const cpuUs = processCpuMicros(pid) - cpuBefore;
  const seconds = wrk.duration_us / 1e6;
  const e = wrk.errors;
  return {
    requests: wrk.requests,
    seconds,
    req_per_s: wrk.requests / seconds,
    cpu_us_per_req: wrk.requests > 0 ? cpuUs / wrk.requests : Number.NaN,
    cpu_pct: (100 * cpuUs) / wrk.duration_us,
    p50_us: wrk.p50_us,
    p90_us: wrk.p90_us,
    p99_us: wrk.p99_us,
    max_us: wrk.max_us,
    bytes_per_req: wrk.requests > 0 ? wrk.bytes / wrk.requests : 0,
    errors: e.connect + e.read + e.write + e.status + e.timeout,
    wrk,
  };
}

/**
 * CPU per second the processes burn with nothing asked of them (timers,
 * workers, GC), in windows of `windowMs` until two in a row agree within
 * 25 % (at most `maxWindows`): a process right after start-up is still
 * collecting its start-up garbage — a bare uWS server holding 100,000 hosts
 * showed 1.8 % of a core there — and is not idle yet. The lower of the two.
 */
export async function settledIdleCpu(pids: number[], windowMs: number, maxWindows = 8): Promise<{ ms_per_s: number; windows: number }> {
  let last = await idleWindow(pids, windowMs);
  for (let i = 2; i <= maxWindows; i++) {
    const now = await idleWindow(pids, windowMs);
    if (Math.abs(now - last) <= 0.25 * Math.max(now, last)) return { ms_per_s: round2(Math.min(now, last)), windows: i };
    last = now;
  }
  return { ms_per_s: round2(last), windows: maxWindows };
}

/** CPU per second of `pids` over `count` windows of `windowMs`, one figure per window. */
export async function idleCpuWindows(pids: number[], windowMs: number, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(round2(await idleWindow(pids, windowMs)));
  return out;
}

async function idleWindow(pids: number[], windowMs: number): Promise<number> {
  const cpu = () => pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);
  const c0 = cpu();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, windowMs));
  return (cpu() - c0) / (Number(process.hrtime.bigint() - t0) / 1e6);
}

export const round2 = (x: number) => Math.round(x * 100) / 100;

/** Of several runs, the one with the median CPU per request (robust to a noisy neighbour). */
export function medianRun(runs: Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.cpu_us_per_req - b.cpu_us_per_req);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
