// Jobs in JetStream (job-log.ts) against a real nats-server: one node writes
// a job and its host results, another reads it, paged and filtered exactly as
// GET /jobs/{id}/hosts pages a single daemon's job (the same job-view.ts).
import t from 'tap';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { isWrongRevision } from '../src/cluster/buckets.js';
import { JOBS_BUCKET, JobLog } from '../src/cluster/job-log.js';
import type { ClusterJobHeader, ClusterJobHostEntry } from '../src/cluster/job-log-schema.js';
import { jobHostsPage, jobView } from '../src/jobs/job-view.js';
import { skipWithoutNats } from '../harness/nats.js';
import { natsWithTwoClients } from './helpers/nats-clients.js';
import type { JobHostResult } from '../common/schemas/job.js';

const HOUR = 3_600_000;

function header(id: string, over: Partial<ClusterJobHeader> = {}): ClusterJobHeader {
  const ts = new Date().toISOString();
  return {
    id,
    kind: 'fleet_update',
    state: 'running',
    dry_run: false,
    created_at: ts,
    started_at: ts,
    finished_at: null,
    request_id: 'req-1',
    user: 'ops',
    error: null,
    coordinator: 'a',
    request: { batch_size: 100, filter: { tags: ['web'] } },
    chunks: 0,
    summary: { total: 0, pending: 0, running: 0, completed: 0, failed: 0, unreachable: 0, skipped: 0 },
    ...over,
  };
}

function entry(host: string, state: JobHostResult['state'], over: Partial<JobHostResult> = {}): ClusterJobHostEntry {
  return {
    node: 'b',
    instance: 'b-1',
    result: { host, state, host_state: 'idle', error: null, code: null, reason: null, finished_at: new Date().toISOString(), batch: 1, ...over },
  };
}

t.test('jobs bucket', { skip: skipWithoutNats() }, async (t) => {
  const [ncA, ncB] = await natsWithTwoClients(t);
  const a = await JobLog.open(ncA, { maxAgeMs: 24 * HOUR, maxBytes: 64 * 1024 ** 2 });

  await t.test('retention: the bucket takes cluster.jobs_max_age_s / jobs_max_bytes; the latest node to start sets them', async (t) => {
    const jsm = await jetstreamManager(ncA);
    let cfg = (await jsm.streams.info(`KV_${JOBS_BUCKET}`)).config;
    t.equal(cfg.max_age, 24 * HOUR * 1_000_000, 'max_age in ns');
    t.equal(cfg.max_bytes, 64 * 1024 ** 2);
    t.equal(cfg.max_msgs_per_subject, 1, 'one value per key');
    await JobLog.open(ncB, { maxAgeMs: 48 * HOUR, maxBytes: 128 * 1024 ** 2 });
    cfg = (await jsm.streams.info(`KV_${JOBS_BUCKET}`)).config;
    t.equal(cfg.max_age, 48 * HOUR * 1_000_000);
    t.equal(cfg.max_bytes, 128 * 1024 ** 2);
  });

  const b = await JobLog.open(ncB, { maxAgeMs: 24 * HOUR, maxBytes: 64 * 1024 ** 2 });
  const names = Array.from({ length: 2500 }, (_, i) => `web-${String(i).padStart(4, '0')}`);

  await t.test('a 2,500-host job written on one node is read, paged and filtered on another', async (t) => {
    await a.create(header('job-1'), names);
    // Results land as hosts finish, some from the owner that ran them, some from the coordinator.
    await Promise.all(names.slice(0, 1000).map((n, i) => a.writeEntry('job-1', entry(n, i % 10 === 0 ? 'failed' : 'completed', i % 10 === 0 ? { error: 'apt failed', code: 'PKG_COMMAND_FAILED' } : {}), null)));
    await b.writeEntry('job-1', entry('web-2000', 'running', { finished_at: null }), null);
    const job = await b.read('job-1');
    t.ok(job, 'read back');
    t.equal(job!.hosts.length, 2500, 'every selected host, in three selection chunks');
    t.same(job!.hosts.slice(0, 3).map((h) => h.host), ['web-0000', 'web-0001', 'web-0002'], 'in selection order');
    t.same(jobView(job!).summary, { total: 2500, pending: 1499, running: 1, completed: 900, failed: 100, unreachable: 0, skipped: 0 });
    const failed = jobHostsPage(job!, { state: 'failed', page: 2, per_page: 50 });
    t.equal(failed.total_items, 100);
    t.equal(failed.data.length, 50);
    t.equal(failed.data[0].host, 'web-0500', 'page 2 of the failed hosts');
    t.match(failed.data[0], { state: 'failed', error: 'apt failed', code: 'PKG_COMMAND_FAILED', batch: 1 });
    const pending = jobHostsPage(job!, { state: 'pending', page: 1, per_page: 10 });
    t.equal(pending.total_items, 1499);
    t.match(pending.data[0], { host: 'web-1000', state: 'pending', finished_at: null });
    t.match(jobHostsPage(job!, { state: 'running', page: 1, per_page: 10 }).data, [{ host: 'web-2000', state: 'running' }]);
  });

  await t.test('results are written by compare-and-set: a host is claimed once; a stale header write is refused', async (t) => {
    const first = await a.entry('job-1', 'web-2001');
    t.equal(first, null, 'never written');
    const racing = await Promise.allSettled([a.writeEntry('job-1', entry('web-2001', 'running'), null), b.writeEntry('job-1', entry('web-2001', 'running'), null)]);
    t.equal(racing.filter((r) => r.status === 'fulfilled').length, 1, 'one claim of two wins');
    t.ok(isWrongRevision((racing.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason), 'the other is told the key moved on');
    const claimed = await b.entry('job-1', 'web-2001');
    await b.releaseEntry('job-1', 'web-2001', claimed!.revision);
    const released = await a.entry('job-1', 'web-2001');
    t.equal(released?.value, null, 'released: pending again');
    t.ok(await a.writeEntry('job-1', entry('web-2001', 'running'), released!.revision), 'and can be claimed again');
    // As an owner claims (job-runner.ts): created, or written over a released claim's delete marker.
    const claim = await b.writeEntry('job-1', entry('web-2002', 'running'), null);
    await b.releaseEntry('job-1', 'web-2002', claim);
    t.ok((await a.writeEntry('job-1', entry('web-2002', 'running'), null)) > claim, 'a released claim is claimed again without its revision');
    await t.rejects(b.writeEntry('job-1', entry('web-2002', 'running'), null), /wrong last sequence/i, 'a live claim is not');

    const h = await a.header('job-1');
    const rev = await b.writeHeader({ ...h!.value, coordinator: 'b' }, h!.revision);
    await t.rejects(a.writeHeader({ ...h!.value, summary: { ...h!.value.summary, completed: 1 } }, h!.revision), /wrong last sequence/i, 'the old coordinator cannot write over the new one');
    t.equal((await a.header('job-1'))?.value.coordinator, 'b');
    t.ok(rev > h!.revision);
  });

  await t.test('a watch sees host results as they land', async (t) => {
    const seen: string[] = [];
    const w = await b.watchEntries('job-1', (host, e) => void seen.push(`${host} ${e.value?.result.state ?? 'released'}`));
    await a.writeEntry('job-1', entry('web-2100', 'completed'), null);
    const claim = await a.writeEntry('job-1', entry('web-2101', 'running'), null);
    await a.releaseEntry('job-1', 'web-2101', claim);
    const until = Date.now() + 5000;
    while (!seen.includes('web-2101 released') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    w.stop();
    // The bucket keeps one value per key: a write the watch has not delivered yet is replaced by the next one,
    // so "running" may be folded into "released". Each key's latest value always arrives, in write order.
    t.same(
      seen.filter((s) => s !== 'web-2101 running'),
      ['web-2100 completed', 'web-2101 released'],
    );
    t.ok(seen.length <= 3, 'nothing delivered twice');
  });

  await t.test('active jobs, cancel requests and the list of headers', async (t) => {
    await a.create(header('job-2', { kind: 'fleet_update', created_at: new Date(Date.now() + 1000).toISOString() }), ['x', 'y']);
    await a.create(header('job-3', { state: 'succeeded', finished_at: new Date().toISOString(), created_at: '2020-01-01T00:00:00.000Z' }), ['z']);
    t.same(await b.active(), ['job-1', 'job-2'], 'finished jobs are not active');
    await b.clearActive('job-2');
    t.same(await a.active(), ['job-1']);
    t.same((await b.list()).map((h) => h.id), ['job-2', 'job-1', 'job-3'], 'newest first');
    t.equal(await a.cancelRequested('job-1'), false);
    t.equal(await b.requestCancel('job-1'), true);
    t.equal(await a.cancelRequested('job-1'), true, 'seen from the other node');
    t.equal(await b.requestCancel('job-3'), false, 'a finished job cannot be cancelled');
    t.equal(await b.requestCancel('nope'), false, 'nor an unknown one');
    t.equal(await b.read('nope'), null);
  });

  await t.test('a finished job is read back once, then from the cache until its header changes', async (t) => {
    const first = await b.read('job-3');
    t.equal(await b.read('job-3'), first, 'the same record: nothing re-read');
    const h = await a.header('job-3');
    await a.writeHeader({ ...h!.value, error: 'late note' }, h!.revision);
    const again = await b.read('job-3');
    t.not(again, first, 'a header write is seen');
    t.equal(again?.error, 'late note');
    const running = await b.read('job-1');
    t.not(await b.read('job-1'), running, 'a running job is read afresh every time');
  });

  await t.test('a value that is not a job header is refused with its key', async (t) => {
    const kv = await new Kvm(ncA).open(JOBS_BUCKET);
    await kv.put('job.bad', JSON.stringify({ id: 'bad', state: 'weird' }));
    await t.rejects(b.header('bad'), /tendhost_jobs job\.bad: not a job header/);
  });

  await t.test('the list of jobs passes over such a value and reports it: the others still list', async (t) => {
    const kv = await new Kvm(ncA).open(JOBS_BUCKET);
    await kv.put('job.garbage', 'not json');
    const bad: string[] = [];
    const c = await JobLog.open(ncB, { maxAgeMs: 24 * HOUR, maxBytes: 64 * 1024 ** 2 }, (err) => bad.push(err.message));
    t.same((await c.list()).map((h) => h.id), ['job-2', 'job-1', 'job-3'], 'every readable job, newest first');
    t.same(bad.sort(), ['tendhost_jobs job.bad: not a job header', 'tendhost_jobs job.garbage: not JSON']);
  });

  await t.test('a watch passes over a host entry that is none and goes on', async (t) => {
    const bad: string[] = [];
    const c = await JobLog.open(ncB, { maxAgeMs: 24 * HOUR, maxBytes: 64 * 1024 ** 2 }, (err) => bad.push(err.message));
    const seen: string[] = [];
    const w = await c.watchEntries('job-1', (host, e) => void seen.push(`${host} ${e.value?.result.state}`));
    const kv = await new Kvm(ncA).open(JOBS_BUCKET);
    const before = seen.length;
    await kv.put('host.job-1.web-junk', '{"result":'); // the entry key, `host.<job>.<host>`
    await a.writeEntry('job-1', entry('web-2200', 'completed'), null);
    const until = Date.now() + 5000;
    while (!seen.includes('web-2200 completed') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    w.stop();
    t.same(seen.slice(before), ['web-2200 completed'], 'the entry after the bad one arrives');
    t.match(bad, [/web-junk: not JSON/]);
    const entries = await c.entries('job-1');
    t.ok(entries.has('web-2200') && !entries.has('web-junk'), 'the listing passes over it too');
    t.equal(bad.length, 2, 'and reports it');
  });
});
