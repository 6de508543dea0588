// What a rollout tells the event stream: that it started, its counts as
// batches start and hosts end, and how it ended; each carries the job id
// and the id of the request that started the job.
import type { JobRecord } from '../../common/schemas/job.js';
import { eventHostList } from '../../common/schemas/event-host-list.js';
import type { RolloutDeps } from './rollout-deps.js';
import type { Final } from './rollout-rules.js';

/**
 * Counts are cumulative, so a report may stand for those before it: at most
 * one FleetUpdateProgress per job in this long, with the latest counts. One
 * per finished host was one event per host to every WebSocket client (and,
 * in a cluster, to NATS and every node) saying what the host's own events
 * say already.
 */
export const PROGRESS_EVERY_MS = 100;

interface Progress {
  counts: Record<Final, number>;
  inProgress: number;
}

export class RolloutEvents {
  /** Counts not reported yet, of batch #batch. */
  #pending: Progress | null = null;
  #batch = -1;
  #lastAt = -Infinity;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly job: JobRecord,
    private readonly broadcaster: RolloutDeps['broadcaster'],
  ) {}

  started(hosts: string[]): void {
    this.broadcaster.emit({ type: 'FleetUpdateStarted', job_id: this.job.id, total: hosts.length, hosts: eventHostList(hosts), ...this.#trace() });
  }

  /**
   * Reported now, or with the next report within PROGRESS_EVERY_MS of the
   * last one. A batch's first counts (its start) and its last are always reported.
   */
  progress(batch: number, counts: Record<Final, number>, inProgress: number): void {
    const newBatch = batch !== this.#batch;
    if (newBatch) this.#flush();
    this.#batch = batch;
    this.#pending = { counts, inProgress };
    const wait = this.#lastAt + PROGRESS_EVERY_MS - performance.now();
    if (newBatch || wait <= 0) this.#flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => this.#flush(), wait);
      this.#timer.unref();
    }
  }

  /** `abortedReason`: why it stopped early (null: it ran to its end). */
  completed(total: number, c: Record<Final, number>, abortedReason: string | null): void {
    this.#flush();
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

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const p = this.#pending;
    if (!p) return;
    this.#pending = null;
    this.#lastAt = performance.now();
    this.broadcaster.emit({ type: 'FleetUpdateProgress', job_id: this.job.id, batch: this.#batch, ...p.counts, in_progress: p.inProgress, ...this.#trace() });
  }

  #trace(): { request_id?: string } {
    return this.job.request_id ? { request_id: this.job.request_id } : {};
  }
}
