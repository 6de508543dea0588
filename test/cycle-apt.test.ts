// The whole update cycle of Debian (apt) hosts of the fleet simulator, through
// the daemon's HTTP API and WebSocket: query → pending_updates → updating →
// waiting_reboot → rebooting → verifying → idle, and every way it can end in
// failed (reboot never back, same boot id, dpkg lock, dpkg error), and a host
// that must wait for an operator's reboot.
import t from 'tap';
import { FULL_CYCLE, startCycleFleet, UP_TO_WAITING, waitForState, type CycleFleet } from './helpers/fleet-cycle.js';

const OK = 'sim-00001';
const NEVER = 'sim-00002';
const SAME = 'sim-00003';
const LOCK = 'sim-00004';
const FAIL = 'sim-00005';
const MANUAL = 'sim-00006';

let f: CycleFleet;
let started: number;

t.before(async () => {
  f = await startCycleFleet({
    sim: {
      hosts: 6,
      mix: { debian: 1 },
      pending: 5,
      faults: [`reboot-never=${NEVER}`, `reboot-same-bootid=${SAME}`, `lock=${LOCK}`, `upgrade-fail=${FAIL}`],
    },
    hostExtra: (h) => (h.name === MANUAL ? '[host.policy]\nauto_reboot = false\n' : ''),
    operations: { reboot_poll_s: 0.2, reboot_deadline_s: 4 },
  });
});
t.teardown(() => f?.stop());

/** Before any update: what each simulated host will upgrade. */
const before = new Map<string, { pkgs: string[]; boot: string }>();

t.test('every host accepts an update with 202 and a job id', async (t) => {
  for (const name of [OK, NEVER, SAME, LOCK, FAIL, MANUAL]) {
    const v = await f.view(name);
    t.equal(v.pending, 5, `${name} starts with 5 pending packages`);
    before.set(name, { pkgs: v.pending_packages, boot: v.boot_id });
  }
  started = Date.now();
  for (const name of [OK, NEVER, SAME, LOCK, FAIL, MANUAL]) {
    const r = await f.d.request('POST', `/hosts/${name}/update`, {});
    t.equal(r.status, 202, name);
    t.match(r.body.job_id, /\S/);
  }
});

t.test('apt: the full cycle ends idle with a new boot id, after exactly one reboot', async (t) => {
  const host = await waitForState(f.d, OK, 'idle', 30_000).catch(() => null);
  t.ok(host, 'rests in idle');
  t.same(f.events.states(OK), FULL_CYCLE, 'the exact HostStateChanged sequence');

  const pkgs = before.get(OK)!.pkgs;
  const progress = f.events.of(OK, 'UpdateProgress').map((e) => `${e.package}:${e.progress}`);
  t.same(
    progress,
    [...pkgs.map((p) => `${p}:unpacking`), ...pkgs.map((p) => `${p}:setting up`)],
    'one UpdateProgress per dpkg line, in dpkg order',
  );

  const done = f.events.of(OK, 'UpdateCompleted');
  t.equal(done.length, 1, 'one UpdateCompleted');
  const res = done[0].result;
  t.equal(res.success, true);
  t.equal(res.dry_run, false);
  t.equal(res.upgraded, 5);
  t.equal(res.new, 0);
  t.equal(res.removed, 0);
  t.equal(res.reboot_required, true);
  t.same(res.reboot_packages, pkgs, 'reboot-required.pkgs names the upgraded packages');
  t.same(res.packages.map((p: any) => p.name), pkgs);
  t.ok(res.packages.every((p: any) => p.current_version && p.new_version && p.current_version !== p.new_version && p.kind === 'system'));
  t.equal(res.error, null);

  t.equal(host.pending_updates, 0);
  t.equal(host.package_manager, 'apt');
  t.equal(host.error, null);
  t.equal(host.failed, null);
  t.ok(Date.parse(host.last_updated) >= started - 1000, `last_updated is set (${host.last_updated})`);

  const v = await f.view(OK);
  t.not(v.boot_id, before.get(OK)!.boot, 'the host booted again');
  t.equal(v.counters.reboots, 1, 'the simulator saw one reboot');
  t.equal(v.counters.commands['systemctl reboot || reboot'], 1, 'the reboot command was sent exactly once');
  t.equal(v.pending, 0);
  t.equal(v.reboot_required, false);
  t.equal(v.kernel, '6.1.0-31-amd64', 'runs the kernel the upgrade installed');

  const job = await f.d.get(`/jobs/${done[0].job_id}`);
  t.equal(job.body.state, 'succeeded');
});

t.test('reboot never comes back: failed with REBOOT_TIMEOUT after the deadline', async (t) => {
  const host = await waitForState(f.d, NEVER, 'failed', 30_000);
  t.same(f.events.states(NEVER), [...UP_TO_WAITING, 'waiting_reboot->rebooting', 'rebooting->failed']);
  t.equal(host.failed.code, 'REBOOT_TIMEOUT');
  t.equal(host.failed.previous_state, 'rebooting');
  t.match(host.failed.error, /did not come back within 4s/);
  const failedAt = f.events.of(NEVER, 'HostStateChanged').find((e) => e.to === 'failed');
  const rebootAt = f.events.of(NEVER, 'HostStateChanged').find((e) => e.to === 'rebooting');
  const waited = Date.parse(failedAt.ts) - Date.parse(rebootAt.ts);
  t.ok(waited >= 4000 && waited < 9000, `failed ${waited} ms after the reboot began (deadline 4 s)`);
  const v = await f.view(NEVER);
  t.equal(v.dead, true);
  t.equal(v.counters.reboots, 1);
  t.equal(v.counters.commands['systemctl reboot || reboot'], 1);
  t.equal(host.last_updated, null, 'not counted as updated');
});

t.test('comes back with the same boot id: failed with VERIFY_FAILED', async (t) => {
  const host = await waitForState(f.d, SAME, 'failed', 30_000);
  t.same(f.events.states(SAME), [...UP_TO_WAITING, 'waiting_reboot->rebooting', 'rebooting->verifying', 'verifying->failed']);
  t.equal(host.failed.code, 'VERIFY_FAILED');
  t.equal(host.failed.previous_state, 'verifying');
  const v = await f.view(SAME);
  t.equal(v.boot_id, before.get(SAME)!.boot, 'the simulator kept the boot id');
  t.match(host.failed.error, `without a new boot id (still ${v.boot_id})`);
  t.equal(host.error, host.failed.error);
  t.equal(v.counters.reboots, 1);
});

t.test('dpkg lock held: failed with PACKAGE_MANAGER_LOCKED naming the holder', async (t) => {
  const host = await waitForState(f.d, LOCK, 'failed', 30_000);
  t.same(f.events.states(LOCK), ['idle->querying', 'querying->failed'], 'apt-get update fails on the lists lock');
  t.equal(host.failed.code, 'PACKAGE_MANAGER_LOCKED');
  t.match(host.failed.error, /is held by process 4242 \(apt-get\)/, 'names the process and its pid');
  t.match(host.failed.error, /\/var\/lib\/apt\/lists\/lock/);
  t.match(host.failed.error, /apt-get/);
  t.match(host.failed.error, /4242/);
  const v = await f.view(LOCK);
  t.equal(v.pending, 5, 'nothing was upgraded');
  t.equal(v.counters.reboots, 0);
});

t.test('once the lock is released, retry and a new update run the whole cycle', async (t) => {
  await f.sim.setFault([LOCK], 'lock', false);
  const retry = await f.d.request('POST', `/hosts/${LOCK}/retry`, {});
  t.equal(retry.status, 202);
  const idle = await waitForState(f.d, LOCK, 'idle');
  t.equal(idle.failed, null);
  const seen = f.events.states(LOCK).length;
  const u = await f.d.request('POST', `/hosts/${LOCK}/update`, {});
  t.equal(u.status, 202);
  const host = await waitForState(f.d, LOCK, 'idle', 20_000);
  t.same(f.events.states(LOCK).slice(seen), FULL_CYCLE);
  t.ok(host.last_updated);
  const v = await f.view(LOCK);
  t.equal(v.pending, 0);
  t.equal(v.counters.reboots, 1);
});

t.test('dpkg error during the upgrade: failed with the dpkg error, UpdateCompleted success=false', async (t) => {
  const host = await waitForState(f.d, FAIL, 'failed', 30_000);
  t.same(f.events.states(FAIL), ['idle->querying', 'querying->pending_updates', 'pending_updates->updating', 'updating->failed']);
  const last = before.get(FAIL)!.pkgs.at(-1)!;
  t.equal(host.failed.code, 'PKG_COMMAND_FAILED');
  t.match(host.failed.error, /dpkg could not process/);
  t.match(host.failed.error, last, 'names the package dpkg failed on');
  const done = f.events.of(FAIL, 'UpdateCompleted');
  t.equal(done.length, 1);
  t.equal(done[0].result.success, false);
  t.equal(done[0].result.error, host.failed.error);
  t.equal(done[0].result.error_code, host.failed.code);
  t.equal(host.last_updated, null);
  const v = await f.view(FAIL);
  t.equal(v.counters.reboots, 0, 'no reboot after a failed upgrade');
});

t.test('auto_reboot = false waits in waiting_reboot until POST /reboot', async (t) => {
  const waiting = await waitForState(f.d, MANUAL, 'waiting_reboot', 30_000);
  t.same(f.events.states(MANUAL), UP_TO_WAITING);
  t.equal(waiting.pending_updates, 0);
  t.equal(waiting.last_updated, null);
  // Stays there: give it time a reboot would have needed.
  await new Promise((r) => setTimeout(r, 1500));
  const still = await f.d.get(`/hosts/${MANUAL}`);
  t.equal(still.body.state, 'waiting_reboot');
  let v = await f.view(MANUAL);
  t.equal(v.counters.reboots, 0, 'no reboot was sent');
  t.equal(v.reboot_required, true);

  const r = await f.d.request('POST', `/hosts/${MANUAL}/reboot`, {});
  t.equal(r.status, 202);
  t.match(r.body.job_id, /\S/);
  const host = await waitForState(f.d, MANUAL, 'idle', 20_000);
  t.same(f.events.states(MANUAL), FULL_CYCLE);
  t.ok(host.last_updated, 'last_updated set after the verified reboot');
  v = await f.view(MANUAL);
  t.not(v.boot_id, before.get(MANUAL)!.boot);
  t.equal(v.counters.reboots, 1);
  t.equal(v.counters.commands['systemctl reboot || reboot'], 1);
  const job = await f.d.get(`/jobs/${r.body.job_id}`);
  t.equal(job.body.kind, 'reboot');
  t.equal(job.body.state, 'succeeded');
});

t.test('a reboot is refused when nothing waits for one', async (t) => {
  const r = await f.d.request('POST', `/hosts/${OK}/reboot`, {});
  t.equal(r.status, 409);
  t.match(r.body.message, /idle/);
});
