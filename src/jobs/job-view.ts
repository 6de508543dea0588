// What the API answers about a job: its counts (cheap at any size) and its
// per-host results one filtered page at a time.
import type { Job, JobBatch, JobHostResult, JobRecord, JobSummary } from '../../common/schemas/job.js';

interface Counts {
  summary: JobSummary;
  /** Fleet rollouts only. */
  batches?: JobBatch[];
}

/**
 * Counts of finished jobs, which no longer change: GET /jobs lists up to 50
 * jobs a page, and recounting 10,000 hosts each on every read made it the
 * slowest read of the soak.
 */
const finishedCounts = new WeakMap<JobRecord, Counts>();

function counted(job: JobRecord): Counts {
  const cached = finishedCounts.get(job);
  if (cached) return cached;
  const c = count(job);
  if (job.finished_at !== null) finishedCounts.set(job, c);
  return c;
}

export function summarize(job: JobRecord): JobSummary {
  return { ...counted(job).summary };
}

/** A finished job's host changed after all (a late result): count it again on the next read. */
export function forgetSummary(job: JobRecord): void {
  finishedCounts.delete(job);
}

const zero = () => ({ total: 0, pending: 0, running: 0, completed: 0, failed: 0, unreachable: 0, skipped: 0 });

/** One pass over the hosts: the summary and, for a rollout, the same counts per batch. */
function count(job: JobRecord): Counts {
  const summary: JobSummary = { ...zero(), total: job.hosts.length };
  if (job.kind !== 'fleet_update') {
    for (const h of job.hosts) summary[h.state]++;
    return { summary };
  }
  const byBatch: JobBatch[] = [];
  for (const h of job.hosts) {
    summary[h.state]++;
    const n = h.batch ?? 0;
    const b = (byBatch[n] ??= { batch: n, ...zero() });
    b.total++;
    b[h.state]++;
  }
  return { summary, batches: byBatch.filter(Boolean) };
}

export function jobView(job: JobRecord): Job {
  const { hosts: _hosts, ...fields } = job;
  const c = counted(job);
  const view: Job = { ...fields, summary: { ...c.summary } };
  if (c.batches) view.batches = c.batches.map((b) => ({ ...b }));
  return view;
}

export interface JobHostsQuery {
  state?: JobHostResult['state'];
  /** 0: hosts that have run in no batch. */
  batch?: number;
  page: number;
  per_page: number;
}

export interface JobHostsPage {
  data: JobHostResult[];
  total_items: number;
}

/** One page of the job's host results in the job's host order, optionally of one state and one batch. */
export function jobHostsPage(job: JobRecord, q: JobHostsQuery): JobHostsPage {
  const from = (q.page - 1) * q.per_page;
  const to = from + q.per_page;
  if (!q.state && q.batch === undefined) return { data: job.hosts.slice(from, to), total_items: job.hosts.length };
  const data: JobHostResult[] = [];
  let matched = 0;
  for (const h of job.hosts) {
    if (q.state && h.state !== q.state) continue;
    if (q.batch !== undefined && (h.batch ?? 0) !== q.batch) continue;
    if (matched >= from && matched < to) data.push(h);
    matched++;
  }
  return { data, total_items: matched };
}
