// Reading every entry under a KV key filter (src/cluster/kv-read.ts): with a
// scripted kv.history (nats.js's iterator, as it behaves when its ordered
// consumer stalls) a read that stops arriving with entries pending, or ends
// with entries pending, is read again on a fresh consumer; with a real
// nats-server, readPresent gives the last value of each key, deleted ones
// left out, and job reads taken while owners write host results miss none
// written before they started.
import t from 'tap';
import { connect } from '@nats-io/transport-node';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { readAll, readPresent } from '../src/cluster/kv-read.js';
import { JobLog } from '../src/cluster/job-log.js';
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

t.test('a read whose own thread was held up (a busy machine) is not taken for a stall', async (t) => {
  let calls = 0;
  const kv = {
    history: async () => {
      calls++;
      async function* iterate() {
        yield entry('a', 1);
        await new Promise((r) => setTimeout(r, 150)); // after the watchdog's next look (every 50 ms)
        yield entry('b', 0);
      }
      return Object.assign(iterate(), { stop: () => undefined });
    },
  } as unknown as Pick<KV, 'history'>;
  const read = readAll(kv, '>', { stallMs: 200 });
  // The thread does nothing else for 0.5 s while the next entry is on its way.
  setImmediate(() => {
    const until = Date.now() + 500;
    while (Date.now() < until);
  });
  t.same((await read).map((e) => e.key), ['a', 'b']);
  t.equal(calls, 1, 'read once');
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

  // A rollout's host entries as owners write them (JobLog.writeEntry: a claim, then
  // the result by compare-and-set, six hosts at a time) while job reads run: on
  // nats-server 2.9.10 a plain kv.history() read taken then hung ≈ 30 s in half
  // the rounds and ended with entries still pending.
  const log = await JobLog.open(nc, { maxAgeMs: 3_600_000, maxBytes: 64 * 1024 ** 2 });
  const nc2 = await connect({ servers: nats.url });
  t.teardown(() => nc2.close());
  const reader = await JobLog.open(nc2, { maxAgeMs: 3_600_000, maxBytes: 64 * 1024 ** 2 });
  const done = new Set<string>();
  const result = (host: string, state: 'running' | 'completed') => ({ node: 'a', instance: 'i', result: { host, state, host_state: null, error: null, code: null, reason: null, finished_at: null, batch: 1 } });
  let writing = true;
  const writer = (async () => {
    for (let wave = 0; wave < 20; wave++) {
      const hosts = Array.from({ length: 6 }, (_, i) => `h${wave * 6 + i}`);
      const claims = await Promise.all(hosts.map((h) => log.writeEntry('job-w', result(h, 'running'), null)));
      await new Promise((r) => setTimeout(r, 50));
      await Promise.all(hosts.map((h, i) => log.writeEntry('job-w', result(h, 'completed'), claims[i])));
      for (const h of hosts) done.add(h);
    }
    writing = false;
  })();
  let missing = 0;
  let reads = 0;
  while (writing) {
    const before = new Set(done);
    const got = await reader.entries('job-w');
    reads++;
    for (const h of before) if (got.get(h)?.value?.result.state !== 'completed') missing++;
  }
  await writer;
  t.ok(reads > 0, `${reads} reads while the entries were written`);
  t.equal(missing, 0, 'no read missed a result written before it started');
});
