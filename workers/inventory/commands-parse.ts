// Pure parsers for the plain commands the inventory runs when a host has no
// osquery: uname, /proc files, df, `ip -j addr`, dpkg-query / rpm, docker.
import type { InventoryContainer, InventoryDisk, InventoryImage, InventoryInterface, InventoryPackage } from '../../common/schemas/inventory.js';
import { splitLines } from '../pkg/run.js';

/** Splits one combined output on `<marker> <section>` lines. */
export function splitSections(stdout: string, marker: string): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | null = null;
  let body: string[] = [];
  const flush = () => {
    if (name !== null) out.set(name, body.join('\n'));
  };
  for (const line of stdout.split('\n')) {
    if (line.startsWith(marker + ' ')) {
      flush();
      name = line.slice(marker.length + 1).trim();
      body = [];
    } else if (name !== null) {
      body.push(line);
    }
  }
  flush();
  return out;
}

/** `uname -srm`: `Linux 6.1.0-28-amd64 x86_64`. */
export function parseUname(text: string): { kernel: string | null; arch: string | null } {
  const t = text.trim().split(/\s+/);
  return { kernel: t[1] ?? null, arch: t[2] ?? null };
}

/** The value of a `key : value` line of /proc/cpuinfo. */
export function parseCpuModel(text: string): string | null {
  const line = splitLines(text).find((l) => l.includes(':'));
  const v = line?.slice(line.indexOf(':') + 1).trim();
  return v ? v.replace(/\s+/g, ' ') : null;
}

export function parseInteger(text: string): number | null {
  const m = /^\s*(\d+)\s*$/.exec(text);
  return m ? Number(m[1]) : null;
}

/** `MemTotal:       24684084 kB` → bytes (the kernel's "kB" is KiB). */
export function parseMemTotal(text: string): number | null {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** /proc/uptime: `350735.47 234388.90` → whole seconds up. */
export function parseProcUptime(text: string): number | null {
  const m = /^\s*(\d+)(?:\.\d+)?\s/.exec(text + ' ');
  return m ? Number(m[1]) : null;
}

/**
 * Storage worth listing: block devices (not loop devices of snaps), network
 * shares and ZFS datasets — not tmpfs, overlay, cgroup and other pseudo
 * filesystems, which df and osquery list as well.
 */
export function isRealDisk(device: string): boolean {
  if (device.startsWith('/dev/')) return !device.startsWith('/dev/loop');
  if (/^[^/\s]+:\//.test(device) || device.startsWith('//')) return true; // nfs host:/path, cifs //host/share
  return /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./:-]+$/.test(device); // zfs pool/dataset
}

/** `df -P -B1`: `device 1-blocks used available capacity mountpoint` (the mount point may hold spaces). */
export function parseDf(text: string): InventoryDisk[] {
  const out: InventoryDisk[] = [];
  for (const line of splitLines(text).slice(1)) {
    const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+(.+)$/.exec(line);
    if (!m || !isRealDisk(m[1])) continue;
    out.push({ device: m[1], size_bytes: Number(m[2]), free_bytes: Number(m[4]), mount: m[5] });
  }
  return out;
}

interface IpAddrJson {
  ifname?: string;
  addr_info?: { local?: string; prefixlen?: number }[];
}

/** `ip -j addr`: interfaces with `address/prefix` strings. */
export function parseIpAddr(text: string): InventoryInterface[] {
  let list: IpAddrJson[];
  try {
    list = JSON.parse(text) as IpAddrJson[];
  } catch {
    return []; // an iproute2 without -j prints nothing (its usage goes to stderr)
  }
  if (!Array.isArray(list)) return [];
  return list
    .filter((i) => typeof i.ifname === 'string')
    .map((i) => ({
      name: i.ifname as string,
      addresses: (i.addr_info ?? []).filter((a) => a.local).map((a) => `${a.local}/${a.prefixlen ?? ''}`.replace(/\/$/, '')),
    }));
}

/** `dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\n'`. */
export function parseDpkgQuery(text: string): InventoryPackage[] {
  return tabRows(text).map(([name, version, arch]) => ({ name, version, arch: arch || null, source: 'deb' as const }));
}

/** `rpm -qa --qf '%{NAME}\t[EPOCH:]VERSION-RELEASE\t%{ARCH}\n'` (gpg-pubkey has arch `(none)`). */
export function parseRpmQa(text: string): InventoryPackage[] {
  return tabRows(text).map(([name, version, arch]) => ({
    name,
    version,
    arch: arch && arch !== '(none)' ? arch : null,
    source: 'rpm' as const,
  }));
}

function tabRows(text: string): string[][] {
  return splitLines(text)
    .filter((l) => l.includes('\t'))
    .map((l) => l.split('\t'))
    .filter((t) => t[0] !== '' && t[1] !== undefined && t[1] !== '');
}

/** JSON lines of `docker ps -a --format '{{json .}}'`; anything else (no daemon, no access) is no containers. */
export function parseDockerPs(text: string): InventoryContainer[] {
  return jsonLines(text).map((o) => ({
    id: str(o.ID),
    name: str(o.Names).split(',')[0],
    image: str(o.Image),
    state: str(o.State) || str(o.Status).split(' ')[0].toLowerCase(),
  }));
}

/** JSON lines of `docker images --format '{{json .}}'`. */
export function parseDockerImages(text: string): InventoryImage[] {
  return jsonLines(text).map((o) => ({ id: str(o.ID), repository: str(o.Repository), tag: str(o.Tag) }));
}

function jsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of splitLines(text)) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a cut or foreign line: skip it
    }
  }
  return out;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}
