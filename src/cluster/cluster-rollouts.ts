// A node's rollouts: the ones it received (it coordinates them) and the ones
// it took over. Every tick it renews their job leases, and looks at the
// unfinished jobs (`active.<id>` in the job log, followed by a watch and
// listed again every LIST_EVERY ticks in case the watch missed one) for one
// whose lease nobody holds — its coordinator died — and continues it.
// Whoever creates the lease first continues the job; the others find it held.
import type { FleetUpdateRequest } from '../../common/schemas/requests.js';
import type { JobRecord } from '../../common/schemas/job.js';
import { JobCoordinator, type CoordinatorContext } from './job-coordinator.js';

export interface ClusterRolloutsOptions {
  /** How often to renew, sweep and look for orphaned jobs (default min(1 s, lease TTL / 4)). */
  tickMs: number;
}

const LIST_EVERY = 30;

export class ClusterRollouts {
  private readonly coordinated = new Map<string, JobCoordinator>();
  private readonly active = new Set<string>();
  private watcher: { stop(): void } | null = null;
  private rounds = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private stopped = false;

  constructor(
    private readonly ctx: CoordinatorContext,
    private readonly o: ClusterRolloutsOptions,
  ) {}

  /** Follow the unfinished jobs and start ticking (and so continue orphaned rollouts). */
  async start(): Promise<this> {
    this.watcher = await this.ctx.log.watchActive((id, on) => (on ? this.active.add(id) : this.active.delete(id)));
    this.timer = setInterval(() => this.tick(), this.o.tickMs);
    return this;
  }

  /** A rollout received by this node over hosts already selected: recorded, then run in the background. */
  async begin(request: FleetUpdateRequest, hosts: readonly string[], trace: { request_id: string | null; user: string | null }): Promise<JobRecord> {
    const c = await JobCoordinator.create(this.ctx, request, hosts, trace);
    this.track(c);
    return c.job;
  }

  /** Cancel a rollout wherever it is coordinated; false when it is unknown or finished. */
  async cancel(id: string): Promise<boolean> {
    const local = this.coordinated.get(id);
    if (local) {
      local.cancel();
      return true;
    }
    return this.ctx.log.requestCancel(id);
  }

  /** Ids of the unfinished jobs as this node's watch of the log has them. */
  activeIds(): string[] {
    return [...this.active];
  }

  /** Ids of the rollouts this node coordinates now. */
  ids(): string[] {
    return [...this.coordinated.keys()].sort();
  }

  get(id: string): JobCoordinator | undefined {
    return this.coordinated.get(id);
  }

  /**
   * Stop coordinating. `handBack` (a clean shutdown): release the job leases
   * so another node continues at once; without, they expire after the TTL.
   * Hosts already dispatched run on their owners either way.
   */
  async stop(opts: { handBack?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watcher?.stop();
    while (this.ticking) await new Promise((r) => setTimeout(r, 10));
    await Promise.all([...this.coordinated.values()].map((c) => c.abandon(opts.handBack ?? true)));
    this.coordinated.clear();
  }

  private track(c: JobCoordinator): void {
    this.coordinated.set(c.id, c);
    void c
      .run()
      .catch((err: Error) => this.ctx.warn?.(err))
      .finally(() => this.coordinated.delete(c.id));
  }

  private tick(): void {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    this.round()
      .catch((err: Error) => this.ctx.warn?.(err))
      .finally(() => (this.ticking = false));
  }

  private async round(): Promise<void> {
    await Promise.all([...this.coordinated.values()].map((c) => c.tick().catch((err: Error) => this.ctx.warn?.(err))));
    if (++this.rounds % LIST_EVERY === 0) for (const id of await this.ctx.log.active()) this.active.add(id);
    for (const id of [...this.active]) {
      if (this.stopped || this.coordinated.has(id) || (await this.ctx.leases.isHeld(id))) continue;
      const c = await JobCoordinator.resume(this.ctx, id);
      if (c && !this.stopped) this.track(c);
      else if (c) await c.abandon(true);
    }
  }
}
