// Pure parsers for Docker Compose's progress lines and version, and the
// names it gives containers. The v2 forms were checked against Compose 2.26
// and the v1 forms against docker-compose 1.29 on a real engine
// (test/compose-engine-v1/-v2.test.ts).

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

/** `docker compose version --short`: `2.29.7` (some builds print `v2.29.7`). */
export function parseComposeVersion(stdout: string): { version: string; major: number } | null {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?\S*$/.exec(stdout.trim());
  return m ? { version: stdout.trim().replace(/^v/, ''), major: Number(m[1]) } : null;
}
