// Cluster rollouts against a real nats-server: a rollout coordinated by the
// node that received it, each host run on its owner (a scripted owner in
// place of shard workers, harness/jobs-node.ts), every result in the job log.
// Then the coordinator dies — in this process, and as a process of its own
// killed with SIGKILL — and another node continues: every selected host is
// accounted for exactly once, none runs twice, hosts cut short are named.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { JobLog } from '../src/cluster/job-log.js';
import { listJobs, readJob, readJobHosts } from '../src/cluster/job-reads.js';
import { jobHostsPage, jobView } from '../src/jobs/job-view.js';
import type { JobRecord } from '../common/schemas/job.js';
import { skipWithoutNats, type NatsServer } from '../harness/nats.js';
import { ROOT, until } from '../harness/daemon.js';
import { jobsSettings, natsWithJobLog, startJobsNode, type JobsNode } from '../harness/jobs-node.js';

const PARTITIONS = 16;
const TTL_S = 3;

const start = (nats: NatsServer, id: string, runMs: number) => startJobsNode(jobsSettings(nats.url, id, PARTITIONS, TTL_S * 1000), { runMs });

/** Every partition owned by exactly one of these nodes, each holding its share. */
const balanced = (nodes: JobsNode[]) => {
  const owned = nodes.flatMap((n) => n.node.status().partitions);
  const share = Math.floor(PARTITIONS / nodes.length);
  return owned.length === PARTITIONS && new Set(owned).size === PARTITIONS && nodes.every((n) => n.node.status().partitions.length >= share);
};

async function finished(log: JobLog, id: string, timeoutMs = 60_000): Promise<JobRecord> {
  return until(async () => {
    const h = await log.header(id);
    return h?.value.finished_at ? log.read(id) : null;
  }, timeoutMs, 200);
}

/** completed + failed + unreachable + skipped = selected; none left pending or running; each host once. */
function accounted(t: Test, job: JobRecord, selected: string[]): void {
  const s = jobView(job).summary;
  t.equal(s.completed + s.failed + s.unreachable + s.skipped, selected.length, `completed ${s.completed} + failed ${s.failed} + unreachable ${s.unreachable} + skipped ${s.skipped} = ${selected.length} selected`);
  t.equal(s.pending + s.running, 0, 'no host left pending or running');
  t.same(job.hosts.map((h) => h.host), selected, 'every selected host, once, in order');
}

function noDuplicateRuns(t: Test, runs: string[]): void {
  const dup = runs.filter((r, i) => runs.indexOf(r) !== i);
  t.same(dup, [], `no host ran twice (${runs.length} runs)`);
}

t.test('cluster rollouts', { skip: skipWithoutNats() }, async (t) => {
  const { nats, log } = await natsWithJobLog(t);

  const a = await start(nats, 'a', 100);
  const b = await start(nats, 'b', 100);
  const c = await start(nats, 'c', 100);
  const live = [a, b, c];
  t.teardown(() => Promise.all(live.map((n) => n.stop().catch(() => undefined))));
  await until(() => balanced(live), 20_000);

  await t.test('a rollout sent to one node runs each host on its owner and records every result', async (t) => {
    const hosts = [...Array.from({ length: 50 }, (_, i) => `web-${i}`), 'fail-1', 'fail-2', 'fail-3', 'down-1', 'down-2', 'busy-1', 'busy-2'];
    const job0 = await a.jobs.rollouts.begin({ batch_size: 10 }, hosts, { request_id: 'req-1', user: 'ops' });
    // While it runs, the coordinator answers from its record in memory.
    const here = (id: string) => a.jobs.rollouts.get(id)?.job ?? null;
    t.match(await readJob(a.jobs.log, job0.id, here), { id: job0.id, state: 'running', summary: { total: 57 } }, 'the coordinator reads a running rollout from memory');
    t.equal((await readJobHosts(a.jobs.log, job0.id, { page: 1, per_page: 100 }, here))?.total_items, 57);
    const job = await finished(log, job0.id);
    accounted(t, job, hosts);
    t.match(jobView(job), { state: 'failed', summary: { completed: 50, failed: 3, unreachable: 2, skipped: 2 }, request_id: 'req-1', user: 'ops' });
    t.same(job.hosts.map((h) => h.batch), hosts.map((_, i) => Math.floor(i / 10) + 1), 'batches of 10');
    const runs = [...a.runs, ...b.runs, ...c.runs];
    noDuplicateRuns(t, runs);
    t.equal(runs.length, 55, 'every host but the busy ones ran');
    for (const n of live) {
      const mine = n.runs.map((r) => r.split(' ')[1]);
      t.ok(mine.length > 0, `node ${n.id} ran hosts of its partitions`);
      t.same(n.foreign, [], `node ${n.id} ran only hosts it owned at the time`);
    }
    const failed = jobHostsPage(job, { state: 'failed', page: 1, per_page: 50 });
    t.match(failed.data, [{ host: 'fail-1', code: 'PKG_COMMAND_FAILED', error: /scripted/ }, { host: 'fail-2' }, { host: 'fail-3' }]);
    t.match(jobHostsPage(job, { state: 'skipped', page: 1, per_page: 50 }).data, [{ host: 'busy-1', code: 'HOST_BUSY', reason: /busy/ }, { host: 'busy-2' }]);
    t.match(a.events.filter((e) => e.type === 'FleetUpdateCompleted'), [{ job_id: job.id, total: 57, completed: 50, failed: 3, unreachable: 2, skipped: 2 }]);
    t.equal((await log.active()).length, 0, 'no longer active');
    // What GET /jobs/{id}, /jobs/{id}/hosts and /jobs answer on any node.
    t.match(await readJob(c.jobs.log, job.id), { id: job.id, kind: 'fleet_update', state: 'failed', summary: { total: 57, completed: 50 }, batches: [{ batch: 1, total: 10 }] });
    t.match(await readJobHosts(b.jobs.log, job.id, { state: 'unreachable', page: 1, per_page: 10 }), { total_items: 2, data: [{ host: 'down-1', code: 'SSH_UNREACHABLE' }, { host: 'down-2' }] });
    t.equal(await readJob(b.jobs.log, 'no-such-job'), null);
    t.same(await readJob(b.jobs.log, job.id), jobView(job), 'the header alone gives what every entry read back gives (counts and batches)');
    t.match(await listJobs(c.jobs.log, { state: 'failed' }), [{ id: job.id, summary: { total: 57, completed: 50, failed: 3, unreachable: 2, skipped: 2 } }], 'the list carries the final counts');
  });

  await t.test('a cancel asked on another node reaches the coordinator', async (t) => {
    const hosts = Array.from({ length: 30 }, (_, i) => `c-${i}`);
    const job0 = await a.jobs.rollouts.begin({ batch_size: 5, delay_ms: 500 }, hosts, { request_id: null, user: null });
    await until(() => [...a.runs, ...b.runs, ...c.runs].filter((r) => r.startsWith(job0.id)).length >= 5, 10_000, 20);
    t.equal(await c.jobs.rollouts.cancel(job0.id), true);
    const job = await finished(log, job0.id);
    accounted(t, job, hosts);
    t.equal(job.state, 'cancelled');
    t.ok(jobView(job).summary.skipped > 0, 'hosts not started are skipped');
  });

  await t.test('the coordinator dies (in this process): another node continues; cut-short hosts are failed and named', async (t) => {
    const d = await start(nats, 'd', 600);
    live.push(d);
    await until(() => d.node.status().partitions.length > 0 && balanced(live), 20_000);
    const hosts = Array.from({ length: 40 }, (_, i) => `k-${i}`);
    const job0 = await d.jobs.rollouts.begin({ batch_size: 8 }, hosts, { request_id: 'req-k', user: 'ops' });
    const all = () => [...a.runs, ...b.runs, ...c.runs, ...d.runs].filter((r) => r.startsWith(job0.id));
    await until(() => all().length >= 12, 20_000, 20);
    // A hard death: the connection goes first, so nothing is handed back or written on the way out.
    await d.node.nc.close();
    const diedAt = Date.now();
    await d.jobs.stop({ handBack: false });
    live.splice(live.indexOf(d), 1);
    const dRuns = [...d.runs];
    const job = await finished(log, job0.id);
    accounted(t, job, hosts);
    noDuplicateRuns(t, all());
    const header = await log.header(job0.id);
    t.not(header?.value.coordinator, 'd', `continued by ${header?.value.coordinator}`);
    t.ok(Date.now() - diedAt < 60_000);
    const cut = job.hosts.filter((h) => h.code === 'INTERRUPTED');
    t.ok(cut.length > 0, `${cut.length} hosts were running on d when it died`);
    t.ok(cut.every((h) => /interrupted: cluster node d stopped during the update/.test(h.error ?? '')), 'each named with the node that died');
    t.ok(cut.every((h) => dRuns.some((r) => r.endsWith(` ${h.host}`))), 'only hosts d was running');
    t.equal(jobView(job).summary.completed + cut.length, hosts.length, 'the rest completed');
    await t.rejects(d.jobs.rollouts.begin({}, ['k-1'], { request_id: null, user: null }), { code: 'CLUSTER_UNAVAILABLE', message: /could not be recorded in the cluster/ }, 'a node cut off from NATS refuses a new rollout with 503 CLUSTER_UNAVAILABLE');
    await d.node.stop({ handBack: false }).catch(() => undefined);
  });

  await t.test('a coordinator that stops cleanly hands its rollout over at once, not after a lease TTL', async (t) => {
    const e = await start(nats, 'e', 300);
    live.push(e);
    await until(() => balanced(live), 20_000);
    const hosts = Array.from({ length: 30 }, (_, i) => `h-${i}`);
    const job0 = await e.jobs.rollouts.begin({ batch_size: 5 }, hosts, { request_id: null, user: null });
    const all = () => [...a.runs, ...b.runs, ...c.runs, ...e.runs].filter((r) => r.startsWith(job0.id));
    await until(() => all().length >= 8, 20_000, 20);
    const stoppedAt = Date.now();
    await e.jobs.stop({ handBack: true });
    let continuedAt = 0;
    await until(async () => {
      const h = await log.header(job0.id);
      if (h && h.value.coordinator !== 'e') continuedAt = Date.now();
      return continuedAt;
    }, 20_000, 50);
    t.ok(continuedAt - stoppedAt < (TTL_S * 1000) / 2, `continued ${continuedAt - stoppedAt} ms after the stop (lease TTL ${TTL_S} s)`);
    // e keeps running the hosts it owns until the job ends: this is the coordinator's handover alone.
    const job = await finished(log, job0.id);
    await e.node.stop({ handBack: true });
    live.splice(live.indexOf(e), 1);
    accounted(t, job, hosts);
    noDuplicateRuns(t, all());
    t.same(job.hosts.filter((h) => h.state !== 'completed'), [], 'a clean stop cuts nothing short: every host completed');
  });

  await t.test('a coordinator process killed with SIGKILL mid-rollout: another node continues it', async (t) => {
    const proc = spawnJobsNode(nats.url, 'p', 500);
    t.teardown(() => void proc.child.kill('SIGKILL'));
    await until(() => proc.lines.some((l) => l.event === 'ready'), 20_000);
    await until(() => {
      const owned = live.flatMap((n) => n.node.status().partitions);
      return owned.length < PARTITIONS && owned.length + 1 <= PARTITIONS; // p took its share
    }, 20_000);
    const hosts = [...Array.from({ length: 60 }, (_, i) => `s-${i}`), 'fail-s1', 'down-s1'];
    proc.child.stdin!.write(`${JSON.stringify({ request: { batch_size: 6 }, hosts })}\n`);
    const jobId = (await until(() => proc.lines.find((l) => l.event === 'job'), 10_000)).id as string;
    const runsOf = () => [...a.runs, ...b.runs, ...c.runs, ...proc.lines.filter((l) => l.event === 'run').map((l) => `${l.job} ${l.host}`)].filter((r) => r.startsWith(jobId));
    await until(() => runsOf().length >= 15, 30_000, 20);
    proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    let takenOverAt = 0;
    await until(async () => {
      const h = await log.header(jobId);
      if (h && h.value.coordinator !== 'p' && !takenOverAt) takenOverAt = Date.now();
      return takenOverAt;
    }, 30_000, 100);
    t.ok(takenOverAt - killedAt < (TTL_S + 5) * 1000, `job taken over ${takenOverAt - killedAt} ms after the SIGKILL (lease_ttl_s ${TTL_S})`);
    const job = await finished(log, jobId);
    accounted(t, job, hosts);
    noDuplicateRuns(t, runsOf());
    const pRuns = proc.lines.filter((l) => l.event === 'run').map((l) => l.host as string);
    const cut = job.hosts.filter((h) => h.code === 'INTERRUPTED');
    t.ok(cut.every((h) => /cluster node p stopped/.test(h.error ?? '')), `${cut.length} interrupted hosts, named`);
    t.ok(await claimedBy(log, jobId, cut.map((h) => h.host), 'p'), 'all of them claimed by p');
    t.ok(pRuns.every((h) => job.hosts.find((x) => x.host === h)?.state !== 'pending'), 'none p started is left pending');
    const failed = new Set(jobHostsPage(job, { state: 'failed', page: 1, per_page: 100 }).data.map((h) => h.host));
    t.ok(cut.every((h) => failed.has(h.host)) && failed.has('fail-s1'), 'interrupted hosts count as failed, with the scripted failure');
    t.equal(job.hosts.find((h) => h.host === 'down-s1')?.state, pRuns.includes('down-s1') ? job.hosts.find((h) => h.host === 'down-s1')?.state : 'unreachable');
  });

  await t.test('an owner process killed with SIGKILL while running hosts: the coordinator records them interrupted and goes on', async (t) => {
    const proc = spawnJobsNode(nats.url, 'q', 1500);
    t.teardown(() => void proc.child.kill('SIGKILL'));
    await until(() => proc.lines.some((l) => l.event === 'ready'), 20_000);
    await until(() => live.flatMap((n) => n.node.status().partitions).length <= PARTITIONS - 3, 20_000); // q took its share
    const hosts = Array.from({ length: 40 }, (_, i) => `o-${i}`);
    const job0 = await a.jobs.rollouts.begin({ batch_size: 20 }, hosts, { request_id: null, user: null });
    const qRuns = () => proc.lines.filter((l) => l.event === 'run' && l.job === job0.id).map((l) => l.host as string);
    await until(() => qRuns().length > 0, 20_000, 20);
    proc.child.kill('SIGKILL');
    const job = await finished(log, job0.id);
    accounted(t, job, hosts);
    const runs = [...a.runs, ...b.runs, ...c.runs, ...qRuns().map((h) => `${job0.id} ${h}`)].filter((r) => r.startsWith(job0.id));
    noDuplicateRuns(t, runs);
    const cut = job.hosts.filter((h) => h.code === 'INTERRUPTED').map((h) => h.host);
    t.ok(cut.length > 0, `${cut.length} hosts interrupted`);
    t.ok(await claimedBy(log, job0.id, cut, 'q'), 'each was claimed by q (it may have died between the claim and the start)');
    t.ok(qRuns().every((h) => cut.includes(h)), 'every host q had started is interrupted');
    t.ok(job.hosts.filter((h) => h.code === 'INTERRUPTED').every((h) => /cluster node q stopped during the update/.test(h.error ?? '')), 'named');
    t.same(job.hosts.filter((h) => h.state !== 'completed' && h.code !== 'INTERRUPTED'), [], 'every other host completed, on the nodes that took q\'s partitions over');
    t.equal((await log.header(job0.id))?.value.coordinator, 'a', 'the coordinator stayed');
  });
});

/** Every one of these hosts' entries names this node as the one that claimed it. */
async function claimedBy(log: JobLog, jobId: string, hosts: string[], node: string): Promise<boolean> {
  const entries = await log.entries(jobId);
  return hosts.every((h) => entries.get(h)?.value?.node === node);
}

interface Proc {
  child: ChildProcess;
  lines: Array<{ event: string; [k: string]: unknown }>;
}

function spawnJobsNode(url: string, id: string, runMs: number): Proc {
  const child = spawn(process.execPath, [join(ROOT, 'dist/harness/cluster-jobs-node.js'), url, id, String(PARTITIONS), String(TTL_S), String(runMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const p: Proc = { child, lines: [] };
  let buf = '';
  child.stdout!.on('data', (chunk) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      p.lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.on('data', (c) => process.stderr.write(`[${id}] ${c}`));
  return p;
}
