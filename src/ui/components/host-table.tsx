// The host table, virtualised: only the rows in view (plus a few) are in the
// DOM, whatever the fleet size, so 10,000 or 100,000 hosts cost the same to
// draw. Rows have a fixed height; the body's height stands for all of them.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { HostStatus } from '../../client/types.js';
import { STATE_LABEL } from '../states.js';
import { setView, view, type SortKey } from '../url-state.js';

export const ROW_HEIGHT = 28;
const OVERSCAN = 8;

const COLUMNS: Array<{ key: SortKey; label: string }> = [
  { key: 'name', label: 'Host' },
  { key: 'state', label: 'State' },
  { key: 'addr', label: 'Address' },
  { key: 'pending', label: 'Pending' },
  { key: 'last_updated', label: 'Last updated' },
  { key: 'tags', label: 'Tags' },
  { key: 'groups', label: 'Groups' },
];

// toLocaleString costs tens of µs (Intl): the visible rows are redrawn every frame, their dates rarely change.
const dates = new Map<string, string>();
function when(iso: string | null): string {
  if (!iso) return '–';
  let s = dates.get(iso);
  if (s === undefined) {
    if (dates.size > 5_000) dates.clear();
    dates.set(iso, (s = new Date(iso).toLocaleString()));
  }
  return s;
}

/** Enter or space opens the row's host; the arrow keys move between rows. */
function rowKeyDown(e: KeyboardEvent & { currentTarget: HTMLElement }, open: () => void): void {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    open();
  } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    const sib = e.key === 'ArrowDown' ? e.currentTarget.nextElementSibling : e.currentTarget.previousElementSibling;
    (sib as HTMLElement | null)?.focus();
  }
}

/**
 * Row i of the table. A plain function, not a component: a component per row
 * would add its own bookkeeping to every row of every frame.
 */
function hostRow(h: HostStatus, i: number, slot: number, selected: boolean, open: (name: string) => void) {
  return (
    <div
      key={slot}
      class={`row${selected ? ' selected' : ''}`}
      role="row"
      aria-rowindex={i + 2}
      tabIndex={0}
      data-host={h.name}
      style={{ transform: `translateY(${i * ROW_HEIGHT}px)` }}
      onClick={() => open(h.name)}
      onKeyDown={(e) => rowKeyDown(e, () => open(h.name))}
    >
      <span role="cell" class="c-name">{h.name}</span>
      <span role="cell" class="c-state">
        <span class={`pill st-${h.state}`}>{STATE_LABEL[h.state]}</span>
        {h.failed && !h.failed.acknowledged && <span class="muted"> unacknowledged</span>}
      </span>
      <span role="cell" class="c-addr">{h.addr}</span>
      <span role="cell" class="c-pending">{h.pending_updates ?? '–'}</span>
      <span role="cell" class="c-when">{when(h.last_updated)}</span>
      <span role="cell" class="c-tags">{h.tags.join(', ')}</span>
      <span role="cell" class="c-groups">{h.groups.join(', ')}</span>
    </div>
  );
}

function HeaderRow({ sort, desc }: { sort: SortKey; desc: boolean }) {
  const sortBy = (k: SortKey) => setView(sort === k ? { desc: !desc } : { sort: k, desc: false });
  return (
    <div class="row head" role="row" aria-rowindex={1}>
      {COLUMNS.map((c) => (
        <span key={c.key} role="columnheader" class={`c-${c.key === 'last_updated' ? 'when' : c.key}`} aria-sort={sort === c.key ? (desc ? 'descending' : 'ascending') : 'none'}>
          <button type="button" onClick={() => sortBy(c.key)}>
            {c.label}
            {sort === c.key ? (desc ? ' ▼' : ' ▲') : ''}
          </button>
        </span>
      ))}
    </div>
  );
}

/** The element's height, kept current as it resizes. */
function useHeight(el: { current: HTMLElement | null }, initial: number): number {
  const [height, setHeight] = useState(initial);
  useEffect(() => {
    const e = el.current;
    if (!e) return;
    const ro = new ResizeObserver(() => setHeight(e.clientHeight));
    ro.observe(e);
    return () => ro.disconnect();
  }, []);
  return height;
}

export function HostTable({ rows }: { rows: HostStatus[] }) {
  const body = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const height = useHeight(body, 600);
  const v = view.value;
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
  const open = (name: string) => setView({ host: name, job: null });
  const visible = [];
  // Rows are keyed by their slot, not their host: scrolling rewrites the text of
  // the same elements instead of building a new row element per host that scrolls
  // into view (that was most of a scroll's cost in bench/dashboard).
  const slots = last - first;
  for (let i = first; i < last; i++) visible.push(hostRow(rows[i], i, i % slots, v.host === rows[i].name, open));
  return (
    <section class="table" role="table" aria-label="Hosts" aria-rowcount={rows.length + 1}>
      <HeaderRow sort={v.sort} desc={v.desc} />
      <div class="body" ref={body} onScroll={(e) => setTop(e.currentTarget.scrollTop)} data-testid="table-body">
        <div class="spacer" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>{visible}</div>
      </div>
      <p class="muted table-foot" data-testid="shown">{rows.length} shown</p>
    </section>
  );
}
