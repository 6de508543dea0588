// The shard's operation gate: at most `limit` operations at once, the rest
// wait as names in arrival order; a host that no longer wants its turn passes
// it on without holding a place.
import t from 'tap';
import { OperationGate } from '../../workers/operation-gate.js';

function rig(limit: number, declines: Set<string> = new Set()) {
  const woken: string[] = [];
  const gate = new OperationGate(limit, (name) => {
    if (declines.has(name)) return false;
    woken.push(name);
    return true;
  });
  return { gate, woken };
}

t.test('the first `limit` hosts run at once, later ones queue and run in arrival order as places free', async (t) => {
  const { gate, woken } = rig(2);
  t.equal(gate.enter('a'), true);
  t.equal(gate.enter('b'), true);
  t.equal(gate.enter('c'), false, 'the third waits');
  t.equal(gate.enter('d'), false);
  t.same([gate.running, gate.waiting], [2, 2]);
  gate.leave();
  t.same(woken, ['c'], 'the oldest waiting host gets the place');
  t.same([gate.running, gate.waiting], [2, 1], 'the place passed on: still two running');
  gate.leave();
  gate.leave();
  t.same(woken, ['c', 'd']);
  t.same([gate.running, gate.waiting], [1, 0]);
  gate.leave();
  t.same([gate.running, gate.waiting], [0, 0]);
});

t.test('a newcomer does not overtake hosts already waiting', async (t) => {
  const { gate, woken } = rig(1);
  gate.enter('a');
  gate.enter('b');
  gate.leave(); // b runs
  t.equal(gate.enter('c'), false, 'the place is b’s now');
  gate.leave();
  t.same(woken, ['b', 'c']);
});

t.test('hosts that decline their turn (removed, interrupted) pass it on; 100,000 of them in a row do not recurse', async (t) => {
  const declines = new Set<string>();
  const { gate, woken } = rig(1, declines);
  gate.enter('first');
  for (let i = 0; i < 100_000; i++) {
    declines.add(`gone-${i}`);
    gate.enter(`gone-${i}`);
  }
  gate.enter('last');
  gate.leave();
  t.same(woken, ['last'], 'every declined turn was skipped');
  t.same([gate.running, gate.waiting], [1, 0]);
  gate.leave();
  t.same([gate.running, gate.waiting], [0, 0], 'nothing left waiting: the place is free');
});

t.test('a limit below 1 still lets one host run', async (t) => {
  const { gate } = rig(0);
  t.equal(gate.enter('a'), true);
  t.equal(gate.enter('b'), false);
});
