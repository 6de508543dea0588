// Partition ownership against a real nats-server: nodes in this process and
// in processes of their own (so one can be SIGKILLed). Every partition is
// owned by exactly one node, as the nodes themselves believe it (sampled all
// along, never two at once) and as the leases bucket has it.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { PartitionOwnership, type OwnershipHooks } from '../src/cluster/ownership.js';
import { LEASES_BUCKET, MEMBERS_BUCKET, openTtlBucket } from '../src/cluster/buckets.js';
import { Leases, UNREADABLE_OWNER } from '../src/cluster/leases.js';
import { Membership } from '../src/cluster/membership.js';
import { skipWithoutNats, startNats, type NatsServer } from '../harness/nats.js';
import { until } from '../harness/daemon.js';
import { spawnClusterNode } from '../harness/cluster-node-proc.js';

const PARTITIONS = 32;
const TTL_S = 3;

interface Node {
  id: string;
  own: PartitionOwnership;
  nc: NatsConnection;
  busy: Set<number>;
  events: string[];
}

async function startNode(nats: NatsServer, id: string, busy = new Set<number>()): Promise<Node> {
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const events: string[] = [];
  const hooks: OwnershipHooks = {
    isBusy: (p) => busy.has(p),
    acquired: (p) => void events.push(`acquired ${p}`),
    releasing: (p) => void events.push(`releasing ${p}`),
    lost: (p, reason) => void events.push(`lost ${p} ${reason}`),
    fatal: (err) => void events.push(`fatal ${err.message}`),
  };
  const own = await PartitionOwnership.start(nc, { nodeId: id, partitions: PARTITIONS, ttlMs: TTL_S * 1000 }, hooks);
  return { id, own, nc, busy, events };
}

async function stopNode(n: Node, handBack = true): Promise<void> {
  await n.own.stop({ handBack });
  await n.nc.close();
}

/** Owned sets of these nodes: null unless they cover every partition exactly once. */
function partitionOwners(sets: Array<{ id: string; owned: number[] }>): Map<number, string> | null {
  const out = new Map<number, string>();
  for (const s of sets) for (const p of s.owned) {
    if (out.has(p)) return null;
    out.set(p, s.id);
  }
  return out.size === PARTITIONS ? out : null;
}

/** Sample the in-process nodes every 20 ms; any partition two of them believe they own is a failure. */
function watchOverlap(t: Test, nodes: () => Node[]): () => void {
  let overlaps = 0;
  const timer = setInterval(() => {
    const seen = new Map<number, string>();
    for (const n of nodes()) for (const p of n.own.owned()) {
      if (seen.has(p)) overlaps++;
      seen.set(p, n.id);
    }
  }, 20);
  return () => {
    clearInterval(timer);
    t.equal(overlaps, 0, 'no two nodes ever believed they owned the same partition');
  };
}

async function leaseOwners(nc: NatsConnection): Promise<Map<number, string>> {
  const kv = await new Kvm(nc).open(LEASES_BUCKET);
  const out = new Map<number, string>();
  for (let p = 0; p < PARTITIONS; p++) {
    const e = await kv.get(`p.${p}`);
    if (e && e.operation === 'PUT') out.set(p, e.json<{ node_id: string }>().node_id);
  }
  return out;
}

const counts = (owners: Map<number, string>) => {
  const c: Record<string, number> = {};
  for (const n of owners.values()) c[n] = (c[n] ?? 0) + 1;
  return c;
};

t.test('a released lease stops counting as ours at once, before the watch reports its delete', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const leases = new Leases(await openTtlBucket(nc, LEASES_BUCKET, TTL_S * 1000), { nodeId: 'x', instance: 'i1', ttlMs: TTL_S * 1000 });
  await leases.watch();
  t.ok(await leases.acquire(5), 'partition 5 taken');
  await until(() => leases.lastOwner(5) === 'x', 5_000);
  // A watch that lags (a loaded machine): the delete below is never delivered.
  leases.stopWatching();
  await leases.release(5);
  t.notOk(leases.owners().has(5), 'owners() no longer lists it as ours');
  t.equal(leases.ownerOf(5), null, 'nor does ownerOf()');
  t.same(leases.heldPartitions(), []);
});

t.test('a lease or heartbeat value no node wrote: the watches go on past it', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const leaseKv = await openTtlBucket(nc, LEASES_BUCKET, TTL_S * 1000);
  const memberKv = await openTtlBucket(nc, MEMBERS_BUCKET, TTL_S * 1000);
  const leases = new Leases(leaseKv, { nodeId: 'x', instance: 'i1', ttlMs: TTL_S * 1000 });
  await leases.watch();
  const m = new Membership(memberKv, { nodeId: 'm', instance: 'i1', ttlMs: TTL_S * 1000 });
  await m.join();
  t.teardown(() => m.leave().catch(() => undefined));
  await leaseKv.put('p.3', 'not json');
  await memberKv.put('n.junk', JSON.stringify({ node_id: 7 }));
  t.ok(await leases.acquire(5), 'partition 5 taken after the bad value');
  const k = new Membership(memberKv, { nodeId: 'k', instance: 'i1', ttlMs: TTL_S * 1000 });
  await k.join();
  t.teardown(() => k.leave().catch(() => undefined));
  await until(() => leases.lastOwner(5) === 'x' && m.live().includes('k'), 5_000);
  t.equal(leases.lastOwner(3), UNREADABLE_OWNER, 'the bad lease holds its partition, owner unknown');
  t.same(m.live(), ['k', 'm'], 'the bad heartbeat is no member; k, written after it, is');
  // Garbage over m's own heartbeat: no other instance wrote it, so m writes over it and stays a member.
  await memberKv.put('n.m', 'not json');
  await m.heartbeat();
  await until(() => m.members().some((i) => i.node_id === 'm' && i.instance === 'i1'), 5_000);
  t.pass('m renewed its heartbeat over the unreadable value');
  await leases.release(5);
});

t.test('in-process nodes', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const nodes: Node[] = [];
  t.teardown(async () => {
    for (const n of nodes) await stopNode(n, false).catch(() => undefined);
  });
  const noOverlap = watchOverlap(t, () => nodes);

  await t.test('three nodes split the partitions evenly, one owner each', async (t) => {
    nodes.push(...(await Promise.all(['a', 'b', 'c'].map((id) => startNode(nats, id)))));
    const owners = await until(() => {
      const o = partitionOwners(nodes.map((n) => ({ id: n.id, owned: n.own.owned() })));
      return o && Object.values(counts(o)).every((c) => c >= 10 && c <= 11) ? o : null;
    }, 15_000);
    t.same(counts(owners), { a: 11, b: 11, c: 10 });
    t.same(await leaseOwners(nodes[0].nc), owners, 'the leases bucket agrees with what the nodes believe');
    t.same(nodes[0].own.live(), ['a', 'b', 'c'], 'every node sees the three');
    const ofA = [...owners].filter(([, n]) => n === 'a').map(([p]) => p).sort((x, y) => x - y);
    t.same(nodes[0].own.status().partitions, ofA, 'status() lists the partitions a holds');
    for (const n of nodes) {
      const all = n.own.owners();
      const one = Array.from({ length: PARTITIONS }, (_, p) => n.own.ownerOf(p));
      t.same(one, Array.from({ length: PARTITIONS }, (_, p) => all.get(p) ?? null), `${n.id}: ownerOf(p) says what owners() does, partition by partition`);
    }
  });

  await t.test('a fourth node joins: it takes its share, a busy partition stays until idle', async (t) => {
    const a = nodes[0];
    a.events.length = 0;
    const before = a.own.owned();
    // Every partition of a is busy: d must take its share from b and c only.
    for (const p of before) a.busy.add(p);
    const d = await startNode(nats, 'd');
    nodes.push(d);
    const settled = await until(() => {
      const o = partitionOwners(nodes.map((n) => ({ id: n.id, owned: n.own.owned() })));
      return o && counts(o).d === 5 ? o : null;
    }, 15_000).catch(() => null);
    // b and c (11 and 10, targets 8 each) hand back 3 and 2: d has 5 while a's partitions are busy.
    const now = partitionOwners(nodes.map((n) => ({ id: n.id, owned: n.own.owned() })));
    t.ok(settled, `d took what b and c could give (${JSON.stringify(now && counts(now))})`);
    t.same(a.own.owned(), before, 'a kept every busy partition');
    t.notOk(a.events.some((e) => e.startsWith('releasing')), 'a handed nothing over');
    a.busy.clear();
    const even = await until(() => {
      const o = partitionOwners(nodes.map((n) => ({ id: n.id, owned: n.own.owned() })));
      return o && Object.values(counts(o)).every((c) => c === 8) ? o : null;
    }, 15_000);
    t.same(counts(even), { a: 8, b: 8, c: 8, d: 8 }, 'once idle, a hands over and the spread is even');
    const released = a.events.filter((e) => e.startsWith('releasing'));
    t.equal(released.length, 3, 'a handed over three, each through its releasing hook');
    if (released.length !== 3) t.comment(`a's hooks meanwhile: ${a.events.join(', ')}`);
    t.same(await leaseOwners(a.nc), even);
  });

  await t.test('a node that leaves cleanly hands its partitions over at once', async (t) => {
    const d = nodes.pop()!;
    const started = Date.now();
    await stopNode(d, true);
    await until(() => partitionOwners(nodes.map((n) => ({ id: n.id, owned: n.own.owned() }))), 15_000);
    const took = Date.now() - started;
    t.ok(took < TTL_S * 1000, `taken over in ${took} ms, before any lease could expire`);
  });

  await t.test('a second live node with the same node_id is refused', async (t) => {
    const nc = await connect({ servers: nats.url });
    t.teardown(() => nc.close());
    await t.rejects(
      PartitionOwnership.start(nc, { nodeId: 'a', partitions: PARTITIONS, ttlMs: TTL_S * 1000 }, { isBusy: () => false, acquired: () => {}, releasing: () => {}, lost: () => {} }),
      /another live node already uses node_id "a"/,
    );
  });

  await t.test('a node whose lease TTL differs from the cluster\'s is refused', async (t) => {
    const nc = await connect({ servers: nats.url });
    t.teardown(() => nc.close());
    await t.rejects(
      PartitionOwnership.start(nc, { nodeId: 'z', partitions: PARTITIONS, ttlMs: 7000 }, { isBusy: () => false, acquired: () => {}, releasing: () => {}, lost: () => {} }),
      /lease_ttl_s/,
    );
  });

  await t.test('NATS restarted under the cluster: leases lapse, then everything is owned again', async (t) => {
    await nats.restart({ downMs: TTL_S * 1000 + 1000 });
    for (const n of nodes) t.ok(n.events.some((e) => /^lost \d+ expired$/.test(e)), `${n.id} let its leases go while NATS was away`);
    const owners = await until(() => partitionOwners(nodes.map((n) => ({ id: n.id, owned: n.own.owned() }))), 20_000);
    t.equal(owners.size, PARTITIONS, 'every partition owned again');
    t.same(await leaseOwners(nodes[0].nc), owners);
  });

  await t.test('another instance writing our heartbeat: the node stops acting at once (fatal), the others take over', async (t) => {
    const c = nodes.find((n) => n.id === 'c')!;
    // After the NATS restart the three settle back to an even spread.
    await until(() => {
      const o = partitionOwners(nodes.map((n) => ({ id: n.id, owned: n.own.owned() })));
      return o && Object.keys(counts(o)).length === 3 && Object.values(counts(o)).every((x) => x >= 10 && x <= 11);
    }, 15_000);
    const had = c.own.owned();
    c.events.length = 0;
    const kv = await new Kvm(c.nc).open(MEMBERS_BUCKET);
    await kv.put('n.c', JSON.stringify({ node_id: 'c', instance: 'impostor', started_at: new Date().toISOString(), api_url: null }));
    await until(() => c.events.some((e) => e.startsWith('fatal')), (TTL_S + 2) * 1000);
    t.match(c.events.find((e) => e.startsWith('fatal')), /another live node already uses node_id "c"/);
    t.same(c.own.owned(), [], 'c holds nothing any more');
    t.equal(c.events.filter((e) => / taken$/.test(e)).length, had.length, 'every partition it held reported lost');
    const rest = nodes.filter((n) => n !== c);
    const owners = await until(() => partitionOwners(rest.map((n) => ({ id: n.id, owned: n.own.owned() }))), (TTL_S + 5) * 1000);
    t.equal(owners.size, PARTITIONS, 'a and b own every partition once c\'s leases expire');
    nodes.splice(nodes.indexOf(c), 1);
    await stopNode(c, false);
  });

  noOverlap();
});

t.test('node processes: SIGKILL one, the others take its partitions within lease_ttl_s + a few seconds', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const procs = ['p1', 'p2', 'p3'].map((id) => spawnClusterNode(nats.url, id, PARTITIONS, TTL_S));
  t.teardown(() => {
    for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  });
  await until(() => {
    const o = partitionOwners(procs);
    return o && Object.keys(counts(o)).length === 3 && Object.values(counts(o)).every((c) => c >= 10) ? o : null;
  }, 20_000);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const victim = procs[1];
  const theirs = victim.owned.slice();
  t.ok(theirs.length >= 10, `${victim.id} owns ${theirs.length} partitions`);

  const killedAt = Date.now();
  victim.proc.kill('SIGKILL');
  const survivors = procs.filter((p) => p !== victim);
  await until(() => partitionOwners(survivors), (TTL_S + 5) * 1000, 20);
  const takeover = Date.now() - killedAt;
  t.ok(takeover < (TTL_S + 3) * 1000, `the survivors own every partition ${takeover} ms after the SIGKILL (lease_ttl_s = ${TTL_S})`);
  t.ok(takeover >= (TTL_S * 1000) / 3, 'not before the killed node\'s leases could expire');
  const owners = partitionOwners(survivors)!;
  t.same(counts(owners), { p1: 16, p3: 16 }, 'split evenly between the two');
  t.same(await leaseOwners(nc), owners, 'the leases bucket agrees');
  t.comment(`takeover after SIGKILL: ${takeover} ms (lease_ttl_s ${TTL_S})`);

  // The killed node comes back under the same node_id (a new instance) and takes its share again.
  const again = spawnClusterNode(nats.url, victim.id, PARTITIONS, TTL_S);
  procs.push(again);
  const back = await until(() => {
    const o = partitionOwners([...survivors, again]);
    return o && Object.keys(counts(o)).length === 3 && Object.values(counts(o)).every((c) => c >= 10) ? o : null;
  }, 30_000);
  t.same(Object.keys(counts(back)).sort(), ['p1', 'p2', 'p3'], `${victim.id} restarted with its node_id and took its share again`);
  t.notOk(again.lines.some((l) => l.event === 'fatal'), 'not mistaken for a duplicate of its previous life');

  // Killed and restarted at once: its previous heartbeat is still fresh; it waits that out, then joins.
  again.proc.kill('SIGKILL');
  const third = spawnClusterNode(nats.url, victim.id, PARTITIONS, TTL_S);
  procs.push(third);
  const rejoined = await until(() => {
    const o = partitionOwners([...survivors, third]);
    return o && Object.keys(counts(o)).length === 3 ? o : null;
  }, 30_000);
  t.ok(counts(rejoined)[victim.id] > 0, 'restarted within the TTL, it joins once its previous heartbeat expired');
  t.notOk(third.lines.some((l) => l.event === 'fatal'), 'and is not refused as a duplicate');
});
