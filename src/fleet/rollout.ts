// One rolling fleet update: hosts selected (and claimed) up front, an optional
// canary batch that must fully succeed, then batches of `batch_size` with
// `delay_ms` between them, stopping before the next batch once max_failures or
// max_unreachable is crossed. Every selected host ends in exactly one of
// completed / failed / unreachable / skipped, with its reason. Within a
// batch a host starts when its shard has room (the pool's room(): about as
// many at once as can connect), so the rest of a big batch waits idle, each
// host in its own shard's line.
// A rollout can also continue a job another process started (a cluster node
// taking over from a dead coordinator): hosts already final are counted,
// hosts still running are waited for, and batches go on from the last one.
import { setMaxListeners } from 'node:events';
import type { JobRecord, JobHostResult } from '../../common/schemas/job.js';
import type { PortMessage } from '../../common/thread-protocol.js';
import { isInWindow, msUntilWindow } from '../../common/maintenance-window.js';
import { isUnreachable } from './outcome.js';
import type { RolloutDeps, RolloutSpec } from './rollout-deps.js';
import { ending, skipReason, thresholdCrossed, type Final } from './rollout-rules.js';
import { RolloutEvents } from './rollout-events.js';

export type { RolloutDeps, RolloutSpec } from './rollout-deps.js';

type HostResultMsg = Extract<PortMessage, { kind: 'job_result' }>;

export class Rollout {
  readonly job: JobRecord;
  readonly #spec: RolloutSpec;
  readonly #deps: RolloutDeps;
  readonly #events: RolloutEvents;
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
    this.#events = new RolloutEvents(job, deps.broadcaster);
    // Every waiting host of a batch listens for the cancel (waiting-line.ts).
    setMaxListeners(0, this.#wake.signal);
    for (const h of job.hosts) {
      this.#results.set(h.host, h);
      if (h.state !== 'pending' && h.state !== 'running') this.#counts[h.state]++;
      this.#batch = Math.max(this.#batch, h.batch ?? 0);
    }
  }

  /** Whether this rollout continues one that already started hosts (a job taken over). */
  get resumed(): boolean {
    return this.#batch > 0 || this.job.hosts.some((h) => h.state !== 'pending');
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
    if (msg.success) this.#finish(h, 'completed', null, null, msg.state === 'waiting_reboot' ? 'updated; waiting for a reboot (auto_reboot off or outside the maintenance window)' : null, msg.finished_at);
    else this.#finish(h, isUnreachable(msg.code) ? 'unreachable' : 'failed', msg.error, msg.code, null, msg.finished_at);
    this.#waiting.get(msg.host)?.();
  }

  async run(): Promise<void> {
    const names = this.job.hosts.map((h) => h.host);
    const resumed = this.resumed;
    if (!resumed) this.#events.started(names);
    this.#skipClaimed(names);
    let aborted = resumed ? await this.#resume() : null;
    const eligible = names.filter((n) => this.#results.get(n)?.state === 'pending');
    // A resumed rollout whose first batch started is past its canary.
    const canary = this.#batch > 0 ? [] : eligible.slice(0, this.#spec.canary);
    const deferred: string[] = [];
    if (!aborted && canary.length > 0) aborted = await this.#runCanary(canary);
    aborted ??= await this.#runInBatches(eligible.slice(canary.length), deferred, this.#batch > 0);
    aborted ??= await this.#runDeferred(deferred);
    this.#end(names, aborted);
  }

  /** Hosts another rollout holds are never double-driven: skipped now, with who holds them. */
  #skipClaimed(names: string[]): void {
    for (const n of names) {
      const owner = this.#deps.claims.get(n);
      const h = this.#results.get(n) as JobHostResult;
      if (owner !== this.job.id && h.state === 'pending') this.#finish(h, 'skipped', null, null, `claimed by rollout ${owner ?? 'unknown'}`);
    }
  }

  /** The abort reason when a canary host did not complete. */
  async #runCanary(canary: string[]): Promise<string | null> {
    // Canary hosts are never deferred: a canary that cannot run now is a failed canary.
    await this.#runBatch(canary, null);
    return this.#canaryVerdict(canary);
  }

  #canaryVerdict(canary: string[]): string | null {
    const bad = canary.filter((n) => this.#results.get(n)?.state !== 'completed');
    return bad.length > 0 ? `canary failed on ${bad.map((n) => `${n} (${this.#results.get(n)?.state})`).join(', ')}` : null;
  }

  /**
   * A job taken over: the hosts its previous coordinator had started are
   * waited for (their owners report them, or they are recorded interrupted),
   * then the canary, if it was the batch under way, is judged as usual.
   */
  async #resume(): Promise<string | null> {
    const running = [...this.#results.values()].filter((h) => h.state === 'running');
    this.#inProgress += running.length;
    this.#progress();
    await Promise.all(running.map((h) => new Promise<void>((resolve) => this.#waiting.set(h.host, resolve)).then(() => this.#waiting.delete(h.host))));
    if (this.#spec.canary === 0) return null;
    return this.#canaryVerdict(this.job.hosts.filter((h) => h.batch === 1).map((h) => h.host));
  }

  /** The hosts batch by batch (hosts outside their window go to `deferred`); the abort reason when a threshold is crossed. */
  async #runInBatches(hosts: string[], deferred: string[], afterCanary: boolean): Promise<string | null> {
    for (let i = 0; i < hosts.length; i += this.#spec.batch_size) {
      // Checked before each batch: a threshold crossed by the last batch stops nothing.
      const crossed = this.#thresholdCrossed();
      if (crossed) return crossed;
      if (this.#cancelled) return null;
      if ((i > 0 || afterCanary) && this.#spec.delay_ms > 0) await this.#sleep(this.#spec.delay_ms);
      if (this.#cancelled) return null;
      await this.#runBatch(hosts.slice(i, i + this.#spec.batch_size), deferred);
    }
    return null;
  }

  /** Hosts waiting for their maintenance window go when it opens, earliest window first. */
  async #runDeferred(deferred: string[]): Promise<string | null> {
    while (!this.#cancelled && deferred.length > 0) {
      const now = this.#deps.now();
      const next = Math.min(...deferred.map((n) => msUntilWindow(this.#window(n), now)));
      if (!Number.isFinite(next)) return null;
      await this.#sleep(Math.max(0, next));
      if (this.#cancelled) return null;
      const open = deferred.filter((n) => isInWindow(this.#window(n), this.#deps.now()));
      for (const n of open) deferred.splice(deferred.indexOf(n), 1);
      for (let i = 0; i < open.length; i += this.#spec.batch_size) {
        const crossed = this.#thresholdCrossed();
        if (crossed) return crossed;
        if (this.#cancelled) return null;
        if (this.#spec.delay_ms > 0) await this.#sleep(this.#spec.delay_ms);
        if (this.#cancelled) return null;
        await this.#runBatch(open.slice(i, i + this.#spec.batch_size), null);
      }
    }
    return null;
  }

  /** Hosts that never started are skipped with the reason; claims are released; the job ends. */
  #end(names: string[], aborted: string | null): void {
    const { skipped, reason, state } = ending(aborted, this.#halted, this.#cancelled, this.counts());
    for (const h of this.#results.values()) if (h.state === 'pending') this.#finish(h, 'skipped', null, null, skipped);
    for (const n of names) if (this.#deps.claims.get(n) === this.job.id) this.#deps.claims.delete(n);

    this.#events.completed(names.length, this.counts(), reason);
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
    return thresholdCrossed(this.#counts, this.#results.size, this.#spec);
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
      const skip = skipReason(this.#deps.model.get(name), this.#deps.claims.get(name), this.job.id);
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
      // Started when its shard can connect it: the host waits in its shard's
      // line, idle, where cancel reaches it; a slow shard holds up only its own.
      running.push(this.#whenRoom(h));
    }
    this.#progress();
    await Promise.all(running);
  }

  /** The host starts once its shard has room; it stays pending if the rollout is cancelled first (a room granted then is given back). */
  #whenRoom(h: JobHostResult): Promise<void> {
    const pool = this.#deps.pool;
    const room = pool.room ? pool.room(h.host, this.#wake.signal) : true;
    if (room === true) return this.#startGranted(h);
    return room.then((granted) => (granted ? this.#startGranted(h) : undefined));
  }

  #startGranted(h: JobHostResult): Promise<void> {
    if (!this.#cancelled) return this.#startHost(h);
    this.#deps.pool.releaseRoom?.(h.host);
    return Promise.resolve();
  }

  #startHost(h: JobHostResult): Promise<void> {
    h.state = 'running';
    h.reason = null;
    this.#inProgress++;
    const done = new Promise<void>((resolve) => this.#waiting.set(h.host, resolve));
    const trace = { job_id: this.job.id, request_id: this.job.request_id, user: this.job.user };
    this.#deps.pool
      .command(h.host, { kind: 'update', dry_run: this.#spec.dry_run }, trace, { readYourWrites: false, reserved: this.#deps.pool.room !== undefined })
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

  /** `at`: when the host's operation ended, as its worker reported it; decided here (skips, failures to send): now. */
  #finish(h: JobHostResult, state: Final, error: string | null, code: string | null, reason: string | null, at?: string): void {
    if (h.state !== 'pending' && h.state !== 'running') return;
    const wasRunning = h.state === 'running';
    if (wasRunning) this.#inProgress--;
    h.state = state;
    this.#counts[state]++;
    h.error = error;
    h.code = code;
    h.reason = reason;
    h.finished_at = at ?? this.#deps.now().toISOString();
    // The host is free for other rollouts as soon as this one is done with it.
    if (this.#deps.claims.get(h.host) === this.job.id) this.#deps.claims.delete(h.host);
    this.#deps.jobs.touch(this.job, h.host);
    if (wasRunning) this.#progress();
  }

  #progress(): void {
    this.#events.progress(this.#batch, this.counts(), this.#inProgress);
  }
}
