// The exact command lines tendhost sends to a host. They are the contract
// between the package-manager drivers (which parse what these print) and the
// fleet simulator in bench/ (which answers them as the real tools would).
// Everything a user could influence (compose paths) goes through `shellQuote`.

/** Quote one argument for POSIX sh: nothing inside can be interpreted. */
export function shellQuote(arg: string): string {
  if (arg === '') return "''";
  if (/^[A-Za-z0-9_./=:@%+-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Parseable output from every tool: C locale, no interactive prompts. */
const C_LOCALE = 'LANG=C LC_ALL=C';

export const CMD = {
  // identity and detection
  osRelease: 'cat /etc/os-release',
  /**
   * Prints the absolute path of each tool that exists, one per line. One
   * `command -v` per tool: dash (Debian's /bin/sh) looks only at the first
   * name of `command -v a b c` (POSIX defines just one), so a list would never
   * find docker next to apt-get.
   */
  detectTools:
    'for t in apt-get dnf yum docker docker-compose osqueryi needs-restarting; do command -v "$t"; done; true',
  userId: 'id -u',
  sudoCheck: 'sudo -n true',
  bootId: 'cat /proc/sys/kernel/random/boot_id',
  /** Every Linux host has /proc (minimal images have no procps, so no `uptime`). */
  health: 'cat /proc/uptime',
  unameR: 'uname -r',

  // apt
  aptRefresh: `${C_LOCALE} apt-get update`,
  /** Simulated upgrade: the `Inst` lines list every pending package with versions. */
  aptSimulate: `${C_LOCALE} apt-get -s -o Debug::NoLocking=1 upgrade`,
  aptUpgrade:
    `${C_LOCALE} DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Use-Pty=0 ` +
    `-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade`,
  /** The upgrade with apt's own bounded wait for the dpkg lock (apt >= 1.9.11; older apt ignores it and fails at once). */
  aptUpgradeWaiting: (lockTimeoutS: number) => CMD.aptUpgrade.replace(' apt-get ', ` apt-get -o DPkg::Lock::Timeout=${Math.round(lockTimeoutS)} `),
  /** Prints `reboot-required` then the packages that asked, or nothing. */
  aptRebootRequired:
    'if [ -f /var/run/reboot-required ]; then echo reboot-required; cat /var/run/reboot-required.pkgs 2>/dev/null; fi; true',

  // dnf / yum (same CLI)
  rpmCheckUpdate: (tool: 'dnf' | 'yum') => `${C_LOCALE} ${tool} -q check-update`,
  rpmUpgrade: (tool: 'dnf' | 'yum') => `${C_LOCALE} ${tool} -y upgrade`,
  rpmUpgradeDryRun: (tool: 'dnf' | 'yum') => `${C_LOCALE} ${tool} --assumeno upgrade`,
  /** exit 1 = reboot needed, 0 = not. */
  rpmNeedsRestarting: (tool: 'dnf' | 'yum') =>
    tool === 'dnf' ? `${C_LOCALE} dnf needs-restarting -r` : `${C_LOCALE} needs-restarting -r`,
  /** Fallback when needs-restarting is missing: newest installed kernel vs running. */
  rpmKernelCheck: "rpm -q --last kernel kernel-core 2>/dev/null | head -n 1; echo '--'; uname -r",

  // Docker Compose
  composeVersion: (v: 'v1' | 'v2') => (v === 'v2' ? 'docker compose version --short' : 'docker-compose version --short'),
  /** Finds the compose file in a directory as the real tools do (first match wins). */
  composeFind: (dir: string) =>
    `cd ${shellQuote(dir)} && for f in compose.yaml compose.yml docker-compose.yaml docker-compose.yml; do ` +
    `if [ -f "$f" ]; then echo "$f"; exit 0; fi; done; exit 1`,
  /** The resolved configuration (YAML in v1 and v2): services, their images, `build:` sections. */
  composeConfig: (v: 'v1' | 'v2', dir: string) => `cd ${shellQuote(dir)} && ${composeBin(v)} config`,
  /** Pulls only the named services (their tags moved); progress goes to stderr. */
  composePull: (v: 'v1' | 'v2', dir: string, services: readonly string[]) =>
    `cd ${shellQuote(dir)} && ${composeBin(v)} pull ${services.map(shellQuote).join(' ')}`,
  /** Recreates the named services on their newly pulled images. */
  composeUp: (v: 'v1' | 'v2', dir: string, services: readonly string[]) =>
    `cd ${shellQuote(dir)} && ${composeBin(v)} up -d ${services.map(shellQuote).join(' ')}`,
  /** Ids of the stack's containers, stopped ones too (v2's `ps` alone lists only running ones). */
  composePs: (v: 'v1' | 'v2', dir: string) => `cd ${shellQuote(dir)} && ${composeBin(v)} ps -a -q`,
  /** Per reference: `ref<TAB>image id<TAB>RepoDigests as JSON`, or `ref<TAB>` when the image is not local. */
  imageDigests: (refs: readonly string[]) =>
    `for r in ${refs.map(shellQuote).join(' ')}; do printf '%s\t' "$r"; ` +
    `docker image inspect --format '{{.Id}}\t{{json .RepoDigests}}' "$r" 2>/dev/null || echo; done`,
  /** Per container: id, compose service, image id, state, health (empty without a healthcheck). */
  containerStates: (ids: readonly string[]) =>
    `docker inspect --format '{{.Id}}\t{{index .Config.Labels "com.docker.compose.service"}}\t{{.Image}}\t{{.State.Status}}\t{{if index .State \"Health\"}}{{.State.Health.Status}}{{end}}' ${ids.map(shellQuote).join(' ')}`,
  containerLogs: (id: string, lines: number) => `docker logs --tail ${lines} ${shellQuote(id)} 2>&1`,
  /** The login user's docker config (registry credentials); prints nothing when there is none. */
  dockerConfig: 'cat "${DOCKER_CONFIG:-$HOME/.docker}/config.json" 2>/dev/null; true',
  /**
   * HEAD on a manifest; the Accept list covers every manifest kind a tag can
   * point at. stdin carries curl config lines (credentials), so always send input.
   */
  registryHead: (url: string) =>
    `curl -sS -I --max-time 20 -H ${shellQuote(`Accept: ${MANIFEST_TYPES.join(', ')}`)} -K - ${shellQuote(url)}`,
  registryGet: (url: string) => `curl -sS --max-time 20 -K - ${shellQuote(url)}`,

  // reboot
  reboot: 'systemctl reboot || reboot',
} as const;

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
];

function composeBin(v: 'v1' | 'v2'): string {
  return v === 'v2' ? 'docker compose' : 'docker-compose';
}
