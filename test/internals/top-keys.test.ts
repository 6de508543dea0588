// `top`'s input and view state without a terminal: raw bytes → keys, and
// what each key does to the selection, the filter and the y/n question.
import t from 'tap';
import { decodeKeys, type Key } from '../../src/cli/top/keys.js';
import { initialView, onKey, settle, type ViewState } from '../../src/cli/top/view-state.js';

const ch = (c: string): Key => ({ name: 'char', char: c });

t.test('escape sequences, control keys and typed text decode to keys', async (t) => {
  t.same(decodeKeys('jk'), [ch('j'), ch('k')], 'two letters in one chunk');
  t.same(decodeKeys('\x1b[A\x1b[B\x1bOA'), [{ name: 'up' }, { name: 'down' }, { name: 'up' }], 'arrows, CSI and SS3');
  t.same(decodeKeys('\x1b[5~\x1b[6~\x1b[H\x1b[F'), [{ name: 'pageup' }, { name: 'pagedown' }, { name: 'home' }, { name: 'end' }]);
  t.same(decodeKeys('\x1b'), [{ name: 'escape' }], 'a lone Esc');
  t.same(decodeKeys('\x1b[C\x1b[15~q'), [ch('q')], 'unknown sequences (right arrow, F5) are skipped whole');
  t.same(decodeKeys('\r\x7f\x03\x0c'), [{ name: 'enter' }, { name: 'backspace' }, { name: 'ctrl-c' }, { name: 'ctrl-l' }]);
  t.same(decodeKeys('é😀'), [ch('é'), ch('😀')], 'non-ASCII text, a surrogate pair kept whole');
  t.same(decodeKeys('\x01\x02'), [], 'other control bytes are ignored');
});

const rows = Array.from({ length: 100 }, (_, i) => `h${i}`);
function press(v: ViewState, keys: Key[], height = 10): ViewState {
  for (const k of keys) v = onKey(v, k, rows, height).view;
  return v;
}

t.test('j/k, arrows, g/G and paging move the selection and keep it on screen', async (t) => {
  let v = settle(initialView(), rows, 10);
  t.equal(v.selected, 'h0', 'the first row is selected at start');
  v = press(v, [ch('j'), ch('j'), { name: 'down' }]);
  t.equal(v.selected, 'h3');
  v = press(v, [ch('k'), { name: 'up' }]);
  t.equal(v.selected, 'h1');
  v = press(v, [ch('k'), ch('k'), ch('k')]);
  t.equal(v.selected, 'h0', 'k stops at the top');
  v = press(v, [ch('G')]);
  t.equal(v.selected, 'h99');
  t.equal(v.scroll, 90, 'the last page is shown');
  v = press(v, [ch('j')]);
  t.equal(v.selected, 'h99', 'j stops at the bottom');
  v = press(v, [ch('g')]);
  t.same([v.selected, v.scroll], ['h0', 0]);
  v = press(v, [{ name: 'pagedown' }]);
  t.equal(v.selected, 'h9', 'a page is the table height minus one');
  t.equal(v.scroll, 0);
  v = press(v, [{ name: 'pagedown' }]);
  t.same([v.selected, v.scroll], ['h18', 9]);
  v = press(v, [{ name: 'pageup' }, { name: 'home' }]);
  t.equal(v.selected, 'h0');
  v = press(v, [{ name: 'end' }]);
  t.equal(v.selected, 'h99');
});

t.test('the selection follows its host when rows change, and falls back when it is gone', async (t) => {
  let v = press(settle(initialView(), rows, 10), [ch('j'), ch('j')]);
  t.equal(v.selected, 'h2');
  v = settle(v, ['h9', 'h2', 'h7'], 10);
  t.equal(v.selected, 'h2', 'same host, another row');
  v = settle(v, ['h9', 'h7'], 10);
  t.ok(v.selected === 'h9' || v.selected === 'h7', 'a host that left: another one is selected');
  v = settle(v, [], 10);
  t.equal(v.selected, null, 'no rows, no selection');
});

t.test('/ opens the filter, Enter applies it, Esc cancels or clears it', async (t) => {
  let v = settle(initialView(), rows, 10);
  v = press(v, [ch('/'), ch('w'), ch('e'), ch('b'), { name: 'backspace' }]);
  t.equal(v.filterDraft, 'we', 'typed, one character taken back');
  t.equal(v.filter, '', 'not applied yet');
  t.equal(press(v, [ch('q')]).filterDraft, 'weq', 'q is text while typing a filter, not quit');
  v = press(v, [{ name: 'enter' }]);
  t.same([v.filter, v.filterDraft], ['we', null]);
  v = press(v, [ch('/'), ch('x'), { name: 'escape' }]);
  t.same([v.filter, v.filterDraft], ['we', null], 'Esc while typing keeps the applied filter');
  v = press(v, [{ name: 'escape' }]);
  t.equal(v.filter, '', 'Esc again clears it');
});

t.test('an action asks y/n: only y sends it', async (t) => {
  let v = press(settle(initialView(), rows, 10), [ch('j')]);
  const asked = onKey(v, ch('u'), rows, 10);
  t.same(asked.view.confirm, { action: 'update', host: 'h1' });
  t.equal(asked.effect, null, 'nothing sent on the question');
  const yes = onKey(asked.view, ch('y'), rows, 10);
  t.same(yes.effect, { kind: 'act', action: 'update', host: 'h1' });
  t.equal(yes.view.confirm, null);
  for (const other of [ch('n'), ch('j'), { name: 'escape' } as Key, { name: 'enter' } as Key]) {
    const no = onKey(asked.view, other, rows, 10);
    t.equal(no.effect, null, `${JSON.stringify(other)} sends nothing`);
    t.match(no.view.message, /not sent/);
  }
  const keys: Record<string, string> = { u: 'update', d: 'dry-run', b: 'reboot', r: 'retry', a: 'acknowledge' };
  for (const [k, action] of Object.entries(keys)) t.equal(onKey(v, ch(k), rows, 10).view.confirm?.action, action, `${k} asks to ${action}`);
  v = settle(initialView(), [], 10);
  const none = onKey(v, ch('u'), [], 10);
  t.equal(none.view.confirm, null, 'no host, no question');
  t.match(none.view.message, /no host selected/);
});

t.test('q and Ctrl-C quit, Ctrl-L asks for a full redraw', async (t) => {
  const v = settle(initialView(), rows, 10);
  t.same(onKey(v, ch('q'), rows, 10).effect, { kind: 'quit' });
  t.same(onKey(v, { name: 'ctrl-c' }, rows, 10).effect, { kind: 'quit' });
  t.same(onKey({ ...v, confirm: { action: 'reboot', host: 'h0' } }, { name: 'ctrl-c' }, rows, 10).effect, { kind: 'quit' }, 'even during a question');
  t.same(onKey(v, { name: 'ctrl-l' }, rows, 10).effect, { kind: 'redraw-all' });
});
