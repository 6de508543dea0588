// Stopping a rollout: max_failures (count and percentage) stops it before the
// next batch, max_unreachable counts offline hosts apart from failed updates,
// a failed canary stops everything after it, and hosts never started are
// skipped with the reason and never touched (checked on the simulator).
import t from 'tap';
import { startCycleFleet, type CycleFleet } from './helpers/fleet-cycle.js';
import { jobWithHosts, until } from '../harness/daemon.js';

let f: CycleFleet;
const name = (i: number) => `sim-${String(i).padStart(5, '0')}`;
/** Scenario groups of consecutive hosts, so each scenario has fresh hosts. */
const GROUPS: Record<string, [number, number]> = { count: [1, 12], pct: [13, 22], unreach: [23, 32], offline: [33, 38], canary: [39, 46], canaryok: [47, 54] };
const members = (g: string) => {
  const [a, b] = GROUPS[g];
  return Array.from({ length: b - a + 1 }, (_, k) => name(a + k));
};

t.before(async () => {
  f = await startCycleFleet({
    sim: { hosts: 54, mix: { debian: 1 }, rebootDownMs: 250 },
    toml: '[groups]\n' + Object.keys(GROUPS).map((g) => `${g} = ${JSON.stringify(members(g))}`).join('\n') + '\n',
  });
});
t.teardown(() => f?.stop());

function upgraded(n: string): boolean {
  return Object.keys(f.sim.host(n)!.counters.commands).some((c) => / -y .*upgrade$/.test(c));
}
async function run(body: object): Promise<{ id: string; job: any; done: any }> {
  const r = await f.d.request('POST', '/fleet/update', body);
  if (r.status !== 202) throw new Error(`POST /fleet/update: ${r.status} ${r.text}`);
  const id = r.body.job_id;
  const job = await until(async () => {
    const j = await jobWithHosts(f.d, id);
    return j.state !== 'running' ? j : null;
  }, 60_000, 100);
  const done = await until(() => f.events.all.find((e) => e.type === 'FleetUpdateCompleted' && e.job_id === id));
  return { id, job, done };
}
const states = (job: any) => Object.fromEntries(job.hosts.map((h: any) => [h.host, h.state]));

t.test('max_failures as a count: crossed in batch 2 → batches 3 and 4 never start', async (t) => {
  const g = members('count');
  await f.sim.setFault([g[1], g[4]], 'upgrade-fail', true);
  const { job, done } = await run({ batch_size: 3, max_failures: 1, filter: { groups: ['count'] } });
  const s = states(job);
  t.same([g[0], g[2], g[3], g[5]].map((n) => s[n]), ['completed', 'completed', 'completed', 'completed']);
  t.same([s[g[1]], s[g[4]]], ['failed', 'failed']);
  t.ok(g.slice(6).every((n) => s[n] === 'skipped'), 'batches 3 and 4 skipped');
  const skipped = job.hosts.filter((h: any) => h.state === 'skipped');
  t.ok(skipped.every((h: any) => h.reason === 'rollout aborted: 2 failed hosts crossed max_failures (1)'), 'with the reason');
  t.ok(g.slice(6).every((n) => !upgraded(n) && f.sim.host(n)!.counters.connections === 0), 'untouched hosts: no upgrade, not even a connection');
  t.match(done, { total: 12, completed: 4, failed: 2, unreachable: 0, skipped: 6, aborted_reason: '2 failed hosts crossed max_failures (1)' });
  t.equal(job.state, 'failed');
  const failed = job.hosts.find((h: any) => h.host === g[1]);
  t.equal(failed.code, 'PKG_COMMAND_FAILED');
  t.match(failed.error, /./, 'the failure says why');
});

t.test('max_failures as a percentage: "20%" of 10 allows 2, the third failure stops it', async (t) => {
  const g = members('pct');
  await f.sim.setFault([g[2], g[5], g[6]], 'upgrade-fail', true);
  const { job, done } = await run({ batch_size: 2, max_failures: '20%', filter: { groups: ['pct'] } });
  const s = states(job);
  t.same(g.map((n) => s[n]), ['completed', 'completed', 'failed', 'completed', 'completed', 'failed', 'failed', 'completed', 'skipped', 'skipped']);
  t.match(done, { completed: 5, failed: 3, unreachable: 0, skipped: 2, aborted_reason: '3 failed hosts crossed max_failures (20%)' });
  t.ok(!upgraded(g[8]) && !upgraded(g[9]));
});

t.test('unreachable hosts (refused, auth) are counted apart, with max_unreachable', async (t) => {
  const g = members('unreach');
  await f.sim.setFault([g[1]], 'refused', true);
  await f.sim.setFault([g[2]], 'auth', true);
  const { job, done } = await run({ batch_size: 2, max_unreachable: 1, max_failures: 0, filter: { groups: ['unreach'] } });
  const s = states(job);
  t.same(g.slice(0, 4).map((n) => s[n]), ['completed', 'unreachable', 'unreachable', 'completed']);
  t.equal(job.hosts.find((h: any) => h.host === g[1]).code, 'SSH_CONNECTION_REFUSED');
  t.equal(job.hosts.find((h: any) => h.host === g[2]).code, 'SSH_AUTH_FAILED');
  t.ok(g.slice(4).every((n) => s[n] === 'skipped' && !upgraded(n)));
  t.match(done, { total: 10, completed: 2, failed: 0, unreachable: 2, skipped: 6, aborted_reason: '2 unreachable hosts crossed max_unreachable (1)' });
  t.equal(done.completed + done.failed + done.unreachable + done.skipped, done.total);
});

t.test('one offline host neither fails the others nor vanishes from the results', async (t) => {
  const g = members('offline');
  await f.sim.setFault([g[0]], 'refused', true);
  const { job, done } = await run({ batch_size: 2, max_failures: 0, filter: { groups: ['offline'] } });
  t.match(done, { total: 6, completed: 5, failed: 0, unreachable: 1, skipped: 0, aborted_reason: null });
  const off = job.hosts.find((h: any) => h.host === g[0]);
  t.match(off, { state: 'unreachable', code: 'SSH_CONNECTION_REFUSED' });
  t.equal(job.state, 'failed', 'the job reports that not every host was updated');
});

t.test('a failed canary stops everything after it', async (t) => {
  const g = members('canary');
  await f.sim.setFault([g[0]], 'upgrade-fail', true);
  const { job, done } = await run({ canary: 1, batch_size: 3, filter: { groups: ['canary'] } });
  t.equal(states(job)[g[0]], 'failed');
  t.ok(g.slice(1).every((n) => states(job)[n] === 'skipped' && !upgraded(n) && f.sim.host(n)!.counters.connections === 0), 'no other host touched');
  t.match(done, { completed: 0, failed: 1, skipped: 7, aborted_reason: `canary failed on ${g[0]} (failed)` });
  t.equal(job.state, 'failed');
});

t.test('a good canary runs alone first, then the rest', async (t) => {
  const g = members('canaryok');
  const start = f.events.all.length;
  const { job, done } = await run({ canary: 2, batch_size: 6, filter: { groups: ['canaryok'] } });
  t.match(done, { completed: 8, failed: 0, skipped: 0 });
  t.equal(job.state, 'succeeded');
  const ev = f.events.all.slice(start).filter((e) => e.type === 'HostStateChanged');
  const canaryDone = Math.max(...g.slice(0, 2).map((n) => ev.find((e) => e.host === n && e.from === 'verifying' && e.to === 'idle').seq));
  const restStart = Math.min(...g.slice(2).map((n) => ev.find((e) => e.host === n && e.to === 'querying').seq));
  t.ok(canaryDone < restStart, 'no other host started before both canaries finished verifying');
});
