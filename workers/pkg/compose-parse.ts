// Pure parsers for Docker Compose output. No Docker engine runs on the
// machines these were written on, so the formats come from Compose's source
// and docs: `images --format json` is one JSON array in current v2
// (cmd/compose/images.go, `null` when there are no containers) and JSON lines
// in older v2 releases; v1 (and v2 without --format) print a table.
import type { PendingPackage } from '../../src/schemas/packages.js';
import { splitLines } from './run.js';

export interface ComposeImage {
  /** Container name: stable across a recreate, so it keys before/after. */
  container: string;
  repository: string;
  tag: string;
  /** Image id as printed (full `sha256:…` in JSON, 12 hex digits in tables). */
  id: string;
  platform: string | null;
}

/** `docker compose images` in any of its formats (JSON array, JSON lines, table). */
export function parseComposeImages(stdout: string): ComposeImage[] {
  const text = stdout.trim();
  if (text === '' || text === 'null' || text === '[]') return [];
  if (text.startsWith('[')) return (JSON.parse(text) as unknown[]).map(fromJson);
  if (text.startsWith('{')) {
    return splitLines(text)
      .filter((l) => l.trim() !== '')
      .map((l) => fromJson(JSON.parse(l)));
  }
  return parseImagesTable(text);
}

function fromJson(v: unknown): ComposeImage {
  const o = (v ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : '');
  return {
    container: str('ContainerName'),
    repository: str('Repository'),
    tag: str('Tag'),
    id: str('ID'),
    platform: str('Platform') || null,
  };
}

/** An image id as tables print it (12 hex digits), or a full one. */
const IMAGE_ID = /^(?:sha256:)?[0-9a-f]{12}(?:[0-9a-f]{52})?$/;

/**
 * v1: `Container  Repository  Tag  Image Id  Size` (texttable, centred
 * headers); v2: `CONTAINER  REPOSITORY  TAG  [PLATFORM]  IMAGE ID  SIZE
 * [CREATED]`. Headers do not line up with cells, so rows are split on
 * whitespace and anchored on the image id.
 */
function parseImagesTable(text: string): ComposeImage[] {
  const out: ComposeImage[] = [];
  for (const line of splitLines(text)) {
    const t = line.trim().split(/\s+/);
    if (t.length < 4 || /^container$/i.test(t[0]) || /^-+$/.test(t[0])) continue;
    const idAt = t.findIndex((tok, i) => i >= 3 && IMAGE_ID.test(tok));
    if (idAt < 0) continue;
    out.push({ container: t[0], repository: t[1], tag: t[2], id: t[idAt], platform: idAt > 3 ? t[3] : null });
  }
  return out;
}

/** The project names Compose derives from a directory (v2 keeps `-` and `_`, v1 only [a-z0-9]). */
export function projectNamesOf(dir: string): string[] {
  const base = dir.replace(/\/+$/, '').split('/').pop() ?? '';
  const v2 = base.toLowerCase().replace(/[^a-z0-9_-]/g, '');
  const v1 = base.toLowerCase().replace(/[^a-z0-9]/g, '');
  return [...new Set([v2, v1].filter((n) => n !== ''))];
}

/**
 * The service of a container: `<project>-<service>-<n>` (v2) or
 * `<project>_<service>_<n>` (v1). A `container_name:` or a project named in
 * the file does not follow that pattern; then the name itself is used.
 */
export function serviceOf(container: string, dir: string): string {
  const base = container.replace(/[-_]\d+$/, '');
  for (const project of projectNamesOf(dir)) {
    for (const sep of ['-', '_']) {
      if (base.startsWith(project + sep) && base.length > project.length + 1) return base.slice(project.length + 1);
    }
  }
  return base;
}

/** The package name of a Compose service: `<path>:<service>`. */
export function serviceKey(dir: string, service: string): string {
  return `${dir}:${service}`;
}

export interface ComposeProgress {
  /** Service (pull) or container (up) the line is about. */
  subject: string;
  progress: string;
}

/** Spinner and check glyphs Compose puts before a status (⠿ ✔ ✘ …). */
const GLYPHS = /^[^\x20-\x7e]+\s*/;
/** v2: ` web Pulling`, ` web Pulled`, ` ✔ web Pulled  3.2s`; newer: ` Image nginx Pulling`. */
const PULL_V2 = /^(?:Image\s+)?(\S+)\s+(Pulling|Pulled|Skipped|Error|Interrupted|Warning)(?:\s|$)/;
/** v1: `Pulling web (nginx:latest)...` or, in parallel mode, `Pulling web ... done`. */
const PULL_V1 = /^Pulling (\S+)(?: \(.*\)\.\.\.| +\.\.\. ?(\w+)?)/;
/** Layer lines (`a1b2c3d4e5f6 Pulling fs layer`) are not services. */
const LAYER = /^[0-9a-f]{12}$/;

export function parseComposePullLine(line: string): ComposeProgress | null {
  const l = line.trim().replace(GLYPHS, '');
  // `[+] Pulling 2/2` is a group header; `1.21: Pulling from library/nginx` is docker's own pull output.
  if (l.startsWith('[+]') || /^\S+:\s/.test(l)) return null;
  const v1 = PULL_V1.exec(l);
  if (v1) return { subject: v1[1], progress: v1[2] === 'done' ? 'pulled' : v1[2] === 'error' ? 'error' : 'pulling' };
  const v2 = PULL_V2.exec(l);
  if (!v2 || LAYER.test(v2[1]) || /^Pulling fs layer/.test(l.slice(v2[1].length).trim())) return null;
  return { subject: v2[1], progress: v2[2].toLowerCase() };
}

/** v2: ` Container app-web-1  Recreated`; v1: `Recreating app_web_1 ... done`. */
const UP_V2 = /^Container (\S+)\s+(\w+)/;
const UP_V1 = /^(Creating|Recreating|Starting|Stopping|Removing) (\S+)\s+\.\.\.\s*(\w+)?/;
const V1_DONE: Record<string, string> = {
  creating: 'created',
  recreating: 'recreated',
  starting: 'started',
  stopping: 'stopped',
  removing: 'removed',
};

export function parseComposeUpLine(line: string): ComposeProgress | null {
  const l = line.trim().replace(GLYPHS, '');
  const v2 = UP_V2.exec(l);
  if (v2) return { subject: v2[1], progress: v2[2].toLowerCase() };
  const v1 = UP_V1.exec(l);
  if (!v1) return null;
  // v1 prints `Recreating x ...` and later `Recreating x ... done`.
  const verb = v1[1].toLowerCase();
  const progress = v1[3] === 'done' ? V1_DONE[verb] : v1[3] === 'error' ? 'error' : verb;
  return { subject: v1[2], progress };
}

/**
 * `config --images` (v2): one image per line. The v1 command is plain
 * `config` (v1 has no --images), so `image:` keys of its YAML are read too.
 */
export function parseConfigImages(stdout: string): string[] {
  const lines = splitLines(stdout);
  const yaml = lines.map((l) => /^\s+image:\s*["']?([^"'\s]+)["']?\s*$/.exec(l)?.[1]).filter((x): x is string => !!x);
  const images = yaml.length > 0 || lines.some((l) => /^services:/.test(l)) ? yaml : lines.map((l) => l.trim()).filter((l) => l !== '');
  return [...new Set(images)];
}

/** `nginx`, `docker.io/library/nginx:1.25` → repository and tag as `images` reports them. */
export function splitImageRef(ref: string): { repository: string; tag: string } {
  const noDigest = ref.split('@')[0];
  const colon = noDigest.lastIndexOf(':');
  const hasTag = colon > noDigest.lastIndexOf('/');
  const repo = hasTag ? noDigest.slice(0, colon) : noDigest;
  return {
    repository: repo.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, ''),
    tag: hasTag ? noDigest.slice(colon + 1) : 'latest',
  };
}

export interface ComposeDiff {
  /** Services whose image changed, and services that are new. */
  packages: PendingPackage[];
  upgraded: number;
  new: number;
  removed: number;
}

/**
 * What `up -d` changed: the image id per container before and after, counted
 * per service (the replicas `app-1`, `app-2` of one service are one package).
 */
export function diffImages(dir: string, before: ComposeImage[], after: ComposeImage[]): ComposeDiff {
  const was = new Map(before.map((i) => [i.container, i]));
  const now = new Set(after.map((i) => i.container));
  const packages = new Map<string, PendingPackage>();
  let upgraded = 0;
  let added = 0;
  for (const a of after) {
    const b = was.get(a.container);
    if (b && b.id === a.id) continue;
    const pkg = imagePackage(dir, a, b?.id ?? null, a.id);
    if (packages.has(pkg.name)) continue;
    packages.set(pkg.name, pkg);
    if (b) upgraded++;
    else added++;
  }
  const gone = new Set(before.filter((b) => !now.has(b.container)).map((b) => serviceOf(b.container, dir)));
  const stays = new Set(after.map((a) => serviceOf(a.container, dir)));
  const removed = [...gone].filter((s) => !stays.has(s)).length;
  return { packages: [...packages.values()], upgraded, new: added, removed };
}

export function imagePackage(dir: string, img: ComposeImage, current: string | null, next: string): PendingPackage {
  return {
    name: serviceKey(dir, serviceOf(img.container, dir)),
    current_version: current,
    new_version: next,
    arch: img.platform,
    repository: img.tag ? `${img.repository}:${img.tag}` : img.repository,
    kind: 'compose',
  };
}

/** `docker compose version --short`: `2.29.7` (some builds print `v2.29.7`). */
export function parseComposeVersion(stdout: string): { version: string; major: number } | null {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?\S*$/.exec(stdout.trim());
  return m ? { version: stdout.trim().replace(/^v/, ''), major: Number(m[1]) } : null;
}
