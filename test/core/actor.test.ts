// The host actor driven directly (real operations over a scripted executor):
// every edge of the machine's transition table is walked by a scenario, and
// the list of edges is derived from the table itself, so an edge added
// without a scenario fails the last test here.
import t, { type Test } from 'tap';
import { HOST_STATES, type HostState } from '../../common/schemas/host.js';
import { INITIAL, TRANSITIONS, transition, type Intent, type MachineInput } from '../../common/host-machine.js';
import { CMD } from '../../workers/pkg/commands.js';
import { ActorRig, fakeClock, resolvedHost } from './actor-harness.js';
import { isAptUpgrade, sshError } from './scripted-executor.js';
import { FULL_CYCLE } from '../helpers/full-cycle.js';

/** Edges the table allows but no machine input produces (checked below): kept in the table for now, reported. */
const UNREACHABLE_EDGES = ['rebooting->idle'];

const seen = new Set<string>();
function walked(t: Test, rig: ActorRig): string[] {
  const e = rig.edges();
  for (const x of e) seen.add(x);
  t.same(rig.exec.unscripted, [], 'every command the operations sent was scripted');
  return e;
}

/** Two-digit local "HH:MM" of a Date shifted by `hours` (windows are in the daemon's local time). */
function hhmm(d: Date, hours: number): string {
  const x = new Date(d.getTime() + hours * 3_600_000);
  return `${String(x.getHours()).padStart(2, '0')}:${String(x.getMinutes()).padStart(2, '0')}`;
}

t.test('update with nothing pending: idle → querying → idle, lists refreshed, nothing upgraded', async (t) => {
  const rig = new ActorRig();
  rig.exec.host.pending = [];
  const r = await rig.job({ kind: 'update', dry_run: false });
  t.same(walked(t, rig), ['idle->querying', 'querying->idle']);
  t.match(r, { success: true, state: 'idle', code: null });
  t.ok(rig.exec.ran.includes(CMD.aptRefresh), 'a real update refreshes package lists');
  t.notOk(rig.exec.ran.some(isAptUpgrade), 'nothing to upgrade');
  t.equal(rig.lastStatus().pending_updates, 0);
  t.equal(rig.lastStatus().job_id, null, 'the job is released at rest');
});

t.test('a query rests in pending_updates; an update from there upgrades and marks the host updated', async (t) => {
  const rig = new ActorRig();
  const q = await rig.job({ kind: 'query' });
  t.same(walked(t, rig), ['idle->querying', 'querying->pending_updates']);
  t.match(q, { success: true, state: 'pending_updates' });
  t.notOk(rig.exec.ran.includes(CMD.aptRefresh), 'a query reads what the host knows, no refresh');
  t.match(rig.lastStatus(), { state: 'pending_updates', pending_updates: 2, package_manager: 'apt', last_updated: null });
  const u = await rig.job({ kind: 'update', dry_run: false });
  t.same(walked(t, rig).slice(2), ['pending_updates->updating', 'updating->idle']);
  t.match(u, { success: true, state: 'idle' });
  t.match(rig.lastStatus(), { state: 'idle', pending_updates: 0, last_updated: String });
  const progress = rig.events().filter((e) => e.type === 'UpdateProgress');
  t.ok(progress.length >= 2, 'dpkg lines became progress events');
  const done = rig.events().find((e) => e.type === 'UpdateCompleted');
  t.match(done, { type: 'UpdateCompleted', result: { success: true, upgraded: 2, dry_run: false, reboot_required: false } });
});

t.test('the actor posts its machine\'s lifecycle facts with the operation\'s trace: a query is none, an update from pending_updates is one', async (t) => {
  const rig = new ActorRig();
  await rig.job({ kind: 'query' });
  const facts = () => rig.emitted.flatMap((m) => (m.kind === 'lifecycle' ? [m] : []));
  t.same(facts(), [], 'a query tells nothing');
  await rig.job({ kind: 'update', dry_run: false });
  const [started, finished] = facts();
  t.match(started, { host: rig.actor.name, fact: { kind: 'update_started', dry_run: false }, job_id: /^job-/, request_id: /^req-job-/ });
  t.match(finished, { fact: { kind: 'update_finished', result: 'ok', upgraded: 2, reboot_required: false }, job_id: started!.job_id });
  t.equal(facts().length, 2);
  walked(t, rig);
});

t.test('a dry run reports what it would do and changes nothing', async (t) => {
  const rig = new ActorRig();
  const r = await rig.job({ kind: 'update', dry_run: true });
  t.same(walked(t, rig), ['idle->querying', 'querying->pending_updates', 'pending_updates->updating', 'updating->idle']);
  t.match(r, { success: true, state: 'idle' });
  t.notOk(rig.exec.ran.includes(CMD.aptRefresh), 'a dry run does not refresh');
  t.notOk(rig.exec.ran.some(isAptUpgrade), 'a dry run never upgrades');
  t.equal(rig.exec.ran.filter((c) => c === CMD.aptSimulate).length, 1, 'the query’s simulation is reused for the dry run');
  t.equal(rig.lastStatus().last_updated, null, 'a dry run never marks the host updated');
  t.match(rig.events().find((e) => e.type === 'UpdateCompleted'), { result: { dry_run: true, packages: [{ name: 'openssl' }, { name: 'libc6' }] } });
});

t.test('reboot required, auto_reboot off: rests in waiting_reboot; a reboot command reboots, sees the new boot id, verifies', async (t) => {
  const clock = fakeClock('2026-03-02T10:00:00Z');
  t.teardown(clock.restore);
  const rig = new ActorRig();
  rig.exec.host.rebootAfterUpgrade = true;
  const u = await rig.job({ kind: 'update', dry_run: false });
  t.match(u, { success: true, state: 'waiting_reboot' });
  t.same(walked(t, rig), ['idle->querying', 'querying->pending_updates', 'pending_updates->updating', 'updating->waiting_reboot']);
  t.match(rig.events().find((e) => e.type === 'UpdateCompleted'), { result: { reboot_required: true, reboot_packages: ['linux-image-amd64'] } });
  const r = await rig.job({ kind: 'reboot' }, true);
  t.match(r, { success: true, state: 'idle' });
  t.same(walked(t, rig).slice(4), ['waiting_reboot->rebooting', 'rebooting->verifying', 'verifying->idle']);
  t.equal(rig.exec.host.bootId, 'boot-2');
  t.ok(rig.exec.disconnects.includes('reboot'), 'the session is dropped after the reboot command');
  t.ok(rig.exec.ran.lastIndexOf(CMD.health) > rig.exec.ran.lastIndexOf(CMD.reboot), 'uptime read after the reboot');
  t.match(rig.lastStatus(), { state: 'idle', last_updated: String });
});

t.test('auto_reboot with the window open: one job goes from idle to idle through the reboot', async (t) => {
  const clock = fakeClock('2026-03-02T10:00:00Z');
  t.teardown(clock.restore);
  const rig = new ActorRig(resolvedHost({}, { auto_reboot: true }));
  rig.exec.host.rebootAfterUpgrade = true;
  const r = await rig.job({ kind: 'update', dry_run: false }, true);
  t.match(r, { success: true, state: 'idle' });
  t.same(walked(t, rig), FULL_CYCLE);
});

t.test('auto_reboot outside the window: waits in waiting_reboot, reboots when the window opens', async (t) => {
  const start = new Date('2026-03-02T10:00:00Z');
  const clock = fakeClock(start.toISOString());
  t.teardown(clock.restore);
  const window = { start: hhmm(start, 2), end: hhmm(start, 3) };
  const rig = new ActorRig(resolvedHost({}, { auto_reboot: true, maintenance_window: window }));
  rig.exec.host.rebootAfterUpgrade = true;
  const u = await rig.job({ kind: 'update', dry_run: false });
  t.match(u, { success: true, state: 'waiting_reboot' }, 'the update job ends; the reboot waits');
  t.equal(rig.exec.ran.includes(CMD.reboot), false, 'no reboot outside the window');
  await rig.settle(() => rig.actor.state === 'idle', true);
  t.ok(Date.now() - start.getTime() >= 2 * 3_600_000, 'rebooted no earlier than the window start');
  t.equal(rig.exec.host.bootId, 'boot-2');
  t.same(walked(t, rig).slice(4), ['waiting_reboot->rebooting', 'rebooting->verifying', 'verifying->idle']);
});

t.test('window hours away: the host keeps waiting; an operator reboot is not held to the window', async (t) => {
  const start = new Date('2026-03-02T10:00:00Z');
  const clock = fakeClock(start.toISOString());
  t.teardown(clock.restore);
  const rig = new ActorRig(resolvedHost({}, { auto_reboot: true, maintenance_window: { start: hhmm(start, 6), end: hhmm(start, 7) } }));
  rig.exec.host.rebootAfterUpgrade = true;
  await rig.job({ kind: 'update', dry_run: false });
  t.equal(rig.actor.state, 'waiting_reboot');
  const r = await rig.job({ kind: 'reboot' }, true);
  t.match(r, { success: true, state: 'idle' });
  const rebootAt = rig.exec.ranAt[rig.exec.ran.indexOf(CMD.reboot)];
  t.equal(rebootAt - start.getTime(), 0, 'rebooted at once, not at the window');
  walked(t, rig);
});

t.test('connection notices, command lines and timings the actor reports', async (t) => {
  const rig = new ActorRig();
  await rig.job({ kind: 'update', dry_run: false });
  t.ok(rig.exec.ran.some((c) => isAptUpgrade(c) && c.includes('-o DPkg::Lock::Timeout=300 ')), 'apt waits for a held lock up to lock_timeout_s');
  const ops = rig.emitted.flatMap((m) => (m.kind === 'op_duration' ? [`${m.op}:${m.ok}`] : []));
  t.same(ops, ['query:true', 'upgrade:true']);
  rig.exec.failAll(sshError('SSH_CONNECTION_REFUSED', 'connect ECONNREFUSED'));
  await rig.job({ kind: 'query' });
  const links = rig.events().flatMap((e) => (e.type === 'HostConnected' || e.type === 'HostDisconnected' ? [e.type] : []));
  t.same(links, ['HostConnected', 'HostDisconnected'], 'connected once, then lost when the host stopped answering');
  t.match(rig.events().find((e) => e.type === 'HostDisconnected'), { reason: 'connect ECONNREFUSED' });
  t.match(rig.events().find((e) => e.type === 'HostStateChanged'), { job_id: String, request_id: String }, 'events carry the job and request ids');
  walked(t, rig);
});

t.test('querying → failed: the host refuses the connection', async (t) => {
  const rig = new ActorRig();
  rig.exec.failAll(sshError('SSH_CONNECTION_REFUSED', 'connect ECONNREFUSED 192.0.2.10:22'));
  const r = await rig.job({ kind: 'update', dry_run: false });
  t.same(walked(t, rig), ['idle->querying', 'querying->failed']);
  t.match(r, { success: false, state: 'failed', code: 'SSH_CONNECTION_REFUSED', error: /ECONNREFUSED/ });
  t.match(rig.lastStatus(), { state: 'failed', error: /ECONNREFUSED/, failed: { previous_state: 'querying', code: 'SSH_CONNECTION_REFUSED', retry_count: 0, acknowledged: false } });
});

t.test('updating → failed: another process holds the dpkg lock', async (t) => {
  const rig = new ActorRig();
  rig.exec.on(isAptUpgrade, { exitCode: 100, stderr: 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n' });
  const r = await rig.job({ kind: 'update', dry_run: false });
  t.same(walked(t, rig).slice(-2), ['pending_updates->updating', 'updating->failed']);
  t.match(r, { code: 'PACKAGE_MANAGER_LOCKED', error: /4242/ });
  t.match(rig.events().find((e) => e.type === 'UpdateCompleted'), { result: { success: false, error_code: 'PACKAGE_MANAGER_LOCKED' } });
});

t.test('rebooting → failed: the host never comes back before the deadline', async (t) => {
  const clock = fakeClock('2026-03-02T10:00:00Z');
  t.teardown(clock.restore);
  const rig = new ActorRig(resolvedHost({}, { auto_reboot: true }));
  rig.exec.host.rebootAfterUpgrade = true;
  rig.exec.on(CMD.reboot, () => {
    rig.exec.host.up = false;
    return sshError('SSH_DISCONNECTED');
  });
  const t0 = Date.now();
  const r = await rig.job({ kind: 'update', dry_run: false }, true);
  t.match(r, { success: false, code: 'REBOOT_TIMEOUT', error: /did not come back within 600s/ });
  t.same(walked(t, rig).slice(-2), ['waiting_reboot->rebooting', 'rebooting->failed']);
  t.ok(Date.now() - t0 >= 600_000, 'failed only at the reboot deadline (fake clock)');
  t.match(rig.lastStatus().failed, { previous_state: 'rebooting' });
});

t.test('verifying → failed: the host answers after the drop with the same boot id', async (t) => {
  const clock = fakeClock('2026-03-02T10:00:00Z');
  t.teardown(clock.restore);
  const rig = new ActorRig(resolvedHost({}, { auto_reboot: true }));
  rig.exec.host.rebootAfterUpgrade = true;
  rig.exec.on(CMD.reboot, sshError('SSH_DISCONNECTED'));
  const r = await rig.job({ kind: 'update', dry_run: false }, true);
  t.match(r, { success: false, code: 'VERIFY_FAILED', error: /without a new boot id \(still boot-1\)/ });
  t.same(walked(t, rig).slice(-2), ['rebooting->verifying', 'verifying->failed']);
});

t.test('failed → idle by retry; acknowledge keeps it failed; the retry count goes into the next failure', async (t) => {
  const rig = new ActorRig();
  rig.exec.failAll(sshError('SSH_TIMEOUT'), 1);
  await rig.job({ kind: 'query' });
  const ack = await rig.command({ kind: 'acknowledge' }, null);
  t.match(ack, { ok: true, state: 'failed' });
  t.equal(rig.lastStatus().failed?.acknowledged, true);
  const retry = await rig.command({ kind: 'retry' }, null);
  t.match(retry, { ok: true, state: 'idle' });
  t.match(rig.lastStatus(), { state: 'idle', failed: null, error: null });
  rig.exec.failAll(sshError('SSH_TIMEOUT'), 1);
  await rig.job({ kind: 'query' });
  t.same(walked(t, rig), ['idle->querying', 'querying->failed', 'failed->idle', 'idle->querying', 'querying->failed']);
  t.equal(rig.lastStatus().failed?.retry_count, 1);
});

t.test('inventory of an unreachable host answers the connect error and leaves the state alone', async (t) => {
  const rig = new ActorRig();
  rig.exec.failAll(sshError('SSH_UNREACHABLE', 'connect EHOSTUNREACH'));
  const r = await rig.command({ kind: 'inventory', refresh: true });
  t.match(r, { ok: false, state: 'idle', error: { code: 'SSH_UNREACHABLE', message: 'connect EHOSTUNREACH' } });
  t.same(rig.edges(), []);
  t.same(rig.results(), [], 'no job result for a read');
});

t.test('reconfigure and new groups: runtime state kept, the status says the new config', async (t) => {
  const rig = new ActorRig();
  await rig.job({ kind: 'query' });
  rig.actor.reconfigure(resolvedHost({ addr: '192.0.2.99', tags: ['db'] }), ['blue']);
  t.match(rig.lastStatus(), { state: 'pending_updates', addr: '192.0.2.99', tags: ['db'], groups: ['blue'], pending_updates: 2 });
  rig.actor.setGroups(['blue', 'green']);
  t.same(rig.lastStatus().groups, ['blue', 'green']);
  const published = rig.emitted.length;
  rig.actor.setGroups(['blue', 'green']);
  t.equal(rig.emitted.length, published, 'the same groups publish nothing');
  const u = await rig.job({ kind: 'update', dry_run: false });
  t.match(u, { success: true, state: 'idle' });
  t.equal(rig.exec.opened, 2, 'a new address means a new connection');
  t.equal(rig.exec.ran.filter((c) => c === CMD.detectTools).length, 2, 'and a new detection');
  walked(t, rig);
});

t.test('the edges walked are exactly the table’s reachable edges', async (t) => {
  const table = HOST_STATES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}->${to}`));
  // Every edge the pure function can produce, from any state with any intent and input.
  const intents: (Intent | null)[] = [null, { kind: 'query' }, { kind: 'update', dry_run: true }, { kind: 'update', dry_run: false }];
  // Keyed by input type: a new kind of input is a type error here until it is listed.
  const samples: { [K in MachineInput['type']]: Extract<MachineInput, { type: K }>[] } = {
    UPDATE: [{ type: 'UPDATE', dry_run: false }, { type: 'UPDATE', dry_run: true }],
    QUERY: [{ type: 'QUERY' }],
    REBOOT: [{ type: 'REBOOT' }],
    RETRY: [{ type: 'RETRY' }],
    ACKNOWLEDGE: [{ type: 'ACKNOWLEDGE' }],
    QUERY_DONE: [{ type: 'QUERY_DONE', pending: 0 }, { type: 'QUERY_DONE', pending: 2 }],
    UPGRADE_DONE: [{ type: 'UPGRADE_DONE', reboot_required: false, upgraded: 3 }, { type: 'UPGRADE_DONE', reboot_required: true, upgraded: 3 }],
    REBOOT_DONE: [{ type: 'REBOOT_DONE' }],
    VERIFY_OK: [{ type: 'VERIFY_OK' }],
    OP_FAILED: [{ type: 'OP_FAILED', code: 'INTERNAL', error: 'x', at: '2026-01-01T00:00:00Z' }],
    INTERRUPTED: [{ type: 'INTERRUPTED', code: 'WORKER_FAILED', error: 'x', at: '2026-01-01T00:00:00Z' }],
  };
  const inputs: MachineInput[] = Object.values(samples).flat();
  const reachable = new Set<string>();
  for (const state of HOST_STATES as readonly HostState[]) {
    for (const intent of intents) {
      for (const input of inputs) {
        const o = transition({ ...INITIAL, state, intent }, input);
        if (o.ok && o.changed) reachable.add(`${state}->${o.next.state}`);
      }
    }
  }
  t.same([...reachable].filter((e) => !table.includes(e)), [], 'the machine only takes edges of its table');
  t.same(table.filter((e) => !reachable.has(e)).sort(), UNREACHABLE_EDGES, 'edges of the table no input takes');
  t.same([...reachable].filter((e) => !seen.has(e)).sort(), [], 'reachable edges no actor scenario walked');
  t.same([...seen].filter((e) => !reachable.has(e)).sort(), [], 'edges the actor took that the machine cannot');
});
