// The host table's rows: names in a stable order and, with a `/` filter, the
// subset matching it; plus the counts per state. Kept up to date per event
// (only the hosts an event names are looked at), so a frame of a 10,000-host
// fleet does not walk the fleet; a snapshot, a filter change or changes it was
// not told about (the model's version moved further than the events noted)
// rebuild it whole.
import type { HostState, HostStatus, StreamEvent } from '../../client/types.js';
import { HOST_STATES } from '../../../common/schemas/host.js';

export type StateCounts = Record<HostState, number>;

export class HostIndex {
  /** Every host, sorted. */
  #names: string[] = [];
  /** The shown ones: `#names` itself without a filter. */
  #rows: string[] = [];
  #stateOf = new Map<string, HostState>();
  #counts: StateCounts = zeroCounts();
  #version = -1;
  #filter = '';
  #dirty = new Set<string>();
  #noted = 0;

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

  /** The events the model just applied: their hosts are looked at on the next refresh. */
  note(batch: readonly StreamEvent[]): void {
    this.#noted += batch.length;
    for (const e of batch) if ('host' in e && typeof e.host === 'string') this.#dirty.add(e.host);
  }

  /** Bring rows and counts up to the model; cheap when nothing changed. */
  refresh(hosts: ReadonlyMap<string, HostStatus>, version: number, filter: string): void {
    const needle = filter.trim().toLowerCase();
    if (version === this.#version && needle === this.#filter) return;
    const incremental = needle === this.#filter && this.#version >= 0 && version - this.#version === this.#noted;
    this.#version = version;
    this.#filter = needle;
    if (incremental) for (const name of this.#dirty) this.#update(hosts, name);
    else this.#rebuild(hosts);
    this.#dirty.clear();
    this.#noted = 0;
  }

  #rebuild(hosts: ReadonlyMap<string, HostStatus>): void {
    this.#names = [...hosts.keys()].sort(compareNames);
    this.#stateOf.clear();
    const counts = zeroCounts();
    const rows: string[] = this.#filter ? [] : this.#names;
    for (const name of this.#names) {
      const h = hosts.get(name) as HostStatus;
      counts[h.state]++;
      this.#stateOf.set(name, h.state);
      if (this.#filter && matches(h, this.#filter)) rows.push(name);
    }
    this.#counts = counts;
    this.#rows = rows;
  }

  #update(hosts: ReadonlyMap<string, HostStatus>, name: string): void {
    const h = hosts.get(name);
    const was = this.#stateOf.get(name);
    if (was !== undefined) this.#counts[was]--;
    if (!h) {
      if (was === undefined) return;
      this.#stateOf.delete(name);
      remove(this.#names, name);
      if (this.#filter) remove(this.#rows, name);
      return;
    }
    this.#counts[h.state]++;
    this.#stateOf.set(name, h.state);
    if (was === undefined) insert(this.#names, name);
    if (this.#filter) {
      if (matches(h, this.#filter)) insert(this.#rows, name);
      else remove(this.#rows, name);
    }
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

/** web-2 before web-10: digit runs compare as numbers. */
const collator = new Intl.Collator('en', { numeric: true });
function compareNames(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** Where `name` is in the sorted list, or where it would go. */
function search(list: readonly string[], name: string): { at: number; found: boolean } {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareNames(list[mid], name);
    if (c === 0) return { at: mid, found: true };
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return { at: lo, found: false };
}

function insert(list: string[], name: string): void {
  const { at, found } = search(list, name);
  if (!found) list.splice(at, 0, name);
}

function remove(list: string[], name: string): void {
  const { at, found } = search(list, name);
  if (found) list.splice(at, 1);
}

export function zeroCounts(): StateCounts {
  return Object.fromEntries(HOST_STATES.map((s) => [s, 0])) as StateCounts;
}
