// Pure parsers for what apt-get and dpkg print (LANG=C). Formats checked
// against the captures in test/fixtures/apt and apt-chroot.
import type { PendingPackage } from '../../common/schemas/packages.js';
import type { RebootCheck } from './driver.js';
import { splitLines } from './run.js';

export interface AptSummary {
  upgraded: number;
  newlyInstalled: number;
  reinstalled: number;
  downgraded: number;
  removed: number;
  notUpgraded: number;
}

/**
 * `137 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.` — apt
 * inserts `N reinstalled, ` and `N downgraded, ` only when they are non-zero.
 */
const SUMMARY =
  /^(\d+) upgraded, (\d+) newly installed, (?:(\d+) reinstalled, )?(?:(\d+) downgraded, )?(\d+) to remove and (\d+) not upgraded\.$/;

export function parseAptSummary(text: string): AptSummary | null {
  for (const line of splitLines(text)) {
    const m = SUMMARY.exec(line.trim());
    if (m) {
      return {
        upgraded: Number(m[1]),
        newlyInstalled: Number(m[2]),
        reinstalled: Number(m[3] ?? 0),
        downgraded: Number(m[4] ?? 0),
        removed: Number(m[5]),
        notUpgraded: Number(m[6]),
      };
    }
  }
  return null;
}

/**
 * `Inst NAME[:ARCH] [CURRENT] (NEW ORIGIN[, ORIGIN…] [ARCH]) [extra]…`
 * The `[CURRENT]` part is missing for a new install, the origin for a package
 * that comes from nowhere (a local .deb); trailing `[…]` are dependency notes.
 */
const INST = /^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+)(?: (.*?))? \[([^\]]+)\]\)/;
/** `Remv NAME[:ARCH] [VERSION]` */
const REMV = /^Remv (\S+)(?: \[([^\]]*)\])?/;

export interface AptSimulation {
  /** Every `Inst` line: upgrades (current_version set) and new installs (null). */
  packages: PendingPackage[];
  /** Packages the simulation removes. */
  removals: string[];
  summary: AptSummary | null;
}

/** `apt-get -s upgrade` / `dist-upgrade` output. */
export function parseAptSimulation(stdout: string): AptSimulation {
  const packages: PendingPackage[] = [];
  const removals: string[] = [];
  for (const line of splitLines(stdout)) {
    const inst = INST.exec(line);
    if (inst) {
      packages.push({
        name: stripArch(inst[1]),
        current_version: inst[2] ?? null,
        new_version: inst[3],
        arch: inst[5],
        repository: inst[4] ?? null,
        kind: 'system',
      });
      continue;
    }
    const remv = REMV.exec(line);
    if (remv) removals.push(stripArch(remv[1]));
  }
  return { packages, removals, summary: parseAptSummary(stdout) };
}

/** `NAME/SUITE[,SUITE…] NEW ARCH [upgradable from: CURRENT]` (`apt list --upgradable`). */
const LIST_UPGRADABLE = /^([^/\s]+)\/(\S+) (\S+) (\S+) \[upgradable from: ([^\]]+)\]$/;

export function parseAptListUpgradable(stdout: string): PendingPackage[] {
  const out: PendingPackage[] = [];
  for (const line of splitLines(stdout)) {
    const m = LIST_UPGRADABLE.exec(line.trim());
    if (!m) continue; // "Listing...", blank lines
    out.push({
      name: m[1],
      current_version: m[5],
      new_version: m[3],
      arch: m[4],
      repository: m[2],
      kind: 'system',
    });
  }
  return out;
}

export interface AptProgress {
  pkg: string;
  progress: 'unpacking' | 'setting up' | 'removing';
  version: string;
  /** The version replaced (Unpacking … over (OLD)), when dpkg says. */
  from: string | null;
}

const UNPACKING = /^Unpacking (\S+) \(([^)]+)\)(?: over \(([^)]+)\))? \.\.\./;
const SETTING_UP = /^Setting up (\S+) \(([^)]+)\) \.\.\./;
const REMOVING = /^Removing (\S+) \(([^)]+)\) \.\.\./;

/** dpkg's per-package lines during a real upgrade; null for everything else. */
export function parseAptProgressLine(line: string): AptProgress | null {
  const l = line.trim();
  let m = UNPACKING.exec(l);
  if (m) return { pkg: stripArch(m[1]), progress: 'unpacking', version: m[2], from: m[3] ?? null };
  m = SETTING_UP.exec(l);
  if (m) return { pkg: stripArch(m[1]), progress: 'setting up', version: m[2], from: null };
  m = REMOVING.exec(l);
  if (m) return { pkg: stripArch(m[1]), progress: 'removing', version: m[2], from: null };
  return null;
}

export interface AptUpgradeRun {
  summary: AptSummary | null;
  /** What dpkg unpacked, with the versions it replaced. */
  packages: PendingPackage[];
  removed: string[];
}

/** A real `apt-get upgrade` (plain, or through a pty with CR/CRLF). */
export function parseAptUpgradeOutput(stdout: string): AptUpgradeRun {
  const byName = new Map<string, PendingPackage>();
  const removed: string[] = [];
  for (const line of splitLines(stdout)) {
    const p = parseAptProgressLine(line);
    if (!p) continue;
    if (p.progress === 'unpacking') {
      byName.set(p.pkg, {
        name: p.pkg,
        current_version: p.from,
        new_version: p.version,
        arch: archOf(line),
        repository: null,
        kind: 'system',
      });
    } else if (p.progress === 'removing') {
      removed.push(p.pkg);
    }
  }
  return { summary: parseAptSummary(stdout), packages: [...byName.values()], removed };
}

/**
 * Output of CMD.aptRebootRequired: `reboot-required` then the lines of
 * /var/run/reboot-required.pkgs (which repeats a package per trigger), or nothing.
 */
export function parseAptRebootRequired(stdout: string): RebootCheck {
  const lines = splitLines(stdout)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines[0] !== 'reboot-required') return { required: false, packages: [] };
  return { required: true, packages: [...new Set(lines.slice(1))] };
}

export interface AptUpdateProblems {
  /** URLs apt could not fetch (`E:` or `W: Failed to fetch URL  reason`). */
  failed: { url: string; reason: string }[];
  /** apt's own verdict that lists are stale (`Some index files failed to download`). */
  indexFilesFailed: boolean;
}

const FAILED_FETCH = /^[EW]: Failed to fetch (\S+)\s+(.*)$/;

/**
 * Fetch failures of `apt-get update`. A refused connection is only a `W:` and
 * exit 0 (fixture apt-chroot/08c), so the exit code alone proves nothing.
 */
export function parseAptUpdateProblems(stderr: string): AptUpdateProblems {
  const failed: { url: string; reason: string }[] = [];
  let indexFilesFailed = false;
  for (const line of splitLines(stderr)) {
    const m = FAILED_FETCH.exec(line.trim());
    if (m) failed.push({ url: m[1], reason: m[2].trim() });
    if (/^[EW]: Some index files failed to download/.test(line.trim())) indexFilesFailed = true;
  }
  return { failed, indexFilesFailed };
}

/** `libc6:amd64` → `libc6` (multi-arch names carry the arch). */
function stripArch(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(0, i);
}

function archOf(line: string): string | null {
  const m = /^(?:Unpacking|Setting up) [^:\s]+:(\S+) /.exec(line.trim());
  return m ? m[1] : null;
}
