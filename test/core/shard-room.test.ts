// The front's room per shard for a rollout's next host: granted while the
// shard's waiting operations (as its worker last told), the commands sent and
// not yet handled, and the rooms granted and not yet used stay under the
// limit; waiters go in order as reports free room; an aborted waiter leaves.
import t from 'tap';
import { ShardRoom } from '../../src/pool/shard-room.js';
import { DispatchWindow } from '../../src/cluster/dispatch-window.js';

const report = (shard: number, waiting: number, handled: number) => ({ kind: 'backlog' as const, shard, waiting, handled });

t.test('room is granted up to the limit, counting rooms granted and commands not yet handled', async (t) => {
  const room = new ShardRoom(2);
  t.equal(room.take(0), true);
  t.equal(room.take(0), true);
  const third = room.take(0);
  t.not(third, true, 'the third waits');
  t.equal(room.take(1), true, 'another shard has its own room');
  room.sent(0, true);
  room.sent(0, true);
  let granted: boolean | null = null;
  void (third as Promise<boolean>).then((g) => (granted = g));
  room.report(report(0, 2, 2)); // both handled, both waiting for a handshake
  await new Promise((r) => setImmediate(r));
  t.equal(granted, null, 'still full: two operations wait on the shard');
  room.report(report(0, 1, 2)); // one got its handshake slot
  await new Promise((r) => setImmediate(r));
  t.equal(granted, true, 'served once the shard told it had room');
});

t.test('a command sent that the worker has not handled yet counts, whatever its kind', async (t) => {
  const room = new ShardRoom(1);
  room.sent(0, false); // an operator's command, not a rollout's
  const w = room.take(0);
  t.not(w, true, 'the command in flight may be an operation that will wait');
  room.report(report(0, 0, 1));
  t.equal(await w, true, 'handled, and nothing waits: room');
});

t.test('a granted room given back serves the next in line; an aborted waiter leaves the line', async (t) => {
  const room = new ShardRoom(1);
  t.equal(room.take(0), true);
  const ac = new AbortController();
  const gone = room.take(0, ac.signal);
  const next = room.take(0);
  ac.abort();
  t.equal(await gone, false, 'the aborted waiter is told no');
  room.release(0);
  t.equal(await next, true, 'the room went to the one still waiting');
});

t.test('a replaced worker: counts start again and waiters go on', async (t) => {
  const room = new ShardRoom(1);
  room.sent(0, false);
  room.sent(0, false); // lost with the worker, never handled
  const w = room.take(0);
  room.reset(0);
  t.equal(await w, true);
});

t.test('a dispatch window: places up to its limit, read again as members change', async (t) => {
  let limit = 1;
  const win = new DispatchWindow(() => limit);
  t.equal(win.take(), true);
  const second = win.take();
  t.not(second, true);
  limit = 2;
  win.release();
  t.equal(await second, true);
  t.equal(win.take(), true, 'two places now');
  t.equal(win.open, 2);
});
