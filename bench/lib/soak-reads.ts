// API reads at a steady rate during a soak: one request every `intervalMs`,
// round robin over the read routes a dashboard or script uses, with each
// route's slowest answer and every status counted (5xx is the figure that
// must stay 0; a 404 for a host the last reload removed is expected).
export interface ReadStats {
  requests: number;
  by_status: Record<string, number>;
  errors_5xx: number;
  /** Requests that got no HTTP answer at all (connection refused/reset). */
  no_answer: number;
  slowest_ms: number;
  slowest: string;
  p99_ms: number;
  /** A few 5xx / failed requests, for the report. */
  failures: string[];
}

export interface ReadTargets {
  /** A host name that exists now. */
  someHost(): string | undefined;
  /** The newest job's id, if any. */
  someJob(): string | undefined;
}

export function startReads(base: string, targets: ReadTargets, intervalMs: number): { stop(): Promise<ReadStats> } {
  const stats: ReadStats = { requests: 0, by_status: {}, errors_5xx: 0, no_answer: 0, slowest_ms: 0, slowest: '', p99_ms: 0, failures: [] };
  const times: number[] = [];
  let i = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const paths = (): string[] => {
    const host = targets.someHost();
    const job = targets.someJob();
    const page = 1 + (i % 200);
    return [
      `/hosts?page=${page}&per_page=50`,
      ...(host ? [`/hosts/${encodeURIComponent(host)}`] : []),
      `/jobs?page=1&per_page=50`,
      ...(job ? [`/jobs/${job}`, `/jobs/${job}/hosts?page=${1 + (i % 20)}&per_page=50`, `/jobs/${job}/hosts?state=failed`] : []),
    ];
  };
  const one = async (): Promise<void> => {
    const list = paths();
    const path = list[i++ % list.length]!;
    const t = performance.now();
    try {
      const res = await fetch(base + path, { signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      const ms = performance.now() - t;
      times.push(ms);
      stats.requests++;
      stats.by_status[res.status] = (stats.by_status[res.status] ?? 0) + 1;
      if (ms > stats.slowest_ms) {
        stats.slowest_ms = Math.round(ms * 10) / 10;
        stats.slowest = path;
      }
      if (res.status >= 500) {
        stats.errors_5xx++;
        if (stats.failures.length < 10) stats.failures.push(`${res.status} ${path}`);
      }
    } catch (err) {
      stats.no_answer++;
      if (stats.failures.length < 10) stats.failures.push(`${path}: ${(err as Error).message}`);
    }
  };
  // One at a time: a steady rate, not a load test; a tick that finds the last read still out is skipped.
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    inFlight = one().finally(() => (busy = false));
  }, intervalMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await inFlight;
      const s = [...times].sort((a, b) => a - b);
      stats.p99_ms = Math.round((s[Math.floor(s.length * 0.99)] ?? 0) * 10) / 10;
      return stats;
    },
  };
}
