// Fleet rollouts on a cluster of three daemon processes, a real nats-server
// and the SSH simulator (every host's SSH handshake slowed, so a rollout is
// mid-way when a node dies): a rollout sent to node a runs across every
// node's hosts; node b SIGKILLed in the middle has its partitions taken over
// within lease_ttl_s + a few seconds, its hosts cut short end failed
// (INTERRUPTED, naming b), every selected host is accounted for and none ran
// twice, and every live node reads the same job; a WebSocket client on a
// sees the rollout's Fleet* events. Then the coordinator itself is killed
// and another node finishes its rollout. (Rollouts started on several nodes
// at once: cluster-rollouts-concurrent.test.ts.)
import t from 'tap';
import { partitionOf } from '../src/cluster/partition.js';
import { accountedFor, jobEnded, jobWithHosts, until } from '../harness/daemon.js';
import { skipWithoutNats } from '../harness/nats.js';
import { allHosts } from './helpers/sim-daemon.js';
import { LEASE_TTL_S, PARTITIONS, balanced, startCluster, watch, type Cluster } from '../harness/cluster-daemons.js';

const HOSTS = 90;
const IDS = ['a', 'b', 'c'];
const UPGRADE = 'Dpkg::Options::=--force-confold upgrade';
const SIMULATE = 'apt-get -s -o Debug::NoLocking=1 upgrade';

t.test('fleet rollouts across a cluster of daemons', { skip: skipWithoutNats() }, async (t) => {
  const cluster: Cluster = await startCluster({
    ids: IDS,
    // Every new SSH connection waits before its handshake: each host's update takes over a second.
    sim: { hosts: HOSTS, mix: { debian: 100 }, faults: ['slow=100%'], slowMs: 2000, rebootRequiredPct: 0 },
  });
  t.teardown(() => cluster.stop());
  const [a, b, c] = await Promise.all(IDS.map((id) => cluster.start(id)));
  let owners = await balanced([a, b, c]);
  await until(async () => (await Promise.all([a, b, c].map(async (d) => (await allHosts(d)).size))).every((n) => n === HOSTS), 30_000, 200);
  const ownerOf = (host: string): string => [...owners].find(([, ps]) => ps.includes(partitionOf(host, PARTITIONS)))![0];
  const upgrades = (name: string) => Object.entries(cluster.sim.host(name)!.counters.commands).reduce((n, [cmd, k]) => n + (cmd.includes(UPGRADE) ? k : 0), 0);
  const names = cluster.sim.hosts.map((h) => h.name);

  await t.test('a rollout sent to a, node b SIGKILLed mid-way: taken over, every host accounted for once, b\'s cut-short hosts named', async (t) => {
    t.ok(IDS.every((id) => names.some((n) => ownerOf(n) === id)), 'every node owns some of the hosts');
    const w = await watch(a);
    t.teardown(() => w.close());
    const r = await a.request('POST', '/fleet/update', { batch_size: 10, max_failures: '100%', max_unreachable: '100%' });
    t.equal(r.status, 202, 'accepted on a');
    const id: string = r.body.job_id;
    // Kill b while the second batch or a later one runs some of its hosts: mid-way, and mid-update on b.
    // b's hosts after the first batch hang in their package manager until the kill, so a poll under
    // any load finds one running there (a plain slow host may finish between two looks).
    // A host has its batch once it starts: once the first batch runs, b's hosts with none are the later ones.
    const later: string[] = await until(async () => {
      const hosts: Array<{ host: string; batch?: number }> = (await a.get(`/jobs/${id}/hosts?per_page=200`)).body.data;
      return hosts.some((h) => h.batch === 1) ? hosts.filter((h) => h.batch === undefined && ownerOf(h.host) === 'b').map((h) => h.host) : null;
    }, 30_000, 50);
    t.ok(later.length > 0, `b owns hosts of the later batches (${later.length})`);
    await cluster.sim.setFault(later, 'timeout', true);
    let last = '';
    const cutShort = await until(async () => {
      const running: Array<{ host: string; batch?: number }> = (await a.get(`/jobs/${id}/hosts?state=running&per_page=200`)).body.data;
      const onB = running.filter((h) => ownerOf(h.host) === 'b' && (h.batch ?? 0) >= 2).map((h) => h.host);
      last = `running: ${running.map((h) => `${h.host}@${h.batch}`).join(' ')}`;
      return onB.length > 0 ? onB : null;
    }, 90_000, 50).catch(async (err: Error) => Promise.reject(new Error(`${err.message}; the rollout at the last look: ${last}; ${JSON.stringify((await a.get(`/jobs/${id}`)).body)}`)));
    // The hosts b has not started yet run normally on their new owner.
    await cluster.sim.setFault(later, 'timeout', false);
    const killedAt = Date.now();
    await b.stop('SIGKILL');
    owners = await balanced([a, c], (LEASE_TTL_S + 10) * 1000);
    const tookMs = Date.now() - killedAt;
    t.ok(tookMs < (LEASE_TTL_S + 5) * 1000, `b's partitions owned again in ${tookMs} ms (lease_ttl_s ${LEASE_TTL_S} + 5 s)`);

    const done = await jobEnded(a, id, 120_000);
    t.equal(done.summary.total, HOSTS, 'every host selected');
    t.equal(accountedFor(done.summary), HOSTS, `every host accounted for: ${JSON.stringify(done.summary)}`);
    const job = await jobWithHosts(a, id);
    const byHost = new Map<string, any>(job.hosts.map((h: any) => [h.host, h]));
    for (const h of cutShort) {
      t.match(byHost.get(h), { state: 'failed', code: 'INTERRUPTED', error: /cluster node b\b/ }, `${h}, running on b at the kill: failed, interrupted, naming b`);
    }
    const interrupted = job.hosts.filter((h: any) => h.code === 'INTERRUPTED');
    t.ok(interrupted.every((h: any) => /cluster node b\b/.test(h.error)), 'every interrupted host names b');
    const odd = job.hosts.filter((h: any) => h.state !== 'completed' && h.code !== 'INTERRUPTED');
    t.same(odd, [], 'every other host completed, on a or c after the takeover');
    t.same(names.filter((n) => upgrades(n) > 1), [], 'no host upgraded twice');
    t.same(job.hosts.filter((h: any) => h.state === 'completed' && upgrades(h.host) !== 1).map((h: any) => h.host), [], 'each completed host upgraded exactly once');

    const onC = await jobWithHosts(c, id);
    t.same(onC, job, 'c reads the same job, host by host');
    const failedA = await a.get(`/jobs/${id}/hosts?state=failed&per_page=200`);
    const failedC = await c.get(`/jobs/${id}/hosts?state=failed&per_page=200`);
    t.same(failedC.body, failedA.body, 'and the same failed hosts');
    t.equal(failedA.body.pagination.total_items, done.summary.failed);

    await until(() => w.all.some((m) => m.type === 'FleetUpdateCompleted' && m.job_id === id), 10_000);
    const types = w.all.filter((m) => m.job_id === id && String(m.type).startsWith('FleetUpdate')).map((m) => m.type);
    t.equal(types[0], 'FleetUpdateStarted', 'a WebSocket client on a saw it start');
    t.ok(types.includes('FleetUpdateProgress'), 'progress');
    t.equal(types.filter((x) => x === 'FleetUpdateStarted').length, 1, 'one start');
    t.equal(types.at(-1), 'FleetUpdateCompleted', 'and its end');
  });

  // b back with its id, for the rest.
  const b2 = await cluster.start('b');
  owners = await balanced([a, b2, c], 30_000);

  await t.test('the coordinator SIGKILLed mid-rollout: another node continues it to its end', async (t) => {
    const w = await watch(c);
    t.teardown(() => w.close());
    const simulated = (n: string) => Object.entries(cluster.sim.host(n)!.counters.commands).reduce((x, [cmd, k]) => x + (cmd.includes(SIMULATE) ? k : 0), 0);
    const before = new Map(names.map((n) => [n, simulated(n)]));
    const r = await a.request('POST', '/fleet/update', { dry_run: true, batch_size: 10, delay_ms: 1000, max_failures: '100%', max_unreachable: '100%' });
    t.equal(r.status, 202);
    const id: string = r.body.job_id;
    await until(async () => (await c.get(`/jobs/${id}`)).body.summary?.completed >= 20, 60_000, 100);
    const killedAt = Date.now();
    await a.stop('SIGKILL');
    const live = [b2, c];
    const done = await jobEnded(c, id, 120_000);
    t.ok(Date.now() - killedAt < 120_000, `ended ${Date.now() - killedAt} ms after the kill`);
    t.equal(accountedFor(done.summary), HOSTS, `every host accounted for: ${JSON.stringify(done.summary)}`);
    t.ok(done.summary.completed >= HOSTS - 15, 'nearly all completed (only a\'s hosts running at the kill may have failed)');
    await until(() => w.all.some((m) => m.type === 'FleetUpdateCompleted' && m.job_id === id), 10_000);
    t.equal(w.all.filter((m) => m.type === 'FleetUpdateStarted' && m.job_id === id).length, 1, 'a WebSocket client on c saw it start once and end, from the node that continued it');
    const reads = await Promise.all(live.map((d) => jobWithHosts(d, id)));
    t.same(reads[1], reads[0], 'b and c read the same job');
    const started = reads[0].hosts.filter((h: any) => h.state !== 'skipped').length;
    t.equal(started, done.summary.completed + done.summary.failed + done.summary.unreachable);
    t.match(reads[0], { state: /succeeded|failed/ });
    // A dry run simulates the upgrade once per run: a host run twice would show it twice.
    const delta = new Map(names.map((n) => [n, simulated(n) - before.get(n)!]));
    const once = delta.get(reads[0].hosts.find((h: any) => h.state === 'completed').host)!;
    t.ok(once >= 1, `a completed host simulated its upgrade (${once}×)`);
    t.same(reads[0].hosts.filter((h: any) => h.state === 'completed' && delta.get(h.host) !== once).map((h: any) => h.host), [], 'every completed host as often');
    t.same(names.filter((n) => delta.get(n)! > once), [], 'no host more often: none ran twice');
    owners = await balanced(live, (LEASE_TTL_S + 10) * 1000);
  });
});
