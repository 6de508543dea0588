// One rolling fleet update: hosts selected (and claimed) up front, an optional
// canary batch that must fully succeed, then batches of `batch_size` with
// `delay_ms` between them, stopping before the next batch once max_failures or
// max_unreachable is crossed. Every selected host ends in exactly one of
// completed / failed / unreachable / skipped, with its reason.
import type { Broadcaster } from '../events/broadcaster.js';
import type { JobStore } from '../jobs/job-store.js';
import type { ShardPool } from '../pool/shard-pool.js';
import type { ReadModel } from '../state/read-model.js';
import type { JobRecord, JobHostResult } from '../../common/schemas/job.js';
import type { ResolvedHost } from '../../common/schemas/host.js';
import type { PortMessage } from '../../common/thread-protocol.js';
import { BUSY_STATES } from '../../common/schemas/host.js';
import { isInWindow, msUntilWindow } from '../../common/maintenance-window.js';
import { exceeds, type Threshold } from './threshold.js';
import { isUnreachable } from './outcome.js';

type HostResultMsg = Extract<PortMessage, { kind: 'job_result' }>;

export interface RolloutSpec {
  batch_size: number;
  delay_ms: number;
  dry_run: boolean;
  canary: number;
  max_failures: Threshold | null;
  max_unreachable: Threshold | null;
  wait_for_window: boolean;
}

/** Only the calls a rollout makes on each part (tests script them). */
export interface RolloutDeps {
  pool: Pick<ShardPool, 'command'>;
  jobs: Pick<JobStore, 'touch' | 'finish'>;
  model: Pick<ReadModel, 'get'>;
  broadcaster: Pick<Broadcaster, 'emit'>;
  hostConfig: (name: string) => ResolvedHost | undefined;
  /** Hosts held by any running rollout (shared by all of them): host → job id. */
  claims: Map<string, string>;
  now: () => Date;
  /** Waits ms, or less when `wake` is called (cancel). */
  sleep: (ms: number, wake: AbortSignal) => Promise<void>;
}

type Final = 'completed' | 'failed' | 'unreachable' | 'skipped';

export class Rollout {
  readonly job: JobRecord;
  readonly #spec: RolloutSpec;
  readonly #deps: RolloutDeps;
  readonly #counts: Record<Final, number> = { completed: 0, failed: 0, unreachable: 0, skipped: 0 };
  readonly #results = new Map<string, JobHostResult>();
  readonly #waiting = new Map<string, () => void>();
  readonly #wake = new AbortController();
  #cancelled = false;
  /** Set when the daemon stops under the rollout: it ends `interrupted` with this reason. */
  #halted: string | null = null;
  #batch = 0;
  #inProgress = 0;

  constructor(job: JobRecord, spec: RolloutSpec, deps: RolloutDeps) {
    this.job = job;
    this.#spec = spec;
    this.#deps = deps;
    for (const h of job.hosts) this.#results.set(h.host, h);
  }

  /** Claim every selected host no other rollout holds; the rest are skipped at start. */
  claim(): void {
    for (const name of this.#results.keys()) {
      if (!this.#deps.claims.has(name)) this.#deps.claims.set(name, this.job.id);
    }
  }

  /** No new hosts start; running ones finish and report. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    if (!this.job.error && !this.#halted) this.job.error = 'cancel requested';
    this.#wake.abort();
    this.#deps.jobs.touch(this.job);
  }

  /** The daemon is stopping: like cancel, but the job ends `interrupted`. */
  halt(reason: string): void {
    this.#halted ??= reason;
    this.cancel();
  }

  /** A host of this rollout reached rest (from the job store). */
  hostResult(msg: HostResultMsg): void {
    const h = this.#results.get(msg.host);
    if (!h || h.state !== 'running') return;
    if (msg.success) this.#finish(h, 'completed', null, null, msg.state === 'waiting_reboot' ? 'updated; waiting for a reboot (auto_reboot off or outside the maintenance window)' : null);
    else this.#finish(h, isUnreachable(msg.code) ? 'unreachable' : 'failed', msg.error, msg.code, null);
    this.#waiting.get(msg.host)?.();
  }

  async run(): Promise<void> {
    const { broadcaster } = this.#deps;
    const names = this.job.hosts.map((h) => h.host);
    broadcaster.emit({ type: 'FleetUpdateStarted', job_id: this.job.id, total: names.length, hosts: names, ...this.#trace() });
    // Hosts another rollout holds are never double-driven: skipped now, with who holds them.
    for (const n of names) {
      const owner = this.#deps.claims.get(n);
      if (owner !== this.job.id) this.#finish(this.#results.get(n) as JobHostResult, 'skipped', null, null, `claimed by rollout ${owner ?? 'unknown'}`);
    }
    let aborted: string | null = null;
    const eligible = names.filter((n) => this.#results.get(n)?.state === 'pending');
    const canary = eligible.slice(0, this.#spec.canary);
    const rest = eligible.slice(this.#spec.canary);
    const deferred: string[] = [];

    if (canary.length > 0) {
      // Canary hosts are never deferred: a canary that cannot run now is a failed canary.
      await this.#runBatch(canary, null);
      const bad = canary.filter((n) => this.#results.get(n)?.state !== 'completed');
      if (bad.length > 0) aborted = `canary failed on ${bad.map((n) => `${n} (${this.#results.get(n)?.state})`).join(', ')}`;
    }
    for (let i = 0; !aborted && i < rest.length; i += this.#spec.batch_size) {
      // Checked before each batch: a threshold crossed by the last batch stops nothing.
      aborted = this.#thresholdCrossed();
      if (aborted || this.#cancelled) break;
      if ((i > 0 || canary.length > 0) && this.#spec.delay_ms > 0) await this.#sleep(this.#spec.delay_ms);
      if (this.#cancelled) break;
      await this.#runBatch(rest.slice(i, i + this.#spec.batch_size), deferred);
    }
    // Hosts waiting for their maintenance window go when it opens, earliest window first.
    while (!aborted && !this.#cancelled && deferred.length > 0) {
      const now = this.#deps.now();
      const next = Math.min(...deferred.map((n) => msUntilWindow(this.#window(n), now)));
      if (!Number.isFinite(next)) break;
      await this.#sleep(Math.max(0, next));
      if (this.#cancelled) break;
      const open = deferred.filter((n) => isInWindow(this.#window(n), this.#deps.now()));
      for (const n of open) deferred.splice(deferred.indexOf(n), 1);
      for (let i = 0; i < open.length; i += this.#spec.batch_size) {
        aborted = this.#thresholdCrossed();
        if (aborted || this.#cancelled) break;
        if (this.#spec.delay_ms > 0) await this.#sleep(this.#spec.delay_ms);
        if (this.#cancelled) break;
        await this.#runBatch(open.slice(i, i + this.#spec.batch_size), null);
      }
    }

    const why = aborted
      ? `rollout aborted: ${aborted}`
      : this.#halted
        ? `interrupted: ${this.#halted}`
        : this.#cancelled
          ? 'job cancelled before this host started'
          : 'maintenance window never opens';
    for (const h of this.#results.values()) if (h.state === 'pending') this.#finish(h, 'skipped', null, null, why);
    for (const n of names) if (this.#deps.claims.get(n) === this.job.id) this.#deps.claims.delete(n);

    const c = this.counts();
    const reason = aborted ?? (this.#halted ? `interrupted: ${this.#halted}` : this.#cancelled ? 'job cancelled' : null);
    broadcaster.emit({
      type: 'FleetUpdateCompleted',
      job_id: this.job.id,
      total: names.length,
      completed: c.completed,
      failed: c.failed,
      unreachable: c.unreachable,
      skipped: c.skipped,
      aborted_reason: reason,
      ...this.#trace(),
    });
    const state = this.#halted ? 'interrupted' : this.#cancelled ? 'cancelled' : aborted || c.failed + c.unreachable > 0 ? 'failed' : 'succeeded';
    this.#deps.jobs.finish(this.job.id, state, reason);
  }

  /** Hosts per final state so far (kept as they finish: a 10,000-host rollout is not recounted per host). */
  counts(): Record<Final, number> {
    return { ...this.#counts };
  }

  #window(name: string) {
    return this.#deps.hostConfig(name)?.policy.maintenance_window ?? null;
  }

  #sleep(ms: number): Promise<void> {
    return this.#cancelled ? Promise.resolve() : this.#deps.sleep(ms, this.#wake.signal);
  }

  #thresholdCrossed(): string | null {
    const c = this.counts();
    const total = this.#results.size;
    if (this.#spec.max_failures && exceeds(c.failed, total, this.#spec.max_failures)) {
      return `${c.failed} failed hosts crossed max_failures (${this.#spec.max_failures.text})`;
    }
    if (this.#spec.max_unreachable && exceeds(c.unreachable, total, this.#spec.max_unreachable)) {
      return `${c.unreachable} unreachable hosts crossed max_unreachable (${this.#spec.max_unreachable.text})`;
    }
    return null;
  }

  async #runBatch(names: string[], deferred: string[] | null): Promise<void> {
    this.#batch++;
    const running: Promise<void>[] = [];
    let started = 0;
    for (const name of names) {
      if (this.#cancelled) break;
      // A batch of thousands is started over several turns, so requests and
      // events keep flowing while it starts.
      if (++started % 256 === 0) await new Promise((r) => setImmediate(r));
      const h = this.#results.get(name) as JobHostResult;
      if (h.state !== 'pending') continue;
      // Recorded per host so GET /jobs/{id} can count per batch (the rollout view) at any time.
      h.batch = this.#batch;
      const skip = this.#skipReason(name);
      if (skip) {
        h.host_state = this.#deps.model.get(name)?.state ?? null;
        this.#finish(h, 'skipped', null, null, skip);
        continue;
      }
      const window = this.#window(name);
      if (!isInWindow(window, this.#deps.now())) {
        if (deferred && this.#spec.wait_for_window) {
          delete h.batch; // it runs in a later batch, once its window opens
          h.reason = `waiting for maintenance window ${window?.start}-${window?.end}`;
          deferred.push(name);
        } else this.#finish(h, 'skipped', null, null, `outside maintenance window ${window?.start}-${window?.end}`);
        continue;
      }
      running.push(this.#startHost(h));
    }
    this.#progress();
    await Promise.all(running);
  }

  #skipReason(name: string): string | null {
    const status = this.#deps.model.get(name);
    if (!status) return 'host was removed';
    const owner = this.#deps.claims.get(name);
    if (owner !== this.job.id) return `claimed by rollout ${owner ?? 'unknown'}`;
    if (BUSY_STATES.has(status.state) || status.job_id) return `busy (${status.state}${status.job_id ? `, job ${status.job_id}` : ''})`;
    if (status.state === 'failed') return 'host is failed (retry or acknowledge it first)';
    if (status.state === 'waiting_reboot') return 'host is waiting for a reboot';
    return null;
  }

  #startHost(h: JobHostResult): Promise<void> {
    h.state = 'running';
    h.reason = null;
    this.#inProgress++;
    const done = new Promise<void>((resolve) => this.#waiting.set(h.host, resolve));
    const trace = { job_id: this.job.id, request_id: this.job.request_id, user: this.job.user };
    this.#deps.pool
      .command(h.host, { kind: 'update', dry_run: this.#spec.dry_run }, trace, { readYourWrites: false })
      .then((reply) => {
        if (!reply.ok) {
          // Refused at the actor (it became busy between our check and the command).
          h.host_state = reply.state ?? null;
          this.#finish(h, 'skipped', null, reply.error.code, reply.error.message);
          this.#waiting.get(h.host)?.();
        }
      })
      .catch((err: Error) => {
        this.#finish(h, 'failed', err.message, 'WORKER_UNAVAILABLE', null);
        this.#waiting.get(h.host)?.();
      });
    return done.then(() => {
      this.#waiting.delete(h.host);
    });
  }

  #finish(h: JobHostResult, state: Final, error: string | null, code: string | null, reason: string | null): void {
    if (h.state !== 'pending' && h.state !== 'running') return;
    const wasRunning = h.state === 'running';
    if (wasRunning) this.#inProgress--;
    h.state = state;
    this.#counts[state]++;
    h.error = error;
    h.code = code;
    h.reason = reason;
    h.finished_at = this.#deps.now().toISOString();
    // The host is free for other rollouts as soon as this one is done with it.
    if (this.#deps.claims.get(h.host) === this.job.id) this.#deps.claims.delete(h.host);
    this.#deps.jobs.touch(this.job, h.host);
    if (wasRunning) this.#progress();
  }

  #progress(): void {
    const c = this.counts();
    this.#deps.broadcaster.emit({
      type: 'FleetUpdateProgress',
      job_id: this.job.id,
      batch: this.#batch,
      ...c,
      in_progress: this.#inProgress,
      ...this.#trace(),
    });
  }

  #trace(): { request_id?: string } {
    return this.job.request_id ? { request_id: this.job.request_id } : {};
  }
}
