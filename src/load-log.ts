// At debug level, one `load` log line every 2 s: the front thread's
// event-loop utilisation (the share of the interval its loop was busy) next to
// each shard worker's, as the workers last reported them. It answers "is the
// front thread the bottleneck?" during a large rollout without a profiler;
// benchmarks read it from the log. Costs nothing below debug (no timer).
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Broadcaster } from './events/broadcaster.js';

export const LOAD_LOG_INTERVAL_MS = 2_000;

export function startLoadLog(log: Logger, broadcaster: Broadcaster, intervalMs = LOAD_LOG_INTERVAL_MS): { stop(): void } {
  if (!log.isLevelEnabled('debug')) return { stop() {} };
  let prev = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const elu = performance.eventLoopUtilization(now, prev).utilization;
    prev = now;
    const shards = [...broadcaster.shardMetrics].map(([shard, m]) => ({
      shard,
      elu: round3(m.elu),
      sessions_open: m.sessions_open,
      handshakes_in_flight: m.handshakes_in_flight,
    }));
    log.debug({ elu: round3(elu), shards }, 'load');
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
