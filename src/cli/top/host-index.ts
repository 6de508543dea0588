// The host table's rows: names in a stable order (sorted once per change of
// the host set, not per event) and, with a `/` filter, the subset matching it;
// plus the counts per state. Recomputed only when the model's version moved.
import type { HostState, HostStatus } from '../../client/types.js';
import { HOST_STATES } from '../../schemas/host.js';

export type StateCounts = Record<HostState, number>;

export class HostIndex {
  #names: string[] = [];
  #nameSet = new Set<string>();
  #rows: string[] = [];
  #counts: StateCounts = zeroCounts();
  #version = -1;
  #filter = '';

  /** Names shown, in order, after the filter. */
  get rows(): readonly string[] {
    return this.#rows;
  }

  get counts(): Readonly<StateCounts> {
    return this.#counts;
  }

  get total(): number {
    return this.#names.length;
  }

  /** Bring rows and counts up to the model; cheap when nothing changed. */
  refresh(hosts: ReadonlyMap<string, HostStatus>, version: number, filter: string): void {
    if (version === this.#version && filter === this.#filter) return;
    this.#version = version;
    this.#filter = filter;
    if (!sameSet(this.#nameSet, hosts)) {
      this.#names = [...hosts.keys()].sort(compareNames);
      this.#nameSet = new Set(this.#names);
    }
    const counts = zeroCounts();
    const needle = filter.trim().toLowerCase();
    const rows: string[] = needle ? [] : this.#names;
    for (const name of this.#names) {
      const h = hosts.get(name) as HostStatus;
      counts[h.state]++;
      if (needle && matches(h, needle)) rows.push(name);
    }
    this.#counts = counts;
    this.#rows = rows;
  }
}

/** A filter matches a host's name, address, state, tags, groups, error code or package manager (substring, any case). */
export function matches(h: HostStatus, needle: string): boolean {
  // `state:failed` style narrows to one field.
  const colon = needle.indexOf(':');
  if (colon > 0) {
    const field = needle.slice(0, colon);
    const want = needle.slice(colon + 1);
    switch (field) {
      case 'state':
        return h.state.includes(want);
      case 'tag':
        return h.tags.some((t) => t.toLowerCase().includes(want));
      case 'group':
        return h.groups.some((g) => g.toLowerCase().includes(want));
    }
  }
  if (h.name.toLowerCase().includes(needle) || h.addr.toLowerCase().includes(needle) || h.state.includes(needle)) return true;
  if (h.tags.some((t) => t.toLowerCase().includes(needle)) || h.groups.some((g) => g.toLowerCase().includes(needle))) return true;
  return !!h.failed?.code.toLowerCase().includes(needle) || (!!h.package_manager && h.package_manager.includes(needle));
}

function sameSet(set: Set<string>, hosts: ReadonlyMap<string, HostStatus>): boolean {
  if (set.size !== hosts.size) return false;
  for (const k of hosts.keys()) if (!set.has(k)) return false;
  return true;
}

/** web-2 before web-10: digit runs compare as numbers. */
const collator = new Intl.Collator('en', { numeric: true });
function compareNames(a: string, b: string): number {
  return collator.compare(a, b);
}

export function zeroCounts(): StateCounts {
  return Object.fromEntries(HOST_STATES.map((s) => [s, 0])) as StateCounts;
}
