// Forwarding a host command to its partition's owner (forward.ts) with real
// NATS and two nodes whose forwarders follow their partition leases: answered
// by the owner as if local, errors carried over, PARTITION_UNOWNED while
// nobody holds the lease, the new owner after a takeover, and
// CLUSTER_UNAVAILABLE with NATS gone.
import t from 'tap';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PartitionOwnership } from '../src/cluster/ownership.js';
import { CommandForwarder, commandSubject, type HostCommand } from '../src/cluster/forward.js';
import { partitionOf } from '../src/cluster/partition.js';
import { TendhostError } from '../common/errors.js';
import { skipWithoutNats, startNats, type NatsServer } from '../harness/nats.js';
import { until } from '../harness/daemon.js';

const PARTITIONS = 16;
const TTL_S = 3;

interface Node {
  id: string;
  nc: NatsConnection;
  own: PartitionOwnership;
  fwd: CommandForwarder;
  ran: HostCommand[];
}

async function startNode(nats: NatsServer, id: string): Promise<Node> {
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const ran: HostCommand[] = [];
  let own: PartitionOwnership | null = null;
  const fwd = new CommandForwarder(nc, {
    nodeId: id,
    partitions: PARTITIONS,
    owns: (p) => own?.owns(p) ?? false,
    unownedRetryMs: 500,
    timeoutMs: 5000,
    handle: async (cmd) => {
      ran.push(cmd);
      if (cmd.command === 'retry') throw new TendhostError('HOST_NOT_FAILED', `${cmd.host} is not failed`);
      if (cmd.command === 'explode') throw new Error(`sqlite at /var/lib/secret.db: disk I/O error for ${cmd.host}`);
      // An inventory of a host with very many packages: more than one NATS message (1 MiB) holds.
      if (cmd.command === 'inventory') return { status: 200, body: { packages: Array.from({ length: 30_000 }, (_, i) => ({ name: `package-${i}`, version: '1.0.0-1' })) } };
      return { status: 202, body: { job_id: `job-${id}-${ran.length}`, host: cmd.host } };
    },
  });
  own = await PartitionOwnership.start(
    nc,
    { nodeId: id, partitions: PARTITIONS, ttlMs: TTL_S * 1000 },
    { isBusy: () => false, acquired: (p) => fwd.serve(p), releasing: (p) => fwd.unserve(p), lost: (p) => fwd.unserve(p) },
  );
  return { id, nc, own, fwd, ran };
}

const hosts = Array.from({ length: 48 }, (_, i) => `host-${i}`);

t.test('forwarding host commands', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const a = await startNode(nats, 'a');
  const b = await startNode(nats, 'b');
  t.teardown(async () => {
    for (const n of [a, b]) {
      n.fwd.close();
      await n.own.stop({ handBack: false }).catch(() => undefined);
      await n.nc.close().catch(() => undefined);
    }
  });
  await until(() => a.own.owned().length === 8 && b.own.owned().length === 8, 15_000);
  await until(() => a.fwd.served().length === 8 && b.fwd.served().length === 8, 5000);
  // a's map of owners comes from the lease bucket's watch, which may trail the
  // leases themselves (CI: some of b's 8 partitions not yet in it; a stalled
  // KV consumer is set going again at its next idle heartbeat, 5 s).
  await until(() => [...a.own.owners().values()].filter((o) => o === 'b').length === 8, 15_000);

  await t.test('each command runs on its host\'s owner and answers on the sender', async (t) => {
    const owners = a.own.owners();
    const replies = await Promise.all(hosts.map((host) => a.fwd.send({ host, command: 'update', body: { dry_run: true }, request_id: `r-${host}` })));
    let remote = 0;
    replies.forEach((r, i) => {
      const owner = owners.get(partitionOf(hosts[i], PARTITIONS));
      t.equal(r.node, owner, `${hosts[i]} ran on its owner ${owner}`);
      t.equal(r.status, 202);
      t.match(r.body, { host: hosts[i], job_id: new RegExp(`^job-${owner}-`) });
      if (owner === 'b') remote++;
    });
    t.ok(remote > 0 && remote < hosts.length, `${remote} of ${hosts.length} went over NATS to b`);
    t.equal(b.ran.length, remote, 'b ran exactly the commands for its hosts');
    t.match(b.ran[0], { command: 'update', body: { dry_run: true }, request_id: /^r-host-/ }, 'the command arrives whole');
  });

  await t.test('a refusal on the owner comes back with its status and code', async (t) => {
    const onB = hosts.find((h) => b.own.owns(partitionOf(h, PARTITIONS)))!;
    const r = await a.fwd.send({ host: onB, command: 'retry', body: null });
    t.same(r, { status: 409, node: 'b', body: { error: { code: 'HOST_NOT_FAILED', message: `${onB} is not failed` } } });
  });

  await t.test('an exception on the owner comes back as INTERNAL with the request id, never its text', async (t) => {
    const onB = hosts.find((h) => b.own.owns(partitionOf(h, PARTITIONS)))!;
    const r = await a.fwd.send({ host: onB, command: 'explode', body: null, request_id: 'req-42' });
    t.equal(r.status, 500);
    t.match(r.body, { error: { code: 'INTERNAL', message: /request id req-42/, details: { request_id: 'req-42' } } });
    t.notMatch(JSON.stringify(r.body), /secret|sqlite|I\/O/, 'nothing of the exception');
  });

  await t.test('an answer too large for one NATS message comes back as a clear error, at once; the owner keeps serving', async (t) => {
    const onB = hosts.find((h) => b.own.owns(partitionOf(h, PARTITIONS)))!;
    const started = Date.now();
    const r = await a.fwd.send({ host: onB, command: 'inventory', body: null, request_id: 'req-big' });
    t.ok(Date.now() - started < 4000, `answered in ${Date.now() - started} ms, not at the 5 s timeout`);
    t.equal(r.status, 502);
    t.match(r.body, { error: { code: 'CLUSTER_ANSWER_TOO_LARGE', message: /bytes.*over.*max_payload.*ask node b/ } });
    const next = await a.fwd.send({ host: onB, command: 'update', body: {} });
    t.match(next, { node: 'b', status: 202 }, 'b still answers');
  });

  await t.test('anything else on a command subject is refused with 400; the owner keeps reading its connection', async (t) => {
    const onB = hosts.find((h) => b.own.owns(partitionOf(h, PARTITIONS)))!;
    const subject = commandSubject(partitionOf(onB, PARTITIONS));
    const raw = await connect({ servers: nats.url });
    t.teardown(() => raw.close());
    for (const [data, why] of [
      ['not json{', /is not JSON/],
      [JSON.stringify({ host: 42, command: 'update' }), /is not a host command/],
      [JSON.stringify(['update']), /is not a host command/],
    ] as const) {
      const r = (await raw.request(subject, data, { timeout: 3000 })).json<{ ok: boolean; status: number; body: unknown }>();
      t.match(r, { ok: true, status: 400, body: { error: { code: 'VALIDATION_FAILED', message: why } } }, `${data}: refused`);
    }
    const next = await a.fwd.send({ host: onB, command: 'update', body: {} });
    t.match(next, { node: 'b', status: 202 }, 'b still answers (before, its connection stopped reading at the first bad message)');
  });

  await t.test('owner gone: PARTITION_UNOWNED until its lease expires, then the new owner answers', async (t) => {
    const bParts = b.own.owned();
    const onB = hosts.find((h) => bParts.includes(partitionOf(h, PARTITIONS)))!;
    // b dies: it stops renewing and answering (its leases stay until they expire).
    b.fwd.close();
    await b.own.stop({ handBack: false });
    const err = await a.fwd.send({ host: onB, command: 'update', body: {} }).catch((e) => e);
    t.ok(err instanceof TendhostError, 'a typed error');
    t.equal(err.code, 'PARTITION_UNOWNED');
    t.equal(err.status, 503);
    await until(() => a.own.owned().length === PARTITIONS, (TTL_S + 5) * 1000);
    const r = await a.fwd.send({ host: onB, command: 'update', body: {} });
    t.match(r, { node: 'a', status: 202 }, 'a took the partition over and runs it');
  });

  await t.test('NATS unreachable: a command for another node\'s host is refused at once with CLUSTER_UNAVAILABLE', async (t) => {
    // A third node takes some partitions back from a, then NATS goes away.
    const c = await startNode(nats, 'c');
    t.teardown(async () => {
      c.fwd.close();
      await c.own.stop({ handBack: false }).catch(() => undefined);
      await c.nc.close().catch(() => undefined);
    });
    await until(() => c.own.owned().length === 8, 15_000);
    const onC = hosts.find((h) => c.own.owns(partitionOf(h, PARTITIONS)))!;
    await nats.stop({ keepStore: true });
    await until(() => !a.fwd['link'].connected(), 5000);
    const started = Date.now();
    const err = await a.fwd.send({ host: onC, command: 'update', body: {} }).catch((e) => e);
    t.equal(err.code, 'CLUSTER_UNAVAILABLE');
    t.ok(Date.now() - started < 1000, 'refused without waiting on a request');
  });
});
