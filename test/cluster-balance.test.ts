// balance.ts, the pure planner: targets, convergence of several nodes acting
// on the same view round after round, and that busy partitions stay put.
import t from 'tap';
import { plan, targets } from '../src/cluster/balance.js';
import { partitionOf } from '../src/cluster/partition.js';
import { shardOf } from '../src/pool/shard-of.js';

/** Rounds of every node planning on the shared owners map, as leases would apply them (create fails when taken). */
function settle(owners: Map<number, string>, live: string[], partitions: number, busy: Set<number> = new Set(), rounds = 20): number {
  let moves = 0;
  for (let r = 0; r < rounds; r++) {
    let changed = false;
    for (const self of live) {
      const p = plan({ self, live, partitions, owners, busy: (x) => busy.has(x) });
      for (const x of p.release) {
        t.equal(owners.get(x), self, 'only its own partitions are handed back');
        t.notOk(busy.has(x), 'a busy partition is never handed back');
        owners.delete(x);
        changed = true;
        moves++;
      }
      for (const x of p.acquire) {
        if (!owners.has(x)) {
          owners.set(x, self);
          changed = true;
        }
      }
    }
    if (!changed) return moves;
  }
  return moves;
}

function counts(owners: Map<number, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of owners.values()) out[n] = (out[n] ?? 0) + 1;
  return out;
}

t.test('targets spread P over N evenly and sum to P', async (t) => {
  t.same([...targets(['b', 'a', 'c'], 256)], [['a', 86], ['b', 85], ['c', 85]]);
  t.same([...targets(['a', 'a'], 3)], [['a', 3]], 'duplicates count once');
  t.equal(targets([], 10).size, 0);
  const many = targets(Array.from({ length: 7 }, (_, i) => `n${i}`), 1000);
  t.equal([...many.values()].reduce((a, b) => a + b, 0), 1000);
  t.ok(Math.max(...many.values()) - Math.min(...many.values()) <= 1);
});

t.test('a partition is the shards\' hash of the host name', async (t) => {
  for (const name of ['web-1', 'db.example.com', 'h00042']) t.equal(partitionOf(name, 256), shardOf(name, 256));
});

t.test('three nodes from nothing: every partition owned once, evenly', async (t) => {
  const owners = new Map<number, string>();
  const first = plan({ self: 'a', live: ['a', 'b', 'c'], partitions: 256, owners, busy: () => false });
  t.equal(first.acquire.length, 86, 'a asks for its whole share');
  t.equal(first.target, 86);
  const b = plan({ self: 'b', live: ['a', 'b', 'c'], partitions: 256, owners, busy: () => false });
  const overlap = first.acquire.filter((x) => b.acquire.includes(x)).length;
  t.ok(overlap < 60, `nodes reach for mostly different partitions (${overlap} of 86 in common)`);
  settle(owners, ['a', 'b', 'c'], 256);
  t.equal(owners.size, 256);
  t.same(counts(owners), { a: 86, b: 85, c: 85 });
});

t.test('not live in its own view: takes nothing, gives nothing back', async (t) => {
  const owners = new Map([[0, 'x']]);
  t.same(plan({ self: 'x', live: ['a'], partitions: 4, owners, busy: () => false }), { acquire: [], release: [], target: 0 });
});

t.test('a node dies: its leases are not free until they expire, then the others split them', async (t) => {
  const owners = new Map<number, string>();
  settle(owners, ['a', 'b', 'c'], 90);
  // c is no longer live but its leases are still there: nobody can take them yet.
  const before = plan({ self: 'a', live: ['a', 'b'], partitions: 90, owners, busy: () => false });
  t.same(before.acquire, [], 'nothing free yet');
  for (const [p, n] of owners) if (n === 'c') owners.delete(p);
  settle(owners, ['a', 'b'], 90);
  t.same(counts(owners), { a: 45, b: 45 });
});

t.test('a node joins: it takes its share, only idle partitions move', async (t) => {
  const owners = new Map<number, string>();
  settle(owners, ['a', 'b', 'c'], 256);
  const snapshot = new Map(owners);
  // Every partition of a is busy but ten; half of b's are busy.
  const ofA = [...owners].filter(([, n]) => n === 'a').map(([p]) => p);
  const ofB = [...owners].filter(([, n]) => n === 'b').map(([p]) => p);
  const busy = new Set([...ofA.slice(10), ...ofB.filter((_, i) => i % 2 === 0)]);
  const moves = settle(owners, ['a', 'b', 'c', 'd'], 256, busy);
  for (const p of busy) t.equal(owners.get(p), snapshot.get(p), `busy partition ${p} stayed`);
  const c = counts(owners);
  t.equal(owners.size, 256, 'nothing left unowned');
  // a can give back only its 10 idle partitions of the 22 above its target; b and c give their 21 each.
  t.equal(c.a, 76, 'a handed back its idle partitions only');
  t.equal(c.d, 52, 'd took what the others could hand over');
  t.equal(moves, 52, 'only what d takes moves');
  busy.clear();
  settle(owners, ['a', 'b', 'c', 'd'], 256, busy);
  t.same(counts(owners), { a: 64, b: 64, c: 64, d: 64 }, 'even once all are idle');
});

t.test('above target with nobody below: nothing is handed back', async (t) => {
  const owners = new Map([[0, 'a'], [1, 'a'], [2, 'b'], [3, 'b']]);
  t.same(plan({ self: 'a', live: ['a', 'b'], partitions: 4, owners, busy: () => false }).release, []);
});
