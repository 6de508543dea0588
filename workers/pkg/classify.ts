// Turns a package command that did not do its job into a typed error. The
// tools say what went wrong only in prose, so this is a table of the phrases
// the real apt, dpkg, dnf, yum, sudo and docker print (see the fixtures in
// test/fixtures), checked most specific first: a lock beats a generic
// permission problem, a full disk beats the "Failed to fetch" it causes.
import { TendhostError } from '../../common/errors.js';
import type { ExecResult } from '../exec/types.js';

export interface ClassifyOptions {
  /** The command line, for the message and details. */
  command?: string;
  /** The caller must parse all of stdout: a cut-off output is an error by itself. */
  parseCritical?: boolean;
}

type Output = Pick<ExecResult, 'exitCode' | 'signal' | 'stdout' | 'stderr' | 'timedOut' | 'truncated'>;

/** `E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 3804 (apt-get)` (apt ≥ 1.9). */
const APT_LOCK_HELD = /Could not get lock (\S+?)\.? It is held by process (\d+)(?: \(([^)]+)\))?/;
/** Older apt: `E: Could not get lock /var/lib/dpkg/lock - open (11: Resource temporarily unavailable)`. */
const APT_LOCK_OLD = /Could not get lock (\S+) - open \(11/;
/** dpkg itself: `dpkg: error: dpkg database lock was locked by another process with pid 7963`. */
const DPKG_LOCK = /dpkg (?:database|frontend) lock (?:was locked|is locked) by another process(?: with pid (\d+))?/;
/** dnf 4 waits forever printing this, so it mostly shows up in a timed-out run. */
const DNF_LOCK_WAIT = /Waiting for process with pid (\d+) to finish/;
/** yum: `Existing lock /var/run/yum.pid: another copy is running as pid 1234.` */
const YUM_LOCK = /Existing lock (\S+?):? another copy is running as pid (\d+)/;
/** yum's interactive wait, and dnf 5's refusal. */
const OTHER_LOCK = /(Another app is currently holding the yum lock|Failed to obtain the transaction lock|another copy is running)/;
const YUM_LOCK_PID = /State\s*:.*pid:\s*(\d+)/;

const SUDO_PASSWORD = /sudo: (?:a password is required|a terminal is required|no tty present)/;
const SUDO_NOT_ALLOWED = /(?:is not in the sudoers file|is not allowed to execute|sudo: sorry, you are not allowed)/;

const DISK_FULL = [
  /No space left on device/,
  /You don't have enough free space in \S+/,
  /At least \S+ more space needed on the \S+ filesystem/,
  /Disk Requirements:/,
];

const PERMISSION = [
  /are you root\?/,
  /This command has to be run with superuser privileges/,
  /You need to be root to perform this command/,
  /Permission denied/,
  /permission denied while trying to connect to the Docker daemon/,
];

const REPO_UNREACHABLE = [
  /Failed to fetch \S+/,
  /Some index files failed to download/,
  /does not have a Release file/,
  /Temporary failure resolving/,
  /Failed to download metadata for repo/,
  /Cannot download repomd\.xml/,
  /Cannot find a valid baseurl for repo/,
  /Cannot retrieve repository metadata/,
  /Could not retrieve mirrorlist/,
  /Curl error \(\d+\)/,
  /Error response from daemon: (?:Get|Head) "?https?:/,
  /pull access denied for/,
  /manifest unknown/,
];

/** `Errors were encountered while processing:` then one package per indented line. */
const DPKG_FAILED = /Errors were encountered while processing:\r?\n((?:[ \t]+\S+\r?\n?)+)/;

/** Lines that never explain a failure. */
const NOISE = [/^WARNING: apt does not have a stable CLI interface/, /^Note: /, /^See <https?:/];

/** Map a failed (or timed-out, or cut-off) command result to a TendhostError. */
export function classifyFailure(r: Output, opts: ClassifyOptions = {}): TendhostError {
  const text = `${r.stderr}\n${r.stdout}`;
  const base = { command: opts.command, exitCode: r.exitCode, signal: r.signal };

  // A lock first: dnf and `apt` wait for it, so a lock often looks like a timeout.
  const lock = findLock(text);
  if (lock) return new TendhostError('PACKAGE_MANAGER_LOCKED', lock.message, { ...base, ...lock.details });

  if (r.timedOut) return new TendhostError('COMMAND_TIMEOUT', `${name(opts)} timed out`, base);

  if (SUDO_PASSWORD.test(text)) {
    return new TendhostError('SUDO_PASSWORD_REQUIRED', 'sudo needs a password for the login user (use NOPASSWD)', base);
  }
  if (SUDO_NOT_ALLOWED.test(text)) {
    return new TendhostError('PKG_PERMISSION_DENIED', `sudo refused: ${matchLine(text, SUDO_NOT_ALLOWED)}`, base);
  }

  const disk = firstMatch(text, DISK_FULL);
  if (disk) return new TendhostError('PKG_DISK_FULL', `disk full: ${disk}`, base);

  const perm = firstMatch(text, PERMISSION);
  if (perm) return new TendhostError('PKG_PERMISSION_DENIED', `permission denied: ${perm}`, base);

  const repo = firstMatch(text, REPO_UNREACHABLE);
  if (repo) return new TendhostError('PKG_REPO_UNREACHABLE', `repository unreachable: ${repo}`, base);

  if (opts.parseCritical && r.truncated) {
    return new TendhostError('OUTPUT_TRUNCATED', `${name(opts)} printed more than the output cap`, base);
  }

  // dpkg names the packages it failed on before apt's generic last line.
  const dpkg = DPKG_FAILED.exec(r.stderr);
  if (dpkg) {
    const failed = dpkg[1].trim().split(/\s+/);
    const last = lastMeaningfulLine(r.stderr);
    return new TendhostError('PKG_COMMAND_FAILED', `${name(opts)} failed: dpkg could not process ${failed.join(', ')}${last ? ` (${last})` : ''}`, {
      ...base,
      failed_packages: failed,
    });
  }

  const why =
    lastMeaningfulLine(r.stderr) ??
    lastMeaningfulLine(r.stdout) ??
    (r.exitCode === null ? `killed by ${r.signal ?? 'a signal'}` : `exit code ${r.exitCode}`);
  return new TendhostError('PKG_COMMAND_FAILED', `${name(opts)} failed: ${why}`, base);
}

interface LockInfo {
  message: string;
  details: { lock: string | null; pid: number | null; process: string | null };
}

function findLock(text: string): LockInfo | null {
  let m = APT_LOCK_HELD.exec(text);
  if (m) return lockInfo(m[1], m[2], m[3] ?? null);
  m = APT_LOCK_OLD.exec(text);
  if (m) return lockInfo(m[1], null, null);
  m = DPKG_LOCK.exec(text);
  if (m) return lockInfo('/var/lib/dpkg/lock', m[1] ?? null, null);
  m = YUM_LOCK.exec(text);
  if (m) return lockInfo(m[1], m[2], null);
  m = DNF_LOCK_WAIT.exec(text);
  if (m) return lockInfo(null, m[1], null);
  if (OTHER_LOCK.test(text)) return lockInfo(null, YUM_LOCK_PID.exec(text)?.[1] ?? null, null);
  return null;
}

function lockInfo(lock: string | null, pid: string | null, process: string | null): LockInfo {
  let message = 'package manager is locked';
  if (lock) message += `: ${lock} is held`;
  if (pid) message += ` by process ${pid}${process ? ` (${process})` : ''}`;
  return { message, details: { lock, pid: pid === null ? null : Number(pid), process } };
}

function firstMatch(text: string, patterns: readonly RegExp[]): string | null {
  for (const p of patterns) {
    if (p.test(text)) return matchLine(text, p);
  }
  return null;
}

/** The whole line a pattern matched, without apt's `E: `/`W: ` prefix. */
function matchLine(text: string, p: RegExp): string {
  const line = text.split(/\r?\n|\r/).find((l) => p.test(l)) ?? '';
  return line.replace(/^[EWN]: /, '').trim();
}

export function lastMeaningfulLine(text: string): string | null {
  const lines = text
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !NOISE.some((n) => n.test(l)));
  const last = lines[lines.length - 1];
  return last === undefined ? null : last.replace(/^[EW]: /, '');
}

function name(opts: ClassifyOptions): string {
  if (!opts.command) return 'command';
  // The tool, not the whole line: `LANG=C LC_ALL=C apt-get -s …` → `apt-get`,
  // `cd /srv/app && docker compose pull` → `docker compose`.
  const tail = opts.command.split('&&').pop() ?? '';
  const words = tail.trim().split(/\s+/).filter((w) => !/^[A-Z_]+=/.test(w));
  if (words[0] === 'docker' && words[1] === 'compose') return 'docker compose';
  return words[0] || 'command';
}
