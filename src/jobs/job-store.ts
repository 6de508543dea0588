// Jobs live in the front process: created when a worker accepts an action,
// finished when every host of the job has reported its result.
import { randomUUID } from 'node:crypto';
import type { PortMessage } from '../../common/thread-protocol.js';
import type { JobRecord, JobHostResult, JobKind, JobState } from '../../common/schemas/job.js';
import { forgetSummary } from './job-view.js';

type HostResultMsg = Extract<PortMessage, { kind: 'job_result' }>;

/** Who decides a delegated job's host results and how it is cancelled. */
export interface JobOwner {
  hostResult(msg: HostResultMsg): void;
  cancel(): void;
}

export interface NewJob {
  kind: JobKind;
  hosts: string[];
  dry_run?: boolean;
  request_id: string | null;
  user: string | null;
  /** Hosts start as pending (a rollout starts them later) instead of running. */
  pending?: boolean;
}

const FINAL: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

export class JobStore {
  readonly #jobs = new Map<string, JobRecord>();
  readonly #order: string[] = [];
  readonly #max: number;
  /** Per-host results held, over every job: what a job costs in memory (a rollout holds one per host). */
  readonly #maxHostResults: number;
  #hostResults = 0;
  readonly #onFinish = new Set<(job: JobRecord) => void>();
  readonly #onStart = new Set<(job: JobRecord) => void>();
  readonly #cancelRequested = new Set<string>();
  /** Jobs whose host results are decided by their owner (fleet rollouts). */
  readonly #delegated = new Map<string, JobOwner>();

  #onChange: ((job: JobRecord, host?: string) => void) | null = null;
  /** Per job, its host results by name (jobs of a rollout can hold 10,000 hosts). */
  readonly #hostIndex = new Map<string, Map<string, JobHostResult>>();

  /**
   * At most `maxJobs` jobs and `maxHostResults` per-host results in memory
   * (oldest finished jobs go first; the state store keeps them). A count of
   * jobs alone does not bound memory: 10,000 rollouts of 10,000 hosts each
   * would hold 10^8 results (the soak benchmark saw the heap grow with each rollout).
   */
  constructor(maxJobs = 10_000, maxHostResults = 200_000) {
    this.#max = maxJobs;
    this.#maxHostResults = maxHostResults;
  }

  /** Per-host results held in memory now. */
  get hostResults(): number {
    return this.#hostResults;
  }

  /** Called after every change of a job (the state store listens). */
  setOnChange(fn: (job: JobRecord, host?: string) => void): void {
    this.#onChange = fn;
  }

  /**
   * Jobs read back at start. One that was still running when the daemon
   * stopped is never silently forgotten: it becomes `interrupted`, and so do
   * its unfinished hosts. Returns the jobs that were interrupted.
   */
  restore(jobs: JobRecord[], reason: string): JobRecord[] {
    const interrupted: JobRecord[] = [];
    for (const job of jobs) {
      if (!FINAL.has(job.state)) {
        job.state = 'interrupted';
        job.error = reason;
        job.finished_at = new Date().toISOString();
        for (const h of job.hosts) {
          if (h.state === 'running' || h.state === 'pending') {
            h.state = h.state === 'running' ? 'failed' : 'skipped';
            h.reason = reason;
            h.error = h.state === 'failed' ? reason : h.error;
            h.code = h.state === 'failed' ? 'INTERRUPTED' : h.code;
          }
        }
        interrupted.push(job);
        this.#onChange?.(job);
      }
      this.#jobs.set(job.id, job);
      this.#order.push(job.id);
      this.#hostResults += job.hosts.length;
    }
    this.#evict();
    return interrupted;
  }

  /** The job's action was accepted: it is persisted and announced (JobStarted). */
  accept(job: JobRecord): void {
    this.#onChange?.(job);
    for (const fn of this.#onStart) fn(job);
  }

  /** Something about the job changed outside this class (a rollout's host result, or all of it). */
  touch(job: JobRecord, host?: string): void {
    this.#onChange?.(job, host);
  }

  #hostOf(job: JobRecord, host: string): JobHostResult | undefined {
    let index = this.#hostIndex.get(job.id);
    if (!index) {
      index = new Map(job.hosts.map((h) => [h.host, h]));
      this.#hostIndex.set(job.id, index);
    }
    return index.get(host);
  }

  create(spec: NewJob, now = new Date()): JobRecord {
    const ts = now.toISOString();
    const job: JobRecord = {
      id: randomUUID(),
      kind: spec.kind,
      state: 'running',
      dry_run: spec.dry_run ?? false,
      hosts: spec.hosts.map((host) => ({
        host,
        state: spec.pending ? 'pending' : 'running',
        host_state: null,
        error: null,
        code: null,
        reason: null,
        finished_at: null,
      })),
      created_at: ts,
      started_at: ts,
      finished_at: null,
      request_id: spec.request_id,
      user: spec.user,
      error: null,
    };
    this.#jobs.set(job.id, job);
    this.#order.push(job.id);
    this.#hostResults += job.hosts.length;
    this.#evict();
    // Not persisted yet: the caller accept()s it once the action was accepted
    // (a refused action's job is discarded and must leave no trace).
    return job;
  }

  /** Forget a job that never started (its command was refused). */
  discard(id: string): void {
    const job = this.#jobs.get(id);
    if (!job) return;
    this.#jobs.delete(id);
    this.#hostResults -= job.hosts.length;
    this.#hostIndex.delete(id);
    const i = this.#order.lastIndexOf(id);
    if (i >= 0) this.#order.splice(i, 1);
  }

  /** The job's per-host results are set by its owner (e.g. a rollout), not by host reports. */
  delegate(id: string, owner: JobOwner): void {
    this.#delegated.set(id, owner);
  }

  get(id: string): JobRecord | undefined {
    return this.#jobs.get(id);
  }

  /** Newest first. */
  list(filter: { host?: string; state?: JobState } = {}): JobRecord[] {
    const out: JobRecord[] = [];
    for (let i = this.#order.length - 1; i >= 0; i--) {
      const job = this.#jobs.get(this.#order[i]);
      if (!job) continue;
      if (filter.state && job.state !== filter.state) continue;
      if (filter.host && !job.hosts.some((h) => h.host === filter.host)) continue;
      out.push(job);
    }
    return out;
  }

  countByState(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const j of this.#jobs.values()) c[j.state] = (c[j.state] ?? 0) + 1;
    return c;
  }

  onFinish(fn: (job: JobRecord) => void): void {
    this.#onFinish.add(fn);
  }

  onStart(fn: (job: JobRecord) => void): void {
    this.#onStart.add(fn);
  }

  /** A host reported the end of its part of a job. */
  hostResult(msg: HostResultMsg): void {
    const job = this.#jobs.get(msg.job_id);
    if (!job) return;
    const h = this.#hostOf(job, msg.host);
    if (!h) return;
    forgetSummary(job);
    h.host_state = msg.state;
    const owner = this.#delegated.get(job.id);
    if (owner) {
      owner.hostResult(msg);
      this.#onChange?.(job, msg.host);
      return;
    }
    h.state = msg.success ? 'completed' : 'failed';
    h.error = msg.error;
    h.code = msg.code;
    h.finished_at = msg.finished_at;
    this.#onChange?.(job, msg.host);
    if (job.hosts.every((x) => x.state !== 'running' && x.state !== 'pending')) {
      const failed = job.hosts.some((x) => x.state === 'failed');
      const interrupted = job.hosts.some((x) => x.code === 'INTERRUPTED' || x.code === 'WORKER_FAILED');
      const state = this.#cancelRequested.delete(job.id) ? 'cancelled' : interrupted ? 'interrupted' : failed ? 'failed' : 'succeeded';
      this.finish(job.id, state, interrupted ? (job.hosts.find((x) => x.error)?.error ?? null) : job.error);
    }
  }

  finish(id: string, state: JobState, error: string | null = null): void {
    const job = this.#jobs.get(id);
    if (!job || FINAL.has(job.state)) return;
    job.state = state;
    job.error = error;
    job.finished_at = new Date().toISOString();
    this.#delegated.delete(id);
    this.#onChange?.(job);
    for (const fn of this.#onFinish) fn(job);
  }

  /** Cancel: hosts not yet started are skipped; running ones finish and report. */
  cancel(id: string): void {
    const job = this.#jobs.get(id);
    if (!job || FINAL.has(job.state)) return;
    const owner = this.#delegated.get(id);
    if (owner) return owner.cancel();
    // A single-host job: its running operation finishes; the job ends cancelled.
    this.#cancelRequested.add(id);
    job.error = 'cancel requested';
  }

  isFinal(job: JobRecord): boolean {
    return FINAL.has(job.state);
  }

  #evict(): void {
    // Drop the oldest finished jobs past either cap; running ones are never dropped.
    let i = 0;
    while ((this.#jobs.size > this.#max || this.#hostResults > this.#maxHostResults) && i < this.#order.length) {
      const id = this.#order[i];
      const job = this.#jobs.get(id);
      if (job && FINAL.has(job.state)) {
        this.#jobs.delete(id);
        this.#hostResults -= job.hosts.length;
        this.#hostIndex.delete(id);
        this.#order.splice(i, 1);
      } else i++;
    }
  }
}
