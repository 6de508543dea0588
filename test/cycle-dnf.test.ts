// The whole update cycle of Fedora (dnf) hosts of the fleet simulator through
// the daemon's HTTP API and WebSocket, and its dnf-specific failures: another
// dnf holding the lock (dnf waits for it: the command times out and the host
// fails with PACKAGE_MANAGER_LOCKED naming the pid), and a failed transaction test.
import t from 'tap';
import { FULL_CYCLE, startCycleFleet, UP_TO_WAITING, waitForState, type CycleFleet } from './helpers/fleet-cycle.js';

const OK = 'sim-00001';
const LOCK = 'sim-00002';
const FAIL = 'sim-00003';
const MANUAL = 'sim-00004';

let f: CycleFleet;
let started: number;
const before = new Map<string, { pkgs: string[]; boot: string; kernel: string }>();

t.before(async () => {
  f = await startCycleFleet({
    sim: {
      hosts: 4,
      mix: { fedora: 1 },
      pending: 4,
      faults: [`lock=${LOCK}`, `upgrade-fail=${FAIL}`],
    },
    hostExtra: (h) => (h.name === MANUAL ? '[host.policy]\nauto_reboot = false\n' : ''),
    // dnf waits for a lock holder forever: the command timeout ends it.
    operations: { reboot_poll_s: 0.2, reboot_deadline_s: 5, command_timeout_s: 3 },
  });
  for (const name of [OK, LOCK, FAIL, MANUAL]) {
    const v = await f.view(name);
    before.set(name, { pkgs: v.pending_packages, boot: v.boot_id, kernel: v.kernel });
  }
  started = Date.now();
  for (const name of [OK, LOCK, FAIL, MANUAL]) {
    const r = await f.d.request('POST', `/hosts/${name}/update`, {});
    if (r.status !== 202) throw new Error(`update ${name}: ${r.status} ${r.text}`);
  }
});
t.teardown(() => f?.stop());

t.test('dnf: the full cycle ends idle with a new boot id and kernel, after exactly one reboot', async (t) => {
  const host = await waitForState(f.d, OK, 'idle', 30_000);
  t.same(f.events.states(OK), FULL_CYCLE, 'the exact HostStateChanged sequence');

  const pkgs = before.get(OK)!.pkgs;
  t.equal(pkgs.length, 4);
  const progress = f.events.of(OK, 'UpdateProgress').map((e) => `${e.package}:${e.progress}`);
  t.same(
    progress,
    [
      ...pkgs.map((p) => `${p}:upgrading`),
      ...pkgs.map((p) => `${p}:cleanup`),
      ...pkgs.map((p) => `${p}:verifying`),
      ...pkgs.map((p) => `${p}:verifying`),
    ],
    'one UpdateProgress per rpm transaction step, in order',
  );

  const done = f.events.of(OK, 'UpdateCompleted');
  t.equal(done.length, 1);
  const res = done[0].result;
  t.equal(res.success, true);
  t.equal(res.upgraded, 4);
  t.equal(res.new, 0);
  t.equal(res.removed, 0);
  t.equal(res.reboot_required, true);
  t.same(res.reboot_packages, pkgs, 'needs-restarting names the updated packages');
  t.same(res.packages.map((p: any) => p.name), pkgs);
  for (const p of res.packages) {
    t.ok(p.current_version && p.new_version && p.current_version !== p.new_version, `${p.name} ${p.current_version} → ${p.new_version}`);
    t.equal(p.repository, 'updates');
  }

  t.equal(host.package_manager, 'dnf');
  t.equal(host.pending_updates, 0);
  t.equal(host.failed, null);
  t.ok(Date.parse(host.last_updated) >= started - 1000, `last_updated is set (${host.last_updated})`);

  const v = await f.view(OK);
  t.not(v.boot_id, before.get(OK)!.boot, 'new boot id');
  t.equal(v.kernel, '6.11.9-100.fc39.x86_64', 'booted the kernel the upgrade installed');
  t.equal(v.counters.reboots, 1);
  t.equal(v.counters.commands['systemctl reboot || reboot'], 1, 'the reboot command was sent exactly once');
  t.equal(v.counters.commands['LANG=C LC_ALL=C dnf -y upgrade'], 1);
  t.ok((v.counters.commands['LANG=C LC_ALL=C dnf needs-restarting -r'] ?? 0) >= 2, 'asked needs-restarting after the upgrade and after the reboot');
  t.equal(v.pending, 0);
  t.equal(v.reboot_required, false);
});

t.test('another dnf holds the lock: failed with PACKAGE_MANAGER_LOCKED naming its pid', async (t) => {
  const host = await waitForState(f.d, LOCK, 'failed', 30_000);
  t.same(f.events.states(LOCK), ['idle->querying', 'querying->pending_updates', 'pending_updates->updating', 'updating->failed']);
  t.equal(host.failed.code, 'PACKAGE_MANAGER_LOCKED');
  t.equal(host.failed.error, 'package manager is locked by process 4242', 'names the pid dnf waited for');
  const done = f.events.of(LOCK, 'UpdateCompleted');
  t.equal(done.length, 1);
  t.equal(done[0].result.success, false);
  t.equal(done[0].result.error_code, 'PACKAGE_MANAGER_LOCKED');
  const v = await f.view(LOCK);
  t.equal(v.pending, 4, 'nothing was upgraded');
  t.equal(v.counters.reboots, 0);
});

t.test('rpm transaction test error: failed with the dnf error, UpdateCompleted success=false', async (t) => {
  const host = await waitForState(f.d, FAIL, 'failed', 30_000);
  t.same(f.events.states(FAIL), ['idle->querying', 'querying->pending_updates', 'pending_updates->updating', 'updating->failed']);
  const last = before.get(FAIL)!.pkgs.at(-1)!;
  t.equal(host.failed.code, 'PKG_COMMAND_FAILED');
  t.match(host.failed.error, /^dnf failed: file \/usr\/share\/doc\//);
  t.match(host.failed.error, `conflicts with file from package ${last}-compat`);
  const done = f.events.of(FAIL, 'UpdateCompleted');
  t.equal(done.length, 1);
  t.equal(done[0].result.success, false);
  t.equal(done[0].result.error, host.failed.error);
  const v = await f.view(FAIL);
  t.equal(v.pending, 4, 'the transaction changed nothing');
  t.equal(v.counters.reboots, 0);
});

t.test('auto_reboot = false: waits for POST /reboot, then reboots and verifies', async (t) => {
  await waitForState(f.d, MANUAL, 'waiting_reboot', 30_000);
  t.same(f.events.states(MANUAL), UP_TO_WAITING);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal((await f.d.get(`/hosts/${MANUAL}`)).body.state, 'waiting_reboot');
  t.equal((await f.view(MANUAL)).counters.reboots, 0);
  const r = await f.d.request('POST', `/hosts/${MANUAL}/reboot`, {});
  t.equal(r.status, 202);
  const host = await waitForState(f.d, MANUAL, 'idle', 20_000);
  t.same(f.events.states(MANUAL), FULL_CYCLE);
  t.ok(host.last_updated);
  const v = await f.view(MANUAL);
  t.not(v.boot_id, before.get(MANUAL)!.boot);
  t.equal(v.counters.reboots, 1);
});
