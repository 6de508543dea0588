// A cluster of daemon processes gaining a node, losing one and losing NATS,
// on a real nats-server and the SSH simulator: a fourth node joining takes its
// share but not the partition of a host mid-update; a node killed with SIGKILL has its
// partitions taken over within lease_ttl_s + a few seconds and its host that
// was mid-operation ends failed, naming the node; with NATS gone a node still
// answers reads and refuses commands with 503 CLUSTER_UNAVAILABLE; NATS back
// (same port, same store), the nodes re-join by themselves.
import t from 'tap';
import { partitionOf } from '../src/cluster/partition.js';
import { until, type Daemon } from '../harness/daemon.js';
import { skipWithoutNats } from '../harness/nats.js';
import { allHosts } from './helpers/sim-daemon.js';
import { LEASE_TTL_S, PARTITIONS, balanced, clusterHealth, startCluster, watch, type Cluster } from '../harness/cluster-daemons.js';

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

  const all: Daemon[] = [a, b, c];
  /** The job of the update that keeps HANGS busy. */
  let hungJob = '';

  await t.test('a fourth node joins while a host is mid-update: it takes its share, never that host\'s partition', async (t) => {
    const owner = ownerOf(HANGS);
    const other = all.find((d) => d !== cluster.nodes.get(owner))!;
    const r = await other.request('POST', `/hosts/${HANGS}/update`, {});
    t.equal(r.status, 202, 'update accepted through another node');
    hungJob = r.body.job_id;
    await until(async () => ['querying', 'updating'].includes((await other.get(`/hosts/${HANGS}`)).body.state), 15_000);
    const third = all.find((d) => d !== other && d !== cluster.nodes.get(owner))!;
    const cancel = await third.request('POST', `/jobs/${hungJob}/cancel`, {});
    t.equal(cancel.status, 200, 'its job cancelled through a third node');
    t.match(cancel.body, { id: hungJob, kind: 'update', state: 'running', error: 'cancel requested' }, 'running until the operation ends');
    const d = await cluster.start('d');
    all.push(d);
    owners = await balanced(all, 30_000);
    t.equal(owners.get('d')!.length, PARTITIONS / 4, 'd holds its share');
    t.equal(ownerOf(HANGS), owner, 'the busy host\'s partition stayed with its owner');
    t.ok(['querying', 'updating'].includes((await d.get(`/hosts/${HANGS}`)).body.state), 'and the host is still mid-update, not interrupted');
    await until(async () => (await allHosts(d)).size === HOSTS, 15_000);
    t.pass('d lists the whole fleet');
  });

  await t.test('SIGKILL the node whose host is mid-update: the others take its partitions, the host ends failed and named', async (t) => {
    const victimId = ownerOf(HANGS);
    const victim = cluster.nodes.get(victimId)!;
    const others = all.filter((d) => d !== victim);
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
    const job = await until(async () => {
      const j = await others[0].get(`/jobs/${hungJob}`);
      return j.body.state === 'interrupted' ? j.body : null;
    }, 15_000);
    t.match(job.error, new RegExp(`cluster node ${victimId} stopped`), 'its job ended interrupted, naming the node');
    const hosts = (await others[1].get(`/jobs/${hungJob}/hosts`)).body.data;
    t.match(hosts, [{ host: HANGS, state: 'failed', code: 'INTERRUPTED' }], 'the host failed in it, read on another node');
    const fleet = await allHosts(others[0]);
    t.equal(fleet.size, HOSTS, 'no host lost');
    t.equal([...fleet.values()].filter((h) => h.state === 'failed').length, 1, 'only the busy host failed');
    // Its new owner answers for it.
    const retry = await others[1].request('POST', `/hosts/${HANGS}/retry`, {});
    t.equal(retry.status, 202, 'retry through a node accepted');
    await until(async () => (await others[0].get(`/hosts/${HANGS}`)).body.state === 'idle', 15_000);
  });

  let victimId = '';
  const live = all.filter((d) => {
    const up = d.proc.exitCode === null && d.proc.signalCode === null;
    if (!up) victimId = [...cluster.nodes].find(([, n]) => n === d)![0];
    return up;
  });
  const x = live[0];

  await t.test('NATS away: reads served, commands 503 CLUSTER_UNAVAILABLE; NATS back: the nodes re-join by themselves', async (t) => {
    const host = [...(await allHosts(x)).keys()].find((h) => h !== HANGS)!;
    const back = cluster.nats.restart({ downMs: 6000 });
    await until(async () => (await clusterHealth(x)).connected === false, 10_000);
    const health = await x.get('/health');
    t.equal(health.body.status, 'degraded', '/health says degraded');
    t.equal(health.body.cluster.connected, false, 'and that the link is down');
    const ready = await x.get('/readyz');
    t.equal(ready.status, 503, '/readyz: not ready');
    t.match(ready.body.checks, { cluster: false, workers: true });
    const list = await x.get('/hosts?per_page=200');
    t.equal(list.status, 200, 'GET /hosts still answers');
    t.equal(list.body.pagination.total_items, HOSTS, 'with the whole fleet');
    t.equal((await x.get(`/hosts/${host}`)).status, 200, 'GET /hosts/:name too');
    const refused = await x.request('POST', `/hosts/${host}/update`, { dry_run: true });
    t.equal(refused.status, 503, 'a command is refused');
    t.equal(refused.body.code, 'CLUSTER_UNAVAILABLE');
    t.notMatch(refused.text, /Error:|at .*\.js/, 'no exception text');
    const spec = (await x.get('/openapi.json')).body;
    const codes503 = (path: string, method: string) => spec.paths[path][method].responses['503']?.content['application/json'].schema.allOf[1].properties.code.enum ?? [];
    t.same(codes503('/hosts/{name}/update', 'post').filter((c: string) => c.startsWith('CLUSTER') || c.startsWith('PARTITION')), ['CLUSTER_UNAVAILABLE', 'PARTITION_UNOWNED'], 'the answer is documented for the route');
    t.same(codes503('/hosts', 'get'), [], 'reads never answer it');
    await back;
    await balanced(live, 30_000);
    t.pass('the nodes own every partition again');
    const w = await watch(x);
    t.teardown(() => w.close());
    const ok = await x.request('POST', `/hosts/${host}/update`, { dry_run: true });
    t.equal(ok.status, 202, 'commands work again');
    await until(() => w.all.some((m) => m.type === 'UpdateCompleted' && m.host === host), 30_000);
    t.pass('and the stream carries their events');
  });

  await t.test('the killed node restarted with its id takes its share again; stopped with SIGTERM it hands it back at once', async (t) => {
    const again = await cluster.start(victimId);
    await balanced([...live, again], 30_000);
    await until(async () => (await allHosts(again)).size === HOSTS, 15_000);
    t.pass('balanced again with it, and it lists the whole fleet');
    const stoppedAt = Date.now();
    t.equal(await again.stop('SIGTERM'), 0, 'a clean exit');
    await balanced(live, 15_000);
    const tookMs = Date.now() - stoppedAt;
    t.ok(tookMs < LEASE_TTL_S * 1000 + 2000, `its partitions owned by the others ${tookMs} ms after SIGTERM (handed back, not left to expire)`);
    t.equal((await allHosts(x)).size, HOSTS, 'no host lost');
  });
});
