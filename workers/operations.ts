// A host's operations, as the actor's effects need them: query, upgrade,
// reboot, verify, inventory. Chooses the executor (local for `localhost`,
// SSH otherwise), detects the package managers once, and drives them.
//
// Connection events: HostConnected when the host becomes reachable (first
// connection, or the first after it was lost), HostDisconnected when it is
// lost (the host or the network dropped the session, a reconnect failed, a
// reboot took it down). Closes tendhost makes for its own housekeeping (idle
// timeout, a session slot handed to another host, shutdown) are not news: a
// fleet of 10,000 hosts would otherwise report 10,000 disconnects every idle
// period and as many reconnects on the next query.
import { TendhostError } from '../common/errors.js';
import type { Trace } from '../common/thread-protocol.js';
import type { DaemonSettingsForWorkers } from '../common/config-types.js';
import type { PackageManagerName, ResolvedHost } from '../common/schemas/host.js';
import { emptyUpdateResult, type PendingPackage, type UpdateResult } from '../common/schemas/packages.js';
import type { ExecOptions, ExecResult, Executor, ExecutorNotice } from './exec/types.js';
import { LocalExecutor } from './exec/local.js';
import { SshConnectionManager } from './exec/ssh.js';
import { CMD } from './pkg/commands.js';
import { detect, type Detected } from './pkg/detect.js';
import { driversFor } from './pkg/drivers.js';
import type { DriverContext, PackageDriver } from './pkg/driver.js';
import { collectInventory } from './inventory/collect.js';
import type { Inventory } from '../common/schemas/inventory.js';
import { rebootAndWait } from './reboot.js';

export interface HostOperations {
  /** `unlisted`: some updates could not be listed (a Compose registry failed): an update goes on to its upgrade anyway. */
  query(trace: Trace, opts: { refresh: boolean }): Promise<{ pending: PendingPackage[]; package_manager: PackageManagerName; unlisted: boolean }>;
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
  stats(): { sessions_open: number; handshakes_in_flight: number };
  close(): Promise<void>;
}

export function createShardResources(settings: DaemonSettingsForWorkers): ShardResources {
  const ssh = new SshConnectionManager(settings.ssh);
  return {
    ssh,
    stats: () => {
      const s = ssh.stats();
      return { sessions_open: s.sessions_open, handshakes_in_flight: s.handshakes_in_flight };
    },
    close: () => ssh.close(),
  };
}

/** What one host's operations use of its shard's resources: its executor and host-key acceptance (tests script these). */
export interface HostLinks {
  ssh: Pick<SshConnectionManager, 'executorFor' | 'acceptNewHostKey'>;
}

/** Connect failures: the host is not reachable (as opposed to a command that failed on it). */
const LINK_FAILURES: ReadonlySet<string> = new Set([
  'SSH_CONNECTION_REFUSED',
  'SSH_UNREACHABLE',
  'SSH_TIMEOUT',
  'SSH_AUTH_FAILED',
  'SSH_HOST_KEY_MISMATCH',
  'SSH_HOST_KEY_UNKNOWN',
]);

/**
 * Read-only commands whose output an operation may reuse: a dry run first
 * queries (apt-get -s) and then reports the upgrade it would do — the very
 * same simulation, so it is run once. Nothing else is ever reused.
 */
const REUSABLE: ReadonlySet<string> = new Set([CMD.aptSimulate]);

/** `localhost` is the daemon's own machine: run commands directly, no SSH. */
export function isLocal(host: ResolvedHost): boolean {
  return host.addr === 'localhost';
}

export function createHostOperations(
  initial: ResolvedHost,
  settings: DaemonSettingsForWorkers,
  resources: HostLinks,
  onNotice: (n: ExecutorNotice) => void,
): HostOperations {
  let host = initial;
  /** Whether HostConnected was reported and not yet followed by HostDisconnected. */
  let linked = false;
  const notice = (n: ExecutorNotice): void => {
    if (n.kind === 'connected') {
      if (linked) return;
      linked = true;
    } else {
      if (n.quiet || !linked) return;
      linked = false;
    }
    onNotice(n);
  };
  let raw: Executor = makeExecutor();
  /** Outputs of REUSABLE commands kept by a query for the dry run right after it, in the same job. */
  let recorded: Map<string, ExecResult> | null = null;
  let recordedFor: string | null = null;
  let recording = false;
  const exec: Executor = {
    async run(command: string, opts: ExecOptions) {
      const kept = recorded?.get(command);
      if (kept) {
        recorded!.delete(command);
        return kept;
      }
      try {
        const r = await raw.run(command, opts);
        if (recording && REUSABLE.has(command) && !r.timedOut && !r.truncated) (recorded ??= new Map()).set(command, r);
        return r;
      } catch (err) {
        if (linked && err instanceof TendhostError && LINK_FAILURES.has(err.code)) {
          notice({ kind: 'disconnected', reason: err.message });
        }
        throw err;
      }
    },
    disconnect: (reason) => raw.disconnect(reason),
    close: () => raw.close(),
  };
  let detected: Detected | null = null;
  let drivers: PackageDriver[] = [];
  let bootIdBeforeReboot: string | null = null;
  let inventoryCache: { at: number; data: Inventory } | null = null;

  function makeExecutor(): Executor {
    if (isLocal(host)) {
      // A local "connection" is always there: announce it once.
      queueMicrotask(() => notice({ kind: 'connected' }));
      return new LocalExecutor();
    }
    return resources.ssh.executorFor(host, notice);
  }

  const ctx = (): DriverContext => ({
    timeoutMs: settings.operations.command_timeout_ms,
    maxOutputBytes: settings.operations.max_output_bytes,
    lockTimeoutMs: settings.operations.lock_timeout_ms,
    host,
  });

  async function ensureDetected(): Promise<Detected> {
    if (!detected) {
      detected = await detect(exec, ctx(), host);
      drivers = driversFor(detected, host);
    }
    return detected;
  }

  async function readBootId(timeoutMs: number): Promise<string> {
    const r = await exec.run(CMD.bootId, { timeoutMs });
    const id = r.stdout.trim();
    if (r.exitCode !== 0 || !id) throw new TendhostError('VERIFY_FAILED', `cannot read boot id: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    return id;
  }

  return {
    async query(trace, opts) {
      recorded = null;
      recordedFor = trace.job_id;
      const d = await ensureDetected();
      const pending: PendingPackage[] = [];
      recording = true;
      try {
        for (const driver of drivers) {
          if (opts.refresh) await driver.refresh(exec, ctx());
          pending.push(...(await driver.listPending(exec, ctx())));
        }
      } finally {
        recording = false;
      }
      return { pending, package_manager: d.system, unlisted: drivers.some((x) => x.incomplete === true) };
    },

    async upgrade(dryRun, trace, onProgress) {
      // Only a dry run straight after the query of its own job may reuse what
      // that query saw (not one that follows an earlier, separate query).
      if (!dryRun || trace.job_id === null || trace.job_id !== recordedFor) recorded = null;
      try {
        return await upgradeWith(dryRun, onProgress);
      } finally {
        recorded = null;
      }
    },

    async reboot() {
      recorded = null;
      bootIdBeforeReboot = await readBootId(30_000);
      await rebootAndWait(exec, {
        deadlineMs: settings.operations.reboot_deadline_ms,
        pollMs: settings.operations.reboot_poll_ms,
        host: host.name,
        bootIdBefore: bootIdBeforeReboot,
      });
    },

    async verify() {
      recorded = null;
      const now = await readBootId(30_000);
      if (bootIdBeforeReboot && now === bootIdBeforeReboot) {
        throw new TendhostError('VERIFY_FAILED', `host ${host.name} came back without a new boot id (still ${now})`);
      }
      const health = await exec.run(CMD.health, { timeoutMs: 30_000 });
      if (health.exitCode !== 0 || !/^\d+(\.\d+)?\s/.test(health.stdout)) {
        throw new TendhostError('VERIFY_FAILED', `cannot read /proc/uptime after reboot: ${health.stderr.trim() || `exit ${health.exitCode}`}`);
      }
      const check = host.policy.verify_command ?? null;
      if (check) {
        const r = await exec.run(check, { timeoutMs: settings.operations.command_timeout_ms, maxOutputBytes: 64 * 1024 });
        if (r.exitCode !== 0 || r.timedOut) {
          const out = tail(`${r.stdout}\n${r.stderr}`);
          throw new TendhostError('VERIFY_FAILED', `verify_command ${r.timedOut ? 'timed out' : `exited ${r.exitCode}`} after reboot${out ? `: ${out}` : ''}`);
        }
      }
      for (const driver of drivers) {
        const rr = await driver.rebootRequired(exec, ctx());
        if (rr.required) {
          throw new TendhostError('VERIFY_FAILED', `a reboot is still required after rebooting (${rr.packages.join(', ') || 'flag set'})`);
        }
      }
      bootIdBeforeReboot = null;
    },

    async inventory(refresh) {
      recorded = null;
      const ttl = settings.operations.inventory_ttl_ms;
      if (!refresh && inventoryCache && Date.now() - inventoryCache.at < ttl) return inventoryCache.data;
      const d = await ensureDetected();
      const data = await collectInventory(exec, ctx(), d);
      inventoryCache = { at: Date.now(), data };
      return data;
    },

    acceptHostKey() {
      return isLocal(host) ? false : resources.ssh.acceptNewHostKey(host.name);
    },

    reconfigure(next) {
      const reconnect = next.addr !== host.addr || next.port !== host.port || next.user !== host.user || next.ssh_key !== host.ssh_key;
      host = next;
      if (reconnect) {
        void raw.close();
        raw = makeExecutor();
        detected = null;
        recorded = null;
      } else if (detected) {
        drivers = driversFor(detected, host);
      }
    },

    async close() {
      await raw.close();
    },
  };

  async function upgradeWith(dryRun: boolean, onProgress: (pkg: string, progress: string) => void): Promise<UpdateResult> {
    await ensureDetected();
    const result = emptyUpdateResult(dryRun);
    for (const driver of drivers) {
      const out = await driver.upgrade(exec, { ...ctx(), dryRun, onProgress });
      result.upgraded += out.upgraded;
      result.new += out.new;
      result.removed += out.removed;
      result.packages.push(...out.packages);
      result.skipped.push(...(out.skipped ?? []));
    }
    if (!dryRun) {
      for (const driver of drivers) {
        const rr = await driver.rebootRequired(exec, ctx());
        if (rr.required) {
          result.reboot_required = true;
          result.reboot_packages.push(...rr.packages);
        }
      }
    }
    return result;
  }
}

/** The last lines of a command's output, for an error message. */
function tail(text: string, lines = 5): string {
  return text.trim().split('\n').filter(Boolean).slice(-lines).join(' | ').slice(0, 1000);
}
