// Restart mid-rollout: after SIGKILL and after SIGTERM (long and tiny grace),
// every host (config and API-registered) and every job comes back; what was
// running when the daemon died is failed with the reason, its job is
// interrupted, and the audit log says so.
import type { Test } from 'tap';
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Daemon } from '../harness/daemon.js';
import { jobWithHosts, until } from '../harness/daemon.js';
import { allHosts, auditLines, countHosts, startSimSetup, waitForJob, watchEvents, type SimSetup } from './helpers/sim-daemon.js';

const HOSTS = 50;
const BATCH = 10;
// Batch 1 is sim-00001..sim-00010 (rollouts take hosts in name order); these
// three wait SLOW_MS for their SSH handshake, so they are mid-query when we stop.
const SLOW = ['sim-00003', 'sim-00006', 'sim-00009'];
const SLOW_MS = 4000;
const REGISTERED = 'sim-00050';

interface Before {
  setup: SimSetup;
  d: Daemon;
  rolloutId: string;
  earlierJobId: string;
  jobIds: string[];
  busyStates: Map<string, string>;
}

/** Daemon on 49 config hosts + 1 registered through the API, a finished job, and a rollout with SLOW in flight. */
async function midRollout(t: Test, graceS: number): Promise<Before> {
  const setup = await startSimSetup(
    { hosts: HOSTS, mix: { debian: 100 }, slowMs: SLOW_MS, faults: [`slow=${SLOW.join(',')}`] },
    { include: (h) => h.name !== REGISTERED, daemon: `shutdown_grace_s = ${graceS}` },
  );
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const reg = setup.sim.host(REGISTERED)!;
  const r = await d.request('POST', '/hosts', { name: REGISTERED, addr: reg.addr, port: reg.port, user: 'root', ssh_key: setup.sim.clientKeyPath, tags: ['api', 'registered'] });
  t.equal(r.status, 201, 'a host registered through the API');

  const earlier = await d.request('POST', '/hosts/sim-00020/update', { dry_run: true });
  t.equal(earlier.status, 202);
  await waitForJob(d, earlier.body.job_id, (j) => j.state === 'succeeded');

  const roll = await d.request('POST', '/fleet/update', { batch_size: BATCH, dry_run: true });
  t.equal(roll.status, 202, 'rollout accepted');
  const rolloutId = roll.body.job_id as string;
  // The fast hosts of batch 1 finish; the slow ones are still connecting.
  const job = await waitForJob(d, rolloutId, (j) => countHosts(j, 'completed') === BATCH - SLOW.length, 30_000);
  t.same(job.hosts.slice(0, BATCH).map((h: any) => h.host).sort(), Array.from({ length: BATCH }, (_, i) => `sim-${String(i + 1).padStart(5, '0')}`), 'batch 1 is the first ten hosts by name');
  t.same(job.hosts.filter((h: any) => h.state === 'running').map((h: any) => h.host).sort(), SLOW, 'the slow hosts are in flight');
  const busyStates = new Map<string, string>();
  for (const name of SLOW) {
    const s = (await d.get(`/hosts/${name}`)).body;
    t.ok(['querying', 'updating'].includes(s.state), `${name} is mid-operation (${s.state})`);
    busyStates.set(name, s.state);
  }
  const jobs = await d.get('/jobs?per_page=200');
  // Let the store's batched writes land (they flush every 100 ms).
  await sleep(400);
  return { setup, d, rolloutId, earlierJobId: earlier.body.job_id, jobIds: jobs.body.data.map((j: any) => j.id).sort(), busyStates };
}

/** What must hold after any restart: every host and job is back. */
async function checkEverythingBack(t: Test, b: Before, d2: Daemon): Promise<Map<string, any>> {
  const hosts = await allHosts(d2);
  t.equal(hosts.size, HOSTS, 'every host is back (49 from the file, 1 registered)');
  t.same(hosts.get(REGISTERED)?.tags, ['api', 'registered'], 'the API-registered host is back with its tags');
  t.equal(hosts.get('sim-00001')?.state, 'idle');
  t.equal(hosts.get('sim-00020')?.state, 'idle', 'a host updated earlier is idle');
  const jobs = await d2.get('/jobs?per_page=200');
  t.same(jobs.body.data.map((j: any) => j.id).sort(), b.jobIds, 'every job is back');
  const earlier = await d2.get(`/jobs/${b.earlierJobId}`);
  t.equal(earlier.body.state, 'succeeded', 'a finished job keeps its result');
  t.equal(earlier.body.summary.completed, 1);
  t.equal((await d2.get(`/jobs/${b.earlierJobId}/hosts`)).body.data[0].state, 'completed');
  return hosts;
}

t.test('SIGKILL mid-rollout: the in-flight hosts fail with the reason, the job is interrupted, and the audit says so', async (t) => {
  const b = await midRollout(t, 30);
  t.equal(await b.d.stop('SIGKILL'), null, 'killed');
  const d2 = await b.setup.start();
  const hosts = await checkEverythingBack(t, b, d2);
  for (const name of SLOW) {
    const s = hosts.get(name);
    t.equal(s.state, 'failed', `${name} is failed after the restart`);
    t.equal(s.error, `interrupted: daemon stopped during ${b.busyStates.get(name)}`, `${name} says why`);
    t.equal(s.failed.code, 'INTERRUPTED');
    t.equal(s.failed.previous_state, b.busyStates.get(name));
  }
  const job = await jobWithHosts(d2, b.rolloutId);
  t.equal(job.state, 'interrupted', 'the rollout job is interrupted');
  t.equal(countHosts(job, 'completed'), BATCH - SLOW.length, 'what finished stays finished');
  t.same(job.hosts.filter((h: any) => h.state === 'failed').map((h: any) => h.host).sort(), SLOW, 'the in-flight hosts failed');
  t.equal(countHosts(job, 'skipped'), HOSTS - BATCH, 'hosts never started are skipped');
  t.equal(countHosts(job, 'running') + countHosts(job, 'pending'), 0, 'nothing is left running');

  await until(() => auditLines(b.setup.auditFile).some((l) => l.action === 'job.interrupted'), 5000);
  const audit = auditLines(b.setup.auditFile);
  t.same(audit.filter((l) => l.action === 'host.interrupted').map((l) => l.host).sort(), SLOW, 'one audit line per interrupted host');
  t.ok(audit.some((l) => l.action === 'job.interrupted' && l.job_id === b.rolloutId), 'an audit line for the interrupted job');
  t.ok(d2.logs.some((l) => l.msg === `interrupted: daemon stopped during ${b.busyStates.get(SLOW[0])}` && l.host === SLOW[0]), 'and a log line');

  // Events survive the restart too: a client resuming from seq 1 is replayed the last run's history.
  const ws = await watchEvents(d2, '?since=1');
  // The replay arrives as many messages: wait for its last one (the interrupted host's failure, stamped at start).
  await until(() => ws.all.some((e) => e.host === SLOW[0] && e.type === 'HostStateChanged' && e.to === 'failed'), 5000).catch(() => {});
  const seqs = ws.all.filter((e) => typeof e.seq === 'number').map((e) => e.seq);
  t.ok(seqs.length > 40, `events of the previous run are replayed (${seqs.length})`);
  t.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), 'in seq order');
  const slowChanges = ws.all.filter((e) => e.type === 'HostStateChanged' && e.host === SLOW[0]).map((e) => `${e.from}->${e.to}`);
  t.same(slowChanges.slice(-2), [`idle->${b.busyStates.get(SLOW[0])}`, `${b.busyStates.get(SLOW[0])}->failed`], 'the resumed stream shows the interrupted host going to failed');
  ws.close();

  // The failed hosts can be acknowledged and updated again.
  const ack = await d2.request('POST', `/hosts/${SLOW[0]}/acknowledge`, {});
  t.equal(ack.status, 202, 'an interrupted host can be acknowledged');
});

t.test('SIGTERM with a long grace: running operations finish, nothing new starts, and the job is interrupted', async (t) => {
  const b = await midRollout(t, 30);
  const t0 = Date.now();
  t.equal(await b.d.stop('SIGTERM'), 0, 'exits 0');
  t.ok(Date.now() - t0 >= 1000, 'waited for the running operations');
  const d2 = await b.setup.start();
  const hosts = await checkEverythingBack(t, b, d2);
  for (const name of SLOW) {
    const s = hosts.get(name);
    // What both daemons logged of this host tells a failure here apart: interrupted at the drain, a worker lost, or a status lost at the stop.
    const said = [...b.d.logs, ...d2.logs].filter((l) => (l.host === name || /worker|shard/.test(l.msg)) && /^(warn|error|fatal)$/.test(String(l.level))).map((l) => l.msg);
    t.equal(s.state, 'idle', `${name} finished its dry run instead of being interrupted (${s.state}: ${s.error}; warnings: ${JSON.stringify(said)})`);
  }
  const job = await jobWithHosts(d2, b.rolloutId);
  t.equal(countHosts(job, 'completed'), BATCH, 'every host of batch 1 completed');
  t.equal(countHosts(job, 'failed'), 0, 'no host failed');
  t.equal(job.state, 'interrupted', 'the rollout itself did not finish: interrupted');
  t.equal(countHosts(job, 'skipped'), HOSTS - BATCH, 'the rest were never started');
  const audit = auditLines(b.setup.auditFile);
  t.equal(audit.filter((l) => l.action === 'host.interrupted').length, 0, 'no host was interrupted');
});

t.test('SIGTERM with a tiny grace: running operations are interrupted, with the reason and an audit line', async (t) => {
  const b = await midRollout(t, 0);
  t.equal(await b.d.stop('SIGTERM'), 0, 'exits 0');
  const d2 = await b.setup.start();
  const hosts = await checkEverythingBack(t, b, d2);
  for (const name of SLOW) {
    const s = hosts.get(name);
    t.equal(s.state, 'failed', `${name} is failed`);
    t.equal(s.error, `interrupted: daemon stopped during ${b.busyStates.get(name)}`, `${name} says why`);
    t.equal(s.failed.code, 'INTERRUPTED');
  }
  const job = await jobWithHosts(d2, b.rolloutId);
  t.equal(job.state, 'interrupted');
  t.same(job.hosts.filter((h: any) => h.state === 'failed').map((h: any) => h.host).sort(), SLOW, 'the in-flight hosts failed');
  t.ok(job.hosts.filter((h: any) => h.state === 'failed').every((h: any) => h.code === 'INTERRUPTED'), 'with code INTERRUPTED');
  await until(() => auditLines(b.setup.auditFile).some((l) => l.action === 'job.interrupted'), 5000);
  const audit = auditLines(b.setup.auditFile);
  t.same(audit.filter((l) => l.action === 'host.interrupted').map((l) => l.host).sort(), SLOW, 'one audit line per interrupted host');
});
