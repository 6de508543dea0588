// The local model of the fleet a stream client keeps: hosts from the Snapshot,
// then every event applied in seq order. Pure (no I/O), so the same rules hold
// in the CLI, `tendhost top` and the browser, and tests drive it directly.
import type { HostStatus, JobKind, JobState, ServerMessage, SnapshotMessage, StreamEvent } from './types.js';

/** What the stream has told about a job so far. */
export interface JobProgress {
  id: string;
  kind: JobKind | 'fleet_update';
  dry_run: boolean;
  /** null while running. */
  state: JobState | null;
  total: number;
  completed: number;
  failed: number;
  unreachable: number;
  skipped: number;
  in_progress: number;
  /** Fleet rollouts: the batch now running (1 is the first, the canary when there is one; 0 = not started). */
  batch: number;
  hosts: string[];
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

export type ApplyResult = 'applied' | 'duplicate' | 'gap';

/** Finished jobs kept for a late `waitForJob` or a "recent jobs" list. */
const KEEP_FINISHED_JOBS = 200;

export class FleetModel {
  readonly #hosts = new Map<string, HostStatus>();
  readonly #jobs = new Map<string, JobProgress>();
  #seq = 0;
  /** Bumped on every change: views cache derived data against it. */
  version = 0;

  get hosts(): ReadonlyMap<string, HostStatus> {
    return this.#hosts;
  }

  get jobs(): ReadonlyMap<string, JobProgress> {
    return this.#jobs;
  }

  /** The seq of the last event applied (or of the last snapshot). */
  get seq(): number {
    return this.#seq;
  }

  /** True when a connection should resume after `seq` (a snapshot was applied, or `resumeFrom` said where). */
  get resuming(): boolean {
    return this.version > 0;
  }

  /** Start from `seq` without a snapshot: only events after it are applied (hosts stay empty). */
  resumeFrom(seq: number): void {
    if (!Number.isInteger(seq) || seq < 0) throw new RangeError(`seq must be an integer >= 0, got ${seq}`);
    this.#seq = seq;
    this.version++;
  }

  /** Replace every host with the snapshot's; jobs stay (they are not in a snapshot). */
  applySnapshot(msg: Pick<SnapshotMessage, 'seq' | 'hosts'>): void {
    this.#hosts.clear();
    for (const h of msg.hosts) this.#hosts.set(h.name, h);
    this.#seq = msg.seq;
    this.version++;
  }

  /**
   * Apply one event. An event at or below the current seq was seen already
   * (duplicate); one past seq + 1 means events were missed (gap) and is not
   * applied: the caller resumes from `seq`.
   */
  apply(e: StreamEvent): ApplyResult {
    if (e.seq <= this.#seq) return 'duplicate';
    if (e.seq !== this.#seq + 1) return 'gap';
    this.#seq = e.seq;
    this.#applyBody(e);
    this.version++;
    return 'applied';
  }

  /**
   * With a filter on, the daemon sends only matching events, so seqs jump:
   * accept any newer event without gap detection (a resume still asks from seq).
   */
  applyFiltered(e: StreamEvent): ApplyResult {
    if (e.seq <= this.#seq) return 'duplicate';
    this.#seq = e.seq;
    this.#applyBody(e);
    this.version++;
    return 'applied';
  }

  #applyBody(e: StreamEvent): void {
    switch (e.type) {
      case 'HostUpdated':
        this.#hosts.set(e.host, e.status);
        break;
      case 'HostRemoved':
        this.#hosts.delete(e.host);
        break;
      case 'HostStateChanged': {
        // HostUpdated carries the whole status; this keeps a types-filtered model right too.
        const h = this.#hosts.get(e.host);
        if (h && h.state !== e.to) this.#hosts.set(e.host, { ...h, state: e.to });
        break;
      }
      case 'JobStarted': {
        const j = this.#job(e.job_id, e.kind, e.dry_run, e.ts);
        Object.assign(j, { kind: e.kind, dry_run: e.dry_run, hosts: e.hosts, total: e.total });
        break;
      }
      case 'JobFinished': {
        const j = this.#job(e.job_id, e.kind, e.dry_run, e.ts);
        Object.assign(j, {
          state: e.state,
          total: e.total,
          completed: e.completed,
          failed: e.failed,
          unreachable: e.unreachable,
          skipped: e.skipped,
          in_progress: 0,
          error: e.error,
          finished_at: e.ts,
        });
        this.#trimFinished();
        break;
      }
      case 'FleetUpdateStarted': {
        const j = this.#job(e.job_id, 'fleet_update', false, e.ts);
        j.total = e.total;
        j.hosts = e.hosts;
        break;
      }
      case 'FleetUpdateProgress': {
        const j = this.#job(e.job_id, 'fleet_update', false, e.ts);
        Object.assign(j, { batch: e.batch, completed: e.completed, failed: e.failed, unreachable: e.unreachable, skipped: e.skipped, in_progress: e.in_progress });
        break;
      }
      case 'FleetUpdateCompleted': {
        const j = this.#job(e.job_id, 'fleet_update', false, e.ts);
        Object.assign(j, { completed: e.completed, failed: e.failed, unreachable: e.unreachable, skipped: e.skipped, total: e.total, in_progress: 0 });
        if (e.aborted_reason) j.error = e.aborted_reason;
        break;
      }
      case 'UpdateProgress':
      case 'UpdateCompleted':
      case 'HostConnected':
      case 'HostDisconnected':
        break; // news about a host, not a change of its status (HostUpdated carries that)
      default:
        // A newer daemon may send event types this client does not know: not an error.
        break;
    }
  }

  #job(id: string, kind: JobProgress['kind'], dryRun: boolean, ts: string): JobProgress {
    let j = this.#jobs.get(id);
    if (!j) {
      j = newJob(id, kind, dryRun, [], ts);
      this.#jobs.set(id, j);
    }
    return j;
  }

  #trimFinished(): void {
    let finished = 0;
    for (const j of this.#jobs.values()) if (j.state !== null) finished++;
    if (finished <= KEEP_FINISHED_JOBS) return;
    // Map order is insertion order: the oldest finished ones go first.
    for (const [id, j] of this.#jobs) {
      if (finished <= KEEP_FINISHED_JOBS) break;
      if (j.state !== null) {
        this.#jobs.delete(id);
        finished--;
      }
    }
  }
}

function newJob(id: string, kind: JobProgress['kind'], dryRun: boolean, hosts: string[], ts: string): JobProgress {
  return {
    id,
    kind,
    dry_run: dryRun,
    state: null,
    total: hosts.length,
    completed: 0,
    failed: 0,
    unreachable: 0,
    skipped: 0,
    in_progress: 0,
    batch: 0,
    hosts,
    error: null,
    started_at: ts,
    finished_at: null,
  };
}

/** Messages that are events (carry a seq and are applied), as opposed to control messages. */
export function isStreamEvent(m: ServerMessage): m is StreamEvent {
  return m.type !== 'Snapshot' && m.type !== 'Resync' && m.type !== 'FilterChanged' && m.type !== 'Pong' && m.type !== 'Error';
}
