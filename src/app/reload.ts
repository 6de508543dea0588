// SIGHUP: re-read tendhost.toml and apply the host and group changes live.
// New hosts get actors, removed hosts stop (a busy one is kept until it is
// idle), changed hosts are reconfigured, groups apply at once. A bad file
// keeps the running configuration. Settings that need a restart are named.
import { loadConfig, groupsByHost } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { Logger } from 'pino';
import type { Config } from '../../common/config-types.js';
import type { AuditRecord } from '../audit/audit-log.js';
import { DeferredRemovals } from './deferred-removals.js';
import type { HostRegistry } from './host-registry.js';

export interface ReloadResult {
  ok: boolean;
  added: string[];
  removed: string[];
  deferred: string[];
  changed: string[];
  groups_changed: boolean;
  restart_needed: string[];
  error?: string;
}

const RESTART_KEYS: Array<[string, (c: Config) => unknown]> = [
  ['daemon.bind', (c) => `${c.daemon.host}:${c.daemon.port}`],
  ['daemon.workers', (c) => c.daemon.workers],
  ['daemon.worker_nice', (c) => c.workers.nice],
  ['daemon.state_dir', (c) => c.daemon.state_dir],
  ['daemon.tls', (c) => c.daemon.tls],
  ['daemon.auth', (c) => c.daemon.auth],
  ['daemon.ssh', (c) => c.workers.ssh],
  ['daemon.operations', (c) => c.workers.operations],
  ['daemon.rate_limit', (c) => c.daemon.rate_limit],
  ['audit', (c) => c.audit],
];

/** The settings that changed in the file but apply only after a restart. */
export function restartNeeded(current: Config, next: Config): string[] {
  return RESTART_KEYS.filter(([, pick]) => JSON.stringify(pick(current)) !== JSON.stringify(pick(next))).map(([key]) => key);
}

/** The file could not be read or is invalid: the running configuration stays (logged and audited). */
export function reloadRefused(err: unknown, file: string, log: Logger, audit: { record(r: AuditRecord): void } | null): ReloadResult {
  const message = err instanceof ConfigError ? err.message : (err as Error).message;
  log.error({ file, err: message }, 'config reload failed; keeping the running configuration');
  audit?.record({ action: 'config.reload', host: null, user: null, source_ip: null, result: `rejected: ${message}`, job_id: null });
  return { ok: false, added: [], removed: [], deferred: [], changed: [], groups_changed: false, restart_needed: [], error: message };
}

export class ConfigReloader {
  #current: Config;
  /** Hosts removed from the file while busy: removed once they are idle. */
  readonly #deferred: DeferredRemovals;

  constructor(
    running: Config,
    private readonly hosts: Pick<HostRegistry, 'upsertFromFile' | 'removeIfIdle' | 'setGroups'>,
    private readonly log: Logger,
    private readonly audit: { record(r: AuditRecord): void } | null,
    /** For the log line of a host that stays until it is idle. */
    private readonly stateOf: (name: string) => string | undefined,
  ) {
    this.#current = running;
    this.#deferred = new DeferredRemovals({
      tryRemove: async (name) => ((await hosts.removeIfIdle(name)) ? 'removed' : 'later'),
      inFile: (name) => this.#current.hosts.some((h) => h.name === name),
      log,
    });
  }

  async reload(): Promise<ReloadResult> {
    const { log, audit } = this;
    let next: Config;
    try {
      next = loadConfig(this.#current.file);
    } catch (err) {
      return reloadRefused(err, this.#current.file, log, audit);
    }
    const result = await this.#apply(next);
    log.info({ ...result }, 'config reloaded');
    audit?.record({
      action: 'config.reload',
      host: null,
      user: null,
      source_ip: null,
      result: 'applied',
      job_id: null,
      details: { added: result.added, removed: result.removed, deferred: result.deferred, changed: result.changed, groups_changed: result.groups_changed },
    });
    if (result.restart_needed.length) log.warn({ keys: result.restart_needed }, 'these settings changed but only take effect after a restart');
    return result;
  }

  async #apply(next: Config): Promise<ReloadResult> {
    const before = new Map(this.#current.hosts.map((h) => [h.name, h]));
    const after = new Map(next.hosts.map((h) => [h.name, h]));
    const result: ReloadResult = { ok: true, added: [], removed: [], deferred: [], changed: [], groups_changed: false, restart_needed: [] };
    result.restart_needed.push(...restartNeeded(this.#current, next));
    const groupsChanged = JSON.stringify(this.#current.groups) !== JSON.stringify(next.groups);
    const byHost = groupsByHost(next.groups);

    for (const [name, host] of after) {
      const old = before.get(name);
      if (!old) {
        await this.hosts.upsertFromFile(host, byHost.get(name) ?? []);
        result.added.push(name);
      } else if (JSON.stringify(old) !== JSON.stringify(host)) {
        await this.hosts.upsertFromFile(host, byHost.get(name) ?? []);
        result.changed.push(name);
      }
    }
    for (const name of before.keys()) {
      if (after.has(name)) continue;
      if (await this.hosts.removeIfIdle(name)) result.removed.push(name);
      else {
        result.deferred.push(name);
        this.#deferred.add(name);
        this.log.info({ host: name, state: this.stateOf(name) }, 'host removed from config is busy; it stays until it is idle');
      }
    }
    if (groupsChanged) {
      await this.hosts.setGroups(next.groups as Record<string, string[]>);
      result.groups_changed = true;
    }
    // Only the host/group part of the new file is live; the rest waits for a restart.
    this.#current = { ...this.#current, hosts: next.hosts, groups: next.groups };
    return result;
  }

  stop(): void {
    this.#deferred.stop();
  }
}
