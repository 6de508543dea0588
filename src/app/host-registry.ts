// The one owner of which hosts exist: their configurations (from the file and
// registered through the API), the groups, and which shard actor runs each.
// The API, a SIGHUP reload and start-up all add and remove hosts through it,
// so they cannot disagree. It never writes the read model: the broadcaster
// does, from what the shards report (and from an add_host reply, so the very
// next GET sees a registered host).
import type { Logger } from 'pino';
import { TendhostError } from '../../common/errors.js';
import type { HostStatus, ResolvedHost } from '../../common/schemas/host.js';
import type { RegisterHostRequest } from '../../common/schemas/requests.js';
import type { ReplyOf, WorkerTask } from '../../common/thread-protocol.js';
import { groupsByHost, resolveHost } from '../config/load.js';
import type { ShardHost } from '../pool/shard-pool.js';

/** The part of the shard pool the registry drives. */
export interface ShardTasks {
  readonly size: number;
  shardOf(name: string): number;
  run<T extends WorkerTask>(task: T): Promise<ReplyOf<T['kind']>>;
  attach(shard: number, hosts: ShardHost[]): Promise<ReplyOf<'attach'>>;
}

/** Where the registry's changes become visible: the broadcaster (read model + stream) and the state store. */
export interface RegistrySinks {
  applyStatus(status: HostStatus): void;
  removeHost(name: string): void;
  register(host: ResolvedHost): void;
  unregister(name: string): void;
}

/** What an actor starts from: its last status (or, after an interruption, a failure). */
export type RestoreFrom = (name: string) => Partial<HostStatus> | undefined;

export type Defaults = { user?: string; port?: number; ssh_key?: string };

export class HostRegistry {
  readonly #configs = new Map<string, ResolvedHost>();
  /** Hosts registered through the API (not in the config file). */
  readonly #registered = new Set<string>();
  #groups: Record<string, string[]>;

  constructor(
    fileHosts: readonly ResolvedHost[],
    groups: Record<string, string[]>,
    registeredBefore: readonly ResolvedHost[],
    private readonly defaults: Defaults,
    private readonly shards: ShardTasks,
    private readonly sinks: RegistrySinks,
    private readonly log: Logger,
  ) {
    for (const h of fileHosts) this.#configs.set(h.name, h);
    this.#groups = structuredClone(groups);
    for (const h of registeredBefore) {
      if (this.#configs.has(h.name)) {
        log.warn({ host: h.name }, 'a host registered through the API is now also in the config file; the file wins');
        continue;
      }
      this.#configs.set(h.name, h);
      this.#registered.add(h.name);
    }
  }

  get size(): number {
    return this.#configs.size;
  }

  has(name: string): boolean {
    return this.#configs.has(name);
  }

  config(name: string): ResolvedHost | undefined {
    return this.#configs.get(name);
  }

  get groups(): Readonly<Record<string, readonly string[]>> {
    return this.#groups;
  }

  // ── start-up and worker replacement ───────────────────────────────────

  /** Every shard gets its hosts' actors. Throws when a worker cannot start. */
  async attachAll(restore: RestoreFrom): Promise<void> {
    await Promise.all(Array.from({ length: this.shards.size }, (_, shard) => this.shards.attach(shard, this.#shardHosts(shard, restore))));
  }

  /** A replaced worker gets the shard's hosts again, each from `restore`. */
  async reattach(shard: number, restore: RestoreFrom): Promise<void> {
    await this.shards.attach(shard, this.#shardHosts(shard, restore));
  }

  #shardHosts(shard: number, restore: RestoreFrom): ShardHost[] {
    const byHost = groupsByHost(this.#groups);
    const out: ShardHost[] = [];
    for (const host of this.#configs.values()) {
      if (this.shards.shardOf(host.name) === shard) out.push({ host, groups: byHost.get(host.name) ?? [], restore: restore(host.name) });
    }
    return out;
  }

  // ── the API ───────────────────────────────────────────────────────────

  /** POST /hosts: a new host with an actor on its shard, kept across restarts. Returns its first status. */
  async register(request: RegisterHostRequest, known: (name: string) => boolean): Promise<HostStatus> {
    if (this.#configs.has(request.name) || known(request.name)) throw new TendhostError('HOST_EXISTS', `host ${request.name} already exists`);
    const host = resolveHost(request, this.defaults);
    // Written first: a worker that dies under add_host rebuilds the shard from this map.
    this.#configs.set(host.name, host);
    let reply;
    try {
      reply = await this.shards.run({ kind: 'add_host', shard: this.shards.shardOf(host.name), host, groups: [] });
      // Visible to the very next GET, not only once the shard's port delivers it.
      if (!known(host.name)) this.sinks.applyStatus(reply.status);
    } catch (err) {
      this.#configs.delete(host.name);
      throw err;
    }
    this.#registered.add(host.name);
    this.sinks.register(host);
    return reply.status;
  }

  /** DELETE /hosts/:name: HOST_BUSY unless forced. */
  async remove(name: string, force: boolean): Promise<void> {
    if (!this.#configs.has(name)) throw new TendhostError('HOST_NOT_FOUND', `host ${name} not found`);
    const reply = await this.shards.run({ kind: 'remove_host', shard: this.shards.shardOf(name), name, force });
    if (!reply.reply.ok) throw new TendhostError(reply.reply.error.code, reply.reply.error.message);
    this.#forget(name);
  }

  // ── a cluster node taking and handing back partitions ─────────────────

  /** A host this node now runs (its partition was taken): an actor from `restore`, or fresh. Returns its status. */
  async adopt(host: ResolvedHost, restore?: Partial<HostStatus>): Promise<HostStatus> {
    this.#configs.set(host.name, host);
    const groups = groupsByHost(this.#groups).get(host.name) ?? [];
    try {
      const reply = await this.shards.run({ kind: 'add_host', shard: this.shards.shardOf(host.name), host, groups, restore });
      this.sinks.applyStatus(reply.status);
      return reply.status;
    } catch (err) {
      this.#configs.delete(host.name);
      throw err;
    }
  }

  /** A host another node runs from now on: its actor is stopped (even mid-operation), the host itself is not removed. */
  async release(name: string): Promise<void> {
    if (!this.#configs.has(name)) return;
    this.#configs.delete(name);
    try {
      await this.shards.run({ kind: 'remove_host', shard: this.shards.shardOf(name), name, force: true });
    } finally {
      this.sinks.removeHost(name);
    }
  }

  /** The hosts this registry runs now. */
  names(): string[] {
    return [...this.#configs.keys()];
  }

  // ── a reload of the config file ───────────────────────────────────────

  /**
   * A host the file adds or changes. The map is written first, so a worker
   * that dies under the task rebuilds the shard with this host: a failed task
   * is logged, not thrown (a reload never ends the daemon).
   */
  async upsertFromFile(host: ResolvedHost, groups: string[]): Promise<void> {
    if (this.#registered.delete(host.name)) this.sinks.unregister(host.name); // the file owns it now
    this.#configs.set(host.name, host);
    try {
      await this.shards.run({ kind: 'add_host', shard: this.shards.shardOf(host.name), host, groups });
    } catch (err) {
      this.log.warn({ host: host.name, err: (err as Error).message }, 'reload: the shard did not take the host now; it gets it when the shard is rebuilt');
    }
  }

  /** A host the file no longer has: true when removed, false when busy or its shard is being rebuilt (try again later). */
  async removeIfIdle(name: string): Promise<boolean> {
    let reply;
    try {
      reply = await this.shards.run({ kind: 'remove_host', shard: this.shards.shardOf(name), name, force: false });
    } catch (err) {
      this.log.warn({ host: name, err: (err as Error).message }, 'reload: could not remove the host from its shard now; trying again');
      return false;
    }
    if (!reply.reply.ok && reply.reply.error.code === 'HOST_BUSY') return false;
    this.#forget(name);
    return true;
  }

  /** New groups apply at once; a shard whose worker dies meanwhile is rebuilt with them. */
  async setGroups(groups: Record<string, string[]>): Promise<void> {
    this.#groups = structuredClone(groups);
    await Promise.all(
      Array.from({ length: this.shards.size }, (_, shard) =>
        this.shards
          .run({ kind: 'set_groups', shard, groups: this.#groups })
          .catch((err: Error) => this.log.warn({ shard, err: err.message }, 'reload: groups reach this shard when it is rebuilt')),
      ),
    );
  }

  /** Gone everywhere: config, groups, registration, read model. */
  #forget(name: string): void {
    this.#configs.delete(name);
    if (this.#registered.delete(name)) this.sinks.unregister(name);
    for (const members of Object.values(this.#groups)) {
      const i = members.indexOf(name);
      if (i >= 0) members.splice(i, 1);
    }
    this.sinks.removeHost(name);
  }
}
