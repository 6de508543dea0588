// Drives wrk (https://github.com/wg/wrk) with a generated Lua script that
// rotates through a list of paths and prints its summary as one JSON line.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WrkOptions {
  /** e.g. http://127.0.0.1:8080 — paths are appended by the script. */
  baseUrl: string;
  /** Rotated through in order, one per request, across all connections. */
  paths: string[];
  seconds: number;
  connections: number;
  threads: number;
  /** Default GET. */
  method?: string;
  /** Sent with every request (e.g. Authorization). */
  headers?: Record<string, string>;
  body?: string;
}

export interface WrkResult {
  requests: number;
  duration_us: number;
  bytes: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
}

/** Throws a clear message when wrk is not on PATH. */
export function assertWrkInstalled(): void {
  const r = spawnSync('wrk', ['--version'], { stdio: 'ignore' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('wrk is not installed (apt-get install -y wrk, or `make bench`, which installs it)');
  }
}

const MARKER = 'WRK_RESULT ';

// Requests are formatted once in init() (after wrk has set the Host header),
// so the per-request Lua cost in wrk is an index and a return.
function luaScript(paths: string[], method = 'GET', headers: Record<string, string> = {}, body?: string): string {
  const list = paths.map((p) => JSON.stringify(p)).join(',\n');
  const hdrs = Object.entries(headers).map(([k, v]) => `[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join(', ');
  return `
local paths = {
${list}
}
local method = ${JSON.stringify(method)}
local headers = { ${hdrs} }
local body = ${body === undefined ? 'nil' : JSON.stringify(body)}
local reqs = {}
local n = #paths
local i = 0

function init(args)
  for k = 1, n do reqs[k] = wrk.format(method, paths[k], headers, body) end
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${MARKER}{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
`;
}

export async function runWrk(opts: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-wrk-'));
  const script = join(dir, 'rotate.lua');
  writeFileSync(script, luaScript(opts.paths, opts.method, opts.headers, opts.body));
  const args = [
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${Math.max(1, Math.round(opts.seconds))}s`,
    '--timeout', '5s',
    '-s', script,
    opts.baseUrl,
  ];
  try {
    const { code, stdout, stderr } = await run('wrk', args);
    const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
    if (code !== 0 || line === undefined) {
      throw new Error(`wrk ${args.join(' ')} exited ${code}:\n${stdout}${stderr}`);
    }
    return JSON.parse(line.slice(MARKER.length)) as WrkResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
