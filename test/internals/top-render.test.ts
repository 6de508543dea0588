// `top`'s frames without a terminal: sized to the terminal, counts and
// details right, host text never reaching the terminal as control codes,
// only the rows on screen formatted, jobs and "reconnecting…" shown, and
// redraws batched to ~10/s however many events arrive.
import t from 'tap';
import { FleetModel } from '../../src/client/fleet-model.js';
import type { HostStatus, StreamEvent } from '../../src/client/types.js';
import { decodeKeys } from '../../src/cli/top/keys.js';
import { RedrawScheduler, type Timers } from '../../src/cli/top/redraw.js';
import { plain } from '../../src/cli/top/render.js';
import { clean, columnsOf, fit } from '../../src/cli/top/sanitize.js';
import { Screen } from '../../src/cli/top/screen.js';
import { TopView } from '../../src/cli/top/top-view.js';

function host(name: string, over: Partial<HostStatus> = {}): HostStatus {
  return { name, addr: '10.0.0.1', state: 'idle', tags: [], groups: [], pending_updates: null, last_updated: null, error: null, failed: null, shard: 0, package_manager: 'apt', compose: false, job_id: null, ...over };
}
const ts = '2026-12-06T10:00:00.000Z';
const now = new Date(ts);
const visible = (l: string) => Array.from(l.replace(/\x1b\[[0-9;]*m/g, '')).reduce((n, c) => n + columnsOf(c), 0);

function fleet(n: number, over: (i: number) => Partial<HostStatus> = () => ({})): FleetModel {
  const m = new FleetModel();
  m.applySnapshot({ seq: 1, hosts: Array.from({ length: n }, (_, i) => host(`web-${i + 1}`, over(i))) });
  return m;
}

t.test('a frame is exactly the terminal’s size, at any size', async (t) => {
  const top = new TopView(fleet(50, (i) => (i === 0 ? { error: 'パッケージの更新に失敗しました 🚫 überall', tags: ['日本'] } : {})), 'http://127.0.0.1:8080');
  for (const [width, height] of [[160, 48], [80, 24], [40, 12], [200, 60], [20, 6]]) {
    const lines = top.frame({ width, height, stream: 'live', ready: true, now });
    t.equal(lines.length, height, `${width}x${height}: ${height} lines`);
    t.ok(lines.every((l) => visible(l) === width), `${width}x${height}: every line ${width} columns`);
  }
});

t.test('counts per state, the table in name order, the selected host’s details and failure context', async (t) => {
  const m = fleet(12, (i) =>
    i === 1
      ? { state: 'failed', failed: { previous_state: 'updating', error: 'dpkg broke', code: 'PKG_COMMAND_FAILED', failed_at: ts, retry_count: 2, acknowledged: false } }
      : i === 2
        ? { state: 'updating', pending_updates: 4 }
        : {},
  );
  const top = new TopView(m, 'http://d:8080');
  let s = plain(top.frame({ width: 160, height: 48, stream: 'live', ready: true, now, color: false }));
  t.match(s.split('\n')[0], /tendhost top\s+http:\/\/d:8080\s+12 hosts.*live 10:00:00/);
  t.match(s, /idle 10 {2}querying 0 {2}pending_updates 0 {2}updating 1 .*failed 1/);
  const narrow = plain(top.frame({ width: 60, height: 30, stream: 'live', ready: true, now, color: false }));
  t.match(narrow.split('\n')[1], /^idle 10 {2}updating 1 {2}failed 1 +$/, 'too narrow for every state: the non-empty ones and failed');
  const table = s.split('\n').filter((l) => l.startsWith('web-')).map((l) => l.split(' ')[0]);
  t.same(table.slice(0, 3), ['web-1', 'web-2', 'web-3'], 'names sort with numbers as numbers');
  t.equal(table[9], 'web-10');
  top.key({ name: 'char', char: 'j' }, 48);
  s = plain(top.frame({ width: 160, height: 48, stream: 'live', ready: true, now, color: false }));
  t.match(s, /─ web-2 ─/);
  t.match(s, /failed during updating at 2026-12-06T10:00:00.000Z: PKG_COMMAND_FAILED {2}retries 2 {2}not acknowledged/);
  t.match(s, /dpkg broke/);
  t.match(s, /web-2\s+failed\s+-\s+apt\s+PKG_COMMAND_FAILED: dpkg broke/, 'the row shows the error code');
});

t.test('control characters in host data never reach the terminal', async (t) => {
  const evil = '\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x9b1m\r\nnext';
  const m = fleet(1, () => ({ error: evil, tags: [evil], addr: evil }));
  m.apply({ type: 'UpdateProgress', seq: 2, ts, host: 'web-1', package: evil, progress: evil });
  m.apply({ type: 'HostDisconnected', seq: 3, ts, host: 'web-1', reason: evil });
  const top = new TopView(m, 'http://d');
  top.onEvents([
    { type: 'UpdateProgress', seq: 2, ts, host: 'web-1', package: evil, progress: evil },
    { type: 'HostDisconnected', seq: 3, ts, host: 'web-1', reason: evil },
  ]);
  const lines = top.frame({ width: 160, height: 48, stream: 'live', ready: true, now, color: false });
  const all = lines.join('\n');
  t.notMatch(all, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, 'no control character at all in a colourless frame');
  t.match(all, /\]0;pwned\[2J\[31mred1m next/, 'the text is still there, harmless');
  const colored = top.frame({ width: 160, height: 48, stream: 'live', ready: true, now, color: true }).join('\n');
  t.notMatch(colored, /\x1b\[(?![0-9;]*m)/, 'with colour on, the only escapes are our own SGR styles');
  t.equal(clean('a\tb\nc\x00d'), 'a b cd');
  t.equal(fit('abcdef', 4), 'abc…');
  t.equal(fit('ab', 4), 'ab  ');
  t.equal(fit('日本語', 4), '日… ', 'wide characters take two columns');
  t.equal(fit('日本', 4), '日本');
  t.equal(fit('e\u0301t\u00e9', 4), 'e\u0301t\u00e9 ', 'a combining mark takes none');
});

t.test('with 10,000 hosts only the visible rows are formatted, and a filter narrows them', async (t) => {
  const m = fleet(10_000, (i) => ({ tags: [i % 10 === 0 ? 'db' : 'web'], state: i % 100 === 0 ? 'failed' : 'idle' }));
  const top = new TopView(m, 'http://d');
  const started = performance.now();
  let lines = top.frame({ width: 160, height: 48, stream: 'live', ready: true, now, color: false });
  const first = performance.now() - started;
  t.equal(lines.filter((l) => l.startsWith('web-')).length, top.frame({ width: 160, height: 48, stream: 'live', ready: true, now }).length - 19, 'the table fills what the panes leave');
  // Later frames with events in between cost far less than a millisecond per row of the fleet.
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) {
    const e = { type: 'HostStateChanged', seq: 2 + i, ts, host: `web-${i + 1}`, from: 'idle', to: 'querying' } as const;
    m.apply(e);
    top.onEvents([e]);
    lines = top.frame({ width: 160, height: 48, stream: 'live', ready: true, now, color: false });
  }
  const per = (performance.now() - t0) / 20;
  t.ok(per < 5, `a frame of 10,000 hosts after an event: ${per.toFixed(2)} ms (first ${first.toFixed(1)} ms)`);
  t.match(plain(lines), /querying 20/);
  for (const k of decodeKeys('/tag:db\r')) top.key(k, 48);
  const s = plain(top.frame({ width: 160, height: 48, stream: 'live', ready: true, now, color: false }));
  t.match(s, /filter "tag:db": 1000 shown/);
  for (const k of decodeKeys('\x1b/state:failed\r')) top.key(k, 48);
  t.match(plain(top.frame({ width: 160, height: 48, stream: 'live', ready: true, now, color: false })), /filter "state:failed": 99 shown/, 'web-1 left failed for querying above');
  for (const k of decodeKeys('\x1b/zzz')) top.key(k, 48);
  const none = plain(top.frame({ width: 160, height: 48, stream: 'live', ready: true, now, color: false }));
  t.match(none, /no host matches the filter/, 'the filter applies live while typed');
  t.match(none, /\/zzz▏/, 'the draft is on the footer');
});

t.test('keys faster than frames: an action after a filter in the same chunk is for the host the filter shows', async (t) => {
  const top = new TopView(fleet(20), 'http://d');
  top.frame({ width: 120, height: 40, stream: 'live', ready: true, now });
  t.equal(top.view.selected, 'web-1');
  let effect = null;
  for (const k of decodeKeys('/web-17\ru')) effect = top.key(k, 40) ?? effect;
  t.same(top.view.confirm, { action: 'update', host: 'web-17' }, 'the question names the filtered host, not the one selected before');
  for (const k of decodeKeys('y')) effect = top.key(k, 40) ?? effect;
  t.same(effect, { kind: 'act', action: 'update', host: 'web-17' });
});

t.test('kept up per event, the index equals one rebuilt from the model', async (t) => {
  const m = fleet(500, (i) => ({ tags: [i % 7 === 0 ? 'db' : 'web'] }));
  const states = ['idle', 'querying', 'updating', 'failed'] as const;
  let seq = 1;
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (const filter of ['', 'db', 'state:failed']) {
    const live = new TopView(m, 'http://d');
    for (const k of decodeKeys(filter ? `/${filter}\r` : '')) live.key(k, 48);
    live.frame({ width: 100, height: 30, stream: 'live', ready: true, now });
    for (let round = 0; round < 30; round++) {
      const batch = [];
      for (let i = 0; i < 20; i++) {
        const r = rand(10);
        const name = `web-${rand(600) + 1}`;
        let e;
        if (r === 0) e = { type: 'HostRemoved', seq: ++seq, ts, host: name } as const;
        else e = { type: 'HostUpdated', seq: ++seq, ts, host: name, status: host(name, { state: states[rand(4)], tags: [rand(3) === 0 ? 'db' : 'web'] }) } as const;
        m.apply(e);
        batch.push(e);
      }
      live.onEvents(batch);
      live.frame({ width: 100, height: 30, stream: 'live', ready: true, now });
    }
    const fresh = new TopView(m, 'http://d');
    for (const k of decodeKeys(filter ? `/${filter}\r` : '')) fresh.key(k, 48);
    fresh.frame({ width: 100, height: 30, stream: 'live', ready: true, now });
    t.same(live.index.rows, fresh.index.rows, `rows equal a rebuild (filter "${filter}")`);
    t.same(live.index.counts, fresh.index.counts, `counts equal a rebuild (filter "${filter}")`);
    t.equal(live.index.total, m.hosts.size);
  }
});

t.test('the stream’s state, the jobs pane and the event tail are on screen', async (t) => {
  const m = fleet(3);
  const top = new TopView(m, 'http://d');
  t.match(plain(top.frame({ width: 120, height: 40, stream: 'connecting', ready: false, now, color: false })), /connecting to http:\/\/d…/);
  t.match(plain(top.frame({ width: 120, height: 40, stream: 'reconnecting', ready: true, now, color: false })).split('\n')[0], /reconnecting… 10:00:00/);
  const events: StreamEvent[] = [
    { type: 'JobStarted', seq: 2, ts, job_id: 'job-a', kind: 'update', dry_run: false, total: 2, hosts: ['web-1', 'web-2'] },
    { type: 'HostUpdated', seq: 3, ts, host: 'web-1', status: host('web-1', { state: 'updating', job_id: 'job-a' }) },
    { type: 'HostStateChanged', seq: 4, ts, host: 'web-1', from: 'idle', to: 'updating' },
    { type: 'UpdateProgress', seq: 5, ts, host: 'web-1', package: 'openssl', progress: 'unpacking' },
  ];
  for (const e of events) m.apply(e);
  top.onEvents(events);
  let s = plain(top.frame({ width: 120, height: 40, stream: 'live', ready: true, now, color: false }));
  t.match(s, /job-a {2}update {2}running {2}1\/2/, 'a host job’s progress from its hosts: web-2 is done, web-1 still on it');
  t.match(s, /10:00:00 web-1: idle → updating/);
  t.match(s, /10:00:00 job job-a update started on 2 hosts/);
  t.match(s, /web-1: openssl unpacking/);
  top.key({ name: 'char', char: 'g' }, 40);
  s = plain(top.frame({ width: 120, height: 40, stream: 'live', ready: true, now, color: false }));
  t.match(s, /updating openssl: unpacking/, 'the selected host’s current package');
  // A job that was running before top connected comes from GET /jobs once.
  top.setKnownJobs([{ id: 'old-job', kind: 'fleet_update', state: 'running', dry_run: true, created_at: ts, started_at: ts, finished_at: null, request_id: null, user: null, error: null, summary: { total: 10, pending: 4, running: 2, completed: 3, failed: 1, unreachable: 0, skipped: 0 } }]);
  s = plain(top.frame({ width: 120, height: 40, stream: 'live', ready: true, now, color: false }));
  t.match(s, /old-job {2}fleet_update \(dry run\) {2}running {2}4\/10/);
  // Its progress then comes on the stream; the size still comes from the record (the start was before we connected).
  const progress = { type: 'FleetUpdateProgress', seq: 6, ts, job_id: 'old-job', batch: 2, completed: 6, failed: 1, unreachable: 1, skipped: 0, in_progress: 2 } as const;
  m.apply(progress);
  top.onEvents([progress]);
  s = plain(top.frame({ width: 120, height: 40, stream: 'live', ready: true, now, color: false }));
  t.match(s, /old-job {2}fleet_update \(dry run\) {2}running {2}8\/10 .*6 ok {2}1 failed {2}1 unreachable {2}0 skipped {2}batch 2/);
});

t.test('redraws are batched: at most one frame per 100 ms however many requests', async (t) => {
  let clock = 0;
  const pending: Array<{ at: number; fn: () => void }> = [];
  const timers: Timers = {
    now: () => clock,
    setTimeout: (fn, ms) => {
      const p = { at: clock + ms, fn };
      pending.push(p);
      return p;
    },
    clearTimeout: (h) => {
      const i = pending.indexOf(h as (typeof pending)[number]);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  let frames = 0;
  const r = new RedrawScheduler(() => frames++, { timers });
  // 1,000 events/s for one second: a request every millisecond.
  for (clock = 0; clock < 1000; clock++) {
    for (const p of pending.filter((p) => p.at <= clock)) {
      pending.splice(pending.indexOf(p), 1);
      p.fn();
    }
    r.request();
  }
  t.ok(frames >= 9 && frames <= 11, `${frames} frames in a second of 1,000 requests`);
  const before = frames;
  r.now();
  t.equal(frames, before + 1, 'a key draws at once');
  t.equal(pending.length, 0, 'and cancels the batched frame it replaces');
  r.close();
  r.request();
  r.now();
  t.equal(frames, before + 1, 'nothing after close');
});

t.test('the screen writes only lines that changed', async (t) => {
  const written: string[] = [];
  const screen = new Screen({ write: (s) => (written.push(s), true) });
  t.equal(screen.draw(['a', 'b', 'c']), 3);
  t.equal(screen.draw(['a', 'B', 'c']), 1);
  t.match(written[written.length - 1], /^\x1b\[2;1HB/);
  t.equal(screen.draw(['a', 'B', 'c']), 0, 'an unchanged frame writes nothing');
  t.equal(written.length, 2);
  screen.invalidate();
  t.equal(screen.draw(['a', 'B', 'c']), 3, 'after a resize everything again');
});
