// Text that dnf 4 prints (LANG=C, no terminal: 80 columns), built like the
// fixtures in test/fixtures/dnf.
import type { PendingPkg } from '../host.js';

/** dnf's format_number: binary steps, one decimal below 10. */
export function dnfSize(bytes: number): string {
  const symbols = [' ', 'k', 'M', 'G', 'T'];
  let v = bytes;
  let depth = 0;
  while (v > 999 && depth < symbols.length - 1) {
    v /= 1024;
    depth++;
  }
  if (depth === 0) return String(Math.round(v));
  return v < 9.95 ? `${v.toFixed(1)} ${symbols[depth]}` : `${Math.round(v)} ${symbols[depth]}`;
}

/** "Sat Nov 28 01:39:34 2026" (Python's time.ctime, UTC here). */
function ctime(ms: number): string {
  const d = new Date(ms);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${day} ${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

export function metadataLine(checkedAt: number, now: number): string {
  const age = Math.max(0, Math.floor((now - checkedAt) / 1000));
  const h = Math.floor(age / 3600);
  const m = Math.floor((age % 3600) / 60);
  const s = age % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return `Last metadata expiration check: ${h}:${mmss} ago on ${ctime(checkedAt)}.\n`;
}

function nevra(p: PendingPkg, v: string): string {
  // rpm drops the epoch from NEVRA in transaction lines.
  return `${p.name}-${v.replace(/^\d+:/, '')}.${p.arch}`;
}

/** `dnf -q check-update` (fixture dnf/01c): blank line, then name.arch  version  repo. */
export function checkUpdate(pending: readonly PendingPkg[]): string {
  if (pending.length === 0) return '';
  const w1 = Math.max(41, ...pending.map((p) => p.name.length + p.arch.length + 1));
  const w2 = Math.max(23, ...pending.map((p) => p.to.length));
  let out = '\n';
  for (const p of pending) {
    out += `${`${p.name}.${p.arch}`.padEnd(w1)} ${p.to.padEnd(w2)} ${p.origin}\n`;
  }
  return out;
}

const RULE = '='.repeat(80) + '\n';

/** The "Dependencies resolved." table shared by `upgrade -y` and `--assumeno upgrade` (fixtures dnf/04, 05). */
export function transactionTable(pending: readonly PendingPkg[]): string {
  const w = [
    Math.max(23, ...pending.map((p) => p.name.length)),
    Math.max(13, ...pending.map((p) => p.arch.length)),
    Math.max(12, ...pending.map((p) => p.to.length)),
    Math.max(21, ...pending.map((p) => p.origin.length)),
    Math.max(5, ...pending.map((p) => dnfSize(p.size).length)),
  ];
  const row = (a: string, b: string, c: string, d: string, e: string) =>
    ` ${a.padEnd(w[0])} ${b.padEnd(w[1])} ${c.padEnd(w[2])} ${d.padEnd(w[3])} ${e.padStart(w[4])}\n`;
  const total = pending.reduce((s, p) => s + p.size, 0);
  const n = pending.length;
  return (
    'Dependencies resolved.\n' +
    RULE +
    row('Package', 'Architecture', 'Version', 'Repository', 'Size') +
    RULE +
    'Upgrading:\n' +
    pending.map((p) => row(p.name, p.arch, p.to, p.origin, dnfSize(p.size))).join('') +
    '\n' +
    'Transaction Summary\n' +
    RULE +
    `Upgrade  ${n} Package${n === 1 ? '' : 's'}\n` +
    '\n' +
    `Total size: ${dnfSize(total)}\n`
  );
}

function step(op: string, what: string, count: string): string {
  const prefix = `  ${op.padEnd(17)}: ${what}`;
  return prefix + count.padStart(Math.max(count.length + 1, 79 - prefix.length)) + ' \n';
}

/** `dnf -y upgrade` (fixture dnf/05). */
export function upgradeOutput(pending: readonly PendingPkg[], metadata: string): string {
  if (pending.length === 0) return metadata + 'Dependencies resolved.\nNothing to do.\nComplete!\n';
  const n = pending.length;
  const t = 2 * n;
  let out = metadata + transactionTable(pending);
  out +=
    'Downloading Packages:\n' +
    'Running transaction check\n' +
    'Transaction check succeeded.\n' +
    'Running transaction test\n' +
    'Transaction test succeeded.\n' +
    'Running transaction\n';
  out += step('Preparing', '', '1/1');
  pending.forEach((p, i) => (out += step('Upgrading', nevra(p, p.to), `${i + 1}/${t}`)));
  pending.forEach((p, i) => (out += step('Cleanup', nevra(p, p.from), `${n + i + 1}/${t}`)));
  pending.forEach((p, i) => (out += step('Verifying', nevra(p, p.to), `${i + 1}/${t}`)));
  pending.forEach((p, i) => (out += step('Verifying', nevra(p, p.from), `${n + i + 1}/${t}`)));
  out += '\nUpgraded:\n';
  for (const p of pending) out += `  ${nevra(p, p.to)}`.padEnd(80) + '\n';
  out += '\nComplete!\n';
  return out;
}

/** `dnf --assumeno upgrade` (fixture dnf/04): stdout table, stderr "Operation aborted.", exit 1. */
export function assumeNoOutput(pending: readonly PendingPkg[], metadata: string): { stdout: string; stderr: string; code: number } {
  if (pending.length === 0) {
    return { stdout: metadata + 'Dependencies resolved.\nNothing to do.\nComplete!\n', stderr: '', code: 0 };
  }
  return { stdout: metadata + transactionTable(pending), stderr: 'Operation aborted.\n', code: 1 };
}

/** An rpm transaction that fails its test (file conflict): stdout up to the test, error on stderr, exit 1. */
export function upgradeFailure(pending: readonly PendingPkg[], metadata: string): { stdout: string; stderr: string; code: number } {
  const p = pending[pending.length - 1];
  const stdout =
    metadata +
    transactionTable(pending) +
    'Downloading Packages:\n' +
    'Running transaction check\n' +
    'Transaction check succeeded.\n' +
    'Running transaction test\n' +
    'The downloaded packages were saved in cache until the next successful transaction.\n' +
    "You can remove cached packages by executing 'dnf clean packages'.\n";
  const stderr =
    'Error: Transaction test error:\n' +
    `  file /usr/share/doc/${p.name}/README from install of ${nevra(p, p.to)} conflicts with file from package ${p.name}-compat-1.0-1.fc39.${p.arch}\n` +
    '\n';
  return { stdout, stderr, code: 1 };
}

export function needsRestarting(required: boolean, pkgs: readonly string[]): { stdout: string; code: number } {
  if (!required) {
    return {
      stdout: 'No core libraries or services have been updated since boot-up.\nReboot should not be necessary.\n',
      code: 0,
    };
  }
  return {
    stdout:
      'Core libraries or services have been updated since boot-up:\n' +
      pkgs.map((p) => `  * ${p}\n`).join('') +
      '\n' +
      'Reboot is required to fully utilize these updates.\n' +
      'More information: https://access.redhat.com/solutions/27943\n',
    code: 1,
  };
}

export const DNF_ERR = {
  /** dnf 4's transaction test on a full root filesystem. */
  diskFull:
    'Running transaction check\nTransaction check succeeded.\nRunning transaction test\n' +
    'Error: Transaction test error:\n  installing package kernel-core needs 48MB more space on the / filesystem\n\n' +
    'Error Summary\n-------------\nDisk Requirements:\n   At least 48MB more space needed on the / filesystem.\n\n',
  notRoot: 'Error: This command has to be run with superuser privileges (under the root user on most systems).\n',
  waitingForLock: 'Waiting for process with pid 4242 to finish.\n',
} as const;
