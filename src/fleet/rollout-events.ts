// What a rollout tells the event stream: that it started, its counts after
// each batch start and host end, and how it ended; each carries the job id
// and the id of the request that started the job.
import type { JobRecord } from '../../common/schemas/job.js';
import { eventHostList } from '../../common/schemas/event-host-list.js';
import type { RolloutDeps } from './rollout-deps.js';
import type { Final } from './rollout-rules.js';

export class RolloutEvents {
  constructor(
    private readonly job: JobRecord,
    private readonly broadcaster: RolloutDeps['broadcaster'],
  ) {}

  started(hosts: string[]): void {
    this.broadcaster.emit({ type: 'FleetUpdateStarted', job_id: this.job.id, total: hosts.length, hosts: eventHostList(hosts), ...this.#trace() });
  }

  progress(batch: number, c: Record<Final, number>, inProgress: number): void {
    this.broadcaster.emit({ type: 'FleetUpdateProgress', job_id: this.job.id, batch, ...c, in_progress: inProgress, ...this.#trace() });
  }

  /** `abortedReason`: why it stopped early (null: it ran to its end). */
  completed(total: number, c: Record<Final, number>, abortedReason: string | null): void {
    this.broadcaster.emit({
      type: 'FleetUpdateCompleted',
      job_id: this.job.id,
      total,
      completed: c.completed,
      failed: c.failed,
      unreachable: c.unreachable,
      skipped: c.skipped,
      aborted_reason: abortedReason,
      ...this.#trace(),
    });
  }

  #trace(): { request_id?: string } {
    return this.job.request_id ? { request_id: this.job.request_id } : {};
  }
}
