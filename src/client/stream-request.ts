// What the client asks of /ws/events: the URL (`?since=` when resuming, the
// filter as query fields) and the `filter` message that changes it on an open
// connection. An empty filter is no filter: every event.
import type { StreamFilter } from './types.js';

const FIELDS = ['hosts', 'tags', 'groups', 'types'] as const;

/** A copy of the filter, or null when it selects everything. */
export function normalFilter(f: StreamFilter | undefined): StreamFilter | null {
  return f && (f.hosts?.length || f.tags?.length || f.groups?.length || f.types?.length) ? { ...f } : null;
}

/** The stream's ws[s]:// URL from the daemon's http[s]:// base URL. `since`: resume after this seq. */
export function streamUrl(baseUrl: string, since: number | null, filter: StreamFilter | null): string {
  const base = baseUrl.replace(/\/+$/, '').replace(/^http/, 'ws');
  const q = new URLSearchParams();
  if (since !== null) q.set('since', String(since));
  if (filter) for (const k of FIELDS) if (filter[k]?.length) q.set(k, (filter[k] as string[]).join(','));
  const qs = q.toString();
  return `${base}/ws/events${qs ? `?${qs}` : ''}`;
}

/** The message that replaces the filter; every field is sent, so a field left out is cleared. */
export function filterMessage(filter: StreamFilter | null): string {
  return JSON.stringify({ type: 'filter', hosts: null, tags: null, groups: null, types: null, ...filter });
}
