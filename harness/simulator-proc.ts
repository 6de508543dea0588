// The fleet simulator as child processes for benchmarks: started once, its
// fleet written as a tendhost.toml fragment, its control API at hand. A fleet
// bigger than one process may hold (one listener per host, and a process gets
// `ulimit -Hn` descriptors) is spread over several processes, each serving a
// slice of the hosts on its own addresses (harness/simulator-slices.ts).
//
// They run at the same nice level as the daemon's worker threads
// ([daemon] worker_nice, default 10): they stand in for thousands of remote
// machines, so they compete with the daemon's bulk SSH work on equal terms
// and, like real remote hosts, not with the daemon's front thread.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOSTS_PER_PROCESS, controlAll, fleetSlices, type Slice } from './simulator-slices.js';

export const SIMULATOR_NICE = 10;

// Benchmarks run compiled (dist/harness/), beside dist/harness/simulator/.
const SIMULATOR_MAIN = fileURLToPath(new URL('./simulator/main.js', import.meta.url));

export interface SimulatorProc {
  /** The first process (the only one for fleets up to HOSTS_PER_PROCESS hosts). */
  proc: ChildProcess;
  procs: ChildProcess[];
  /** The fleet as a tendhost.toml fragment ([[host]] tables), every process's hosts in order. */
  toml: string;
  /** The first process's control URL; `json()` speaks to all of them. */
  control: string;
  controls: string[];
  /** GET (or POST with a body) on the control API of the whole fleet. */
  json(path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

export interface SimulatorProcOptions {
  hosts: number;
  dir: string;
  baseAddr?: string;
  durationS?: number;
  extraArgs?: string[];
  /** Processes to spread the fleet over (default SIM_PROCS, else one per HOSTS_PER_PROCESS hosts). */
  procs?: number;
}

interface Child {
  proc: ChildProcess;
  control: string;
  toml: string;
}

function startChild(o: SimulatorProcOptions, slice: Slice, k: number, nameWidth: number): Promise<Child> {
  const toml = join(o.dir, k === 0 ? 'fleet.toml' : `fleet-${k}.toml`);
  const args = [
    '-n', String(SIMULATOR_NICE),
    process.execPath, SIMULATOR_MAIN,
    '--hosts', String(slice.count),
    '--first', String(slice.first),
    '--name-width', String(nameWidth),
    '--toml-out', toml,
    '--client-key', join(o.dir, 'client_key'),
    '--duration-s', String(o.durationS ?? 1800),
    // Each slice its own seed: the same random choices in every slice would repeat one pattern.
    '--seed', String(1 + k),
    ...(o.baseAddr ? ['--base-addr', o.baseAddr] : []),
    // Faults and the like (`--fault drop=1%`), as harness/simulator/main.ts takes them.
    ...(o.extraArgs ?? []),
  ];
  const proc = spawn('nice', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      const m = /^READY (.*)$/m.exec(buf);
      if (m) resolve({ proc, toml, control: (JSON.parse(m[1]!) as { control_url: string }).control_url });
    });
    proc.once('exit', (code) => reject(new Error(`simulator ${k + 1} (hosts ${slice.first}..${slice.first + slice.count - 1}) exited (${code}) before READY`)));
  });
}

function stopChild(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

function procCount(o: SimulatorProcOptions): number {
  if (o.procs !== undefined) return o.procs;
  const env = process.env.SIM_PROCS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`SIM_PROCS must be a positive integer, got "${env}"`);
    return n;
  }
  return Math.ceil(o.hosts / HOSTS_PER_PROCESS);
}

export async function startSimulatorProc(o: SimulatorProcOptions): Promise<SimulatorProc> {
  const slices = fleetSlices(o.hosts, procCount(o));
  const nameWidth = Math.max(5, String(o.hosts).length);
  const children: Child[] = [];
  try {
    // The first one alone: it creates the client key the others then read.
    children.push(await startChild(o, slices[0]!, 0, nameWidth));
    const rest = slices.slice(1).map((s, i) => startChild(o, s, i + 1, nameWidth));
    const settled = await Promise.allSettled(rest);
    for (const r of settled) if (r.status === 'fulfilled') children.push(r.value);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await Promise.all(children.map((c) => stopChild(c.proc)));
    throw err;
  }
  // One fragment for the daemon's config: the first process's file, the others' appended.
  const toml = children[0]!.toml;
  if (children.length > 1) writeFileSync(toml, children.map((c) => readFileSync(c.toml, 'utf8')).join('\n'));
  const call = async (k: number, path: string, body?: unknown): Promise<any> => {
    const init = body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
    const res = await fetch(children[k]!.control + path, init);
    return res.json();
  };
  return {
    proc: children[0]!.proc,
    procs: children.map((c) => c.proc),
    toml,
    control: children[0]!.control,
    controls: children.map((c) => c.control),
    json: (path, body) => controlAll(slices, call, path, body),
    stop: async () => {
      await Promise.all(children.map((c) => stopChild(c.proc)));
    },
  };
}
