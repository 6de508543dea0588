// Which hosts a view selects: one predicate for GET /hosts (read model) and
// the dashboard's table, so a shared dashboard URL and the REST query with
// the same parameters list the same hosts. Pure, no imports beyond types.
import type { HostState } from '../../common/schemas/host.js';

export interface HostFilter {
  /** Host name starts with this. */
  search?: string;
  state?: HostState;
  group?: string;
  /** The host has every one of them. */
  tags?: readonly string[];
  names?: ReadonlySet<string>;
}

/** The fields of a host status the filter reads. */
export interface Filterable {
  name: string;
  state: HostState;
  tags: readonly string[];
  groups: readonly string[];
}

export function hasHostFilter(f: HostFilter): boolean {
  return !!(f.search || f.state || f.group || f.tags?.length || f.names);
}

export function hostMatches(h: Filterable, f: HostFilter): boolean {
  if (f.search && !h.name.startsWith(f.search)) return false;
  if (f.names && !f.names.has(h.name)) return false;
  if (f.state && h.state !== f.state) return false;
  if (f.group && !h.groups.includes(f.group)) return false;
  if (f.tags) for (const t of f.tags) if (!h.tags.includes(t)) return false;
  return true;
}

/** A rollout's selection (POST /fleet/update `filter`): tags all, groups any, minus exclude_hosts; none = all. */
export interface RolloutFilter {
  tags?: readonly string[];
  groups?: readonly string[];
  exclude_hosts?: readonly string[];
}

/** Build once per selection: the exclusion list becomes a set. */
export function rolloutSelector(f: RolloutFilter): (h: Filterable) => boolean {
  const exclude = new Set(f.exclude_hosts ?? []);
  const tags = f.tags?.length ? f.tags : null;
  const groups = f.groups?.length ? f.groups : null;
  return (h) => {
    if (exclude.has(h.name)) return false;
    if (tags && !tags.every((t) => h.tags.includes(t))) return false;
    if (groups && !groups.some((g) => h.groups.includes(g))) return false;
    return true;
  };
}

/** The hosts of a fleet a rollout selects, in the fleet's order (a daemon's read model, or a cluster node's of the whole fleet). */
export function selectHosts(fleet: { names(): Iterable<string>; get(name: string): Filterable | undefined }, f: RolloutFilter): string[] {
  const selected = rolloutSelector(f);
  const out: string[] = [];
  for (const name of fleet.names()) {
    const s = fleet.get(name);
    if (s && selected(s)) out.push(name);
  }
  return out;
}
