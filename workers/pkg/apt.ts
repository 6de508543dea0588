// The apt driver (Debian, Ubuntu). Always `apt-get`, never `apt`: apt-get
// fails at once on a held lock where `apt` waits for it (fixture
// apt-chroot/04b3), and only apt-get has a stable output format.
import { TendhostError } from '../../common/errors.js';
import type { PendingPackage } from '../../common/schemas/packages.js';
import type { Executor } from '../exec/types.js';
import { parseAptProgressLine, parseAptRebootRequired, parseAptSimulation, parseAptUpdateProblems, parseAptUpgradeOutput } from './apt-parse.js';
import { CMD } from './commands.js';
import type { DriverContext, PackageDriver, RebootCheck, UpgradeContext, UpgradeOutcome } from './driver.js';
import { runChecked } from './run.js';

export class AptDriver implements PackageDriver {
  readonly name = 'apt' as const;

  async refresh(exec: Executor, ctx: DriverContext): Promise<void> {
    const r = await runChecked(exec, CMD.aptRefresh, ctx, { root: true });
    // Exit 0 does not mean every list was fetched: unreachable HTTP mirrors
    // are only warnings (fixture apt-chroot/08c).
    const problems = parseAptUpdateProblems(r.stderr);
    if (problems.failed.length > 0 || problems.indexFilesFailed) {
      const first = problems.failed[0];
      throw new TendhostError(
        'PKG_REPO_UNREACHABLE',
        first ? `repository unreachable: ${first.url} (${first.reason})` : 'repository unreachable: some index files failed to download',
        { command: CMD.aptRefresh, exitCode: r.exitCode, failed: problems.failed, host: ctx.host?.name },
      );
    }
  }

  async listPending(exec: Executor, ctx: DriverContext): Promise<PendingPackage[]> {
    return (await this.#simulate(exec, ctx)).packages;
  }

  async upgrade(exec: Executor, ctx: UpgradeContext): Promise<UpgradeOutcome> {
    if (ctx.dryRun) {
      const sim = await this.#simulate(exec, ctx);
      return { upgraded: sim.upgraded, new: sim.new, removed: sim.removed, packages: sim.packages };
    }
    const r = await runChecked(exec, CMD.aptUpgradeWaiting((ctx.lockTimeoutMs ?? 300_000) / 1000), ctx, {
      root: true,
      onLine: (line) => {
        const p = parseAptProgressLine(line);
        if (p) ctx.onProgress(p.pkg, p.progress);
      },
    });
    const run = parseAptUpgradeOutput(r.stdout);
    // The summary line is apt's own count; the dpkg lines (which a truncated
    // output may lack) are the fallback.
    return {
      upgraded: run.summary?.upgraded ?? run.packages.filter((p) => p.current_version !== null).length,
      new: run.summary?.newlyInstalled ?? run.packages.filter((p) => p.current_version === null).length,
      removed: run.summary?.removed ?? run.removed.length,
      packages: run.packages,
    };
  }

  async rebootRequired(exec: Executor, ctx: DriverContext): Promise<RebootCheck> {
    const r = await runChecked(exec, CMD.aptRebootRequired, ctx);
    return parseAptRebootRequired(r.stdout);
  }

  /** The read-only simulation: no root, no lock (Debug::NoLocking). */
  async #simulate(exec: Executor, ctx: DriverContext) {
    const r = await runChecked(exec, CMD.aptSimulate, ctx, { parseCritical: true });
    const sim = parseAptSimulation(r.stdout);
    if (!sim.summary) {
      throw new TendhostError('PKG_COMMAND_FAILED', 'apt-get -s printed no summary line', {
        command: CMD.aptSimulate,
        host: ctx.host?.name,
      });
    }
    const upgrades = sim.packages.filter((p) => p.current_version !== null).length;
    if (upgrades !== sim.summary.upgraded + sim.summary.downgraded + sim.summary.reinstalled) {
      // The Inst lines and apt's count disagree: the output is not what we parse.
      throw new TendhostError(
        'PKG_COMMAND_FAILED',
        `apt-get -s listed ${upgrades} upgrades but its summary says ${sim.summary.upgraded}`,
        { command: CMD.aptSimulate, host: ctx.host?.name },
      );
    }
    return {
      packages: sim.packages,
      upgraded: sim.summary.upgraded,
      new: sim.summary.newlyInstalled,
      removed: sim.summary.removed,
    };
  }
}
