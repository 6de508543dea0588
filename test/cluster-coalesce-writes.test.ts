// coalesce-writes.ts against a real nats-server: what one turn publishes
// leaves in one socket write, nothing is lost or reordered, and what is
// queued when the connection closes still goes out.
import t from 'tap';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { coalesceWrites } from '../src/cluster/coalesce-writes.js';
import { skipWithoutNats, startNats } from '../harness/nats.js';

/** Counts the frames the connection hands its socket. */
function countWrites(nc: NatsConnection): () => number {
  const transport = (nc as unknown as { protocol: { transport: { send(frame: Uint8Array): void } } }).protocol.transport;
  const send = transport.send.bind(transport);
  let writes = 0;
  transport.send = (frame) => {
    writes++;
    send(frame);
  };
  return () => writes;
}

/** Publishes n messages, each after a microtask checkpoint (as separate callbacks would). */
async function publishApart(nc: NatsConnection, subject: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await Promise.resolve();
    nc.publish(subject, String(i));
  }
}

async function receive(nc: NatsConnection, subject: string, n: number): Promise<() => Promise<string[]>> {
  const sub = nc.subscribe(subject, { max: n });
  await nc.flush();
  return async () => {
    const got: string[] = [];
    for await (const m of sub) got.push(m.string());
    return got;
  };
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => String(i));

t.test('coalesced NATS writes', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const reader = await connect({ servers: nats.url });
  t.teardown(() => reader.close());

  await t.test('without it, each checkpoint is a write of its own (the cost this removes)', async (t) => {
    const nc = await connect({ servers: nats.url });
    t.teardown(() => nc.close());
    const got = await receive(reader, 'plain', 50);
    const writes = countWrites(nc);
    await publishApart(nc, 'plain', 50);
    await new Promise((r) => setImmediate(r));
    t.ok(writes() >= 50, `${writes()} writes for 50 messages`);
    t.same(await got(), expected(50));
  });

  await t.test('with it, one write per turn, every message in order', async (t) => {
    const nc = await connect({ servers: nats.url });
    t.teardown(() => nc.close());
    t.equal(coalesceWrites(nc), true, 'this nats.js has the hooks it needs');
    const got = await receive(reader, 'coalesced', 50);
    const writes = countWrites(nc);
    await publishApart(nc, 'coalesced', 50);
    t.equal(writes(), 0, 'nothing written before the turn ends');
    await new Promise((r) => setImmediate(r));
    t.equal(writes(), 1, 'one write when it ends');
    t.same(await got(), expected(50));
    // Requests still answer (their replies come back on the same connection).
    const responder = reader.subscribe('echo', { callback: (_e, m) => void m.respond(m.data) });
    t.teardown(() => responder.unsubscribe());
    await reader.flush();
    t.equal((await nc.request('echo', 'hi', { timeout: 2000 })).string(), 'hi');
  });

  await t.test('what is queued when the connection closes is written first', async (t) => {
    const nc = await connect({ servers: nats.url });
    coalesceWrites(nc);
    const got = await receive(reader, 'closing', 5);
    await publishApart(nc, 'closing', 5);
    await nc.close();
    t.same(await got(), expected(5));
  });
});
