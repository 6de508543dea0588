// For the store/recovery/reload/metrics tests: the fleet simulator in-process
// on a random 127.x base address, and the built daemon on a config file of its
// own that can be rewritten and reused across restarts (same state_dir).
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator, type SimulatorOptions, type SimHost } from '../../harness/simulator/index.js';
import { hostToml } from '../../harness/simulator/toml.js';
import { randomBase } from '../../harness/simulator/base-addr.js';
import { daemonTable, jobWithHosts, spawnDaemon, until, type Daemon, type StartOptions } from '../../harness/daemon.js';

export { randomBase } from '../../harness/simulator/base-addr.js';

export interface SimSetup {
  sim: Simulator;
  dir: string;
  configFile: string;
  stateDir: string;
  auditFile: string;
  /** Rewrite the config file: hosts chosen by `include`, extra TOML appended. */
  writeConfig(opts?: ConfigOptions): void;
  /** Start (or restart) the daemon on the current config file and state dir. */
  start(opts?: StartOptions): Promise<Daemon>;
  stop(): Promise<void>;
}

export interface ConfigOptions {
  /** Hosts written to the file (default: every simulated host). */
  include?: (h: SimHost) => boolean;
  /** Replace a host's table (e.g. other tags). */
  hostToml?: (h: SimHost, key: string) => string;
  /** Extra lines inside [daemon] (after the ones written here). */
  daemon?: string;
  /** Extra lines inside [daemon.operations]. */
  operations?: string;
  /** TOML after the hosts (groups, …). */
  toml?: string;
  workers?: number;
}

export async function startSimSetup(simOpts: SimulatorOptions, first: ConfigOptions = {}): Promise<SimSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-rec-'));
  const sim = await startSimulator({ baseAddr: randomBase(), port: 0, rebootDownMs: 400, clientKeyPath: join(dir, 'client_ed25519'), ...simOpts });
  const stateDir = join(dir, 'state');
  const configFile = join(dir, 'tendhost.toml');
  const auditFile = join(dir, 'audit.log');
  const daemons: Daemon[] = [];
  const writeConfig = (o: ConfigOptions = first) => {
    const hosts = sim.hosts
      .filter((h) => (o.include ? o.include(h) : true))
      .map((h) => (o.hostToml ? o.hostToml(h, sim.clientKeyPath) : hostToml(h, sim.clientKeyPath)))
      .join('\n');
    writeFileSync(
      configFile,
      `${daemonTable({ stateDir, workers: o.workers, extra: o.daemon })}[daemon.ssh]
host_key_policy = "accept-new"
known_hosts = "${join(dir, 'known_hosts')}"
[daemon.operations]
reboot_poll_s = 0.2
reboot_deadline_s = 5
${o.operations ?? ''}

[audit]
enabled = true
file = "${auditFile}"

${hosts}
${o.toml ?? ''}
`,
    );
  };
  writeConfig(first);
  return {
    sim,
    dir,
    configFile,
    stateDir,
    auditFile,
    writeConfig,
    async start(opts: StartOptions = {}) {
      const d = await spawnDaemon(configFile, dir, opts);
      daemons.push(d);
      return d;
    },
    async stop() {
      for (const d of daemons) await d.stop('SIGKILL');
      await sim.stop();
    },
  };
}

/** Audit lines written so far (JSON objects). */
export function auditLines(file: string): any[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** A job (with its per-host results) once `pred` holds for the job's summary. */
export async function waitForJob(d: Daemon, id: string, pred: (job: any) => boolean, timeoutMs = 30_000): Promise<any> {
  await until(
    async () => {
      const r = await d.get(`/jobs/${id}`);
      return r.status === 200 && pred(r.body);
    },
    timeoutMs,
    50,
  );
  return jobWithHosts(d, id);
}

export function countHosts(job: any, state: string): number {
  return job.summary[state];
}

export { recordEvents as watchEvents, type WsRecorder } from '../../harness/ws-recorder.js';

/** Every host's status by name (all pages). */
export async function allHosts(d: Daemon, query = ''): Promise<Map<string, any>> {
  const out = new Map<string, any>();
  for (let page = 1; ; page++) {
    const r = await d.get(`/hosts?per_page=200&page=${page}${query ? `&${query}` : ''}`);
    if (r.status !== 200) throw new Error(`GET /hosts: ${r.status} ${r.text}`);
    for (const h of r.body.data) out.set(h.name, h);
    if (page >= r.body.pagination.total_pages) return out;
  }
}
