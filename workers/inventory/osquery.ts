// Inventory from osquery (`osqueryi --json "<sql>"`), for hosts that have it:
// one osqueryi run per table, all in one shell command split by marker lines
// (one round trip). osquery prints every column as a string.
import { TendhostError } from '../../common/errors.js';
import type { Inventory, InventoryDisk, InventoryInterface, InventoryPackage } from '../../common/schemas/inventory.js';
import type { Executor } from '../exec/types.js';
import { shellQuote } from '../pkg/commands.js';
import type { Detected } from '../pkg/detect.js';
import type { DriverContext } from '../pkg/driver.js';
import { runChecked } from '../pkg/run.js';
import { isRealDisk, splitSections } from './commands-parse.js';

export const OSQUERY_MARKER = '@@tendhost-osquery@@';

export const OSQUERY_SQL = {
  os: 'SELECT name, version, major, minor, codename, arch FROM os_version',
  system: 'SELECT hostname, cpu_brand, cpu_logical_cores, physical_memory FROM system_info',
  kernel: 'SELECT version FROM kernel_info',
  uptime: 'SELECT total_seconds FROM uptime',
  mounts: 'SELECT path, device, type, blocks, blocks_size, blocks_available FROM mounts',
  addresses: 'SELECT interface, address, mask FROM interface_addresses',
  deb: 'SELECT name, version, arch FROM deb_packages',
  rpm: 'SELECT name, version, release, epoch, arch FROM rpm_packages',
  containers: 'SELECT id, name, image, state FROM docker_containers',
  images: 'SELECT id, tags FROM docker_images',
} as const;

export type OsqueryPart = keyof typeof OSQUERY_SQL;

export function osqueryParts(detected: Pick<Detected, 'system' | 'docker'>): OsqueryPart[] {
  const parts: OsqueryPart[] = ['os', 'system', 'kernel', 'uptime', 'mounts', 'addresses'];
  if (detected.system === 'apt') parts.push('deb');
  if (detected.system === 'dnf' || detected.system === 'yum') parts.push('rpm');
  if (detected.docker) parts.push('containers', 'images');
  return parts;
}

export function osqueryCommand(parts: readonly OsqueryPart[]): string {
  return (
    parts.map((p) => `echo '${OSQUERY_MARKER} ${p}'; osqueryi --json ${shellQuote(OSQUERY_SQL[p])} 2>/dev/null`).join('; ') +
    '; true'
  );
}

type Row = Record<string, string>;

/** One table's JSON; a table osquery could not read (docker without socket access) is empty. */
export function parseOsqueryRows(text: string): Row[] {
  const t = text.trim();
  if (t === '') return [];
  try {
    const v = JSON.parse(t) as unknown;
    return Array.isArray(v) ? (v as Row[]) : [];
  } catch {
    return [];
  }
}

/** Builds the inventory from the combined output (pure). */
export function inventoryFromOsquery(stdout: string, collectedAt: Date): Inventory {
  const s = splitSections(stdout, OSQUERY_MARKER);
  const rows = (p: OsqueryPart) => parseOsqueryRows(s.get(p) ?? '');
  const os = rows('os')[0] ?? {};
  const sys = rows('system')[0];
  if (!sys?.hostname) throw new TendhostError('PKG_COMMAND_FAILED', 'inventory: osquery returned no system_info');
  const kernel = rows('kernel')[0];
  const uptime = rows('uptime')[0];
  return {
    system: {
      hostname: sys.hostname,
      os_name: os.name || null,
      // os-release's VERSION_ID, as the plain collector reports: the numeric head of "12 (bookworm)".
      os_version: /^[\d.]+/.exec(os.version ?? '')?.[0] ?? (os.major || null),
      os_codename: os.codename || null,
      kernel: kernel?.version || null,
      arch: os.arch || null,
      uptime_s: int(uptime?.total_seconds),
    },
    hardware: {
      cpu_model: sys.cpu_brand?.trim() || null,
      cpu_cores: int(sys.cpu_logical_cores),
      memory_bytes: int(sys.physical_memory),
      disks: disksOf(rows('mounts')),
      interfaces: interfacesOf(rows('addresses')),
    },
    packages: s.has('deb') ? debsOf(rows('deb')) : s.has('rpm') ? rpmsOf(rows('rpm')) : [],
    docker: {
      containers: rows('containers').map((c) => ({
        id: c.id ?? '',
        name: (c.name ?? '').replace(/^\//, ''),
        image: c.image ?? '',
        state: c.state ?? '',
      })),
      images: rows('images').map((i) => {
        const tag = (i.tags ?? '').split(',')[0];
        const colon = tag.lastIndexOf(':');
        return colon > tag.lastIndexOf('/')
          ? { id: i.id ?? '', repository: tag.slice(0, colon), tag: tag.slice(colon + 1) }
          : { id: i.id ?? '', repository: tag || '<none>', tag: tag ? 'latest' : '<none>' };
      }),
    },
    collected_at: collectedAt.toISOString(),
    source: 'osquery',
  };
}

function disksOf(mounts: Row[]): InventoryDisk[] {
  return mounts
    .filter((m) => isRealDisk(m.device ?? ''))
    .map((m) => ({
      mount: m.path,
      device: m.device,
      size_bytes: (int(m.blocks) ?? 0) * (int(m.blocks_size) ?? 0),
      free_bytes: (int(m.blocks_available) ?? 0) * (int(m.blocks_size) ?? 0),
    }));
}

function interfacesOf(rows: Row[]): InventoryInterface[] {
  const byName = new Map<string, string[]>();
  for (const r of rows) {
    if (!r.interface) continue;
    const list = byName.get(r.interface) ?? [];
    const prefix = maskToPrefix(r.mask ?? '');
    list.push(prefix === null ? r.address : `${r.address}/${prefix}`);
    byName.set(r.interface, list);
  }
  return [...byName].map(([name, addresses]) => ({ name, addresses }));
}

/** `255.255.255.0` → 24, `ffff:ffff:ffff:ffff::` → 64. */
export function maskToPrefix(mask: string): number | null {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(mask)) {
    return mask.split('.').reduce((n, o) => n + bitCount(Number(o)), 0);
  }
  if (mask.includes(':')) {
    const [head, tail] = mask.split('::');
    const groups = [...head.split(':'), ...(tail === undefined ? [] : tail.split(':'))].filter((g) => g !== '');
    return groups.reduce((n, g) => n + bitCount(parseInt(g, 16)), 0);
  }
  return null;
}

function bitCount(n: number): number {
  let c = 0;
  for (let v = n; v > 0; v >>>= 1) c += v & 1;
  return c;
}

function debsOf(rows: Row[]): InventoryPackage[] {
  return rows.map((r) => ({ name: r.name, version: r.version, arch: r.arch || null, source: 'deb' as const }));
}

function rpmsOf(rows: Row[]): InventoryPackage[] {
  return rows.map((r) => ({
    name: r.name,
    version: `${r.epoch && r.epoch !== '0' ? `${r.epoch}:` : ''}${r.version}-${r.release}`,
    arch: r.arch && r.arch !== '(none)' ? r.arch : null,
    source: 'rpm' as const,
  }));
}

function int(v: string | undefined): number | null {
  if (v === undefined || v === '') return null;
  const n = Math.floor(Number(v));
  return Number.isFinite(n) && n >= 0 ? n : null;
}

export async function collectWithOsquery(exec: Executor, ctx: DriverContext, detected: Detected): Promise<Inventory> {
  const r = await runChecked(exec, osqueryCommand(osqueryParts(detected)), ctx, { parseCritical: true });
  return inventoryFromOsquery(r.stdout, new Date());
}
