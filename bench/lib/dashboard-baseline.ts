// The same-run baseline for bench/dashboard.ts: a blank page in the same
// browser, open at the same time as the dashboard, that reads the same event
// stream and does no UI work — it parses each message and, once per animation
// frame, notes how far behind the stream it is, exactly as the dashboard marks
// its frames. It also times a fixed CPU workload every 250 ms and how late a
// 10 ms timer fires. Whatever long tasks and lag this page shows are the
// machine's (a busy 2-core box, the daemon, the simulator, chromium itself);
// what the dashboard shows above it is ours.

export interface BaselineProbe {
  /** Long tasks other than the CPU probe's own runs. */
  longtasks: number[];
  lags: number[];
  events: number;
  /** Wall time of the fixed workload (sorting 20,000 numbers), ms. */
  burn: number[];
  /** How late a 10 ms timer fired, ms. */
  timer: number[];
}

/** The page's script; `url` is the daemon's /ws/events. */
export function baselineScript(url: string): string {
  return `(() => {
  const b = (window.__base = { longtasks: [], lags: [], events: 0, burn: [], timer: [] });
  // The CPU probe's own runs are timed as burn, not counted as long tasks.
  const probes = [];
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) if (!probes.some((t) => t >= e.startTime && t <= e.startTime + e.duration)) b.longtasks.push(e.duration);
  }).observe({ type: 'longtask', buffered: true });
  let lastTs = null, pending = false;
  const ws = new WebSocket(${JSON.stringify(url)});
  ws.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (e.type === 'Snapshot' || !e.ts) return;
    b.events++;
    lastTs = e.ts;
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const ts = lastTs;
      setTimeout(() => b.lags.push(Date.now() - Date.parse(ts)), 0);
    });
  };
  const data = Array.from({ length: 20000 }, (_, i) => (i * 7919) % 20011);
  setInterval(() => {
    const t0 = performance.now();
    probes.push(t0);
    if (probes.length > 40) probes.shift();
    data.slice().sort((x, y) => x - y);
    b.burn.push(performance.now() - t0);
  }, 250);
  let due = performance.now() + 10;
  const tick = () => {
    const now = performance.now();
    b.timer.push(Math.max(0, now - due));
    due = now + 10;
    setTimeout(tick, 10);
  };
  setTimeout(tick, 10);
})();`;
}
