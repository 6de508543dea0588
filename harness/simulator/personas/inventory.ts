// What a simulated host reports about itself: the one-round-trip inventory
// command of workers/inventory/commands.ts (every part after its marker line,
// as the real tools print it) and, on hosts given osquery, the `osqueryi
// --json` command of workers/inventory/osquery.ts. Installed packages come
// from the persona's catalog: the installed version while an upgrade is
// pending, the candidate version otherwise.
import { INVENTORY_MARKER, INVENTORY_PARTS, type InventoryPart } from '../../../workers/inventory/commands.js';
import { OSQUERY_MARKER, OSQUERY_SQL, type OsqueryPart } from '../../../workers/inventory/osquery.js';
import { shellQuote } from '../../../workers/pkg/commands.js';
import type { SimHost } from '../host.js';
import { APT_CATALOG } from './apt-catalog.js';
import { RPM_CATALOG } from './rpm-catalog.js';
import { exit, type Outcome, type Persona } from './types.js';

export const SIM_CPU_MODEL = 'Intel Xeon Processor (Icelake)';
export const SIM_CPU_CORES = 2;
export const SIM_MEM_KB = 4_008_276;
/** `df -P -B1` rows: device, size, used, mount (tmpfs is listed by df and dropped by tendhost). */
export const SIM_DISKS = [
  { device: '/dev/vda1', size: 21_003_628_544, used: 6_245_859_328, mount: '/' },
  { device: 'tmpfs', size: 2_052_235_264, used: 0, mount: '/dev/shm' },
  { device: '/dev/vda15', size: 129_720_320, used: 12_124_160, mount: '/boot/efi' },
] as const;

export interface SimPackage {
  name: string;
  version: string;
  arch: string;
}

/** The host's installed packages as its package database lists them. */
export function installedPackages(host: SimHost): SimPackage[] {
  const pending = new Map(host.pending.map((p) => [p.name, p.from]));
  if (host.persona === 'fedora') {
    return RPM_CATALOG.map(([name, arch, , to]) => ({ name, version: pending.get(name) ?? to, arch }));
  }
  return APT_CATALOG.map(([name, , to, , arch]) => ({ name, version: pending.get(name) ?? to, arch }));
}

interface SimContainer {
  id: string;
  /** The full image id the container runs. */
  full: string;
  name: string;
  image: string;
  tag: string;
}
interface SimImage {
  id: string;
  repository: string;
  tag: string;
}

function containersOf(host: SimHost): SimContainer[] {
  return host.stacks.flatMap((s) =>
    s.services.map((svc) => ({ id: svc.running.slice(0, 12), name: `${s.project}-${svc.name}-1`, image: svc.image, tag: svc.tag, full: svc.running })),
  );
}

/** Tagged images are what is local; an image still running after a newer pull is untagged. */
function imagesOf(host: SimHost): SimImage[] {
  const out = new Map<string, SimImage>();
  for (const s of host.stacks) {
    for (const svc of s.services) {
      out.set(svc.local, { id: svc.local.slice(0, 12), repository: svc.image, tag: svc.tag });
      if (svc.running !== svc.local && !out.has(svc.running)) out.set(svc.running, { id: svc.running.slice(0, 12), repository: '<none>', tag: '<none>' });
    }
  }
  return [...out.values()];
}

function uptimeS(host: SimHost, now: number): number {
  return Math.max(0, (now - host.bootedAt) / 1000);
}

function commandPart(part: InventoryPart, persona: Persona, host: SimHost, now: number): string {
  switch (part) {
    case 'os-release':
      return persona.osRelease;
    case 'hostname':
      return host.name + '\n';
    case 'uname':
      return `Linux ${host.kernel} x86_64\n`;
    case 'cpu':
      return `model name\t: ${SIM_CPU_MODEL}\n`;
    case 'nproc':
      return `${SIM_CPU_CORES}\n`;
    case 'meminfo':
      return `MemTotal:        ${SIM_MEM_KB} kB\n`;
    case 'uptime': {
      const up = uptimeS(host, now);
      return `${up.toFixed(2)} ${(up * SIM_CPU_CORES * 0.97).toFixed(2)}\n`;
    }
    case 'df':
      return (
        'Filesystem          1-blocks       Used   Available Capacity Mounted on\n' +
        SIM_DISKS.map((d) => {
          const avail = d.size - d.used;
          const pct = Math.ceil((d.used / d.size) * 100);
          return `${d.device.padEnd(15)} ${String(d.size).padStart(12)} ${String(d.used).padStart(10)} ${String(avail).padStart(11)} ${`${pct}%`.padStart(8)} ${d.mount}\n`;
        }).join('')
      );
    case 'ip':
      return (
        JSON.stringify([
          { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, operstate: 'UNKNOWN', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo' }] },
          { ifindex: 2, ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, operstate: 'UP', addr_info: [{ family: 'inet', local: host.addr, prefixlen: 8, scope: 'global', label: 'eth0' }] },
        ]) + '\n'
      );
    case 'deb':
      if (host.persona === 'fedora') return ''; // sh: dpkg-query: not found (stderr discarded)
      return installedPackages(host).map((p) => `${p.name}\t${p.version}\t${p.arch}\n`).join('');
    case 'rpm':
      if (host.persona !== 'fedora') return '';
      return installedPackages(host).map((p) => `${p.name}\t${p.version}\t${p.arch}\n`).join('');
    case 'docker-ps':
      return containersOf(host)
        .map((c) => JSON.stringify({ Command: '"/docker-entrypoint.…"', ID: c.id, Image: `${c.image}:${c.tag}`, Names: c.name, State: 'running', Status: 'Up 3 days' }) + '\n')
        .join('');
    case 'docker-images':
      return imagesOf(host)
        .map((i) => JSON.stringify({ ID: i.id, Repository: i.repository, Tag: i.tag, Size: '188MB' }) + '\n')
        .join('');
    default: {
      const never: never = part;
      throw new Error(`unknown inventory part ${String(never)}`);
    }
  }
}

function osqueryRows(part: OsqueryPart, persona: Persona, host: SimHost, now: number): Record<string, string>[] {
  const os = (key: string) => new RegExp(`^${key}="?([^"\\n]*)"?$`, 'm').exec(persona.osRelease)?.[1] ?? '';
  switch (part) {
    case 'os': {
      const [major, minor = ''] = os('VERSION_ID').split('.');
      return [{ name: os('NAME'), version: os('VERSION'), major, minor, codename: os('VERSION_CODENAME'), arch: 'x86_64' }];
    }
    case 'system':
      return [{ hostname: host.name, cpu_brand: SIM_CPU_MODEL, cpu_logical_cores: String(SIM_CPU_CORES), physical_memory: String(SIM_MEM_KB * 1024) }];
    case 'kernel':
      return [{ version: host.kernel }];
    case 'uptime':
      return [{ total_seconds: String(Math.floor(uptimeS(host, now))) }];
    case 'mounts':
      return SIM_DISKS.map((d) => ({
        path: d.mount,
        device: d.device,
        type: d.device === 'tmpfs' ? 'tmpfs' : d.mount === '/boot/efi' ? 'vfat' : 'ext4',
        blocks: String(d.size / 4096),
        blocks_size: '4096',
        blocks_available: String(Math.floor((d.size - d.used) / 4096)),
      }));
    case 'addresses':
      return [
        { interface: 'lo', address: '127.0.0.1', mask: '255.0.0.0' },
        { interface: 'eth0', address: host.addr, mask: '255.0.0.0' },
      ];
    case 'deb':
      return host.persona === 'fedora' ? [] : installedPackages(host).map((p) => ({ name: p.name, version: p.version, arch: p.arch }));
    case 'rpm':
      if (host.persona !== 'fedora') return [];
      return installedPackages(host).map((p) => {
        const m = /^(?:(\d+):)?(.+)-([^-]+)$/.exec(p.version)!;
        return { name: p.name, version: m[2], release: m[3], epoch: m[1] ?? '', arch: p.arch };
      });
    case 'containers':
      return containersOf(host).map((c) => ({ id: c.full, name: `/${c.name}`, image: `${c.image}:${c.tag}`, state: 'running' }));
    case 'images':
      return imagesOf(host).map((i) => ({ id: i.id, tags: i.repository === '<none>' ? '' : `${i.repository}:${i.tag}` }));
    default: {
      const never: never = part;
      throw new Error(`unknown osquery part ${String(never)}`);
    }
  }
}

const INVENTORY_STEP = new RegExp(`^echo '${INVENTORY_MARKER} ([a-z-]+)'; \\{ (.*?); \\} 2>/dev/null; `);
const OSQUERY_STEP = new RegExp(`^echo '${OSQUERY_MARKER} ([a-z]+)'; osqueryi --json ('(?:[^']|'\\\\'')*') 2>/dev/null; `);

/**
 * Answers the combined inventory and osquery commands; undefined for anything
 * else. Each step must be exactly what the collectors send: a step the
 * simulator does not know prints nothing, as a failing command with its
 * stderr discarded would.
 */
export function handleInventory(persona: Persona, host: SimHost, command: string, now: number, osquery: boolean): Outcome | undefined {
  if (command.startsWith(`echo '${INVENTORY_MARKER} `)) {
    let rest = command;
    let out = '';
    for (let m = INVENTORY_STEP.exec(rest); m; m = INVENTORY_STEP.exec(rest)) {
      const part = m[1] as InventoryPart;
      out += `${INVENTORY_MARKER} ${part}\n`;
      if (INVENTORY_PARTS[part] === m[2]) out += commandPart(part, persona, host, now);
      rest = rest.slice(m[0].length);
    }
    return rest === 'true' ? exit(0, out) : undefined;
  }
  if (command.startsWith(`echo '${OSQUERY_MARKER} `)) {
    let rest = command;
    let out = '';
    for (let m = OSQUERY_STEP.exec(rest); m; m = OSQUERY_STEP.exec(rest)) {
      const part = m[1] as OsqueryPart;
      out += `${OSQUERY_MARKER} ${part}\n`;
      if (osquery && OSQUERY_SQL[part] !== undefined && shellQuote(OSQUERY_SQL[part]) === m[2]) {
        out += JSON.stringify(osqueryRows(part, persona, host, now), null, 2) + '\n';
      }
      rest = rest.slice(m[0].length);
    }
    return rest === 'true' ? exit(0, out) : undefined;
  }
  return undefined;
}
