// Debian 12 with apt-get: answers CMD.aptRefresh, aptSimulate, aptUpgrade and
// aptRebootRequired; a real upgrade empties the pending list and (when the
// host says so) leaves /var/run/reboot-required behind.
import { CMD } from '../../../workers/pkg/commands.js';
import type { SimHost } from '../host.js';
import { APT_ERR, aptSimulate, aptUpdate, aptUpgrade } from './apt-output.js';
import { exit, type ExecCtx, type Outcome, type Persona } from './types.js';

export const DEBIAN_OS_RELEASE =
  'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' +
  'NAME="Debian GNU/Linux"\n' +
  'VERSION_ID="12"\n' +
  'VERSION="12 (bookworm)"\n' +
  'VERSION_CODENAME=bookworm\n' +
  'ID=debian\n' +
  'HOME_URL="https://www.debian.org/"\n' +
  'SUPPORT_URL="https://www.debian.org/support"\n' +
  'BUG_REPORT_URL="https://bugs.debian.org/"\n';

export const DEBIAN_KERNEL = '6.1.0-28-amd64';
export const DEBIAN_NEXT_KERNEL = '6.1.0-31-amd64';

/** Marks the upgraded packages installed and, if the host wants it, a reboot required. */
export function applyUpgrade(host: SimHost, upgraded: readonly { name: string }[], nextKernel: string): void {
  if (upgraded.length === 0) return;
  const done = new Set(upgraded.map((p) => p.name));
  host.pending = host.pending.filter((p) => !done.has(p.name));
  if (host.upgradeNeedsReboot) {
    host.rebootRequired = true;
    for (const p of upgraded) if (!host.rebootPkgs.includes(p.name)) host.rebootPkgs.push(p.name);
    host.nextKernel = nextKernel;
  }
}

/** With the `lock` fault, apt waits up to its DPkg::Lock::Timeout for the holder (none given: fails at once). */
async function lockFreed(ctx: ExecCtx): Promise<boolean> {
  const deadline = ctx.env.now() + ctx.lockTimeoutS * 1000;
  while (ctx.host.faults.has('lock')) {
    if (ctx.closed() || ctx.env.stopped() || ctx.env.now() >= deadline) return false;
    await ctx.env.sleep(Math.min(250, deadline - ctx.env.now()));
  }
  return true;
}

async function upgrade(ctx: ExecCtx): Promise<Outcome> {
  const { host } = ctx;
  if (!(await lockFreed(ctx))) return ctx.closed() ? { kind: 'hang' } : exit(100, '', APT_ERR.frontendLock);
  if (host.faults.has('disk-full') && host.pending.length > 0) return exit(100, '', APT_ERR.diskFull);
  const failAt = host.faults.has('upgrade-fail') && host.pending.length > 0 ? host.pending[host.pending.length - 1] : null;
  const r = aptUpgrade(host.pending, failAt);
  applyUpgrade(host, r.upgraded, DEBIAN_NEXT_KERNEL);
  return exit(r.code, r.stdout, r.stderr);
}

export function handleApt(ctx: ExecCtx): Outcome | Promise<Outcome> | undefined {
  const { host, command, root } = ctx;
  switch (command) {
    case CMD.aptRefresh: {
      if (!root) return exit(100, '', APT_ERR.notRootUpdate);
      if (host.faults.has('lock')) return exit(100, '', APT_ERR.listsLock);
      const first = !host.refreshed;
      host.refreshed = true;
      return exit(0, aptUpdate(first));
    }
    case CMD.aptSimulate:
      // Debug::NoLocking: works for any user and ignores the lock.
      return exit(0, aptSimulate(host.pending));
    case CMD.aptUpgrade:
      if (!root) return exit(100, '', APT_ERR.notRootUpgrade);
      return upgrade(ctx);
    case CMD.aptRebootRequired:
      if (!host.rebootRequired) return exit(0);
      return exit(0, 'reboot-required\n' + host.rebootPkgs.map((p) => p + '\n').join(''));
    default:
      return undefined;
  }
}

export const debian: Persona = {
  name: 'debian',
  osRelease: DEBIAN_OS_RELEASE,
  tools: ['/usr/bin/apt-get'],
  handle: handleApt,
};
