// What a host runs: its OS (from /etc/os-release), its system package
// manager, and whether Compose, osquery and needs-restarting are there. Two
// probes (CMD.osRelease, CMD.detectTools), plus the Compose version when the
// host has stacks and the config does not pin it.
import { TendhostError } from '../../common/errors.js';
import type { ResolvedHost } from '../../common/schemas/host.js';
import type { Executor } from '../exec/types.js';
import { CMD } from './commands.js';
import { parseComposeVersion } from './compose-parse.js';
import type { DriverContext } from './driver.js';
import { runChecked, splitLines } from './run.js';

export interface OsInfo {
  id: string | null;
  name: string | null;
  version_id: string | null;
  codename: string | null;
  pretty_name: string | null;
}

export interface Detected {
  system: 'apt' | 'dnf' | 'yum' | null;
  compose: boolean;
  composeVersion: 'v1' | 'v2' | null;
  docker: boolean;
  osquery: boolean;
  needsRestarting: boolean;
  os: OsInfo;
}

export interface DetectOptions {
  composePaths: readonly string[];
  /** From the host config; null = detect. */
  composeVersion?: 'v1' | 'v2' | null;
}

/** `KEY=value`, `KEY="quoted value"` lines (os-release(5): shell-compatible assignments). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of splitLines(text)) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2].trim();
    if (/^"(.*)"$/.test(v)) v = v.slice(1, -1).replace(/\\(["$`\\])/g, '$1');
    else if (/^'(.*)'$/.test(v)) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

export function osInfoOf(osRelease: string): OsInfo {
  const r = parseOsRelease(osRelease);
  const nz = (v: string | undefined) => (v === undefined || v === '' ? null : v);
  return {
    id: nz(r.ID),
    name: nz(r.NAME),
    version_id: nz(r.VERSION_ID),
    // VERSION_CODENAME (Fedora sets it empty: none), Ubuntu's UBUNTU_CODENAME,
    // or for releases older than the key the "(jessie)" in VERSION.
    codename:
      'VERSION_CODENAME' in r
        ? nz(r.VERSION_CODENAME) ?? nz(r.UBUNTU_CODENAME)
        : nz(r.UBUNTU_CODENAME) ?? nz(/\(([^)]+)\)/.exec(r.VERSION ?? '')?.[1]),
    pretty_name: nz(r.PRETTY_NAME),
  };
}

/** The tools `command -v` printed (paths, one per line; shell builtins print bare names). */
export function toolsOf(detectOutput: string): Set<string> {
  return new Set(
    splitLines(detectOutput)
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .map((l) => l.slice(l.lastIndexOf('/') + 1)),
  );
}

/** The pure decision, from the probes' outputs. */
export function decide(osRelease: string, detectOutput: string, opts: DetectOptions): Detected {
  const tools = toolsOf(detectOutput);
  // dnf over yum: on EL8+ and Fedora `yum` is a link to dnf anyway.
  const system = tools.has('apt-get') ? 'apt' : tools.has('dnf') ? 'dnf' : tools.has('yum') ? 'yum' : null;
  const hasV2 = tools.has('docker');
  const hasV1 = tools.has('docker-compose');
  const compose = opts.composePaths.length > 0 && (hasV2 || hasV1);
  const composeVersion = !compose ? null : (opts.composeVersion ?? (hasV2 ? 'v2' : 'v1'));
  if (system === null && !compose) {
    const os = osInfoOf(osRelease);
    throw new TendhostError(
      'PKG_UNKNOWN_MANAGER',
      `no supported package manager found (apt-get, dnf, yum${opts.composePaths.length > 0 ? ', docker compose' : ''}) on ${os.pretty_name ?? os.id ?? 'this host'}`,
      { os_id: os.id, tools: [...tools] },
    );
  }
  return {
    system,
    compose,
    composeVersion,
    docker: hasV2,
    osquery: tools.has('osqueryi'),
    needsRestarting: tools.has('needs-restarting'),
    os: osInfoOf(osRelease),
  };
}

/** Runs the probes on a host and decides. */
export async function detect(exec: Executor, ctx: DriverContext, host: Pick<ResolvedHost, 'compose_paths' | 'docker'>): Promise<Detected> {
  const os = await runChecked(exec, CMD.osRelease, ctx);
  const tools = await runChecked(exec, CMD.detectTools, ctx);
  const d = decide(os.stdout, tools.stdout, { composePaths: host.compose_paths, composeVersion: host.docker.compose_version });
  if (d.compose && host.docker.compose_version === null) {
    d.composeVersion = (await detectComposeVersion(exec, ctx)) ?? d.composeVersion;
  }
  return d;
}

/**
 * Which Compose answers: the v2 plugin (`docker compose`) first, then the v1
 * binary. A `docker-compose` that reports 2.x is the v2 standalone binary;
 * its CLI takes v1's command lines here (tables, plain `config`) as well.
 */
export async function detectComposeVersion(exec: Executor, ctx: DriverContext): Promise<'v1' | 'v2' | null> {
  for (const v of ['v2', 'v1'] as const) {
    const r = await exec.run(CMD.composeVersion(v), { timeoutMs: ctx.timeoutMs, maxOutputBytes: ctx.maxOutputBytes });
    if (r.exitCode === 0 && parseComposeVersion(r.stdout)) return v;
  }
  return null;
}
