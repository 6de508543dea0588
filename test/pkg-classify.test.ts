// Failed package commands → typed errors, from the real failures captured in
// test/fixtures and the messages the tools are known to print.
import t from 'tap';
import { readFileSync } from 'node:fs';
import type { ExecResult } from '../workers/exec/types.js';
import { classifyFailure, lastMeaningfulLine } from '../workers/pkg/classify.js';
import { CMD } from '../workers/pkg/commands.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);

function fixture(name: string): ExecResult {
  const read = (ext: string) => readFileSync(new URL(`${name}.${ext}`, FIXTURES), 'utf8');
  return {
    exitCode: Number(read('exit').trim()),
    signal: null,
    stdout: read('stdout'),
    stderr: read('stderr'),
    durationMs: 1,
    truncated: false,
    timedOut: false,
  };
}

function failed(stderr: string, extra: Partial<ExecResult> = {}): ExecResult {
  return { exitCode: 100, signal: null, stdout: '', stderr, durationMs: 1, truncated: false, timedOut: false, ...extra };
}

t.test('locks: apt-get frontend lock, dpkg lock, dpkg itself (captured)', async (t) => {
  for (const name of ['04b-apt-get-upgrade-y-while-apt-get-holds-lock', '04b2-apt-get-upgrade-y-LANG_C-while-apt-get-holds-lock']) {
    const e = classifyFailure(fixture(`apt-chroot/${name}`), { command: CMD.aptUpgrade });
    t.equal(e.code, 'PACKAGE_MANAGER_LOCKED', name);
    t.equal(e.message, 'package manager is locked: /var/lib/dpkg/lock-frontend is held by process 3804 (apt-get)');
    t.strictSame(e.details, { command: CMD.aptUpgrade, exitCode: 100, signal: null, lock: '/var/lib/dpkg/lock-frontend', pid: 3804, process: 'apt-get' });
  }
  const inner = classifyFailure(fixture('apt-chroot/04d-apt-get-upgrade-y-while-dpkg-lock-held-fcntl'));
  t.equal(inner.code, 'PACKAGE_MANAGER_LOCKED');
  t.equal(inner.message, 'package manager is locked: /var/lib/dpkg/lock is held by process 7963 (python3)');
  const dpkg = classifyFailure(fixture('apt-chroot/04d2-dpkg-i-while-dpkg-lock-held-fcntl'));
  t.equal(dpkg.code, 'PACKAGE_MANAGER_LOCKED');
  t.equal(dpkg.details?.pid, 7963);
  t.equal(dpkg.details?.lock, '/var/lib/dpkg/lock');
  // `apt` (not apt-get) waited for the lock and then succeeded: it printed the lock line on stdout.
  const waited = fixture('apt-chroot/04b3-apt-upgrade-y-WAITS-for-lock-then-upgrades-nodevpts');
  t.equal(classifyFailure({ ...waited, timedOut: true, exitCode: null }).code, 'PACKAGE_MANAGER_LOCKED', 'a timed-out wait is a lock');
});

t.test('locks: dnf and yum', async (t) => {
  const dnf = classifyFailure(failed('', { stdout: 'Waiting for process with pid 4242 to finish.\n', timedOut: true, exitCode: null }));
  t.equal(dnf.code, 'PACKAGE_MANAGER_LOCKED');
  t.equal(dnf.message, 'package manager is locked by process 4242');
  const yum = classifyFailure(failed('Existing lock /var/run/yum.pid: another copy is running as pid 1234.\n', { exitCode: 1 }));
  t.equal(yum.code, 'PACKAGE_MANAGER_LOCKED');
  t.strictSame([yum.details?.lock, yum.details?.pid], ['/var/run/yum.pid', 1234]);
  const waiting = classifyFailure(
    failed('', {
      stdout: 'Another app is currently holding the yum lock; waiting for it to exit...\n  The other application is: yum\n    Memory : 42 M RSS\n    State  : Sleeping, pid: 5150\n',
      timedOut: true,
    }),
  );
  t.equal(waiting.code, 'PACKAGE_MANAGER_LOCKED');
  t.equal(waiting.details?.pid, 5150);
});

t.test('repository unreachable: apt E:, dnf metadata (captured)', async (t) => {
  for (const name of ['apt-chroot/08-apt-get-update-missing-file-repo', 'apt-chroot/08b-apt-update-missing-file-repo']) {
    const e = classifyFailure(fixture(name), { command: CMD.aptRefresh });
    t.equal(e.code, 'PKG_REPO_UNREACHABLE', name);
    t.equal(e.message, 'repository unreachable: Failed to fetch file:/srv/does-not-exist/./Packages  File not found - /srv/does-not-exist/./Packages (2: No such file or directory)');
  }
  const dnf = classifyFailure(fixture('dnf/08-dnf-check-update-repo-missing'));
  t.equal(dnf.code, 'PKG_REPO_UNREACHABLE');
  t.match(dnf.message, /Failed to download metadata for repo 'tendhost-local'/);
  t.equal(classifyFailure(failed("Error: Cannot find a valid baseurl for repo: base/7/x86_64\n", { exitCode: 1 })).code, 'PKG_REPO_UNREACHABLE');
  t.equal(classifyFailure(failed('W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving \'deb.debian.org\'\n')).code, 'PKG_REPO_UNREACHABLE');
});

t.test('permission and sudo', async (t) => {
  const apt = classifyFailure(
    failed(
      'E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\n' +
        'E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?\n',
    ),
  );
  t.equal(apt.code, 'PKG_PERMISSION_DENIED', 'not a lock: the lock file could not even be opened');
  t.equal(apt.message, 'permission denied: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?');
  const dnf = classifyFailure(failed('Error: This command has to be run with superuser privileges (under the root user on most systems).\n', { exitCode: 1 }));
  t.equal(dnf.code, 'PKG_PERMISSION_DENIED');
  t.equal(classifyFailure(failed('You need to be root to perform this command.\n', { exitCode: 1 })).code, 'PKG_PERMISSION_DENIED');
  t.equal(classifyFailure(failed('sudo: a password is required\n', { exitCode: 1 })).code, 'SUDO_PASSWORD_REQUIRED');
  t.equal(classifyFailure(failed('sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\n', { exitCode: 1 })).code, 'SUDO_PASSWORD_REQUIRED');
  const notSudoer = classifyFailure(failed('deploy is not in the sudoers file.  This incident will be reported.\n', { exitCode: 1 }));
  t.equal(notSudoer.code, 'PKG_PERMISSION_DENIED');
  t.equal(
    classifyFailure(failed('permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n', { exitCode: 1 })).code,
    'PKG_PERMISSION_DENIED',
  );
});

t.test('disk full', async (t) => {
  const apt = classifyFailure(failed('E: You don\'t have enough free space in /var/cache/apt/archives/.\n'));
  t.equal(apt.code, 'PKG_DISK_FULL');
  t.equal(apt.message, "disk full: You don't have enough free space in /var/cache/apt/archives/.");
  const dpkg = classifyFailure(
    failed(
      "dpkg: error processing archive /var/cache/apt/archives/linux-image.deb (--unpack):\n cannot copy extracted data for './boot/vmlinuz' to '/boot/vmlinuz.dpkg-new': failed to write (No space left on device)\n" +
        'E: Sub-process /usr/bin/dpkg returned an error code (1)\n',
    ),
  );
  t.equal(dpkg.code, 'PKG_DISK_FULL');
  // A fetch that fails because the disk is full is a full disk, not a repository problem.
  t.equal(classifyFailure(failed('E: Failed to fetch http://x/y.deb  Write error - write (28: No space left on device)\n')).code, 'PKG_DISK_FULL');
  t.equal(classifyFailure(failed('Error: Transaction test error:\n  installing package kernel-core-6.11 needs 32MB more space on the /boot filesystem\n\nDisk Requirements:\n   At least 32MB more space needed on the /boot filesystem.\n', { exitCode: 1 })).code, 'PKG_DISK_FULL');
});

t.test('timeouts, truncation, and everything else', async (t) => {
  const slow = classifyFailure(failed('', { exitCode: null, signal: 'SIGKILL', timedOut: true }), { command: CMD.aptUpgrade });
  t.equal(slow.code, 'COMMAND_TIMEOUT');
  t.equal(slow.message, 'apt-get timed out');
  t.equal(classifyFailure(failed('', { exitCode: 0, truncated: true }), { parseCritical: true }).code, 'OUTPUT_TRUNCATED');
  t.equal(classifyFailure(failed('', { exitCode: 1, truncated: true })).code, 'PKG_COMMAND_FAILED', 'truncation matters only to parsers');

  const conflict = classifyFailure(
    failed(
      'Error: Transaction test error:\n  file /usr/share/doc/foo/README from install of foo-2.0-1.fc39.x86_64 conflicts with file from package foo-compat-1.0-1.fc39.x86_64\n\n',
      { exitCode: 1 },
    ),
    { command: CMD.rpmUpgrade('dnf') },
  );
  t.equal(conflict.code, 'PKG_COMMAND_FAILED');
  t.equal(conflict.message, 'dnf failed: file /usr/share/doc/foo/README from install of foo-2.0-1.fc39.x86_64 conflicts with file from package foo-compat-1.0-1.fc39.x86_64');

  // dpkg failing a postinst (what the fleet simulator's upgrade-fail prints).
  const postinst = classifyFailure(
    failed(
      'dpkg: error processing package openssl (--configure):\n installed openssl package post-installation script subprocess returned error exit status 1\n' +
        'Errors were encountered while processing:\n openssl\n libssl3\nE: Sub-process /usr/bin/dpkg returned an error code (1)\n',
    ),
    { command: CMD.aptUpgrade },
  );
  t.equal(postinst.code, 'PKG_COMMAND_FAILED');
  t.equal(postinst.message, 'apt-get failed: dpkg could not process openssl, libssl3 (Sub-process /usr/bin/dpkg returned an error code (1))');
  t.strictSame(postinst.details?.failed_packages, ['openssl', 'libssl3']);

  const notFound = classifyFailure(fixture('dnf/07b-needs-restarting-r-cmd'), { command: CMD.rpmNeedsRestarting('yum') });
  t.equal(notFound.code, 'PKG_COMMAND_FAILED');
  t.equal(notFound.message, 'needs-restarting failed: ../cap.sh: line 2: needs-restarting: command not found');
  t.equal(notFound.details?.exitCode, 127);

  // `apt-get upgrade --assume-no` (captured): exit 1, "Abort." on stdout, nothing on stderr.
  const abort = classifyFailure(fixture('apt-chroot/04a-apt-get-upgrade-assume-no-while-flock1-held'), { command: 'apt-get upgrade --assume-no' });
  t.equal(abort.code, 'PKG_COMMAND_FAILED');
  t.equal(abort.message, 'apt-get failed: Abort.');
  t.equal(classifyFailure(failed('', { exitCode: null, signal: 'SIGTERM' })).message, 'command failed: killed by SIGTERM');
  t.equal(classifyFailure(failed('', { exitCode: 3 }), { command: CMD.composeUp('v2', '/srv/x', ['web']) }).message, 'docker compose failed: exit code 3');

  t.equal(lastMeaningfulLine('\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\nE: boom\n\n'), 'boom');
  t.equal(lastMeaningfulLine('\n\n'), null);
});
