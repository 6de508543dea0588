// What a stream client asked to see (`?hosts=&tags=&groups=&types=`, or a
// later `filter` message) and whether an event matches it. Tags: the host has
// all; groups: any; hosts and types: any.
import { EVENT_TYPES } from '../../common/schemas/stream.js';
import type { StampedEvent } from '../events/replay-buffer.js';

/** Every event type a client may filter on (read off the stream-event union). */
const FILTERABLE_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);
export const FILTER_KEYS = new Set(['hosts', 'host', 'tags', 'tag', 'groups', 'group', 'types']);

export interface EventFilter {
  hosts: Set<string> | null;
  tags: Set<string> | null;
  groups: Set<string> | null;
  types: Set<string> | null;
}

const EMPTY: EventFilter = { hosts: null, tags: null, groups: null, types: null };

function listOf(v: unknown): Set<string> | null {
  if (v === undefined || v === null) return null;
  const arr = Array.isArray(v) ? v : String(v).split(',');
  const clean = arr.map((x) => String(x).trim()).filter(Boolean);
  return clean.length ? new Set(clean) : null;
}

export function parseFilter(src: Record<string, unknown>): EventFilter | null {
  const f: EventFilter = {
    hosts: listOf(src.hosts ?? src.host),
    tags: listOf(src.tags ?? src.tag),
    groups: listOf(src.groups ?? src.group),
    types: listOf(src.types),
  };
  return f.hosts || f.tags || f.groups || f.types ? f : null;
}

/** Why a filter cannot be used, or null when it can. */
export function filterProblem(f: EventFilter | null): string | null {
  if (!f?.types) return null;
  const bad = [...f.types].filter((t) => !FILTERABLE_TYPES.has(t));
  return bad.length ? `unknown event type(s) ${bad.join(', ')} (known: ${EVENT_TYPES.join(', ')})` : null;
}

type HostOf = (name: string) => { tags: readonly string[]; groups: readonly string[] } | undefined;

/** Does `e` match `f`? `hostOf` gives a host's tags and groups (undefined: gone). */
export function matches(f: EventFilter | null, e: StampedEvent, hostOf: HostOf): boolean {
  if (!f) return true;
  if (f.types && !f.types.has(e.type)) return false;
  if (!f.hosts && !f.tags && !f.groups) return true;
  return e.host !== null && hostMatches(f, e.host, hostOf);
}

/** Is `host` one of the hosts `f` names (by name, tags, groups)? */
export function hostMatches(f: EventFilter, host: string, hostOf: HostOf): boolean {
  if (f.hosts && !f.hosts.has(host)) return false;
  if (f.tags || f.groups) {
    const s = hostOf(host);
    if (!s) return false;
    if (f.tags) for (const t of f.tags) if (!s.tags.includes(t)) return false;
    if (f.groups && !s.groups.some((g) => f.groups?.has(g))) return false;
  }
  return true;
}

export function describe(f: EventFilter | null): Record<string, string[] | null> {
  const g = f ?? EMPTY;
  const arr = (s: Set<string> | null) => (s ? [...s] : null);
  return { hosts: arr(g.hosts), tags: arr(g.tags), groups: arr(g.groups), types: arr(g.types) };
}
