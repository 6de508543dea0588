// Memory over a soak: the daemon's RSS (from /proc, every thread) and its V8
// heaps (front thread and each worker, from /metrics) sampled every ~10 s, and
// whether they level off: the slope of each minute's floor over the run's last
// third against its first.
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
  /** Least-squares slope of the per-minute floors over each third of the run, in MiB per minute. */
  first_third_mib_per_min: number;
  last_third_mib_per_min: number;
  first_mib: number;
  last_mib: number;
  max_mib: number;
  /** Each minute's lowest sample (after that minute's GCs): what a leak raises. */
  floors_mib: number[];
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

/** Samples per trough window: a minute at the ~10 s sampling interval. */
export const TROUGH_WINDOW_S = 60;

/**
 * A heap is a sawtooth (it grows until a GC), so a slope through every sample
 * says more about where the last GC fell than about a leak. What a leak moves
 * is the floor: each minute's lowest sample. Slopes are fitted through those
 * floors, over the first and the last third of the minutes (a last minute with
 * fewer than half its samples is left out).
 */
export function trend(samples: MemorySample[], pick: (s: MemorySample) => number): Trend {
  const windows = new Map<number, number[]>();
  for (const s of samples) {
    const w = Math.floor(s.t_s / TROUGH_WINDOW_S);
    windows.set(w, [...(windows.get(w) ?? []), pick(s)]);
  }
  const perWindow = TROUGH_WINDOW_S / 10;
  const floors = [...windows]
    .filter(([w, ys]) => ys.length >= perWindow / 2 || w < Math.max(...windows.keys()))
    .map(([w, ys]) => [(w + 0.5) * TROUGH_WINDOW_S, Math.min(...ys)] as [number, number]);
  const third = Math.max(2, Math.floor(floors.length / 3));
  const first = slopePerMin(floors.slice(0, third));
  const last = slopePerMin(floors.slice(-third));
  const all = samples.map(pick);
  return {
    first_third_mib_per_min: round1(first),
    last_third_mib_per_min: round1(last),
    first_mib: all[0] ?? 0,
    last_mib: all.at(-1) ?? 0,
    max_mib: Math.max(0, ...all),
    floors_mib: floors.map(([, y]) => y),
    plateaus: last <= PLATEAU_MIB_PER_MIN || last <= first * PLATEAU_SHARE_OF_FIRST,
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
