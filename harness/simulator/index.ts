// Programmatic entry: startSimulator(options) opens the fleet and returns the
// host table, the tendhost.toml fragment, the control URL and stop().
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControl } from './control.js';
import type { FaultName } from './faults.js';
import { aptPending, buildFleet, rpmPending } from './fleet.js';
import { newCounters, outdatedServices, PERSONAS, type PersonaName, type SimHost } from './host.js';
import { fingerprint, hostKey, loadOrCreateClientKey } from './keys.js';
import { HostListeners } from './listeners.js';
import { DEFAULTS, type SimulatorOptions } from './options.js';
import type { SimEnv } from './personas/types.js';
import { createSshServers } from './ssh-server.js';
import { fleetToml } from './toml.js';
import { seededRng } from './faults.js';

export type { SimulatorOptions } from './options.js';
export type { SimHost, HostView } from './host.js';
export { hostView, outdatedServices } from './host.js';
export { FAULTS, type FaultName } from './faults.js';

import type { SimulatorControl, FleetSummary } from './control.js';
export type { SimulatorControl, FleetSummary };

export interface Simulator extends SimulatorControl {
  toml: string;
  /** null when started with controlPort: null. */
  controlUrl: string | null;
  clientKeyPath: string;
  /** SHA256 fingerprints of the fleet host key and of the `changed-key` key. */
  hostKeyFingerprint: string;
  changedHostKeyFingerprint: string;
  stop(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const log = opts.log ?? (() => {});
  const hosts = buildFleet(opts);
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const rng = seededRng((opts.seed ?? DEFAULTS.seed) ^ 0x5eed);

  const clientKeyPath = opts.clientKeyPath ?? join(mkdtempSync(join(tmpdir(), 'tendhost-sim-')), 'client_ed25519');
  const clientKey = loadOrCreateClientKey(clientKeyPath);
  const fleetKey = hostKey(opts.hostKeyPath);
  const changedKey = hostKey(opts.hostKeyPath ? `${opts.hostKeyPath}.changed` : undefined);

  let stopped = false;
  const sleepers = new Set<() => void>();
  const env: SimEnv = {
    startedAt: Date.now(),
    now: () => Date.now(),
    stopped: () => stopped,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          sleepers.delete(done);
          resolve();
        };
        const t = setTimeout(done, ms);
        sleepers.add(done);
      }),
  };

  // eslint-disable-next-line prefer-const
  let listeners: HostListeners;
  const ssh = createSshServers({ clientKey, env, log, onReboot: (h) => listeners.reboot(h) }, fleetKey, changedKey);
  listeners = new HostListeners(ssh, {
    slowMs: opts.slowMs ?? DEFAULTS.slowMs,
    rebootDownMs: opts.rebootDownMs ?? DEFAULTS.rebootDownMs,
    changedKeyAfter: opts.changedKeyAfter ?? DEFAULTS.changedKeyAfter,
    log,
  });

  const control: SimulatorControl = {
    hosts,
    host: (name) => byName.get(name),
    async setFault(names, fault, on) {
      for (const n of names) {
        const h = byName.get(n);
        if (!h) throw new Error(`no such host "${n}"`);
        if (on) h.faults.add(fault);
        else h.faults.delete(fault);
        // A host that never came back is "power-cycled" when the fault is lifted.
        if (fault === 'reboot-never' && !on && h.dead) listeners.bootCompleted(h);
        else await listeners.sync(h);
      }
    },
    setPending(name, count) {
      const h = byName.get(name);
      if (!h) throw new Error(`no such host "${name}"`);
      h.pending = h.persona === 'fedora' ? rpmPending(count, rng) : aptPending(count, rng);
    },
    resetCounters() {
      for (const h of hosts) {
        h.counters = newCounters();
        h.recent = [];
      }
    },
    summary() {
      const personas = Object.fromEntries(PERSONAS.map((p) => [p, 0])) as Record<PersonaName, number>;
      const faults: Record<string, number> = {};
      const s: FleetSummary = {
        hosts: hosts.length,
        up: 0,
        rebooting: 0,
        dead: 0,
        personas,
        faults,
        pending: 0,
        pending_images: 0,
        connections: 0,
        auth_ok: 0,
        auth_rejected: 0,
        execs: 0,
        reboots: 0,
      };
      for (const h of hosts) {
        personas[h.persona]++;
        for (const f of h.faults) faults[f] = (faults[f] ?? 0) + 1;
        if (h.up) s.up++;
        if (h.rebooting) s.rebooting++;
        if (h.dead) s.dead++;
        s.pending += h.pending.length;
        s.pending_images += outdatedServices(h);
        s.connections += h.counters.connections;
        s.auth_ok += h.counters.authOk;
        s.auth_rejected += h.counters.authRejected;
        s.execs += h.counters.execs;
        s.reboots += h.counters.reboots;
      }
      return s;
    },
  };

  let controlServer: Server | null = null;
  let controlUrl: string | null = null;
  try {
    await listeners.startAll(hosts);
    if (opts.controlPort !== null) {
      const c = await startControl(control, opts.controlPort ?? 0);
      controlServer = c.server;
      controlUrl = c.url;
    }
  } catch (err) {
    await listeners.stop();
    throw err;
  }

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      stopped = true;
      for (const wake of [...sleepers]) wake();
      const closingControl = controlServer
        ? new Promise<void>((r) => {
            controlServer!.close(() => r());
            controlServer!.closeAllConnections();
          })
        : Promise.resolve();
      await Promise.all([listeners.stop(), closingControl]);
    })());

  return {
    ...control,
    toml: fleetToml(hosts, clientKeyPath),
    controlUrl,
    clientKeyPath,
    hostKeyFingerprint: fingerprint(fleetKey),
    changedHostKeyFingerprint: fingerprint(changedKey),
    stop,
  };
}
