// Starts a server as a child process, finds the port it bound (it listens on
// port 0), and stops it. The child is a separate process so /proc can charge
// it — and only it — for the CPU the benchmark drives.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ServerSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** How long startup may take before the server counts as failed. */
  startTimeoutMs: number;
}

export interface ServerProcess {
  name: string;
  pid: number;
  port: number;
  /** The last few KB of stdout+stderr, for error messages. */
  outputTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent. Resolves with how it ended. */
  stop(graceMs?: number): Promise<string>;
}

const TAIL_CHARS = 8192;

export function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const child = spawn(spec.command, spec.args, {
    env: spec.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let pending = '';
  let announcedPort: number | undefined;
  let exited: string | undefined;
  const keep = (text: string): void => {
    tail = (tail + text).slice(-TAIL_CHARS);
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    keep(chunk);
    // Logs are JSON lines (pino); the one with "msg":"listening" carries the bound port.
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (announcedPort === undefined && line.includes('"listening"')) announcedPort = portOfLine(line);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', keep);
  const exitPromise = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve(exited);
    });
    child.on('error', (err) => {
      exited = `spawn error: ${err.message}`;
      resolve(exited);
    });
  });

  const handle = (port: number): ServerProcess => ({
    name: spec.name,
    pid: child.pid!,
    port,
    outputTail: () => tail,
    stop: (graceMs = 10_000) => stopChild(child, exitPromise, () => exited, graceMs),
  });

  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (exited !== undefined) {
        clearInterval(timer);
        reject(new Error(`${spec.name} ended before listening (${exited}):\n${tail}`));
        return;
      }
      let port = announcedPort;
      if (port === undefined && child.pid !== undefined) {
        // Fallback for a server whose log level hides the "listening" line:
        // its one listening TCP socket, found through /proc.
        const ports = listeningPorts(child.pid);
        if (ports.length === 1) port = ports[0];
      }
      if (port !== undefined) {
        clearInterval(timer);
        resolve(handle(port));
      } else if (Date.now() - started > spec.startTimeoutMs) {
        clearInterval(timer);
        child.kill('SIGKILL');
        reject(new Error(`${spec.name} did not listen within ${spec.startTimeoutMs} ms:\n${tail}`));
      }
    }, 100);
  });
}

function portOfLine(line: string): number | undefined {
  try {
    const rec = JSON.parse(line) as { msg?: unknown; port?: unknown };
    if (rec.msg === 'listening' && typeof rec.port === 'number') return rec.port;
  } catch {
    // not a JSON line
  }
  return undefined;
}

async function stopChild(
  child: ChildProcess,
  exitPromise: Promise<string>,
  exited: () => string | undefined,
  graceMs: number,
): Promise<string> {
  if (exited() === undefined) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (exited() === undefined) child.kill('SIGKILL');
  }, graceMs);
  try {
    return await exitPromise;
  } finally {
    clearTimeout(timer);
  }
}

/** TCP ports in LISTEN state whose socket is one of the process's open fds. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // fd closed while we looked
      }
    }
  } catch {
    return [];
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      // cols: sl local_address rem_address st ... inode(9)
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9])) {
        ports.add(Number.parseInt(cols[1].split(':')[1], 16));
      }
    }
  }
  return [...ports];
}
