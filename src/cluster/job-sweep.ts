// Which running hosts of a rollout were cut short: their owner (as recorded in
// the host's claim) is no longer a live member, or is alive but no longer
// holds the host's partition. Pure: the coordinator writes what it returns.
import type { JobHostResult } from '../../common/schemas/job.js';
import type { Versioned } from './job-log.js';
import type { ClusterJobHostEntry } from './job-log-schema.js';

export interface CutShort {
  host: string;
  /** The entry to write (failed, INTERRUPTED, the node named) … */
  cut: ClusterJobHostEntry;
  /** … over this revision of the claim. */
  revision: number;
}

export function cutShort(
  hosts: readonly JobHostResult[],
  entries: ReadonlyMap<string, Versioned<ClusterJobHostEntry | null>>,
  live: ReadonlySet<string>,
  ownerOf: (host: string) => string | null,
  at: Date,
): CutShort[] {
  const out: CutShort[] = [];
  for (const h of hosts) {
    if (h.state !== 'running') continue;
    const known = entries.get(h.host);
    const e = known?.value;
    if (!known || !e || e.result.state !== 'running' || e.node === null) continue;
    const owner = ownerOf(h.host);
    const alive = e.instance !== null && live.has(e.instance);
    if (alive && (owner === null || owner === e.node)) continue;
    const reason = alive ? `interrupted: cluster node ${e.node} lost the host's partition to ${owner}` : `interrupted: cluster node ${e.node} stopped during the update`;
    // reason stays null, as the rollout records a failure (the error says it): no second write for the same result.
    const cut: ClusterJobHostEntry = { ...e, result: { ...e.result, state: 'failed', error: reason, code: 'INTERRUPTED', reason: null, finished_at: at.toISOString() } };
    out.push({ host: h.host, cut, revision: known.revision });
  }
  return out;
}
