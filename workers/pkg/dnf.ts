// The dnf driver (Fedora, RHEL 8+, and through the same CLI yum on EL7).
// check-update refreshes expired metadata by itself, so there is no separate
// refresh step. Repositories skipped because of `skip_if_unavailable=True`
// are not an error here: that is the admin's explicit choice, and Debian's
// dnf always skips its `_dnf_local` plugin repo (fixtures dnf/08b,
// debian-artifacts), so treating it as a failure would fail every host.
import { TendhostError } from '../../common/errors.js';
import type { PendingPackage } from '../../common/schemas/packages.js';
import type { Executor } from '../exec/types.js';
import { classifyFailure } from './classify.js';
import { CMD } from './commands.js';
import { cleanedUpVersions, parseCheckUpdate, parseDnfProgressLine, parseDnfTransaction, parseKernelCheck, parseNeedsRestarting } from './dnf-parse.js';
import type { DriverContext, PackageDriver, RebootCheck, UpgradeContext, UpgradeOutcome } from './driver.js';
import { runChecked } from './run.js';
import { LockWait } from './lock-wait.js';

export interface DnfDriverOptions {
  /**
   * Whether a `needs-restarting` binary was found (yum-utils). dnf has it as a
   * plugin command, which `command -v` cannot see, so for dnf it is only tried.
   */
  needsRestarting?: boolean;
}

export class DnfDriver implements PackageDriver {
  readonly name: 'dnf' | 'yum';
  readonly #needsRestarting: boolean;

  constructor(tool: 'dnf' | 'yum' = 'dnf', opts: DnfDriverOptions = {}) {
    this.name = tool;
    this.#needsRestarting = opts.needsRestarting ?? tool === 'dnf';
  }

  async refresh(): Promise<void> {
    // check-update refreshes expired metadata itself.
  }

  async listPending(exec: Executor, ctx: DriverContext): Promise<PendingPackage[]> {
    const command = CMD.rpmCheckUpdate(this.name);
    // 100 = updates available, 0 = none; anything else is an error.
    const r = await runChecked(exec, command, ctx, { okExit: [0, 100], parseCritical: true });
    if (r.exitCode === 0) return [];
    const pending = parseCheckUpdate(r.stdout);
    if (pending.length === 0) {
      throw new TendhostError('PKG_COMMAND_FAILED', `${this.name} check-update said updates exist but listed none`, {
        command,
        host: ctx.host?.name,
      });
    }
    return pending;
  }

  async upgrade(exec: Executor, ctx: UpgradeContext): Promise<UpgradeOutcome> {
    return ctx.dryRun ? this.#dryRun(exec, ctx) : this.#upgrade(exec, ctx);
  }

  async rebootRequired(exec: Executor, ctx: DriverContext): Promise<RebootCheck> {
    if (this.#needsRestarting) {
      const r = await exec.run(CMD.rpmNeedsRestarting(this.name), { timeoutMs: ctx.timeoutMs, maxOutputBytes: ctx.maxOutputBytes });
      if (!r.timedOut) {
        const verdict = parseNeedsRestarting(r.stdout, r.exitCode);
        if (verdict) return verdict;
      }
      // Not installed (exit 127, or dnf's "No such command"), or it failed:
      // fall back to comparing kernels.
    }
    const k = await runChecked(exec, CMD.rpmKernelCheck, ctx);
    return parseKernelCheck(k.stdout);
  }

  async #upgrade(exec: Executor, ctx: UpgradeContext): Promise<UpgradeOutcome> {
    const lockWait = new LockWait(ctx.lockTimeoutMs ?? 300_000);
    let r;
    try {
      r = await runChecked(exec, CMD.rpmUpgrade(this.name), ctx, {
        root: true,
        signal: lockWait.signal,
        onLine: (line) => {
          lockWait.line(line);
          const p = parseDnfProgressLine(line);
          if (p) ctx.onProgress(p.pkg, p.progress);
        },
      });
    } catch (err) {
      throw lockWait.explain(err);
    } finally {
      lockWait.done();
    }
    const tx = parseDnfTransaction(r.stdout);
    // The table has no installed versions; the Cleanup steps name them.
    const replaced = cleanedUpVersions(r.stdout);
    for (const p of tx.packages) p.current_version ??= replaced.get(`${p.name}.${p.arch}`) ?? null;
    return outcome(tx);
  }

  /**
   * `--assumeno` resolves the transaction, prints it and answers "no": exit 1
   * and "Operation aborted." is the expected end (fixture dnf/04). It needs
   * root like a real upgrade (dnf refuses to resolve a transaction otherwise).
   */
  async #dryRun(exec: Executor, ctx: UpgradeContext): Promise<UpgradeOutcome> {
    const command = CMD.rpmUpgradeDryRun(this.name);
    const r = await exec.run(command, { timeoutMs: ctx.timeoutMs, maxOutputBytes: ctx.maxOutputBytes, root: true });
    const aborted = r.exitCode === 1 && /Operation aborted/.test(r.stderr + r.stdout);
    const tx = parseDnfTransaction(r.stdout);
    const ok = !r.timedOut && !r.truncated && (aborted || (r.exitCode === 0 && tx.nothingToDo));
    if (!ok) throw classifyFailure(r, { command, parseCritical: true });
    return outcome(tx);
  }
}

function outcome(tx: ReturnType<typeof parseDnfTransaction>): UpgradeOutcome {
  return { upgraded: tx.upgraded, new: tx.installed, removed: tx.removed, packages: tx.packages };
}
