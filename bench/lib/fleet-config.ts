// The synthetic fleet every HTTP benchmark serves: the same 10,000 hosts are
// written into the daemon's tendhost.toml and rebuilt (deterministically) by
// the baseline servers, so all servers answer from identical data.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_HOST_COUNT = 10_000;
export const PAGE_SIZE = 50;

export interface FleetHost {
  name: string;
  addr: string;
  tags: string[];
}

/** `host-00001` … — five digits keeps names sortable for counts up to 99,999. */
export function hostName(i: number): string {
  return `host-${String(i).padStart(5, '0')}`;
}

/**
 * Hosts 1..count. Addresses are 127.x.y.z strings: they are only config values
 * (a GET never contacts a host), and loopback keeps them harmless if anything did.
 */
export function fleetHosts(count = DEFAULT_HOST_COUNT): FleetHost[] {
  const hosts: FleetHost[] = [];
  for (let i = 1; i <= count; i++) {
    hosts.push({
      name: hostName(i),
      addr: `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
      tags: [i % 4 === 0 ? 'db' : 'web', `rack-${(i % 40) + 1}`],
    });
  }
  return hosts;
}

/** The HostStatus of a never-touched host, in the daemon's field order. */
export interface BenchHostStatus {
  name: string;
  addr: string;
  state: 'idle';
  tags: string[];
  groups: string[];
  pending_updates: null;
  last_updated: null;
  error: null;
  failed: null;
  shard: number;
  package_manager: null;
  compose: boolean;
  job_id: null;
}

export function idleStatus(host: FleetHost, shards: number): BenchHostStatus {
  return {
    name: host.name,
    addr: host.addr,
    state: 'idle',
    tags: host.tags,
    groups: [],
    pending_updates: null,
    last_updated: null,
    error: null,
    failed: null,
    shard: fnv1a(host.name) % shards,
    package_manager: null,
    compose: false,
    job_id: null,
  };
}

// Any stable hash will do for the baselines: the value only has to be a small integer.
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Request paths wrk rotates through: every host once, and every page once. */
export function singleHostPaths(count = DEFAULT_HOST_COUNT): string[] {
  return Array.from({ length: count }, (_, i) => `/hosts/${hostName(i + 1)}`);
}

export function pagePaths(count = DEFAULT_HOST_COUNT, perPage = PAGE_SIZE): string[] {
  const pages = Math.ceil(count / perPage);
  return Array.from({ length: pages }, (_, i) => `/hosts?page=${i + 1}&per_page=${perPage}`);
}

const tomlString = (s: string): string => JSON.stringify(s); // ASCII-only values: JSON escapes are valid TOML

/** A tendhost.toml for `hosts`, in a fresh temp dir (state_dir inside it). Returns the file path. */
export function writeDaemonConfig(hosts: FleetHost[], opts: { workers: number; dir?: string }): string {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tendhost-bench-'));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const lines = [
    '[daemon]',
    'bind = "127.0.0.1:0"',
    `workers = ${opts.workers}`,
    'log_level = "warn"',
    `state_dir = ${tomlString(stateDir)}`,
    '',
  ];
  for (const h of hosts) {
    lines.push(
      '[[host]]',
      `name = ${tomlString(h.name)}`,
      `addr = ${tomlString(h.addr)}`,
      `tags = [${h.tags.map(tomlString).join(', ')}]`,
      '',
    );
  }
  const file = join(dir, 'tendhost.toml');
  writeFileSync(file, lines.join('\n'));
  return file;
}
