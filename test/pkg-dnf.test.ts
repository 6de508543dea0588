// dnf/yum parsers against every captured dnf output, and the driver against
// replayed captures (exit codes as the real dnf 4.14 gave them).
import t from 'tap';
import { TendhostError } from '../common/errors.js';
import { execResult as result, fixture, rejectsWith, replayExecutor } from './helpers/exec.js';
import { CMD } from '../workers/pkg/commands.js';
import { DnfDriver } from '../workers/pkg/dnf.js';
import {
  cleanedUpVersions,
  parseCheckUpdate,
  parseDnfProgressLine,
  parseDnfTransaction,
  parseKernelCheck,
  parseNeedsRestarting,
  splitNevra,
} from '../workers/pkg/dnf-parse.js';
import { splitLines } from '../workers/pkg/run.js';


const replay = (answers: Parameters<typeof replayExecutor>[0]) => replayExecutor(answers, 11);

const CTX = { timeoutMs: 60_000, maxOutputBytes: 1 << 20 };
const FIXTURE_PKG = {
  name: 'tendhost-fixture',
  current_version: null,
  new_version: '1.1-1',
  arch: 'noarch',
  repository: 'tendhost-local',
  kind: 'system',
};

t.test('check-update: plain, --refresh, -q, --security all list the one update', async (t) => {
  for (const name of ['01-dnf-check-update', '01b-dnf-check-update-refresh', '01c-dnf-q-check-update', '01d-dnf-check-update-security']) {
    const c = fixture(`dnf/${name}`);
    t.equal(c.exit, 100, `${name} exits 100`);
    t.strictSame(parseCheckUpdate(c.stdout), [FIXTURE_PKG], name);
  }
  // list --upgrades prints the same rows under a heading
  t.strictSame(parseCheckUpdate(fixture('dnf/02-dnf-list-upgrades').stdout), [FIXTURE_PKG]);
  t.strictSame(parseCheckUpdate(fixture('dnf/02b-dnf-q-list-upgrades').stdout), [FIXTURE_PKG]);
  for (const none of ['06-dnf-check-update-after', '06b-dnf-list-upgrades-after', '08-dnf-check-update-repo-missing', '08b-dnf-check-update-repo-missing-skip-unavailable']) {
    t.strictSame(parseCheckUpdate(fixture(`dnf/${none}`).stdout), [], none);
  }
  // updateinfo output is not a package table
  for (const name of ['03-dnf-updateinfo', '03b-dnf-updateinfo-list', '03c-dnf-updateinfo-info']) {
    t.strictSame(parseCheckUpdate(fixture(`dnf/${name}`).stdout), [], name);
  }
  // Debian's plugin noise (the _dnf_local speed line, "New leaves:") is not a package row.
  t.strictSame(parseCheckUpdate(fixture('dnf/debian-artifacts/install-1.0-with-debian-local-and-show-leaves-plugins').stdout), []);
});

t.test('check-update: wrapped rows, epochs, noise lines and the obsoletes section', async (t) => {
  const out =
    '\n' +
    'Last metadata expiration check: 0:12:01 ago on Mon Jan  1 10:00:00 2024.\n' +
    '\n' +
    'NetworkManager-libnm-devel-with-a-long-name.x86_64\n' +
    '                        1:1.42.2-8.el9                          baseos\n' +
    'kernel-core.x86_64      5.14.0-362.13.1.el9_3                   baseos\n' +
    'grub2-tools.x86_64      1:2.06-70.el9_3.1\n' +
    '                                                                baseos\n' +
    'Security: kernel-core-5.14.0-362.13.1.el9_3.x86_64 is an installed security update\n' +
    'Obsoleting Packages\n' +
    'grub2-tools.x86_64      1:2.06-70.el9_3.1                       baseos\n' +
    '    grub2-tools.x86_64  1:2.06-61.el9                           @anaconda\n' +
    'python3-newname.noarch  2.0-1.el9                               appstream\n' +
    '    python3-oldname.noarch  1.0-1.el9                           @appstream\n';
  t.strictSame(
    parseCheckUpdate(out).map((p) => [p.name, p.arch, p.new_version, p.repository]),
    [
      ['NetworkManager-libnm-devel-with-a-long-name', 'x86_64', '1:1.42.2-8.el9', 'baseos'],
      ['kernel-core', 'x86_64', '5.14.0-362.13.1.el9_3', 'baseos'],
      ['grub2-tools', 'x86_64', '1:2.06-70.el9_3.1', 'baseos'],
      ['python3-newname', 'noarch', '2.0-1.el9', 'appstream'],
    ],
  );
});

t.test('transaction tables: --assumeno, -y, nothing to do, an install with plugin noise', async (t) => {
  for (const name of ['04-dnf-upgrade-assumeno', '05-dnf-upgrade-y']) {
    const tx = parseDnfTransaction(fixture(`dnf/${name}`).stdout);
    t.strictSame(tx.packages, [FIXTURE_PKG], name);
    t.equal(tx.upgraded, 1, name);
    t.equal(tx.installed, 0, name);
    t.equal(tx.removed, 0, name);
    t.strictSame(tx.summary, { upgrade: 1, install: 0, remove: 0, downgrade: 0, reinstall: 0 }, `${name}: "Upgrade  1 Package"`);
    t.equal(tx.nothingToDo, false);
  }
  const none = parseDnfTransaction(fixture('dnf/06c-dnf-upgrade-y-nothing-to-do').stdout);
  t.strictSame(none, { packages: [], upgraded: 0, installed: 0, removed: 0, nothingToDo: true, summary: null });
  for (const name of ['dnf/00-dnf-install-1.0', 'dnf/debian-artifacts/install-1.0-with-debian-local-and-show-leaves-plugins']) {
    const tx = parseDnfTransaction(fixture(name).stdout);
    t.strictSame(tx.packages, [{ ...FIXTURE_PKG, new_version: '1.0-1' }], name);
    t.equal(tx.installed, 1, name);
    t.equal(tx.upgraded, 0, name);
  }
});

t.test('transaction tables: dependencies, removals, wrapped names, replacing lines (dnf 4 and 5)', async (t) => {
  const dnf4 =
    'Dependencies resolved.\n' +
    '================================================================================\n' +
    ' Package                 Arch       Version               Repository     Size\n' +
    '================================================================================\n' +
    'Installing:\n' +
    ' kernel-core             x86_64     6.11.9-100.fc39       updates        17 M\n' +
    'Upgrading:\n' +
    ' openssl-libs            x86_64     1:3.1.4-4.fc39        updates       2.2 M\n' +
    ' python3-a-package-with-a-really-long-name-indeed\n' +
    '                         noarch     2.1-1.fc39            updates        50 k\n' +
    ' newtool                 noarch     2.0-1.fc39            updates        10 k\n' +
    '     replacing  oldtool.noarch 1.5-3.fc39\n' +
    'Installing dependencies:\n' +
    ' libfoo                  x86_64     1.0-1.fc39            updates        30 k\n' +
    'Removing:\n' +
    ' kernel-core             x86_64     6.5.6-300.fc39        @anaconda      60 M\n' +
    'Skipping packages with conflicts:\n' +
    ' conflicted              x86_64     9.9-1.fc39            updates        10 k\n' +
    '\n' +
    'Transaction Summary\n' +
    '================================================================================\n' +
    'Install  2 Packages\n' +
    'Upgrade  3 Packages\n' +
    'Remove   1 Package\n' +
    '\n' +
    'Total download size: 19 M\n';
  const tx = parseDnfTransaction(dnf4);
  t.strictSame(
    tx.packages.map((p) => [p.name, p.arch, p.current_version, p.new_version, p.repository]),
    [
      ['kernel-core', 'x86_64', null, '6.11.9-100.fc39', 'updates'],
      ['openssl-libs', 'x86_64', null, '1:3.1.4-4.fc39', 'updates'],
      ['python3-a-package-with-a-really-long-name-indeed', 'noarch', null, '2.1-1.fc39', 'updates'],
      ['newtool', 'noarch', null, '2.0-1.fc39', 'updates'],
      ['libfoo', 'x86_64', null, '1.0-1.fc39', 'updates'],
    ],
  );
  t.strictSame([tx.upgraded, tx.installed, tx.removed], [3, 2, 1]);

  const dnf5 =
    'Package                Arch    Version          Repository      Size\n' +
    'Upgrading:\n' +
    ' tendhost-fixture      noarch  1.1-1            tendhost-local  6.2 KiB\n' +
    '   replacing tendhost-fixture noarch 1.0-1      @System         23.0   B\n' +
    '\n' +
    'Transaction Summary:\n' +
    ' Upgrading:          1 package\n' +
    ' Replacing:          1 package\n' +
    '\n' +
    'Total size of inbound packages is 6 KiB. Need to download 0 B.\n';
  const tx5 = parseDnfTransaction(dnf5);
  t.strictSame(tx5.packages, [{ ...FIXTURE_PKG, current_version: '1.0-1' }]);
  t.strictSame([tx5.upgraded, tx5.installed, tx5.removed], [1, 0, 0]);
});

t.test('progress lines of dnf upgrade -y and the versions Cleanup names', async (t) => {
  const out = fixture('dnf/05-dnf-upgrade-y').stdout;
  const steps = splitLines(out)
    .map(parseDnfProgressLine)
    .filter((p) => p !== null)
    .map((p) => [p.pkg, p.progress, p.nevra.version]);
  t.strictSame(steps, [
    ['tendhost-fixture', 'upgrading', '1.1-1'],
    ['tendhost-fixture', 'cleanup', '1.0-1'],
    ['tendhost-fixture', 'verifying', '1.1-1'],
    ['tendhost-fixture', 'verifying', '1.0-1'],
  ]);
  t.strictSame([...cleanedUpVersions(out)], [['tendhost-fixture.noarch', '1.0-1']]);
  t.strictSame(
    splitLines(fixture('dnf/00-dnf-install-1.0').stdout)
      .map(parseDnfProgressLine)
      .filter((p) => p !== null)
      .map((p) => p.progress),
    ['installing', 'verifying'],
    '"Preparing" has no package',
  );
  t.strictSame(splitNevra(fixture('dnf/06d-rpm-q-after').stdout.trim()), { name: 'tendhost-fixture', version: '1.1-1', arch: 'noarch' }, 'rpm -q after the upgrade');
  t.strictSame(splitNevra('openssl-libs-1:3.1.4-4.fc39.x86_64'), { name: 'openssl-libs', version: '1:3.1.4-4.fc39', arch: 'x86_64' });
  t.strictSame(splitNevra('kernel-core-6.11.9-100.fc39.x86_64'), { name: 'kernel-core', version: '6.11.9-100.fc39', arch: 'x86_64' });
});

t.test('needs-restarting -r and the kernel fallback', async (t) => {
  const no = fixture('dnf/07-dnf-needs-restarting-r');
  t.strictSame(parseNeedsRestarting(no.stdout, no.exit), { required: false, packages: [] });
  const yes = fixture('dnf/07c-dnf-needs-restarting-r-with-fixture-in-needs-restarting.d');
  t.strictSame(parseNeedsRestarting(yes.stdout, yes.exit), { required: true, packages: ['tendhost-fixture'] });
  const missing = fixture('dnf/07b-needs-restarting-r-cmd');
  t.equal(parseNeedsRestarting(missing.stdout, missing.exit), null, 'exit 127 is inconclusive');
  t.equal(parseNeedsRestarting('', 1), null, 'dnf without the plugin also exits 1: inconclusive');

  t.strictSame(parseKernelCheck('kernel-core-6.11.9-100.fc39.x86_64             Sat 28 Nov 2026 01:39:34 AM UTC\n--\n6.5.6-300.fc39.x86_64\n'), {
    required: true,
    packages: ['kernel-core'],
  });
  t.strictSame(parseKernelCheck('kernel-core-6.5.6-300.fc39.x86_64             Sat 28 Nov 2026 01:39:34 AM UTC\n--\n6.5.6-300.fc39.x86_64\n'), {
    required: false,
    packages: [],
  });
  t.strictSame(parseKernelCheck('kernel-3.10.0-1160.119.1.el7.x86_64   Mon 01 Jan 2024\npackage kernel-core is not installed\n--\n3.10.0-1160.119.1.el7.x86_64\n'), {
    required: false,
    packages: [],
  });
  t.strictSame(parseKernelCheck('--\n6.5.6-300.fc39.x86_64\n'), { required: false, packages: [] }, 'no kernel package (container): no reboot');
});

t.test('driver listPending: exit 100 lists, 0 is none, 1 is an error', async (t) => {
  const dnf = new DnfDriver('dnf');
  const cmd = CMD.rpmCheckUpdate('dnf');
  t.strictSame(await dnf.listPending(replay({ [cmd]: result(fixture('dnf/01c-dnf-q-check-update')) }).exec, CTX), [FIXTURE_PKG]);
  t.strictSame(await dnf.listPending(replay({ [cmd]: result(fixture('dnf/06-dnf-check-update-after')) }).exec, CTX), []);
  const err = await rejectsWith(t, dnf.listPending(replay({ [cmd]: result(fixture('dnf/08-dnf-check-update-repo-missing')) }).exec, CTX), 'PKG_REPO_UNREACHABLE');
  t.match(err.message, /tendhost-local/);
  // skip_if_unavailable=True: dnf decided the missing repo is fine, and so do we.
  t.strictSame(await dnf.listPending(replay({ [cmd]: result(fixture('dnf/08b-dnf-check-update-repo-missing-skip-unavailable')) }).exec, CTX), []);
  const { exec, calls } = replay({ [CMD.rpmCheckUpdate('yum')]: result(fixture('dnf/01c-dnf-q-check-update')) });
  t.strictSame(await new DnfDriver('yum').listPending(exec, CTX), [FIXTURE_PKG]);
  t.equal(calls[0].command, 'LANG=C LC_ALL=C yum -q check-update');
  t.equal(calls[0].opts.root, false);
});

t.test('driver upgrade: dry run (exit 1 "Operation aborted." is success), real run with progress', async (t) => {
  const dnf = new DnfDriver('dnf');
  const dry = replay({ [CMD.rpmUpgradeDryRun('dnf')]: result(fixture('dnf/04-dnf-upgrade-assumeno')) });
  const progress: string[] = [];
  const plan = await dnf.upgrade(dry.exec, { ...CTX, dryRun: true, onProgress: (p, s) => progress.push(`${p} ${s}`) });
  t.strictSame(plan, { upgraded: 1, new: 0, removed: 0, packages: [FIXTURE_PKG] });
  t.strictSame(progress, []);
  t.equal(dry.calls[0].opts.root, true, 'dnf resolves a transaction only as root');

  const nothing = replay({ [CMD.rpmUpgradeDryRun('dnf')]: result(fixture('dnf/06c-dnf-upgrade-y-nothing-to-do')) });
  t.strictSame(await dnf.upgrade(nothing.exec, { ...CTX, dryRun: true, onProgress: () => {} }), { upgraded: 0, new: 0, removed: 0, packages: [] });

  const denied = replay({
    [CMD.rpmUpgradeDryRun('dnf')]: result({ exit: 1, stderr: 'Error: This command has to be run with superuser privileges (under the root user on most systems).\n' }),
  });
  await rejectsWith(t, dnf.upgrade(denied.exec, { ...CTX, dryRun: true, onProgress: () => {} }), 'PKG_PERMISSION_DENIED');

  const real = replay({ [CMD.rpmUpgrade('dnf')]: result(fixture('dnf/05-dnf-upgrade-y')) });
  const out = await dnf.upgrade(real.exec, { ...CTX, dryRun: false, onProgress: (p, s) => progress.push(`${p} ${s}`) });
  t.strictSame(out, { upgraded: 1, new: 0, removed: 0, packages: [{ ...FIXTURE_PKG, current_version: '1.0-1' }] });
  t.strictSame(progress, ['tendhost-fixture upgrading', 'tendhost-fixture cleanup', 'tendhost-fixture verifying', 'tendhost-fixture verifying']);
  t.equal(real.calls[0].opts.root, true);

  // dnf waits for another dnf forever; the timeout shows what it was waiting for.
  const locked = replay({ [CMD.rpmUpgrade('dnf')]: result({ exit: null as unknown as number, timedOut: true, stdout: 'Waiting for process with pid 4242 to finish.\n' }) });
  const err = await rejectsWith(t, dnf.upgrade(locked.exec, { ...CTX, dryRun: false, onProgress: () => {} }), 'PACKAGE_MANAGER_LOCKED');
  t.equal(err.details?.pid, 4242);
});

t.test('driver rebootRequired: needs-restarting, then the kernel fallback', async (t) => {
  const nr = CMD.rpmNeedsRestarting('dnf');
  const kernel = 'kernel-core-6.11.9-100.fc39.x86_64             Sat 28 Nov 2026 01:39:34 AM UTC\n--\n6.5.6-300.fc39.x86_64\n';
  const dnf = new DnfDriver('dnf');
  t.strictSame(await dnf.rebootRequired(replay({ [nr]: result(fixture('dnf/07-dnf-needs-restarting-r')) }).exec, CTX), { required: false, packages: [] });
  t.strictSame(
    await dnf.rebootRequired(replay({ [nr]: result(fixture('dnf/07c-dnf-needs-restarting-r-with-fixture-in-needs-restarting.d')) }).exec, CTX),
    { required: true, packages: ['tendhost-fixture'] },
  );
  const missing = replay({
    [nr]: result({ exit: 1, stderr: 'No such command: needs-restarting. Please use /usr/bin/dnf --help\n' }),
    [CMD.rpmKernelCheck]: result({ stdout: kernel }),
  });
  t.strictSame(await dnf.rebootRequired(missing.exec, CTX), { required: true, packages: ['kernel-core'] });
  t.strictSame(missing.calls.map((c) => c.command), [nr, CMD.rpmKernelCheck]);

  // yum without yum-utils: straight to the kernel check.
  const yum = replay({ [CMD.rpmKernelCheck]: result({ stdout: kernel.replace('6.11.9-100', '6.5.6-300') }) });
  t.strictSame(await new DnfDriver('yum', { needsRestarting: false }).rebootRequired(yum.exec, CTX), { required: false, packages: [] });
  t.strictSame(yum.calls.map((c) => c.command), [CMD.rpmKernelCheck]);
  const yumNr = replay({ [CMD.rpmNeedsRestarting('yum')]: result(fixture('dnf/07b-needs-restarting-r-cmd')), [CMD.rpmKernelCheck]: result({ stdout: kernel }) });
  t.strictSame(await new DnfDriver('yum', { needsRestarting: true }).rebootRequired(yumNr.exec, CTX), { required: true, packages: ['kernel-core'] });
  t.equal(yumNr.calls[0].command, 'LANG=C LC_ALL=C needs-restarting -r');
});
