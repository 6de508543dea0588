// /jobs: what every action became. A job reads as its counts; its per-host
// results are paged (a rollout can hold 10,000 hosts).
import { Type, type Static } from 'typebox';
import { TendhostError } from '../../../common/errors.js';
import type { JobStore } from '../../jobs/job-store.js';
import { Job, JobHostResult, type JobRecord } from '../../../common/schemas/job.js';
import { EmptyBody, JobHostsQuery, JobIdParams, JobListQuery, Pagination } from '../../../common/schemas/requests.js';
import { jobHostsPage, jobView } from '../../jobs/job-view.js';
import { ok, type Route, defineRoute } from '../route.js';

export const JobList = Type.Object({ data: Type.Array(Job), pagination: Pagination }, { title: 'JobList' });
export const JobHostList = Type.Object({ data: Type.Array(JobHostResult), pagination: Pagination }, { title: 'JobHostList' });

function pagination(page: number, perPage: number, total: number): Static<typeof Pagination> {
  return { page, per_page: perPage, total_items: total, total_pages: Math.max(1, Math.ceil(total / perPage)) };
}

export function jobRoutes(jobs: Pick<JobStore, 'get' | 'list' | 'isFinal' | 'cancel'>): Route[] {
  const jobOf = (id: string): JobRecord => {
    const job = jobs.get(id);
    if (!job) throw new TendhostError('JOB_NOT_FOUND', `job ${id} not found`);
    return job;
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/jobs',
      summary: 'List jobs, newest first',
      tag: 'jobs',
      query: JobListQuery,
      responses: { 200: { description: 'A page of jobs', schema: JobList } },
      handler(r) {
        const q = r.query;
        const page = q.page ?? 1;
        const perPage = q.per_page ?? 50;
        const all = jobs.list({ host: q.host, state: q.state });
        return ok({ data: all.slice((page - 1) * perPage, page * perPage).map(jobView), pagination: pagination(page, perPage, all.length) });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/jobs/:id',
      summary: 'One job with its per-state host counts',
      tag: 'jobs',
      params: JobIdParams,
      responses: { 200: { description: 'The job', schema: Job } },
      errors: ['JOB_NOT_FOUND'],
      handler(r) {
        return ok(jobView(jobOf(r.params.id)));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/jobs/:id/hosts',
      summary: "A page of the job's per-host results, in the job's host order, optionally of one result state and (rollouts) one batch",
      tag: 'jobs',
      params: JobIdParams,
      query: JobHostsQuery,
      responses: { 200: { description: 'A page of host results', schema: JobHostList } },
      errors: ['JOB_NOT_FOUND'],
      handler(r) {
        const q = r.query;
        const page = q.page ?? 1;
        const perPage = q.per_page ?? 50;
        const { data, total_items } = jobHostsPage(jobOf(r.params.id), { state: q.state, batch: q.batch, page, per_page: perPage });
        return ok({ data, pagination: pagination(page, perPage, total_items) });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/jobs/:id/cancel',
      summary: 'Cancel a job: no new hosts are started; running ones finish',
      tag: 'jobs',
      params: JobIdParams,
      body: EmptyBody,
      responses: { 200: { description: 'The job after cancelling', schema: Job } },
      errors: ['JOB_NOT_FOUND', 'JOB_FINISHED'],
      handler(r) {
        const job = jobOf(r.params.id);
        if (jobs.isFinal(job)) throw new TendhostError('JOB_FINISHED', `job ${job.id} already ${job.state}`);
        jobs.cancel(job.id);
        return ok(jobView(job));
      },
    }),
  ];
}
