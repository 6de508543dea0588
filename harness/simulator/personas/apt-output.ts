// Text that apt-get prints, built line by line like the fixtures in
// test/fixtures/apt and apt-chroot (LANG=C, no pty, Dpkg::Use-Pty=0).
import type { PendingPkg } from '../host.js';

const HEADER =
  'Reading package lists...\n' +
  'Building dependency tree...\n' +
  'Reading state information...\n' +
  'Calculating upgrade...\n';

/** apt's ShowList: names sorted, two-space indent, lines of at most 78 columns (checked against the 137-package fixture). */
export function upgradeList(names: readonly string[]): string {
  const sorted = [...names].sort();
  const lines: string[] = [];
  let line = ' ';
  for (const n of sorted) {
    if (line.length + 1 + n.length > 78 && line.length > 1) {
      lines.push(line);
      line = ' ';
    }
    line += ' ' + n;
  }
  lines.push(line);
  return 'The following packages will be upgraded:\n' + lines.join('\n') + '\n';
}

function summary(n: number): string {
  return `${n} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n`;
}

/** apt's SizeToStr: three significant digits, SI steps of 1000, C locale. */
export function aptSize(bytes: number): string {
  const ext = ['', 'k', 'M', 'G', 'T'];
  let v = bytes;
  for (let i = 0; i < ext.length; i++) {
    if (v < 100 && i !== 0) return `${v.toFixed(1)} ${ext[i]}B`;
    if (v < 10000) return `${Math.round(v)} ${ext[i]}B`;
    v /= 1000;
  }
  return `${Math.round(v)} PB`;
}

/** `apt-get -s -o Debug::NoLocking=1 upgrade` (fixture apt/LANG_C-get-s-nolocking-upgrade). */
export function aptSimulate(pending: readonly PendingPkg[]): string {
  if (pending.length === 0) return HEADER + summary(0);
  let out = HEADER + upgradeList(pending.map((p) => p.name)) + summary(pending.length);
  for (const p of pending) {
    out += `Inst ${p.name} [${p.from}] (${p.to} ${p.origin} [${p.arch}])\n`;
    out += `Conf ${p.name} (${p.to} ${p.origin} [${p.arch}])\n`;
  }
  return out;
}

function debFile(p: PendingPkg): string {
  return `${p.name}_${p.to.replace(/:/g, '%3a')}_${p.arch}.deb`;
}

function mirrorOf(p: PendingPkg): string {
  return p.origin.startsWith('Debian-Security')
    ? 'http://mirror.example/debian-security bookworm-security/main'
    : 'http://mirror.example/debian bookworm/main';
}

export interface UpgradeText {
  stdout: string;
  stderr: string;
  code: number;
  /** Packages that reached "Setting up" without an error. */
  upgraded: PendingPkg[];
}

/**
 * `apt-get -y -o Dpkg::Use-Pty=0 ... upgrade` (fixture apt-chroot/05b). With
 * `failAt` set, dpkg fails configuring that package as a postinst error does.
 */
export function aptUpgrade(pending: readonly PendingPkg[], failAt: PendingPkg | null): UpgradeText {
  if (pending.length === 0) return { stdout: HEADER + summary(0), stderr: '', code: 0, upgraded: [] };
  const total = pending.reduce((s, p) => s + p.size, 0);
  let out = HEADER + upgradeList(pending.map((p) => p.name)) + summary(pending.length);
  out += `Need to get ${aptSize(total)} of archives.\n`;
  out += `After this operation, ${aptSize(Math.round(total / 37))} of additional disk space will be used.\n`;
  pending.forEach((p, i) => {
    out += `Get:${i + 1} ${mirrorOf(p)} amd64 ${p.name} ${p.arch} ${p.to} [${aptSize(p.size)}]\n`;
  });
  out += `Fetched ${aptSize(total)} in 0s (${aptSize(total * 4)}/s)\n`;
  out += '(Reading database ... 31842 files and directories currently installed.)\n';
  const width = String(pending.length - 1).length;
  pending.forEach((p, i) => {
    const idx = pending.length > 1 ? `${String(i).padStart(width, '0')}-` : '';
    out += `Preparing to unpack .../${idx}${debFile(p)} ...\n`;
    out += `Unpacking ${p.name} (${p.to}) over (${p.from}) ...\n`;
  });
  const upgraded: PendingPkg[] = [];
  let stderr = '';
  for (const p of pending) {
    out += `Setting up ${p.name} (${p.to}) ...\n`;
    if (failAt && p.name === failAt.name) {
      stderr +=
        `dpkg: error processing package ${p.name} (--configure):\n` +
        ` installed ${p.name} package post-installation script subprocess returned error exit status 1\n`;
      continue;
    }
    upgraded.push(p);
  }
  if (pending.some((p) => p.name.startsWith('lib'))) {
    out += 'Processing triggers for libc-bin (2.36-9+deb12u10) ...\n';
  }
  if (failAt) {
    stderr +=
      'Errors were encountered while processing:\n' +
      ` ${failAt.name}\n` +
      'E: Sub-process /usr/bin/dpkg returned an error code (1)\n';
    return { stdout: out, stderr, code: 100, upgraded };
  }
  return { stdout: out, stderr, code: 0, upgraded };
}

/** `apt-get update` (fixture apt/update); later runs print Hit: like real apt. */
export function aptUpdate(first: boolean): string {
  if (first) {
    return (
      'Get:1 http://mirror.example/debian bookworm InRelease [151 kB]\n' +
      'Get:2 http://mirror.example/debian bookworm-updates InRelease [55.4 kB]\n' +
      'Get:3 http://mirror.example/debian-security bookworm-security InRelease [34.8 kB]\n' +
      'Fetched 241 kB in 0s (670 kB/s)\n' +
      'Reading package lists...\n'
    );
  }
  return (
    'Hit:1 http://mirror.example/debian bookworm InRelease\n' +
    'Hit:2 http://mirror.example/debian bookworm-updates InRelease\n' +
    'Hit:3 http://mirror.example/debian-security bookworm-security InRelease\n' +
    'Reading package lists...\n'
  );
}

export const APT_ERR = {
  /** apt-get's message when the archives directory cannot hold the downloads. */
  diskFull: "E: You don't have enough free space in /var/cache/apt/archives/.\n",
  /** fixture apt-chroot/04b2 (another apt-get holds the frontend lock). */
  frontendLock:
    'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n' +
    'E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n',
  listsLock:
    'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)\n' +
    'E: Unable to lock directory /var/lib/apt/lists/\n',
  notRootUpgrade:
    'E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\n' +
    'E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?\n',
  notRootUpdate:
    'E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)\n' +
    'E: Unable to lock directory /var/lib/apt/lists/\n',
} as const;
