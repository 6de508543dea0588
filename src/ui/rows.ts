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

type Keyed = { k: string | number; h: HostStatus };

/** Row order: the sort key in the view's direction, then the name (ascending) — total, so a row's place can be searched. */
function cmp(a: Keyed, b: Keyed, dir: number): number {
  return a.k < b.k ? -dir : a.k > b.k ? dir : a.h.name < b.h.name ? -1 : a.h.name > b.h.name ? 1 : 0;
}

const baseFilter = (v: View): HostFilter => ({ search: v.search || undefined, group: v.group ?? undefined, tags: v.tags });

export function derive(hosts: Iterable<HostStatus>, v: View): Derived {
  return new Deriver().full(hosts, v);
}

/**
 * Keeps the derived rows and counts between frames. A frame in which a few
 * hosts changed updates only them — counts moved, each row replaced in place
 * or moved to its new place by binary search — instead of filtering and
 * sorting 10,000 hosts again; a snapshot, a new view or a large change
 * re-derives everything.
 */
export class Deriver {
  #view: View | null = null;
  /** The status each host matching the base filters was counted with. */
  #seen = new Map<string, HostStatus>();
  #keyed: Keyed[] = [];
  #d: Derived | null = null;
  /** Hosts changed since the last update; null: derive everything. */
  #changed: Set<string> | null = null;
  /** Every tag and group seen (a full derive drops those no host has any more). */
  tags = new Set<string>();
  groups = new Set<string>();

  /** The stream changed this host. */
  touch(name: string): void {
    this.#changed?.add(name);
  }

  /** A snapshot replaced the fleet. */
  reset(): void {
    this.#changed = null;
  }

  update(hosts: ReadonlyMap<string, HostStatus>, v: View): Derived {
    const same = this.#view && this.#d && viewKey(this.#view) === viewKey(v);
    const changed = this.#changed;
    this.#changed = new Set();
    if (!same || !changed || changed.size > hosts.size / 8) return this.full(hosts.values(), v);
    if (changed.size === 0) return this.#d as Derived;
    const d = this.#d as Derived;
    const counts = { ...d.counts };
    const base = baseFilter(v);
    const dir = v.desc ? -1 : 1;
    const rows = this.#keyed;
    const out = { ...d, counts };
    const add = (h: HostStatus, n: 1 | -1) => {
      out.matching += n;
      counts[h.state] += n;
      if (h.failed && !h.failed.acknowledged) out.unacknowledged += n;
      if (h.state === 'waiting_reboot') out.needReboot += n;
      out.pendingUpdates += n * (h.pending_updates ?? 0);
    };
    for (const name of changed) {
      const old = this.#seen.get(name);
      const now = hosts.get(name);
      if (now) this.#note(now);
      if (old) {
        add(old, -1);
        if (!v.state || old.state === v.state) {
          const i = search(rows, { k: key(old, v.sort), h: old }, dir);
          if (rows[i]?.h.name === name) rows.splice(i, 1);
        }
        this.#seen.delete(name);
      }
      if (now && hostMatches(now, base)) {
        add(now, 1);
        this.#seen.set(name, now);
        if (!v.state || now.state === v.state) {
          const x = { k: key(now, v.sort), h: now };
          rows.splice(search(rows, x, dir), 0, x);
        }
      }
    }
    out.rows = rows.map((x) => x.h);
    return (this.#d = out);
  }

  full(hosts: Iterable<HostStatus>, v: View): Derived {
    const base = baseFilter(v);
    const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<HostState, number>;
    const keyed: Keyed[] = [];
    const seen = new Map<string, HostStatus>();
    this.tags = new Set();
    this.groups = new Set();
    let matching = 0;
    let unacknowledged = 0;
    let pendingUpdates = 0;
    let needReboot = 0;
    for (const h of hosts) {
      this.#note(h);
      if (!hostMatches(h, base)) continue;
      seen.set(h.name, h);
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
    keyed.sort((a, b) => cmp(a, b, dir));
    this.#view = v;
    this.#seen = seen;
    this.#keyed = keyed;
    this.#changed = new Set();
    return (this.#d = { rows: keyed.map((x) => x.h), counts, matching, unacknowledged, pendingUpdates, needReboot });
  }

  #note(h: HostStatus): void {
    for (const t of h.tags) this.tags.add(t);
    for (const g of h.groups) this.groups.add(g);
  }
}

/** Where `x` is, or would go, in rows sorted by cmp. */
function search(rows: Keyed[], x: Keyed, dir: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmp(rows[mid], x, dir) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const viewKey = (v: View) => [v.search, v.state, v.group, v.tags.join('\n'), v.sort, v.desc].join('\t');
