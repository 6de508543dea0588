// Live nodes: each node writes a heartbeat `n.<node_id>` into the members
// bucket (whose TTL is the lease TTL) every ttl/3, with compare-and-set on its
// own last revision, so a second live node with the same id is detected
// instead of silently sharing leases. A node is live while its heartbeat is
// younger than the TTL, measured both by the server's timestamp and by when
// this node saw it (the earlier wins, so neither clock skew nor watch lag keeps
// a dead node alive).
import type { KV, KvWatchEntry } from '@nats-io/kv';
import { isWrongRevision } from './buckets.js';
import { kvJson, namesNode } from './kv-value.js';

export interface MemberInfo {
  node_id: string;
  /** Random per process: a restarted node is a new instance of the same id. */
  instance: string;
  started_at: string;
  /** Where this node serves its API, when it does (for `/health` and redirects). */
  api_url: string | null;
}

export interface MembershipOptions {
  nodeId: string;
  instance: string;
  ttlMs: number;
  apiUrl?: string | null;
  now?: () => number;
}

export class DuplicateNodeError extends Error {
  constructor(nodeId: string) {
    super(`another live node already uses node_id "${nodeId}" (set a distinct cluster.node_id on each node)`);
    this.name = 'DuplicateNodeError';
  }
}

interface Seen {
  info: MemberInfo;
  expiresAt: number;
}

export const memberKey = (nodeId: string) => `n.${nodeId}`;

export class Membership {
  readonly nodeId: string;
  private readonly kv: KV;
  private readonly o: Required<MembershipOptions>;
  private readonly seen = new Map<string, Seen>();
  private revision = 0;
  private readonly info: MemberInfo;
  private watcher: { stop(): void } | null = null;

  constructor(kv: KV, o: MembershipOptions) {
    this.kv = kv;
    this.o = { apiUrl: null, now: Date.now, ...o };
    this.nodeId = o.nodeId;
    this.info = { node_id: o.nodeId, instance: o.instance, started_at: new Date(this.o.now()).toISOString(), api_url: this.o.apiUrl };
  }

  /**
   * Write the first heartbeat. A heartbeat of an earlier instance (this node
   * killed and restarted) is waited out for up to one TTL; one that keeps
   * being renewed belongs to another live node: DuplicateNodeError.
   */
  async join(): Promise<void> {
    await this.watch();
    const deadline = this.o.now() + this.o.ttlMs + 2000;
    let lastRevision = -1;
    for (;;) {
      try {
        this.revision = await this.kv.create(memberKey(this.nodeId), JSON.stringify(this.info));
        return;
      } catch (err) {
        if (!isWrongRevision(err)) throw err;
      }
      const entry = await this.kv.get(memberKey(this.nodeId));
      if (entry && entry.operation === 'PUT') {
        if (lastRevision !== -1 && entry.revision !== lastRevision) throw new DuplicateNodeError(this.nodeId);
        lastRevision = entry.revision;
      }
      if (this.o.now() > deadline) throw new DuplicateNodeError(this.nodeId);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Renew the heartbeat; throws DuplicateNodeError when another writer took the key. */
  async heartbeat(): Promise<void> {
    try {
      this.revision = await this.kv.update(memberKey(this.nodeId), JSON.stringify(this.info), this.revision);
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      const entry = await this.kv.get(memberKey(this.nodeId));
      if (entry && entry.operation === 'PUT') {
        // A value no node wrote is no live node: written over, as our own would be.
        const theirs = kvJson(entry, isMemberInfo);
        if (theirs && theirs.instance !== this.info.instance) throw new DuplicateNodeError(this.nodeId);
        // Our own write whose answer was lost: carry on from it.
        this.revision = await this.kv.update(memberKey(this.nodeId), JSON.stringify(this.info), entry.revision);
        return;
      }
      // Our key expired (NATS was away longer than the TTL): join again.
      this.revision = await this.kv.create(memberKey(this.nodeId), JSON.stringify(this.info));
    }
  }

  /** Live node ids, sorted (this node included once its heartbeat is seen). */
  live(): string[] {
    const now = this.o.now();
    return [...this.seen.values()].filter((s) => s.expiresAt > now).map((s) => s.info.node_id).sort();
  }

  members(): MemberInfo[] {
    const now = this.o.now();
    return [...this.seen.values()].filter((s) => s.expiresAt > now).map((s) => s.info).sort((a, b) => (a.node_id < b.node_id ? -1 : 1));
  }

  /** Remove the heartbeat (a clean shutdown: the others rebalance at once). */
  async leave(): Promise<void> {
    this.watcher?.stop();
    this.watcher = null;
    if (this.revision) await this.kv.delete(memberKey(this.nodeId), { previousSeq: this.revision }).catch(() => undefined);
    this.revision = 0;
  }

  private async watch(): Promise<void> {
    const it = await this.kv.watch({ key: 'n.>' });
    this.watcher = it;
    (async () => {
      for await (const e of it) this.apply(e);
    })().catch(() => undefined);
  }

  private apply(e: KvWatchEntry): void {
    const id = e.key.slice(2);
    if (e.operation !== 'PUT') {
      this.seen.delete(id);
      return;
    }
    const info = kvJson(e, isMemberInfo);
    // A heartbeat no node wrote is no member.
    if (!info) {
      this.seen.delete(id);
      return;
    }
    const expiresAt = Math.min(e.created.getTime(), this.o.now()) + this.o.ttlMs;
    this.seen.set(id, { info, expiresAt });
  }
}

function isMemberInfo(v: unknown): v is MemberInfo {
  return namesNode(v) && typeof (v as { started_at?: unknown }).started_at === 'string';
}
