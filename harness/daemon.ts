// Starts the built daemon (dist/src/main.js) as a child process with a temp
// config on a free port, and gives tests an HTTP client, its log lines and a
// way to stop it and read its exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled into dist/harness (benchmarks import it), '../' is dist/.
const HELPERS_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const ROOT = HELPERS_ROOT.endsWith('/dist/') ? HELPERS_ROOT.slice(0, -'dist/'.length) : HELPERS_ROOT;
export const MAIN = join(ROOT, 'dist/src/main.js');

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export interface Daemon {
  port: number;
  url: string;
  dir: string;
  configFile: string;
  proc: ChildProcess;
  logs: LogLine[];
  stderr: string[];
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers; text: string }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers; text: string }>;
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** TOML appended after the [daemon] table (hosts, groups, …). */
  toml?: string;
  /** Extra keys inside [daemon]. */
  daemon?: string;
  workers?: number;
  env?: Record<string, string>;
  /** Reuse a state dir (restart tests). */
  dir?: string;
  logLevel?: string;
  scheme?: 'http' | 'https';
}

/** This machine as a host, without auto reboot (tests never reboot it). */
export const LOCALHOST_TOML = `[[host]]
name = "localhost"
addr = "localhost"
[host.policy]
auto_reboot = false
`;

/** The `[daemon]` table every test daemon starts with: a free port, a temp state dir. */
export function daemonTable(o: { stateDir: string; workers?: number; logLevel?: string; extra?: string }): string {
  return `[daemon]
bind = "127.0.0.1:0"
log_level = "${o.logLevel ?? 'info'}"
workers = ${o.workers ?? 2}
state_dir = "${o.stateDir}"
${o.extra ?? ''}
`;
}

export function writeConfig(opts: StartOptions = {}): { dir: string; file: string } {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tendhost-test-'));
  const file = join(dir, 'tendhost.toml');
  writeFileSync(
    file,
    `${daemonTable({ stateDir: join(dir, 'state'), workers: opts.workers, logLevel: opts.logLevel, extra: opts.daemon })}
${opts.toml ?? ''}
`,
  );
  return { dir, file };
}

/** Extra node flags for the daemon, e.g. DAEMON_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile a benchmark run. */
const NODE_ARGS = (process.env.DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** A command the daemon runs under, e.g. DAEMON_WRAPPER="valgrind --tool=callgrind" to count its instructions. */
const WRAPPER = (process.env.DAEMON_WRAPPER ?? '').split(' ').filter(Boolean);

/** Spawn the daemon on a given config file; resolves once it logs "listening". */
export function spawnDaemon(file: string, dir: string, opts: StartOptions = {}): Promise<Daemon> {
  const [command, ...args] = [...WRAPPER, process.execPath, ...NODE_ARGS, MAIN];
  const proc = spawn(command!, args, {
    env: { ...process.env, TENDHOST_CONFIG: file, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let buf = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const l = JSON.parse(line) as LogLine;
        logs.push(l);
        for (const w of waiters) if (w.pred(l)) {
          waiters.delete(w);
          w.resolve(l);
        }
      } catch {
        stderr.push(`stdout: ${line}`);
      }
    }
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => stderr.push(c));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 30_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const found = logs.find(pred);
      if (found) return resolve(found);
      const w = { pred, resolve };
      waiters.add(w);
      const t = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`timed out waiting for a log line; stderr: ${stderr.join('')}; last logs: ${JSON.stringify(logs.slice(-5))}`));
      }, timeoutMs);
      t.unref();
      exited.then((code) => {
        if (waiters.has(w)) {
          waiters.delete(w);
          clearTimeout(t);
          reject(new Error(`daemon exited (${code}) before the log line; stderr: ${stderr.join('')}`));
        }
      });
    });

  return waitForLog((l) => l.msg === 'listening', 60_000).then((l) => {
    const port = l.port as number;
    const url = `${opts.scheme ?? 'http'}://127.0.0.1:${port}`;
    const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
          (init.headers as Record<string, string>)['content-type'] = 'application/json';
        }
      }
      const res = await fetch(url + path, init);
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      return { status: res.status, body: parsed as any, headers: res.headers, text };
    };
    return {
      port,
      url,
      dir,
      configFile: file,
      proc,
      logs,
      stderr,
      request,
      get: (path: string, headers?: Record<string, string>) => request('GET', path, undefined, headers),
      waitForLog,
      exited,
      async stop(signal: NodeJS.Signals = 'SIGTERM') {
        if (proc.exitCode !== null) return proc.exitCode;
        proc.kill(signal);
        const t = setTimeout(() => proc.kill('SIGKILL'), WRAPPER.length > 0 ? 300_000 : 20_000);
        const code = await exited;
        clearTimeout(t);
        return code;
      },
    };
  });
}

export async function startDaemon(opts: StartOptions = {}): Promise<Daemon> {
  const { dir, file } = writeConfig(opts);
  return spawnDaemon(file, dir, opts);
}

/** Run the daemon on a config that must fail; returns exit code and stderr + stdout. */
export function runToExit(file: string, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [MAIN], { env: { ...process.env, TENDHOST_CONFIG: file, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (c) => (output += c));
    proc.stderr.on('data', (c) => (output += c));
    const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, output });
    });
  });
}

/** Poll until fn returns a truthy value (or time out). */
type Falsy = null | undefined | false | 0 | '';
export async function until<T>(fn: () => T | Promise<T>, timeoutMs = 30_000, stepMs = 50): Promise<Exclude<T, Falsy>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as Exclude<T, Falsy>;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * A job with every per-host result gathered from its pages
 * (GET /jobs/{id}/hosts): for tests that look at hosts one by one.
 */
export async function jobWithHosts(d: Pick<Daemon, 'get'>, id: string): Promise<any> {
  const job = await d.get(`/jobs/${id}`);
  if (job.status !== 200) throw new Error(`GET /jobs/${id}: ${job.status} ${job.text}`);
  const hosts: any[] = [];
  for (let page = 1; ; page++) {
    const r = await d.get(`/jobs/${id}/hosts?page=${page}&per_page=200`);
    if (r.status !== 200) throw new Error(`GET /jobs/${id}/hosts?page=${page}: ${r.status} ${r.text}`);
    hosts.push(...r.body.data);
    if (page >= r.body.pagination.total_pages) break;
  }
  return { ...job.body, hosts };
}

const JOB_ENDED = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/** The job once it has ended, as `d` reads it (bounded). */
export function jobEnded(d: Pick<Daemon, 'get'>, id: string, timeoutMs: number): Promise<any> {
  return until(async () => {
    const r = await d.get(`/jobs/${id}`);
    return r.status === 200 && JOB_ENDED.includes(r.body.state) ? r.body : null;
  }, timeoutMs, 250);
}

/** Hosts a job's summary has an outcome for: equals `total` once every selected host is accounted for. */
export const accountedFor = (s: Record<string, number>): number => s.completed + s.failed + s.unreachable + s.skipped;
