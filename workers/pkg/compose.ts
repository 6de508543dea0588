// Docker Compose stacks as "packages": each service's image digest is its
// version. Pending updates are found without pulling, as Watchtower and Diun
// do: per service, the RepoDigests of the image its container runs (or of the
// tag's local image, before any container exists) against the digest the
// registry serves for its tag now (registry.ts). An update pulls and
// recreates only the services whose tag moved, then checks each one runs the
// new image (compose-verify.ts). Services built on the host (`build:`) or
// pinned to a digest are never updated; a service whose registry fails is
// skipped with that error and does not fail the host.
import { TendhostError } from '../../common/errors.js';
import type { PendingPackage, SkippedPackage } from '../../common/schemas/packages.js';
import type { ExecResult, Executor } from '../exec/types.js';
import { classifyFailure } from './classify.js';
import { CMD } from './commands.js';
import { parseComposePullLine, parseComposeUpLine, serviceKey, serviceOf } from './compose-parse.js';
import { containerIds, parseComposeConfig, parseContainerStates, parseImageDigests, type ComposeService, type LocalImage } from './compose-services.js';
import { verifyServices } from './compose-verify.js';
import { detectComposeVersion } from './detect.js';
import type { DriverContext, PackageDriver, RebootCheck, UpgradeContext, UpgradeOutcome } from './driver.js';
import { digestFor, parseImageRef, type ImageRef } from './image-ref.js';
import { readCredentials, registryDigest, type Credentials } from './registry.js';
import { lineSplitter, runChecked } from './run.js';

export interface ComposeDriverOptions {
  /** Stack directories (host `compose_paths`). */
  paths: readonly string[];
  /** Pinned by config, or detected on first use when null. */
  version?: 'v1' | 'v2' | null;
  pullBeforeUpdate: boolean;
}

/** One service whose tag moved in its registry. */
interface Moved {
  service: string;
  ref: ImageRef;
  /** Local digest for the tag (null: no local image, or one without a registry digest). */
  current: string | null;
  next: string;
}

interface StackPlan {
  dir: string;
  moved: Moved[];
  skipped: SkippedPackage[];
}

export class ComposeDriver implements PackageDriver {
  readonly name = 'compose' as const;
  readonly #paths: readonly string[];
  readonly #pull: boolean;
  #version: 'v1' | 'v2' | null;
  #incomplete = false;

  constructor(opts: ComposeDriverOptions) {
    this.#paths = opts.paths;
    this.#pull = opts.pullBeforeUpdate;
    this.#version = opts.version ?? null;
  }

  get incomplete(): boolean {
    return this.#incomplete;
  }

  async refresh(): Promise<void> {
    // Nothing to refresh: every check asks the registries afresh.
  }

  async listPending(exec: Executor, ctx: DriverContext): Promise<PendingPackage[]> {
    const plans = await this.#planAll(exec, ctx);
    return plans.flatMap((p) => p.moved.map((m) => movedPackage(p.dir, m)));
  }

  async upgrade(exec: Executor, ctx: UpgradeContext): Promise<UpgradeOutcome> {
    const plans = await this.#planAll(exec, ctx);
    const total: UpgradeOutcome = { upgraded: 0, new: 0, removed: 0, packages: [], skipped: [] };
    for (const plan of plans) {
      total.skipped!.push(...plan.skipped);
      if (plan.moved.length === 0) continue;
      if (ctx.dryRun || !this.#pull) {
        // Without pull_before_update the operator pulls: nothing here would change.
        if (!ctx.dryRun) {
          for (const m of plan.moved) {
            total.skipped!.push({ name: serviceKey(plan.dir, m.service), reason: 'pull_before_update is off', code: null });
          }
          continue;
        }
        total.packages.push(...plan.moved.map((m) => movedPackage(plan.dir, m)));
        continue;
      }
      const done = await this.#update(exec, ctx, plan);
      total.upgraded += done.length;
      total.packages.push(...done);
    }
    return total;
  }

  async rebootRequired(): Promise<RebootCheck> {
    return { required: false, packages: [] };
  }

  async #planAll(exec: Executor, ctx: DriverContext): Promise<StackPlan[]> {
    const v = await this.#versionOf(exec, ctx);
    const creds = await readCredentials(exec, ctx);
    const digests = new Map<string, Promise<string>>(); // one registry question per reference
    const plans: StackPlan[] = [];
    for (const dir of this.#paths) {
      await this.#find(exec, ctx, dir);
      plans.push(await this.#plan(exec, ctx, dir, v, creds, digests));
    }
    this.#incomplete = plans.some((p) => p.skipped.some((s) => s.code !== null));
    return plans;
  }

  async #plan(
    exec: Executor,
    ctx: DriverContext,
    dir: string,
    v: 'v1' | 'v2',
    creds: Credentials,
    digests: Map<string, Promise<string>>,
  ): Promise<StackPlan> {
    const services = await this.#services(exec, ctx, dir, v);
    const skipped: SkippedPackage[] = [];
    const pulled: { service: ComposeService; ref: ImageRef }[] = [];
    for (const s of services) {
      const name = serviceKey(dir, s.name);
      if (s.build) skipped.push({ name, reason: 'built on the host (build:), not pulled from a registry', code: null });
      else if (s.image === null) skipped.push({ name, reason: 'has no image', code: null });
      else {
        const ref = parseImageRef(s.image);
        if (ref.digest) skipped.push({ name, reason: `pinned to ${ref.digest}`, code: null });
        else pulled.push({ service: s, ref });
      }
    }
    // What runs now: a container's image, not the tag, is the current version
    // (a tag pulled by hand while the container kept its old image is still pending).
    const running = await runningImages(exec, ctx, CMD.composePs(v, dir));
    const local = await localImages(exec, ctx, [...pulled.map((p) => p.ref.ref), ...running.values()]);
    const moved: Moved[] = [];
    for (const { service, ref } of pulled) {
      let ask = digests.get(ref.ref);
      if (!ask) {
        ask = registryDigest(exec, ctx, ref, creds);
        ask.catch(() => {}); // awaited below; a stack that fails earlier leaves it unobserved
        digests.set(ref.ref, ask);
      }
      let next: string;
      try {
        next = await ask;
      } catch (err) {
        if (!(err instanceof TendhostError) || !err.code.startsWith('REGISTRY_')) throw err;
        skipped.push({ name: serviceKey(dir, service.name), reason: err.message, code: err.code });
        continue;
      }
      const runs = running.get(service.name);
      const img = local.get(runs ?? ref.ref) ?? null;
      const current = img ? digestFor(ref, img.repoDigests) : null;
      if (current !== next) moved.push({ service: service.name, ref, current, next });
    }
    return { dir, moved, skipped };
  }

  async #update(exec: Executor, ctx: UpgradeContext, plan: StackPlan): Promise<PendingPackage[]> {
    const v = await this.#versionOf(exec, ctx);
    const { dir } = plan;
    const names = plan.moved.map((m) => m.service);
    const progress = (parse: typeof parseComposePullLine, subjectIsContainer: boolean) => {
      const seen = new Set<string>();
      return lineSplitter((line) => {
        const p = parse(line);
        if (!p) return;
        const service = subjectIsContainer ? serviceOf(p.subject, dir) : p.subject;
        const key = `${service}\0${p.progress}`;
        if (seen.has(key)) return; // v1 repeats a line when it ends with "done"
        seen.add(key);
        ctx.onProgress(serviceKey(dir, service), p.progress);
      });
    };
    await streamed(exec, CMD.composePull(v, dir, names), ctx, progress(parseComposePullLine, false));
    await streamed(exec, CMD.composeUp(v, dir, names), ctx, progress(parseComposeUpLine, true));
    const after = await localImages(exec, ctx, plan.moved.map((m) => m.ref.ref));
    const expected = new Map<string, string>();
    for (const m of plan.moved) {
      const img = after.get(m.ref.ref);
      if (!img) throw new TendhostError('PKG_COMMAND_FAILED', `${m.ref.ref} is not on the host after the pull`, { path: dir, service: m.service });
      expected.set(m.service, img.id);
    }
    await verifyServices(exec, ctx, { dir, psCommand: CMD.composePs(v, dir), expected });
    return plan.moved.map((m) => {
      const img = after.get(m.ref.ref)!;
      return movedPackage(dir, { ...m, next: digestFor(m.ref, img.repoDigests) ?? m.next });
    });
  }

  async #services(exec: Executor, ctx: DriverContext, dir: string, v: 'v1' | 'v2'): Promise<ComposeService[]> {
    const command = CMD.composeConfig(v, dir);
    const r = await runChecked(exec, command, ctx, { parseCritical: true });
    try {
      return parseComposeConfig(r.stdout);
    } catch (err) {
      throw new TendhostError('PKG_COMMAND_FAILED', `cannot read the output of ${command}: ${(err as Error).message}`, { command, path: dir });
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

function movedPackage(dir: string, m: Moved): PendingPackage {
  return { name: serviceKey(dir, m.service), current_version: m.current, new_version: m.next, arch: null, repository: m.ref.ref, kind: 'compose' };
}

async function localImages(exec: Executor, ctx: DriverContext, refs: string[]): Promise<Map<string, LocalImage | null>> {
  const unique = [...new Set(refs)];
  if (unique.length === 0) return new Map();
  const r = await runChecked(exec, CMD.imageDigests(unique), ctx, { parseCritical: true });
  return parseImageDigests(r.stdout);
}

/** Service → the image id its (first) container runs; services without a container are absent. */
async function runningImages(exec: Executor, ctx: DriverContext, psCommand: string): Promise<Map<string, string>> {
  const ps = await runChecked(exec, psCommand, ctx, { parseCritical: true });
  const ids = containerIds(ps.stdout);
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const r = await runChecked(exec, CMD.containerStates(ids), ctx, { parseCritical: true });
  for (const c of parseContainerStates(r.stdout)) if (!out.has(c.service) && c.image) out.set(c.service, c.image);
  return out;
}

/** Runs a compose command with its progress (stderr, and stdout for v1's odd lines) reported as it comes. */
async function streamed(exec: Executor, command: string, ctx: DriverContext, lines: ReturnType<typeof lineSplitter>): Promise<void> {
  const r = await exec.run(command, {
    timeoutMs: ctx.timeoutMs,
    maxOutputBytes: ctx.maxOutputBytes,
    onStderr: (c) => lines.push(c),
    onStdout: (c) => lines.push(c),
  });
  lines.end();
  if (r.exitCode !== 0 || r.timedOut) throw classifyFailure(r, { command });
}
