// Docker Compose stacks as "packages": each service's image id is its
// version, and an update is pull + `up -d`. Per stack directory: find the
// compose file, record the containers' images, pull (if configured), `up -d`,
// record again. `images` reports the image of each *container*, so the
// "after" snapshot is taken after `up -d` — right after a pull the containers
// still run the old images.
//
// Pending updates and dry runs: Compose cannot tell whether a newer image
// exists without pulling it (and a pull changes the host). So listPending
// reports nothing, and a dry run lists the configured images
// (CMD.composeConfigImages) with new_version = current_version ("nothing will
// change that we can know of"); a configured image with no container yet has
// current_version null and the image reference as new_version.
import { TendhostError } from '../../src/errors.js';
import type { PendingPackage } from '../../src/schemas/packages.js';
import type { ExecResult, Executor } from '../exec/types.js';
import { classifyFailure } from './classify.js';
import { CMD } from './commands.js';
import {
  diffImages,
  imagePackage,
  parseComposeImages,
  parseComposePullLine,
  parseComposeUpLine,
  parseConfigImages,
  serviceKey,
  serviceOf,
  splitImageRef,
  type ComposeImage,
} from './compose-parse.js';
import { detectComposeVersion } from './detect.js';
import type { DriverContext, PackageDriver, RebootCheck, UpgradeContext, UpgradeOutcome } from './driver.js';
import { runChecked, splitLines } from './run.js';

export interface ComposeDriverOptions {
  /** Stack directories (host `compose_paths`). */
  paths: readonly string[];
  /** Pinned by config, or detected on first use when null. */
  version?: 'v1' | 'v2' | null;
  pullBeforeUpdate: boolean;
}

export class ComposeDriver implements PackageDriver {
  readonly name = 'compose' as const;
  readonly #paths: readonly string[];
  readonly #pull: boolean;
  #version: 'v1' | 'v2' | null;

  constructor(opts: ComposeDriverOptions) {
    this.#paths = opts.paths;
    this.#pull = opts.pullBeforeUpdate;
    this.#version = opts.version ?? null;
  }

  async refresh(): Promise<void> {
    // Nothing to refresh: registries are asked only by a pull.
  }

  async listPending(): Promise<PendingPackage[]> {
    return []; // see the file comment: unknowable without pulling
  }

  async upgrade(exec: Executor, ctx: UpgradeContext): Promise<UpgradeOutcome> {
    const v = await this.#versionOf(exec, ctx);
    const total: UpgradeOutcome = { upgraded: 0, new: 0, removed: 0, packages: [] };
    for (const dir of this.#paths) {
      await this.#find(exec, ctx, dir);
      const out = ctx.dryRun ? await this.#plan(exec, ctx, dir, v) : await this.#update(exec, ctx, dir, v);
      total.upgraded += out.upgraded;
      total.new += out.new;
      total.removed += out.removed;
      total.packages.push(...out.packages);
    }
    return total;
  }

  async rebootRequired(): Promise<RebootCheck> {
    return { required: false, packages: [] };
  }

  async #update(exec: Executor, ctx: UpgradeContext, dir: string, v: 'v1' | 'v2'): Promise<UpgradeOutcome> {
    const before = await this.#images(exec, ctx, dir, v);
    if (this.#pull) {
      const seen = new Set<string>();
      const report = (line: string) => {
        const p = parseComposePullLine(line);
        if (!p) return;
        const key = `${p.subject}\0${p.progress}`;
        if (seen.has(key)) return;
        seen.add(key);
        ctx.onProgress(serviceKey(dir, p.subject), p.progress);
      };
      const r = await runChecked(exec, CMD.composePull(v, dir), ctx, { onLine: report });
      // Compose writes its progress to stderr, which the executor does not
      // stream: report those lines once the pull is done.
      for (const line of splitLines(r.stderr)) report(line);
    }
    const upReport = (line: string) => {
      const p = parseComposeUpLine(line);
      if (p) ctx.onProgress(serviceKey(dir, serviceOf(p.subject, dir)), p.progress);
    };
    const up = await runChecked(exec, CMD.composeUp(v, dir), ctx, { onLine: upReport });
    for (const line of splitLines(up.stderr)) upReport(line);
    const after = await this.#images(exec, ctx, dir, v);
    return diffImages(dir, before, after);
  }

  async #plan(exec: Executor, ctx: DriverContext, dir: string, v: 'v1' | 'v2'): Promise<UpgradeOutcome> {
    const running = await this.#images(exec, ctx, dir, v);
    const r = await runChecked(exec, CMD.composeConfigImages(v, dir), ctx, { parseCritical: true });
    const packages: PendingPackage[] = [];
    for (const ref of parseConfigImages(r.stdout)) {
      const want = splitImageRef(ref);
      const matches = running.filter((i) => i.repository === want.repository && i.tag === want.tag);
      if (matches.length === 0) {
        packages.push({ name: serviceKey(dir, ref), current_version: null, new_version: ref, arch: null, repository: ref, kind: 'compose' });
      }
      for (const img of matches) {
        const pkg = imagePackage(dir, img, img.id, img.id);
        if (!packages.some((p) => p.name === pkg.name)) packages.push(pkg); // one per service, not per replica
      }
    }
    return { upgraded: 0, new: 0, removed: 0, packages };
  }

  async #images(exec: Executor, ctx: DriverContext, dir: string, v: 'v1' | 'v2'): Promise<ComposeImage[]> {
    const command = CMD.composeImages(v, dir);
    const r = await runChecked(exec, command, ctx, { parseCritical: true });
    try {
      return parseComposeImages(r.stdout);
    } catch (err) {
      throw new TendhostError('PKG_COMMAND_FAILED', `cannot parse the output of ${command}: ${(err as Error).message}`, {
        command,
        path: dir,
      });
    }
  }

  /** The stack must have a compose file; say which directory does not. */
  async #find(exec: Executor, ctx: DriverContext, dir: string): Promise<void> {
    const command = CMD.composeFind(dir);
    const r: ExecResult = await exec.run(command, { timeoutMs: ctx.timeoutMs, maxOutputBytes: ctx.maxOutputBytes });
    if (r.exitCode === 0 && r.stdout.trim() !== '') return;
    if (r.timedOut) throw classifyFailure(r, { command });
    const why = r.stderr.trim() ? `cannot enter ${dir}: ${r.stderr.trim()}` : `no compose file in ${dir}`;
    throw new TendhostError('PKG_COMMAND_FAILED', why, { command, path: dir, exitCode: r.exitCode, host: ctx.host?.name });
  }

  async #versionOf(exec: Executor, ctx: DriverContext): Promise<'v1' | 'v2'> {
    this.#version ??= await detectComposeVersion(exec, ctx);
    if (!this.#version) {
      throw new TendhostError('PKG_UNKNOWN_MANAGER', 'neither `docker compose` nor `docker-compose` answers on this host', {
        host: ctx.host?.name,
      });
    }
    return this.#version;
  }
}
