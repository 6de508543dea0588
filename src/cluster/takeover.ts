// What a node attaches when it takes a partition: the partition's hosts from
// the shared registry and where each one left off. A host that was mid-
// operation under the previous owner cannot still be (that node is gone or
// handed over only idle hosts), so — as after a crash on one machine
// (app/recovery.ts) — it is restored failed, naming the interruption.
import type { HostStatus, ResolvedHost } from '../../common/schemas/host.js';
import { restoredStatus, wasInterrupted } from '../app/recovery.js';
import type { RegistryKv } from './registry-kv.js';

export interface PartitionRestore {
  hosts: ResolvedHost[];
  /** Host name → the status its actor starts from (hosts never reported are absent: they start fresh). */
  statuses: Map<string, Partial<HostStatus>>;
  /** Hosts whose operation was cut short, now failed. */
  interrupted: string[];
}

export async function restorePartition(
  registry: Pick<RegistryKv, 'partitionHosts' | 'partitionStatuses'>,
  partition: number,
  previousOwner: string | null,
  at: string = new Date().toISOString(),
): Promise<PartitionRestore> {
  const [records, last] = await Promise.all([registry.partitionHosts(partition), registry.partitionStatuses(partition)]);
  const byName = new Map(last.map((s) => [s.name, s]));
  const cause = previousOwner ? `cluster node ${previousOwner} stopped` : 'its cluster node stopped';
  const statuses = new Map<string, Partial<HostStatus>>();
  const interrupted: string[] = [];
  for (const r of records) {
    const prev = byName.get(r.host.name);
    if (!prev) continue;
    statuses.set(r.host.name, restoredStatus(prev, { cause, code: 'INTERRUPTED', at }));
    if (wasInterrupted(prev)) interrupted.push(r.host.name);
  }
  return { hosts: records.map((r) => r.host), statuses, interrupted };
}
