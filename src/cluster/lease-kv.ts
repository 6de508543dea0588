// The lease protocol on one KV key, shared by partition leases (leases.ts) and
// job leases (job-lease.ts): take by create (only when the key is absent),
// renew by compare-and-set on the revision last written, give back by a delete
// on that revision. A lease counts as held until `validUntil`: the TTL from
// when the write was sent, less a margin for clock and delivery.
import type { KV } from '@nats-io/kv';
import { isWrongRevision } from './buckets.js';

export interface HeldLease {
  revision: number;
  validUntil: number;
}

export interface LeaseTiming {
  ttlMs: number;
  marginMs: number;
  now(): number;
}

/** The held lease, or null when someone else holds the key. */
export async function createLease(kv: KV, key: string, value: string, t: LeaseTiming): Promise<HeldLease | null> {
  const sentAt = t.now();
  try {
    return { revision: await kv.create(key, value), validUntil: sentAt + t.ttlMs - t.marginMs };
  } catch (err) {
    if (isWrongRevision(err)) return null;
    throw err;
  }
}

/** The renewed lease, or 'taken' when the key moved on (it expired and another took it); other failures throw (retry until validUntil). */
export async function renewLease(kv: KV, key: string, value: string, held: HeldLease, t: LeaseTiming): Promise<HeldLease | 'taken'> {
  const sentAt = t.now();
  try {
    return { revision: await kv.update(key, value, held.revision), validUntil: sentAt + t.ttlMs - t.marginMs };
  } catch (err) {
    if (isWrongRevision(err)) return 'taken';
    throw err;
  }
}

/** Delete the key if it is still the lease we hold (already moved on: nothing of ours to delete). */
export async function deleteLease(kv: KV, key: string, held: HeldLease): Promise<void> {
  await kv.delete(key, { previousSeq: held.revision }).catch((err) => {
    if (!isWrongRevision(err)) throw err;
  });
}
