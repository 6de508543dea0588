// The shared host registry and each host's last status, in two JetStream KV
// buckets, so whichever node takes a partition over can rebuild its hosts.
// Keys are `<partition>.<host name>`: a new owner lists exactly its
// partition's hosts (`<p>.>`). Registration through the API is a create, so
// two nodes registering the same name at once cannot both succeed.
// Values are checked against their schema on the way in from NATS: another
// process wrote them.
import { KvWatchInclude, Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { HostStatus, ResolvedHost } from '../../common/schemas/host.js';
import { AckedPublisher } from './acked-publish.js';
import { isWrongRevision } from './buckets.js';
import { readPresent } from './kv-read.js';
import { unreadable } from './kv-value.js';
import { partitionOf } from './partition.js';
import { StatusWriter } from './status-writer.js';

export const REGISTRY_BUCKET = 'tendhost_registry';
export const STATUS_BUCKET = 'tendhost_status';
const META_PARTITIONS = 'meta.partitions';

export const ClusterHostRecord = Type.Object(
  {
    host: ResolvedHost,
    /** `config`: from a node's tendhost.toml; `api`: POST /hosts. */
    source: Type.Union([Type.Literal('config'), Type.Literal('api')]),
    /** The node that wrote it. */
    node_id: Type.String(),
    registered_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type ClusterHostRecord = Static<typeof ClusterHostRecord>;

const checkRecord = Compile(ClusterHostRecord);
const checkStatus = Compile(HostStatus);

export class HostExistsError extends Error {
  constructor(readonly host: string) {
    super(`host "${host}" is already registered in the cluster`);
    this.name = 'HostExistsError';
  }
}

export class PartitionCountError extends Error {
  constructor(mine: number, cluster: number) {
    super(`cluster.partitions is ${mine} here but the cluster was started with ${cluster}: every node must use the same partitions`);
    this.name = 'PartitionCountError';
  }
}

export class RegistryKv {
  private constructor(
    private readonly registry: KV,
    private readonly status: KV,
    private readonly partitions: number,
    private readonly nodeId: string,
    private readonly statuses: StatusWriter,
    private readonly onBad: (err: Error) => void,
  ) {}

  /** Open the buckets (creating them once) and check this node's partition count against the cluster's. */
  /** `onBad`: an entry of a listing that is no record or status (passed over, so one bad value does not stop a node restoring a partition). */
  static async open(nc: NatsConnection, o: { partitions: number; nodeId: string; onBad?: (err: Error) => void }): Promise<RegistryKv> {
    const kvm = new Kvm(nc);
    const [registry, status] = await Promise.all([kvm.create(REGISTRY_BUCKET, { history: 1 }), kvm.create(STATUS_BUCKET, { history: 1 })]);
    // Keys carry the partition: a node hashing into another count would look in the wrong places.
    try {
      await registry.create(META_PARTITIONS, String(o.partitions));
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      const e = await registry.get(META_PARTITIONS);
      const theirs = Number(e?.string());
      if (theirs !== o.partitions) throw new PartitionCountError(o.partitions, theirs);
    }
    return new RegistryKv(registry, status, o.partitions, o.nodeId, new StatusWriter(new AckedPublisher(nc), `$KV.${STATUS_BUCKET}.`), o.onBad ?? (() => undefined));
  }

  private key(name: string): string {
    return `${partitionOf(name, this.partitions)}.${name}`;
  }

  private record(host: ResolvedHost, source: ClusterHostRecord['source']): string {
    return JSON.stringify({ host, source, node_id: this.nodeId, registered_at: new Date().toISOString() } satisfies ClusterHostRecord);
  }

  /** Register a host through the API: refused (HostExistsError) when the name is taken anywhere in the cluster. */
  async register(host: ResolvedHost): Promise<void> {
    try {
      await this.registry.create(this.key(host.name), this.record(host, 'api'));
    } catch (err) {
      if (isWrongRevision(err)) throw new HostExistsError(host.name);
      throw err;
    }
  }

  /** A host from this node's config file: written whatever was there (the file is the admin's word). */
  async putConfigHost(host: ResolvedHost): Promise<void> {
    await this.registry.put(this.key(host.name), this.record(host, 'config'));
  }

  /** Remove a host and its last status; false when it was not registered. */
  async remove(name: string): Promise<boolean> {
    const key = this.key(name);
    const e = await this.registry.get(key);
    if (!e || e.operation !== 'PUT') return false;
    this.statuses.forget(key);
    await this.registry.delete(key);
    await this.status.delete(key);
    return true;
  }

  async get(name: string): Promise<ClusterHostRecord | null> {
    const e = await this.registry.get(this.key(name));
    return e && e.operation === 'PUT' ? this.parseRecord(e.key, e.string()) : null;
  }

  /** Every host registered in one partition (what its new owner attaches). */
  async partitionHosts(partition: number): Promise<ClusterHostRecord[]> {
    return this.list(this.registry, `${partition}.>`, (k, v) => this.parseRecord(k, v));
  }

  /** Every host in the cluster. */
  async allHosts(): Promise<ClusterHostRecord[]> {
    return this.list(this.registry, '>', (k, v) => this.parseRecord(k, v));
  }

  /** Record a host's status (the owner does, on every change; status-writer.ts batches them). */
  putStatus(s: HostStatus): Promise<void> {
    return this.statuses.put(this.key(s.name), JSON.stringify(s));
  }

  async lastStatus(name: string): Promise<HostStatus | null> {
    const e = await this.status.get(this.key(name));
    return e && e.operation === 'PUT' ? this.parseStatus(e.key, e.string()) : null;
  }

  /** The last statuses of one partition's hosts (a new owner restores from them). */
  async partitionStatuses(partition: number): Promise<HostStatus[]> {
    return this.list(this.status, `${partition}.>`, (k, v) => this.parseStatus(k, v));
  }

  /**
   * Hosts written from now on, by any node (registrations, config files): the
   * owner of a partition starts actors for hosts that arrive after it took it.
   */
  async watchHosts(on: (record: ClusterHostRecord) => void, bad: (err: Error) => void): Promise<{ stop(): void }> {
    const it = await this.registry.watch({ key: '>', include: KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const e of it) {
        if (e.operation !== 'PUT' || !/^\d+\./.test(e.key)) continue;
        try {
          on(this.parseRecord(e.key, e.string()));
        } catch (err) {
          bad(err as Error);
        }
      }
    })();
    return it;
  }

  /** Every host's last status (a node builds its read model of the whole fleet from these). */
  async allStatuses(): Promise<HostStatus[]> {
    return this.list(this.status, '>', (k, v) => this.parseStatus(k, v));
  }

  private async list<T>(kv: KV, filter: string, parse: (key: string, value: string) => T): Promise<T[]> {
    // One pass over the bucket's stream, values included (a get per key was a round trip per host).
    // A value written by another version or by hand that does not parse is passed over and
    // reported: the rest of the partition's hosts still restore.
    return (await readPresent(kv, filter)).flatMap((e) => {
      if (!/^\d+\./.test(e.key)) return [];
      try {
        return [parse(e.key, e.string())];
      } catch (err) {
        this.onBad(unreadable(err, kv === this.registry ? REGISTRY_BUCKET : STATUS_BUCKET, e.key));
        return [];
      }
    });
  }

  private parseRecord(key: string, text: string): ClusterHostRecord {
    const v = JSON.parse(text);
    if (!checkRecord.Check(v)) throw new Error(`${REGISTRY_BUCKET} ${key}: not a host record`);
    return v;
  }

  private parseStatus(key: string, text: string): HostStatus {
    const v = JSON.parse(text);
    if (!checkStatus.Check(v)) throw new Error(`${STATUS_BUCKET} ${key}: not a host status`);
    return v;
  }
}
