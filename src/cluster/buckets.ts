// The JetStream KV buckets a cluster shares. Their TTL is the lease TTL: a
// heartbeat or lease not written again within it is removed by the server
// itself, which is what frees a dead node's partitions.
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';

export const MEMBERS_BUCKET = 'tendhost_members';
export const LEASES_BUCKET = 'tendhost_leases';

export class ClusterSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterSetupError';
  }
}

/** Open (creating if needed) a bucket whose entries live `ttlMs` after their last write. */
export async function openTtlBucket(nc: NatsConnection, name: string, ttlMs: number): Promise<KV> {
  const kvm = new Kvm(nc);
  try {
    // Requests answer well inside a TTL or fail, so a renewal stuck on a dead
    // connection never holds up the holder's own expiry check.
    const kv = await kvm.create(name, { ttl: ttlMs, history: 1, timeout: Math.max(1000, Math.floor(ttlMs / 4)) });
    const status = await kv.status();
    // Every node must agree on the TTL, or leases would outlive (or die before) their holders' renewals.
    if (status.ttl !== ttlMs) {
      throw new ClusterSetupError(`bucket ${name} has a TTL of ${status.ttl / 1000} s but cluster.lease_ttl_s is ${ttlMs / 1000}: every node must use the same lease_ttl_s`);
    }
    return kv;
  } catch (err) {
    if (err instanceof ClusterSetupError) throw err;
    if (/different configuration|already in use/i.test((err as Error).message)) {
      throw new ClusterSetupError(`bucket ${name} exists with another configuration (${(err as Error).message}): every node must use the same cluster.lease_ttl_s`);
    }
    throw err;
  }
}

/** A compare-and-set refused because the key moved on (someone else wrote it). */
export function isWrongRevision(err: unknown): boolean {
  return err instanceof Error && /wrong last sequence/i.test(err.message);
}
