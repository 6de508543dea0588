// apt parsers against every captured apt output, the driver against replayed
// captures, and the simulation parser against this machine's real apt-get.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { TendhostError } from '../common/errors.js';
import { execResult as result, fixture, recordingLocalExecutor, rejectsWith, replayExecutor as replay } from './helpers/exec.js';
import { AptDriver } from '../workers/pkg/apt.js';
import {
  parseAptListUpgradable,
  parseAptProgressLine,
  parseAptRebootRequired,
  parseAptSimulation,
  parseAptSummary,
  parseAptUpdateProblems,
  parseAptUpgradeOutput,
} from '../workers/pkg/apt-parse.js';
import { CMD } from '../workers/pkg/commands.js';
import { lineSplitter, splitLines } from '../workers/pkg/run.js';

const { exec: local } = recordingLocalExecutor();

const CTX = { timeoutMs: 120_000, maxOutputBytes: 8 * 1024 * 1024 };

t.test('simulations of the Debian 12 machine: 137 upgrades, every one with versions, arch and origin', async (t) => {
  for (const name of ['get-s-upgrade', 'get-s-dist-upgrade', 'get-upgrade-simulate', 'LANG_C-get-s-nolocking-upgrade']) {
    const sim = parseAptSimulation(fixture(`apt/${name}`).stdout);
    t.strictSame(sim.summary, { upgraded: 137, newlyInstalled: 0, reinstalled: 0, downgraded: 0, removed: 0, notUpgraded: 0 }, name);
    t.equal(sim.packages.length, 137, `${name}: one package per Inst line`);
    t.equal(sim.packages.filter((p) => p.current_version !== null).length, sim.summary?.upgraded, `${name}: matches the summary`);
    t.equal(new Set(sim.packages.map((p) => p.name)).size, 137, `${name}: no duplicates`);
    t.strictSame(sim.removals, []);
    t.ok(sim.packages.every((p) => p.kind === 'system' && p.arch && p.repository), `${name}: all fields set`);
  }
  const sim = parseAptSimulation(fixture('apt/get-s-upgrade').stdout);
  const by = new Map(sim.packages.map((p) => [p.name, p]));
  t.strictSame(by.get('base-files'), {
    name: 'base-files',
    current_version: '12.4+deb12u11',
    new_version: '12.4+deb12u15',
    arch: 'amd64',
    repository: 'Debian:12.15/oldstable',
    kind: 'system',
  });
  // two origins, an epoch, trailing dependency notes, an `all` package
  t.equal(by.get('libgcrypt20')?.repository, 'Debian:12.15/oldstable, Debian-Security:12/oldstable-security');
  t.equal(by.get('libcap2')?.new_version, '1:2.66-4+deb12u3+b1');
  t.equal(by.get('libcap2')?.current_version, '1:2.66-4+deb12u2+b2');
  t.equal(by.get('libpam-modules-bin')?.new_version, '1.5.2-6+deb12u2');
  t.equal(by.get('libpam-runtime')?.arch, 'all');
  t.equal(by.get('liblzma5')?.repository, 'Debian-Security:12/oldstable-security');
});

t.test('apt list --upgradable: 137 upgrades, the same packages and versions as the simulation', async (t) => {
  const list = parseAptListUpgradable(fixture('apt/list-upgradable').stdout);
  t.equal(list.length, 137);
  t.strictSame(list[0], {
    name: 'appstream',
    current_version: '0.16.1-2',
    new_version: '0.16.1-2+b1',
    arch: 'amd64',
    repository: 'oldstable',
    kind: 'system',
  });
  t.equal(list.find((p) => p.name === 'apt')?.repository, 'oldstable-security');
  const sim = new Map(parseAptSimulation(fixture('apt/get-s-upgrade').stdout).packages.map((p) => [p.name, p]));
  t.ok(
    list.every((p) => sim.get(p.name)?.new_version === p.new_version && sim.get(p.name)?.current_version === p.current_version),
    'versions agree with the Inst lines',
  );
  t.strictSame(parseAptListUpgradable(fixture('apt-chroot/02-apt-list-upgradable').stdout), [
    { name: 'tendhost-fixture', current_version: '1.0', new_version: '1.1', arch: 'all', repository: 'local', kind: 'system' },
  ]);
  t.strictSame(parseAptListUpgradable(fixture('apt-chroot/07-apt-list-upgradable-after').stdout), []);
});

t.test('chroot simulations: the one fixture package, and nothing after the upgrade', async (t) => {
  const want = {
    name: 'tendhost-fixture',
    current_version: '1.0',
    new_version: '1.1',
    arch: 'all',
    repository: 'tendhost-fixtures:local',
    kind: 'system',
  };
  for (const name of ['03-apt-get-s-upgrade', '03b-LANG_C-apt-get-s-nolocking-upgrade', '03c-apt-get-s-dist-upgrade']) {
    const sim = parseAptSimulation(fixture(`apt-chroot/${name}`).stdout);
    t.strictSame(sim.packages, [want], name);
    t.equal(sim.summary?.upgraded, 1, name);
  }
  const after = parseAptSimulation(fixture('apt-chroot/07-apt-get-s-upgrade-after').stdout);
  t.strictSame(after.packages, []);
  t.strictSame(after.summary, { upgraded: 0, newlyInstalled: 0, reinstalled: 0, downgraded: 0, removed: 0, notUpgraded: 0 });
});

t.test('summary line variants and Inst/Remv forms apt prints elsewhere', async (t) => {
  t.strictSame(parseAptSummary('2 upgraded, 1 newly installed, 1 reinstalled, 3 downgraded, 4 to remove and 5 not upgraded.\n'), {
    upgraded: 2,
    newlyInstalled: 1,
    reinstalled: 1,
    downgraded: 3,
    removed: 4,
    notUpgraded: 5,
  });
  t.equal(parseAptSummary('Reading package lists...\n'), null);
  const sim = parseAptSimulation(
    'Inst linux-image-6.1.0-31-amd64 (6.1.128-1 Debian-Security:12/stable-security [amd64])\n' +
      'Inst libc6:i386 [2.36-9+deb12u8] (2.36-9+deb12u9 Debian:12.9/stable [i386])\n' +
      'Remv old-package [1.0]\n' +
      'Inst local-only [0.9] (1.0 [amd64])\n',
  );
  t.strictSame(
    sim.packages.map((p) => [p.name, p.current_version, p.new_version, p.arch, p.repository]),
    [
      ['linux-image-6.1.0-31-amd64', null, '6.1.128-1', 'amd64', 'Debian-Security:12/stable-security'],
      ['libc6', '2.36-9+deb12u8', '2.36-9+deb12u9', 'i386', 'Debian:12.9/stable'],
      ['local-only', '0.9', '1.0', 'amd64', null],
    ],
  );
  t.strictSame(sim.removals, ['old-package']);
});

t.test('progress of a real upgrade: pty form (CR, CRLF) and plain form give the same events', async (t) => {
  const events = (text: string) => splitLines(text).map(parseAptProgressLine).filter((p) => p !== null);
  const want = [
    { pkg: 'tendhost-fixture', progress: 'unpacking', version: '1.1', from: '1.0' },
    { pkg: 'tendhost-fixture', progress: 'setting up', version: '1.1', from: null },
  ];
  const pty = fixture('apt-chroot/05-apt-get-upgrade-y').stdout;
  t.ok(pty.includes('\r\n') && /\r[^\n]/.test(pty), 'the pty capture has CRLF and bare CR');
  t.strictSame(events(pty), want, '05 (pty)');
  t.strictSame(events(fixture('apt-chroot/05b-apt-get-upgrade-y-Dpkg-Use-Pty-0').stdout), want, '05b (plain)');
  t.strictSame(events(fixture('apt-chroot/04b3-apt-upgrade-y-WAITS-for-lock-then-upgrades-nodevpts').stdout), want, '04b3 (apt)');
  t.strictSame(events(fixture('apt-chroot/00-dpkg-i-1.0').stdout), [
    { pkg: 'tendhost-fixture', progress: 'unpacking', version: '1.0', from: null },
    { pkg: 'tendhost-fixture', progress: 'setting up', version: '1.0', from: null },
  ]);
  t.strictSame(events(fixture('apt-chroot/04c-reset-dpkg-i-downgrade-to-1.0').stdout)[0], {
    pkg: 'tendhost-fixture',
    progress: 'unpacking',
    version: '1.0',
    from: '1.1',
  });

  // Streamed in every chunk size, CRLF split across chunks included: same lines.
  const whole = splitLines(pty);
  for (const size of [1, 2, 3, 5, 64, 4096]) {
    const lines: string[] = [];
    const s = lineSplitter((l) => lines.push(l));
    for (let i = 0; i < pty.length; i += size) s.push(pty.slice(i, i + size));
    s.end();
    t.strictSame(lines, whole, `chunks of ${size}`);
  }
  t.notOk(whole.includes(''), 'CRLF is one line end, not two');
  t.ok(whole.includes('(Reading database ... 55%'), 'bare CR ends a progress redraw');

  const run = parseAptUpgradeOutput(pty);
  t.strictSame(run.packages, [
    { name: 'tendhost-fixture', current_version: '1.0', new_version: '1.1', arch: null, repository: null, kind: 'system' },
  ]);
  t.equal(run.summary?.upgraded, 1);
});

t.test('reboot-required: the command output with and without the flag file', async (t) => {
  // What CMD.aptRebootRequired prints in the state of fixture 05b/06: the flag, then the .pkgs file.
  const pkgs = fixture('apt-chroot/06-reboot-required.pkgs-cat').stdout;
  t.strictSame(parseAptRebootRequired('reboot-required\n' + pkgs), { required: true, packages: ['tendhost-fixture'] });
  t.strictSame(parseAptRebootRequired('reboot-required\nlinux-image-6.1.0-31-amd64\nlibc6\nlinux-image-6.1.0-31-amd64\n'), {
    required: true,
    packages: ['linux-image-6.1.0-31-amd64', 'libc6'],
  });
  t.strictSame(parseAptRebootRequired('reboot-required\n'), { required: true, packages: [] });
  t.strictSame(parseAptRebootRequired(''), { required: false, packages: [] });

  // And the real command on this machine agrees with the file system.
  const r = await new AptDriver().rebootRequired(local, CTX);
  t.equal(r.required, existsSync('/var/run/reboot-required'));
});

t.test('apt-get update: fetch failures are found in E: and W: lines alike', async (t) => {
  t.strictSame(parseAptUpdateProblems(fixture('apt-chroot/08-apt-get-update-missing-file-repo').stderr), {
    failed: [
      {
        url: 'file:/srv/does-not-exist/./Packages',
        reason: 'File not found - /srv/does-not-exist/./Packages (2: No such file or directory)',
      },
    ],
    indexFilesFailed: true,
  });
  const refused = parseAptUpdateProblems(fixture('apt-chroot/08c-apt-get-update-connection-refused').stderr);
  t.equal(refused.failed[0]?.url, 'http://127.0.0.1:9/debian/dists/bookworm/InRelease');
  t.match(refused.failed[0]?.reason, /Connection refused/);
  t.equal(refused.indexFilesFailed, true);
  for (const clean of ['apt/update', 'apt-chroot/01-apt-get-update', 'apt-chroot/09-apt-get-update-clean-again']) {
    t.strictSame(parseAptUpdateProblems(fixture(clean).stderr), { failed: [], indexFilesFailed: false }, clean);
  }
});

t.test('driver refresh: E: with exit 100 and W: with exit 0 are both PKG_REPO_UNREACHABLE', async (t) => {
  const apt = new AptDriver();
  for (const name of ['08-apt-get-update-missing-file-repo', '08b-apt-update-missing-file-repo', '08c-apt-get-update-connection-refused']) {
    const c = fixture(`apt-chroot/${name}`);
    const { exec, calls } = replay({ [CMD.aptRefresh]: result(c) });
    const err = await rejectsWith(t, apt.refresh(exec, CTX), 'PKG_REPO_UNREACHABLE');
    t.match(err.message, name.startsWith('08c') ? /127\.0\.0\.1:9/ : /does-not-exist/, name);
    t.equal(calls[0].opts.root, true, 'apt-get update runs as root');
  }
  t.equal(fixture('apt-chroot/08c-apt-get-update-connection-refused').exit, 0, 'the W: case really exits 0');
  for (const clean of ['apt/update', 'apt-chroot/01-apt-get-update', 'apt-chroot/09-apt-get-update-clean-again']) {
    const { exec } = replay({ [CMD.aptRefresh]: result(fixture(clean)) });
    await t.resolves(apt.refresh(exec, CTX), clean);
  }
  const { exec } = replay({
    [CMD.aptRefresh]: result({ exit: 100, stderr: 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 99 (apt-get)\n' }),
  });
  const locked = await rejectsWith(t, apt.refresh(exec, CTX), 'PACKAGE_MANAGER_LOCKED');
  t.equal(locked.details?.lock, '/var/lib/apt/lists/lock');
});

t.test('driver listPending and dry run: the simulation, without root', async (t) => {
  const apt = new AptDriver();
  const { exec, calls } = replay({ [CMD.aptSimulate]: result(fixture('apt/LANG_C-get-s-nolocking-upgrade')) });
  const pending = await apt.listPending(exec, CTX);
  t.equal(pending.length, 137);
  t.equal(calls[0].opts.root, false, 'the simulation needs no root');
  const progress: string[] = [];
  const dry = await apt.upgrade(exec, { ...CTX, dryRun: true, onProgress: (p, s) => progress.push(`${p}:${s}`) });
  t.equal(dry.upgraded, 137);
  t.equal(dry.new, 0);
  t.equal(dry.removed, 0);
  t.equal(dry.packages.length, 137);
  t.strictSame(progress, [], 'a dry run reports no progress');
  t.notOk(calls.some((c) => c.command === CMD.aptUpgradeWaiting(300)), 'a dry run never runs the upgrade');

  const cut = replay({ [CMD.aptSimulate]: { ...result(fixture('apt/get-s-upgrade')), truncated: true } });
  await rejectsWith(t, apt.listPending(cut.exec, CTX), 'OUTPUT_TRUNCATED');
  const slow = replay({ [CMD.aptSimulate]: result({ exit: -1, timedOut: true }) });
  await rejectsWith(t, apt.listPending(slow.exec, CTX), 'COMMAND_TIMEOUT');
  // Inst lines that disagree with the summary mean the output is not what we think.
  const odd = fixture('apt/get-s-upgrade').stdout.replace(/^Inst bash .*\n/m, '');
  const bad = replay({ [CMD.aptSimulate]: result({ stdout: odd }) });
  const err = await rejectsWith(t, apt.listPending(bad.exec, CTX), 'PKG_COMMAND_FAILED');
  t.match(err.message, /136 upgrades .* 137/);
});

t.test('driver upgrade: root, progress while it runs, outcome from the summary', async (t) => {
  const apt = new AptDriver();
  for (const name of ['05b-apt-get-upgrade-y-Dpkg-Use-Pty-0', '05-apt-get-upgrade-y']) {
    const { exec, calls } = replay({ [CMD.aptUpgradeWaiting(300)]: result(fixture(`apt-chroot/${name}`)) });
    const progress: [string, string][] = [];
    const out = await apt.upgrade(exec, { ...CTX, dryRun: false, onProgress: (p, s) => progress.push([p, s]) });
    t.strictSame(progress, [
      ['tendhost-fixture', 'unpacking'],
      ['tendhost-fixture', 'setting up'],
    ], name);
    t.strictSame(out, {
      upgraded: 1,
      new: 0,
      removed: 0,
      packages: [{ name: 'tendhost-fixture', current_version: '1.0', new_version: '1.1', arch: null, repository: null, kind: 'system' }],
    });
    t.equal(calls[0].opts.root, true);
  }
  for (const name of ['04b-apt-get-upgrade-y-while-apt-get-holds-lock', '04b2-apt-get-upgrade-y-LANG_C-while-apt-get-holds-lock']) {
    const { exec } = replay({ [CMD.aptUpgradeWaiting(300)]: result(fixture(`apt-chroot/${name}`)) });
    const err = await rejectsWith(t, apt.upgrade(exec, { ...CTX, dryRun: false, onProgress: () => {} }), 'PACKAGE_MANAGER_LOCKED');
    t.strictSame(err.details?.pid, 3804);
    t.equal(err.message, 'package manager is locked: /var/lib/dpkg/lock-frontend is held by process 3804 (apt-get)');
  }
});

t.test("this machine's real apt-get simulation: parsed count equals the summary line", async (t) => {
  const r = await local.run(CMD.aptSimulate, CTX);
  t.equal(r.exitCode, 0, r.stderr);
  const m = /^(\d+) upgraded, (\d+) newly installed, (\d+) to remove/m.exec(r.stdout);
  t.ok(m, 'the summary line is there');
  const sim = parseAptSimulation(r.stdout);
  t.equal(sim.packages.filter((p) => p.current_version !== null).length, Number(m?.[1]), `${m?.[1]} upgraded`);
  t.equal(sim.packages.filter((p) => p.current_version === null).length, Number(m?.[2]), `${m?.[2]} newly installed`);
  t.equal((r.stdout.match(/^Inst /gm) ?? []).length, sim.packages.length, 'every Inst line parsed');
  const pending = await new AptDriver().listPending(local, CTX);
  t.equal(pending.length, sim.packages.length, 'the driver sees the same');
});
