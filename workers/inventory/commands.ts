// Inventory from plain commands, for hosts without osquery. Every read goes
// into ONE shell command, each part announced by a marker line, so a whole
// inventory costs a single round trip; the parts' errors are discarded (a
// host without docker or `ip -j` simply reports nothing there).
import { TendhostError } from '../../common/errors.js';
import type { Inventory } from '../../common/schemas/inventory.js';
import type { Executor } from '../exec/types.js';
import type { Detected } from '../pkg/detect.js';
import { osInfoOf } from '../pkg/detect.js';
import type { DriverContext } from '../pkg/driver.js';
import { runChecked } from '../pkg/run.js';
import {
  parseCpuModel,
  parseDf,
  parseDockerImages,
  parseDockerPs,
  parseDpkgQuery,
  parseInteger,
  parseIpAddr,
  parseMemTotal,
  parseProcUptime,
  parseRpmQa,
  parseUname,
  splitSections,
} from './commands-parse.js';

export const INVENTORY_MARKER = '@@tendhost-inventory@@';

export const INVENTORY_PARTS = {
  'os-release': 'cat /etc/os-release',
  hostname: 'hostname || cat /proc/sys/kernel/hostname',
  uname: 'uname -srm',
  // Only the model line: a many-core /proc/cpuinfo is hundreds of KB.
  cpu: "grep -m1 -E '^(model name|cpu model|Model|Hardware)[[:space:]]*:' /proc/cpuinfo",
  nproc: 'nproc',
  meminfo: 'grep ^MemTotal: /proc/meminfo',
  uptime: 'cat /proc/uptime',
  df: 'df -P -B1',
  ip: 'ip -j addr',
  deb: "dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\n'",
  rpm: "rpm -qa --qf '%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'",
  // '{{json .}}' rather than `--format json`, which needs Docker 23+.
  'docker-ps': "docker ps -a --format '{{json .}}'",
  'docker-images': "docker images --format '{{json .}}'",
} as const;

export type InventoryPart = keyof typeof INVENTORY_PARTS;

/** The parts worth asking this host for. */
export function partsFor(detected: Pick<Detected, 'system' | 'docker'>): InventoryPart[] {
  const parts: InventoryPart[] = ['os-release', 'hostname', 'uname', 'cpu', 'nproc', 'meminfo', 'uptime', 'df', 'ip'];
  if (detected.system === 'apt') parts.push('deb');
  if (detected.system === 'dnf' || detected.system === 'yum') parts.push('rpm');
  if (detected.docker) parts.push('docker-ps', 'docker-images');
  return parts;
}

/** One shell command that prints every part after its marker line. */
export function inventoryCommand(parts: readonly InventoryPart[]): string {
  return parts.map((p) => `echo '${INVENTORY_MARKER} ${p}'; { ${INVENTORY_PARTS[p]}; } 2>/dev/null`).join('; ') + '; true';
}

/** Builds the inventory from the combined output (pure). */
export function inventoryFromCommands(stdout: string, collectedAt: Date): Inventory {
  const s = splitSections(stdout, INVENTORY_MARKER);
  const part = (p: InventoryPart) => s.get(p) ?? '';
  const os = osInfoOf(part('os-release'));
  const uname = parseUname(part('uname'));
  const hostname = part('hostname').trim();
  if (!hostname) throw new TendhostError('PKG_COMMAND_FAILED', 'inventory: the host reported no hostname');
  return {
    system: {
      hostname,
      os_name: os.name,
      os_version: os.version_id,
      os_codename: os.codename,
      kernel: uname.kernel,
      arch: uname.arch,
      uptime_s: parseProcUptime(part('uptime')),
    },
    hardware: {
      cpu_model: parseCpuModel(part('cpu')),
      cpu_cores: parseInteger(part('nproc')),
      memory_bytes: parseMemTotal(part('meminfo')),
      disks: parseDf(part('df')),
      interfaces: parseIpAddr(part('ip')),
    },
    packages: s.has('deb') ? parseDpkgQuery(part('deb')) : s.has('rpm') ? parseRpmQa(part('rpm')) : [],
    docker: { containers: parseDockerPs(part('docker-ps')), images: parseDockerImages(part('docker-images')) },
    collected_at: collectedAt.toISOString(),
    source: 'commands',
  };
}

export async function collectWithCommands(exec: Executor, ctx: DriverContext, detected: Detected): Promise<Inventory> {
  const r = await runChecked(exec, inventoryCommand(partsFor(detected)), ctx, { parseCritical: true });
  return inventoryFromCommands(r.stdout, new Date());
}
