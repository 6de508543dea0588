// A rollout's batch bigger than the daemon can connect at once, on the real
// daemon and the fleet simulator: hosts start as their shard has room (2
// workers × 4 handshake slots here), so a 400-host batch never has all 400 in
// `querying` at once — clients see hosts move as they really start, not
// 800 events in the first second — every host still ends completed, and a
// cancel reaches the hosts still waiting: they are skipped and never contacted.
// A worker that dies while its shard's hosts wait for room: the replacement
// runs them, and only the hosts it had started fail. A worker whose hosts are
// slow holds up only its own: the other runs through its share meanwhile.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { startSimulator } from '../harness/simulator/index.js';
import { hostToml } from '../harness/simulator/toml.js';
import { jobWithHosts, startDaemon, until, type Daemon } from '../harness/daemon.js';
import { randomBase } from './helpers/sim-daemon.js';
import { shardOf } from '../src/pool/shard-of.js';

const HOSTS = 400;
const WORKERS = 2;
const HANDSHAKES = 4;

/** Hosts in `querying` over time, from the event stream. */
function watchQuerying(d: Daemon) {
  const querying = new Set<string>();
  const seen = { max: 0, entered: 0 };
  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/events`);
  ws.on('message', (m) => {
    const e = JSON.parse(String(m));
    if (e.type !== 'HostStateChanged') return;
    if (e.to === 'querying') {
      querying.add(e.host);
      seen.entered++;
      seen.max = Math.max(seen.max, querying.size);
    } else querying.delete(e.host);
  });
  return { seen, opened: new Promise((r) => ws.once('open', r)), close: () => ws.close() };
}

async function finished(d: Daemon, id: string): Promise<any> {
  await until(async () => !['running', 'pending'].includes((await d.get(`/jobs/${id}`)).body.state), 120_000, 200);
  return jobWithHosts(d, id);
}

t.test('a 400-host batch on 2 workers × 4 handshake slots', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-pacing-'));
  const sim = await startSimulator({ hosts: HOSTS, baseAddr: randomBase(), port: 0, clientKeyPath: path.join(dir, 'client_key'), pending: 2, slowMs: 1000 });
  const d = await startDaemon({
    workers: WORKERS,
    daemon: `[daemon.ssh]\nhost_key_policy = "accept-new"\nknown_hosts = "${path.join(dir, 'known_hosts')}"\nmax_handshakes_per_worker = ${HANDSHAKES}\nidle_timeout_s = 1\n`,
    toml: sim.hosts.map((h) => hostToml(h, sim.clientKeyPath)).join('\n'),
    env: { TENDHOST_TEST_SWITCHES: 'crash-worker' },
  });
  t.teardown(async () => {
    await d.stop();
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  await t.test('every host is queried, never the whole batch in querying at once', async (t) => {
    const w = watchQuerying(d);
    await w.opened;
    const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: HOSTS });
    t.equal(r.status, 202);
    const job = await finished(d, r.body.job_id);
    w.close();
    t.equal(job.hosts.filter((h: any) => h.state === 'completed').length, HOSTS, 'all 400 completed');
    t.equal(w.seen.entered, HOSTS, 'each host went to querying once');
    // Per shard at most 4 waiting for a slot and 4 in a handshake, plus those past it running their command.
    t.ok(w.seen.max < HOSTS / 4, `at most ${w.seen.max} hosts in querying at once (the batch is ${HOSTS})`);
  });

  await t.test('cancel while most of the batch waits for room: those hosts are skipped and never contacted', async (t) => {
    // Slow hosts: each query takes a second, so the batch is still waiting when the cancel comes.
    await sim.setFault(
      sim.hosts.map((h) => h.name),
      'slow',
      true,
    );
    sim.resetCounters();
    const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: HOSTS });
    t.equal(r.status, 202);
    await until(async () => (await d.get(`/jobs/${r.body.job_id}`)).body.state === 'running', 10_000);
    t.equal((await d.request('POST', `/jobs/${r.body.job_id}/cancel`, {})).status < 300, true, 'cancel accepted');
    const job = await finished(d, r.body.job_id);
    const skipped = job.hosts.filter((h: any) => h.state === 'skipped');
    const ran = job.hosts.filter((h: any) => h.state === 'completed' || h.state === 'failed' || h.state === 'unreachable');
    t.ok(skipped.length > HOSTS / 2, `${skipped.length} hosts skipped, ${ran.length} ran`);
    t.equal(skipped.length + ran.length, HOSTS, 'every host accounted for');
    const contacted = skipped.filter((h: any) => (sim.host(h.host ?? h.name)?.counters.connections ?? 0) > 0);
    t.same(contacted.map((h: any) => h.host ?? h.name), [], 'no skipped host was connected to');
    t.match(skipped[0].reason, /cancel/);
  });

  await t.test('a worker dies while hosts of its shard wait for room: the new worker runs them', async (t) => {
    const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: HOSTS });
    t.equal(r.status, 202);
    await until(async () => (await d.get(`/hosts?state=querying&per_page=1`)).body.pagination.total_items > 0, 10_000, 20);
    d.proc.kill('SIGUSR2'); // test switch: shard 0's worker throws
    await d.waitForLog((l) => l.msg === 'shard re-attached' && l.shard === 0);
    await sim.setFault(
      sim.hosts.map((h) => h.name),
      'slow',
      false,
    );
    const job = await finished(d, r.body.job_id);
    const by = (state: string) => job.hosts.filter((h: any) => h.state === state);
    t.equal(by('completed').length + by('failed').length, HOSTS, 'every host ran: none skipped or lost');
    t.ok(by('failed').length <= 3 * HANDSHAKES, `${by('failed').length} failed: only hosts the dead worker had started or was being sent`);
    // WORKER_FAILED: started there, interrupted; WORKER_UNAVAILABLE: its command was on the way to the dead worker.
    const codes = by('failed').map((h: any) => h.code);
    t.same(codes.filter((c: string) => c !== 'WORKER_FAILED' && c !== 'WORKER_UNAVAILABLE'), [], `each failed with the worker's loss (${[...new Set(codes)].join(', ') || 'none'})`);
    const shard0 = by('completed').filter((h: any) => shardOf(h.host ?? h.name, WORKERS) === 0).length;
    t.ok(shard0 > HOSTS / 2 - 3 * HANDSHAKES - 40, `${shard0} hosts of shard 0 completed on the new worker`);
  });

  await t.test('slow hosts on one worker hold up only that worker: the other runs through its share of the batch', async (t) => {
    const onShard = (h: any, shard: number) => shardOf(h.host ?? h.name, WORKERS) === shard;
    const slow = sim.hosts.filter((h) => onShard(h, 0)).map((h) => h.name);
    await sim.setFault(slow, 'slow', true); // each handshake waits a second: 4 hosts a second on worker 0
    t.teardown(() => sim.setFault(slow, 'slow', false));
    const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: HOSTS });
    t.equal(r.status, 202);
    const job = await until(async () => {
      const j = await jobWithHosts(d, r.body.job_id);
      return j.hosts.filter((h: any) => onShard(h, 1)).every((h: any) => h.state === 'completed') ? j : null;
    }, 60_000, 100);
    const slowDone = job.hosts.filter((h: any) => onShard(h, 0) && !['pending', 'running'].includes(h.state)).length;
    t.ok(slowDone < slow.length / 2, `all ${HOSTS - slow.length} hosts of worker 1 completed while ${slowDone} of worker 0's ${slow.length} slow ones had`);
    await d.request('POST', `/jobs/${r.body.job_id}/cancel`, {});
    const end = await finished(d, r.body.job_id);
    t.equal(end.hosts.filter((h: any) => ['completed', 'failed', 'unreachable', 'skipped'].includes(h.state)).length, HOSTS, 'every host accounted for after the cancel');
  });
});
