// Fleet rollouts started on different nodes of a cluster of three daemon
// processes (a real nats-server, the SSH simulator): two at once over
// disjoint hosts both finish; two at once over the same hosts never run a
// host twice at once (a host busy with one is skipped by the other); one
// started while another holds the hosts skips them, claimed by it, as one
// daemon does; a rollout cancelled through a node that does not coordinate it
// ends cancelled. (Rollouts under a node's SIGKILL: cluster-rollout-daemons.test.ts.)
import t from 'tap';
import { accountedFor, jobEnded, jobWithHosts, until } from '../harness/daemon.js';
import { skipWithoutNats } from '../harness/nats.js';
import { allHosts } from './helpers/sim-daemon.js';
import { balanced, startCluster, type Cluster } from '../harness/cluster-daemons.js';

const HOSTS = 90;
const IDS = ['a', 'b', 'c'];

t.test('rollouts started on different nodes of a cluster', { skip: skipWithoutNats() }, async (t) => {
  const cluster: Cluster = await startCluster({ ids: IDS, sim: { hosts: HOSTS, mix: { debian: 100 } } });
  t.teardown(() => cluster.stop());
  const [a2, b2, c] = await Promise.all(IDS.map((id) => cluster.start(id)));
  await balanced([a2, b2, c]);
  await until(async () => (await Promise.all([a2, b2, c].map(async (d) => (await allHosts(d)).size))).every((n) => n === HOSTS), 30_000, 200);
  const nodes = [a2, b2, c];
  const names = cluster.sim.hosts.map((h) => h.name);

  await t.test('two rollouts at once on two nodes over disjoint hosts: both finish, every host once', async (t) => {
    const half = names.slice(0, HOSTS / 2);
    const other = names.slice(HOSTS / 2);
    const [r1, r2] = await Promise.all([
      a2.request('POST', '/fleet/update', { dry_run: true, batch_size: 20, filter: { exclude_hosts: other } }),
      b2.request('POST', '/fleet/update', { dry_run: true, batch_size: 20, filter: { exclude_hosts: half } }),
    ]);
    t.equal(r1.status, 202);
    t.equal(r2.status, 202);
    const [j1, j2] = await Promise.all([jobEnded(c, r1.body.job_id, 120_000), jobEnded(c, r2.body.job_id, 120_000)]);
    for (const j of [j1, j2]) t.match(j, { state: 'succeeded', summary: { total: HOSTS / 2, completed: HOSTS / 2 } }, `${j.id}: every host completed ${JSON.stringify(j.summary)}`);
    const h1 = await jobWithHosts(a2, j1.id);
    t.same(h1.hosts.map((h: any) => h.host), half, 'the first over its half');
  });

  await t.test('two rollouts at once on two nodes over the same hosts: a host busy with one is skipped by the other, never run twice at once', async (t) => {
    const [r1, r2] = await Promise.all([
      a2.request('POST', '/fleet/update', { dry_run: true, batch_size: 45 }),
      c.request('POST', '/fleet/update', { dry_run: true, batch_size: 45 }),
    ]);
    const [j1, j2] = await Promise.all([jobEnded(b2, r1.body.job_id, 120_000), jobEnded(b2, r2.body.job_id, 120_000)]);
    for (const j of [j1, j2]) t.equal(accountedFor(j.summary), HOSTS, `${j.id}: every host accounted for ${JSON.stringify(j.summary)}`);
    const [h1, h2] = await Promise.all([jobWithHosts(nodes[1], j1.id), jobWithHosts(nodes[1], j2.id)]);
    const skipped = [...h1.hosts, ...h2.hosts].filter((h: any) => h.state === 'skipped');
    t.ok(skipped.length > 0, `${skipped.length} hosts skipped by one rollout because the other held them`);
    t.ok(skipped.every((h: any) => /busy|claimed/i.test(`${h.code} ${h.reason} ${h.error}`)), 'each for being busy with (or claimed by) the other');
    const ran2 = new Set(h2.hosts.filter((h: any) => h.state === 'completed').map((h: any) => h.host));
    const both = h1.hosts.filter((h: any) => h.state === 'completed' && ran2.has(h.host));
    // Completed in both means one after the other: a host's actor takes one operation at a time.
    for (const h of both) {
      const other = h2.hosts.find((x: any) => x.host === h.host);
      t.not(h.finished_at, other.finished_at, `${h.host} ran in both, one after the other`);
    }
  });

  await t.test('a rollout started on c while one from a holds the hosts: those hosts are skipped, claimed by it (as on one daemon)', async (t) => {
    // 9 batches 3 s apart: the first still holds most hosts when the second
    // starts, even on a loaded machine (with 1 s apart it had run 7 of 9
    // batches by then in one full run under load).
    const r1 = await a2.request('POST', '/fleet/update', { dry_run: true, batch_size: 10, delay_ms: 3000 });
    t.equal(r1.status, 202);
    const first: string = r1.body.job_id;
    // Under way, as c reads it, before the second starts.
    await until(async () => (await c.get(`/jobs/${first}`)).body.summary?.completed >= 1, 60_000, 100);
    const asked = Date.now();
    const r2 = await c.request('POST', '/fleet/update', { dry_run: true, batch_size: 10 });
    t.equal(r2.status, 202);
    t.comment(`the second rollout started in ${Date.now() - asked} ms (it reads the first from the job log)`);
    const [j1, j2] = await Promise.all([jobEnded(b2, first, 120_000), jobEnded(b2, r2.body.job_id, 120_000)]);
    t.match(j1, { state: 'succeeded', summary: { completed: HOSTS } }, 'the first ran every host');
    t.equal(accountedFor(j2.summary), HOSTS, `the second accounted for every host ${JSON.stringify(j2.summary)}`);
    const held = c.logs.filter((l) => l.msg === 'rollout: hosts other rollouts hold are skipped').at(-1);
    const warned = nodes.flatMap((d) => d.logs.filter((l) => /^(warn|error|40|50)$/.test(String(l.level))).slice(-5));
    t.ok(j2.summary.skipped >= HOSTS - 30, `and skipped those the first still held (c's last claim log: ${JSON.stringify(held)}; the first at the end: ${JSON.stringify(j1.summary)}; warnings: ${JSON.stringify(warned)})`);
    const h2 = await jobWithHosts(b2, j2.id);
    const skipped = h2.hosts.filter((h: any) => h.state === 'skipped');
    t.same(skipped.filter((h: any) => h.reason !== `claimed by rollout ${first}`).map((h: any) => `${h.host}: ${h.reason}`), [], 'each claimed by the first, by its id');
  });

  await t.test('a rollout cancelled through another node: nothing new starts, it ends cancelled; a finished job refuses a cancel on any node', async (t) => {
    const r = await a2.request('POST', '/fleet/update', { dry_run: true, batch_size: 10, delay_ms: 60_000 });
    t.equal(r.status, 202);
    const id: string = r.body.job_id;
    await until(async () => (await c.get(`/jobs/${id}`)).body.summary?.completed >= 10, 60_000, 100);
    const cancel = await c.request('POST', `/jobs/${id}/cancel`, {});
    t.equal(cancel.status, 200, 'cancel accepted on c, a coordinates it');
    const done = await jobEnded(b2, id, 30_000);
    t.match(done, { state: 'cancelled', summary: { completed: 10, skipped: HOSTS - 10 } }, 'the first batch ran, the rest skipped');
    const again = await b2.request('POST', `/jobs/${id}/cancel`, {});
    t.equal(again.status, 409, 'cancelling it again is refused');
    t.equal(again.body.code, 'JOB_FINISHED');
    const missing = await c.request('POST', '/jobs/no-such-job/cancel', {});
    t.equal(missing.status, 404);
    t.equal(missing.body.code, 'JOB_NOT_FOUND');
  });

  await t.test('the coordinator stopped with SIGTERM mid-rollout: it hands the rollout back and another node finishes it', async (t) => {
    const r = await a2.request('POST', '/fleet/update', { dry_run: true, batch_size: 10, delay_ms: 1000 });
    t.equal(r.status, 202);
    const id: string = r.body.job_id;
    await until(async () => (await c.get(`/jobs/${id}`)).body.summary?.completed >= 20, 60_000, 100);
    t.equal(await a2.stop('SIGTERM'), 0, 'a clean exit');
    const done = await jobEnded(c, id, 120_000);
    t.equal(accountedFor(done.summary), HOSTS, `every host accounted for: ${JSON.stringify(done.summary)}`);
    t.equal(done.summary.skipped, 0, 'none skipped');
    t.same(await jobWithHosts(b2, id), await jobWithHosts(c, id), 'b and c read the same job');
  });
});
