// Benchmark: what bearer-token auth costs on the request path. One daemon
// with `[daemon.auth]` off, then one with it on (same hosts, same run), each
// driven by wrk on:
//   GET  /hosts/:name               rotating over every host
//   POST /hosts/localhost/update    {"dry_run":true} — one is accepted (202)
//                                   and runs; the rest answer 409 HOST_BUSY,
//                                   which is the point: the refusal path
//                                   (auth, parse, validate, shard round trip)
// Main figure: daemon CPU µs per request (/proc utime+stime ÷ requests).
//
// Env: BENCH_SECONDS (5) BENCH_WARMUP_SECONDS (1) BENCH_CONNECTIONS (50)
//      BENCH_REPEAT (1; median run kept) BENCH_HOSTS (1000) BENCH_DAEMON_WORKERS (2)
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fleetHosts, hostName, singleHostPaths } from './lib/fleet-config.js';
import { measure, medianRun, type Measurement } from './lib/measure.js';
import { startServer, type ServerProcess } from './lib/server-proc.js';
import { UWS_BINARY_FRAGMENT, assertNativeUws } from './lib/uws-native.js';
import { processHasMapped } from './lib/proc-cpu.js';
import { assertWrkInstalled } from './lib/wrk.js';
import { hashToken } from '../src/http/auth.js';
import { REPO_ROOT, loadSettings, resultFile } from './lib/bench-env.js';

const ROOT = REPO_ROOT;
const RESULT_FILE = resultFile('api-auth');
const TOKEN = 'bench-token-0123456789abcdef';

const env = process.env;
const settings = {
  ...loadSettings(1000),
};

type Mode = 'auth_off' | 'auth_on';
type RouteKey = 'get_host' | 'post_update';
const ROUTES: Record<RouteKey, { label: string; method: string; paths: string[]; body?: string; headers: Record<string, string> }> = {
  get_host: { label: 'GET /hosts/:name', method: 'GET', paths: singleHostPaths(settings.hosts), headers: {} },
  post_update: {
    label: 'POST /hosts/localhost/update',
    method: 'POST',
    paths: ['/hosts/localhost/update'],
    body: '{"dry_run":true}',
    headers: { 'content-type': 'application/json' },
  },
};

function writeConfig(dir: string, auth: boolean): string {
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const lines = [
    '[daemon]',
    'bind = "127.0.0.1:0"',
    `workers = ${settings.daemon_workers}`,
    'log_level = "warn"',
    `state_dir = ${JSON.stringify(stateDir)}`,
    '',
    '[daemon.auth]',
    `enabled = ${auth}`,
    `tokens = [{ name = "bench", token_hash = "${hashToken(TOKEN)}" }]`,
    '',
    '[[host]]',
    'name = "localhost"',
    'addr = "localhost"',
    '[host.policy]',
    'auto_reboot = false',
    '',
  ];
  for (const h of fleetHosts(settings.hosts)) {
    lines.push('[[host]]', `name = ${JSON.stringify(h.name)}`, `addr = ${JSON.stringify(h.addr)}`, '');
  }
  const file = join(dir, `tendhost-${auth ? 'auth' : 'open'}.toml`);
  writeFileSync(file, lines.join('\n'));
  return file;
}

async function waitUntilServing(baseUrl: string, headers: Record<string, string>, deadline: number): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${baseUrl}/hosts/${hostName(settings.hosts)}`, { headers });
      if (r.ok) return;
      last = `${r.status} ${await r.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`daemon never served GET /hosts/:name: ${last}`);
}

interface ModeResult {
  pid: number;
  routes: Record<RouteKey, Measurement & { non_2xx: number }>;
  unauthorized_check: number | null;
}

async function benchMode(mode: Mode, dir: string): Promise<ModeResult> {
  const auth = mode === 'auth_on';
  const childEnv: NodeJS.ProcessEnv = { ...env };
  for (const key of Object.keys(childEnv)) if (key.startsWith('TENDHOST_')) delete childEnv[key];
  childEnv.TENDHOST_CONFIG = writeConfig(dir, auth);
  const t0 = Date.now();
  const server: ServerProcess = await startServer({ name: mode, command: process.execPath, args: [join(ROOT, 'dist', 'src', 'main.js')], env: childEnv, startTimeoutMs: 60_000 });
  try {
    if (!processHasMapped(server.pid, UWS_BINARY_FRAGMENT)) throw new Error(`${mode}: the daemon runs the pure-JS uWS fallback; refusing to benchmark it`);
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const authHeader: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
    await waitUntilServing(baseUrl, authHeader, t0 + 60_000);
    // The token is sent in both modes, so the only difference is the check.
    const unauth = auth ? (await fetch(`${baseUrl}/hosts/localhost`)).status : null;
    if (auth && unauth !== 401) throw new Error(`auth_on: a request without a token got ${unauth}, not 401`);
    const routes = {} as ModeResult['routes'];
    for (const key of Object.keys(ROUTES) as RouteKey[]) {
      const r = ROUTES[key];
      const wrkOpts = {
        baseUrl,
        paths: r.paths,
        connections: settings.connections,
        threads: settings.threads,
        method: r.method,
        body: r.body,
        headers: { ...r.headers, ...authHeader },
      };
      await measure(server.pid, { ...wrkOpts, seconds: settings.warmup_seconds });
      const runs: Measurement[] = [];
      for (let i = 0; i < settings.repeat; i++) runs.push(await measure(server.pid, { ...wrkOpts, seconds: settings.seconds }));
      const m = medianRun(runs);
      const e = m.wrk.errors;
      const socketErrors = e.connect + e.read + e.write + e.timeout;
      if (socketErrors > 0) throw new Error(`${mode} ${r.label}: ${socketErrors} socket errors (${JSON.stringify(e)})`);
      // GET must be all 200; POST update is 202 once, then 409 HOST_BUSY (both expected).
      if (key === 'get_host' && e.status > 0) throw new Error(`${mode} ${r.label}: ${e.status} non-2xx answers`);
      routes[key] = { ...m, non_2xx: e.status };
      console.error(`  ${mode.padEnd(8)} ${r.label.padEnd(30)} ${m.cpu_us_per_req.toFixed(1).padStart(6)} µs CPU/req  ${String(Math.round(m.req_per_s)).padStart(6)} req/s  p99 ${(m.p99_us / 1000).toFixed(2)} ms${key === 'post_update' ? `  (${e.status} of ${m.requests} were 409)` : ''}`);
    }
    return { pid: server.pid, routes, unauthorized_check: unauth };
  } catch (err) {
    (err as Error).message += `\n--- ${mode} output (tail) ---\n${server.outputTail()}`;
    throw err;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<number> {
  assertNativeUws();
  assertWrkInstalled();
  if (!existsSync(join(ROOT, 'dist', 'src', 'main.js'))) throw new Error('dist/src/main.js does not exist: build with `npx tsc -p tsconfig.json`');
  const tmp = mkdtempSync(join(tmpdir(), 'tendhost-bench-auth-'));
  try {
    console.error(`api-auth: ${settings.hosts} hosts + localhost, ${settings.seconds} s × ${settings.repeat} per route, ${settings.connections} connections`);
    const loadBefore = loadavg();
    const results = {} as Record<Mode, ModeResult>;
    for (const mode of ['auth_off', 'auth_on'] as const) results[mode] = await benchMode(mode, join(tmp, mode));
    const overhead = Object.fromEntries(
      (Object.keys(ROUTES) as RouteKey[]).map((k) => {
        const off = results.auth_off.routes[k];
        const on = results.auth_on.routes[k];
        return [k, { cpu_us_per_req_delta: on.cpu_us_per_req - off.cpu_us_per_req, cpu_ratio: on.cpu_us_per_req / off.cpu_us_per_req, req_per_s_ratio: on.req_per_s / off.req_per_s }];
      }),
    );
    const report = {
      benchmark: 'api-auth',
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', loadavg_before: loadBefore, loadavg_after: loadavg() },
      settings,
      routes: Object.fromEntries(Object.entries(ROUTES).map(([k, v]) => [k, v.label])),
      results,
      overhead,
    };
    console.log('\napi-auth: auth off vs on (same run)');
    console.log('route                           mode       CPU µs/req    req/s   p99 ms');
    for (const k of Object.keys(ROUTES) as RouteKey[]) {
      for (const mode of ['auth_off', 'auth_on'] as const) {
        const m = results[mode].routes[k];
        console.log(`${ROUTES[k].label.padEnd(31)} ${mode.padEnd(9)} ${m.cpu_us_per_req.toFixed(1).padStart(10)} ${String(Math.round(m.req_per_s)).padStart(8)} ${(m.p99_us / 1000).toFixed(2).padStart(8)}`);
      }
      const o = overhead[k];
      console.log(`${''.padEnd(31)} auth cost ${o.cpu_us_per_req_delta >= 0 ? '+' : ''}${o.cpu_us_per_req_delta.toFixed(1)} µs CPU/req (×${o.cpu_ratio.toFixed(2)}), throughput ×${o.req_per_s_ratio.toFixed(2)}`);
    }
    mkdirSync(dirname(RESULT_FILE), { recursive: true });
    writeFileSync(RESULT_FILE, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${RESULT_FILE}`);
    return 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`api-auth: ${(err as Error).message}`);
    process.exit(1);
  },
);
