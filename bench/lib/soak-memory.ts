// Memory over a soak: the daemon's RSS (from /proc, every thread) and its V8
// heaps (front thread and each worker, from /metrics) sampled every ~10 s, and
// whether they level off: the slope of the run's last third against its first.
import { processMemoryKiB } from './proc-cpu.js';

export interface MemorySample {
  /** Seconds since the soak started. */
  t_s: number;
  rss_mib: number;
  front_heap_mib: number;
  /** Sum over the worker threads (as they last reported). */
  workers_heap_mib: number;
}

export interface Trend {
  /** Least-squares slope over each third of the run, in MiB per minute. */
  first_third_mib_per_min: number;
  last_third_mib_per_min: number;
  first_mib: number;
  last_mib: number;
  max_mib: number;
  /** The last third grows at most PLATEAU_MIB_PER_MIN, or at most a tenth as fast as the first (warm-up). */
  plateaus: boolean;
}

/** Below this growth (MiB/min) in the last third a series counts as flat, whatever the first third did. */
export const PLATEAU_MIB_PER_MIN = 2;
/** Or: the last third grows at most this share of the first third's rate (a warm-up that has ended). */
export const PLATEAU_SHARE_OF_FIRST = 0.1;

const MIB = 1024 * 1024;

function gauge(text: string, name: string): number[] {
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm');
  return [...text.matchAll(re)].map((m) => Number(m[1]));
}

export async function sampleMemory(pid: number, metricsUrl: string, t0: number): Promise<MemorySample> {
  const text = await (await fetch(metricsUrl)).text();
  const front = gauge(text, 'tendhost_heap_used_bytes');
  if (front.length !== 1) throw new Error('/metrics has no tendhost_heap_used_bytes gauge');
  const workers = gauge(text, 'tendhost_worker_heap_used_bytes');
  return {
    t_s: Math.round((performance.now() - t0) / 100) / 10,
    rss_mib: round1(processMemoryKiB(pid).rss_kib / 1024),
    front_heap_mib: round1(front[0]! / MIB),
    workers_heap_mib: round1(workers.reduce((a, b) => a + b, 0) / MIB),
  };
}

/** Slope (per minute) of y over t (seconds), least squares; 0 for fewer than two points. */
function slopePerMin(points: Array<[number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

export function trend(samples: MemorySample[], pick: (s: MemorySample) => number): Trend {
  const pts = samples.map((s) => [s.t_s, pick(s)] as [number, number]);
  const third = Math.max(2, Math.floor(pts.length / 3));
  const first = slopePerMin(pts.slice(0, third));
  const last = slopePerMin(pts.slice(-third));
  return {
    first_third_mib_per_min: round1(first),
    last_third_mib_per_min: round1(last),
    first_mib: pts[0]?.[1] ?? 0,
    last_mib: pts.at(-1)?.[1] ?? 0,
    max_mib: Math.max(0, ...pts.map(([, y]) => y)),
    plateaus: last <= PLATEAU_MIB_PER_MIN || last <= first * PLATEAU_SHARE_OF_FIRST,
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
