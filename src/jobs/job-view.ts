// What the API answers about a job: its counts (cheap at any size) and its
// per-host results one filtered page at a time.
import type { Job, JobHostResult, JobRecord, JobSummary } from '../../common/schemas/job.js';

/**
 * Counts of finished jobs, which no longer change: GET /jobs lists up to 50
 * jobs a page, and recounting 10,000 hosts each on every read made it the
 * slowest read of the soak.
 */
const finishedSummaries = new WeakMap<JobRecord, JobSummary>();

export function summarize(job: JobRecord): JobSummary {
  const cached = finishedSummaries.get(job);
  if (cached) return { ...cached };
  const summary = count(job);
  if (job.finished_at !== null) finishedSummaries.set(job, { ...summary });
  return summary;
}

/** A finished job's host changed after all (a late result): count it again on the next read. */
export function forgetSummary(job: JobRecord): void {
  finishedSummaries.delete(job);
}

function count(job: JobRecord): JobSummary {
  const summary: JobSummary = { total: job.hosts.length, pending: 0, running: 0, completed: 0, failed: 0, unreachable: 0, skipped: 0 };
  for (const h of job.hosts) summary[h.state]++;
  return summary;
}

export function jobView(job: JobRecord): Job {
  const { hosts: _hosts, ...fields } = job;
  return { ...fields, summary: summarize(job) };
}

export interface JobHostsQuery {
  state?: JobHostResult['state'];
  page: number;
  per_page: number;
}

export interface JobHostsPage {
  data: JobHostResult[];
  total_items: number;
}

/** One page of the job's host results in the job's host order, optionally of one state. */
export function jobHostsPage(job: JobRecord, q: JobHostsQuery): JobHostsPage {
  const from = (q.page - 1) * q.per_page;
  const to = from + q.per_page;
  if (!q.state) return { data: job.hosts.slice(from, to), total_items: job.hosts.length };
  const data: JobHostResult[] = [];
  let matched = 0;
  for (const h of job.hosts) {
    if (h.state !== q.state) continue;
    if (matched >= from && matched < to) data.push(h);
    matched++;
  }
  return { data, total_items: matched };
}
