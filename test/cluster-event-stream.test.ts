// The cluster event stream against a real nats-server: three publishers on
// their own connections read back in one order with no gap or duplicate,
// resume from a seq, "resync" for a seq older than the retention, and
// nothing lost or doubled when NATS restarts in the middle of publishing.
import t from 'tap';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { openEventStream, type EventReader, type StreamItem } from '../src/cluster/event-stream.js';
import type { UnstampedStreamEvent } from '../common/schemas/stream.js';
import { skipWithoutNats, startNats, type NatsServer } from '../harness/nats.js';
import { ClusterFeed } from '../src/events/cluster-feed.js';
import { ReadModel } from '../src/state/read-model.js';
import { hostStatus } from './helpers/host-status.js';
import pino from 'pino';

const event = (host: string, n: number): UnstampedStreamEvent => ({ type: 'HostConnected', host: `${host}-${n}` });

async function take(reader: EventReader, n: number, timeoutMs = 15_000): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  const timer = setTimeout(() => reader.stop(), timeoutMs);
  for await (const item of reader) {
    out.push(item);
    if (out.length >= n || item.kind === 'resync') break;
  }
  clearTimeout(timer);
  reader.stop();
  return out;
}

async function conn(nats: NatsServer): Promise<NatsConnection> {
  return connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
}

t.test('cluster event stream', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const ncs = await Promise.all([1, 2, 3].map(() => conn(nats)));
  t.teardown(async () => {
    for (const nc of ncs) await nc.close().catch(() => undefined);
  });
  const streams = await Promise.all(ncs.map((nc) => openEventStream(nc)));
  const N = 400;

  await t.test('three publishers: one order, no gap, no duplicate, each node\'s own order kept', async (t) => {
    const live = await streams[0].read({ since: 0 });
    const publishers = ['a', 'b', 'c'].map((id, i) => streams[i].publisher(id, 'i1'));
    const acks = await Promise.all(publishers.flatMap((p, i) => Array.from({ length: N }, (_, n) => p.publish(event('abc'[i], n)))));
    const items = await take(live, 3 * N);
    t.equal(items.length, 3 * N, 'every event read back');
    const seqs = items.map((i) => (i.kind === 'event' ? i.event.seq : -1));
    t.same(seqs, Array.from({ length: 3 * N }, (_, i) => i + 1), 'seq 1..3N, in order, no gap or duplicate');
    t.same([...acks].sort((x, y) => x - y), seqs, 'each publish resolved with its event\'s seq');
    for (const node of 'abc') {
      const own = items.flatMap((i) => (i.kind === 'event' && i.event.type === 'HostConnected' && i.event.host.startsWith(`${node}-`) ? [Number(i.event.host.slice(2))] : []));
      t.same(own, Array.from({ length: N }, (_, n) => n), `${node}'s events in the order it published them`);
    }
    const first = items[0].kind === 'event' ? items[0].event : null;
    t.match(first, { type: 'HostConnected', seq: 1, ts: /^\d{4}-\d\d-\d\dT/ }, 'events carry seq and ts');
    t.same(await streams[1].bounds(), { first: 1, last: 3 * N });
  });

  await t.test('resume after a seq; a reader without one sees only new events', async (t) => {
    const resumed = await take(await streams[2].read({ since: 1000 }), 3 * N - 1000);
    t.equal(resumed.length, 3 * N - 1000);
    t.equal(resumed[0].kind === 'event' && resumed[0].event.seq, 1001, 'starts right after since');
    const fresh = await streams[2].read();
    const atEnd = await streams[2].read({ since: 3 * N });
    await streams[0].publisher('a', 'i2').publish(event('new', 1));
    const [f] = await take(fresh, 1);
    const [e] = await take(atEnd, 1);
    t.match(f, { kind: 'event', event: { seq: 3 * N + 1, host: 'new-1' } });
    t.match(e, { kind: 'event', event: { seq: 3 * N + 1, host: 'new-1' } }, 'since = the last seq: live from there');
  });

  await t.test('a seq older than the retention: resync, naming the oldest kept', async (t) => {
    const small = await openEventStream(ncs[0], { maxMsgs: 50 });
    t.teardown(() => openEventStream(ncs[0]));
    const p = small.publisher('a', 'i3');
    await Promise.all(Array.from({ length: 100 }, (_, n) => p.publish(event('r', n))));
    const b = await small.bounds();
    t.equal(b.last - b.first + 1, 50, 'the stream keeps 50');
    const [r] = await take(await small.read({ since: 10 }), 1);
    t.same(r, { kind: 'resync', since: 10, first: b.first });
    const [ok] = await take(await small.read({ since: b.first - 1 }), 1);
    t.match(ok, { kind: 'event', event: { seq: b.first } }, 'the oldest kept seq still resumes');
  });

  await t.test('an event over NATS\'s max_payload is refused at once and holds up nothing after it', async (t) => {
    const p = streams[0].publisher('a', 'i5');
    const start = (await streams[0].bounds()).last;
    const hosts = Array.from({ length: 100_000 }, (_, n) => `host-${String(n).padStart(6, '0')}.example`);
    const big = p.publish({ type: 'JobStarted', job_id: 'big', kind: 'update', dry_run: false, total: hosts.length, hosts });
    const after = p.publish(event('after-big', 0));
    await t.rejects(big, /JobStarted event of \d+ bytes is over the \d+ bytes a NATS message can carry/);
    t.equal(await after, start + 1, 'the next event is stored, right after the last one before');
    t.equal(p.pending(), 0);
  });

  await t.test('messages on the stream that are no events: named and passed over, the events after them read', async (t) => {
    const start = (await streams[2].bounds()).last;
    const live = await streams[2].read({ since: start });
    for (const junk of ['hello', '[1,2]', '{"host":"x"}', '{"type":"HostUpdated","host":"x"}']) ncs[2].publish('tendhost.events.junk', junk);
    await ncs[2].flush();
    const seq = await streams[2].publisher('c', 'i6').publish(event('after-junk', 0));
    const items = await take(live, 5);
    t.same(items.slice(0, 4).map((i) => (i.kind === 'invalid' ? `${i.seq} ${i.subject} ${i.reason}` : i.kind)), [
      `${start + 1} tendhost.events.junk not JSON`,
      `${start + 2} tendhost.events.junk not a JSON object`,
      `${start + 3} tendhost.events.junk no type`,
      `${start + 4} tendhost.events.junk HostUpdated without a status`,
    ]);
    t.match(items[4], { kind: 'event', event: { type: 'HostConnected', host: 'after-junk-0', seq } }, 'then the event');
    t.equal(seq, start + 5);
  });

  await t.test('a node\'s read model goes on past such a message; a client asking across it resyncs', async (t) => {
    const model = new ReadModel();
    const logged: Array<{ msg: string; seq?: number }> = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const feed = new ClusterFeed(model, log, 100);
    await feed.start(streams[0], { allStatuses: async () => [] });
    t.teardown(() => feed.stop());
    const before = feed.lastSeq;
    const p = streams[0].publisher('a', 'i7');
    await p.publish({ type: 'HostUpdated', host: 'one', status: hostStatus('one') });
    ncs[0].publish('tendhost.events.junk', 'not json');
    await ncs[0].flush();
    const last = await p.publish({ type: 'HostUpdated', host: 'two', status: hostStatus('two') });
    const until = Date.now() + 10_000;
    while (feed.lastSeq < last && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    t.equal(feed.lastSeq, last, 'the feed read to the last event');
    t.ok(model.get('one') && model.get('two'), 'both hosts applied');
    t.match(logged, [{ msg: /no event was skipped/, seq: before + 2 }], 'the skipped message is logged with its seq');
    t.same(feed.replay.since(before, feed.lastSeq), null, 'a ?since= across the hole is a resync, not a gap');
    t.same(feed.replay.since(before + 2, feed.lastSeq)?.map((e) => e.seq), [last], 'after it, the events');
    t.same(await feed.history(before, last), null, 'read back from the stream: a resync too');
  });

  await t.test('NATS restarted while publishing: every event stored once, in order', async (t) => {
    const p = streams[1].publisher('b', 'i4');
    const start = (await streams[1].bounds()).last;
    const acks: Array<Promise<number>> = [];
    // One event every 5 ms for 2 s; NATS goes away after the first 100 for 1.5 s.
    let restart: Promise<void> | null = null;
    let queued = 0;
    for (let n = 0; n < 400; n++) {
      acks.push(p.publish(event('x', n)));
      if (n === 100) restart = nats.restart({ downMs: 1500 });
      queued = Math.max(queued, p.pending());
      await new Promise((r) => setTimeout(r, 5));
    }
    t.ok(queued > 50, `events queued while NATS was away (up to ${queued})`);
    await restart;
    t.ok(await p.flush(30_000), 'the queue drains once NATS is back');
    const seqs = await Promise.all(acks);
    const items = await take(await streams[1].read({ since: start }), 400);
    const hosts = items.map((i) => (i.kind === 'event' && i.event.type === 'HostConnected' ? i.event.host : '?'));
    t.same(hosts, Array.from({ length: 400 }, (_, n) => `x-${n}`), 'all 400, once each, in order');
    t.same(seqs, items.map((i) => (i.kind === 'event' ? i.event.seq : -1)), 'acks match');
  });
});
