// 1,000 simulated hosts queried through the daemon's API (one dry-run fleet
// update), with injected faults: every host gets its own result, the faults
// land on exactly the hosts that have them with the right error codes, the
// connection events make sense, and dead hosts do not hold up healthy ones.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { outdatedServices, startSimulator, type FaultName, type SimHost, type Simulator } from '../harness/simulator/index.js';
import { KnownHostsFile, fingerprint } from '../workers/exec/known-hosts.js';
import { CMD } from '../workers/pkg/commands.js';
import { startDaemon, until, type Daemon, jobWithHosts } from '../harness/daemon.js';
import { randomBase } from './helpers/sim-daemon.js';

const PACKAGE_MANAGER: Record<string, string> = { debian: 'apt', fedora: 'dnf', compose: 'apt' };
const FAULT_CODE: Record<string, string> = {
  refused: 'SSH_CONNECTION_REFUSED',
  auth: 'SSH_AUTH_FAILED',
  timeout: 'COMMAND_TIMEOUT',
};

interface Watch {
  events: any[];
  close(): void;
}

async function watch(d: Daemon): Promise<Watch> {
  const events: any[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/events`);
  ws.on('message', (m) => events.push(JSON.parse(String(m))));
  await new Promise((r) => ws.once('open', r));
  await until(() => events.length > 0);
  return { events, close: () => ws.close() };
}

async function allHosts(d: Daemon, count: number): Promise<Map<string, any>> {
  const out = new Map<string, any>();
  for (let page = 1; page <= Math.ceil(count / 200); page++) {
    const b = (await d.get(`/hosts?per_page=200&page=${page}`)).body;
    for (const h of b.data) out.set(h.name, h);
  }
  return out;
}

async function waitJob(d: Daemon, id: string, timeoutMs: number): Promise<any> {
  return until(async () => {
    const j = await d.get(`/jobs/${id}`);
    return j.body.state !== 'running' && j.body.state !== 'pending';
  }, timeoutMs, 250).then(() => jobWithHosts(d, id));
}

const faulty = (h: SimHost) => h.faults.size > 0;
/** What the daemon lists for a simulated host: its packages, plus each stack service whose tag moved in the registry. */
const pendingOf = (h: SimHost) => h.pending.length + outdatedServices(h);
const simName = (i: number) => `sim-${String(i).padStart(5, '0')}`;
/** Hosts i with i % step === offset, of 1,000. */
const every = (step: number, offset: number) => Array.from({ length: 1000 / step }, (_, k) => simName(k * step + offset)).join(',');

t.test('1,000 simulated hosts: one dry-run fleet update, per-host results, faults on the right hosts', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-fleet-query-'));
  const sim = await startSimulator({
    hosts: 1000,
    baseAddr: randomBase(),
    port: 0,
    clientKeyPath: path.join(dir, 'client_key'),
    // Disjoint sets, spread over the fleet (and so over both workers).
    faults: [`refused=${every(50, 1)}`, `auth=${every(50, 2)}`, `timeout=${every(100, 3)}`, `changed-key=${every(100, 4)}`],
    changedKeyAfter: 1,
    pending: 5,
  });
  // Different pending counts per host, so a result cannot be right by accident.
  sim.hosts.forEach((h, i) => {
    if (h.persona !== 'compose') sim.setPending(h.name, i % 7);
  });
  const knownHosts = path.join(dir, 'state', 'known_hosts');
  const d = await startDaemon({
    workers: 2,
    daemon:
      `[daemon.ssh]\nknown_hosts = "${knownHosts}"\nidle_timeout_s = 1\nconnect_timeout_s = 10\n` +
      // Long enough for a healthy command on a machine at load 20 (3 s timed some out), short for the timeout hosts.
      '[daemon.operations]\ncommand_timeout_s = 8\n',
    toml: sim.toml,
  });
  const w = await watch(d);
  t.teardown(async () => {
    w.close();
    await d.stop();
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const byFault = (f: string) => sim.hosts.filter((h) => h.faults.has(f as FaultName));
  for (const f of ['refused', 'auth', 'timeout', 'changed-key']) t.ok(byFault(f).length >= 10, `${byFault(f).length} hosts with ${f}`);
  t.equal(sim.hosts.filter((h) => h.faults.size > 1).length, 0, 'no host has two faults');

  const t0 = Date.now();
  const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: 1000 });
  t.equal(r.status, 202);
  const job = await waitJob(d, r.body.job_id, 90_000);
  t.comment(`1,000 hosts queried in ${Date.now() - t0} ms`);
  t.equal(job.hosts.length, 1000);
  const results = new Map<string, any>(job.hosts.map((h: any) => [h.name ?? h.host, h]));
  const statuses = await allHosts(d, 1000);
  t.equal(statuses.size, 1000);

  await t.test('every healthy host: pending_updates and package_manager as the simulator has them', async (t) => {
    let checked = 0;
    const wrong: string[] = [];
    for (const h of sim.hosts) {
      if (h.faults.has('refused') || h.faults.has('auth') || h.faults.has('timeout')) continue;
      const s = statuses.get(h.name);
      const res = results.get(h.name);
      if (res.state !== 'completed' || s.state !== 'idle' || s.error !== null || s.pending_updates !== pendingOf(h) || s.package_manager !== PACKAGE_MANAGER[h.persona]) {
        wrong.push(`${h.name} (${h.persona}, ${pendingOf(h)} pending): job ${res.state}/${res.code}, status ${s.state} ${s.pending_updates} ${s.package_manager} ${s.error}`);
      }
      checked++;
    }
    t.same(wrong.slice(0, 10), [], `${checked} healthy hosts all right`);
    t.ok(checked > 900);
    const zero = sim.hosts.filter((h) => !faulty(h) && pendingOf(h) === 0).length;
    t.ok(zero > 50, `${zero} hosts with nothing pending went straight back to idle`);
  });

  await t.test('injected failures land on exactly their hosts, with their codes in HostStatus and failed.code', async (t) => {
    for (const [fault, code] of Object.entries(FAULT_CODE)) {
      const mis: string[] = [];
      for (const h of byFault(fault)) {
        const s = statuses.get(h.name);
        const res = results.get(h.name);
        if (s.state !== 'failed' || s.failed?.code !== code || res.code !== code || typeof s.error !== 'string' || !s.error) {
          mis.push(`${h.name}: ${s.state} ${s.failed?.code} ${res.code} ${s.error}`);
        }
      }
      t.same(mis, [], `${byFault(fault).length} ${fault} hosts failed with ${code}`);
    }
    const refused = statuses.get(byFault('refused')[0].name);
    t.match(refused.error, /connection refused/);
    t.match(refused.error, byFault('refused')[0].addr, 'the error names the address');
    t.match(statuses.get(byFault('auth')[0].name).error, /authentication failed/);
    t.match(statuses.get(byFault('timeout')[0].name).error, /timed out/);
    const failedNames = new Set(sim.hosts.filter((h) => h.faults.has('refused') || h.faults.has('auth') || h.faults.has('timeout')).map((h) => h.name));
    const unexpected = [...statuses.values()].filter((s) => s.state === 'failed' && !failedNames.has(s.name)).map((s) => `${s.name}: ${s.error}`);
    t.same(unexpected, [], 'no other host failed');
    t.equal(job.state, 'failed', 'the job reports its failures');
    t.equal(results.get(byFault('refused')[0].name).state, 'unreachable');
  });

  await t.test('connection events: one HostConnected per reachable host, no disconnect spam from idle closes', async (t) => {
    await new Promise((r) => setTimeout(r, 1500)); // every session idle-closes (1 s)
    const connected = w.events.filter((e) => e.type === 'HostConnected').map((e) => e.host);
    const reachable = sim.hosts.filter((h) => !h.faults.has('refused') && !h.faults.has('auth')).map((h) => h.name);
    t.same([...connected].sort(), [...reachable].sort(), `${reachable.length} HostConnected, one per host that was reached`);
    t.same(w.events.filter((e) => e.type === 'HostDisconnected'), [], 'idle-timeout closes are housekeeping, not events');
  });

  await t.test('a changed host key: SSH_HOST_KEY_MISMATCH after the daemon learned the real key', async (t) => {
    const changed = byFault('changed-key');
    const kh = new KnownHostsFile(knownHosts);
    for (const h of changed) t.equal(kh.check(h.addr, h.port, Buffer.alloc(0)).status, 'changed', `${h.name} is on file`);
    const r2 = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: 1000, filter: { tags: ['fault-changed-key'] } });
    t.equal(r2.status, 202);
    const job2 = await waitJob(d, r2.body.job_id, 30_000);
    t.equal(job2.hosts.length, changed.length);
    const after = await allHosts(d, 1000);
    for (const h of changed) {
      const s = after.get(h.name);
      t.equal(s.failed?.code, 'SSH_HOST_KEY_MISMATCH', h.name);
      t.match(s.error, `expected ${sim.hostKeyFingerprint}, presented ${sim.changedHostKeyFingerprint}`);
    }
    const lost = await until(() => {
      const l = w.events.filter((e) => e.type === 'HostDisconnected');
      return l.length >= changed.length ? l : null;
    });
    t.same(lost.map((e) => e.host).sort(), changed.map((h) => h.name).sort(), 'HostDisconnected for exactly the hosts that became unreachable');
    t.match(lost[0].reason, /host key changed/);
  });

  await t.test('a held package lock: PACKAGE_MANAGER_LOCKED (a real update: a dry run takes no lock)', async (t) => {
    const lockHosts = sim.hosts.filter((h) => h.persona === 'debian' && !faulty(h)).slice(0, 5);
    await sim.setFault(lockHosts.map((h) => h.name), 'lock', true);
    const jobs = await Promise.all(lockHosts.map((h) => d.request('POST', `/hosts/${h.name}/update`, { dry_run: false })));
    t.same(jobs.map((j) => j.status), lockHosts.map(() => 202));
    for (const [i, h] of lockHosts.entries()) {
      const j = await waitJob(d, jobs[i].body.job_id, 30_000);
      t.equal(j.hosts[0].code, 'PACKAGE_MANAGER_LOCKED', h.name);
      const s = (await d.get(`/hosts/${h.name}`)).body;
      t.equal(s.failed?.code, 'PACKAGE_MANAGER_LOCKED');
      t.match(s.error, /lock/);
      t.equal(sim.host(h.name)!.counters.commands[CMD.aptUpgrade] ?? 0, 0, 'no upgrade was attempted');
    }
  });
});

t.test('dead hosts never hold up healthy ones: 50 slow/hanging and 50 healthy in one batch', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-fleet-dead-'));
  const names = (from: number, n: number) => Array.from({ length: n }, (_, i) => `sim-${String(from + i).padStart(5, '0')}`).join(',');
  const sim: Simulator = await startSimulator({
    hosts: 100,
    baseAddr: randomBase(),
    port: 0,
    clientKeyPath: path.join(dir, 'client_key'),
    // 25 that accept TCP but start SSH only after 60 s, 25 whose package commands never answer.
    faults: [`slow=${names(1, 25)}`, `timeout=${names(26, 25)}`],
    slowMs: 60_000,
  });
  const d = await startDaemon({
    workers: 2,
    // shutdown_grace_s: the teardown need not wait for the dead hosts.
    daemon: 'shutdown_grace_s = 1\n[daemon.ssh]\nconnect_timeout_s = 20\n[daemon.operations]\ncommand_timeout_s = 20\n',
    toml: sim.toml,
  });
  t.teardown(async () => {
    await d.stop();
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const healthy = sim.hosts.filter((h) => h.faults.size === 0);
  t.equal(healthy.length, 50);
  const t0 = Date.now();
  const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: 100 });
  t.equal(r.status, 202);
  await until(async () => {
    const s = await allHosts(d, 100);
    return healthy.every((h) => s.get(h.name).state === 'idle' && s.get(h.name).pending_updates !== null);
  }, 15_000, 100);
  const took = Date.now() - t0;
  t.ok(took < 10_000, `the 50 healthy hosts finished in ${took} ms, long before the dead ones time out (20 s)`);
  const s = await allHosts(d, 100);
  const stuck = sim.hosts.filter((h) => h.faults.size > 0 && s.get(h.name).state !== 'querying');
  t.same(stuck.map((h) => h.name), [], 'the 50 dead hosts are still waiting meanwhile');
  for (const h of healthy) t.equal(s.get(h.name).pending_updates, pendingOf(h));
  const job = (await d.get(`/jobs/${r.body.job_id}`)).body;
  t.equal(job.state, 'running', 'the batch waits for its dead hosts; the healthy ones did not');
});

t.test('a session cap far below the fleet: hosts queue for slots, and each still connects once', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-fleet-cap-'));
  const sim = await startSimulator({ hosts: 60, baseAddr: randomBase(), port: 0, clientKeyPath: path.join(dir, 'client_key') });
  const d = await startDaemon({ workers: 2, daemon: '[daemon.ssh]\nmax_sessions_per_worker = 3\n', toml: sim.toml });
  t.teardown(async () => {
    await d.stop();
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: 60 });
  const job = await waitJob(d, r.body.job_id, 60_000);
  t.equal(job.state, 'succeeded');
  const s = await allHosts(d, 60);
  for (const h of sim.hosts) t.equal(s.get(h.name).pending_updates, pendingOf(h), h.name);
  const connections = sim.hosts.map((h) => h.counters.connections);
  t.same([...new Set(connections)], [1], 'one connection per host: a host keeps its slot between the commands of its operation');
  t.ok(sim.hosts.every((h) => h.counters.execs >= 3), 'every host ran its whole dry run');
});

t.test('known_hosts at fleet scale: appends from another writer are seen, lookups stay indexed', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-kh-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'known_hosts');
  const blob = (i: number) => {
    const b = Buffer.alloc(51);
    b.writeUInt32BE(11, 0);
    b.write('ssh-ed25519', 4, 'latin1');
    b.writeUInt32BE(32, 15);
    b.writeUInt32BE(i, 19);
    return b;
  };
  const a = new KnownHostsFile(file);
  const b = new KnownHostsFile(file); // another worker's view of the same file
  const t0 = performance.now();
  const statuses = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const w = i % 2 === 0 ? a : b;
    statuses.add(w.check('127.9.0.1', 10_000 + i, blob(i)).status);
    w.add('127.9.0.1', 10_000 + i, blob(i));
  }
  const ms = performance.now() - t0;
  t.same([...statuses], ['unknown'], 'every new host was unknown before its add');
  t.ok(ms < 5000, `5,000 accept-new cycles alternating between two writers took ${Math.round(ms)} ms`);
  for (const w of [a, b]) {
    t.equal(w.check('127.9.0.1', 10_000, blob(0)).status, 'known');
    t.equal(w.check('127.9.0.1', 14_999, blob(4999)).status, 'known');
    t.same(w.check('127.9.0.1', 10_001, blob(7)), { status: 'changed', expected: [fingerprint(blob(1))] });
  }
  t.equal(fs.readFileSync(file, 'utf8').split('\n').length, 5001);
  a.replace('127.9.0.1', 10_002, blob(99_999));
  t.equal(b.check('127.9.0.1', 10_002, blob(99_999)).status, 'known', 'a replace (rename) is seen by the other writer');
  t.equal(b.check('127.9.0.1', 10_002, blob(2)).status, 'changed');
  fs.appendFileSync(file, '*.example.org ssh-ed25519 ' + blob(5).toString('base64') + '\n');
  t.equal(a.check('web.example.org', 22, blob(5)).status, 'known', 'a wildcard line appended by the operator');
});
