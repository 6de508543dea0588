// Reading every entry under a KV key filter (src/cluster/kv-read.ts): with a
// scripted kv.history (nats.js's iterator, as it behaves when its ordered
// consumer stalls) a read that stops arriving with entries pending, or ends
// with entries pending, is read again on a fresh consumer; with a real
// nats-server, readPresent gives the last value of each key, deleted ones
// left out, and reads taken while the bucket is written miss no key written
// before they started.
import t from 'tap';
import { connect } from '@nats-io/transport-node';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { readAll, readPresent } from '../src/cluster/kv-read.js';
import { skipWithoutNats, startNats } from '../harness/nats.js';

const entry = (key: string, delta: number) => ({ key, delta, operation: 'PUT' }) as unknown as KvEntry;

/** A history() whose reads go as scripted: entries, then `end` (ends by itself) or `stall` (waits until stopped). */
function scripted(reads: Array<{ entries: KvEntry[]; then: 'end' | 'stall' }>) {
  let calls = 0;
  const kv = {
    history: async () => {
      const read = reads[Math.min(calls++, reads.length - 1)];
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((r) => (stop = r));
      async function* iterate() {
        for (const e of read.entries) yield e;
        if (read.then === 'stall') await stopped;
      }
      return Object.assign(iterate(), { stop });
    },
  } as unknown as Pick<KV, 'history'>;
  return { kv, calls: () => calls };
}

t.test('a read that stalls with entries pending is read again', async (t) => {
  const s = scripted([
    { entries: [entry('a', 2), entry('b', 1)], then: 'stall' },
    { entries: [entry('a', 2), entry('b', 1), entry('c', 0)], then: 'end' },
  ]);
  const got = await readAll(s.kv, '>', { stallMs: 40 });
  t.same(got.map((e) => e.key), ['a', 'b', 'c']);
  t.equal(s.calls(), 2);
});

t.test('a read that ends with entries still pending (at a heartbeat) is not trusted', async (t) => {
  const s = scripted([
    { entries: [entry('a', 1)], then: 'end' },
    { entries: [entry('a', 1), entry('b', 0)], then: 'end' },
  ]);
  t.same((await readAll(s.kv, '>', { stallMs: 1000 })).map((e) => e.key), ['a', 'b']);
  t.equal(s.calls(), 2);
});

t.test('a whole read is read once; after `tries` the last read is what there is', async (t) => {
  const whole = scripted([{ entries: [entry('a', 1), entry('b', 0)], then: 'end' }]);
  t.same((await readAll(whole.kv, '>')).map((e) => e.key), ['a', 'b']);
  t.equal(whole.calls(), 1);
  const empty = scripted([{ entries: [], then: 'end' }]);
  t.same(await readAll(empty.kv, '>'), [], 'nothing pending at the start: empty, read once');
  t.equal(empty.calls(), 1);
  const never = scripted([{ entries: [entry('a', 3)], then: 'end' }]);
  t.same((await readAll(never.kv, '>', { tries: 3 })).map((e) => e.key), ['a']);
  t.equal(never.calls(), 3);
});

t.test('on nats-server: the present entries, and reads while the bucket is written', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await new Kvm(nc).create('kvread', { history: 1 });
  await kv.put('host.j.b', 'b1');
  await kv.put('host.j.a', 'a1');
  await kv.put('host.j.c', 'c1');
  await kv.put('host.j.a', 'a2');
  await kv.delete('host.j.c');
  await kv.put('other.x', 'x');
  t.same((await readPresent(kv, 'host.j.>')).map((e) => `${e.key}=${e.string()}`), ['host.j.a=a2', 'host.j.b=b1'], 'last values, the deleted key left out, in key order');
  t.same(await readPresent(kv, 'none.>'), []);

  // 60 keys written over and over (a rollout's host entries) while reads run.
  let writing = true;
  const written = new Set<string>();
  const writer = (async () => {
    for (let i = 0; writing && i < 5000; i++) {
      const key = `host.w.h${i % 60}`;
      await Promise.all([kv.put(key, String(i)), kv.put(`host.w.h${(i + 30) % 60}`, String(i))]);
      written.add(key);
    }
  })();
  let missing = 0;
  for (let n = 0; n < 30; n++) {
    const before = new Set(written);
    const got = new Set((await readPresent(kv, 'host.w.>')).map((e) => e.key));
    for (const k of before) if (!got.has(k)) missing++;
  }
  writing = false;
  await writer;
  t.equal(missing, 0, 'no read missed a key written before it started');
});
