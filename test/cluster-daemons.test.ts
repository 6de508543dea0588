// Three real daemon processes as one cluster, on a real nats-server and the
// SSH fleet simulator: every host run by exactly one node; a WebSocket client
// on one node sees the hosts and events of the others, with no gap and no
// duplicate; a command sent to any node runs on the host's owner and is
// answered where it was sent.
import t from 'tap';
import { partitionOf } from '../src/cluster/partition.js';
import { until, type Daemon } from '../harness/daemon.js';
import { skipWithoutNats } from '../harness/nats.js';
import { allHosts } from './helpers/sim-daemon.js';
import { PARTITIONS, balanced, startCluster, watch, type Cluster } from '../harness/cluster-daemons.js';

const HOSTS = 60;
const IDS = ['a', 'b', 'c'];
/** Each node's replay buffer: far fewer events than one round of dry runs, so older `?since=` reads the stream. */
const REPLAY = 50;

t.test('three daemons as one cluster', { skip: skipWithoutNats() }, async (t) => {
  const cluster: Cluster = await startCluster({ ids: IDS, sim: { hosts: HOSTS, mix: { debian: 100 } }, replayBuffer: REPLAY });
  t.teardown(() => cluster.stop());
  const [a, b, c] = await Promise.all(IDS.map((id) => cluster.start(id)));
  const nodes: Daemon[] = [a, b, c];
  const names = cluster.sim.hosts.map((h) => h.name);
  const owners = await balanced(nodes);
  const ownerOf = (host: string): string => [...owners].find(([, ps]) => ps.includes(partitionOf(host, PARTITIONS)))![0];
  // Every node's read model has the whole fleet once the owners have announced their hosts.
  await until(async () => (await Promise.all(nodes.map(async (d) => (await allHosts(d)).size))).every((n) => n === HOSTS), 30_000, 200);

  await t.test('every host is owned by exactly one node, and every node lists them all', async (t) => {
    t.same([...owners.values()].flat().sort((x, y) => x - y), Array.from({ length: PARTITIONS }, (_, i) => i), 'each partition once');
    for (const d of nodes) {
      const hosts = await allHosts(d);
      t.same([...hosts.keys()].sort(), [...names].sort(), `${d.port}: the whole fleet`);
      t.ok([...hosts.values()].every((h) => h.state === 'idle'), 'idle');
    }
    const r = await a.get(`/hosts/${names[0]}`);
    t.equal(r.status, 200, 'one host on any node');
  });

  await t.test('an update sent to a for a host c owns runs on c and answers on a', async (t) => {
    const host = names.find((n) => ownerOf(n) === 'c')!;
    const w = await watch(a);
    t.teardown(() => w.close());
    const r = await a.request('POST', `/hosts/${host}/update`, { dry_run: true });
    t.equal(r.status, 202, 'accepted on a');
    t.match(r.body, { job_id: String });
    await until(() => w.all.some((m) => m.type === 'UpdateCompleted' && m.host === host), 30_000);
    // The job ran on c and is in the shared job log: every node reads the same record.
    const reads = await until(async () => {
      const rs = await Promise.all(nodes.map((d) => d.get(`/jobs/${r.body.job_id}`)));
      return rs.every((x) => x.status === 200 && x.body.state === 'succeeded') ? rs : null;
    }, 10_000);
    t.same(reads.map((x) => x.body), reads.map(() => reads[0].body), 'the same job on every node');
    t.match(reads[0].body, { kind: 'update', dry_run: true, summary: { total: 1, completed: 1 } }, 'for that one host, completed');
    const hosts = await a.get(`/jobs/${r.body.job_id}/hosts`);
    t.match(hosts.body.data, [{ host, state: 'completed' }], 'its host result read on a');
    const listed = await b.get(`/jobs?host=${host}`);
    t.ok(listed.body.data.some((j: { id: string }) => j.id === r.body.job_id), 'listed on b by its host');
    const missing = await a.request('POST', '/hosts/no-such-host/update', {});
    t.equal(missing.status, 404, 'an unknown host is 404 on any node');
    t.equal(missing.body.code, 'HOST_NOT_FOUND');
  });

  await t.test('a host registered on a is run by its owner and listed everywhere; removed through another node, gone everywhere', async (t) => {
    const sim = cluster.sim.hosts[0];
    const name = Array.from({ length: 200 }, (_, i) => `extra-${i}`).find((n) => ownerOf(n) === 'c')!;
    const r = await a.request('POST', '/hosts', { name, addr: sim.addr, port: sim.port, ssh_key: cluster.sim.clientKeyPath });
    t.equal(r.status, 201, 'registered through a');
    t.match(r.body, { name, state: 'idle' }, 'answered with its status');
    const dup = await b.request('POST', '/hosts', { name, addr: sim.addr });
    t.equal(dup.status, 409, 'the name is taken in the whole cluster');
    t.equal(dup.body.code, 'HOST_EXISTS');
    await until(async () => (await Promise.all(nodes.map((d) => d.get(`/hosts/${name}`)))).every((x) => x.status === 200), 10_000);
    const job = await b.request('POST', `/hosts/${name}/update`, { dry_run: true });
    t.equal(job.status, 202, 'a command for it through b');
    t.equal((await c.get(`/jobs/${job.body.job_id}`)).status, 200, 'ran on c, its owner');
    await until(async () => (await a.get(`/hosts/${name}`)).body.state !== 'querying', 15_000);
    const del = await b.request('DELETE', `/hosts/${name}`);
    t.equal(del.status, 204, 'removed through b');
    await until(async () => (await Promise.all(nodes.map((d) => d.get(`/hosts/${name}`)))).every((x) => x.status === 404), 10_000);
    t.pass('gone on every node');
  });

  await t.test('/health and /metrics name the node, its partitions and the members', async (t) => {
    const h = (await b.get('/health')).body;
    t.match(h, { status: 'healthy', hosts: HOSTS, cluster: { node_id: 'b', connected: true, partitions: owners.get('b'), members: IDS.map((node_id) => ({ node_id, api_url: String })) } });
    t.same((await b.get('/readyz')).body, { status: 'ok', checks: { config: true, workers: true, store: true, cluster: true } }, '/readyz checks the cluster link too');
    const m = (await b.get('/metrics')).text;
    t.match(m, 'tendhost_cluster_connected{node_id="b"} 1');
    t.match(m, `tendhost_cluster_partitions_owned{node_id="b"} ${owners.get('b')!.length}`);
    t.match(m, 'tendhost_cluster_members{node_id="b"} 3');
  });

  await t.test('a client on a sees the events of b and c, in order, with no gap or duplicate', async (t) => {
    const w = await watch(a);
    t.teardown(() => w.close());
    const snap = w.all[0];
    t.equal(snap.type, 'Snapshot');
    t.equal(snap.hosts.length, HOSTS, 'the snapshot has the whole fleet');
    // Dry runs on every host, sent to all three nodes in turn.
    const jobs = await Promise.all(names.map((h, i) => nodes[i % 3].request('POST', `/hosts/${h}/update`, { dry_run: true })));
    t.ok(jobs.every((j) => j.status === 202), 'all accepted');
    await until(() => names.every((h) => w.all.some((m) => m.type === 'UpdateCompleted' && m.host === h)), 60_000, 100);
    const seqs = w.all.slice(1).map((m) => m.seq);
    t.same(seqs, Array.from({ length: seqs.length }, (_, i) => snap.seq + 1 + i), 'seq follows the snapshot with no gap or duplicate');
    // A second client resuming from the middle gets exactly the rest.
    const mid = seqs[Math.floor(seqs.length / 2)];
    const resumed = await watch(a, `?since=${mid}`);
    t.teardown(() => resumed.close());
    await until(() => resumed.all.length >= seqs.filter((s) => s > mid).length, 10_000);
    t.same(resumed.all.map((m) => m.seq).slice(0, seqs.filter((s) => s > mid).length), seqs.filter((s) => s > mid), '?since= resumes from the stream');
    // Further back than the node's replay buffer: read back from the stream itself, then live, with no gap.
    const early = snap.seq + 1;
    t.ok(seqs.at(-1)! - early > REPLAY, 'older than the replay buffer');
    const old = await watch(b, `?since=${early}`);
    t.teardown(() => old.close());
    await until(() => old.all.length >= seqs.filter((s) => s > early).length, 10_000);
    t.same(old.all.map((m) => m.seq).slice(0, seqs.filter((s) => s > early).length), seqs.filter((s) => s > early), 'from the stream, in order, once');
    const more = await b.request('POST', `/hosts/${names[1]}/update`, { dry_run: true });
    t.equal(more.status, 202);
    await until(() => old.all.some((m) => m.type === 'UpdateCompleted' && m.seq > seqs.at(-1)!), 30_000);
    const after = old.all.map((m) => m.seq);
    t.same(after, Array.from({ length: after.length }, (_, i) => early + 1 + i), 'then live, still without gap or duplicate');
    const tooFar = await watch(a, `?since=${snap.seq + 1_000_000}`);
    t.teardown(() => tooFar.close());
    t.equal(tooFar.all[0].type, 'Resync', 'a seq the stream never had: Resync');
  });
});
