// The shared host registry and last statuses (registry-kv.ts) against a real
// nats-server, from two nodes' connections.
import t from 'tap';
import { Kvm } from '@nats-io/kv';
import { HostExistsError, PartitionCountError, REGISTRY_BUCKET, STATUS_BUCKET, RegistryKv } from '../src/cluster/registry-kv.js';
import { partitionOf } from '../src/cluster/partition.js';
import { restorePartition } from '../src/cluster/takeover.js';
import { resolveHost } from '../src/config/load.js';
import { skipWithoutNats } from '../harness/nats.js';
import { natsWithTwoClients } from './helpers/nats-clients.js';
import { hostStatus } from './helpers/host-status.js';

const PARTITIONS = 16;
const host = (name: string) => resolveHost({ name, addr: '10.0.0.1', tags: ['web'] }, {});

t.test('cluster registry', { skip: skipWithoutNats() }, async (t) => {
  const [ncA, ncB] = await natsWithTwoClients(t);
  const a = await RegistryKv.open(ncA, { partitions: PARTITIONS, nodeId: 'a' });
  const b = await RegistryKv.open(ncB, { partitions: PARTITIONS, nodeId: 'b' });

  await t.test('a name registered through the API is taken once, cluster-wide', async (t) => {
    const results = await Promise.allSettled([a.register(host('web-1')), b.register(host('web-1'))]);
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one of two racing registrations wins');
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    t.ok(lost.reason instanceof HostExistsError, 'the other is told the host exists');
    t.match(lost.reason.message, /host "web-1" is already registered in the cluster/);
    const rec = await b.get('web-1');
    t.match(rec, { source: 'api', host: { name: 'web-1', addr: '10.0.0.1', tags: ['web'], port: 22, user: 'root' } });
  });

  await t.test('config hosts, listing by partition and in all', async (t) => {
    const names = Array.from({ length: 40 }, (_, i) => `h${i}`);
    await Promise.all(names.map((n) => a.putConfigHost(host(n))));
    await b.putConfigHost(host('h3')); // the same host in two nodes' files: written again, no error
    const all = await b.allHosts();
    t.equal(all.length, 41, 'every host once (40 config + 1 api)');
    const p = partitionOf('h7', PARTITIONS);
    const inP = await b.partitionHosts(p);
    t.ok(inP.some((r) => r.host.name === 'h7'), 'h7 listed in its partition');
    t.ok(inP.every((r) => partitionOf(r.host.name, PARTITIONS) === p), 'and only hosts of that partition');
    t.equal((await a.get('h3'))?.node_id, 'b', 'the last node to write a config host is named');
  });

  await t.test('last statuses: written by the owner, read back by partition', async (t) => {
    await a.putStatus(hostStatus('h7', { state: 'updating', job_id: 'job-1' }));
    await a.putStatus(hostStatus('h7', { state: 'pending_updates', pending_updates: 3 }));
    t.match(await b.lastStatus('h7'), { name: 'h7', state: 'pending_updates', pending_updates: 3 });
    const statuses = await b.partitionStatuses(partitionOf('h7', PARTITIONS));
    t.same(statuses.map((s) => s.name), ['h7']);
    t.equal(await b.lastStatus('h8'), null, 'none for a host never reported');
  });

  await t.test('statuses in a burst: every put resolves, each host ends at its newest, older ones folded', async (t) => {
    const kvm = new Kvm(ncB);
    const bucket = await kvm.open('tendhost_status');
    const lastSeq = async () => (await bucket.status()).streamInfo.state.last_seq;
    const before = await lastSeq();
    const names = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
    // Ten changes per host in one turn, 200 puts: the window goes out after the turn, with each host's newest only.
    const puts = names.flatMap((n) => Array.from({ length: 10 }, (_, k) => a.putStatus(hostStatus(n, { state: 'pending_updates', pending_updates: k }))));
    await Promise.all(puts);
    for (const n of names) t.match(await b.lastStatus(n), { state: 'pending_updates', pending_updates: 9 }, `${n} at its newest`);
    t.equal((await lastSeq()) - before, names.length, 'one write per host');
  });

  await t.test('removal takes the host and its status; the name is free again', async (t) => {
    t.equal(await b.remove('h7'), true);
    t.equal(await a.get('h7'), null);
    t.equal(await a.lastStatus('h7'), null);
    t.equal(await b.remove('h7'), false, 'removing again: not registered');
    await a.register(host('h7'));
    t.equal((await b.get('h7'))?.source, 'api');
  });

  await t.test('taking a partition over: its hosts, where they left off, interrupted ones failed and named', async (t) => {
    const p = partitionOf('t0', PARTITIONS);
    const names = Array.from({ length: 400 }, (_, i) => `t${i}`).filter((n) => partitionOf(n, PARTITIONS) === p).slice(0, 4);
    t.equal(names.length, 4);
    const [busy, resting, idle, fresh] = names;
    await Promise.all(names.map((n) => a.putConfigHost(host(n))));
    await a.putStatus(hostStatus(busy, { state: 'updating', job_id: 'job-9' }));
    await a.putStatus(hostStatus(resting, { state: 'pending_updates', pending_updates: 2, job_id: 'job-9' }));
    await a.putStatus(hostStatus(idle));
    const r = await restorePartition(b, p, 'a', '2026-12-06T23:00:00.000Z');
    t.ok(names.every((n) => r.hosts.some((h) => h.name === n)), 'every host of the partition');
    t.ok(r.hosts.every((h) => partitionOf(h.name, PARTITIONS) === p), 'and no other');
    t.same(r.interrupted, [busy], 'the host mid-operation is named');
    t.match(r.statuses.get(busy), {
      state: 'failed',
      job_id: null,
      error: 'interrupted: cluster node a stopped during updating',
      failed: { previous_state: 'updating', code: 'INTERRUPTED', failed_at: '2026-12-06T23:00:00.000Z', acknowledged: false },
    });
    t.match(r.statuses.get(resting), { state: 'pending_updates', pending_updates: 2, job_id: null }, 'a resting host keeps its state; its job ends');
    t.match(r.statuses.get(idle), { state: 'idle' });
    t.notOk(r.statuses.has(fresh), 'a host never reported starts fresh');
  });

  await t.test('a node with another partition count is refused', async (t) => {
    await t.rejects(RegistryKv.open(ncB, { partitions: 32, nodeId: 'c' }), PartitionCountError);
    await t.rejects(RegistryKv.open(ncB, { partitions: 32, nodeId: 'c' }), /cluster\.partitions is 32 here but the cluster was started with 16/);
  });

  await t.test('a value that is not a host record is reported, not passed on', async (t) => {
    const kv = await new Kvm(ncA).open(REGISTRY_BUCKET);
    await kv.put(`${partitionOf('junk', PARTITIONS)}.junk`, JSON.stringify({ host: { name: 'junk' } }));
    await t.rejects(b.get('junk'), /tendhost_registry \d+\.junk: not a host record/);
  });

  await t.test('a listing passes over a value that is no record or status and reports it; the rest of the partition restores', async (t) => {
    const bad: string[] = [];
    const c = await RegistryKv.open(ncB, { partitions: PARTITIONS, nodeId: 'c', onBad: (err) => bad.push(err.message) });
    const p = partitionOf('h7', PARTITIONS);
    const junkName = Array.from({ length: 500 }, (_, i) => `junk-${i}`).find((n) => partitionOf(n, PARTITIONS) === p)!;
    const kvm = new Kvm(ncA);
    await (await kvm.open(REGISTRY_BUCKET)).put(`${p}.${junkName}`, 'not json');
    await (await kvm.open(STATUS_BUCKET)).put(`${p}.${junkName}`, JSON.stringify({ name: junkName, state: 'sleeping' }));
    const hosts = await c.partitionHosts(p);
    t.ok(hosts.some((r) => r.host.name === 'h7'), 'h7 still listed');
    t.notOk(hosts.some((r) => r.host.name === junkName), 'the bad record is not');
    const statuses = await c.partitionStatuses(p);
    t.ok(statuses.length > 0 && !statuses.some((s) => s.name === junkName), `the good statuses only (${statuses.map((s) => s.name).join(', ')})`);
    t.same(bad, [`tendhost_registry ${p}.${junkName}: not JSON`, `tendhost_status ${p}.${junkName}: not a host status`]);
  });
});
