// A minimal Debian host for tests: a `debootstrap --variant=minbase` root (no
// procps: no uptime, ps, free), reached through a real sshd whose every
// session runs chrooted into it. Its /proc is a folder of plain files the test
// controls (boot id, uptime), so a "reboot" is: the root's `reboot` leaves a
// request file, the test drops every session, keeps the port closed a while,
// writes a new boot id and opens again — what a host looks like from outside.
// A tiny local apt repository (file:/repo) holds a package whose upgrade sets
// reboot-required, so apt-get runs for real and offline.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

/** Built once per machine (~30 s), then unpacked per test from this tarball. */
const CACHE_DIR = '/var/cache/tendhost-test';
const CACHE_TAR = path.join(CACHE_DIR, 'minbase-bookworm.tar');
export const PACKAGE = 'tendhost-kernel-sim';

export function canBuildMinimalRoot(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (fs.existsSync(CACHE_TAR)) return null;
  if (!fs.existsSync('/usr/sbin/debootstrap')) return 'debootstrap is missing (apt-get install -y debootstrap)';
  return null;
}

/** The minbase root as a tarball, built with debootstrap the first time. */
function cachedRootTar(): string {
  if (fs.existsSync(CACHE_TAR)) return CACHE_TAR;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const build = fs.mkdtempSync(path.join(CACHE_DIR, 'build-'));
  try {
    execFileSync('debootstrap', ['--variant=minbase', 'bookworm', build, 'http://deb.debian.org/debian'], { stdio: 'ignore', timeout: 240_000 });
    const tmpTar = `${CACHE_TAR}.${process.pid}`;
    execFileSync('tar', ['-C', build, '-cf', tmpTar, '.'], { stdio: 'ignore' });
    fs.renameSync(tmpTar, CACHE_TAR); // atomic: a parallel run sees all or nothing
  } finally {
    fs.rmSync(build, { recursive: true, force: true });
  }
  return CACHE_TAR;
}

export interface MinimalRoot {
  dir: string;
  /** ForceCommand line that runs every SSH command inside the root. */
  forceCommand: string;
  bootId(): string;
  /** A reboot was asked for (and the request consumed). */
  takeRebootRequest(): boolean;
  /** What a finished reboot changes on disk: new boot id, uptime 0, reboot-required gone. */
  completeReboot(): void;
  installedVersion(): string | null;
  remove(): void;
}

export function makeMinimalRoot(): MinimalRoot {
  const tar = cachedRootTar();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-minbase-'));
  fs.chmodSync(dir, 0o755);
  execFileSync('tar', ['-C', dir, '-xf', tar], { stdio: 'ignore' });
  const p = (rel: string) => path.join(dir, rel);

  // A /proc of plain files: the daemon reads only these two.
  fs.rmSync(p('proc'), { recursive: true, force: true });
  fs.mkdirSync(p('proc/sys/kernel/random'), { recursive: true });
  const writeBoot = () => {
    fs.writeFileSync(p('proc/sys/kernel/random/boot_id'), `${randomUUID()}\n`);
    fs.writeFileSync(p('proc/uptime'), '3.14 5.92\n');
  };
  writeBoot();

  // No systemd here: `reboot` leaves a request for the test to act on.
  fs.writeFileSync(p('usr/sbin/reboot'), '#!/bin/sh\ntouch /run/reboot-request\nexit 0\n', { mode: 0o755 });
  fs.mkdirSync(p('run'), { recursive: true });
  if (!fs.existsSync(p('dev/null'))) execFileSync('mknod', ['-m', '666', p('dev/null'), 'c', '1', '3']);

  // v1 installed, v2 in the local repository.
  const repo = p('repo');
  fs.mkdirSync(repo);
  const v1 = buildDeb(dir, '1.0', false);
  execFileSync('chroot', [dir, 'dpkg', '-i', `/${path.relative(dir, v1)}`], { stdio: 'ignore' });
  fs.rmSync(v1);
  buildDeb(dir, '2.0', true, repo);
  writePackagesIndex(repo);
  fs.writeFileSync(p('etc/apt/sources.list'), 'deb [trusted=yes] file:/repo ./\n');
  fs.rmSync(p('etc/apt/sources.list.d'), { recursive: true, force: true });
  fs.mkdirSync(p('etc/apt/sources.list.d'));

  return {
    dir,
    forceCommand: `ForceCommand /usr/sbin/chroot ${dir} /bin/sh -c "$SSH_ORIGINAL_COMMAND"`,
    bootId: () => fs.readFileSync(p('proc/sys/kernel/random/boot_id'), 'utf8').trim(),
    takeRebootRequest() {
      if (!fs.existsSync(p('run/reboot-request'))) return false;
      fs.rmSync(p('run/reboot-request'));
      return true;
    },
    completeReboot() {
      writeBoot();
      fs.rmSync(p('run/reboot-required'), { force: true });
      fs.rmSync(p('run/reboot-required.pkgs'), { force: true });
    },
    installedVersion() {
      try {
        return execFileSync('chroot', [dir, 'dpkg-query', '-W', '-f', '${Version}', PACKAGE], { encoding: 'utf8' }).trim() || null;
      } catch {
        return null;
      }
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** A package whose postinst (from 2.0 on) asks for a reboot, as a kernel's does. */
function buildDeb(root: string, version: string, asksReboot: boolean, outDir = root): string {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-deb-'));
  try {
    fs.mkdirSync(path.join(src, 'DEBIAN'));
    fs.mkdirSync(path.join(src, 'usr/share/tendhost-sim'), { recursive: true });
    fs.writeFileSync(path.join(src, 'usr/share/tendhost-sim/version'), `${version}\n`);
    fs.writeFileSync(
      path.join(src, 'DEBIAN/control'),
      `Package: ${PACKAGE}\nVersion: ${version}\nArchitecture: all\nMaintainer: tendhost tests <tests@localhost>\nDescription: stands in for a kernel in tendhost's tests\n`,
    );
    if (asksReboot) {
      fs.writeFileSync(
        path.join(src, 'DEBIAN/postinst'),
        `#!/bin/sh\nset -e\necho "*** System restart required ***" > /run/reboot-required\necho ${PACKAGE} >> /run/reboot-required.pkgs\n`,
        { mode: 0o755 },
      );
    }
    const out = path.join(outDir, `${PACKAGE}_${version}_all.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '--build', src, out], { stdio: 'ignore' });
    return out;
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
}

/** The repository's Packages index, as dpkg-scanpackages would write it (dpkg-dev is not assumed). */
function writePackagesIndex(repo: string): void {
  const stanzas: string[] = [];
  for (const f of fs.readdirSync(repo).filter((x) => x.endsWith('.deb'))) {
    const file = path.join(repo, f);
    const control = execFileSync('dpkg-deb', ['-f', file], { encoding: 'utf8' }).trim();
    const bytes = fs.readFileSync(file);
    stanzas.push(
      `${control}\nFilename: ./${f}\nSize: ${bytes.length}\nSHA256: ${createHash('sha256').update(bytes).digest('hex')}\n`,
    );
  }
  fs.writeFileSync(path.join(repo, 'Packages'), stanzas.join('\n'));
}
