// The ceiling for bench/fleet-query.ts and bench/worker-scaling.ts: a plain
// ssh2 script that does what a tendhost dry run does on each host — connect,
// authenticate, run the same commands in the same order
// (workers/pkg/commands.ts), close — with at most `--concurrency` hosts in
// flight, and nothing else: no actors, no threads, no parsing beyond counting
// the pending packages, no events.
//
//   node dist/bench/baselines/plain-ssh2-query.js --toml FLEET.toml --concurrency 128 [--shard 0/2] [--serve]
//
// --shard i/n takes every n-th host starting at i, so n processes together
// cover the fleet (the parallel control for a daemon with n workers).
//
// Prints one JSON line for the query: hosts, ok, failed, execs, pending (sum),
// wall_ms, cpu_ms (this process, user + system) and second_half_cpu_ms (from
// the moment half the hosts were done).
//
// --serve keeps the process (its JIT, its heap) for repeated queries, like a
// running daemon: each stdin line `cold` or `known` runs one query and prints
// its JSON line; `known` sends what a daemon that already knows each host
// sends (no OS/tool probes). It exits when stdin ends.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadSsh2 } from '../../workers/exec/ssh2-module.js';

import type { Client as SshClient } from 'ssh2';
import { parse } from 'smol-toml';
import { CMD } from '../../workers/pkg/commands.js';
import { manifestUrl, parseImageRef } from '../../workers/pkg/image-ref.js';
import { containerIds, parseContainerStates } from '../../workers/pkg/compose-services.js';
import { STACK_SERVICES } from '../../harness/simulator/fleet.js';

// The same ssh2 build the daemon uses on this runtime (TENDHOST_SSH2_PATCH).
const { ssh2 } = loadSsh2();

interface FleetHost {
  name: string;
  addr: string;
  port: number;
  user: string;
  ssh_key: string;
  tags: string[];
  compose_paths?: string[];
}

/** A command, or one built from the previous command's output (null: nothing to send). */
export type Step = string | ((previous: string) => string | null);

/** The image each service's first container runs, as the daemon reads it (workers/pkg/compose.ts). */
function runningImages(states: string): string[] {
  const byService = new Map<string, string>();
  for (const c of parseContainerStates(states)) if (!byService.has(c.service) && c.image) byService.set(c.service, c.image);
  return [...byService.values()];
}

/**
 * What tendhost sends on a dry run, per persona (pinned by the benchmark: it
 * compares the simulator's exec counters of both runs). The apt simulation
 * runs once: the dry run reuses the query's (workers/operations.ts).
 */
export function dryRunCommands(h: FleetHost, known = false): Step[] {
  // A daemon that has queried the host before remembers its OS and tools (workers/operations.ts).
  const probe: string[] = known ? [] : [CMD.osRelease, CMD.detectTools];
  if (h.tags.includes('fedora')) return [...probe, CMD.rpmCheckUpdate('dnf'), CMD.rpmUpgradeDryRun('dnf')];
  const apt = [...probe, CMD.aptSimulate];
  const dirs = h.compose_paths ?? [];
  if (dirs.length === 0) return apt;
  // The query and then the dry run each check every stack against the registry (one HEAD per image).
  const refs = STACK_SERVICES.map((s) => `${s.image}:${s.tag}`);
  const check: Step[] = [CMD.dockerConfig];
  dirs.forEach((dir, i) => {
    // As the daemon: the stack's containers, then the local images of its tags and of what those containers run.
    check.push(CMD.composeFind(dir), CMD.composeConfig('v2', dir), CMD.composePs('v2', dir));
    check.push((ps) => (containerIds(ps).length > 0 ? CMD.containerStates(containerIds(ps)) : null));
    check.push((states) => CMD.imageDigests([...new Set([...refs, ...runningImages(states)])]));
    if (i === 0) check.push(...refs.map((r) => CMD.registryHead(manifestUrl(parseImageRef(r)))));
  });
  return [...apt, ...check, ...check];
}

function connect(h: FleetHost, key: Buffer): Promise<SshClient> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: h.addr, port: h.port, username: h.user, privateKey: key, readyTimeout: 30_000 });
    c.setNoDelay(true); // as the daemon does (ssh-connection.ts)
  });
}

function exec(c: SshClient, command: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, ch) => {
      if (err) return reject(err);
      const out: Buffer[] = [];
      let code: number | null = null;
      ch.on('data', (d: Buffer) => out.push(d));
      ch.stderr.on('data', () => {});
      ch.on('exit', (c: number | null) => (code = c));
      ch.on('close', () => resolve({ code, stdout: Buffer.concat(out).toString('utf8') }));
    });
  });
}

/** Pending upgrades as the daemon counts them: apt `Inst` lines with a current version, dnf check-update rows. */
function countPending(command: string, stdout: string): number {
  if (command === CMD.aptSimulate) return (stdout.match(/^Inst \S+ \[/gm) ?? []).length;
  if (command === CMD.rpmCheckUpdate('dnf')) return stdout.split('\n').filter((l) => /^\S+\.\S+\s+\S+\s+\S+\s*$/.test(l)).length;
  return 0;
}

/** The JSON line printed for one query of this process's hosts. */
export interface PassResult {
  hosts: number;
  ok: number;
  failed: number;
  execs: number;
  pending: number;
  wall_ms: number;
  cpu_ms: number;
  second_half_cpu_ms: number;
  errors: Record<string, number>;
}

/** Every host once, `concurrency` in flight: connect, the dry run's commands, close. */
async function queryAll(hosts: FleetHost[], keyOf: (path: string) => Buffer, concurrency: number, known: boolean): Promise<PassResult> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  let execs = 0;
  let pending = 0;
  const errors = new Map<string, number>();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // CPU when half the hosts are done: the second half's CPU/host leaves out start-up and JIT warm-up.
  let cpuAtHalfUs = -1;
  const done = () => {
    if (cpuAtHalfUs < 0 && ok + failed >= hosts.length / 2) {
      const c = process.cpuUsage(cpu0);
      cpuAtHalfUs = c.user + c.system;
    }
  };
  const worker = async () => {
    while (next < hosts.length) {
      const h = hosts[next++];
      let c: SshClient | null = null;
      try {
        c = await connect(h, keyOf(h.ssh_key));
        let previous = '';
        for (const step of dryRunCommands(h, known)) {
          const command = typeof step === 'string' ? step : step(previous);
          if (command === null) continue;
          const r = await exec(c, command);
          execs++;
          pending += countPending(command, r.stdout);
          previous = r.stdout;
        }
        ok++;
      } catch (err) {
        failed++;
        const m = (err as Error).message;
        errors.set(m, (errors.get(m) ?? 0) + 1);
      } finally {
        c?.end();
        done();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, hosts.length) }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    hosts: hosts.length,
    ok,
    failed,
    execs,
    pending,
    wall_ms: Math.round(wallMs),
    cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    second_half_cpu_ms: Math.round((cpu.user + cpu.system - Math.max(0, cpuAtHalfUs)) / 1000),
    errors: Object.fromEntries([...errors].slice(0, 5)),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { toml: { type: 'string' }, concurrency: { type: 'string' }, shard: { type: 'string' }, serve: { type: 'boolean' } } });
  if (!values.toml) throw new Error('--toml FILE is required');
  const concurrency = Number(values.concurrency ?? 128);
  const [shard, shards] = (values.shard ?? '0/1').split('/').map(Number);
  if (!(shards >= 1 && shard >= 0 && shard < shards)) throw new Error(`--shard ${values.shard}: expected i/n with 0 <= i < n`);
  const fleet = (parse(readFileSync(values.toml, 'utf8')) as unknown as { host: FleetHost[] }).host;
  const hosts = fleet.filter((_, i) => i % shards === shard);
  const keys = new Map<string, Buffer>();
  const keyOf = (p: string) => keys.get(p) ?? keys.set(p, readFileSync(p)).get(p)!;
  const query = async (known: boolean) => process.stdout.write(JSON.stringify(await queryAll(hosts, keyOf, concurrency, known)) + '\n');

  if (!values.serve) {
    await query(false);
    return;
  }
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'cold' && line !== 'known') throw new Error(`--serve: expected "cold" or "known", got ${JSON.stringify(line)}`);
    await query(line === 'known');
  }
}

await main();
