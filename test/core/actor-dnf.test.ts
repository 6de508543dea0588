// The actor on a dnf host, answered with the captured dnf outputs
// (test/fixtures/dnf): the whole update cycle with needs-restarting asking for
// a reboot, a dry run through --assumeno, and a lock another transaction holds,
// which dnf would wait for without end and the daemon gives up on after
// lock_timeout_s (fake clock).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { CMD } from '../../workers/pkg/commands.js';
import { ActorRig, fakeClock, resolvedHost } from './actor-harness.js';
import type { Reply } from './scripted-executor.js';
import { FULL_CYCLE } from '../helpers/full-cycle.js';

/** A captured run: its stdout, stderr and exit code. */
function fixture(name: string): Reply {
  const read = (ext: string) => readFileSync(new URL(`../fixtures/dnf/${name}.${ext}`, import.meta.url), 'utf8');
  return { stdout: read('stdout'), stderr: read('stderr'), exitCode: Number(read('exit').trim()) };
}

const NEEDS_REBOOT: Reply = { exitCode: 1, stdout: 'Core libraries or services have been updated since boot-up:\n  * kernel\n\nReboot is required to fully utilize these updates.\n' };

function dnfHost(policy: Parameters<typeof resolvedHost>[1] = {}): ActorRig {
  const rig = new ActorRig(resolvedHost({}, policy));
  let upgraded = false;
  rig.exec.on(CMD.osRelease, { stdout: 'NAME="Fedora Linux"\nVERSION_ID=39\nID=fedora\nPRETTY_NAME="Fedora Linux 39"\n' });
  rig.exec.on(CMD.detectTools, { stdout: '/usr/bin/dnf\n/usr/bin/yum\n' });
  rig.exec.on(CMD.rpmCheckUpdate('dnf'), () => (upgraded ? { exitCode: 0 } : fixture('01c-dnf-q-check-update')));
  rig.exec.on(CMD.rpmUpgradeDryRun('dnf'), fixture('04-dnf-upgrade-assumeno'));
  rig.exec.on(CMD.rpmUpgrade('dnf'), () => {
    upgraded = true;
    return fixture('05-dnf-upgrade-y');
  });
  rig.exec.on(CMD.rpmNeedsRestarting('dnf'), () => (upgraded && rig.exec.host.boots === 1 ? NEEDS_REBOOT : fixture('07-dnf-needs-restarting-r')));
  return rig;
}

t.test('dnf: the whole cycle, needs-restarting asks for the reboot, verified after it', async (t) => {
  const clock = fakeClock('2026-03-02T10:00:00Z');
  t.teardown(clock.restore);
  const rig = dnfHost({ auto_reboot: true });
  const r = await rig.job({ kind: 'update', dry_run: false }, true);
  t.match(r, { success: true, state: 'idle' });
  t.same(rig.edges(), FULL_CYCLE);
  t.match(rig.lastStatus(), { package_manager: 'dnf', pending_updates: 0, last_updated: String });
  const done = rig.events().find((e) => e.type === 'UpdateCompleted');
  t.match(done, { result: { upgraded: 1, reboot_required: true, packages: [{ name: 'tendhost-fixture', current_version: '1.0-1', new_version: '1.1-1' }] } });
  t.same(rig.exec.unscripted, []);
});

t.test('dnf: a dry run resolves the transaction with --assumeno and changes nothing', async (t) => {
  const rig = dnfHost();
  const r = await rig.job({ kind: 'update', dry_run: true });
  t.match(r, { success: true, state: 'idle' });
  t.notOk(rig.exec.ran.includes(CMD.rpmUpgrade('dnf')));
  t.match(rig.events().find((e) => e.type === 'UpdateCompleted'), { result: { dry_run: true, packages: [{ name: 'tendhost-fixture' }] } });
  t.same(rig.exec.unscripted, []);
});

t.test('dnf waiting for another transaction’s lock is given up after lock_timeout_s, naming the holder', async (t) => {
  const clock = fakeClock('2026-03-02T10:00:00Z');
  t.teardown(clock.restore);
  const rig = dnfHost();
  const t0 = Date.now();
  rig.exec.on(CMD.rpmUpgrade('dnf'), (_c, opts) => {
    opts.onStdout?.('Waiting for process with pid 4711 to finish.\n');
    // dnf waits as long as the holder runs: only the daemon's kill ends it.
    return new Promise<Reply>((resolve) => opts.signal?.addEventListener('abort', () => resolve({ exitCode: null, signal: 'SIGKILL', stdout: 'Waiting for process with pid 4711 to finish.\n' })));
  });
  const r = await rig.job({ kind: 'update', dry_run: false }, true);
  t.match(r, { success: false, code: 'PACKAGE_MANAGER_LOCKED', error: 'package manager is locked by process 4711: gave up after waiting 300 s (lock_timeout_s)' });
  t.equal(Date.now() - t0, 300_000, 'given up exactly at lock_timeout_s (fake clock)');
  t.match(rig.lastStatus().failed, { previous_state: 'updating' });
});
