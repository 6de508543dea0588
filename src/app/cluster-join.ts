// Start-up of a daemon with [cluster] enabled: connect to NATS, put this
// node's config hosts in the shared registry, build the read model of the
// whole fleet from the cluster stream, and — once the API listens — join the
// partition ownership. Returns what the daemon hands its routes and stream
// instead of the single-daemon parts. Refusals that come from the config
// (another partition count or lease TTL than the cluster's, a node_id that a
// live node uses) stop the start as config errors naming the key.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Config } from '../../common/config-types.js';
import { ClusterSetupError } from '../cluster/buckets.js';
import { connectCluster } from '../cluster/connect.js';
import { openEventStream } from '../cluster/event-stream.js';
import { DuplicateNodeError } from '../cluster/membership.js';
import { ClusterNode, type ClusterNodeStatus } from '../cluster/node.js';
import { PartitionCountError, RegistryKv, type ClusterHostRecord } from '../cluster/registry-kv.js';
import { ConfigError } from '../config/errors.js';
import type { Broadcaster } from '../events/broadcaster.js';
import { ClusterFeed } from '../events/cluster-feed.js';
import { ReadModel } from '../state/read-model.js';
import type { JobStore } from '../jobs/job-store.js';
import type { ShardPool } from '../pool/shard-pool.js';
import { ClusterCommands } from './cluster-commands.js';
import { ClusterJobs } from './cluster-jobs.js';
import { ClusterMode } from './cluster-mode.js';
import { ClusterReloader } from './cluster-reload.js';
import type { ReloadResult } from './reload.js';
import type { AuditRecord } from '../audit/audit-log.js';
import type { HostActions } from './host-actions.js';
import type { HostRegistry } from './host-registry.js';

export interface LocalParts {
  registry: HostRegistry;
  /** The hosts this node runs. */
  local: ReadModel;
  broadcaster: Broadcaster;
  actions: HostActions;
  pool: ShardPool;
  /** This node's job store (its hosts' command jobs). */
  jobStore: JobStore;
  audit: { record(r: AuditRecord): void } | null;
}

export interface ClusterParts {
  /** The whole fleet, fed by the cluster stream. */
  model: ReadModel;
  feed: ClusterFeed;
  commands: ClusterCommands;
  /** Rollouts across the cluster and the shared job log (fleet and /jobs routes). */
  jobs: ClusterJobs;
  /** Join the ownership (after the API listens, so members can name its URL). */
  join(apiUrl: string): Promise<void>;
  status(): ClusterNodeStatus | null;
  /** SIGHUP: the file's hosts synced into the shared registry, groups applied (cluster-reload.ts). */
  reload(): Promise<ReloadResult>;
  /** Hand the partitions back and leave. */
  stop(): Promise<void>;
}

export async function prepareCluster(config: Config, log: Logger, parts: LocalParts): Promise<ClusterParts> {
  const settings = config.cluster;
  const nc = await connectNats(config, log);
  const registry = await RegistryKv.open(nc, {
    partitions: settings.partitions,
    nodeId: settings.node_id,
    onBad: (err) => log.error({ err: err.message }, 'cluster: a registry value that is no host record or status was passed over'),
  }).catch((err) => rethrow(err, config.file));
  const r = settings.events_retention;
  const events = await openEventStream(nc, { maxAgeMs: r.max_age_ms, maxMsgs: r.max_msgs, maxBytes: r.max_bytes });

  const model = new ReadModel();
  const feed = new ClusterFeed(model, log, config.daemon.ws.replay_buffer);
  await feed.start(events, registry);
  const commands = new ClusterCommands(model, config.defaults);
  const jobs = new ClusterJobs({ pool: parts.pool, roomPerMember: parts.pool.roomCapacity, broadcaster: parts.broadcaster, model, local: parts.jobStore, log });
  const mode = new ClusterMode({ settings, ...parts, jobs, fleet: model, log, fatal: (err) => exitFatal(log, err) });
  // Watched before this node's own hosts are written: a partition's owner learns of every host written after its list.
  const watch = await followRegistry(nc, registry, feed, log, (r) => {
    jobs.knowHost(r.host);
    mode.hostArrived(r);
  });
  // Before joining: whichever node takes a partition reads its hosts from here.
  await Promise.all(config.hosts.map((h) => registry.putConfigHost(h)));
  // Every host's config, for the rollouts this node coordinates (maintenance windows); the watch keeps it current.
  for (const r of await registry.allHosts()) jobs.knowHost(r.host);
  let node: ClusterNode | null = null;
  const reloader = new ClusterReloader(config, { nodeId: settings.node_id, shared: registry, commands, hosts: parts.registry, log, audit: parts.audit });
  log.info({ node_id: settings.node_id, hosts_in_config: config.hosts.length, fleet: model.size, seq: feed.lastSeq }, 'cluster: connected');
  return {
    model,
    feed,
    commands,
    jobs,
    async join(apiUrl) {
      node = await ClusterNode.start(settings, mode.hooks(), { nc, apiUrl, configFile: config.file }).catch((err) => rethrow(err, config.file));
      mode.connect(node);
      commands.connect(node);
      await jobs.start(node);
      log.info({ node_id: settings.node_id, instance: node.status().instance }, 'cluster: joined');
    },
    status: () => node?.status() ?? null,
    reload: () => reloader.reload(),
    async stop() {
      reloader.stop();
      // Rollouts coordinated here first: their leases are released so another node continues them at once.
      await jobs.stop().catch((err: Error) => log.warn({ err: err.message }, 'cluster: handing the rollouts back failed; their leases expire by themselves'));
      await node?.stop({ handBack: true }).catch((err: Error) => log.warn({ err: err.message }, 'cluster: leaving failed; the leases expire by themselves'));
      watch.stop();
      await feed.stop();
      if (!nc.isClosed()) await nc.close();
    },
  };
}

/**
 * Hosts written to the shared registry from now on, by any node. NATS back
 * after an outage: the stream reader and the watch start again rather than
 * trust consumers from before it.
 */
async function followRegistry(nc: NatsConnection, registry: RegistryKv, feed: ClusterFeed, log: Logger, on: (r: ClusterHostRecord) => void): Promise<{ stop(): void }> {
  const watchHosts = () => registry.watchHosts(on, (err) => log.warn({ err: err.message }, 'cluster: a registry entry is not a host record'));
  let watch = await watchHosts();
  void onReconnect(nc, async () => {
    log.info('cluster: NATS is back; reading the stream and watching the registry again');
    feed.reread();
    watch.stop();
    watch = await watchHosts().catch((err: Error) => {
      log.warn({ err: err.message }, 'cluster: could not watch the registry again');
      return watch;
    });
  });
  return { stop: () => watch.stop() };
}

/** A misconfiguration (CA, TLS, credentials) stops the start as a config error; a server not up yet is waited for. */
function connectNats(config: Config, log: Logger): Promise<NatsConnection> {
  const { servers, node_id } = config.cluster;
  log.info({ servers, node_id }, 'cluster: connecting to NATS');
  let tries = 0;
  const onRetry = (err: Error) => void (tries++ % 20 === 0 && log.warn({ servers, err: err.message }, 'cluster: NATS not reachable yet; retrying'));
  return connectCluster(config.cluster, { configFile: config.file, onRetry });
}

/** Another live node has this node's id: two would drive the same hosts. */
function exitFatal(log: Logger, err: Error): never {
  log.fatal({ err: err.message }, 'cluster: this node cannot go on');
  process.exit(1);
}

async function onReconnect(nc: NatsConnection, fn: () => Promise<void>): Promise<void> {
  for await (const s of nc.status()) if (s.type === 'reconnect') await fn();
}

/** A refusal the config can fix, as a config error naming the key. */
function rethrow(err: unknown, file: string): never {
  if (err instanceof PartitionCountError) throw new ConfigError(file, 'cluster.partitions', err.message);
  if (err instanceof ClusterSetupError) throw new ConfigError(file, 'cluster.lease_ttl_s', err.message);
  if (err instanceof DuplicateNodeError) throw new ConfigError(file, 'cluster.node_id', err.message);
  throw err;
}
