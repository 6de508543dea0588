// SIGHUP on a cluster node: re-read the file and do what a single daemon's
// reload does, against the shared registry. Hosts added to (or changed in)
// this node's file are written to the registry, and their owner — whichever
// node holds the partition — starts or reconfigures the actor from the
// registry watch (cluster-mode.ts). A host removed from the file is removed
// from the cluster only when this node's file put it there (the registry
// record says source `config` and this node): a host another node's file
// also lists, or one registered through the API, stays. A busy host is
// removed once it is idle, as on one machine. Groups apply to the hosts this
// node runs and its /groups; the other settings (and [cluster]) wait for a
// restart and are named.
import type { Logger } from 'pino';
import type { Config } from '../../common/config-types.js';
import { TendhostError } from '../../common/errors.js';
import type { AuditRecord } from '../audit/audit-log.js';
import type { RegistryKv } from '../cluster/registry-kv.js';
import { loadConfig } from '../config/load.js';
import type { ClusterCommands } from './cluster-commands.js';
import type { HostRegistry } from './host-registry.js';
import { DeferredRemovals, type RemovalOutcome } from './deferred-removals.js';
import { reloadRefused, restartNeeded, type ReloadResult } from './reload.js';

export interface ClusterReloadDeps {
  nodeId: string;
  shared: Pick<RegistryKv, 'putConfigHost' | 'get'>;
  /** Removal through the host's owner (it stops the actor; HOST_BUSY while busy). */
  commands: Pick<ClusterCommands, 'remove'>;
  hosts: Pick<HostRegistry, 'setGroups'>;
  log: Logger;
  audit: { record(r: AuditRecord): void } | null;
}

export class ClusterReloader {
  #current: Config;
  /** Hosts removed from the file while busy (or while NATS was away): removed once that passes. */
  readonly #deferred: DeferredRemovals;

  constructor(
    running: Config,
    private readonly d: ClusterReloadDeps,
  ) {
    this.#current = running;
    this.#deferred = new DeferredRemovals({ tryRemove: (name) => this.#remove(name), inFile: (name) => this.#current.hosts.some((h) => h.name === name), log: d.log });
  }

  async reload(): Promise<ReloadResult> {
    let next: Config;
    try {
      next = loadConfig(this.#current.file);
    } catch (err) {
      return reloadRefused(err, this.#current.file, this.d.log, this.d.audit);
    }
    const result = await this.#apply(next);
    const { log, audit } = this.d;
    log.info({ ...result }, 'config reloaded');
    const details = { added: result.added, removed: result.removed, deferred: result.deferred, changed: result.changed, groups_changed: result.groups_changed };
    audit?.record({ action: 'config.reload', host: null, user: null, source_ip: null, result: 'applied', job_id: null, details });
    if (result.restart_needed.length) log.warn({ keys: result.restart_needed }, 'these settings changed but only take effect after a restart');
    return result;
  }

  async #apply(next: Config): Promise<ReloadResult> {
    const before = new Map(this.#current.hosts.map((h) => [h.name, h]));
    const result: ReloadResult = { ok: true, added: [], removed: [], deferred: [], changed: [], groups_changed: false, restart_needed: restartNeeded(this.#current, next) };
    if (JSON.stringify(this.#current.cluster) !== JSON.stringify(next.cluster)) result.restart_needed.push('cluster');
    for (const host of next.hosts) {
      const old = before.get(host.name);
      if (old && JSON.stringify(old) === JSON.stringify(host)) continue;
      // Its owner (maybe this node) hears of it through the registry watch.
      await this.d.shared.putConfigHost(host);
      (old ? result.changed : result.added).push(host.name);
    }
    const kept = new Set(next.hosts.map((h) => h.name));
    for (const name of before.keys()) {
      if (kept.has(name)) continue;
      const outcome = await this.#remove(name);
      if (outcome === 'removed') result.removed.push(name);
      else if (outcome === 'later') {
        result.deferred.push(name);
        this.#deferred.add(name);
      }
    }
    if (JSON.stringify(this.#current.groups) !== JSON.stringify(next.groups)) {
      await this.d.hosts.setGroups(next.groups as Record<string, string[]>);
      result.groups_changed = true;
    }
    this.#current = { ...this.#current, hosts: next.hosts, groups: next.groups };
    return result;
  }

  /** 'kept': not this file's to remove (another node's file or the API put it there). */
  async #remove(name: string): Promise<RemovalOutcome> {
    try {
      const record = await this.d.shared.get(name);
      if (!record) return 'removed';
      if (record.source !== 'config' || record.node_id !== this.d.nodeId) {
        this.d.log.info({ host: name, source: record.source, by: record.node_id }, 'reload: a host removed from this file stays: it was registered by another node or the API');
        return 'kept';
      }
      await this.d.commands.remove(name, false);
      return 'removed';
    } catch (err) {
      if (err instanceof TendhostError && err.code === 'HOST_NOT_FOUND') return 'removed';
      this.d.log.info({ host: name, err: (err as Error).message }, 'host removed from config cannot be removed now (busy, or the cluster is away); it stays until it can');
      return 'later';
    }
  }

  stop(): void {
    this.#deferred.stop();
  }
}
