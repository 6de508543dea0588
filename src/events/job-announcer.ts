// Puts every job's start and end on the event stream, so clients (the CLI's
// --follow, the dashboard, waitForJob) learn that a job ended without polling.
import type { JobStore } from '../jobs/job-store.js';
import type { Job } from '../schemas/job.js';
import type { UnstampedStreamEvent } from '../schemas/stream.js';

export interface EventSink {
  emit(event: UnstampedStreamEvent): unknown;
}

export function announceJobs(jobs: JobStore, sink: EventSink): void {
  jobs.onStart((job) => sink.emit(jobStarted(job)));
  jobs.onFinish((job) => sink.emit(jobFinished(job)));
}

export function jobStarted(job: Job): UnstampedStreamEvent {
  return {
    type: 'JobStarted',
    job_id: job.id,
    ...(job.request_id ? { request_id: job.request_id } : {}),
    kind: job.kind,
    dry_run: job.dry_run,
    hosts: job.hosts.map((h) => h.host),
  };
}

export function jobFinished(job: Job): UnstampedStreamEvent {
  const count = { completed: 0, failed: 0, unreachable: 0, skipped: 0 };
  for (const h of job.hosts) if (h.state in count) count[h.state as keyof typeof count]++;
  return {
    type: 'JobFinished',
    job_id: job.id,
    ...(job.request_id ? { request_id: job.request_id } : {}),
    kind: job.kind,
    state: job.state,
    dry_run: job.dry_run,
    total: job.hosts.length,
    ...count,
    error: job.error,
  };
}
