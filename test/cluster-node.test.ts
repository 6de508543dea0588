// ClusterNode (node.ts), the parts together, against a real nats-server: two
// nodes, each with an in-memory "world" standing in for its actors. Hosts
// come from the shared registry; every host lives in exactly its owner's
// world; commands sent to either node run where the host lives; events of
// both nodes read back from one stream; a node that dies leaves its busy
// host failed and named on the node that takes it over.
import t from 'tap';
import { connect } from '@nats-io/transport-node';
import type { HostStatus } from '../common/schemas/host.js';
import type { ClusterSettings } from '../common/config-types.js';
import { ClusterNode } from '../src/cluster/node.js';
import { RegistryKv } from '../src/cluster/registry-kv.js';
import { partitionOf } from '../src/cluster/partition.js';
import { resolveHost } from '../src/config/load.js';
import { skipWithoutNats, startNats, type NatsServer } from '../harness/nats.js';
import { until } from '../harness/daemon.js';
import { hostStatus } from './helpers/host-status.js';

const PARTITIONS = 16;
const TTL_MS = 3000;
const HOSTS = Array.from({ length: 30 }, (_, i) => `web-${i}`);

interface World {
  node: ClusterNode;
  hosts: Map<string, Partial<HostStatus>>;
  detached: string[];
}

async function startWorld(nats: NatsServer, id: string): Promise<World> {
  const settings: ClusterSettings = { enabled: true, servers: [nats.url], auth: { kind: 'none' }, tls_ca_file: null, node_id: id, partitions: PARTITIONS, lease_ttl_ms: TTL_MS,
    events_retention: { max_age_ms: 3_600_000, max_msgs: 100_000, max_bytes: 64 * 1024 ** 2 },
    jobs_retention: { max_age_ms: 3_600_000, max_bytes: 64 * 1024 ** 2 },
  };
  const hosts = new Map<string, Partial<HostStatus>>();
  const detached: string[] = [];
  const world = { hosts, detached } as World;
  world.node = await ClusterNode.start(settings, {
    isBusy: () => false,
    attach: async (p, restore) => {
      for (const h of restore.hosts) {
        hosts.set(h.name, restore.statuses.get(h.name) ?? { state: 'idle' });
        await world.node?.publisher.publish({ type: 'HostConnected', host: h.name });
      }
    },
    detach: (p, why) => {
      for (const name of [...hosts.keys()]) if (partitionOf(name, PARTITIONS) === p) hosts.delete(name);
      detached.push(`${p} ${why}`);
    },
    handle: async (cmd) => (hosts.has(cmd.host) ? { status: 202, body: { ran_on: id, host: cmd.host } } : { status: 404, body: { error: { code: 'HOST_NOT_FOUND', message: cmd.host } } }),
  });
  return world;
}

t.test('two cluster nodes', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const admin = await connect({ servers: nats.url });
  t.teardown(() => admin.close());
  const registry = await RegistryKv.open(admin, { partitions: PARTITIONS, nodeId: 'admin' });
  await Promise.all(HOSTS.map((h) => registry.putConfigHost(resolveHost({ name: h, addr: '10.0.0.9' }, {}))));

  const a = await startWorld(nats, 'a');
  const b = await startWorld(nats, 'b');
  t.teardown(async () => {
    for (const w of [a, b]) await w.node.stop({ handBack: false }).catch(() => undefined);
  });
  const settled = () => a.node.status().partitions.length === 8 && b.node.status().partitions.length === 8 && a.hosts.size + b.hosts.size === HOSTS.length;
  await until(settled, 15_000);

  await t.test('every host lives in exactly its owner\'s world', async (t) => {
    for (const h of HOSTS) {
      const inA = a.hosts.has(h);
      t.not(inA, b.hosts.has(h), `${h} in one world`);
      t.equal(inA, a.node.owns(h), `${h} where its partition is owned`);
    }
    t.match(a.node.status(), { node_id: 'a', connected: true, target: 8, members: [{ node_id: 'a' }, { node_id: 'b' }] });
  });

  await t.test('commands sent to either node run where the host lives', async (t) => {
    for (const via of [a, b]) {
      const replies = await Promise.all(HOSTS.map((host) => via.node.send({ host, command: 'update', body: {} })));
      replies.forEach((r, i) => {
        const home = a.hosts.has(HOSTS[i]) ? 'a' : 'b';
        t.match(r, { status: 202, node: home, body: { ran_on: home, host: HOSTS[i] } }, `${HOSTS[i]} via ${via.node.settings.node_id}`);
      });
    }
  });

  await t.test('one event stream carries both nodes\' events', async (t) => {
    const items = [];
    const reader = await b.node.events.read({ since: 0 });
    for await (const item of reader) {
      items.push(item);
      if (items.length === HOSTS.length) break;
    }
    reader.stop();
    const hosts = items.map((i) => (i.kind === 'event' && i.event.type === 'HostConnected' ? i.event.host : '?'));
    t.same([...hosts].sort(), [...HOSTS].sort(), 'a HostConnected for every host, from whichever node attached it, once');
    t.same(items.map((i) => (i.kind === 'event' ? i.event.seq : 0)), HOSTS.map((_, i) => i + 1), 'seq 1..30');
  });

  await t.test('b dies mid-update: a takes its hosts over, the busy one failed and named', async (t) => {
    const onB = HOSTS.filter((h) => b.hosts.has(h));
    const busy = onB[0];
    // b's actors had reported the host mid-update (as its status writes would).
    await b.node.registry.putStatus(hostStatus(busy, { state: 'updating', job_id: 'job-1' }));
    await b.node.stop({ handBack: false });
    await until(() => a.hosts.size === HOSTS.length, TTL_MS + 5000);
    t.match(a.hosts.get(busy), { state: 'failed', error: 'interrupted: cluster node b stopped during updating', failed: { code: 'INTERRUPTED', previous_state: 'updating' } });
    t.ok(onB.slice(1).every((h) => a.hosts.get(h)?.state === 'idle'), 'the idle ones come back idle');
    const r = await a.node.send({ host: busy, command: 'retry', body: {} });
    t.match(r, { node: 'a', status: 202 }, 'and a answers for them');
  });
});
