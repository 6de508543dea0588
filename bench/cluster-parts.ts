// The cluster's building blocks against a real nats-server on loopback (not
// yet whole daemons: that is bench/cluster, still to come):
//  1. event latency across nodes: three publishers on their own connections
//     at CLUSTER_EVENTS_PER_S each, one reader on a fourth; latency is the
//     reader's clock minus the event's `ts` (set when publish() is called);
//  2. a forwarded host command: request/reply to the owner and back, versus
//     running it locally; CPU per command of this process (both ends) and of
//     nats-server;
//  3. ownership: three node processes (harness/cluster-node) share 256
//     partitions with lease_ttl_s 10 (the defaults); CPU of an idle node
//     holding ~85 leases, then SIGKILL one and time until the other two own
//     every partition.
// Needs nats-server (apt-get install -y nats-server).
// Run: node dist/bench/cluster-parts.js  (after a build)
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CommandForwarder } from '../src/cluster/forward.js';
import { openEventStream } from '../src/cluster/event-stream.js';
import { NATS_SERVER, startNats, type NatsServer } from '../harness/nats.js';
import { until } from '../harness/daemon.js';
import { spawnClusterNode, type ClusterNodeProc } from '../harness/cluster-node-proc.js';
import { envNumber } from './lib/bench-env.js';
import { processCpuMicros } from './lib/proc-cpu.js';

const EVENTS_PER_S = envNumber('CLUSTER_EVENTS_PER_S', 1000);
const EVENT_SECONDS = envNumber('CLUSTER_EVENT_SECONDS', 5);
const COMMANDS = Math.round(envNumber('CLUSTER_COMMANDS', 2000));
const PARTITIONS = 256;
const TTL_S = 10;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function eventLatency(nats: NatsServer): Promise<void> {
  const ncs = await Promise.all([0, 1, 2, 3].map(() => connect({ servers: nats.url })));
  const streams = await Promise.all(ncs.map((nc) => openEventStream(nc)));
  const reader = await streams[3].read();
  const total = 3 * EVENTS_PER_S * EVENT_SECONDS;
  const latencies: number[] = [];
  const reading = (async () => {
    for await (const item of reader) {
      if (item.kind !== 'event') throw new Error(`reader: ${JSON.stringify(item)}`);
      latencies.push(Date.now() - Date.parse(item.event.ts));
      if (latencies.length >= total) break;
    }
  })();
  const publishers = [0, 1, 2].map((i) => streams[i].publisher(`node-${i}`, 'bench'));
  // Each publisher sends its share every 10 ms, as a busy node's events would come.
  const perTick = Math.max(1, Math.round(EVENTS_PER_S / 100));
  const serverBefore = processCpuMicros(nats.pid());
  const before = cpu();
  for (let tick = 0; tick < EVENT_SECONDS * 100; tick++) {
    for (const p of publishers) for (let k = 0; k < perTick; k++) void p.publish({ type: 'HostConnected', host: `h${tick}-${k}` });
    await new Promise((r) => setTimeout(r, 10));
  }
  await reading;
  const cpuUs = cpu() - before;
  const serverUs = processCpuMicros(nats.pid()) - serverBefore;
  reader.stop();
  const s = latencies.sort((a, b) => a - b);
  console.log(
    `events across nodes: ${s.length} events (3 × ${EVENTS_PER_S}/s for ${EVENT_SECONDS} s), latency p50 ${pct(s, 50)} ms, p99 ${pct(s, 99)} ms, max ${s[s.length - 1]} ms; ` +
      `CPU per event: publishers + reader ${(cpuUs / s.length).toFixed(1)} µs, nats-server ${(serverUs / s.length).toFixed(1)} µs`,
  );
  for (const nc of ncs) await nc.close();
}

async function forwarding(nats: NatsServer): Promise<void> {
  const [ncA, ncB] = await Promise.all([connect({ servers: nats.url }), connect({ servers: nats.url })]);
  const handle = async () => ({ status: 202, body: { job_id: 'j' } });
  const a = new CommandForwarder(ncA, { nodeId: 'a', partitions: PARTITIONS, owns: () => false, handle });
  const b = new CommandForwarder(ncB, { nodeId: 'b', partitions: PARTITIONS, owns: () => true, handle });
  for (let p = 0; p < PARTITIONS; p++) b.serve(p);
  await ncB.flush();
  const run = async (f: CommandForwarder) => {
    const times: number[] = [];
    const serverBefore = processCpuMicros(nats.pid());
    const before = cpu();
    for (let i = 0; i < COMMANDS; i++) {
      const t0 = process.hrtime.bigint();
      await f.send({ host: `host-${i}`, command: 'update', body: { dry_run: true } });
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    return { times: times.sort((x, y) => x - y), cpuUs: (cpu() - before) / COMMANDS, serverUs: (processCpuMicros(nats.pid()) - serverBefore) / COMMANDS };
  };
  await run(a); // warm-up
  const local = await run(b);
  const remote = await run(a);
  console.log(
    `forwarded command (${COMMANDS} sequential): p50 ${pct(remote.times, 50).toFixed(0)} µs, p99 ${pct(remote.times, 99).toFixed(0)} µs ` +
      `(local p50 ${pct(local.times, 50).toFixed(1)} µs); CPU per forwarded command: both nodes ${remote.cpuUs.toFixed(0)} µs, nats-server ${remote.serverUs.toFixed(0)} µs`,
  );
  a.close();
  b.close();
  await ncA.close();
  await ncB.close();
}

const covered = (nodes: ClusterNodeProc[]) => {
  const all = new Set<number>();
  let count = 0;
  for (const n of nodes) for (const p of n.owned) {
    all.add(p);
    count++;
  }
  return all.size === PARTITIONS && count === PARTITIONS;
};

async function ownership(nats: NatsServer): Promise<void> {
  const nodes = ['n1', 'n2', 'n3'].map((id) => spawnClusterNode(nats.url, id, PARTITIONS, TTL_S));
  try {
    const started = Date.now();
    await until(() => covered(nodes) && nodes.every((n) => n.owned.length >= 85), 60_000);
    const settle = Date.now() - started;
    const idleS = 15;
    const pid = nodes[0].proc.pid!;
    const held = nodes[0].owned.length;
    const before = processCpuMicros(pid);
    const serverBefore = processCpuMicros(nats.pid());
    await new Promise((r) => setTimeout(r, idleS * 1000));
    const nodeCpu = (processCpuMicros(pid) - before) / idleS / 1000;
    const serverCpu = (processCpuMicros(nats.pid()) - serverBefore) / idleS / 1000;
    const victim = nodes[1];
    const killedAt = Date.now();
    victim.proc.kill('SIGKILL');
    const survivors = nodes.filter((n) => n !== victim);
    await until(() => covered(survivors), (TTL_S + 20) * 1000, 20);
    const takeover = Date.now() - killedAt;
    console.log(
      `ownership (3 node processes, ${PARTITIONS} partitions, lease_ttl_s ${TTL_S}): even spread ${settle} ms after start; ` +
        `idle node holding ${held} leases: ${nodeCpu.toFixed(1)} ms CPU/s, nats-server ${serverCpu.toFixed(1)} ms CPU/s (3 nodes); ` +
        `SIGKILL → every partition owned again in ${takeover} ms (goal < lease_ttl_s + 5 s = ${(TTL_S + 5) * 1000} ms)`,
    );
  } finally {
    for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  if (!NATS_SERVER) {
    console.error('cluster-parts: nats-server is not installed (apt-get install -y nats-server)');
    process.exit(2);
  }
  console.log(`cluster-parts: node ${process.version}, nats-server on loopback`);
  const nats = await startNats();
  try {
    await eventLatency(nats);
    await forwarding(nats);
    await ownership(nats);
  } finally {
    await nats.stop();
  }
}

await main();
