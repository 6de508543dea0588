// What the table and the summary show, derived from the model and the view in
// one pass: the filtered, sorted rows and the counts of exactly those hosts
// (so the numbers always add up to what is listed).
import type { HostState, HostStatus } from '../client/types.js';
import { hostMatches, type HostFilter } from '../fleet/fleet-filter.js';
import type { SortKey, View } from './url-state.js';
import { STATES } from './states.js';

export interface Derived {
  rows: HostStatus[];
  /** Hosts per state among the hosts matching every filter but the state one. */
  counts: Record<HostState, number>;
  /** Hosts matching every filter but the state one (the sum of counts). */
  matching: number;
  unacknowledged: number;
  pendingUpdates: number;
  needReboot: number;
}

const STATE_ORDER = new Map(STATES.map((s, i) => [s, i]));

function key(h: HostStatus, k: SortKey): string | number {
  switch (k) {
    case 'name':
      return h.name;
    case 'state':
      return STATE_ORDER.get(h.state) ?? 0;
    case 'addr':
      return h.addr;
    case 'pending':
      return h.pending_updates ?? -1;
    case 'last_updated':
      return h.last_updated ?? '';
    case 'tags':
      return h.tags.join(',');
    case 'groups':
      return h.groups.join(',');
  }
}

export function derive(hosts: Iterable<HostStatus>, v: View): Derived {
  const base: HostFilter = { search: v.search || undefined, group: v.group ?? undefined, tags: v.tags };
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<HostState, number>;
  const keyed: Array<{ k: string | number; h: HostStatus }> = [];
  let matching = 0;
  let unacknowledged = 0;
  let pendingUpdates = 0;
  let needReboot = 0;
  for (const h of hosts) {
    if (!hostMatches(h, base)) continue;
    matching++;
    counts[h.state]++;
    if (h.failed && !h.failed.acknowledged) unacknowledged++;
    if (h.state === 'waiting_reboot') needReboot++;
    pendingUpdates += h.pending_updates ?? 0;
    if (v.state && h.state !== v.state) continue;
    keyed.push({ k: key(h, v.sort), h });
  }
  // Plain comparisons (no localeCompare): 10,000 rows sort in a few ms.
  const dir = v.desc ? -1 : 1;
  keyed.sort((a, b) => (a.k < b.k ? -dir : a.k > b.k ? dir : a.h.name < b.h.name ? -1 : a.h.name > b.h.name ? 1 : 0));
  return { rows: keyed.map((x) => x.h), counts, matching, unacknowledged, pendingUpdates, needReboot };
}
