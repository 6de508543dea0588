// Fedora 39 with dnf 4 (yum is dnf there): check-update exits 100 while
// updates are pending and 0 after an upgrade; `dnf needs-restarting -r` exits 1
// until the host reboots.
import { CMD } from '../../../workers/pkg/commands.js';
import { applyUpgrade } from './debian.js';
import {
  assumeNoOutput,
  checkUpdate,
  DNF_ERR,
  metadataLine,
  needsRestarting,
  upgradeFailure,
  upgradeOutput,
} from './dnf-output.js';
import { exit, type ExecCtx, type Outcome, type Persona } from './types.js';

export const FEDORA_OS_RELEASE =
  'NAME="Fedora Linux"\n' +
  'VERSION="39 (Server Edition)"\n' +
  'ID=fedora\n' +
  'VERSION_ID=39\n' +
  'VERSION_CODENAME=""\n' +
  'PLATFORM_ID="platform:f39"\n' +
  'PRETTY_NAME="Fedora Linux 39 (Server Edition)"\n' +
  'ANSI_COLOR="0;38;2;60;110;180"\n' +
  'LOGO=fedora-logo-icon\n' +
  'CPE_NAME="cpe:/o:fedoraproject:fedora:39"\n' +
  'HOME_URL="https://fedoraproject.org/"\n' +
  'DOCUMENTATION_URL="https://docs.fedoraproject.org/en-US/fedora/f39/system-administrators-guide/"\n' +
  'SUPPORT_URL="https://ask.fedoraproject.org/"\n' +
  'BUG_REPORT_URL="https://bugzilla.redhat.com/"\n' +
  'REDHAT_BUGZILLA_PRODUCT="Fedora"\n' +
  'REDHAT_BUGZILLA_PRODUCT_VERSION=39\n' +
  'REDHAT_SUPPORT_PRODUCT="Fedora"\n' +
  'REDHAT_SUPPORT_PRODUCT_VERSION=39\n' +
  'SUPPORT_END=2024-11-12\n' +
  'VARIANT="Server Edition"\n' +
  'VARIANT_ID=server\n';

export const FEDORA_KERNEL = '6.5.6-300.fc39.x86_64';
export const FEDORA_NEXT_KERNEL = '6.11.9-100.fc39.x86_64';

/** Polls while the `lock` fault holds, as dnf waits for another dnf's pid. */
async function waitForLock(ctx: ExecCtx): Promise<boolean> {
  if (!ctx.host.faults.has('lock')) return true;
  ctx.write(DNF_ERR.waitingForLock);
  while (ctx.host.faults.has('lock')) {
    if (ctx.closed() || ctx.env.stopped()) return false;
    await ctx.env.sleep(250);
  }
  return !ctx.closed();
}

async function upgrade(ctx: ExecCtx): Promise<Outcome> {
  const { host } = ctx;
  if (!ctx.root) return exit(1, '', DNF_ERR.notRoot);
  if (!(await waitForLock(ctx))) return { kind: 'hang' };
  const meta = metadataLine(host.metadataAt, ctx.env.now());
  if (host.faults.has('disk-full') && host.pending.length > 0) return exit(1, '', DNF_ERR.diskFull);
  if (host.faults.has('upgrade-fail') && host.pending.length > 0) {
    const r = upgradeFailure(host.pending, meta);
    return exit(r.code, r.stdout, r.stderr);
  }
  const out = upgradeOutput(host.pending, meta);
  applyUpgrade(host, [...host.pending], FEDORA_NEXT_KERNEL);
  if (host.nextKernel) host.installedKernel = `kernel-core-${FEDORA_NEXT_KERNEL}`;
  return exit(0, out);
}

function handleDnf(ctx: ExecCtx): Outcome | Promise<Outcome> | undefined {
  const { host, command, root } = ctx;
  for (const tool of ['dnf', 'yum'] as const) {
    switch (command) {
      case CMD.rpmCheckUpdate(tool): {
        const out = checkUpdate(host.pending);
        return exit(host.pending.length > 0 ? 100 : 0, out);
      }
      case CMD.rpmUpgrade(tool):
        return upgrade(ctx);
      case CMD.rpmUpgradeDryRun(tool): {
        if (!root) return exit(1, '', DNF_ERR.notRoot);
        const r = assumeNoOutput(host.pending, metadataLine(host.metadataAt, ctx.env.now()));
        return exit(r.code, r.stdout, r.stderr);
      }
    }
  }
  if (command === CMD.rpmNeedsRestarting('dnf')) {
    const r = needsRestarting(host.rebootRequired, host.rebootPkgs);
    return exit(r.code, r.stdout);
  }
  if (command === CMD.rpmKernelCheck) {
    const when = new Date(host.metadataAt).toUTCString().replace(/GMT$/, 'UTC');
    return exit(0, `${host.installedKernel.padEnd(45)} ${when}\n--\n${host.kernel}\n`);
  }
  return undefined;
}

export const fedora: Persona = {
  name: 'fedora',
  osRelease: FEDORA_OS_RELEASE,
  tools: ['/usr/bin/dnf', '/usr/bin/yum'],
  handle: handleDnf,
};
