// Puts every job's start and end on the event stream, so clients (the CLI's
// --follow, the dashboard, waitForJob) learn that a job ended without polling.
import type { JobStore } from '../jobs/job-store.js';
import { summarize } from '../jobs/job-view.js';
import type { JobRecord } from '../../common/schemas/job.js';
import type { UnstampedStreamEvent } from '../../common/schemas/stream.js';
import { eventHostList } from '../../common/schemas/event-host-list.js';

export interface EventSink {
  emit(event: UnstampedStreamEvent): unknown;
}

export function announceJobs(jobs: JobStore, sink: EventSink): void {
  jobs.onStart((job) => sink.emit(jobStarted(job)));
  jobs.onFinish((job) => sink.emit(jobFinished(job)));
}

export function jobStarted(job: JobRecord): UnstampedStreamEvent {
  return {
    type: 'JobStarted',
    job_id: job.id,
    ...(job.request_id ? { request_id: job.request_id } : {}),
    kind: job.kind,
    dry_run: job.dry_run,
    total: job.hosts.length,
    hosts: eventHostList(job.hosts.map((h) => h.host)),
  };
}

export function jobFinished(job: JobRecord): UnstampedStreamEvent {
  const { total, completed, failed, unreachable, skipped } = summarize(job);
  return {
    type: 'JobFinished',
    job_id: job.id,
    ...(job.request_id ? { request_id: job.request_id } : {}),
    kind: job.kind,
    state: job.state,
    dry_run: job.dry_run,
    total,
    completed,
    failed,
    unreachable,
    skipped,
    error: job.error,
  };
}
