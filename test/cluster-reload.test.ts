// SIGHUP on a cluster node (two daemon processes, a real nats-server, the SSH
// simulator): the node re-reads its file and syncs its hosts into the shared
// registry — a host added is registered and run by its owner, a host changed
// is reconfigured by its owner, a host removed from the file (this node's
// file registered it) is gone from every node, a busy one is deferred and
// stays (removed once idle, not waited for here) — and a broken file changes nothing. Each change shows on the other node.
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { until } from '../harness/daemon.js';
import { skipWithoutNats } from '../harness/nats.js';
import { hostToml } from '../harness/simulator/toml.js';
import { allHosts } from './helpers/sim-daemon.js';
import { balanced, startCluster, type Cluster } from '../harness/cluster-daemons.js';

const HOSTS = 12;
const IDS = ['a', 'b'];

t.test('SIGHUP on a cluster node syncs its file\'s hosts into the cluster', { skip: skipWithoutNats() }, async (t) => {
  // sim-00005 (in a's file): package-manager commands never answer, so an update keeps it busy.
  const cluster: Cluster = await startCluster({ ids: IDS, sim: { hosts: HOSTS, mix: { debian: 100 }, faults: ['timeout=sim-00005'] } });
  t.teardown(() => cluster.stop());
  const [a, b] = await Promise.all(IDS.map((id) => cluster.start(id)));
  await balanced([a, b]);
  await until(async () => (await allHosts(b)).size === HOSTS, 30_000, 200);
  // a's file lists every other host (harness/cluster-daemons.ts).
  const [gone, changed, busy] = [cluster.sim.hosts[0], cluster.sim.hosts[2], cluster.sim.hosts[4]];
  const original = readFileSync(a.configFile, 'utf8');
  const block = (h: (typeof cluster.sim.hosts)[number]) => hostToml(h, cluster.sim.clientKeyPath);
  t.ok(original.includes(block(gone)) && original.includes(block(changed)), 'both hosts are in a\'s file');

  await t.test('a broken file: refused, nothing changes', async (t) => {
    writeFileSync(a.configFile, `${original}\n[cluster]\nbroken = \n`);
    a.proc.kill('SIGHUP');
    const failed = await a.waitForLog((l) => l.msg === 'config reload failed; keeping the running configuration', 10_000);
    t.ok(failed.err, 'the reason is logged');
    t.equal((await allHosts(b)).size, HOSTS, 'the fleet is unchanged');
  });

  await t.test('hosts added, changed and removed in a\'s file reach the whole cluster; a busy one is deferred and stays', async (t) => {
    const hung = await b.request('POST', `/hosts/${busy.name}/update`, {});
    t.equal(hung.status, 202, `${busy.name} busy with an update that never ends`);
    await until(async () => ['querying', 'updating'].includes((await a.get(`/hosts/${busy.name}`)).body.state), 15_000, 200);
    const sim = cluster.sim.hosts[1];
    const added = `[[host]]\nname = "reloaded-1"\naddr = "${sim.addr}"\nport = ${sim.port}\nssh_key = "${cluster.sim.clientKeyPath}"\ntags = ["added"]\n`;
    const text = original
      .replace(block(gone), '')
      .replace(block(busy), '')
      .replace(block(changed), block(changed).replace('tags = [', 'tags = ["reloaded", '))
      .concat('\n', added);
    writeFileSync(a.configFile, text);
    a.proc.kill('SIGHUP');
    const applied = await a.waitForLog((l) => l.msg === 'config reloaded', 10_000);
    t.same(applied.added, ['reloaded-1'], 'one added');
    t.same(applied.changed, [changed.name], 'one changed');
    t.same(applied.removed, [gone.name], 'one removed');
    t.same(applied.deferred, [busy.name], 'the busy one deferred');
    t.same(applied.restart_needed, [], 'nothing that needs a restart');

    await until(async () => (await b.get(`/hosts/${gone.name}`)).status === 404 && (await a.get(`/hosts/${gone.name}`)).status === 404, 15_000, 200);
    t.pass(`${gone.name} is gone on both nodes`);
    const fresh = await until(async () => {
      const r = await b.get('/hosts/reloaded-1');
      return r.status === 200 ? r.body : null;
    }, 15_000, 200);
    t.match(fresh, { name: 'reloaded-1', tags: ['added'], state: 'idle' }, 'the added host is listed on b');
    const tagged = await until(async () => {
      const r = await b.get(`/hosts/${changed.name}`);
      return r.body.tags?.includes('reloaded') ? r.body : null;
    }, 15_000, 200);
    t.ok(tagged.tags.includes('reloaded'), 'the changed host carries its new tags on b');
    t.equal((await allHosts(b)).size, HOSTS, 'one host fewer, one more');
    t.match((await b.get(`/hosts/${busy.name}`)).body, { state: /querying|updating/ }, 'the busy host is still there, still busy');

    const r = await b.request('POST', '/hosts/reloaded-1/update', { dry_run: true });
    t.equal(r.status, 202, 'the added host takes commands through b');
    const job = await until(async () => {
      const j = await a.get(`/jobs/${r.body.job_id}`);
      return j.status === 200 && j.body.state === 'succeeded' ? j.body : null;
    }, 30_000, 200);
    t.match(job, { kind: 'update', summary: { completed: 1 } }, 'and its owner ran it');
  });
});
