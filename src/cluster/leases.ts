// Partition leases: one key `p.<n>` per partition in the leases bucket (TTL =
// lease TTL). Acquired by create (only when the key is absent: never held,
// released, or expired because its holder stopped renewing), renewed by
// update(key, value, revision) compare-and-set every ttl/3, released by a
// revision-checked delete. The holder counts a lease as its own only until
// (time it *sent* the last successful write) + TTL − margin: the server
// stamps the write later than that, so the holder always lets go before the
// server frees the key for someone else.
import type { KV, KvWatchEntry } from '@nats-io/kv';
import { createLease, deleteLease, renewLease, type HeldLease, type LeaseTiming } from './lease-kv.js';
import { leaseKey, partitionOfLeaseKey } from './partition.js';
import { kvJson, namesNode } from './kv-value.js';

/** Margin between a holder giving a lease up and the server freeing it (job leases use the same). */
export function leaseMargin(ttlMs: number): number {
  return Math.max(1000, Math.floor(ttlMs / 5));
}

/** The owner named for a lease whose value is not a node's. */
export const UNREADABLE_OWNER = '(unreadable lease)';

export interface LeaseValue {
  node_id: string;
  instance: string;
}

export interface LeasesOptions {
  nodeId: string;
  instance: string;
  ttlMs: number;
  now?: () => number;
}

export type LostReason = 'taken' | 'expired';

interface Seen {
  owner: LeaseValue;
  expiresAt: number;
}

export class Leases {
  private readonly kv: KV;
  private readonly o: Required<LeasesOptions>;
  private readonly held = new Map<number, HeldLease>();
  private readonly seen = new Map<number, Seen>();
  private readonly value: string;
  private watcher: { stop(): void } | null = null;
  /** Margin between the holder giving up and the server freeing the key. */
  readonly marginMs: number;
  private readonly timing: LeaseTiming;

  constructor(kv: KV, o: LeasesOptions) {
    this.kv = kv;
    this.o = { now: Date.now, ...o };
    this.value = JSON.stringify({ node_id: o.nodeId, instance: o.instance } satisfies LeaseValue);
    this.marginMs = leaseMargin(o.ttlMs);
    this.timing = { ttlMs: o.ttlMs, marginMs: this.marginMs, now: this.o.now };
  }

  /** Follow every lease (for the owners view). */
  async watch(): Promise<void> {
    const it = await this.kv.watch({ key: 'p.>' });
    this.watcher = it;
    (async () => {
      for await (const e of it) this.apply(e);
    })().catch(() => undefined);
  }

  stopWatching(): void {
    this.watcher?.stop();
    this.watcher = null;
  }

  /** Take a free partition. False when another node holds it. */
  async acquire(p: number): Promise<boolean> {
    const held = await createLease(this.kv, leaseKey(p), this.value, this.timing);
    if (held) this.held.set(p, held);
    return held !== null;
  }

  /**
   * Renew every held lease. Returns the ones lost: `taken` (the key moved on:
   * it expired on the server and another node has it) or `expired` (not
   * renewed in time, e.g. NATS unreachable). Lost leases are forgotten.
   */
  async renew(): Promise<Array<{ partition: number; reason: LostReason }>> {
    const lost: Array<{ partition: number; reason: LostReason }> = [];
    await Promise.all(
      [...this.held].map(async ([p, h]) => {
        // Anything but 'taken' (timeout, disconnected): keep trying until validUntil.
        const next = await renewLease(this.kv, leaseKey(p), this.value, h, this.timing).catch(() => h);
        if (this.held.get(p) !== h) return;
        if (next !== 'taken') this.held.set(p, next);
        else {
          this.held.delete(p);
          lost.push({ partition: p, reason: 'taken' });
        }
      }),
    );
    lost.push(...this.expire());
    return lost;
  }

  /** Drop (and return) held leases whose validity ran out without a renewal. */
  expire(): Array<{ partition: number; reason: LostReason }> {
    const now = this.o.now();
    const lost: Array<{ partition: number; reason: LostReason }> = [];
    for (const [p, h] of this.held) {
      if (now >= h.validUntil) {
        this.held.delete(p);
        lost.push({ partition: p, reason: 'expired' });
      }
    }
    return lost;
  }

  /** Hand a partition back (its hosts must already be detached here). */
  async release(p: number): Promise<void> {
    const h = this.held.get(p);
    if (!h) return;
    this.held.delete(p);
    await deleteLease(this.kv, leaseKey(p), h);
  }

  /** Stop counting every held lease as ours without touching NATS (they expire there); returns them. */
  abandon(): number[] {
    const all = [...this.held.keys()].sort((a, b) => a - b);
    this.held.clear();
    return all;
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((p) => this.release(p).catch(() => undefined)));
  }

  /** Partitions this node holds a valid lease on, sorted. */
  heldPartitions(): number[] {
    const now = this.o.now();
    return [...this.held].filter(([, h]) => now < h.validUntil).map(([p]) => p).sort((a, b) => a - b);
  }

  holds(p: number): boolean {
    const h = this.held.get(p);
    return h !== undefined && this.o.now() < h.validUntil;
  }

  /** Every partition's owner as far as this node can tell (its own leases overlaid). */
  owners(): Map<number, string> {
    const now = this.o.now();
    const out = new Map<number, string>();
    for (const [p, s] of this.seen) {
      if (s.expiresAt <= now) continue;
      if (s.owner.node_id !== this.o.nodeId) out.set(p, s.owner.node_id);
      // A lease of this node's previous life (killed, restarted) is nobody live's: it must expire first.
      else if (s.owner.instance !== this.o.instance) out.set(p, `${s.owner.node_id}#${s.owner.instance}`);
      // This instance's own leases count only while held (below): the watch
      // reports a release late, and a round that still saw it as ours handed
      // it over a second time (CI: six `releasing` hooks for three partitions).
    }
    for (const [p, h] of this.held) if (now < h.validUntil) out.set(p, this.o.nodeId);
    return out;
  }

  /** One partition's owner as owners() has it, without building the whole map (asked per host). */
  ownerOf(p: number): string | null {
    const now = this.o.now();
    const h = this.held.get(p);
    if (h && now < h.validUntil) return this.o.nodeId;
    const s = this.seen.get(p);
    if (!s || s.expiresAt <= now) return null;
    if (s.owner.node_id !== this.o.nodeId) return s.owner.node_id;
    return s.owner.instance === this.o.instance ? null : `${s.owner.node_id}#${s.owner.instance}`;
  }

  /** Who last held a partition as far as this node saw (null: never seen, or released cleanly). */
  lastOwner(p: number): string | null {
    return this.seen.get(p)?.owner.node_id ?? null;
  }

  private apply(e: KvWatchEntry): void {
    const p = partitionOfLeaseKey(e.key);
    if (p === null) return;
    if (e.operation !== 'PUT') {
      this.seen.delete(p);
      return;
    }
    // A value no node wrote still holds the key until the server's TTL frees it: owned, by nobody known.
    const owner = kvJson(e, namesNode) ?? { node_id: UNREADABLE_OWNER, instance: UNREADABLE_OWNER };
    this.seen.set(p, { owner, expiresAt: Math.min(e.created.getTime(), this.o.now()) + this.o.ttlMs });
  }
}
