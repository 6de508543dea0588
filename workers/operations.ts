// A host's operations, as the actor's effects need them: query, upgrade,
// reboot, verify, inventory. Detects the package managers once and drives
// them through the host's executor (host-executor.ts: local for `localhost`,
// SSH otherwise, and the connection notices).
import type { Trace } from '../common/thread-protocol.js';
import type { DaemonSettingsForWorkers } from '../common/config-types.js';
import type { PackageManagerName, ResolvedHost } from '../common/schemas/host.js';
import { emptyUpdateResult, type PendingPackage, type UpdateResult } from '../common/schemas/packages.js';
import type { ExecutorNotice } from './exec/types.js';
import { SshConnectionManager } from './exec/ssh.js';
import { detect, type Detected } from './pkg/detect.js';
import { driversFor } from './pkg/drivers.js';
import type { DriverContext, PackageDriver } from './pkg/driver.js';
import { collectInventory } from './inventory/collect.js';
import type { Inventory } from '../common/schemas/inventory.js';
import { rebootAndWait } from './reboot.js';
import { HostExecutor, isLocal, type HostLinks } from './host-executor.js';
import { readBootId, verifyAfterReboot } from './verify.js';

export type { HostLinks } from './host-executor.js';

export interface HostOperations {
  /** `unlisted`: some updates could not be listed (a Compose registry failed): an update goes on to its upgrade anyway. */
  /**
   * `reuseForDryRun`: a dry-run upgrade of the same job follows when something
   * is pending, and may reuse this query's package simulation; otherwise no
   * command output is kept past the query.
   */
  query(trace: Trace, opts: { refresh: boolean; reuseForDryRun: boolean }): Promise<{ pending: PendingPackage[]; package_manager: PackageManagerName; unlisted: boolean }>;
  upgrade(dryRun: boolean, trace: Trace, onProgress: (pkg: string, progress: string) => void): Promise<UpdateResult>;
  reboot(trace: Trace): Promise<void>;
  verify(trace: Trace): Promise<void>;
  inventory(refresh: boolean): Promise<Inventory>;
  acceptHostKey(): boolean;
  reconfigure(host: ResolvedHost): void;
  close(): Promise<void>;
}

/** What all hosts of one shard share: the SSH connection manager and its limits. */
export interface ShardResources {
  ssh: SshConnectionManager;
  /** `queued`: operations waiting for a handshake slot or a session. */
  stats(): { sessions_open: number; handshakes_in_flight: number; queued: number };
  close(): Promise<void>;
}

export function createShardResources(settings: DaemonSettingsForWorkers): ShardResources {
  const ssh = new SshConnectionManager(settings.ssh);
  return {
    ssh,
    stats: () => {
      const s = ssh.stats();
      return { sessions_open: s.sessions_open, handshakes_in_flight: s.handshakes_in_flight, queued: s.queued };
    },
    close: () => ssh.close(),
  };
}

export function createHostOperations(
  initial: ResolvedHost,
  settings: DaemonSettingsForWorkers,
  resources: HostLinks,
  onNotice: (n: ExecutorNotice) => void,
): HostOperations {
  return new HostOps(initial, settings, resources, onNotice);
}

class HostOps implements HostOperations {
  #host: ResolvedHost;
  readonly #settings: DaemonSettingsForWorkers;
  readonly #links: HostLinks;
  readonly #exec: HostExecutor;
  #detected: Detected | null = null;
  #drivers: PackageDriver[] = [];
  #bootIdBeforeReboot: string | null = null;
  #inventoryCache: { at: number; data: Inventory } | null = null;

  constructor(host: ResolvedHost, settings: DaemonSettingsForWorkers, links: HostLinks, onNotice: (n: ExecutorNotice) => void) {
    this.#host = host;
    this.#settings = settings;
    this.#links = links;
    this.#exec = new HostExecutor(host, links, onNotice);
  }

  async query(trace: Trace, opts: { refresh: boolean; reuseForDryRun: boolean }): ReturnType<HostOperations['query']> {
    this.#exec.beginQuery(trace.job_id);
    const d = await this.#ensureDetected();
    const pending: PendingPackage[] = [];
    const list = async () => {
      for (const driver of this.#drivers) {
        if (opts.refresh) await driver.refresh(this.#exec, this.#ctx());
        pending.push(...(await driver.listPending(this.#exec, this.#ctx())));
      }
    };
    await (opts.reuseForDryRun ? this.#exec.recording(list) : list());
    const unlisted = this.#drivers.some((x) => x.incomplete === true);
    // Nothing to upgrade: no dry run follows, and a host rests for hours —
    // its raw simulation output (KBs per host, 10,000 hosts) must not stay with it.
    if (pending.length === 0 && !unlisted) this.#exec.forget();
    return { pending, package_manager: d.system, unlisted };
  }

  async upgrade(dryRun: boolean, trace: Trace, onProgress: (pkg: string, progress: string) => void): Promise<UpdateResult> {
    // Only a dry run straight after the query of its own job may reuse what
    // that query saw (not one that follows an earlier, separate query).
    if (!this.#exec.mayReuse(dryRun, trace.job_id)) this.#exec.forget();
    try {
      return await this.#upgradeWith(dryRun, onProgress);
    } finally {
      this.#exec.forget();
    }
  }

  async reboot(): Promise<void> {
    this.#exec.forget();
    this.#bootIdBeforeReboot = await readBootId(this.#exec, 30_000);
    await rebootAndWait(this.#exec, {
      deadlineMs: this.#settings.operations.reboot_deadline_ms,
      pollMs: this.#settings.operations.reboot_poll_ms,
      host: this.#host.name,
      bootIdBefore: this.#bootIdBeforeReboot,
    });
  }

  async verify(): Promise<void> {
    this.#exec.forget();
    await verifyAfterReboot(this.#exec, this.#ctx(), this.#host, this.#drivers, this.#bootIdBeforeReboot);
    this.#bootIdBeforeReboot = null;
  }

  async inventory(refresh: boolean): Promise<Inventory> {
    this.#exec.forget();
    const ttl = this.#settings.operations.inventory_ttl_ms;
    const cache = this.#inventoryCache;
    if (!refresh && cache && Date.now() - cache.at < ttl) return cache.data;
    const d = await this.#ensureDetected();
    const data = await collectInventory(this.#exec, this.#ctx(), d);
    this.#inventoryCache = { at: Date.now(), data };
    return data;
  }

  acceptHostKey(): boolean {
    return isLocal(this.#host) ? false : this.#links.ssh.acceptNewHostKey(this.#host.name);
  }

  reconfigure(next: ResolvedHost): void {
    const host = this.#host;
    const reconnect = next.addr !== host.addr || next.port !== host.port || next.user !== host.user || next.ssh_key !== host.ssh_key;
    this.#host = next;
    if (reconnect) {
      this.#exec.reconnect(next);
      this.#detected = null;
    } else if (this.#detected) {
      this.#drivers = driversFor(this.#detected, next);
    }
  }

  async close(): Promise<void> {
    await this.#exec.close();
  }

  #ctx(): DriverContext {
    const ops = this.#settings.operations;
    return { timeoutMs: ops.command_timeout_ms, maxOutputBytes: ops.max_output_bytes, lockTimeoutMs: ops.lock_timeout_ms, host: this.#host };
  }

  async #ensureDetected(): Promise<Detected> {
    if (!this.#detected) {
      this.#detected = await detect(this.#exec, this.#ctx(), this.#host);
      this.#drivers = driversFor(this.#detected, this.#host);
    }
    return this.#detected;
  }

  async #upgradeWith(dryRun: boolean, onProgress: (pkg: string, progress: string) => void): Promise<UpdateResult> {
    await this.#ensureDetected();
    const result = emptyUpdateResult(dryRun);
    for (const driver of this.#drivers) {
      const out = await driver.upgrade(this.#exec, { ...this.#ctx(), dryRun, onProgress });
      result.upgraded += out.upgraded;
      result.new += out.new;
      result.removed += out.removed;
      result.packages.push(...out.packages);
      result.skipped.push(...(out.skipped ?? []));
    }
    if (!dryRun) {
      for (const driver of this.#drivers) {
        const rr = await driver.rebootRequired(this.#exec, this.#ctx());
        if (rr.required) {
          result.reboot_required = true;
          result.reboot_packages.push(...rr.packages);
        }
      }
    }
    return result;
  }
}
