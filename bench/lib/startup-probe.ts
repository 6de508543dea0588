// Start-up of a daemon with a big fleet, as an operator sees it: time from
// spawn to answering GET /hosts/<last host>, the daemon's own stage breakdown
// (GET /health `startup`), its CPU and RSS at that moment. Run twice on one
// state dir: a first start (empty store) and a restart (every host's status
// restored from the store), the one that matters after an upgrade or a crash.
import { join } from 'node:path';
import { processCpuMicros, processMemoryKiB } from './proc-cpu.js';
import { startServer } from './server-proc.js';
import { REPO_ROOT } from './bench-env.js';

export interface StartupRun {
  label: string;
  /** Spawn → GET /hosts/<last host> answers 200. */
  ready_ms: number;
  /** The daemon's own figure: process start → listening (GET /health). */
  daemon_ready_ms: number;
  stages_ms: Record<string, number>;
  cpu_s: number;
  rss_mib: number;
}

const START_TIMEOUT_MS = 120_000;

export async function probeStartup(label: string, configFile: string, lastHost: string): Promise<StartupRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, TENDHOST_CONFIG: configFile };
  for (const key of Object.keys(env)) if (key.startsWith('TENDHOST_') && key !== 'TENDHOST_CONFIG') delete env[key];
  const t0 = Date.now();
  const server = await startServer({ name: `daemon (${label})`, command: process.execPath, args: [join(REPO_ROOT, 'dist', 'src', 'main.js')], env, startTimeoutMs: START_TIMEOUT_MS });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    for (;;) {
      if (Date.now() - t0 > START_TIMEOUT_MS) throw new Error(`${label}: GET /hosts/${lastHost} did not answer 200 within ${START_TIMEOUT_MS} ms\n${server.outputTail()}`);
      const r = await fetch(`${base}/hosts/${lastHost}`).catch(() => null);
      if (r?.ok) break;
      await r?.arrayBuffer();
      await new Promise((res) => setTimeout(res, 50));
    }
    const ready_ms = Date.now() - t0;
    const cpu_s = processCpuMicros(server.pid) / 1e6;
    const rss_mib = processMemoryKiB(server.pid).rss_kib / 1024;
    const health = (await (await fetch(`${base}/health`)).json()) as { startup: { ready_ms: number; stages_ms: Record<string, number> } };
    return { label, ready_ms, daemon_ready_ms: health.startup.ready_ms, stages_ms: health.startup.stages_ms, cpu_s, rss_mib };
  } finally {
    await server.stop(30_000);
  }
}

/** One column per run, one row per stage, in the order the daemon ran them. */
export function printStartupRuns(runs: StartupRun[], goalMs: number): void {
  const stages = [...new Set(runs.flatMap((r) => Object.keys(r.stages_ms)))];
  const rows: string[][] = [['stage (ms)', ...runs.map((r) => r.label)]];
  for (const s of stages) rows.push([s, ...runs.map((r) => (r.stages_ms[s] ?? 0).toFixed(0))]);
  rows.push(['= daemon: process start → listening', ...runs.map((r) => r.daemon_ready_ms.toFixed(0))]);
  rows.push(['spawn → GET /hosts/<last> answers', ...runs.map((r) => String(r.ready_ms))]);
  rows.push(['CPU at ready, s (all threads)', ...runs.map((r) => r.cpu_s.toFixed(2))]);
  rows.push(['RSS at ready, MiB', ...runs.map((r) => r.rss_mib.toFixed(0))]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  for (const r of runs) console.log(`${r.label}: start-up to serving ${r.ready_ms} ms (goal < ${goalMs}) ${r.ready_ms < goalMs ? 'met' : 'MISSED'}`);
}
