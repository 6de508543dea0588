// The fleet simulator as a child process for benchmarks: started once, its
// fleet written as a tendhost.toml fragment, its control API at hand.
//
// It runs at the same nice level as the daemon's worker threads
// ([daemon] worker_nice, default 10): it stands in for thousands of remote
// machines, so it competes with the daemon's bulk SSH work on equal terms
// and, like real remote hosts, not with the daemon's front thread.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIMULATOR_NICE = 10;

// Benchmarks run compiled (dist/harness/), beside dist/harness/simulator/.
const SIMULATOR_MAIN = fileURLToPath(new URL('./simulator/main.js', import.meta.url));

export interface SimulatorProc {
  proc: ChildProcess;
  /** The fleet as a tendhost.toml fragment ([[host]] tables). */
  toml: string;
  control: string;
  /** GET (or POST with a body) on the control API. */
  json(path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

export async function startSimulatorProc(o: { hosts: number; dir: string; baseAddr?: string; durationS?: number; extraArgs?: string[] }): Promise<SimulatorProc> {
  const toml = join(o.dir, 'fleet.toml');
  const args = [
    '-n', String(SIMULATOR_NICE),
    process.execPath, SIMULATOR_MAIN,
    '--hosts', String(o.hosts),
    '--toml-out', toml,
    '--client-key', join(o.dir, 'client_key'),
    '--duration-s', String(o.durationS ?? 1800),
    ...(o.baseAddr ? ['--base-addr', o.baseAddr] : []),
    // Faults and the like (`--fault drop=1%`), as harness/simulator/main.ts takes them.
    ...(o.extraArgs ?? []),
  ];
  const proc = spawn('nice', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<{ control_url: string }>((resolve, reject) => {
    let buf = '';
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      const m = /^READY (.*)$/m.exec(buf);
      if (m) resolve(JSON.parse(m[1]!));
    });
    proc.once('exit', (code) => reject(new Error(`simulator exited (${code}) before READY`)));
  });
  const control = ready.control_url;
  return {
    proc,
    toml,
    control,
    json: async (path, body) => {
      const res = await fetch(control + path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      return res.json();
    },
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
