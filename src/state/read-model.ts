// The front process's view of every host, kept current by the shards' status
// messages. GET requests are answered from here with no worker round trip.
// Each host's JSON is cached and rebuilt only when that host changes, so a
// 50-host page is a string join, not 50 JSON.stringify calls.
import type { HostState, HostStatus } from '../../common/schemas/host.js';
import { hasHostFilter, hostMatches } from '../fleet/fleet-filter.js';

/** Every page of a 100,000-host fleet at any one page size (~23 MB at 50 or 500 per page), with room to spare. */
const LIST_CACHE_BYTES = 48 * 1024 * 1024;

interface Entry {
  status: HostStatus;
  json: string | null;
}

export interface HostQuery {
  page: number;
  per_page: number;
  tags?: string[];
  state?: HostState;
  group?: string;
  search?: string;
  names?: ReadonlySet<string>;
}

export interface Page {
  items: HostStatus[];
  json: string[];
  total_items: number;
  total_pages: number;
}

export class ReadModel {
  readonly #hosts = new Map<string, Entry>();
  #sorted: string[] | null = [];
  readonly #byState = new Map<HostState, number>();
  /** Unfiltered list bodies by `page:per_page`, dropped whenever a host changes. */
  readonly #listCache = new Map<string, Buffer>();
  #listCacheBytes = 0;
  #allJson: string | null = null;

  get size(): number {
    return this.#hosts.size;
  }

  /** Replace a host's status (from a shard). Returns the previous one. */
  apply(status: HostStatus): HostStatus | undefined {
    const prev = this.#hosts.get(status.name);
    if (!prev) this.#sorted = null;
    else this.#count(prev.status.state, -1);
    this.#count(status.state, 1);
    this.#hosts.set(status.name, { status, json: null });
    this.#changed();
    return prev?.status;
  }

  remove(name: string): boolean {
    const prev = this.#hosts.get(name);
    if (!prev) return false;
    this.#count(prev.status.state, -1);
    this.#hosts.delete(name);
    this.#sorted = null;
    this.#changed();
    return true;
  }

  get(name: string): HostStatus | undefined {
    return this.#hosts.get(name)?.status;
  }

  has(name: string): boolean {
    return this.#hosts.has(name);
  }

  /** The host's JSON, stringified at most once per change. */
  json(name: string): string | undefined {
    const e = this.#hosts.get(name);
    if (!e) return undefined;
    return (e.json ??= JSON.stringify(e.status));
  }

  all(): IterableIterator<HostStatus> {
    return (function* (m: Map<string, Entry>) {
      for (const e of m.values()) yield e.status;
    })(this.#hosts);
  }

  /**
   * Every host's JSON, comma-joined in name order (a stream snapshot's list),
   * kept until a host changes: at 100,000 hosts the join is ~30 MB, and a
   * reconnect storm of unfiltered clients then costs one join, not one each.
   */
  allJson(): string {
    if (this.#allJson === null) {
      const parts: string[] = [];
      for (const name of this.names()) parts.push(this.json(name) as string);
      this.#allJson = parts.join(',');
    }
    return this.#allJson;
  }

  countByState(): Record<string, number> {
    return Object.fromEntries(this.#byState);
  }

  names(): string[] {
    if (!this.#sorted) this.#sorted = [...this.#hosts.keys()].sort();
    return this.#sorted;
  }

  query(q: HostQuery): Page {
    const names = this.names();
    const filtered = hasHostFilter(q);
    const start = (q.page - 1) * q.per_page;
    let selected: string[];
    let total: number;
    if (!filtered) {
      total = names.length;
      selected = names.slice(start, start + q.per_page);
    } else {
      selected = [];
      total = 0;
      for (const name of names) {
        if (!this.#matches(name, q)) continue;
        if (total >= start && selected.length < q.per_page) selected.push(name);
        total++;
      }
    }
    const items: HostStatus[] = [];
    const json: string[] = [];
    for (const name of selected) {
      items.push((this.#hosts.get(name) as Entry).status);
      json.push(this.json(name) as string);
    }
    return { items, json, total_items: total, total_pages: Math.max(1, Math.ceil(total / q.per_page)) };
  }

  /**
   * The whole `{"data":[…],"pagination":{…}}` body of a list request, as bytes.
   * Unfiltered pages are cached until any host changes: a dashboard polling
   * page 1 costs a lookup, not 50 string joins and a UTF-8 encode.
   */
  listBody(q: HostQuery): Buffer {
    const filtered = hasHostFilter(q);
    const key = `${q.page}:${q.per_page}`;
    if (!filtered) {
      const hit = this.#listCache.get(key);
      if (hit) return hit;
    }
    const p = this.query(q);
    const body = Buffer.from(
      `{"data":[${p.json.join(',')}],"pagination":{"page":${q.page},"per_page":${q.per_page},"total_items":${p.total_items},"total_pages":${p.total_pages}}}`,
    );
    if (!filtered) this.#cacheList(key, body);
    return body;
  }

  #matches(name: string, q: HostQuery): boolean {
    // The name check first: it needs no status lookup.
    if (q.search && !name.startsWith(q.search)) return false;
    return hostMatches((this.#hosts.get(name) as Entry).status, q);
  }

  tagCounts(): Array<{ tag: string; hosts: number }> {
    const counts = new Map<string, number>();
    for (const e of this.#hosts.values()) for (const t of e.status.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
    return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([tag, hosts]) => ({ tag, hosts }));
  }

  /**
   * Bounded by bytes, not entries: a client paging through a 100,000-host
   * fleet walks 2,000 pages, and a cap sized for 10,000 hosts (512 entries)
   * made every page a miss. The oldest pages go first once it is full.
   */
  #cacheList(key: string, body: Buffer): void {
    while (this.#listCacheBytes + body.length > LIST_CACHE_BYTES && this.#listCache.size > 0) {
      const [oldest, old] = this.#listCache.entries().next().value as [string, Buffer];
      this.#listCache.delete(oldest);
      this.#listCacheBytes -= old.length;
    }
    this.#listCache.set(key, body);
    this.#listCacheBytes += body.length;
  }

  #changed(): void {
    this.#allJson = null; // stale: let its ~300 bytes per host go now
    if (this.#listCacheBytes > 0) {
      this.#listCache.clear();
      this.#listCacheBytes = 0;
    }
  }

  #count(state: HostState, delta: number): void {
    this.#byState.set(state, (this.#byState.get(state) ?? 0) + delta);
  }
}
