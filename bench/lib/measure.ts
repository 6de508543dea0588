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

/** CPU share of one core the process burns with no requests (timers, workers, GC). */
export async function idleCpuPct(pid: number, ms: number): Promise<number> {
  const before = processCpuMicros(pid);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, ms));
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
  return (100 * (processCpuMicros(pid) - before)) / wallUs;
}

/** Of several runs, the one with the median CPU per request (robust to a noisy neighbour). */
export function medianRun(runs: Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.cpu_us_per_req - b.cpu_us_per_req);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
