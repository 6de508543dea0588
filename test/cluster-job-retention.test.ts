// The jobs bucket keeps entries `jobs_max_age_s` after their last write, so a
// rollout that runs longer than that must keep its own record alive: its
// coordinator writes the selection, the active marker, the header and the
// final results again every half of the max age. Here the max age is 3 s and
// the rollout takes about 7 s; a record nobody refreshes is gone by then.
import t from 'tap';
import { connect } from '@nats-io/transport-node';
import { JobLog } from '../src/cluster/job-log.js';
import { jobView } from '../src/jobs/job-view.js';
import { skipWithoutNats, startNats } from '../harness/nats.js';
import { until } from '../harness/daemon.js';
import { jobsSettings, startJobsNode } from '../harness/jobs-node.js';

const MAX_AGE_MS = 3000;

t.test('a rollout longer than the jobs max age keeps its record', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const settings = (id: string) => ({ ...jobsSettings(nats.url, id, 8, 3000), jobs_retention: { max_age_ms: MAX_AGE_MS, max_bytes: 64 * 1024 ** 2 } });
  const a = await startJobsNode(settings('a'), { runMs: 50 });
  const b = await startJobsNode(settings('b'), { runMs: 50 });
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  const admin = await connect({ servers: nats.url });
  t.teardown(() => admin.close());
  const log = await JobLog.open(admin, { maxAgeMs: MAX_AGE_MS, maxBytes: 64 * 1024 ** 2 });

  const ts = new Date().toISOString();
  await log.create(
    { id: 'unattended', kind: 'fleet_update', state: 'succeeded', dry_run: false, created_at: ts, started_at: ts, finished_at: ts, request_id: null, user: null, error: null, coordinator: 'x', request: null, chunks: 0, summary: { total: 1, pending: 0, running: 0, completed: 1, failed: 0, unreachable: 0, skipped: 0 } },
    ['h'],
  );
  const hosts = ['r-1', 'r-2', 'r-3', 'r-4', 'r-5', 'r-6'];
  const job0 = await a.jobs.rollouts.begin({ batch_size: 2, delay_ms: 3200 }, hosts, { request_id: null, user: null });
  const job = await until(async () => ((await log.header(job0.id))?.value.finished_at ? log.read(job0.id) : null), 30_000, 200);
  t.ok(Date.now() - Date.parse(job.created_at) > 2 * MAX_AGE_MS, `the rollout ran ${Date.now() - Date.parse(job.created_at)} ms, over twice the max age`);
  t.match(jobView(job).summary, { total: 6, completed: 6 }, 'every host result of the first batch is still there');
  t.equal(await log.header('unattended'), null, 'a record nobody writes again is gone after the max age');
});
