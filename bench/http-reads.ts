// Benchmark: GET /hosts/:name and GET /hosts?per_page=50 over 10,000 hosts,
// for the daemon and two baselines on the same data, one server at a time:
//   bare-uws   uWS.js + Map lookup + JSON.stringify (the ceiling)
//   node-http  node:http doing the same
//   daemon     node dist/src/main.js with a generated tendhost.toml
// Main figure: server CPU µs per request (/proc utime+stime ÷ requests), which
// holds up on a shared, noisy machine far better than req/s does.
//
// Env: BENCH_SECONDS (5) BENCH_WARMUP_SECONDS (1) BENCH_CONNECTIONS (50)
//      BENCH_REPEAT (1; median run is kept) BENCH_HOSTS (10000)
//      BENCH_SERVERS (bare-uws,node-http,daemon) BENCH_DAEMON_WORKERS (2)
//      BENCH_ENFORCE (unset; 1 = exit 1 when a target is missed)
//      BENCH_IDLE_SECONDS (1; the window idle CPU is measured in, repeated until two in a row agree within 25 %, at most 8)
// From 50,000 hosts on it also prints the scale goals of a big fleet
// (start-up to serving, idle RSS, idle CPU); bench/scale.ts runs it at 100,000.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_HOST_COUNT, PAGE_SIZE, fleetHosts, hostName, pagePaths, singleHostPaths, writeDaemonConfig } from './lib/fleet-config.js';
import { idleCpuWindows, measure, medianRun, round2, settledIdleCpu, type Measurement } from './lib/measure.js';
import { clockTicksPerSecond, processHasMapped, processMemoryKiB } from './lib/proc-cpu.js';
import { printReport, type Report, type ServerResult, type Target } from './lib/http-reads-report.js';
import { startServer, type ServerProcess, type ServerSpec } from './lib/server-proc.js';
import { UWS_BINARY_FRAGMENT, assertNativeUws } from './lib/uws-native.js';
import { assertWrkInstalled } from './lib/wrk.js';
import { BENCH_DIR, REPO_ROOT, envNumber, loadSettings, resultFile } from './lib/bench-env.js';

const HERE = BENCH_DIR;
const ROOT = REPO_ROOT;
const RESULT_FILE = resultFile('http-reads');

const env = process.env;
const settings = {
  ...loadSettings(DEFAULT_HOST_COUNT),
  per_page: PAGE_SIZE,
};
const SERVERS = ['bare-uws', 'node-http', 'daemon'] as const;
type ServerName = (typeof SERVERS)[number];
const ROUTES = {
  single: { label: 'GET /hosts/:name', paths: singleHostPaths(settings.hosts) },
  page: { label: `GET /hosts?per_page=${PAGE_SIZE}`, paths: pagePaths(settings.hosts) },
} as const;
type RouteKey = keyof typeof ROUTES;

const TARGETS = { vs_bare_max: 1.3, vs_node_min: 2, page_cpu_us_max: 30 };
/** Goals for a daemon holding a big fleet, checked from SCALE_GOALS_FROM_HOSTS hosts on. */
const SCALE_TARGETS = { startup_ms_max: 10_000, idle_rss_mib_max: 1536, idle_cpu_pct_max: 1, single_vs_bare_max: 1 };
const SCALE_GOALS_FROM_HOSTS = 50_000;
const IDLE_SECONDS = envNumber('BENCH_IDLE_SECONDS', 1);
/** From SCALE_GOALS_FROM_HOSTS on: how long the idle daemon is watched (see idleCpu). */
const IDLE_WATCH_S = envNumber('BENCH_IDLE_WATCH_S', 120);
const START_TIMEOUT_MS = 60_000;

function selectedServers(): ServerName[] {
  const wanted = (env.BENCH_SERVERS ?? SERVERS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of wanted) {
    if (!(SERVERS as readonly string[]).includes(s)) throw new Error(`BENCH_SERVERS: unknown server "${s}" (known: ${SERVERS.join(', ')})`);
  }
  return wanted as ServerName[];
}

function serverSpec(name: ServerName, configFile: string): ServerSpec {
  const childEnv: NodeJS.ProcessEnv = { ...env, BENCH_HOSTS: String(settings.hosts), BENCH_SHARDS: String(settings.daemon_workers) };
  // Only the generated config may steer the daemon (no stray TENDHOST_BIND etc.).
  for (const key of Object.keys(childEnv)) if (key.startsWith('TENDHOST_')) delete childEnv[key];
  if (name === 'daemon') {
    childEnv.TENDHOST_CONFIG = configFile;
    // DAEMON_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the daemon, as harness/daemon.ts does.
    const nodeArgs = (env.DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
    return { name, command: process.execPath, args: [...nodeArgs, join(ROOT, 'dist', 'src', 'main.js')], env: childEnv, startTimeoutMs: START_TIMEOUT_MS };
  }
  return { name, command: process.execPath, args: [join(HERE, 'baselines', `${name}.js`)], env: childEnv, startTimeoutMs: START_TIMEOUT_MS };
}

/**
 * Waits until the server answers both routes with the expected shapes — the
 * daemon may listen before its read model holds every host — and returns the
 * body sizes, so the report shows all servers send comparable payloads.
 */
async function waitUntilServing(baseUrl: string, deadline: number): Promise<{ single: number; page: number }> {
  let lastProblem = '';
  while (Date.now() < deadline) {
    try {
      const last = hostName(settings.hosts);
      const one = await fetch(`${baseUrl}/hosts/${last}`);
      const oneText = await one.text();
      const pageRes = await fetch(`${baseUrl}/hosts?page=1&per_page=${PAGE_SIZE}`);
      const pageText = await pageRes.text();
      const host = one.ok ? (JSON.parse(oneText) as { name?: unknown; state?: unknown }) : undefined;
      const page = pageRes.ok ? (JSON.parse(pageText) as { data?: unknown[]; pagination?: { total_items?: unknown } }) : undefined;
      if (host?.name === last && typeof host.state === 'string' && page?.data?.length === PAGE_SIZE && page.pagination?.total_items === settings.hosts) {
        return { single: Buffer.byteLength(oneText), page: Buffer.byteLength(pageText) };
      }
      lastProblem = `GET /hosts/${last} → ${one.status} ${oneText.slice(0, 200)}; GET /hosts?page=1 → ${pageRes.status} ${pageText.slice(0, 200)}`;
    } catch (err) {
      lastProblem = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server never served the expected shapes: ${lastProblem}`);
}

/**
 * Idle CPU, % of a core. Start-up garbage and the first store writes are not
 * idle work: windows until two agree. A big fleet's heaps take V8's memory
 * reducer a minute or more of full collections after start-up (bursts of
 * several % of a core, 25–70 s after start at 100,000 hosts): there the
 * daemon is watched for IDLE_WATCH_S and the settled figure is the median of
 * the second half; the first half's mean is reported beside it.
 */
async function idleCpu(pid: number): Promise<{ idle_cpu_pct: number; idle_after_start_pct: number | null }> {
  if (settings.hosts < SCALE_GOALS_FROM_HOSTS) {
    const settled = await settledIdleCpu([pid], IDLE_SECONDS * 1000);
    return { idle_cpu_pct: settled.ms_per_s / 10, idle_after_start_pct: null };
  }
  const windows = await idleCpuWindows([pid], 5000, Math.ceil(IDLE_WATCH_S / 5));
  const half = Math.floor(windows.length / 2);
  const later = windows.slice(half).sort((a, b) => a - b);
  const median = later[Math.floor(later.length / 2)] ?? 0;
  const mean = windows.slice(0, half).reduce((a, b) => a + b, 0) / Math.max(1, half);
  return { idle_cpu_pct: round2(median / 10), idle_after_start_pct: round2(mean / 10) };
}

async function benchServer(name: ServerName, configFile: string): Promise<ServerResult> {
  const t0 = Date.now();
  const server: ServerProcess = await startServer(serverSpec(name, configFile));
  try {
    if (name !== 'node-http' && !processHasMapped(server.pid, UWS_BINARY_FRAGMENT)) {
      throw new Error(`${name} (pid ${server.pid}) has no native uWS binary mapped — it runs the pure-JS fallback; refusing to benchmark it`);
    }
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const body_bytes = await waitUntilServing(baseUrl, t0 + START_TIMEOUT_MS);
    const startup_ms = Date.now() - t0;
    const { idle_cpu_pct, idle_after_start_pct } = await idleCpu(server.pid);
    const memory_after_start = processMemoryKiB(server.pid);
    const routes = {} as Record<RouteKey, Measurement>;
    const runs_cpu_us_per_req = {} as Record<RouteKey, number[]>;
    for (const key of Object.keys(ROUTES) as RouteKey[]) {
      const wrkOpts = { baseUrl, paths: ROUTES[key].paths, connections: settings.connections, threads: settings.threads };
      await measure(server.pid, { ...wrkOpts, seconds: settings.warmup_seconds });
      const runs: Measurement[] = [];
      for (let i = 0; i < settings.repeat; i++) runs.push(await measure(server.pid, { ...wrkOpts, seconds: settings.seconds }));
      const m = medianRun(runs);
      if (m.errors > 0) {
        throw new Error(`${name} ${ROUTES[key].label}: ${m.errors} failed requests (${JSON.stringify(m.wrk.errors)}) — results would be meaningless`);
      }
      routes[key] = m;
      runs_cpu_us_per_req[key] = runs.map((r) => r.cpu_us_per_req);
      console.error(`  ${name.padEnd(9)} ${ROUTES[key].label.padEnd(24)} ${m.cpu_us_per_req.toFixed(1)} µs CPU/req, ${Math.round(m.req_per_s)} req/s`);
    }
    const memory_after_runs = processMemoryKiB(server.pid);
    return { name, pid: server.pid, startup_ms, idle_cpu_pct, idle_after_start_pct, body_bytes, memory_after_start, memory_after_runs, routes, runs_cpu_us_per_req };
  } catch (err) {
    (err as Error).message += `\n--- ${name} output (tail) ---\n${server.outputTail()}`;
    throw err;
  } finally {
    await server.stop();
  }
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined ? null : a / b;
}

function buildTargets(results: Partial<Record<ServerName, ServerResult>>): Target[] {
  const cpu = (s: ServerName, r: RouteKey): number | undefined => results[s]?.routes[r].cpu_us_per_req;
  if (!results.daemon) return [];
  const targets: Target[] = [];
  for (const r of Object.keys(ROUTES) as RouteKey[]) {
    const vsBare = ratio(cpu('daemon', r), cpu('bare-uws', r));
    if (vsBare !== null) targets.push({ name: `${ROUTES[r].label}: daemon ÷ bare-uws CPU/req`, value: vsBare, limit: `≤ ${TARGETS.vs_bare_max}`, pass: vsBare <= TARGETS.vs_bare_max });
    const vsNode = ratio(cpu('node-http', r), cpu('daemon', r));
    if (vsNode !== null) targets.push({ name: `${ROUTES[r].label}: node-http ÷ daemon CPU/req`, value: vsNode, limit: `≥ ${TARGETS.vs_node_min}`, pass: vsNode >= TARGETS.vs_node_min });
  }
  if (settings.hosts >= SCALE_GOALS_FROM_HOSTS) {
    targets.push(...scaleTargets(results.daemon));
    // The goal for a big fleet: one host's read still at or below bare uWS.
    const single = ratio(cpu('daemon', 'single'), cpu('bare-uws', 'single'));
    if (single !== null) {
      const name = `${settings.hosts.toLocaleString('en-US')} hosts: ${ROUTES.single.label} daemon ÷ bare-uws CPU/req`;
      targets.push({ name, value: single, limit: `≤ ${SCALE_TARGETS.single_vs_bare_max}`, pass: single <= SCALE_TARGETS.single_vs_bare_max });
    }
  }
  const page = cpu('daemon', 'page');
  if (page !== undefined) targets.push({ name: `${ROUTES.page.label}: daemon CPU µs/req`, value: page, limit: `< ${TARGETS.page_cpu_us_max}`, pass: page < TARGETS.page_cpu_us_max });
  return targets;
}

function scaleTargets(d: ServerResult): Target[] {
  const hosts = settings.hosts.toLocaleString('en-US');
  const rssMib = d.memory_after_start.rss_kib / 1024;
  return [
    { name: `${hosts} hosts: start-up to serving, ms`, value: d.startup_ms, limit: `< ${SCALE_TARGETS.startup_ms_max}`, pass: d.startup_ms < SCALE_TARGETS.startup_ms_max },
    { name: `${hosts} hosts: idle RSS, MiB`, value: rssMib, limit: `< ${SCALE_TARGETS.idle_rss_mib_max}`, pass: rssMib < SCALE_TARGETS.idle_rss_mib_max },
    { name: `${hosts} hosts: idle CPU, % of a core (settled: median, last ${IDLE_WATCH_S / 2} s)`, value: d.idle_cpu_pct, limit: `< ${SCALE_TARGETS.idle_cpu_pct_max}`, pass: d.idle_cpu_pct < SCALE_TARGETS.idle_cpu_pct_max },
  ];
}

async function main(): Promise<number> {
  const servers = selectedServers();
  // Preconditions first, each with a message that says what to do.
  assertNativeUws();
  assertWrkInstalled();
  if (servers.includes('daemon') && !existsSync(join(ROOT, 'dist', 'src', 'main.js'))) {
    throw new Error('dist/src/main.js does not exist: build with `npx tsc -p tsconfig.json`, or set BENCH_SERVERS=bare-uws,node-http');
  }

  const tmp = mkdtempSync(join(tmpdir(), 'tendhost-bench-http-'));
  try {
    const configFile = writeDaemonConfig(fleetHosts(settings.hosts), { workers: settings.daemon_workers, dir: tmp });
    const loadBefore = loadavg();
    console.error(`http-reads: ${settings.hosts} hosts, ${settings.seconds} s × ${settings.repeat} per route, ${settings.connections} connections, servers: ${servers.join(', ')}`);
    const results: Partial<Record<ServerName, ServerResult>> = {};
    for (const name of servers) results[name] = await benchServer(name, configFile); // one at a time, never concurrently

    const cpu = (s: ServerName, r: RouteKey): number | undefined => results[s]?.routes[r].cpu_us_per_req;
    const ratios: Record<string, number | null> = {};
    for (const r of Object.keys(ROUTES) as RouteKey[]) {
      ratios[`${r}.daemon_vs_bare_uws`] = ratio(cpu('daemon', r), cpu('bare-uws', r));
      ratios[`${r}.node_http_vs_daemon`] = ratio(cpu('node-http', r), cpu('daemon', r));
      ratios[`${r}.node_http_vs_bare_uws`] = ratio(cpu('node-http', r), cpu('bare-uws', r));
    }
    const report: Report = {
      benchmark: 'http-reads',
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', clk_tck: clockTicksPerSecond(), loadavg_before: loadBefore, loadavg_after: loadavg() },
      settings,
      routes: Object.fromEntries(Object.entries(ROUTES).map(([k, v]) => [k, v.label])),
      servers: results,
      ratios,
      targets: buildTargets(results),
    };
    printReport(report);
    mkdirSync(dirname(RESULT_FILE), { recursive: true });
    writeFileSync(RESULT_FILE, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${RESULT_FILE}`);
    const missed = report.targets.filter((t) => !t.pass);
    return env.BENCH_ENFORCE === '1' && missed.length > 0 ? 1 : 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`http-reads: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
