// A host's cluster partition: the shards' stable hash (FNV-1a of the name)
// over the partition count, so a host's partition never changes while
// `[cluster] partitions` does not, whichever node owns it.
import { shardOf } from '../pool/shard-of.js';

export function partitionOf(hostName: string, partitions: number): number {
  return shardOf(hostName, partitions);
}

/** The partition's lease key in the leases bucket. */
export function leaseKey(partition: number): string {
  return `p.${partition}`;
}

/** The partition a lease key names, or null for a key that is not one. */
export function partitionOfLeaseKey(key: string): number | null {
  const m = /^p\.(\d+)$/.exec(key);
  return m ? Number(m[1]) : null;
}

/**
 * A node's preference for a partition (rendezvous hashing): each node ranks
 * the partitions differently, so nodes acquiring at the same moment mostly
 * reach for different ones.
 */
export function affinity(nodeId: string, partition: number): number {
  // FNV-1a alone orders names that differ only in a few characters alike; the
  // murmur3 finalizer spreads its bits so each node's order is its own.
  let h = shardOf(`${nodeId}@${partition}`, 2 ** 32);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
