// The job store bounds its memory by per-host results, not only by jobs: a
// rollout of 10,000 hosts is one job but 10,000 results.
import t from 'tap';
import { JobStore } from '../../src/jobs/job-store.js';

const hosts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

t.test('the oldest finished jobs go once the per-host results pass the cap; running ones stay', async (t) => {
  const store = new JobStore(10_000, 250);
  const a = store.create({ kind: 'fleet_update', hosts: hosts(100, 'a'), request_id: null, user: null, pending: true });
  const b = store.create({ kind: 'fleet_update', hosts: hosts(100, 'b'), request_id: null, user: null, pending: true });
  store.finish(b.id, 'succeeded');
  t.equal(store.hostResults, 200);
  // A third rollout would hold 300 results: the oldest finished one (b) goes, the running one (a) stays.
  const c = store.create({ kind: 'fleet_update', hosts: hosts(100, 'c'), request_id: null, user: null, pending: true });
  t.ok(store.get(a.id), 'the running job stays, even though it is older');
  t.notOk(store.get(b.id), 'the oldest finished job went');
  t.ok(store.get(c.id));
  t.equal(store.hostResults, 200);
  t.same(store.list().map((j) => j.id), [c.id, a.id], 'newest first, without the evicted one');
  // While nothing is finished, nothing is dropped (the cap is exceeded for a while).
  const d = store.create({ kind: 'fleet_update', hosts: hosts(100, 'd'), request_id: null, user: null, pending: true });
  t.equal(store.hostResults, 300);
  t.equal(store.list().length, 3);
  store.discard(d.id);
  t.equal(store.hostResults, 200, 'a discarded job gives its results back');
});

t.test('many small jobs are still bounded by count', async (t) => {
  const store = new JobStore(5, 1_000_000);
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) {
    const j = store.create({ kind: 'update', hosts: [`h${i}`], request_id: null, user: null });
    store.finish(j.id, 'succeeded');
    ids.push(j.id);
  }
  // The cap is checked when a job is created, so the newest finished one may add one over it.
  t.ok(store.list().length <= 6, `${store.list().length} jobs held`);
  t.ok(store.get(ids.at(-1)!), 'the newest is kept');
  t.notOk(store.get(ids[0]!), 'the oldest went');
  t.equal(store.hostResults, store.list().length);
});
