// A node's share of the partitions: joins the members bucket, follows the
// leases, renews what it holds every ttl/3 (on a timer of its own), and every
// tick drops what it could not renew in time and takes or hands back
// partitions as balance.ts plans. The daemon plugs in through four hooks and reads owned()/status();
// nothing here knows about hosts, shards or HTTP.
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { LEASES_BUCKET, MEMBERS_BUCKET, openTtlBucket } from './buckets.js';
import { plan } from './balance.js';
import { Leases, type LostReason } from './leases.js';
import { DuplicateNodeError, Membership, type MemberInfo } from './membership.js';

/** Partitions restored at once when several are taken in one round. */
const RESTORES_AT_ONCE = 8;

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
  private renewTimer: NodeJS.Timeout | null = null;
  private running = false;
  private renewing: Promise<void> | null = null;
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
    self.scheduleRenewal(o.ttlMs / 3);
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

  /** One partition's owner as owners() has it (null: none right now). */
  ownerOf(partition: number): string | null {
    return this.leases.ownerOf(partition);
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
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.timer = this.renewTimer = null;
    while (this.running) await new Promise((r) => setTimeout(r, 10));
    await this.renewing;
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
      .catch((err) => this.failed(err as Error))
      .finally(() => {
        this.running = false;
      });
  }

  /**
   * Renewals keep their own clock, never behind a round: a round that takes
   * a dead node's partitions spends seconds attaching their hosts, and a
   * renewal waiting for it let this node's own leases lapse mid-takeover
   * (they were dropped, taken again, dropped: 88.7 s at 3 × 3,000 hosts).
   */
  private scheduleRenewal(inMs: number): void {
    if (this.stopped) return;
    this.renewTimer = setTimeout(() => {
      const startedAt = this.o.now();
      this.renewing = this.renew()
        .catch((err) => this.failed(err as Error))
        .finally(() => {
          this.renewing = null;
          this.scheduleRenewal(Math.max(0, startedAt + this.o.ttlMs / 3 - this.o.now()));
        });
    }, inMs);
  }

  /** The heartbeat and every held lease, all at once. */
  private async renew(): Promise<void> {
    const [beat, renewed] = await Promise.allSettled([this.membership.heartbeat(), this.leases.renew()]);
    if (renewed.status === 'fulfilled') for (const l of renewed.value) this.hooks.lost(l.partition, l.reason);
    if (beat.status === 'rejected') throw beat.reason;
  }

  private failed(err: Error): void {
    if (err instanceof DuplicateNodeError) {
      if (this.stopped) return;
      this.stopped = true;
      if (this.timer) clearInterval(this.timer);
      if (this.renewTimer) clearTimeout(this.renewTimer);
      for (const p of this.leases.abandon()) this.hooks.lost(p, 'taken');
      this.hooks.fatal?.(err);
    } else {
      // NATS away, a timeout: retried on the next tick or renewal.
      this.hooks.warn?.(err);
    }
  }

  private async round(): Promise<void> {
    const p = plan({ self: this.o.nodeId, live: this.membership.live(), partitions: this.o.partitions, owners: this.leases.owners(), busy: (x) => this.hooks.isBusy(x) });
    this.target = p.target;
    for (const partition of p.release) {
      if (this.stopped || this.hooks.isBusy(partition) || !this.leases.holds(partition)) continue;
      await this.hooks.releasing(partition);
      await this.leases.release(partition);
    }
    if (p.acquire.length === 0 || this.stopped) return;
    // A dead node's partitions at once: every lease is tried together, then
    // the won ones restore a few at a time (one after another, 85 partitions
    // of 35 hosts took 3 s; each restore mostly waits on NATS round trips).
    const previous = new Map(p.acquire.map((x) => [x, this.leases.lastOwner(x)]));
    const tried = await Promise.allSettled(p.acquire.map(async (x) => ((await this.leases.acquire(x)) ? x : null)));
    const won: number[] = [];
    for (const r of tried) {
      if (r.status === 'rejected') this.hooks.warn?.(r.reason as Error);
      else if (r.value !== null) won.push(r.value);
    }
    let next = 0;
    const restorer = async (): Promise<void> => {
      while (next < won.length && !this.stopped) {
        const partition = won[next++]!;
        if (!this.leases.holds(partition)) continue;
        try {
          await this.hooks.acquired(partition, previous.get(partition) ?? null);
        } catch (err) {
          // Held with its hosts not (all) attached would stay so: give it back, a later round tries again.
          this.hooks.warn?.(err as Error);
          await Promise.resolve(this.hooks.releasing(partition))
            .then(() => this.leases.release(partition))
            .catch((e: Error) => this.hooks.warn?.(e));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(RESTORES_AT_ONCE, won.length) }, restorer));
  }
}
