// A cluster on one machine for the end-to-end tests and bench/cluster: a real nats-server
// (JetStream, its own port and store dir), the SSH fleet simulator in this
// process, and daemon processes (dist/src/main.js) that each list a share of
// the hosts in their own config file, with small partitions and lease TTL so
// takeovers are quick. Every wait is bounded.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNats, type NatsServer } from './nats.js';
import { startSimulator, type Simulator, type SimulatorOptions } from './simulator/index.js';
import { hostToml } from './simulator/toml.js';
import { daemonTable, spawnDaemon, until, type Daemon } from './daemon.js';
import { randomBase } from './simulator/base-addr.js';

export const PARTITIONS = 16;
export const LEASE_TTL_S = 3;

/** One node's config file text: its own state dir and known_hosts in `dir`, the [cluster] table, then `hosts` ([[host]] tables). */
export function nodeToml(o: { dir: string; id: string; natsUrl: string; workers: number; hosts: string; replayBuffer?: number; partitions?: number; leaseTtlS?: number; daemon?: string; ssh?: string }): string {
  return `${daemonTable({ stateDir: join(o.dir, `state-${o.id}`), workers: o.workers, extra: o.daemon })}[daemon.ws]
replay_buffer = ${o.replayBuffer ?? 10_000}
[daemon.ssh]
host_key_policy = "accept-new"
known_hosts = "${join(o.dir, `known_hosts-${o.id}`)}"
${o.ssh ?? ''}
[daemon.operations]
reboot_poll_s = 0.2
reboot_deadline_s = 5

[cluster]
enabled = true
servers = ["${o.natsUrl}"]
node_id = "${o.id}"
partitions = ${o.partitions ?? PARTITIONS}
lease_ttl_s = ${o.leaseTtlS ?? LEASE_TTL_S}

${o.hosts}
`;
}

export interface Cluster {
  nats: NatsServer;
  sim: Simulator;
  nodes: Map<string, Daemon>;
  /** Start (or restart, same state dir) a node; `hostsOf(i)` decides which hosts its config lists. */
  start(id: string): Promise<Daemon>;
  stop(): Promise<void>;
}

/** `replayBuffer`: [daemon.ws] replay_buffer, small to make `?since=` read back from the stream. */
export async function startCluster(o: { ids: string[]; sim: SimulatorOptions; workers?: number; replayBuffer?: number }): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-cluster-'));
  const nats = await startNats();
  const sim = await startSimulator({ baseAddr: randomBase(), port: 0, rebootDownMs: 400, clientKeyPath: join(dir, 'client_ed25519'), ...o.sim });
  const nodes = new Map<string, Daemon>();
  const all: Daemon[] = [];
  const configOf = (id: string): string => {
    const i = o.ids.indexOf(id);
    // Each node lists every len-th host: the others run most of them.
    const hosts = sim.hosts.filter((_, k) => i < 0 || k % o.ids.length === i).map((h) => hostToml(h, sim.clientKeyPath));
    const file = join(dir, `${id}.toml`);
    writeFileSync(file, nodeToml({ dir, id, natsUrl: nats.url, workers: o.workers ?? 2, replayBuffer: o.replayBuffer ?? 10_000, hosts: hosts.join('\n') }));
    return file;
  };
  return {
    nats,
    sim,
    nodes,
    async start(id) {
      const d = await spawnDaemon(configOf(id), dir);
      nodes.set(id, d);
      all.push(d);
      return d;
    },
    async stop() {
      for (const d of all) await d.stop('SIGKILL');
      await sim.stop();
      await nats.stop();
    },
  };
}

/** GET /health's cluster part. */
export async function clusterHealth(d: Daemon): Promise<{ node_id: string; partitions: number[]; members: Array<{ node_id: string }>; connected: boolean; target: number }> {
  const r = await d.get('/health');
  return r.body.cluster;
}

/** Until every node holds its target and the partitions add up, each owned once. */
export async function balanced(nodes: Daemon[], timeoutMs = 30_000, partitions = PARTITIONS): Promise<Map<string, number[]>> {
  return until(async () => {
    const hs = await Promise.all(nodes.map((d) => clusterHealth(d)));
    // A node listens before it has joined (its /health has no cluster part yet).
    if (hs.some((h) => !h)) return null;
    const owned = hs.flatMap((h) => h.partitions);
    if (owned.length !== partitions || new Set(owned).size !== partitions) return null;
    if (hs.some((h) => h.members.length !== nodes.length || h.partitions.length !== h.target)) return null;
    // Targets as a balanced plan for these members has them (a node that has not planned since a join still shows the old one).
    const low = Math.floor(partitions / nodes.length);
    if (hs.some((h) => h.target !== low && h.target !== low + 1)) return null;
    return new Map(hs.map((h) => [h.node_id, h.partitions]));
  }, timeoutMs, 200);
}

export { recordEvents as watch, type WsRecorder as Watcher } from './ws-recorder.js';
