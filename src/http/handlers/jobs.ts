// /jobs: what every action became. A job reads as its counts; its per-host
// results are paged (a rollout can hold 10,000 hosts).
import { Type, type Static } from 'typebox';
import type { JobReads } from '../../jobs/job-reads.js';
import { Job, JobHostResult } from '../../../common/schemas/job.js';
import { EmptyBody, JobHostsQuery, JobIdParams, JobListQuery, Pagination } from '../../../common/schemas/requests.js';
import { ok, type Route, defineRoute } from '../route.js';

export const JobList = Type.Object({ data: Type.Array(Job), pagination: Pagination }, { title: 'JobList' });
export const JobHostList = Type.Object({ data: Type.Array(JobHostResult), pagination: Pagination }, { title: 'JobHostList' });

function pagination(page: number, perPage: number, total: number): Static<typeof Pagination> {
  return { page, per_page: perPage, total_items: total, total_pages: Math.max(1, Math.ceil(total / perPage)) };
}

/** `jobs`: a single daemon's job store, or a cluster node's job log (jobs/job-reads.ts). */
export function jobRoutes(jobs: JobReads): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/jobs',
      summary: 'List jobs, newest first',
      tag: 'jobs',
      query: JobListQuery,
      responses: { 200: { description: 'A page of jobs', schema: JobList } },
      clustered: true,
      async handler(r) {
        const q = r.query;
        const page = q.page ?? 1;
        const perPage = q.per_page ?? 50;
        const { data, total_items } = await jobs.list({ host: q.host, state: q.state }, page, perPage);
        return ok({ data, pagination: pagination(page, perPage, total_items) });
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
      clustered: true,
      async handler(r) {
        return ok(await jobs.get(r.params.id));
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
      clustered: true,
      async handler(r) {
        const q = r.query;
        const page = q.page ?? 1;
        const perPage = q.per_page ?? 50;
        const { data, total_items } = await jobs.hosts(r.params.id, { state: q.state, batch: q.batch, page, per_page: perPage });
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
      clustered: true,
      async handler(r) {
        return ok(await jobs.cancel(r.params.id));
      },
    }),
  ];
}
