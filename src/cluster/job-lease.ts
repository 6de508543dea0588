// Job leases: the node coordinating an unfinished job holds `j.<id>` in a
// bucket whose TTL is the lease TTL, by the partition leases' protocol
// (leases.ts): create to take, compare-and-set every ttl/3 to renew, acting
// only until (send time of the last good write) + TTL − margin. A coordinator
// that dies stops renewing; the key expires and the first live node whose
// create succeeds continues the job.
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { openTtlBucket } from './buckets.js';
import { createLease, deleteLease, renewLease, type HeldLease, type LeaseTiming } from './lease-kv.js';
import { leaseMargin, type LeaseValue } from './leases.js';

export const JOB_LEASES_BUCKET = 'tendhost_job_leases';
const key = (jobId: string) => `j.${jobId}`;

export interface JobLeaseOptions {
  nodeId: string;
  instance: string;
  ttlMs: number;
  now?: () => number;
}

export class JobLeases {
  private readonly held = new Map<string, HeldLease>();
  private readonly value: string;
  private readonly now: () => number;
  private readonly timing: LeaseTiming;

  private constructor(
    private readonly kv: KV,
    private readonly o: JobLeaseOptions,
  ) {
    this.value = JSON.stringify({ node_id: o.nodeId, instance: o.instance } satisfies LeaseValue);
    this.now = o.now ?? Date.now;
    this.timing = { ttlMs: o.ttlMs, marginMs: leaseMargin(o.ttlMs), now: this.now };
  }

  static async open(nc: NatsConnection, o: JobLeaseOptions): Promise<JobLeases> {
    return new JobLeases(await openTtlBucket(nc, JOB_LEASES_BUCKET, o.ttlMs), o);
  }

  /** Take the job's lease; false when a live node holds it. */
  async acquire(jobId: string): Promise<boolean> {
    const held = await createLease(this.kv, key(jobId), this.value, this.timing);
    if (held) this.held.set(jobId, held);
    return held !== null;
  }

  /** Renew one lease: false when it is lost (taken, or not renewed in time). Other failures are retried on the next call. */
  async renew(jobId: string): Promise<boolean> {
    const h = this.held.get(jobId);
    if (!h) return false;
    const next = await renewLease(this.kv, key(jobId), this.value, h, this.timing).catch(() => h);
    if (next === 'taken') this.held.delete(jobId);
    else if (this.held.get(jobId) === h) this.held.set(jobId, next);
    return this.holds(jobId);
  }

  /** Whether this node may act for the job right now. */
  holds(jobId: string): boolean {
    const h = this.held.get(jobId);
    if (h && this.now() >= h.validUntil) this.held.delete(jobId);
    return this.held.has(jobId);
  }

  /** Whether anyone holds the job's lease (as the server has it now). */
  async isHeld(jobId: string): Promise<boolean> {
    const e = await this.kv.get(key(jobId));
    return !!e && e.operation === 'PUT';
  }

  /** Let the job go now (finished, or handed back on a clean stop). */
  async release(jobId: string): Promise<void> {
    const h = this.held.get(jobId);
    if (!h) return;
    this.held.delete(jobId);
    await deleteLease(this.kv, key(jobId), h);
  }

  /** Stop counting a lease as ours without touching NATS (it expires there). */
  forget(jobId: string): void {
    this.held.delete(jobId);
  }
}
