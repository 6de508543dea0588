// The host status an actor starts from, and the part of it that comes from
// the host's configuration (refreshed on reload; the rest is runtime state).
import type { HostStatus, ResolvedHost } from '../common/schemas/host.js';

/** What the status takes from the host's config and groups. */
export function configFacts(host: ResolvedHost, groups: string[]): Pick<HostStatus, 'addr' | 'tags' | 'groups' | 'compose'> {
  return { addr: host.addr, tags: host.tags, groups, compose: host.compose_paths.length > 0 };
}

/** A fresh host's status on `shard`, overlaid with what the store restored of it (after a restart). */
export function initialStatus(host: ResolvedHost, groups: string[], shard: number, restore?: Partial<HostStatus>): HostStatus {
  // Field order as the API has always shown it (the read model serializes this object).
  return {
    name: host.name,
    addr: host.addr,
    state: 'idle',
    tags: host.tags,
    groups,
    pending_updates: null,
    last_updated: null,
    error: null,
    failed: null,
    shard,
    package_manager: null,
    compose: host.compose_paths.length > 0,
    job_id: null,
    ...restore,
  };
}
