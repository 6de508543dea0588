// Pure parsers for what dnf (4 and 5) and yum print (LANG=C). Formats checked
// against test/fixtures/dnf; wrapped rows and the obsoletes section
// follow dnf's and yum's output.py.
import type { PendingPackage } from '../../common/schemas/packages.js';
import type { RebootCheck } from './driver.js';
import { splitLines } from './run.js';

/** `version-release`, optionally with `epoch:` (what check-update prints). */
const EVR = /^(?:\d+:)?[^\s:-]+-[^\s-]+$/;
/** `name.arch` — the arch has no dots (`noarch`, `x86_64`, `i686`, `aarch64`…). */
const NAME_ARCH = /^(\S+)\.([A-Za-z0-9_]+)$/;
/** `tendhost local fixtures   3.4 MB/s | 3.4 kB     00:00` — repo download lines. */
const SPEED_LINE = /\d(?:\.\d+)?\s*[kMGT]?B\/s\s*\|/;

function isNoise(line: string): boolean {
  return (
    line.startsWith('Last metadata expiration check:') ||
    SPEED_LINE.test(line) ||
    /^Security: /.test(line) ||
    /^(?:Errors during downloading metadata|Error: |Ignoring repositories:|\s+- Curl error)/.test(line)
  );
}

/**
 * `dnf check-update` rows: `name.arch  version  repo`, columns padded. A name
 * too long for its column goes on a line of its own and the rest follows,
 * indented, on the next (yum, and dnf on narrow terminals). Rows under
 * `Obsoleting Packages` are the obsoleting package (kept when not listed
 * already) and, indented, the installed package it replaces (skipped).
 */
export function parseCheckUpdate(stdout: string): PendingPackage[] {
  const out: PendingPackage[] = [];
  const seen = new Set<string>();
  let inObsoletes = false;
  let pending: string[] = [];

  const emit = (t: string[]) => {
    const na = NAME_ARCH.exec(t[0]);
    if (!na || !EVR.test(t[1])) return;
    const key = `${na[1]}.${na[2]}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ name: na[1], current_version: null, new_version: t[1], arch: na[2], repository: t[2], kind: 'system' });
  };

  for (const raw of splitLines(stdout)) {
    const line = raw.replace(/\s+$/, '');
    if (line === '' || isNoise(line)) {
      pending = [];
      continue;
    }
    if (/^Obsoleting Packages/.test(line)) {
      inObsoletes = true;
      pending = [];
      continue;
    }
    const indented = /^\s/.test(line);
    // In the obsoletes section an indented full row is the replaced package.
    if (inObsoletes && indented && pending.length === 0) continue;
    const tokens = line.trim().split(/\s+/);
    pending = indented && pending.length > 0 ? [...pending, ...tokens] : tokens;
    if (pending.length >= 3) {
      if (pending.length === 3) emit(pending);
      pending = [];
    }
  }
  return out;
}

export type DnfSection = 'upgrade' | 'install' | 'remove' | 'downgrade' | 'reinstall' | 'skip';

/** Transaction table section headers (dnf 4, dnf 5, yum). */
function sectionOf(header: string): DnfSection {
  const h = header.toLowerCase();
  if (h.startsWith('upgrading') || h.startsWith('updating')) return 'upgrade';
  if (h.startsWith('installing')) return 'install'; // also "Installing dependencies:", "… weak dependencies:"
  if (h.startsWith('removing') || h.startsWith('erasing')) return 'remove';
  if (h.startsWith('downgrading')) return 'downgrade';
  if (h.startsWith('reinstalling')) return 'reinstall';
  return 'skip'; // "Skipping packages with conflicts:", "Installing module profiles:", …
}

const SUMMARY_KEY = {
  Upgrad: 'upgrade',
  Install: 'install',
  Remov: 'remove',
  Downgrad: 'downgrade',
  Reinstall: 'reinstall',
} as const satisfies Record<string, keyof NonNullable<DnfTransaction['summary']>>;

export interface DnfTransaction {
  /** Packages installed, upgraded, downgraded or reinstalled. */
  packages: PendingPackage[];
  upgraded: number;
  installed: number;
  removed: number;
  /** "Nothing to do." — an empty transaction. */
  nothingToDo: boolean;
  /** The `Transaction Summary` counts, when printed. */
  summary: { upgrade: number; install: number; remove: number; downgrade: number; reinstall: number } | null;
}

/**
 * The table that `upgrade`, `upgrade -y` and `--assumeno upgrade` print after
 * "Dependencies resolved.": rows ` name  arch  version  repo  size` under
 * section headers, a wrapped name on a line of its own, and `replacing` lines
 * that name the installed package a row replaces (dnf 4: `replacing
 * name.arch version`, dnf 5: `replacing name arch version repo size`).
 */
export function parseDnfTransaction(stdout: string): DnfTransaction {
  const lines = splitLines(stdout);
  const packages: PendingPackage[] = [];
  const counts = { upgrade: 0, install: 0, remove: 0, downgrade: 0, reinstall: 0, skip: 0 };
  let summary: DnfTransaction['summary'] = null;
  let inTable = false;
  let section: DnfSection | null = null;
  let wrappedName: string | null = null;
  let last: PendingPackage | null = null;

  for (const raw of lines) {
    const line = raw.replace(/\s+$/, '');
    const t = line.trim();
    if (/^Package\s+Arch(itecture)?\s+Version\s+Repository\s+Size$/.test(t)) {
      inTable = true;
      continue;
    }
    // dnf 4/yum: "Transaction Summary"; dnf 5: "Transaction Summary:".
    if (/^Transaction Summary:?$/.test(t)) {
      inTable = false;
      summary = { upgrade: 0, install: 0, remove: 0, downgrade: 0, reinstall: 0 };
      continue;
    }
    if (summary && !inTable) {
      // dnf 4: `Upgrade  1 Package`; dnf 5: `Upgrading:   1 package`.
      const m = /^(Upgrad|Install|Remov|Downgrad|Reinstall)\w*:?\s+(\d+) [Pp]ackages?$/.exec(t);
      if (m) summary[SUMMARY_KEY[m[1] as keyof typeof SUMMARY_KEY]] = Number(m[2]);
      continue;
    }
    if (!inTable || t === '' || /^=+$/.test(t)) continue;
    if (!/^\s/.test(line) && t.endsWith(':')) {
      section = sectionOf(t);
      continue;
    }
    const tokens = t.split(/\s+/);
    if (tokens[0] === 'replacing') {
      if (last) last.current_version = replacedVersion(tokens.slice(1), last.name);
      continue;
    }
    if (tokens.length === 1 && !wrappedName) {
      wrappedName = tokens[0];
      continue;
    }
    const row = wrappedName ? [wrappedName, ...tokens] : tokens;
    wrappedName = null;
    if (row.length < 4 || section === null || section === 'skip') continue;
    counts[section]++;
    if (section === 'remove') continue;
    last = { name: row[0], current_version: null, new_version: row[2], arch: row[1], repository: row[3], kind: 'system' };
    packages.push(last);
  }
  return {
    packages,
    upgraded: summary ? summary.upgrade : counts.upgrade,
    installed: summary ? summary.install : counts.install,
    removed: summary ? summary.remove : counts.remove,
    nothingToDo: lines.some((l) => l.trim() === 'Nothing to do.'),
    summary,
  };
}

function replacedVersion(tokens: string[], name: string): string | null {
  // dnf 4: `name.arch version`; dnf 5: `name arch version repo size`.
  if (tokens.length >= 2 && NAME_ARCH.exec(tokens[0])?.[1] === name) return tokens[1];
  if (tokens.length >= 3 && tokens[0] === name) return tokens[2];
  return null;
}

export interface NevraParts {
  name: string;
  version: string;
  arch: string;
}

/** `tendhost-fixture-1.1-1.noarch` (also with `epoch:`) → name, version-release, arch. */
export function splitNevra(s: string): NevraParts | null {
  const m = /^(.+)-((?:\d+:)?[^-]+-[^-]+)\.([A-Za-z0-9_]+)$/.exec(s);
  return m ? { name: m[1], version: m[2], arch: m[3] } : null;
}

export interface DnfProgress {
  pkg: string;
  progress: string;
  nevra: NevraParts;
}

/** `  Upgrading        : tendhost-fixture-1.1-1.noarch     1/2` */
const STEP = /^\s*(Installing|Upgrading|Updating|Cleanup|Cleaning up|Verifying|Erasing|Removing|Obsoleting|Obsoleted|Downgrading|Reinstalling)\s*: (\S+)\s+\d+\/\d+\s*$/;

export function parseDnfProgressLine(line: string): DnfProgress | null {
  const m = STEP.exec(line);
  if (!m) return null;
  const nevra = splitNevra(m[2]);
  if (!nevra) return null;
  return { pkg: nevra.name, progress: m[1].toLowerCase(), nevra };
}

/** The versions `Cleanup` lines say were replaced (dnf 4 prints the old NEVRA there). */
export function cleanedUpVersions(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of splitLines(stdout)) {
    const p = parseDnfProgressLine(line);
    if (p && (p.progress === 'cleanup' || p.progress === 'cleaning up')) out.set(`${p.nevra.name}.${p.nevra.arch}`, p.nevra.version);
  }
  return out;
}

/**
 * `needs-restarting -r`: exit 1 with "Reboot is required" = reboot, exit 0 =
 * none. Anything else (a missing plugin also exits 1: "No such command") is
 * inconclusive: null.
 */
export function parseNeedsRestarting(stdout: string, exitCode: number | null): RebootCheck | null {
  if (exitCode === 0 && /Reboot should not be necessary/.test(stdout)) return { required: false, packages: [] };
  if (exitCode === 1 && /Reboot is required/.test(stdout)) {
    const packages = splitLines(stdout)
      .map((l) => /^\s+\*\s+(\S+)/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);
    return { required: true, packages };
  }
  if (exitCode === 0) return { required: false, packages: [] };
  return null;
}

/**
 * Output of CMD.rpmKernelCheck: the newest installed kernel package (`rpm -q
 * --last` sorts by install time), `--`, then `uname -r`.
 */
export function parseKernelCheck(stdout: string): RebootCheck {
  const lines = splitLines(stdout).map((l) => l.trim());
  const sep = lines.indexOf('--');
  const before = sep < 0 ? [] : lines.slice(0, sep);
  const running = sep < 0 ? undefined : lines.slice(sep + 1).find((l) => l !== '');
  const newest = before.find((l) => l !== '' && !/is not installed/.test(l));
  if (!newest || !running) return { required: false, packages: [] };
  const nvra = newest.split(/\s+/)[0];
  const m = /^(kernel(?:-core)?)-(.+)$/.exec(nvra);
  if (!m) return { required: false, packages: [] };
  return m[2] === running ? { required: false, packages: [] } : { required: true, packages: [m[1]] };
}
