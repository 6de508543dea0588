// One frame of `top` as lines of text, each exactly `width` columns wide (ANSI
// styles added around already-fitted text, so they never change a width).
// Pure: the same input gives the same frame, which the unit tests read.
// Only the table rows on screen are formatted, whatever the fleet's size.
import type { HostStatus } from '../../client/types.js';
import type { StreamState } from '../../client/fleet-stream.js';
import { HOST_STATES } from '../../../common/schemas/host.js';
import type { HostIndex } from './host-index.js';
import type { JobRow } from './jobs-view.js';
import type { TailLine } from './event-tail.js';
import type { Layout } from './layout.js';
import { clean, fit } from './sanitize.js';
import { confirmQuestion, type ViewState } from './view-state.js';

export interface FrameInput {
  width: number;
  height: number;
  layout: Layout;
  url: string;
  stream: StreamState;
  /** True once a snapshot arrived. */
  ready: boolean;
  index: HostIndex;
  hosts: ReadonlyMap<string, HostStatus>;
  jobs: readonly JobRow[];
  tail: readonly TailLine[];
  progressOf(host: string): string | undefined;
  view: ViewState;
  now: Date;
  color: boolean;
}

const STYLE = {
  bold: '1',
  dim: '2',
  reverse: '7',
  red: '31',
  green: '32',
  yellow: '33',
  blue: '34',
  cyan: '36',
  alert: '1;37;41',
} as const;
type Style = keyof typeof STYLE;

const STATE_STYLE: Partial<Record<string, Style>> = {
  failed: 'red',
  updating: 'yellow',
  rebooting: 'yellow',
  verifying: 'yellow',
  waiting_reboot: 'cyan',
  pending_updates: 'cyan',
  querying: 'blue',
};

export function renderFrame(f: FrameInput): string[] {
  const W = Math.max(20, f.width);
  const paint = (text: string, style: Style | undefined) => (f.color && style ? `\x1b[${STYLE[style]}m${text}\x1b[0m` : text);
  const line = (text: string, style?: Style) => paint(fit(text, W), style);
  const out: string[] = [];

  out.push(titleLine(f, W, paint));
  out.push(countsLine(f, W, paint));
  out.push(line(tableHeader(W), 'bold'));
  out.push(...tableLines(f, W, paint));
  const selected = f.view.selected === null ? undefined : f.hosts.get(f.view.selected);
  if (f.layout.details > 0) {
    out.push(line(`─ ${selected ? clean(selected.name) : 'no host selected'} `.padEnd(W, '─'), 'dim'));
    out.push(...pad(detailLines(selected, f), f.layout.details).map((l) => line(l)));
  }
  if (f.layout.jobs > 0) {
    out.push(line('─ jobs '.padEnd(W, '─'), 'dim'));
    const jobs = f.jobs.slice(0, f.layout.jobs).map((j) => paint(fit(jobText(j, W), W), jobStyle(j)));
    out.push(...pad(jobs.length ? jobs : [fit('no jobs', W)], f.layout.jobs, W));
  }
  if (f.layout.events > 0) {
    out.push(line('─ events '.padEnd(W, '─'), 'dim'));
    const tail = f.tail.slice(-f.layout.events).map((t) => fit(`${t.ts.slice(11, 19)} ${t.text}`, W));
    out.push(...pad(tail, f.layout.events, W));
  }
  out.push(footerLine(f, W, paint));
  // Exactly `height` lines: a short terminal cuts from the bottom panes' side.
  while (out.length < f.height) out.push(' '.repeat(W));
  return out.slice(0, Math.max(1, f.height));
}

type Paint = (text: string, style: Style | undefined) => string;

function titleLine(f: FrameInput, W: number, paint: Paint): string {
  const status: Record<StreamState, [string, Style | undefined]> = {
    live: ['live', 'green'],
    connecting: ['connecting…', 'yellow'],
    reconnecting: ['reconnecting…', 'alert'],
    resyncing: ['resyncing…', 'yellow'],
    closed: ['disconnected', 'alert'],
  };
  const [word, style] = status[f.stream];
  const filter = f.view.filter ? `  filter "${clean(f.view.filter)}": ${f.index.rows.length} shown` : '';
  const left = `tendhost top  ${clean(f.url)}  ${f.index.total} hosts${filter}  `;
  const clock = ` ${f.now.toISOString().slice(11, 19)}`;
  if (W < word.length + clock.length + 10) return paint(fit(`${word} ${left}`, W), style);
  const room = W - word.length - clock.length;
  return paint(fit(left, room), 'bold') + paint(word, style) + clock;
}

function countsLine(f: FrameInput, W: number, paint: Paint): string {
  const all = HOST_STATES.map((st) => `${st} ${f.index.counts[st]}  `);
  // Too narrow for every state: the ones with hosts in them, and failed always.
  const states = all.join('').length <= W ? HOST_STATES : HOST_STATES.filter((st) => f.index.counts[st] > 0 || st === 'failed');
  let used = 0;
  let text = '';
  for (const st of states) {
    const part = `${st} ${f.index.counts[st]}  `;
    if (used + part.length > W) break;
    used += part.length;
    text += f.index.counts[st] > 0 ? paint(part, STATE_STYLE[st]) : part;
  }
  return text + ' '.repeat(W - used);
}

/** Column widths: name, state, pending, package manager, then tags/groups, then the error. */
function columns(W: number): [number, number, number, number, number, number] {
  const name = Math.min(28, Math.max(10, Math.floor(W * 0.2)));
  const rest = W - name - 16 - 8 - 5 - 5; // five single-space gaps
  const tags = Math.max(0, Math.floor(rest * 0.4));
  return [name, 16, 8, 5, tags, Math.max(0, rest - tags)];
}

function tableHeader(W: number): string {
  const [n, s, p, m, t, e] = columns(W);
  return fit([fit('HOST', n), fit('STATE', s), fit('PENDING', p), fit('PM', m), fit('TAGS/GROUPS', t), fit('ERROR', e)].join(' '), W);
}

function tableLines(f: FrameInput, W: number, paint: Paint): string[] {
  const rows = f.index.rows;
  const out: string[] = [];
  if (!f.ready) out.push(fit(`  ${f.stream === 'closed' ? 'not connected to' : 'connecting to'} ${clean(f.url)}…`, W));
  else if (rows.length === 0) out.push(fit(f.view.filter || f.view.filterDraft ? '  no host matches the filter' : '  no hosts', W));
  else {
    const [n, s] = columns(W);
    const end = Math.min(rows.length, f.view.scroll + f.layout.table);
    for (let i = f.view.scroll; i < end; i++) {
      const h = f.hosts.get(rows[i]);
      if (!h) continue;
      const text = rowText(h, W);
      if (h.name === f.view.selected) out.push(paint(text, 'reverse'));
      else if (n + 1 + s <= W) out.push(text.slice(0, n + 1) + paint(text.slice(n + 1, n + 1 + s), STATE_STYLE[h.state]) + text.slice(n + 1 + s));
      else out.push(text);
    }
  }
  return pad(out, f.layout.table, W);
}

/**
 * A host's row, kept per status object: the model replaces a host's status on
 * every change, so an unchanged host's row is formatted once, not every frame.
 */
const rowCache = new WeakMap<HostStatus, { width: number; text: string }>();

function rowText(h: HostStatus, W: number): string {
  const hit = rowCache.get(h);
  if (hit && hit.width === W) return hit.text;
  const [n, s, p, m, t, e] = columns(W);
  const err = h.failed ? `${h.failed.code}: ${h.failed.error}` : (h.error ?? '');
  const cells = [
    fit(clean(h.name), n),
    fit(h.state, s),
    fit(h.pending_updates === null ? '-' : String(h.pending_updates), p),
    fit(h.package_manager ?? '-', m),
    fit(clean([...h.tags, ...h.groups.map((g) => `@${g}`)].join(',')), t),
    fit(clean(err), e),
  ];
  const text = fit(cells.join(' '), W);
  rowCache.set(h, { width: W, text });
  return text;
}

function detailLines(h: HostStatus | undefined, f: FrameInput): string[] {
  if (!h) return [];
  const lines = [
    `${clean(h.name)}  addr ${clean(h.addr)}  state ${h.state}  ${h.package_manager ?? 'package manager unknown'}${h.compose ? ' + compose' : ''}  shard ${h.shard}  pending ${h.pending_updates ?? '?'}  last updated ${h.last_updated ?? 'never'}`,
    `tags ${h.tags.length ? clean(h.tags.join(', ')) : '-'}  groups ${h.groups.length ? clean(h.groups.join(', ')) : '-'}  job ${h.job_id ? clean(h.job_id) : '-'}`,
  ];
  if (h.failed) {
    const c = h.failed;
    lines.push(`failed during ${c.previous_state} at ${c.failed_at}: ${clean(c.code)}  retries ${c.retry_count}  ${c.acknowledged ? 'acknowledged' : 'not acknowledged'}`);
    lines.push(`  ${clean(c.error)}`);
  } else if (h.error) lines.push(`error: ${clean(h.error)}`);
  const progress = f.progressOf(h.name);
  if (progress && h.state === 'updating') lines.push(`updating ${progress}`);
  return lines;
}

function jobText(j: JobRow, W: number): string {
  const what = `${j.kind}${j.dry_run ? ' (dry run)' : ''}`;
  const state = j.state ?? 'running';
  const counts = `${j.completed} ok  ${j.failed} failed  ${j.unreachable} unreachable  ${j.skipped} skipped`;
  const batch = j.batch > 0 ? `  batch ${j.batch}` : '';
  const head = `${clean(j.id)}  ${what}  ${state}  ${j.done}/${j.total}`;
  const barWidth = Math.max(0, Math.min(20, W - head.length - counts.length - batch.length - 8));
  const bar = barWidth >= 5 && j.total > 0 ? `  [${'#'.repeat(Math.round((j.done / j.total) * barWidth)).padEnd(barWidth, '.')}]` : '';
  return `${head}${bar}  ${counts}${batch}${j.error ? `  ${clean(j.error)}` : ''}`;
}

function jobStyle(j: JobRow): Style | undefined {
  if (j.state === null) return undefined;
  return j.state === 'succeeded' && j.failed + j.unreachable === 0 ? 'dim' : 'red';
}

function footerLine(f: FrameInput, W: number, paint: Paint): string {
  const v = f.view;
  if (v.confirm) return paint(fit(confirmQuestion(v.confirm), W), 'alert');
  if (v.filterDraft !== null) return fit(`/${clean(v.filterDraft)}▏  (Enter apply, Esc cancel; state:failed, tag:web, group:db narrow to one field)`, W);
  if (v.message) return paint(fit(clean(v.message), W), 'bold');
  return paint(fit('j/k ↑/↓ move  g/G top/bottom  PgUp/PgDn  / filter  Esc clear  u update  d dry-run  b reboot  r retry  a ack  q quit', W), 'dim');
}

function pad(lines: string[], n: number, W = 0): string[] {
  const out = lines.slice(0, n);
  while (out.length < n) out.push(' '.repeat(W));
  return out;
}

/** Used by tests and the bench: a frame without styles, for reading. */
export function plain(lines: readonly string[]): string {
  return lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, '')).join('\n');
}
