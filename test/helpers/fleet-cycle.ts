// Shared by the test/cycle-*.test.ts files: the fleet simulator in-process on
// a random 127.x base address, the built daemon pointed at it (accept-new host
// keys into a temp known_hosts, short reboot poll and deadline), and a
// WebSocket recorder of every event.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startSimulator, type HostView, type Simulator, type SimulatorOptions, type SimHost } from '../../harness/simulator/index.js';
import { hostToml } from '../../harness/simulator/toml.js';
import { startDaemon, until, type Daemon } from '../../harness/daemon.js';

/** A base address in 127.64.0.0–127.191.255.0 so parallel test files do not collide. */
export function randomBase(): string {
  const b = 64 + Math.floor(Math.random() * 128);
  const c = Math.floor(Math.random() * 256);
  return `127.${b}.${c}.1`;
}

export interface CycleFleet {
  sim: Simulator;
  d: Daemon;
  events: Recorder;
  view(name: string): Promise<HostView>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  sim: SimulatorOptions;
  /** Extra TOML lines per host, appended after its [[host]] table (e.g. a [host.policy]). */
  hostExtra?: (h: SimHost) => string;
  /** Replaces a host's whole [[host]] table (null = leave the host out). */
  hostToml?: (h: SimHost, keyPath: string) => string | null;
  /** Extra lines inside [daemon]. */
  daemon?: string;
  operations?: { reboot_poll_s?: number; reboot_deadline_s?: number; command_timeout_s?: number; inventory_ttl_s?: number };
  env?: Record<string, string>;
  workers?: number;
  /** More TOML after the hosts. */
  toml?: string;
  /** Runs after the simulator started, before its hosts are written into the daemon's config. */
  prepare?: (sim: Simulator) => void | Promise<void>;
}

export async function startCycleFleet(opts: FleetOptions): Promise<CycleFleet> {
  const tmp = mkdtempSync(join(tmpdir(), 'tendhost-cycle-'));
  const sim = await startSimulator({
    baseAddr: randomBase(),
    port: 0,
    rebootDownMs: 400,
    clientKeyPath: join(tmp, 'client_ed25519'),
    ...opts.sim,
  });
  try {
    await opts.prepare?.(sim);
  } catch (err) {
    await sim.stop();
    throw err;
  }
  const ops = { reboot_poll_s: 0.2, reboot_deadline_s: 5, ...opts.operations };
  const opLines = Object.entries(ops)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n');
  const hosts = sim.hosts
    .map((h) => {
      const base = opts.hostToml ? opts.hostToml(h, sim.clientKeyPath) : hostToml(h, sim.clientKeyPath);
      if (base === null) return '';
      return base + (opts.hostExtra?.(h) ?? '');
    })
    .filter((s) => s !== '')
    .join('\n');
  let d: Daemon;
  try {
    d = await startDaemon({
      daemon:
        `[daemon.ssh]\nhost_key_policy = "accept-new"\nknown_hosts = "${join(tmp, 'known_hosts')}"\n` +
        `[daemon.operations]\n${opLines}\n${opts.daemon ?? ''}`,
      toml: hosts + '\n' + (opts.toml ?? ''),
      workers: opts.workers ?? 2,
      env: opts.env,
    });
  } catch (err) {
    await sim.stop();
    throw err;
  }
  const events = await recordEvents(d);
  const view = async (name: string): Promise<HostView> => {
    const r = await fetch(`${sim.controlUrl}/hosts/${encodeURIComponent(name)}`);
    return (await r.json()) as HostView;
  };
  return {
    sim,
    d,
    events,
    view,
    async stop() {
      events.close();
      await d.stop();
      await sim.stop();
    },
  };
}

export interface Recorder {
  all: any[];
  of(host: string, type?: string): any[];
  /** `from->to` of every HostStateChanged of the host, in order. */
  states(host: string): string[];
  /** Resolves with the host's events once one matches. */
  waitFor(host: string, pred: (e: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): void;
}

/** The event recorder of each daemon, so waitForState can wait for the event as well. */
const recorders = new WeakMap<Daemon, Recorder>();

export async function recordEvents(d: Daemon): Promise<Recorder> {
  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/events`);
  const all: any[] = [];
  ws.on('message', (m) => all.push(JSON.parse(String(m))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await until(() => all.some((m) => m.type === 'Snapshot'));
  const of = (host: string, type?: string) => all.filter((e) => e.host === host && (type === undefined || e.type === type));
  const recorder: Recorder = {
    all,
    of,
    states: (host) => of(host, 'HostStateChanged').map((e) => `${e.from}->${e.to}`),
    waitFor: (host, pred, timeoutMs = 30_000) => until(() => of(host).find(pred), timeoutMs, 25),
    close: () => ws.close(),
  };
  recorders.set(d, recorder);
  return recorder;
}

/**
 * The host's status once it rests in `state` with its job finished — and, when
 * the daemon's events are being recorded, once the event that brought it there
 * has arrived too: a client with an HTTP and a WebSocket connection can read
 * the new state before the event reaches it.
 */
export async function waitForState(d: Daemon, name: string, state: string, timeoutMs = 30_000): Promise<any> {
  return until(
    async () => {
      const r = await d.get(`/hosts/${encodeURIComponent(name)}`);
      if (r.body?.state !== state || r.body.job_id !== null) return null;
      const changes = recorders.get(d)?.states(name) ?? [];
      return changes.length === 0 || changes[changes.length - 1]!.endsWith(`->${state}`) ? r.body : null;
    },
    timeoutMs,
    50,
  );
}

import { FULL_CYCLE } from './full-cycle.js';
export { FULL_CYCLE };

export const UP_TO_WAITING = FULL_CYCLE.slice(0, 4);
