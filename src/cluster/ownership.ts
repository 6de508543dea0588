// A node's share of the partitions: joins the members bucket, follows the
// leases, and every tick renews what it holds (every ttl/3), drops what it
// could not renew in time, and takes or hands back partitions as balance.ts
// plans. The daemon plugs in through four hooks and reads owned()/status();
// nothing here knows about hosts, shards or HTTP.
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { LEASES_BUCKET, MEMBERS_BUCKET, openTtlBucket } from './buckets.js';
import { plan } from './balance.js';
import { Leases, type LostReason } from './leases.js';
import { DuplicateNodeError, Membership, type MemberInfo } from './membership.js';

export interface OwnershipHooks {
  /** A host of the partition is mid-operation (then it is not handed over). */
  isBusy(partition: number): boolean;
  /**
   * The lease is ours: attach the partition's hosts (restoring their state).
   * `previousOwner`: the node whose lease expired, when one did (null after a
   * clean handover or for a partition never held).
   */
  acquired(partition: number, previousOwner: string | null): void | Promise<void>;
  /**
   * About to hand the partition back: detach its hosts and refuse new
   * commands for them. The lease is deleted once this resolves.
   */
  releasing(partition: number): void | Promise<void>;
  /** The lease is gone without a handover: stop acting for its hosts at once. */
  lost(partition: number, reason: LostReason): void;
  /** Something this node cannot go on from (another live node with our node_id). */
  fatal?(err: Error): void;
  /** A round that failed and will be retried on the next tick (NATS away, a timeout): for the log. */
  warn?(err: Error): void;
}

export interface OwnershipOptions {
  nodeId: string;
  partitions: number;
  ttlMs: number;
  /** How often to check expiry and rebalance (default min(1 s, ttl/4)). */
  tickMs?: number;
  apiUrl?: string | null;
  now?: () => number;
}

export interface OwnershipStatus {
  node_id: string;
  instance: string;
  /** Partitions this node holds, sorted. */
  partitions: number[];
  /** What it should hold once balanced. */
  target: number;
  members: MemberInfo[];
}

export class PartitionOwnership {
  readonly instance = randomUUID();
  private readonly o: Required<OwnershipOptions>;
  private readonly hooks: OwnershipHooks;
  private membership!: Membership;
  private leases!: Leases;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private nextRenewAt = 0;
  private target = 0;
  private stopped = false;

  private constructor(o: OwnershipOptions, hooks: OwnershipHooks) {
    this.o = { apiUrl: null, now: Date.now, tickMs: Math.min(1000, Math.floor(o.ttlMs / 4)), ...o };
    this.hooks = hooks;
  }

  /** Join the cluster and start taking a share (resolves once joined, not once balanced). */
  static async start(nc: NatsConnection, o: OwnershipOptions, hooks: OwnershipHooks): Promise<PartitionOwnership> {
    const self = new PartitionOwnership(o, hooks);
    const [members, leases] = await Promise.all([openTtlBucket(nc, MEMBERS_BUCKET, o.ttlMs), openTtlBucket(nc, LEASES_BUCKET, o.ttlMs)]);
    const common = { nodeId: o.nodeId, instance: self.instance, ttlMs: o.ttlMs, now: self.o.now };
    self.membership = new Membership(members, { ...common, apiUrl: self.o.apiUrl });
    self.leases = new Leases(leases, common);
    await self.leases.watch();
    await self.membership.join();
    self.nextRenewAt = self.o.now() + o.ttlMs / 3;
    self.timer = setInterval(() => self.tick(), self.o.tickMs);
    self.tick();
    return self;
  }

  owned(): number[] {
    return this.leases.heldPartitions();
  }

  owns(partition: number): boolean {
    return this.leases.holds(partition);
  }

  /** Partition → owner node id, as this node sees it. */
  owners(): Map<number, string> {
    return this.leases.owners();
  }

  live(): string[] {
    return this.membership.live();
  }

  status(): OwnershipStatus {
    return { node_id: this.o.nodeId, instance: this.instance, partitions: this.owned(), target: this.target, members: this.membership.members() };
  }

  /**
   * Leave: with `handBack` (a clean shutdown) release every lease after its
   * `releasing` hook and remove the heartbeat so the others take over at
   * once; without, just stop renewing (the leases expire after the TTL).
   */
  async stop(opts: { handBack?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.running) await new Promise((r) => setTimeout(r, 10));
    this.leases.stopWatching();
    if (opts.handBack ?? true) {
      for (const p of this.owned()) await this.hooks.releasing(p);
      await this.leases.releaseAll();
      await this.membership.leave();
    } else {
      await this.membership.leave().catch(() => undefined);
    }
  }

  private tick(): void {
    // Expiry is checked on every tick even while a slow round is running: a
    // lease must be let go on time whatever NATS is doing.
    for (const l of this.leases.expire()) this.hooks.lost(l.partition, l.reason);
    if (this.running || this.stopped) return;
    this.running = true;
    this.round()
      .catch((err) => {
        if (err instanceof DuplicateNodeError) {
          this.stopped = true;
          if (this.timer) clearInterval(this.timer);
          for (const p of this.leases.abandon()) this.hooks.lost(p, 'taken');
          this.hooks.fatal?.(err);
        } else {
          // NATS away, a timeout: retried next tick.
          this.hooks.warn?.(err as Error);
        }
      })
      .finally(() => {
        this.running = false;
      });
  }

  private async round(): Promise<void> {
    const now = this.o.now();
    if (now >= this.nextRenewAt) {
      this.nextRenewAt = now + this.o.ttlMs / 3;
      const [beat, renewed] = await Promise.allSettled([this.membership.heartbeat(), this.leases.renew()]);
      if (renewed.status === 'fulfilled') for (const l of renewed.value) this.hooks.lost(l.partition, l.reason);
      if (beat.status === 'rejected') throw beat.reason;
    }
    if (this.stopped) return;
    const p = plan({ self: this.o.nodeId, live: this.membership.live(), partitions: this.o.partitions, owners: this.leases.owners(), busy: (x) => this.hooks.isBusy(x) });
    this.target = p.target;
    for (const partition of p.release) {
      if (this.stopped || this.hooks.isBusy(partition)) continue;
      await this.hooks.releasing(partition);
      await this.leases.release(partition);
    }
    for (const partition of p.acquire) {
      if (this.stopped) return;
      const previous = this.leases.lastOwner(partition);
      if (await this.leases.acquire(partition)) await this.hooks.acquired(partition, previous);
    }
  }
}
