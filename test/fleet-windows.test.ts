// Maintenance windows, against the daemon's injectable clock
// (TENDHOST_FAKE_TIME: the daemon starts at 09:59:50 UTC). Hosts outside their
// window are skipped with the reason, or — with wait_for_window — deferred
// until it opens (10:00) and then updated; a window that is far away can be
// waited for and the wait cancelled.
import t from 'tap';
import { startCycleFleet, type CycleFleet } from './helpers/fleet-cycle.js';
import { hostToml } from '../harness/simulator/toml.js';
import { jobWithHosts, until } from '../harness/daemon.js';

let f: CycleFleet;
const name = (i: number) => `sim-${String(i).padStart(5, '0')}`;
// Hosts 1-4: no window; 5-8: 10:00-10:30 (opens seconds after start); 9-10: 03:00-04:00.
const windowOf = (i: number) => (i >= 9 ? ['03:00', '04:00'] : i >= 5 ? ['10:00', '10:30'] : null);

t.before(async () => {
  f = await startCycleFleet({
    sim: { hosts: 10, mix: { debian: 1 }, rebootDownMs: 250 },
    hostToml: (h, key) => {
      const w = windowOf(h.index + 1);
      const policy = w ? `[host.policy]\nmaintenance_window = { start = "${w[0]}", end = "${w[1]}" }\n` : '';
      return hostToml(h, key) + policy;
    },
    env: { TENDHOST_FAKE_TIME: '2025-01-06T09:59:50Z', TZ: 'UTC' },
  });
});
t.teardown(() => f?.stop());

async function finished(id: string, timeoutMs = 60_000): Promise<any> {
  return until(async () => {
    const j = await jobWithHosts(f.d, id);
    return j.state !== 'running' ? j : null;
  }, timeoutMs, 100);
}
const host = (job: any, i: number) => job.hosts.find((h: any) => h.host === name(i));

t.test('sim hosts are numbered as the test expects', async (t) => {
  t.equal(f.sim.hosts[0].name, name(1));
  t.equal(f.sim.hosts[0].index, 0);
});

t.test('without wait_for_window, hosts outside their window are skipped with the reason', async (t) => {
  const r = await f.d.request('POST', '/fleet/update', { dry_run: true, batch_size: 10 });
  const job = await finished(r.body.job_id);
  for (const i of [1, 2, 3, 4]) t.equal(host(job, i).state, 'completed');
  for (const i of [5, 6, 7, 8]) t.match(host(job, i), { state: 'skipped', reason: 'outside maintenance window 10:00-10:30' });
  for (const i of [9, 10]) t.match(host(job, i), { state: 'skipped', reason: 'outside maintenance window 03:00-04:00' });
  const done = f.events.all.find((e) => e.type === 'FleetUpdateCompleted' && e.job_id === r.body.job_id);
  t.match(done, { total: 10, completed: 4, skipped: 6, failed: 0, unreachable: 0 });
  t.equal(job.state, 'succeeded', 'skipping by policy is not a failure');
  t.ok([5, 6, 7, 8, 9, 10].every((i) => f.sim.host(name(i))!.counters.connections === 0), 'skipped hosts were not contacted');
});

t.test('with wait_for_window, hosts are deferred until their window opens, then updated (with reboot)', async (t) => {
  const r = await f.d.request('POST', '/fleet/update', { batch_size: 10, wait_for_window: true, filter: { exclude_hosts: [name(9), name(10)] } });
  const id = r.body.job_id;
  // Before 10:00 on the daemon's clock: the window hosts wait, the others run.
  const early = await until(async () => {
    const j = await jobWithHosts(f.d, id);
    return [1, 2, 3, 4].every((i) => host(j, i).state === 'completed') ? j : null;
  }, 30_000, 50);
  for (const i of [5, 6, 7, 8]) t.match(host(early, i), { state: 'pending', reason: 'waiting for maintenance window 10:00-10:30' });
  t.ok([5, 6, 7, 8].every((i) => f.sim.host(name(i))!.counters.connections === 0), 'deferred hosts not contacted before their window');
  const job = await finished(id);
  t.equal(job.state, 'succeeded');
  for (const i of [5, 6, 7, 8]) t.equal(host(job, i).state, 'completed', `${name(i)} updated once its window opened`);
  t.ok([5, 6, 7, 8].every((i) => f.sim.host(name(i))!.counters.reboots === 1), 'and rebooted inside the window');
  t.same(f.events.states(name(5)).slice(-3), ['waiting_reboot->rebooting', 'rebooting->verifying', 'verifying->idle']);
  const clock = await f.d.get(`/hosts/${name(5)}`);
  t.ok(clock.body.last_updated >= '2025-01-06T10:00:00', `updated at ${clock.body.last_updated} on the daemon's clock, inside the window`);
});

t.test('a far-away window can be waited for, and the wait cancelled', async (t) => {
  const r = await f.d.request('POST', '/fleet/update', { dry_run: true, wait_for_window: true, filter: { groups: [], exclude_hosts: [1, 2, 3, 4, 5, 6, 7, 8].map(name) } });
  const id = r.body.job_id;
  const waiting = await until(async () => {
    const j = await jobWithHosts(f.d, id);
    return j.hosts.every((h: any) => h.reason?.startsWith('waiting for maintenance window 03:00-04:00')) ? j : null;
  });
  t.equal(waiting.state, 'running', 'the rollout waits (for ~17 hours of the daemon clock)');
  const c = await f.d.request('POST', `/jobs/${id}/cancel`, {});
  t.equal(c.status, 200);
  const job = await finished(id, 5000);
  t.equal(job.state, 'cancelled', 'cancel ends the wait at once');
  t.ok(job.hosts.every((h: any) => h.state === 'skipped' && h.reason === 'job cancelled before this host started'));
});
