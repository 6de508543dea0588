// The front's room per shard for a rollout's next host: granted while the
// shard's waiting operations (as its worker last told), the commands sent and
// not yet handled, and the rooms granted and not yet used stay under the
// limit; waiters go in order as reports free room; an aborted waiter leaves.
import t from 'tap';
import { getEventListeners, setMaxListeners } from 'node:events';
import { ShardRoom } from '../../src/pool/shard-room.js';
import { DispatchWindow, HostRoom, OwnerWindows } from '../../src/cluster/dispatch-window.js';
import { WaitingLine } from '../../src/pool/waiting-line.js';

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

t.test('windows per owner: a full owner makes only its own hosts wait; a place goes back to the window it came from', async (t) => {
  const owners = new Map([['h1', 'a'], ['h2', 'a'], ['h3', 'b']]);
  const room = new HostRoom(new OwnerWindows(() => 1), (h) => owners.get(h) ?? null);
  t.equal(room.take('h1'), true);
  const second = room.take('h2');
  t.not(second, true, "a's only place is taken");
  t.equal(room.take('h3'), true, 'b has its own');
  owners.set('h1', 'b'); // the partition moved meanwhile: the place is still a's
  room.release('h1');
  t.equal(await second, true, 'h2 got the place h1 gave back');
  t.equal(room.take('unowned'), true, 'a host with no owner right now has a window too');
  room.release('h1');
  room.release('nobody');
});

t.test('a waiting line: waiters leave in any order and the others keep their turn; one abort releases thousands', async (t) => {
  const line = new WaitingLine();
  const acs = Array.from({ length: 30 }, () => new AbortController());
  const waits = acs.map((ac) => line.wait(ac.signal));
  for (let i = 0; i < acs.length; i++) if (i % 3 !== 0) acs[i].abort();
  t.equal(line.length, 10, 'the aborted left the line');
  let free = 3;
  const order: number[] = [];
  waits.forEach((w, i) => void w.then((g) => g && order.push(i)));
  line.serve(() => free > 0, () => free--);
  await new Promise((r) => setImmediate(r));
  t.same(order, [0, 3, 6], 'the first three still waiting, in order');
  t.equal(line.length, 7);
  t.equal(await waits[1], false);

  // A rollout's batch: every host waits on the one cancel signal.
  const cancel = new AbortController();
  setMaxListeners(0, cancel.signal);
  const batch = Array.from({ length: 50_000 }, () => line.wait(cancel.signal));
  t.equal(line.length, 50_007);
  // One listener for the lot (Node's EventTarget looks through all of a signal's listeners on every add).
  t.equal(getEventListeners(cancel.signal, 'abort').length, 1, 'the line listens once per signal');
  cancel.abort();
  t.same(new Set(await Promise.all(batch)), new Set([false]), 'all 50,000 told false');
  t.equal(line.length, 7, 'only the earlier waiters are left');
  line.serve(() => true, () => undefined);
  t.equal(line.length, 0);

  // Served, not aborted: the last waiter served takes the listener away.
  const job = new AbortController();
  const served = [line.wait(job.signal), line.wait(job.signal)];
  t.equal(getEventListeners(job.signal, 'abort').length, 1);
  let places = 1;
  line.serve(() => places > 0, () => places--);
  t.equal(getEventListeners(job.signal, 'abort').length, 1, 'one still waits on it');
  line.serve(() => true, () => undefined);
  t.same(await Promise.all(served), [true, true]);
  t.equal(getEventListeners(job.signal, 'abort').length, 0, 'none left once both are served');
  job.abort();
  t.equal(line.length, 0);
});
