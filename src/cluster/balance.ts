// Which partitions this node should take or hand back, from what it can see:
// the live nodes, the current owners and which partitions have a busy host.
// Pure, so every node computes the same targets from the same view.
//
// - Targets: P partitions over N live nodes (sorted by id), the first P mod N
//   nodes one more: an even spread that sums to P.
// - Take: below target, free partitions (no lease) in this node's own
//   rendezvous order, so nodes taking at once mostly reach for different ones.
//   A partition whose lease belongs to a node no longer live is not free until
//   the lease expires (the server frees it; create would be refused before).
// - Hand back: above target, only while some live node is below its own, and
//   only idle partitions, the ones this node ranks lowest first. A busy
//   partition stays until its hosts are idle.
import { affinity } from './partition.js';

export interface BalanceInput {
  self: string;
  /** Live node ids (any order; duplicates ignored). */
  live: readonly string[];
  partitions: number;
  /** Partition → owner node id, for partitions with a lease. */
  owners: ReadonlyMap<number, string>;
  /** Partitions with a host mid-operation. */
  busy: (partition: number) => boolean;
}

export interface BalancePlan {
  acquire: number[];
  release: number[];
  /** What this node should own once settled (for status and tests). */
  target: number;
}

export function targets(live: readonly string[], partitions: number): Map<string, number> {
  const nodes = [...new Set(live)].sort();
  const out = new Map<string, number>();
  if (nodes.length === 0) return out;
  const base = Math.floor(partitions / nodes.length);
  const extra = partitions % nodes.length;
  nodes.forEach((n, i) => out.set(n, base + (i < extra ? 1 : 0)));
  return out;
}

export function plan(input: BalanceInput): BalancePlan {
  const t = targets(input.live, input.partitions);
  const target = t.get(input.self);
  // Not (yet) seen as live by ourselves: take nothing, give nothing back.
  if (target === undefined) return { acquire: [], release: [], target: 0 };

  const counts = new Map<string, number>();
  const mine: number[] = [];
  const free: number[] = [];
  for (let p = 0; p < input.partitions; p++) {
    const owner = input.owners.get(p);
    if (owner === undefined) free.push(p);
    else {
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
      if (owner === input.self) mine.push(p);
    }
  }
  const byAffinity = (a: number, b: number) => affinity(input.self, b) - affinity(input.self, a) || a - b;

  if (mine.length < target) {
    const acquire = free.sort(byAffinity).slice(0, target - mine.length);
    return { acquire, release: [], target };
  }
  if (mine.length > target) {
    // Hand back only what some live node below its target can use.
    // Free partitions fill the others' gaps first.
    let wanted = -free.length;
    for (const [node, want] of t) if (node !== input.self) wanted += Math.max(0, want - (counts.get(node) ?? 0));
    const excess = Math.min(mine.length - target, Math.max(0, wanted));
    const release = mine
      .filter((p) => !input.busy(p))
      .sort(byAffinity)
      .reverse()
      .slice(0, excess);
    return { acquire: [], release, target };
  }
  return { acquire: [], release: [], target };
}
