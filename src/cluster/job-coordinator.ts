// One cluster rollout, coordinated by the node holding its job lease: the
// single-daemon Rollout (src/fleet/rollout.ts: batches, canary, thresholds,
// windows) run with deps that dispatch each host to its owner (forward.ts,
// command `job_update`, run there by job-runner.ts), follow the job log for
// the results the owners record, and record what the coordinator decides
// itself (skipped hosts, hosts cut short; written by job-entries.ts). Every
// write is fenced: a coordinator that lost its lease writes, dispatches and
// announces nothing more, and the header's compare-and-set refuses a stale one.
import { randomUUID } from 'node:crypto';
import { TendhostError } from '../../common/errors.js';
import type { FleetUpdateRequest } from '../../common/schemas/requests.js';
import type { JobHostResult, JobRecord, JobState } from '../../common/schemas/job.js';
import type { CommandReply as PoolReply } from '../../common/thread-protocol.js';
import { Rollout, type RolloutDeps } from '../fleet/rollout.js';
import { rolloutSpec } from '../fleet/rollout-spec.js';
import { jobView } from '../jobs/job-view.js';
import { isWrongRevision } from './buckets.js';
import { JobEntries, isFinal } from './job-entries.js';
import type { ForwardedReply, HostCommand } from './forward.js';
import type { JobLeases } from './job-lease.js';
import { toRecord, type JobLog, type Versioned } from './job-log.js';
import type { ClusterJobHeader, ClusterJobHostEntry, JobDispatch } from './job-log-schema.js';
import { sendToOwner } from './job-dispatch.js';
import { newJobHeader } from './job-header.js';
import { cutShort } from './job-sweep.js';
import { HostRoom, OwnerWindows, pacedDispatch } from './dispatch-window.js';

/** What a coordinator needs from its node and from the daemon (the rollout's own deps among them). */
export interface CoordinatorContext extends Pick<RolloutDeps, 'model' | 'hostConfig' | 'broadcaster' | 'claims' | 'now' | 'sleep'> {
  nodeId: string;
  instance: string;
  log: JobLog;
  leases: JobLeases;
  /** Run a host command on the host's owner (ClusterNode.send). */
  send(cmd: HostCommand): Promise<ForwardedReply>;
  /** Live cluster members (node id and process instance). */
  members(): Array<{ node_id: string; instance: string }>;
  /** The node holding the host's partition as this node sees it, null when none does. */
  ownerOf(host: string): string | null;
  /** Hosts a member can have waiting to connect (its shard pool's room, shard-room.ts): a rollout keeps this many dispatched and unanswered per owner. */
  roomPerMember: number;
  /** How long a dispatch nobody can take (partition unowned, NATS away) is retried before the host fails. */
  dispatchRetryMs: number;
  /** The jobs bucket's max_age: a job running longer has its entries written again every half of it. */
  jobsMaxAgeMs: number;
  onFinish?(job: JobRecord): void;
  warn?(err: Error): void;
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);
/** At most this many batches' counts go in the header (≈ 100 B each). */
const HEADER_BATCHES_MAX = 256;

export class JobCoordinator {
  readonly job: JobRecord;
  private readonly byHost: Map<string, JobHostResult>;
  private readonly entries: JobEntries;
  private readonly rollout: Rollout;
  private watcher: { stop(): void } | null = null;
  private fenced = false;
  private headerDirty = false;
  private refreshedAt = Date.now();
  private settle!: () => void;
  private readonly settled = new Promise<void>((r) => (this.settle = r));

  private constructor(
    private readonly ctx: CoordinatorContext,
    private header: ClusterJobHeader,
    private headerRevision: number,
    names: readonly string[],
    known: Map<string, Versioned<ClusterJobHostEntry | null>>,
  ) {
    this.job = toRecord(header, names, known);
    this.entries = new JobEntries(ctx.log, this.job.id, () => this.fenced, ctx.warn, known);
    this.byHost = new Map(this.job.hosts.map((h) => [h.host, h]));
    const request = header.request ?? {};
    this.rollout = new Rollout(this.job, rolloutSpec(request), {
      pool: pacedDispatch(new HostRoom(new OwnerWindows(() => ctx.roomPerMember), (host) => ctx.ownerOf(host)), (host, dryRun) => this.dispatch(host, dryRun)),
      jobs: { touch: (_job, host) => (host ? this.writeHost(host) : void (this.headerDirty = true)), finish: (_id, state, error) => void this.finish(state, error ?? null) },
      model: ctx.model,
      hostConfig: ctx.hostConfig,
      broadcaster: { emit: (e) => (this.fenced ? e : ctx.broadcaster.emit(e)) } as RolloutDeps['broadcaster'],
      claims: ctx.claims,
      now: ctx.now,
      sleep: ctx.sleep,
    });
  }

  /** A new rollout received by this node: take its lease, record it, and coordinate it. */
  static async create(ctx: CoordinatorContext, request: FleetUpdateRequest, hosts: readonly string[], trace: { request_id: string | null; user: string | null }): Promise<JobCoordinator> {
    const id = randomUUID();
    const unavailable = (err: unknown) => new TendhostError('CLUSTER_UNAVAILABLE', `the rollout could not be recorded in the cluster: ${(err as Error).message}`);
    if (!(await ctx.leases.acquire(id).catch((err) => Promise.reject(unavailable(err))))) throw unavailable(new Error(`job lease ${id} is taken`));
    const header = newJobHeader(id, ctx.nodeId, ctx.now(), request, hosts, trace);
    try {
      const revision = await ctx.log.create(header, hosts);
      const chunks = (await ctx.log.header(id))?.value.chunks ?? 0;
      const c = new JobCoordinator(ctx, { ...header, chunks }, revision, hosts, new Map());
      await c.follow();
      return c;
    } catch (err) {
      // Not recorded (NATS away, the bucket full): nothing to continue, so nothing held.
      await ctx.leases.release(id).catch(() => ctx.leases.forget(id));
      throw unavailable(err);
    }
  }

  /**
   * Continue an unfinished job whose coordinator is gone: null when another
   * node got its lease first, or there is nothing left to continue.
   */
  static async resume(ctx: CoordinatorContext, id: string): Promise<JobCoordinator | null> {
    if (!(await ctx.leases.acquire(id))) return null;
    try {
      const h = await ctx.log.header(id);
      if (!h || h.value.finished_at !== null) {
        await ctx.log.clearActive(id);
        await ctx.leases.release(id);
        return null;
      }
      // Writing ourselves in as coordinator fences the previous one's header writes.
      const header = { ...h.value, coordinator: ctx.nodeId };
      const revision = await ctx.log.writeHeader(header, h.revision);
      const names = await ctx.log.selection(id, header.chunks);
      const early: Array<[string, Versioned<ClusterJobHostEntry | null>]> = [];
      let c: JobCoordinator | null = null;
      // Follow before reading, so no result that lands in between is missed.
      const watcher = await ctx.log.watchEntries(id, (host, v) => (c ? c.onEntry(host, v) : early.push([host, v])));
      const known = await ctx.log.entries(id);
      c = new JobCoordinator(ctx, header, revision, names, known);
      c.watcher = watcher;
      for (const [host, v] of early) c.onEntry(host, v);
      return c;
    } catch (err) {
      await ctx.leases.release(id).catch(() => undefined);
      throw err;
    }
  }

  get id(): string {
    return this.job.id;
  }

  /** Run the rollout to its end (or until this node stops coordinating it). */
  async run(): Promise<void> {
    this.rollout.claim();
    this.rollout.run().catch((err: Error) => this.finish('failed', err.message));
    await this.settled;
  }

  /** Periodic work: renew the lease, record hosts cut short, act on a cancel asked elsewhere, write the counts. */
  async tick(): Promise<void> {
    if (this.fenced) return;
    if (!(await this.ctx.leases.renew(this.id))) return this.fence();
    this.sweep();
    if (await this.ctx.log.cancelRequested(this.id).catch(() => false)) this.rollout.cancel();
    if (Date.now() - this.refreshedAt > this.ctx.jobsMaxAgeMs / 2) await this.refresh();
    if (this.headerDirty) await this.flushHeader();
  }

  /**
   * Keep a long rollout's record from expiring under it: the selection, the
   * active marker, the header and every final host result are written again
   * (a claim still running is left alone: its owner writes over it by its revision).
   */
  private async refresh(): Promise<void> {
    this.refreshedAt = Date.now();
    await this.ctx.log.refresh(this.id, this.job.hosts.map((h) => h.host), this.ctx.nodeId);
    this.entries.rewriteFinal();
    this.headerDirty = true;
  }

  cancel(): void {
    this.rollout.cancel();
  }

  /** Stop coordinating without ending the job (this node stops; `release`: let another node continue at once). */
  async abandon(release: boolean): Promise<void> {
    // Stop acting first, then let the lease go (fence() would forget it, leaving nothing to release).
    const releasing = release ? this.ctx.leases.release(this.id).catch(() => undefined) : Promise.resolve();
    this.fence();
    await releasing;
  }

  private async follow(): Promise<void> {
    this.watcher = await this.ctx.log.watchEntries(this.id, (host, v) => this.onEntry(host, v));
  }

  private fence(): void {
    if (this.fenced) return;
    this.fenced = true;
    this.watcher?.stop();
    this.ctx.leases.forget(this.id);
    this.rollout.cancel();
    // Its rollout may never reach its end here: the hosts it held are free for this node's other rollouts.
    for (const [host, job] of this.ctx.claims) if (job === this.id) this.ctx.claims.delete(host);
    this.settle();
  }

  /** A host entry from the log: an owner's result is handed to the rollout. */
  private onEntry(host: string, v: Versioned<ClusterJobHostEntry | null>): void {
    if (!this.entries.accept(host, v)) return;
    const h = this.byHost.get(host);
    const r = v.value?.result;
    // Skipped is only ever written by a coordinator, for a host it decided itself.
    if (h && r && h.state === 'running' && isFinal(r.state) && r.state !== 'skipped') this.feed(h, r);
  }

  private feed(h: JobHostResult, r: JobHostResult): void {
    h.host_state = r.host_state;
    this.rollout.hostResult({ kind: 'job_result', job_id: this.id, host: h.host, success: r.state === 'completed', state: r.host_state ?? 'failed', error: r.error, code: r.code, finished_at: r.finished_at ?? this.ctx.now().toISOString() });
  }

  /** Hosts whose owner died or lost the host's partition while running it: failed, interrupted, named. */
  private sweep(): void {
    const members = this.ctx.members();
    // Until this node sees itself, its view of the members is not complete enough to judge anyone.
    if (!members.some((m) => m.instance === this.ctx.instance)) return;
    const live = new Set(members.map((m) => m.instance));
    const claimed = [...this.entries.running].flatMap((host) => this.byHost.get(host) ?? []);
    for (const { host, cut, revision } of cutShort(claimed, this.entries.known, live, (h) => this.ctx.ownerOf(h), this.ctx.now())) {
      this.entries.writeOver(host, cut, revision, (v) => this.onEntry(host, v));
    }
  }

  /** Send one host's update to its owner. Resolves with the owner's answer as the pool would give it. */
  private async dispatch(host: string, dryRun: boolean): Promise<PoolReply> {
    if (this.fenced) return never();
    const known = this.entries.get(host)?.value;
    const h = this.byHost.get(host) as JobHostResult;
    if (known) {
      // Claimed before this coordinator got here (a takeover): never run twice; the log says how it ends.
      if (isFinal(known.result.state) && known.result.state !== 'skipped') queueMicrotask(() => h.state === 'running' && this.feed(h, known.result));
      return { ok: true, state: 'updating' };
    }
    const body: JobDispatch = { job_id: this.id, batch: h.batch ?? 1, dry_run: dryRun, request_id: this.job.request_id, user: this.job.user, coordinator: this.ctx.nodeId };
    try {
      return (await sendToOwner(this.ctx, host, body, this.job.request_id, () => this.fenced)) ?? never();
    } catch (err) {
      // The request may have reached the owner after all: its claim decides.
      const now = await this.ctx.log.entry(this.id, host).catch(() => null);
      if (!now?.value) throw err;
      this.onEntry(host, now);
      return { ok: true, state: 'updating' };
    }
  }

  /** Record a host the rollout finished, unless the log already says the same (its owner wrote it). */
  private writeHost(host: string): void {
    this.headerDirty = true;
    const h = this.byHost.get(host);
    if (h) this.entries.record(h);
  }

  private async flushHeader(): Promise<void> {
    if (this.fenced) return;
    this.headerDirty = false;
    const { hosts: _hosts, ...fields } = this.job;
    const { summary, batches } = jobView(this.job);
    // Counts per batch let any node answer GET /jobs/{id} from the header; a rollout of
    // thousands of small batches leaves them out (a header is one NATS message, ≤ 1 MB).
    const perBatch = batches && batches.length <= HEADER_BATCHES_MAX ? { batches } : {};
    // The previous header's batches are never carried over: past the cap they would be stale.
    const { batches: _previous, ...base } = this.header;
    const header: ClusterJobHeader = { ...base, ...fields, coordinator: this.ctx.nodeId, summary, ...perBatch };
    try {
      this.headerRevision = await this.ctx.log.writeHeader(header, this.headerRevision);
      this.header = header;
    } catch (err) {
      if (isWrongRevision(err)) return this.fence(); // another node coordinates the job now
      this.headerDirty = true;
      throw err;
    }
  }

  private async finish(state: JobState, error: string | null): Promise<void> {
    if (this.fenced) return;
    this.job.state = state;
    this.job.error = error;
    this.job.finished_at = this.ctx.now().toISOString();
    try {
      await this.entries.drained();
      await this.flushHeader();
      if (this.fenced) return;
      this.watcher?.stop();
      await this.ctx.log.clearActive(this.id);
      await this.ctx.leases.release(this.id);
      this.ctx.onFinish?.(this.job);
    } catch (err) {
      // Left active with its lease: it expires and another node finishes the record.
      this.ctx.warn?.(err as Error);
    } finally {
      this.settle();
    }
  }
}
