// The state of one simulated host: what it has installed, what it would
// upgrade, whether it wants a reboot, its boot id, its faults and what it was
// asked. Personas read and change this; the control endpoint reports it.
import { randomUUID } from 'node:crypto';
import type { FaultName } from './faults.js';

export const PERSONAS = ['debian', 'fedora', 'compose'] as const;
export type PersonaName = (typeof PERSONAS)[number];
export function isPersona(s: string): s is PersonaName {
  return (PERSONAS as readonly string[]).includes(s);
}

/** Login users: root, `deploy` with passwordless sudo, `deploy` whose sudo wants a password. */
export const USER_KINDS = ['root', 'deploy', 'deploy-nosudo'] as const;
export type UserKind = (typeof USER_KINDS)[number];
export function isUserKind(s: string): s is UserKind {
  return (USER_KINDS as readonly string[]).includes(s);
}

/** One pending package upgrade (apt or rpm flavoured by the persona). */
export interface PendingPkg {
  name: string;
  arch: string;
  from: string;
  to: string;
  /** apt: origin text inside the Inst parentheses; rpm: repository id. */
  origin: string;
  /** Download size in bytes (for the `Need to get` / `Size` columns). */
  size: number;
}

export interface ComposeService {
  name: string;
  image: string; // repository
  tag: string;
  /** Image id the running container uses. */
  running: string;
  /** Image id present locally (after `pull`). */
  local: string;
  /** Image id the registry would serve. */
  remote: string;
  size: number;
}

export interface ComposeStack {
  dir: string;
  file: string;
  project: string;
  services: ComposeService[];
}

export interface HostCounters {
  connections: number;
  authOk: number;
  authRejected: number;
  execs: number;
  hung: number;
  /** Connections cut by the `drop` fault. */
  dropped: number;
  reboots: number;
  /** Exact command strings as received (with any sudo prefix), with counts. */
  commands: Record<string, number>;
}

export interface SimHost {
  index: number;
  name: string;
  addr: string;
  port: number;
  persona: PersonaName;
  user: UserKind;
  faults: Set<FaultName>;
  /** Connections (TCP accepts) seen; `changed-key` flips after --changed-key-after of them. */
  counters: HostCounters;
  /** Last commands, newest last (bounded). */
  recent: string[];

  pending: PendingPkg[];
  /** Set by an upgrade whose persona wants a reboot; cleared by a reboot. */
  rebootRequired: boolean;
  rebootPkgs: string[];
  /** Whether a real upgrade on this host leaves a reboot requirement. */
  upgradeNeedsReboot: boolean;
  bootId: string;
  bootedAt: number;
  kernel: string;
  /** Kernel that a reboot switches to (installed by an upgrade). */
  nextKernel: string | null;
  /** For the fedora rpm kernel check: newest installed kernel package. */
  installedKernel: string;
  stacks: ComposeStack[];
  /** apt: `apt-get update` ran once (later runs print Hit: lines). */
  refreshed: boolean;
  /** dnf: when the metadata cache was last refreshed (epoch ms). */
  metadataAt: number;

  /** Listening state. `up` false while rebooting (or refused). */
  up: boolean;
  /** Between `reboot` and coming back. */
  rebooting: boolean;
  /** Reboot never came back (`reboot-never`). */
  dead: boolean;
  /** Has osquery (`osqueryi`): inventory comes from it. */
  osquery?: boolean;
}

export function newCounters(): HostCounters {
  return {
    connections: 0,
    authOk: 0,
    authRejected: 0,
    execs: 0,
    hung: 0,
    dropped: 0,
    reboots: 0,
    commands: Object.create(null) as Record<string, number>,
  };
}

export function newBootId(): string {
  return randomUUID();
}

const RECENT_MAX = 32;
/** Counted as `command` (the CMD it is), kept in `recent` as it came (`raw`). */
export function recordCommand(host: SimHost, command: string, raw = command): void {
  host.counters.execs++;
  host.counters.commands[command] = (host.counters.commands[command] ?? 0) + 1;
  host.recent.push(raw);
  if (host.recent.length > RECENT_MAX) host.recent.shift();
}

/** Stack services whose registry image differs from the one running: pending updates as the daemon counts them, besides packages. */
export function outdatedServices(h: SimHost): number {
  let n = 0;
  for (const s of h.stacks) for (const x of s.services) if (x.running !== x.remote) n++;
  return n;
}

/** The public view of a host (control endpoint, tests). */
export function hostView(h: SimHost) {
  return {
    name: h.name,
    addr: h.addr,
    port: h.port,
    persona: h.persona,
    user: h.user,
    faults: [...h.faults],
    up: h.up,
    rebooting: h.rebooting,
    dead: h.dead,
    pending: h.pending.length,
    pending_packages: h.pending.map((p) => p.name),
    reboot_required: h.rebootRequired,
    boot_id: h.bootId,
    booted_at: new Date(h.bootedAt).toISOString(),
    kernel: h.kernel,
    compose: h.stacks.map((s) => ({
      dir: s.dir,
      outdated: s.services.filter((x) => x.running !== x.remote).map((x) => x.name),
    })),
    counters: h.counters,
    recent: h.recent,
  };
}
export type HostView = ReturnType<typeof hostView>;
