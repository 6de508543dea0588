// What the /jobs routes read and do, behind one interface: a single daemon
// answers from its job store (in memory, synchronous), a cluster node from
// the job log in JetStream (app/cluster-jobs.ts, asynchronous), so the
// handlers stay the same and typed from the same schemas.
import { TendhostError } from '../../common/errors.js';
import type { Job, JobState } from '../../common/schemas/job.js';
import type { JobStore } from './job-store.js';
import { jobHostsPage, jobView, type JobHostsPage, type JobHostsQuery } from './job-view.js';

export interface JobListPage {
  data: Job[];
  total_items: number;
}

export interface JobReads {
  /** One page of jobs, newest first. */
  list(filter: { host?: string; state?: JobState }, page: number, perPage: number): JobListPage | Promise<JobListPage>;
  /** Throws JOB_NOT_FOUND. */
  get(id: string): Job | Promise<Job>;
  /** Throws JOB_NOT_FOUND. */
  hosts(id: string, q: JobHostsQuery): JobHostsPage | Promise<JobHostsPage>;
  /** Nothing new starts, running hosts finish; the job as it is now. Throws JOB_NOT_FOUND, JOB_FINISHED. */
  cancel(id: string): Job | Promise<Job>;
}

export function notFound(id: string): TendhostError {
  return new TendhostError('JOB_NOT_FOUND', `job ${id} not found`);
}

/** A single daemon's jobs: its own job store. */
export function localJobReads(jobs: Pick<JobStore, 'get' | 'list' | 'isFinal' | 'cancel'>): JobReads {
  const jobOf = (id: string) => {
    const job = jobs.get(id);
    if (!job) throw notFound(id);
    return job;
  };
  return {
    list(filter, page, perPage) {
      const all = jobs.list(filter);
      return { data: all.slice((page - 1) * perPage, page * perPage).map(jobView), total_items: all.length };
    },
    get: (id) => jobView(jobOf(id)),
    hosts: (id, q) => jobHostsPage(jobOf(id), q),
    cancel(id) {
      const job = jobOf(id);
      if (jobs.isFinal(job)) throw new TendhostError('JOB_FINISHED', `job ${job.id} already ${job.state}`);
      jobs.cancel(job.id);
      return jobView(job);
    },
  };
}
