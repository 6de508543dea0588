// The client's fleet model on its own: snapshot, events in seq order,
// duplicates ignored, gaps refused, jobs followed from start to end.
import t from 'tap';
import { FleetModel } from '../../src/client/fleet-model.js';
import type { StreamEvent } from '../../src/client/types.js';
import { hostStatus } from '../helpers/host-status.js';

const host = hostStatus;

const ts = '2026-12-06T00:00:00.000Z';

t.test('a snapshot then events in order give the daemon’s view', async (t) => {
  const m = new FleetModel();
  m.applySnapshot({ seq: 10, hosts: [host('a'), host('b')] });
  t.equal(m.seq, 10);
  t.equal(m.apply({ type: 'HostUpdated', seq: 11, ts, host: 'a', status: host('a', { state: 'querying', job_id: 'j1' }) }), 'applied');
  t.equal(m.apply({ type: 'HostStateChanged', seq: 12, ts, host: 'a', from: 'idle', to: 'querying' }), 'applied');
  t.equal(m.hosts.get('a')?.state, 'querying');
  t.equal(m.hosts.get('a')?.job_id, 'j1');
  t.equal(m.apply({ type: 'HostUpdated', seq: 13, ts, host: 'c', status: host('c') }), 'applied', 'a new host arrives');
  t.equal(m.apply({ type: 'HostRemoved', seq: 14, ts, host: 'b' }), 'applied');
  t.same([...m.hosts.keys()].sort(), ['a', 'c']);
  t.equal(m.seq, 14);
});

t.test('a duplicate is ignored and a gap is refused without changing anything', async (t) => {
  const m = new FleetModel();
  m.applySnapshot({ seq: 5, hosts: [host('a')] });
  const v = m.version;
  t.equal(m.apply({ type: 'HostStateChanged', seq: 5, ts, host: 'a', from: 'idle', to: 'failed' }), 'duplicate');
  t.equal(m.apply({ type: 'HostStateChanged', seq: 7, ts, host: 'a', from: 'idle', to: 'failed' }), 'gap');
  t.equal(m.hosts.get('a')?.state, 'idle');
  t.equal(m.seq, 5);
  t.equal(m.version, v);
  t.equal(m.applyFiltered({ type: 'HostStateChanged', seq: 7, ts, host: 'a', from: 'idle', to: 'failed' }), 'applied', 'a filtered stream skips seqs by design');
  t.equal(m.hosts.get('a')?.state, 'failed');
});

t.test('a job is followed from JobStarted through fleet progress to JobFinished', async (t) => {
  const m = new FleetModel();
  m.applySnapshot({ seq: 0, hosts: [] });
  const events: StreamEvent[] = [
    { type: 'JobStarted', seq: 1, ts, job_id: 'f', kind: 'fleet_update', dry_run: true, total: 3, hosts: ['a', 'b', 'c'] },
    { type: 'FleetUpdateStarted', seq: 2, ts, job_id: 'f', total: 3, hosts: ['a', 'b', 'c'] },
    { type: 'FleetUpdateProgress', seq: 3, ts, job_id: 'f', batch: 1, completed: 1, failed: 1, unreachable: 0, skipped: 0, in_progress: 1 },
  ];
  for (const e of events) t.equal(m.apply(e), 'applied');
  const running = m.jobs.get('f');
  t.match(running, { kind: 'fleet_update', dry_run: true, state: null, total: 3, completed: 1, failed: 1, in_progress: 1, batch: 1 });
  m.apply({ type: 'JobFinished', seq: 4, ts, job_id: 'f', kind: 'fleet_update', state: 'failed', dry_run: true, total: 3, completed: 1, failed: 1, unreachable: 1, skipped: 0, error: null });
  t.match(m.jobs.get('f'), { state: 'failed', completed: 1, failed: 1, unreachable: 1, in_progress: 0, finished_at: ts });
});

t.test('finished jobs are bounded; running ones are kept', async (t) => {
  const m = new FleetModel();
  m.applySnapshot({ seq: 0, hosts: [] });
  let seq = 0;
  m.apply({ type: 'JobStarted', seq: ++seq, ts, job_id: 'long', kind: 'update', dry_run: false, total: 1, hosts: ['a'] });
  for (let i = 0; i < 500; i++) {
    m.apply({ type: 'JobStarted', seq: ++seq, ts, job_id: `j${i}`, kind: 'query', dry_run: true, total: 1, hosts: ['a'] });
    m.apply({ type: 'JobFinished', seq: ++seq, ts, job_id: `j${i}`, kind: 'query', state: 'succeeded', dry_run: true, total: 1, completed: 1, failed: 0, unreachable: 0, skipped: 0, error: null });
  }
  t.ok(m.jobs.size <= 201, `kept ${m.jobs.size} jobs`);
  t.ok(m.jobs.has('long'), 'the running job stays');
  t.ok(m.jobs.has('j499'), 'the newest finished job stays');
  t.notOk(m.jobs.has('j0'), 'the oldest finished job went');
});
