// The login shell of a simulated host: takes `sudo -n` / `sh -c` wrappers off,
// answers the commands every OS has (identity, boot id, /proc/uptime, reboot), hands
// the rest to the persona, and says "not found" like dash for anything else.
import { CMD } from '../../../workers/pkg/commands.js';
import type { SimHost } from '../host.js';
import { handleInventory } from './inventory.js';
import { exit, type ExecCtx, type Outcome, type Persona, type SimEnv } from './types.js';

/** Reads one POSIX-sh word (plain, '…', "…", \x) from the start of s. */
export function readWord(s: string): { word: string; rest: string } | null {
  let i = 0;
  let word = '';
  let any = false;
  while (i < s.length && s[i] !== ' ' && s[i] !== '\t') {
    const c = s[i];
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return null;
      word += s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\' && j + 1 < s.length) j++;
        word += s[j];
        j++;
      }
      if (j >= s.length) return null;
      i = j + 1;
    } else if (c === '\\' && i + 1 < s.length) {
      word += s[i + 1];
      i += 2;
    } else if (c === ';' || c === '&' || c === '|') {
      break;
    } else {
      word += c;
      i++;
    }
    any = true;
  }
  if (!any) return null;
  return { word, rest: s.slice(i).replace(/^[ \t]+/, '') };
}

/** The command word dash would complain about (after VAR=value assignments). */
export function commandWord(cmd: string): string {
  let rest = cmd.trim();
  for (;;) {
    const w = readWord(rest);
    if (!w) return rest.split(/\s+/)[0] ?? '';
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w.word)) {
      rest = w.rest;
      continue;
    }
    return w.word;
  }
}

const SUDO_NO_PASSWORD = 'sudo: a password is required\n';

/** Splits `sudo [-n] X` → X; `sh -c '…'` → …. Returns null when there is no wrapper. */
function unwrapSudo(cmd: string): string | null {
  const m = /^sudo(?:\s+-n)?\s+(.*)$/s.exec(cmd);
  return m ? m[1] : null;
}
function unwrapShC(cmd: string): string | null {
  if (!/^(?:\/bin\/)?(?:sh|bash) -c /.test(cmd)) return null;
  const w = readWord(cmd.replace(/^\S+ -c /, ''));
  return w && w.rest === '' ? w.word : null;
}

/** Commands the `timeout` fault swallows: the package managers and docker, never the probes. */
function isPackageCommand(cmd: string): boolean {
  if (cmd === CMD.detectTools) return false;
  return /(^|[\s;&|])(apt-get|dnf|yum|docker|docker-compose|needs-restarting|rpm)\s/.test(cmd);
}

/** /proc/uptime: seconds up and idle seconds, two decimals ("350735.47 234388.90"). */
export function procUptime(bootedAt: number, now: number): string {
  const up = Math.max(0, (now - bootedAt) / 1000);
  return `${up.toFixed(2)} ${(up * 1.7).toFixed(2)}\n`;
}

const REBOOT_DENIED =
  'Failed to set wall message, ignoring: Interactive authentication required.\n' +
  'Failed to reboot system via logind: Interactive authentication required.\n' +
  'Failed to start reboot.target: Interactive authentication required.\n' +
  "See system logs and 'systemctl status reboot.target' for details.\n" +
  'Failed to open initctl fifo: Permission denied\n' +
  'Failed to talk to init daemon.\n';

const DETECT_ORDER = ['apt-get', 'dnf', 'yum', 'docker', 'docker-compose', 'osqueryi', 'needs-restarting'];

function common(p: Persona, ctx: ExecCtx): Outcome | undefined {
  const { host, command } = ctx;
  switch (command) {
    case 'true':
      return exit(0);
    case CMD.osRelease:
      return exit(0, p.osRelease);
    case CMD.detectTools: {
      const tools = host.osquery ? [...p.tools, '/usr/bin/osqueryi'] : p.tools;
      const byName = new Map(tools.map((t) => [t.slice(t.lastIndexOf('/') + 1), t]));
      const found = DETECT_ORDER.map((n) => byName.get(n)).filter((x): x is string => !!x);
      return exit(0, found.map((f) => f + '\n').join(''));
    }
    case CMD.userId:
      return exit(0, ctx.root ? '0\n' : '1000\n');
    case CMD.bootId:
      return exit(0, host.bootId + '\n');
    case CMD.health:
      return exit(0, procUptime(host.bootedAt, ctx.env.now()));
    case CMD.unameR:
      return exit(0, host.kernel + '\n');
    case CMD.reboot:
      return ctx.root ? { kind: 'reboot' } : exit(1, '', REBOOT_DENIED);
    default:
      return undefined;
  }
}

export interface ShellIO {
  write(out: string): void;
  closed(): boolean;
}

const LOCK_TIMEOUT = / -o DPkg::Lock::Timeout=(\d+)/;

/**
 * apt's lock-wait option, taken off the command line: personas match the
 * commands of CMD without it, and the wait itself is modelled (ExecCtx).
 */
export function splitLockTimeout(command: string): { command: string; lockTimeoutS: number } {
  const m = LOCK_TIMEOUT.exec(command);
  return m ? { command: command.replace(LOCK_TIMEOUT, ''), lockTimeoutS: Number(m[1]) } : { command, lockTimeoutS: 0 };
}

/** Runs one exec request on a host, as its login shell would. */
export async function runCommand(
  persona: Persona,
  host: SimHost,
  raw: string,
  env: SimEnv,
  io: ShellIO,
): Promise<Outcome> {
  let command = raw.trim();
  let root = host.user === 'root';
  const viaShC = unwrapShC(command);
  if (viaShC !== null) command = viaShC.trim();
  const viaSudo = unwrapSudo(command);
  if (viaSudo !== null) {
    if (host.user === 'deploy-nosudo') return exit(1, '', SUDO_NO_PASSWORD);
    root = true;
    command = viaSudo.trim();
    const inner = unwrapShC(command);
    if (inner !== null) command = inner.trim();
  }

  if (host.faults.has('timeout') && isPackageCommand(command)) return { kind: 'hang' };
  if (host.faults.has('drop') && isPackageCommand(command)) return { kind: 'drop' };

  const { command: bare, lockTimeoutS } = splitLockTimeout(command);
  command = bare;
  const ctx: ExecCtx = { host, command, root, lockTimeoutS, env, write: io.write, closed: io.closed };
  const answer =
    common(persona, ctx) ??
    handleInventory(persona, host, command, env.now(), host.osquery === true) ??
    (await persona.handle(ctx));
  if (answer) return answer;

  // A `cd DIR && …` into a directory this host does not have fails in cd.
  const cd = /^cd (.*)$/s.exec(command);
  if (cd) {
    const w = readWord(cd[1]);
    if (w && w.rest.startsWith('&&')) return exit(2, '', `sh: 1: cd: can't cd to ${w.word}\n`);
  }
  return exit(127, '', `sh: 1: ${commandWord(command)}: not found\n`);
}
