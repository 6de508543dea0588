// A 200-host rolling update against the fleet simulator: batch concurrency
// seen on the event stream, the real per-host flow (query → update → reboot →
// verify), totals that add up in the event and in the job, host selection by
// filter, two overlapping rollouts, and cancel.
import t from 'tap';
import { startCycleFleet, type CycleFleet } from './helpers/fleet-cycle.js';
import { jobWithHosts, until } from '../harness/daemon.js';

const HOSTS = 200;
let f: CycleFleet;

// Groups for the filter test: every 10th host in "tenth", hosts 1..30 in "first".
const name = (i: number) => `sim-${String(i).padStart(5, '0')}`;
const tenth = Array.from({ length: HOSTS / 10 }, (_, k) => name(10 * (k + 1)));
const first = Array.from({ length: 30 }, (_, k) => name(k + 1));

t.before(async () => {
  f = await startCycleFleet({
    sim: { hosts: HOSTS, rebootDownMs: 250 },
    toml: `[groups]\ntenth = ${JSON.stringify(tenth)}\nfirst = ${JSON.stringify(first)}\n`,
  });
});
t.teardown(() => f?.stop());

/** Real upgrades: an upgrade command the simulator received (not a simulation). */
export function upgradeCommands(commands: Record<string, number>): string[] {
  return Object.keys(commands).filter((c) => / -y .*upgrade$| -y upgrade$| up -d$/.test(c));
}

async function job(id: string): Promise<any> {
  return await jobWithHosts(f.d, id);
}
async function finished(id: string, timeoutMs = 90_000): Promise<any> {
  return until(async () => {
    const j = await job(id);
    return j.state !== 'running' ? j : null;
  }, timeoutMs, 100);
}
function completedEvent(id: string): any {
  return f.events.all.find((e) => e.type === 'FleetUpdateCompleted' && e.job_id === id);
}
function sum(c: any): number {
  return c.completed + c.failed + c.unreachable + c.skipped;
}

t.test('filters: tags (all of them), groups (any of them), exclude_hosts; the job lists its hosts up front', async (t) => {
  const hosts = f.sim.hosts;
  const fedora = hosts.filter((h) => h.persona === 'fedora').map((h) => h.name).sort();
  t.ok(fedora.length > 20, 'the simulator has fedora hosts');

  const cases: Array<[string, any, string[]]> = [
    ['tags fedora+sim', { tags: ['fedora', 'sim'] }, fedora],
    ['tags fedora+debian matches nothing', { tags: ['fedora', 'debian'] }, []],
    ['groups tenth|first', { groups: ['tenth', 'first'] }, [...new Set([...tenth, ...first])].sort()],
    ['groups first minus two', { groups: ['first'], exclude_hosts: [name(1), name(2)] }, first.slice(2)],
    ['tags + groups', { tags: ['fedora'], groups: ['first'] }, first.filter((n) => fedora.includes(n))],
  ];
  for (const [label, filter, expected] of cases) {
    const r = await f.d.request('POST', '/fleet/update', { dry_run: true, batch_size: 50, filter });
    t.equal(r.status, 202, label);
    const j = await job(r.body.job_id);
    t.same(j.hosts.map((h: any) => h.host).sort(), expected, `${label}: the job lists exactly the selected hosts at once`);
    const done = await finished(r.body.job_id);
    t.equal(done.state, 'succeeded', `${label}: dry run succeeded`);
    t.equal(done.hosts.filter((h: any) => h.state === 'completed').length, expected.length);
  }
  const none = await f.d.request('POST', '/fleet/update', { dry_run: true, filter: { tags: ['nope'] } });
  const j = await finished(none.body.job_id);
  t.equal(j.hosts.length, 0);
  t.equal(j.state, 'succeeded', 'an empty selection is an empty, successful rollout');
  t.match(completedEvent(none.body.job_id), { total: 0, completed: 0, failed: 0, unreachable: 0, skipped: 0 });
});

t.test('200 hosts in batches of 20: never more than 20 in flight, full reboot cycle, totals add up', async (t) => {
  const start = f.events.all.length;
  const r = await f.d.request('POST', '/fleet/update', { batch_size: 20 });
  t.equal(r.status, 202);
  const id = r.body.job_id;
  const early = await job(id);
  t.equal(early.hosts.length, HOSTS, 'every host listed up front');
  t.equal(early.kind, 'fleet_update');

  const j = await finished(id, 110_000);
  await until(() => completedEvent(id));
  const events = f.events.all.slice(start);

  // Concurrency from the stream: a host is in flight from leaving idle until it rests again.
  const active = new Set<string>();
  let maxActive = 0;
  for (const e of events) {
    if (e.type !== 'HostStateChanged' || e.job_id !== id) continue;
    if (e.to === 'idle' || e.to === 'failed') active.delete(e.host);
    else active.add(e.host);
    maxActive = Math.max(maxActive, active.size);
  }
  t.ok(maxActive <= 20, `at most 20 hosts between querying and verifying at once (saw ${maxActive})`);
  t.ok(maxActive >= 10, `batches really run in parallel (saw ${maxActive})`);

  const started = events.find((e) => e.type === 'FleetUpdateStarted' && e.job_id === id);
  t.equal(started.total, HOSTS);
  t.equal(started.hosts.length, HOSTS);
  const done = completedEvent(id);
  t.equal(sum(done), HOSTS, 'completed + failed + unreachable + skipped = total in FleetUpdateCompleted');
  t.equal(done.completed, HOSTS, 'every host completed');
  t.equal(done.aborted_reason, null);
  const progress = events.filter((e) => e.type === 'FleetUpdateProgress' && e.job_id === id);
  t.ok(progress.length >= 10, 'progress events on the stream');
  t.equal(Math.max(...progress.map((e) => e.batch)), 10, '10 batches of 20');
  t.ok(progress.every((e) => e.in_progress <= 20));

  t.equal(j.state, 'succeeded');
  const by = (s: string) => j.hosts.filter((h: any) => h.state === s).length;
  t.equal(by('completed') + by('failed') + by('unreachable') + by('skipped'), HOSTS, 'and in GET /jobs/:id');
  const summary = (await f.d.get(`/jobs/${id}`)).body.summary;
  t.same(summary, { total: HOSTS, pending: 0, running: 0, completed: by('completed'), failed: by('failed'), unreachable: by('unreachable'), skipped: by('skipped') }, "the job's summary counts its hosts");
  const page2 = await f.d.get(`/jobs/${id}/hosts?state=completed&page=2&per_page=7`);
  t.same(page2.body.data.map((h: any) => h.host), j.hosts.filter((h: any) => h.state === 'completed').slice(7, 14).map((h: any) => h.host), 'a filtered page holds the right hosts, in job order');
  t.same(page2.body.pagination, { page: 2, per_page: 7, total_items: by('completed'), total_pages: Math.ceil(by('completed') / 7) });
  t.same((await f.d.get(`/jobs/${id}/hosts?state=failed`)).body.data, [], 'no failed host: an empty page');

  // The real flow per host: debian/fedora hosts needed a reboot and got one, then verify.
  const apt = f.sim.hosts.find((h) => h.persona === 'debian')!;
  const chain = f.events.states(apt.name).slice(-7);
  t.same(chain, ['idle->querying', 'querying->pending_updates', 'pending_updates->updating', 'updating->waiting_reboot', 'waiting_reboot->rebooting', 'rebooting->verifying', 'verifying->idle']);
  const rebooted = f.sim.hosts.filter((h) => h.persona !== 'compose');
  t.ok(rebooted.every((h) => h.counters.reboots === 1 && h.pending.length === 0 && !h.rebootRequired), 'every package host upgraded and rebooted once');
  t.ok(f.sim.hosts.every((h) => upgradeCommands(h.counters.commands).length > 0), 'every host received its upgrade command');
  const hosts = await f.d.get('/hosts?per_page=200');
  t.ok(hosts.body.data.every((h: any) => h.state === 'idle' && h.last_updated !== null), 'all idle and updated');
});

t.test('two rollouts at once on overlapping hosts: claimed hosts are skipped by the other, never driven twice', async (t) => {
  for (const h of f.sim.hosts) f.sim.setPending(h.name, 3);
  f.sim.resetCounters();
  // A: hosts 1..30 (group "first"), slow batches; B: every 10th host (overlap: 10, 20, 30).
  const a = await f.d.request('POST', '/fleet/update', { batch_size: 5, delay_ms: 200, filter: { groups: ['first'] } });
  const b = await f.d.request('POST', '/fleet/update', { batch_size: 20, filter: { groups: ['tenth'] } });
  const [ja, jb] = [await finished(a.body.job_id), await finished(b.body.job_id)];
  const overlap = [name(10), name(20), name(30)];
  for (const n of overlap) {
    const hb = jb.hosts.find((h: any) => h.host === n);
    t.equal(hb.state, 'skipped', `${n} skipped by the second rollout`);
    t.match(hb.reason, new RegExp(`claimed by rollout ${a.body.job_id}`));
    t.equal(ja.hosts.find((h: any) => h.host === n).state, 'completed', `${n} updated by the first`);
    t.equal(upgradeCommands(f.sim.host(n)!.counters.commands).reduce((s, c) => s + f.sim.host(n)!.counters.commands[c], 0), 1, `${n} got exactly one upgrade`);
  }
  t.equal(jb.hosts.filter((h: any) => h.state === 'completed').length, tenth.length - 3);
  t.equal(ja.hosts.filter((h: any) => h.state === 'completed').length, 30);
  t.equal(sum(completedEvent(b.body.job_id)), tenth.length);

  // A host busy with a single-host action is skipped with the reason: a fedora
  // host whose dnf waits on a lock (the simulator's `lock` fault) stays updating.
  const busy = f.sim.hosts.find((h) => h.persona === 'fedora' && !first.includes(h.name))!.name;
  const selected = new Set([...tenth, busy]);
  f.sim.setPending(busy, 3);
  await f.sim.setFault([busy], 'lock', true);
  const single = await f.d.request('POST', `/hosts/${busy}/update`, {});
  t.equal(single.status, 202);
  await until(async () => (await f.d.get(`/hosts/${busy}`)).body.state === 'updating', 30_000, 50);
  const others = f.sim.hosts.map((h) => h.name).filter((n) => !selected.has(n));
  const c = await f.d.request('POST', '/fleet/update', { dry_run: true, filter: { exclude_hosts: others } });
  const jc = await finished(c.body.job_id);
  const hb = jc.hosts.find((h: any) => h.host === busy);
  t.equal(hb.state, 'skipped');
  t.equal(hb.reason, `busy (updating, job ${single.body.job_id})`, 'busy host skipped with its state and job');
  t.equal(jc.hosts.length, tenth.length + 1);
  t.equal(jc.hosts.filter((h: any) => h.state === 'completed').length, tenth.length, 'the others ran');
  await f.sim.setFault([busy], 'lock', false);
  await until(async () => (await f.d.get(`/jobs/${single.body.job_id}`)).body.state === 'succeeded', 30_000, 100);
});

t.test('cancel: no new hosts start, running ones finish, the job ends cancelled', async (t) => {
  for (const h of f.sim.hosts) f.sim.setPending(h.name, 3);
  f.sim.resetCounters();
  const start = f.events.all.length;
  const r = await f.d.request('POST', '/fleet/update', { batch_size: 10, delay_ms: 300 });
  const id = r.body.job_id;
  // Wait until the second batch is running, then cancel.
  await until(() => f.events.all.slice(start).some((e) => e.type === 'FleetUpdateProgress' && e.job_id === id && e.batch === 2 && e.in_progress > 0), 60_000, 10);
  const c = await f.d.request('POST', `/jobs/${id}/cancel`, {});
  t.equal(c.status, 200);
  const runningAtCancel = (await f.d.get(`/jobs/${id}/hosts?state=running&per_page=200`)).body.data.map((h: any) => h.host);
  const j = await finished(id);
  t.equal(j.state, 'cancelled');
  for (const n of runningAtCancel) t.equal(j.hosts.find((h: any) => h.host === n).state, 'completed', `${n} was running and finished`);
  const completed = j.hosts.filter((h: any) => h.state === 'completed');
  const skipped = j.hosts.filter((h: any) => h.state === 'skipped');
  t.ok(completed.length >= 10 && completed.length <= 20, `only the first two batches ran (${completed.length})`);
  t.equal(completed.length + skipped.length, HOSTS);
  t.ok(skipped.every((h: any) => h.reason === 'job cancelled before this host started'));
  const untouched = skipped.map((h: any) => f.sim.host(h.host)!);
  t.ok(untouched.every((h: any) => upgradeCommands(h.counters.commands).length === 0), 'skipped hosts received no upgrade command');
  t.match(completedEvent(id), { aborted_reason: 'job cancelled', completed: completed.length, skipped: skipped.length });
  const again = await f.d.request('POST', `/jobs/${id}/cancel`, {});
  t.equal(again.status, 409, 'a finished job cannot be cancelled again');
  t.equal(again.body.code, 'JOB_FINISHED');
});
