// Memory per host waiting for its turn in a shard: N host actors with their
// real operations (in this thread, no worker, no daemon) all start a query
// against a loopback TCP listener that accepts and never speaks SSH, with one
// session and one handshake allowed — so one host hangs in its handshake and
// the other N−1 wait. Heap after a forced GC, before and while they wait,
// gives the bytes each waiting host costs: the lever for a dry run over
// 100,000 hosts (some 46,000 per worker wait behind a session cap of 4,000).
//
//   npx tsc && node --expose-gc dist/bench/waiting-hosts.js
//   WAITING_HOSTS=5000 (the default) node --expose-gc dist/bench/waiting-hosts.js
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { HostActor } from '../workers/actor.js';
import { createHostOperations, createShardResources } from '../workers/operations.js';
import { OperationGate } from '../workers/operation-gate.js';
import type { DaemonSettingsForWorkers } from '../common/config-types.js';
import type { ResolvedHost } from '../common/schemas/host.js';
import { loadOrCreateClientKey } from '../harness/simulator/keys.js';
import { envNumber } from './lib/bench-env.js';

const HOSTS = Math.round(envNumber('WAITING_HOSTS', 5000));
/** The lever: ~6 KB per waiting host was the suspended operation; a name in a queue is a few hundred bytes. */
const GOAL_BYTES_PER_HOST = 1024;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('waiting-hosts: run with node --expose-gc');
  process.exit(2);
}

async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 200));
    gc!();
  }
  return process.memoryUsage().heapUsed;
}

const dir = mkdtempSync(join(tmpdir(), 'tendhost-bench-waiting-'));
const silent = createServer(() => {}).listen(0, '127.0.0.1');
await new Promise((r) => silent.once('listening', r));
try {
  const port = (silent.address() as AddressInfo).port;
  const key = join(dir, 'client_key');
  loadOrCreateClientKey(key);
  const settings: DaemonSettingsForWorkers = {
    state_dir: dir,
    nice: 0,
    ssh: { host_key_policy: 'accept-new', known_hosts: join(dir, 'known_hosts'), connect_timeout_ms: 600_000, idle_timeout_ms: 60_000, keepalive_ms: 15_000, max_sessions_per_worker: 1, max_handshakes_per_worker: 1, default_key: null, key_passphrase: null },
    operations: { command_timeout_ms: 600_000, lock_timeout_ms: 300_000, max_output_bytes: 8 << 20, reboot_deadline_ms: 600_000, reboot_poll_ms: 5_000, inventory_ttl_ms: 300_000 },
  };
  const resources = createShardResources(settings);
  const actors = new Map<string, HostActor>();
  // The shard's own wiring (workers/shard.ts): the gate wakes a waiting host by name.
  const gate = new OperationGate(settings.ssh.max_sessions_per_worker, (name) => actors.get(name)?.resume() ?? false);
  for (let i = 0; i < HOSTS; i++) {
    const host: ResolvedHost = {
      name: `host-${i}`, addr: '127.0.0.1', port, user: 'root', ssh_key: key, compose_paths: [], tags: [],
      policy: { auto_reboot: false, maintenance_window: null, verify_command: null }, docker: { compose_version: null, pull_before_update: true },
    };
    let actor: HostActor | null = null;
    const operations = createHostOperations(host, settings, resources, (n) => actor?.notice(n));
    actor = new HostActor(host, [], { shard: 0, emit: () => {}, operations, gate });
    actors.set(host.name, actor);
  }
  const before = await settle();
  for (const a of actors.values()) a.command({ kind: 'query' }, { job_id: 'bench', request_id: null, user: null });
  const waiting = await settle();
  const busy = [...actors.values()].filter((a) => a.busy).length;
  const perHost = (waiting - before) / (HOSTS - 1);
  console.log(`waiting-hosts: ${HOSTS} hosts, ${busy} busy (1 in its handshake, ${gate.waiting} queued at the gate, ${gate.running} running)`);
  console.log(`heap: ${(before / 1048576).toFixed(1)} MiB idle → ${(waiting / 1048576).toFixed(1)} MiB waiting: ${perHost.toFixed(0)} bytes per waiting host (goal < ${GOAL_BYTES_PER_HOST}) ${perHost < GOAL_BYTES_PER_HOST ? 'met' : 'MISSED'}`);
  if (busy !== HOSTS) {
    console.error(`waiting-hosts: ${HOSTS - busy} hosts were not waiting (their query ended early): the figure is meaningless`);
    process.exitCode = 1;
  }
  await Promise.race([resources.close(), new Promise((r) => setTimeout(r, 2000))]);
} finally {
  silent.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
