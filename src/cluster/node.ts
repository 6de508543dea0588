// One cluster node: the parts of src/cluster put together behind what the
// daemon has to provide (attach / detach a partition's hosts, run a command
// for a host it owns, say whether a partition is busy), so wiring it into the
// daemon is a few lines. Order matters at the edges: a partition's hosts are
// attached before its commands are served, and commands stop being served
// before its hosts are detached.
import type { NatsConnection } from '@nats-io/transport-node';
import type { ClusterSettings } from '../../common/config-types.js';
import { connectCluster } from './connect.js';
import { openEventStream, type EventStream, type RetentionOptions } from './event-stream.js';
import type { EventPublisher } from './event-publisher.js';
import { CommandForwarder, type CommandReply, type ForwardedReply, type HostCommand } from './forward.js';
import type { LostReason } from './leases.js';
import { trackLink, type Link } from './link.js';
import { PartitionOwnership, type OwnershipStatus } from './ownership.js';
import { partitionOf } from './partition.js';
import { RegistryKv } from './registry-kv.js';
import { restorePartition, type PartitionRestore } from './takeover.js';

export interface ClusterNodeHooks {
  /** A host of the partition is mid-operation (then it is not handed over). */
  isBusy(partition: number): boolean;
  /** This node now owns the partition: start actors for these hosts from these statuses. */
  attach(partition: number, restore: PartitionRestore): void | Promise<void>;
  /** This node no longer owns the partition: stop its hosts' actors (`handover`: they are idle). */
  detach(partition: number, why: 'handover' | LostReason): void | Promise<void>;
  /** Run a command for a host this node owns (as the local HTTP handler would). */
  handle(cmd: HostCommand): Promise<CommandReply>;
  /** This node cannot go on (another live node with its node_id). */
  fatal?(err: Error): void;
  /** Something failed that is retried or can be lived with (a round against NATS, a detach): for the log. */
  warn?(err: Error): void;
  /** A command sent here failed with a server error: its answer carries only the code (and "internal error"), the log gets this. */
  commandFailed?(err: Error, cmd: HostCommand): void;
}

export interface ClusterNodeStatus extends OwnershipStatus {
  connected: boolean;
}

export class ClusterNode {
  private constructor(
    readonly settings: ClusterSettings,
    readonly nc: NatsConnection,
    readonly registry: RegistryKv,
    readonly events: EventStream,
    readonly publisher: EventPublisher,
    private readonly ownership: PartitionOwnership,
    private readonly forwarder: CommandForwarder,
    private readonly link: Link,
    private readonly attached: ReadonlySet<number>,
  ) {}

  /** Connect, open the shared state, join and start taking a share. */
  static async start(settings: ClusterSettings, hooks: ClusterNodeHooks, opts: { apiUrl?: string | null; retention?: RetentionOptions; nc?: NatsConnection; configFile?: string } = {}): Promise<ClusterNode> {
    const nc = opts.nc ?? (await connectCluster(settings, { configFile: opts.configFile, onRetry: (err) => hooks.warn?.(err) }));
    const link = trackLink(nc);
    const registry = await RegistryKv.open(nc, { partitions: settings.partitions, nodeId: settings.node_id, onBad: (err) => hooks.warn?.(err) });
    const r = settings.events_retention;
    const events = await openEventStream(nc, opts.retention ?? { maxAgeMs: r.max_age_ms, maxMsgs: r.max_msgs, maxBytes: r.max_bytes });
    let ownership: PartitionOwnership | null = null;
    // Partitions whose hosts are attached: a command (sent here or by this node itself) runs only then, not between the lease and the attach.
    const attached = new Set<number>();
    const forwarder = new CommandForwarder(nc, { nodeId: settings.node_id, partitions: settings.partitions, owns: (p) => attached.has(p) && (ownership?.owns(p) ?? false), handle: (cmd) => hooks.handle(cmd), failed: (err, cmd) => hooks.commandFailed?.(err, cmd) }, link);
    ownership = await PartitionOwnership.start(
      nc,
      { nodeId: settings.node_id, partitions: settings.partitions, ttlMs: settings.lease_ttl_ms, apiUrl: opts.apiUrl ?? null },
      {
        isBusy: (p) => hooks.isBusy(p),
        acquired: async (p, previous) => {
          await hooks.attach(p, await restorePartition(registry, p, previous));
          attached.add(p);
          forwarder.serve(p);
        },
        releasing: async (p) => {
          attached.delete(p);
          forwarder.unserve(p);
          await hooks.detach(p, 'handover');
        },
        lost: (p, reason) => {
          attached.delete(p);
          forwarder.unserve(p);
          Promise.resolve()
            .then(() => hooks.detach(p, reason))
            .catch((err: Error) => hooks.warn?.(err));
        },
        fatal: (err) => hooks.fatal?.(err),
        warn: (err) => hooks.warn?.(err),
      },
    );
    const node = new ClusterNode(settings, nc, registry, events, events.publisher(settings.node_id, ownership.instance), ownership, forwarder, link, attached);
    return node;
  }

  partitionOf(host: string): number {
    return partitionOf(host, this.settings.partitions);
  }

  /** This process's id in the cluster (a restarted node is a new instance of the same node_id). */
  get instance(): string {
    return this.ownership.instance;
  }

  /** The node holding the host's partition as this node sees it (null: none right now). */
  ownerOf(host: string): string | null {
    return this.ownership.ownerOf(this.partitionOf(host));
  }

  /** Live members with their process instances. */
  members(): Array<{ node_id: string; instance: string }> {
    return this.ownership.status().members;
  }

  /** Whether this node runs the host now. */
  owns(host: string): boolean {
    return this.ownership.owns(this.partitionOf(host));
  }

  /** Whether a command for the host runs here now: its partition is held and its hosts attached (as the forwarder decides). */
  serves(host: string): boolean {
    const p = this.partitionOf(host);
    return this.attached.has(p) && this.ownership.owns(p);
  }

  /** Run a host command here or on its owner (TendhostError CLUSTER_UNAVAILABLE / PARTITION_UNOWNED when it cannot). */
  send(cmd: HostCommand): Promise<ForwardedReply> {
    return this.forwarder.send(cmd);
  }

  /** Whether the NATS connection is up now. */
  connected(): boolean {
    return this.link.connected();
  }

  status(): ClusterNodeStatus {
    return { ...this.ownership.status(), connected: this.link.connected() };
  }

  /** Leave the cluster: hand the partitions over (default) and close the connection. */
  async stop(opts: { handBack?: boolean } = {}): Promise<void> {
    await this.ownership.stop(opts);
    this.forwarder.close();
    await this.publisher.flush(5000);
    this.publisher.close();
    await this.nc.close();
  }
}
