// /jobs: what every action became.
import { Type } from 'typebox';
import { TendhostError } from '../../errors.js';
import type { DaemonContext } from '../../context.js';
import { Job } from '../../schemas/job.js';
import { EmptyBody, JobIdParams, JobListQuery, Pagination } from '../../schemas/requests.js';
import { ok, type Route } from '../route.js';

export const JobList = Type.Object({ data: Type.Array(Job), pagination: Pagination }, { title: 'JobList' });

export function jobRoutes(ctx: DaemonContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/jobs',
      summary: 'List jobs, newest first',
      tag: 'jobs',
      query: JobListQuery,
      responses: { 200: { description: 'A page of jobs', schema: JobList } },
      errors: ['VALIDATION_FAILED'],
      handler(r) {
        const q = r.query as { page?: number; per_page?: number; host?: string; state?: never };
        const page = q.page ?? 1;
        const perPage = q.per_page ?? 50;
        const all = ctx.jobs.list({ host: q.host, state: q.state });
        return ok({
          data: all.slice((page - 1) * perPage, page * perPage),
          pagination: { page, per_page: perPage, total_items: all.length, total_pages: Math.max(1, Math.ceil(all.length / perPage)) },
        });
      },
    },
    {
      method: 'GET',
      path: '/jobs/:id',
      summary: 'One job with per-host results',
      tag: 'jobs',
      params: JobIdParams,
      responses: { 200: { description: 'The job', schema: Job } },
      errors: ['JOB_NOT_FOUND'],
      handler(r) {
        const job = ctx.jobs.get(r.params.id);
        if (!job) throw new TendhostError('JOB_NOT_FOUND', `job ${r.params.id} not found`);
        return ok(job);
      },
    },
    {
      method: 'POST',
      path: '/jobs/:id/cancel',
      summary: 'Cancel a job: no new hosts are started; running ones finish',
      tag: 'jobs',
      params: JobIdParams,
      body: EmptyBody,
      responses: { 200: { description: 'The job after cancelling', schema: Job } },
      errors: ['JOB_NOT_FOUND', 'JOB_FINISHED'],
      handler(r) {
        const job = ctx.jobs.get(r.params.id);
        if (!job) throw new TendhostError('JOB_NOT_FOUND', `job ${r.params.id} not found`);
        if (ctx.jobs.isFinal(job)) throw new TendhostError('JOB_FINISHED', `job ${job.id} already ${job.state}`);
        ctx.jobs.cancel(job.id);
        return ok(ctx.jobs.get(job.id));
      },
    },
  ];
}
