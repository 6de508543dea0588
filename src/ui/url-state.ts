// The view (filters, sort, selected host or job) lives in the URL so a view
// can be shared; the signal is the one source, written back with replaceState.
import { signal, effect } from '@preact/signals';
import type { HostState } from '../client/types.js';
import { isHostState } from './states.js';

export const SORT_KEYS = ['name', 'state', 'addr', 'pending', 'last_updated', 'tags', 'groups'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface View {
  /** Host name prefix (same meaning as GET /hosts?search=). */
  search: string;
  state: HostState | null;
  group: string | null;
  /** The host has all of them. */
  tags: string[];
  sort: SortKey;
  desc: boolean;
  host: string | null;
  job: string | null;
}

export function parseView(search: string): View {
  const q = new URLSearchParams(search);
  const state = q.get('state');
  const sort = q.get('sort');
  return {
    search: q.get('search') ?? '',
    state: state && isHostState(state) ? state : null,
    group: q.get('group') || null,
    tags: q.getAll('tag').filter(Boolean),
    sort: (SORT_KEYS as readonly string[]).includes(sort ?? '') ? (sort as SortKey) : 'name',
    desc: q.get('dir') === 'desc',
    host: q.get('host') || null,
    job: q.get('job') || null,
  };
}

export function viewQuery(v: View): string {
  const q = new URLSearchParams();
  if (v.search) q.set('search', v.search);
  if (v.state) q.set('state', v.state);
  if (v.group) q.set('group', v.group);
  for (const t of v.tags) q.append('tag', t);
  if (v.sort !== 'name') q.set('sort', v.sort);
  if (v.desc) q.set('dir', 'desc');
  if (v.host) q.set('host', v.host);
  if (v.job) q.set('job', v.job);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const view = signal<View>(parseView(location.search));

export function setView(patch: Partial<View>): void {
  view.value = { ...view.value, ...patch };
}

effect(() => {
  const next = viewQuery(view.value);
  if (next !== location.search) history.replaceState(null, '', `${location.pathname}${next}`);
});
addEventListener('popstate', () => {
  view.value = parseView(location.search);
});
