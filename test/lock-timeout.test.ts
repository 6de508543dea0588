// Bounded lock waits: dnf waits for another transaction's lock without limit
// of its own, so the daemon kills the wait after [daemon.operations]
// lock_timeout_s and fails the host with PACKAGE_MANAGER_LOCKED naming the
// holder; apt gets the same bound through DPkg::Lock::Timeout. A lock that is
// released inside the bound costs nothing but the wait.
import t from 'tap';
import { CMD } from '../workers/pkg/commands.js';
import { until } from '../harness/daemon.js';
import { startSimSetup, waitForJob } from './helpers/sim-daemon.js';

t.test('dnf waiting on a lock past lock_timeout_s fails PACKAGE_MANAGER_LOCKED naming the holder', async (t) => {
  const setup = await startSimSetup({ hosts: 2, mix: { fedora: 100 } }, { operations: 'lock_timeout_s = 2' });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const [held, freed] = setup.sim.hosts.map((h) => h.name);
  await setup.sim.setFault([held, freed], 'lock', true);

  const t0 = Date.now();
  const a = await d.request('POST', `/hosts/${held}/update`, {});
  const b = await d.request('POST', `/hosts/${freed}/update`, {});
  t.equal(a.status, 202);
  // The second host's lock is released inside the bound: its update goes through.
  await until(async () => (await d.get(`/hosts/${freed}`)).body.state === 'updating', 20_000);
  await setup.sim.setFault([freed], 'lock', false);

  const ja = await waitForJob(d, a.body.job_id, (j) => j.finished_at !== null, 30_000);
  const took = Date.now() - t0;
  t.equal(ja.hosts[0].code, 'PACKAGE_MANAGER_LOCKED');
  t.match(ja.hosts[0].error, /locked by process 4242: gave up after waiting 2 s \(lock_timeout_s\)/);
  t.ok(took < 20_000, `failed after ${took} ms, not the 30-minute command timeout`);
  const host = (await d.get(`/hosts/${held}`)).body;
  t.equal(host.failed?.code, 'PACKAGE_MANAGER_LOCKED');
  t.equal(host.failed?.previous_state, 'updating');

  const jb = await waitForJob(d, b.body.job_id, (j) => j.finished_at !== null, 30_000);
  t.equal(jb.state, 'succeeded', `the released host updated (${jb.hosts[0].error ?? ''})`);
});

t.test('apt upgrades carry DPkg::Lock::Timeout = lock_timeout_s (default 300)', async (t) => {
  t.match(CMD.aptUpgradeWaiting(300), /^LANG=C LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y /);
  const setup = await startSimSetup({ hosts: 1, mix: { debian: 100 } }, { operations: 'lock_timeout_s = 7' });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const name = setup.sim.hosts[0].name;
  const r = await d.request('POST', `/hosts/${name}/update`, {});
  const job = await waitForJob(d, r.body.job_id, (j) => j.finished_at !== null, 30_000);
  t.equal(job.state, 'succeeded');
  const seen = setup.sim.host(name)!.recent.filter((c) => c.includes('upgrade') && !c.includes(' -s '));
  t.ok(seen.some((c) => c.includes('apt-get -o DPkg::Lock::Timeout=7 -y')), `the upgrade asked apt to wait 7 s (${seen.join(' | ')})`);
});
