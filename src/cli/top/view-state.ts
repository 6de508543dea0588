// What the operator is doing in `top`, as plain data, and how each key changes
// it: moving the selection, typing a filter, confirming an action. Pure — the
// app runs the effect a key asks for (quit, call the daemon).
import type { Key } from './keys.js';

export const ACTIONS = {
  u: { action: 'update', label: 'update' },
  d: { action: 'dry-run', label: 'dry-run update' },
  b: { action: 'reboot', label: 'reboot' },
  r: { action: 'retry', label: 'retry' },
  a: { action: 'acknowledge', label: 'acknowledge the failure of' },
} as const;
export type HostAction = (typeof ACTIONS)[keyof typeof ACTIONS]['action'];

export interface ViewState {
  /** The selected host's name: the selection follows the host, not the row number. */
  selected: string | null;
  /** First row shown. */
  scroll: number;
  filter: string;
  /** Non-null while the filter is being typed. */
  filterDraft: string | null;
  confirm: { action: HostAction; host: string } | null;
  /** One line of feedback (an action's result, an error). */
  message: string | null;
}

export type Effect = { kind: 'quit' } | { kind: 'act'; action: HostAction; host: string } | { kind: 'redraw-all' } | null;

export function initialView(): ViewState {
  return { selected: null, scroll: 0, filter: '', filterDraft: null, confirm: null, message: null };
}

/** Make sure a selection exists among the rows and stays visible in `height` rows. */
export function settle(v: ViewState, rows: readonly string[], height: number): ViewState {
  let index = v.selected === null ? -1 : rows.indexOf(v.selected);
  let selected = v.selected;
  if (index < 0) {
    index = rows.length ? Math.min(Math.max(0, v.scroll), rows.length - 1) : -1;
    selected = index < 0 ? null : rows[index];
  }
  const h = Math.max(1, height);
  let scroll = Math.min(v.scroll, Math.max(0, rows.length - h));
  if (index >= 0) {
    if (index < scroll) scroll = index;
    if (index >= scroll + h) scroll = index - h + 1;
  }
  scroll = Math.max(0, scroll);
  return selected === v.selected && scroll === v.scroll ? v : { ...v, selected, scroll };
}

/** Apply one key. `rows` are the visible host names in order, `height` the table's rows on screen. */
export function onKey(v: ViewState, key: Key, rows: readonly string[], height: number): { view: ViewState; effect: Effect } {
  if (key.name === 'ctrl-c') return { view: v, effect: { kind: 'quit' } };
  if (key.name === 'ctrl-l') return { view: v, effect: { kind: 'redraw-all' } };
  if (v.confirm) return confirmKey(v, key);
  if (v.filterDraft !== null) return { view: filterKey(v, key), effect: null };
  const move = (to: number) => ({ view: select(v, rows, to, height), effect: null });
  const at = v.selected === null ? 0 : Math.max(0, rows.indexOf(v.selected));
  const page = Math.max(1, height - 1);
  switch (key.name) {
    case 'down':
      return move(at + 1);
    case 'up':
      return move(at - 1);
    case 'pagedown':
      return move(at + page);
    case 'pageup':
      return move(at - page);
    case 'home':
      return move(0);
    case 'end':
      return move(rows.length - 1);
    case 'escape':
      return { view: v.filter || v.message ? { ...v, filter: '', message: null, scroll: 0 } : v, effect: null };
    case 'char':
      break;
    default:
      return { view: v, effect: null };
  }
  switch (key.char) {
    case 'q':
      return { view: v, effect: { kind: 'quit' } };
    case 'j':
      return move(at + 1);
    case 'k':
      return move(at - 1);
    case 'g':
      return move(0);
    case 'G':
      return move(rows.length - 1);
    case '/':
      return { view: { ...v, filterDraft: v.filter, message: null }, effect: null };
  }
  const act = ACTIONS[key.char as keyof typeof ACTIONS];
  if (act) {
    if (v.selected === null) return { view: { ...v, message: 'no host selected' }, effect: null };
    return { view: { ...v, confirm: { action: act.action, host: v.selected }, message: null }, effect: null };
  }
  return { view: v, effect: null };
}

function select(v: ViewState, rows: readonly string[], to: number, height: number): ViewState {
  if (rows.length === 0) return v;
  const index = Math.min(Math.max(0, to), rows.length - 1);
  return settle({ ...v, selected: rows[index], message: null }, rows, height);
}

function confirmKey(v: ViewState, key: Key): { view: ViewState; effect: Effect } {
  const c = v.confirm as NonNullable<ViewState['confirm']>;
  if (key.name === 'char' && (key.char === 'y' || key.char === 'Y')) {
    return { view: { ...v, confirm: null, message: `${c.action} ${c.host}: sending…` }, effect: { kind: 'act', action: c.action, host: c.host } };
  }
  // Anything else is a no: a stray key must never start an update.
  return { view: { ...v, confirm: null, message: `${c.action} ${c.host}: not sent` }, effect: null };
}

function filterKey(v: ViewState, key: Key): ViewState {
  const draft = v.filterDraft as string;
  switch (key.name) {
    case 'enter':
      return { ...v, filter: draft.trim(), filterDraft: null, scroll: 0 };
    case 'escape':
      return { ...v, filterDraft: null };
    case 'backspace':
      return { ...v, filterDraft: Array.from(draft).slice(0, -1).join('') };
    case 'char':
      return draft.length < 200 ? { ...v, filterDraft: draft + key.char } : v;
    default:
      return v;
  }
}

/** The question shown while an action waits for y/n. */
export function confirmQuestion(c: NonNullable<ViewState['confirm']>): string {
  const label = Object.values(ACTIONS).find((a) => a.action === c.action)?.label ?? c.action;
  return `${label} ${c.host}? (y/n)`;
}
