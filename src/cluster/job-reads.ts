// The job reads the API answers, from the job log instead of this process's
// job store: the same views (src/jobs/job-view.ts) over the record any node
// reads back, so GET /jobs, /jobs/{id} and /jobs/{id}/hosts answer the same
// on every node, whoever coordinated or continued the job.
import type { Job, JobState } from '../../common/schemas/job.js';
import { jobHostsPage, jobView, type JobHostsPage, type JobHostsQuery } from '../jobs/job-view.js';
import type { JobLog } from './job-log.js';

/** A job with its counts; null when the log does not have it (unknown, or past retention). */
export async function readJob(log: Pick<JobLog, 'read'>, id: string): Promise<Job | null> {
  const job = await log.read(id);
  return job ? jobView(job) : null;
}

/** One page of a job's host results, optionally of one state and batch; null for an unknown job. */
export async function readJobHosts(log: Pick<JobLog, 'read'>, id: string, q: JobHostsQuery): Promise<JobHostsPage | null> {
  const job = await log.read(id);
  return job ? jobHostsPage(job, q) : null;
}

/** Jobs newest first, from their headers (their counts as of the coordinator's last write, at most a tick old). */
export async function listJobs(log: Pick<JobLog, 'list'>, filter: { state?: JobState } = {}): Promise<Job[]> {
  const out: Job[] = [];
  for (const h of await log.list()) {
    if (filter.state && h.state !== filter.state) continue;
    const { coordinator: _c, request: _r, chunks: _n, ...job } = h;
    out.push(job);
  }
  return out;
}
