// The host table: names, loopback addresses/ports, personas by weight, login
// users, faults and the starting package state of each host. Pure: builds data,
// opens nothing.
import { parseSelectorSpec, isFault, selectHosts, seededRng, type FaultName, type SelectorSpec } from './faults.js';
import {
  isUserKind,
  newBootId,
  newCounters,
  PERSONAS,
  type ComposeStack,
  type PendingPkg,
  type PersonaName,
  type SimHost,
  type UserKind,
} from './host.js';
import { DEFAULTS, type SimulatorOptions } from './options.js';
import { APT_CATALOG, APT_ORIGINS } from './personas/apt-catalog.js';
import { DEBIAN_KERNEL } from './personas/debian.js';
import { FEDORA_KERNEL } from './personas/fedora.js';
import { hash32 } from './personas/types.js';
import { RPM_CATALOG } from './personas/rpm-catalog.js';

function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}
function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** n addresses from base upward inside 127.0.0.0/8, skipping .0 and .255 last octets. */
export function loopbackAddresses(base: string, n: number): string[] {
  let cur = ipToInt(base);
  const out: string[] = [];
  while (out.length < n) {
    if (cur >>> 24 !== 127) throw new Error(`address range from ${base} leaves 127.0.0.0/8 after ${out.length} hosts`);
    const last = cur & 255;
    if (last !== 0 && last !== 255) out.push(intToIp(cur));
    cur++;
  }
  return out;
}

/** Smooth weighted round robin: personas interleave in proportion to their weights. */
export function assignPersonas(n: number, mix: Partial<Record<PersonaName, number>>): PersonaName[] {
  const entries = PERSONAS.map((p) => [p, Math.max(0, mix[p] ?? 0)] as const).filter(([, w]) => w > 0);
  if (entries.length === 0) throw new Error('--mix needs at least one persona with a weight above 0');
  const total = entries.reduce((s, [, w]) => s + w, 0);
  const current = new Map<PersonaName, number>(entries.map(([p]) => [p, 0]));
  const out: PersonaName[] = [];
  for (let i = 0; i < n; i++) {
    let best: PersonaName = entries[0][0];
    for (const [p, w] of entries) {
      current.set(p, current.get(p)! + w);
      if (current.get(p)! > current.get(best)!) best = p;
    }
    current.set(best, current.get(best)! - total);
    out.push(best);
  }
  return out;
}

function pickSorted<T>(catalog: readonly T[], count: number, rng: () => number): T[] {
  const idx = catalog.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  // Keep catalog order: it is the order apt really printed them in.
  return idx.slice(0, Math.min(count, idx.length)).sort((a, b) => a - b).map((i) => catalog[i]);
}

export function aptPending(count: number, rng: () => number): PendingPkg[] {
  return pickSorted(APT_CATALOG, count, rng).map(([name, from, to, o, arch]) => ({
    name,
    from,
    to,
    origin: APT_ORIGINS[o],
    arch,
    size: 20_000 + (hash32(name + to) % 2_000_000),
  }));
}

export function rpmPending(count: number, rng: () => number): PendingPkg[] {
  return pickSorted(RPM_CATALOG, count, rng).map(([name, arch, from, to, origin, size]) => ({
    name,
    arch,
    from,
    to,
    origin,
    size,
  }));
}

function imageId(seed: string): string {
  let out = '';
  for (let i = 0; out.length < 64; i++) out += hash32(`${seed}/${i}`).toString(16).padStart(8, '0');
  return out.slice(0, 64);
}

/** The services of every simulated stack (the same images on every host). */
export const STACK_SERVICES = [
  { name: 'web', image: 'nginx', tag: '1.27', size: 191_849_000 },
  { name: 'db', image: 'postgres', tag: '16', size: 431_120_000 },
  { name: 'cache', image: 'redis', tag: '7', size: 117_300_000 },
];

export function composeStacks(hostName: string, count: number): ComposeStack[] {
  const stacks: ComposeStack[] = [];
  for (let k = 1; k <= count; k++) {
    const project = `app${k}`;
    stacks.push({
      dir: `/srv/${project}`,
      file: k % 2 === 1 ? 'compose.yaml' : 'docker-compose.yml',
      project,
      services: STACK_SERVICES.map((s, i) => {
        // One image store per host: every stack of a host runs the same old image of a service.
        const old = imageId(`${hostName}/${s.name}/old`);
        // The first service of each stack has a newer image in the registry.
        const remote = i === 0 ? imageId(`${s.image}:${s.tag}/new`) : old;
        return { ...s, running: old, local: old, remote };
      }),
    });
  }
  return stacks;
}

function resolveSpecs<K extends string>(
  flag: string,
  specs: Array<SelectorSpec<K> | string> | undefined,
  isKey: (k: string) => k is K,
): SelectorSpec<K>[] {
  return (specs ?? []).map((s) => (typeof s === 'string' ? parseSelectorSpec(flag, s, isKey) : s));
}

export function buildFleet(opts: SimulatorOptions): SimHost[] {
  const n = opts.hosts ?? DEFAULTS.hosts;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--hosts must be a positive integer, got ${n}`);
  const rng = seededRng(opts.seed ?? DEFAULTS.seed);
  const prefix = opts.namePrefix ?? DEFAULTS.namePrefix;
  const first = opts.first ?? 1;
  if (!Number.isInteger(first) || first < 1) throw new Error(`--first must be a positive integer, got ${first}`);
  const width = opts.nameWidth ?? Math.max(5, String(first + n - 1).length);
  const names = Array.from({ length: n }, (_, i) => `${prefix}${String(first + i).padStart(width, '0')}`);
  const base = opts.baseAddr ?? DEFAULTS.baseAddr;
  const port = opts.port ?? DEFAULTS.port;
  // A later slice of a fleet takes the addresses after the earlier slices' ones.
  const addrs = opts.singleAddr ? names.map(() => base) : loopbackAddresses(base, first - 1 + n).slice(first - 1);
  if (ipToInt(base) >>> 24 !== 127) throw new Error(`--base-addr must be inside 127.0.0.0/8, got ${base}`);
  if (opts.singleAddr && port !== 0 && port + n - 1 > 65535) throw new Error(`ports ${port}..${port + n - 1} exceed 65535`);
  const personas = assignPersonas(n, opts.mix ?? DEFAULTS.mix);
  const pendingCount = opts.pending ?? DEFAULTS.pending;
  const rebootPct = opts.rebootRequiredPct ?? DEFAULTS.rebootRequiredPct;
  const stacks = opts.composeStacks ?? DEFAULTS.composeStacks;
  const now = Date.now();

  const hosts: SimHost[] = names.map((name, i) => {
    const persona = personas[i];
    const isRpm = persona === 'fedora';
    return {
      index: first - 1 + i,
      name,
      addr: addrs[i],
      port: opts.singleAddr && port !== 0 ? port + i : port,
      persona,
      user: 'root',
      faults: new Set<FaultName>(),
      counters: newCounters(),
      recent: [],
      pending: isRpm ? rpmPending(pendingCount, rng) : aptPending(pendingCount, rng),
      rebootRequired: false,
      rebootPkgs: [],
      upgradeNeedsReboot: rng() * 100 < rebootPct,
      bootId: newBootId(),
      bootedAt: now - (3 * 86400 + 2 * 3600 + Math.floor(rng() * 3600)) * 1000,
      kernel: isRpm ? FEDORA_KERNEL : DEBIAN_KERNEL,
      nextKernel: null,
      installedKernel: isRpm ? `kernel-core-${FEDORA_KERNEL}` : `linux-image-${DEBIAN_KERNEL}`,
      stacks: persona === 'compose' ? composeStacks(name, stacks) : [],
      refreshed: false,
      metadataAt: now - 5000,
      up: false,
      rebooting: false,
      dead: false,
    };
  });

  for (const spec of resolveSpecs('--fault', opts.faults, isFault)) {
    for (const i of selectHosts(spec.selector, names, rng)) hosts[i].faults.add(spec.key);
  }
  for (const spec of resolveSpecs<UserKind>('--user', opts.users, isUserKind)) {
    for (const i of selectHosts(spec.selector, names, rng)) hosts[i].user = spec.key;
  }
  return hosts;
}

/** SSH login name for a host's user kind. */
export function loginName(user: UserKind): string {
  return user === 'root' ? 'root' : 'deploy';
}
