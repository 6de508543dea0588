// A cluster of three daemon processes losing a node and losing NATS, on a
// real nats-server and the SSH simulator: a node killed with SIGKILL has its
// partitions taken over within lease_ttl_s + a few seconds and its host that
// was mid-operation ends failed, naming the node; with NATS gone a node still
// answers reads and refuses commands with 503 CLUSTER_UNAVAILABLE; NATS back
// (same port, same store), the nodes re-join by themselves.
import t from 'tap';
import { partitionOf } from '../src/cluster/partition.js';
import { until, type Daemon } from '../harness/daemon.js';
import { skipWithoutNats } from '../harness/nats.js';
import { allHosts } from './helpers/sim-daemon.js';
import { LEASE_TTL_S, PARTITIONS, balanced, clusterHealth, startCluster, watch, type Cluster } from './helpers/cluster-daemons.js';

const HOSTS = 60;
const IDS = ['a', 'b', 'c'];
/** Package-manager commands never answer on this host: an update keeps it busy. */
const HANGS = 'sim-00007';

t.test('a cluster losing a node, then NATS', { skip: skipWithoutNats() }, async (t) => {
  const cluster: Cluster = await startCluster({ ids: IDS, sim: { hosts: HOSTS, mix: { debian: 100 }, faults: [`timeout=${HANGS}`] } });
  t.teardown(() => cluster.stop());
  const [a, b, c] = await Promise.all(IDS.map((id) => cluster.start(id)));
  let owners = await balanced([a, b, c]);
  await until(async () => (await Promise.all([a, b, c].map(async (d) => (await allHosts(d)).size))).every((n) => n === HOSTS), 30_000, 200);
  const ownerOf = (host: string): string => [...owners].find(([, ps]) => ps.includes(partitionOf(host, PARTITIONS)))![0];

  await t.test('SIGKILL b while its host is mid-update: a and c take its partitions, the host ends failed and named', async (t) => {
    // A busy host on b: move the hanging host's owner into view.
    t.equal(ownerOf(HANGS) !== undefined, true);
    const victimId = ownerOf(HANGS);
    const victim = cluster.nodes.get(victimId)!;
    const others = [a, b, c].filter((d) => d !== victim);
    const r = await others[0].request('POST', `/hosts/${HANGS}/update`, {});
    t.equal(r.status, 202, 'update accepted through another node');
    await until(async () => ['querying', 'updating'].includes((await others[0].get(`/hosts/${HANGS}`)).body.state), 15_000);
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    owners = await balanced(others, (LEASE_TTL_S + 10) * 1000);
    const tookMs = Date.now() - killedAt;
    t.ok(tookMs < (LEASE_TTL_S + 5) * 1000, `every partition owned again in ${tookMs} ms (lease_ttl_s ${LEASE_TTL_S} + 5 s)`);
    t.notOk([...owners.keys()].includes(victimId), 'none by the dead node');
    const failed = await until(async () => {
      const h = (await others[1].get(`/hosts/${HANGS}`)).body;
      return h.state === 'failed' ? h : null;
    }, 15_000);
    t.match(failed.error, new RegExp(`^interrupted: cluster node ${victimId} stopped during (querying|updating)`), 'failed, naming the node');
    t.match(failed.failed, { code: 'INTERRUPTED' });
    const fleet = await allHosts(others[0]);
    t.equal(fleet.size, HOSTS, 'no host lost');
    t.equal([...fleet.values()].filter((h) => h.state === 'failed').length, 1, 'only the busy host failed');
    // Its new owner answers for it.
    const retry = await others[1].request('POST', `/hosts/${HANGS}/retry`, {});
    t.equal(retry.status, 202, 'retry through a node accepted');
    await until(async () => (await others[0].get(`/hosts/${HANGS}`)).body.state === 'idle', 15_000);
  });

  const live = [a, b, c].filter((d) => d.proc.exitCode === null && d.proc.signalCode === null);
  const [x, y] = live as [Daemon, Daemon];

  await t.test('NATS away: reads served, commands 503 CLUSTER_UNAVAILABLE; NATS back: the nodes re-join by themselves', async (t) => {
    const host = [...(await allHosts(x)).keys()].find((h) => h !== HANGS)!;
    const back = cluster.nats.restart({ downMs: 6000 });
    await until(async () => (await clusterHealth(x))?.connected === false, 10_000);
    const health = await x.get('/health');
    t.equal(health.body.status, 'degraded', '/health says degraded');
    t.equal(health.body.cluster.connected, false, 'and that the link is down');
    const list = await x.get('/hosts?per_page=200');
    t.equal(list.status, 200, 'GET /hosts still answers');
    t.equal(list.body.pagination.total_items, HOSTS, 'with the whole fleet');
    t.equal((await x.get(`/hosts/${host}`)).status, 200, 'GET /hosts/:name too');
    const refused = await x.request('POST', `/hosts/${host}/update`, { dry_run: true });
    t.equal(refused.status, 503, 'a command is refused');
    t.equal(refused.body.code, 'CLUSTER_UNAVAILABLE');
    t.notMatch(refused.text, /Error:|at .*\.js/, 'no exception text');
    await back;
    await balanced([x, y], 30_000);
    t.pass('both nodes own every partition again');
    const w = await watch(x);
    t.teardown(() => w.close());
    const ok = await x.request('POST', `/hosts/${host}/update`, { dry_run: true });
    t.equal(ok.status, 202, 'commands work again');
    await until(() => w.all.some((m) => m.type === 'UpdateCompleted' && m.host === host), 30_000);
    t.pass('and the stream carries their events');
  });
});
