// The job reads the API answers, from the job log instead of this process's
// job store: the same views (src/jobs/job-view.ts) over the record any node
// reads back, so GET /jobs, /jobs/{id} and /jobs/{id}/hosts answer the same
// on every node, whoever coordinated or continued the job.
//
// A rollout coordinated on this node is answered from its coordinator's
// record in memory (exact, and nothing to read); another node's rollout from
// its header alone for its counts — reading every host entry back cost
// ≈ 0.6 s of the front thread per GET /jobs/{id} of a running 10,000-host
// rollout, so a dashboard polling it every few seconds took most of a node.
// Only a page of per-host results reads the entries.
import type { Job, JobRecord, JobState } from '../../common/schemas/job.js';
import { jobHostsPage, jobView, type JobHostsPage, type JobHostsQuery } from '../jobs/job-view.js';
import type { JobLog } from './job-log.js';
import type { ClusterJobHeader } from './job-log-schema.js';

/** The record of a rollout this node coordinates now; null for any other job. */
export type CoordinatedHere = (id: string) => JobRecord | null;

const nowhere: CoordinatedHere = () => null;

/** A job with its counts; null when the log does not have it (unknown, or past retention). */
export async function readJob(log: Pick<JobLog, 'read' | 'header'>, id: string, here: CoordinatedHere = nowhere): Promise<Job | null> {
  const mine = here(id);
  if (mine) return jobView(mine);
  const h = await log.header(id);
  if (!h) return null;
  // A rollout's header carries its counts (at most a tick old while it runs, final once it
  // ended) and, unless it has very many batches, theirs: then it answers alone.
  if (h.value.kind === 'fleet_update' && h.value.batches) return headerView(h.value);
  const job = await log.read(id);
  return job ? jobView(job) : null;
}

/** One page of a job's host results, optionally of one state and batch; null for an unknown job. */
export async function readJobHosts(log: Pick<JobLog, 'read'>, id: string, q: JobHostsQuery, here: CoordinatedHere = nowhere): Promise<JobHostsPage | null> {
  const job = here(id) ?? (await log.read(id));
  return job ? jobHostsPage(job, q) : null;
}

/** Jobs newest first, from their headers (their counts as of the coordinator's last write, at most a tick old). */
export async function listJobs(log: Pick<JobLog, 'list'>, filter: { state?: JobState } = {}): Promise<Job[]> {
  const out: Job[] = [];
  for (const h of await log.list()) {
    if (filter.state && h.state !== filter.state) continue;
    out.push(headerView(h));
  }
  return out;
}

/** The job as the API shows it, from its header. */
export function headerView(h: ClusterJobHeader): Job {
  const { coordinator: _c, request: _r, chunks: _n, ...job } = h;
  return job;
}
