// Shapes of the http-reads result file and its console table.
import type { Measurement } from './measure.js';

export interface ServerResult {
  name: string;
  pid: number;
  startup_ms: number;
  /** Settled (see bench/http-reads.ts idleCpu). */
  idle_cpu_pct: number;
  /** Big fleets only: the mean over the first half of the watch, V8's start-up collections included. */
  idle_after_start_pct: number | null;
  body_bytes: { single: number; page: number };
  /** After start-up and BENCH_IDLE_SECONDS of settling plus as many of idle measurement. */
  memory_after_start: { rss_kib: number; peak_rss_kib: number };
  memory_after_runs: { rss_kib: number; peak_rss_kib: number };
  /** The median of these runs is the one in `routes`. */
  routes: { single: Measurement; page: Measurement };
  runs_cpu_us_per_req: { single: number[]; page: number[] };
}

export interface Target {
  name: string;
  value: number;
  limit: string;
  pass: boolean;
}

export interface Report {
  benchmark: string;
  date: string;
  machine: { node: string; cpus: number; cpu_model: string; clk_tck: number; loadavg_before: number[]; loadavg_after: number[] };
  settings: Record<string, number>;
  routes: Record<string, string>;
  servers: Partial<Record<string, ServerResult>>;
  ratios: Record<string, number | null>;
  targets: Target[];
}

const ms = (us: number): string => (us / 1000).toFixed(2);
const mib = (kib: number): string => (kib / 1024).toFixed(0);

function table(rows: string[][], rightAligned: Set<number>): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) => r.map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  '))
    .join('\n');
}

export function printReport(report: Report): void {
  const rows = [['server', 'route', 'req/s', 'CPU µs/req', 'CPU %', 'p50 ms', 'p99 ms', 'body B', 'requests']];
  for (const s of Object.values(report.servers)) {
    if (!s) continue;
    for (const [key, m] of Object.entries(s.routes)) {
      rows.push([
        s.name,
        report.routes[key],
        Math.round(m.req_per_s).toLocaleString('en-US'),
        m.cpu_us_per_req.toFixed(1),
        m.cpu_pct.toFixed(0),
        ms(m.p50_us),
        ms(m.p99_us),
        String(s.body_bytes[key as 'single' | 'page']),
        m.requests.toLocaleString('en-US'),
      ]);
    }
  }
  console.log(`\nhttp-reads  (${report.machine.cpus} CPUs, load ${report.machine.loadavg_before.map((l) => l.toFixed(2)).join(' ')}, node ${report.machine.node})`);
  console.log(table(rows, new Set([2, 3, 4, 5, 6, 7, 8])));

  console.log('');
  const memRows = [['server', 'startup ms', 'idle CPU % (settled | after start)', 'RSS MiB (idle)', 'RSS MiB (after)', 'peak RSS MiB']];
  for (const s of Object.values(report.servers)) {
    if (!s) continue;
    memRows.push([s.name, String(s.startup_ms), `${s.idle_cpu_pct.toFixed(2)}${s.idle_after_start_pct === null ? '' : ` | ${s.idle_after_start_pct.toFixed(2)}`}`, mib(s.memory_after_start.rss_kib), mib(s.memory_after_runs.rss_kib), mib(s.memory_after_runs.peak_rss_kib)]);
  }
  console.log(table(memRows, new Set([1, 2, 3, 4, 5])));

  console.log('\nCPU per request ratios');
  for (const [k, v] of Object.entries(report.ratios)) if (v !== null) console.log(`  ${k.padEnd(30)} ${v.toFixed(2)}×`);
  console.log('  (baselines JSON.stringify on every request; below 1× means the daemon does less work, e.g. cached JSON)');
  if (report.targets.length > 0) {
    console.log('\ntargets');
    for (const t of report.targets) console.log(`  ${t.pass ? 'PASS' : 'MISS'}  ${t.name.padEnd(50)} ${t.value.toFixed(2)} (${t.limit})`);
  }
}
