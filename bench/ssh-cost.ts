// CPU cost of the SSH executor against a real OpenSSH sshd on loopback:
//  - a new connection + one exec + close (what a host pays when its
//    connection was closed idle, or on the first command),
//  - one exec on an already open connection (the reuse path).
// Client CPU is this process's (process.cpuUsage, all threads); server CPU is
// sshd's, read from the listener's /proc stat after its per-connection
// children have exited and been reaped (cutime + cstime).
//
// Needs root and openssh-server (like test/ssh-executor.test.ts).
// Run: node dist/bench/ssh-cost.js   (or through tap's TS loader:
//      node --import @tapjs/typescript/import bench/ssh-cost.ts)
// SSH_COST_N=200 sets the number of connections; execs run 5× that.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clockTicksPerSecond } from './lib/proc-cpu.js';
import { SshConnectionManager } from '../workers/exec/ssh.js';
import type { ResolvedHost } from '../common/schemas/host.js';
import { canRunSshd, keygen, publicKeyLine, startSshd } from '../harness/sshd.js';

const N = Number(process.env.SSH_COST_N ?? 200);

function sshdCpuMicros(pid: number): number {
  const rest = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime, stime, cutime, cstime are fields 14-17; rest[0] is field 3.
  const ticks = Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
  return (ticks * 1e6) / clockTicksPerSecond();
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function main(): Promise<void> {
  const skip = canRunSshd();
  if (skip) {
    console.error(`ssh-cost: ${skip}`);
    process.exit(2);
  }
  const sshd = await startSshd();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-ssh-cost-'));
  const key = keygen(path.join(tmp, 'id'));
  sshd.authorize('root', publicKeyLine(key));
  const manager = new SshConnectionManager({
    host_key_policy: 'accept-new',
    known_hosts: path.join(tmp, 'known_hosts'),
    connect_timeout_ms: 10_000,
    idle_timeout_ms: 60_000,
    keepalive_ms: 30_000,
    max_sessions_per_worker: 100,
    max_handshakes_per_worker: 8,
    default_key: null,
    key_passphrase: null,
  });
  const host = (name: string): ResolvedHost => ({
    name,
    addr: '127.0.0.1',
    port: sshd.port,
    user: 'root',
    ssh_key: key,
    compose_paths: [],
    tags: [],
    policy: { auto_reboot: false, maintenance_window: null },
    docker: { compose_version: null, pull_before_update: false },
  });
  const opts = { timeoutMs: 10_000 };
  const settle = () => new Promise((r) => setTimeout(r, 300)); // let sshd reap its children

  // Warm-up: JIT, key cache, known_hosts entry.
  for (let i = 0; i < 20; i++) {
    const ex = manager.executorFor(host(`warm-${i}`));
    await ex.run('true', opts);
    await ex.close();
  }
  await settle();

  // New connection + exec + close, sequentially.
  let c0 = cpuMicros();
  let s0 = sshdCpuMicros(sshd.pid());
  let t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const ex = manager.executorFor(host(`new-${i}`));
    await ex.run('true', opts);
    await ex.close();
  }
  const newWall = (performance.now() - t0) / N;
  const newClient = (cpuMicros() - c0) / N;
  await settle();
  const newServer = (sshdCpuMicros(sshd.pid()) - s0) / N;

  // Exec on one open connection.
  const M = N * 5;
  const ex = manager.executorFor(host('reused'));
  await ex.run('true', opts);
  c0 = cpuMicros();
  s0 = sshdCpuMicros(sshd.pid());
  t0 = performance.now();
  for (let i = 0; i < M; i++) await ex.run('true', opts);
  const reusedWall = (performance.now() - t0) / M;
  const reusedClient = (cpuMicros() - c0) / M;
  await ex.close();
  await settle();
  const reusedServer = (sshdCpuMicros(sshd.pid()) - s0) / M;

  await manager.close();
  await sshd.stop();
  fs.rmSync(tmp, { recursive: true, force: true });

  const r = (us: number) => Math.round(us) / 1000;
  console.log(
    JSON.stringify(
      {
        benchmark: 'ssh-cost',
        node: process.version,
        connections: N,
        execs_reused: M,
        new_connection_exec: { client_cpu_ms: r(newClient), sshd_cpu_ms: r(newServer), wall_ms: r(newWall * 1000) },
        reused_connection_exec: { client_cpu_ms: r(reusedClient), sshd_cpu_ms: r(reusedServer), wall_ms: r(reusedWall * 1000) },
        client_ratio_new_over_reused: Math.round((newClient / reusedClient) * 10) / 10,
      },
      null,
      2,
    ),
  );
}

await main();
