// Builds the daemon's parts and connects them; each part owns its concern:
//   recovery (app/recovery.ts)      the last run's interrupted work → failures
//   host registry (app/host-registry.ts)  which hosts exist and which shard runs them
//   broadcaster (events/)           the read model and the event stream
//   shard pool (pool/)              the worker threads
//   HTTP/WebSocket (http/)          routes that get only the parts they use
//   cluster (app/cluster-join.ts)   with [cluster] on: the fleet's read model from the
//                                   cluster stream, commands sent to each host's owner
// Each failure class has its own error type so main.ts can pick the exit code.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../common/config-types.js';
import { HostRegistry } from './app/host-registry.js';
import { preflight } from './app/preflight.js';
import { prepareCluster, type ClusterParts } from './app/cluster-join.js';
import { Recovery } from './app/recovery.js';
import { ConfigReloader, type ReloadResult } from './app/reload.js';
import { resumeLastRun } from './app/resume.js';
import { stopInOrder, type StopParts } from './app/shutdown.js';
import { attachActorAudit } from './audit/actor-audit.js';
import { openAudit } from './audit/open-audit.js';
import { Broadcaster, type JobSink } from './events/broadcaster.js';
import { FleetUpdates } from './app/fleet-updates.js';
import { HostActions } from './app/host-actions.js';
import { buildRoutes } from './http/routes.js';
import { serveApi } from './http/serve.js';
import { JobStore } from './jobs/job-store.js';
import { localJobReads } from './jobs/job-reads.js';
import { startLoadLog } from './load-log.js';
import { Metrics, type MetricSources } from './metrics.js';
import { ShardPool, type ShardPoolOptions } from './pool/shard-pool.js';
import { ReadModel } from './state/read-model.js';
import { loadState, type LoadedState, type StateStore } from './store/state-store.js';
import { StartupStages } from './startup-stages.js';

export { StoreError } from './store/store-error.js';
export { NoNativeHttpError } from './app/preflight.js';
export class BindError extends Error {}
export class WorkerPoolError extends Error {}

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export interface RunningDaemon {
  port: number;
  /** Graceful: stop accepting, finish in-flight requests, drain workers. */
  stop(): Promise<void>;
  /** SIGHUP: re-read the config file and apply host/group changes (on a cluster node through the shared registry). */
  reload(): Promise<ReloadResult>;
  /** Test-only switch (TENDHOST_TEST_SWITCHES=crash-worker): make one shard's worker die. */
  crashShard(shard: number): Promise<void>;
  /** Test-only switch (TENDHOST_TEST_SWITCHES=freeze-worker): block one shard's worker for good. */
  freezeShard(shard: number): Promise<void>;
}

export async function startDaemon(config: Config, log: Logger, stages = new StartupStages(performance.now())): Promise<RunningDaemon> {
  const uws = preflight(config, log);
  stages.lap('preflight');
  // What the last run left behind (throws StoreError: locked, corrupted, too new).
  const { file: storeFile, state } = loadState(config.daemon.state_dir);
  stages.lap('store_load');

  const model = new ReadModel();
  const jobs = new JobStore(undefined, testJobResultsBound());
  let cluster: ClusterParts | null = null;
  const broadcaster = new Broadcaster(model, jobResults(jobs, () => cluster), log, config.daemon.ws.replay_buffer);
  const audit = openAudit(config.audit, log);
  const metrics = daemonMetrics(jobs, broadcaster, {
    hostsByState: () => reads.countByState(),
    lastSeq: () => source.lastSeq,
    ...(config.cluster.enabled ? { cluster: () => cluster?.status() ?? null } : {}),
    storeRowsWritten: () => store.stats.rows,
    wsClients: (): number => stream.clientCount,
  });
  const pool = shardPool(config, log, broadcaster, (shard, reason, cause) => rebuildShard({ log, metrics, recovery, registry, pool }, shard, reason, cause));
  const registry = hostRegistry(config, state, pool, log, broadcaster, () => store);
  const recovery = new Recovery({ hosts: model, jobs, emit: (e) => broadcaster.emit(e), lifecycle: broadcaster.lifecycle, audit, log });

  stages.lap('registry');
  const { store, restoreFrom } = await resumeLastRun(state, storeFile, config, log, { model, jobs, broadcaster, recovery, isHost: (name) => registry.has(name) });
  stages.lap('store_restore');

  await orFail(registry.attachAll(restoreFrom), pool, (m) => new WorkerPoolError(`worker pool failed to start: ${m}`));
  stages.lap('shard_attach');
  await firstStatuses(model, registry);
  broadcaster.live();
  stages.lap('host_statuses');

  const actions = new HostActions(pool, jobs, model);
  cluster = config.cluster.enabled ? await prepareCluster(config, log, { registry, local: model, broadcaster, actions, pool, jobStore: jobs, audit }) : null;
  // What clients read and watch: this daemon's hosts, or on a cluster node the whole fleet.
  const reads = cluster?.model ?? model;
  const source = cluster?.feed ?? broadcaster;
  const fleet = new FleetUpdates({ pool, jobs, model, broadcaster, hostConfig: (n) => registry.config(n), log });
  if (audit) attachActorAudit(broadcaster.lifecycle, jobs, { record: (r) => audit.recordAfterRequest(r) });
  broadcaster.setObserver(metrics);

  const routes = buildRoutes({
    system: { version: VERSION, startedAt: Date.now(), uws, startup: stages, workers: pool.size, hostCount: () => reads.size, ready: () => ({ workers: pool.ready, store: store.open, ...(cluster && { cluster: cluster.status()?.connected ?? false }) }), metrics: metrics.registry, cluster: () => cluster?.status() ?? null },
    hosts: { hosts: reads, registry: cluster?.commands ?? registry, actions: cluster?.commands ?? actions, log },
    groups: { groups: () => registry.groups, hosts: reads },
    fleet: cluster?.jobs ?? fleet,
    jobs: cluster?.jobs ?? localJobReads(jobs),
    pipeline: { auth: config.daemon.auth.enabled, rateLimit: config.daemon.rate_limit.enabled, cluster: config.cluster.enabled },
  });
  const { server, stream } = await orFail(serveApi(config.daemon, log, { routes, model: reads, broadcaster: source, audit, metrics }), pool, (m) => new BindError(m));
  stages.lap('listen');
  logListening(log, config, { port: server.port, stages, workers: pool.size, hosts: model.size, uws });
  await cluster?.join(`${config.daemon.tls.enabled ? 'https' : 'http'}://${config.daemon.host}:${server.port}`);
  const loadLog = startLoadLog(log, broadcaster);
  const reloader = new ConfigReloader(config, registry, log, audit, (name) => model.get(name)?.state);
  const parts: StopParts = { timers: [loadLog, reloader], server, stream, fleet, pool, recovery, closeLast: [store, audit] };
  return daemonHandle(config, log, { port: server.port, pool, reloader, cluster, parts });
}

/** What main.ts holds of a started daemon; stopping twice waits for the same stop. */
function daemonHandle(
  config: Config,
  log: Logger,
  d: { port: number; pool: ShardPool; reloader: ConfigReloader; cluster: ClusterParts | null; parts: StopParts },
): RunningDaemon {
  const stop = async () => {
    // A node hands its partitions back first, while its workers can still stop their actors.
    await d.cluster?.stop();
    await stopInOrder(config.daemon, d.parts);
  };
  let stopping: Promise<void> | null = null;
  return {
    port: d.port,
    reload: () => (d.cluster ? d.cluster.reload() : d.reloader.reload()),
    crashShard: async (shard) => void (await d.pool.run({ kind: 'crash', shard })),
    freezeShard: async (shard) => void (await d.pool.run({ kind: 'freeze', shard })),
    stop: () => (stopping ??= stop()),
  };
}

/** A worker's job result: a cluster rollout's host running here goes to the shared log, the rest to this daemon's jobs. */
function jobResults(jobs: JobStore, cluster: () => ClusterParts | null): JobSink {
  return { hostResult: (m) => void (cluster()?.jobs.hostResult(m) || jobs.hostResult(m)) };
}

/** The metrics: jobs and shards read here, the rest from parts built later (`later`). */
function daemonMetrics(jobs: JobStore, broadcaster: Broadcaster, later: Omit<MetricSources, 'jobsByState' | 'shards'>): Metrics {
  return new Metrics({ jobsByState: () => jobs.countByState(), shards: () => broadcaster.shardMetrics, ...later });
}

/** The worker threads; their port batches go to the broadcaster, a lost worker to `onShardLost`. */
function shardPool(config: Config, log: Logger, broadcaster: Broadcaster, onShardLost: ShardPoolOptions['onShardLost']): ShardPool {
  return new ShardPool({
    workers: config.daemon.workers,
    settings: config.workers,
    onBatch: (shard, batch) => broadcaster.onBatch(shard, batch),
    onShardLost,
    watchdogMs: config.daemon.worker_watchdog_ms,
    onShardSilent: (shard, silentMs) => log.error({ shard, silent_ms: silentMs }, 'shard worker stopped answering; terminating it'),
  });
}

/** Which hosts exist and which shard runs them; statuses go to the broadcaster, registrations to the store (`store`: opened later). */
function hostRegistry(config: Config, state: LoadedState, pool: ShardPool, log: Logger, broadcaster: Broadcaster, store: () => StateStore): HostRegistry {
  // A cluster node starts with no hosts: it runs those of the partitions it takes (app/cluster-mode.ts).
  const clustered = config.cluster.enabled;
  return new HostRegistry(clustered ? [] : config.hosts, config.groups, clustered ? [] : state.registered, config.defaults, pool, {
    applyStatus: (s) => broadcaster.applyStatus(s),
    removeHost: (name) => broadcaster.removeHost(name),
    register: (h) => store().register(h),
    unregister: (name) => store().unregister(name),
  }, log);
}

/** A shard's worker died or stopped answering: recovery fails its interrupted work, and its hosts start again on a new worker. */
function rebuildShard(
  p: { log: Logger; metrics: Metrics; recovery: Recovery; registry: HostRegistry; pool: ShardPool },
  shard: number,
  reason: string,
  cause: 'died' | 'silent',
): void {
  p.log.error({ shard, reason }, 'shard worker died; rebuilding its actors on a new worker');
  p.metrics.workerReplaced(cause);
  const restore = p.recovery.shardLost((name) => p.pool.shardOf(name) === shard, cause === 'silent' ? 'worker stopped answering' : 'worker died');
  p.registry.reattach(shard, restore).then(
    () => p.log.info({ shard, reason }, 'shard re-attached'),
    (err: Error) => p.log.error({ shard, err: err.message }, 'could not re-attach shard'),
  );
}

/** Statuses arrive on the shards' ports right after attach: wait for every host's (at most 30 s). */
async function firstStatuses(model: ReadModel, registry: HostRegistry): Promise<void> {
  const t0 = Date.now();
  while (model.size < registry.size && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
}

function logListening(log: Logger, config: Config, d: { port: number; stages: StartupStages; workers: number; hosts: number; uws: ReturnType<typeof preflight> }): void {
  const { host, tls } = config.daemon;
  const uws = `${d.uws.build} (${d.uws.package} ${d.uws.version}, ABI ${d.uws.abi})`;
  log.info({ host, port: d.port, startup_ms: d.stages.totalMs, startup_stages_ms: d.stages.stages, tls: tls.enabled, workers: d.workers, hosts: d.hosts, uws, config: config.file }, 'listening');
}

/** A start-up step that failed: the workers are torn down and the error says which step (main.ts picks the exit code by its class). */
async function orFail<T>(step: Promise<T>, pool: ShardPool, as: (message: string) => Error): Promise<T> {
  try {
    return await step;
  } catch (err) {
    await pool.destroy().catch(() => {});
    throw as((err as Error).message);
  }
}

/**
 * Test-only switch (TENDHOST_TEST_SWITCHES=job-results:N): hold at most N
 * per-host job results in memory instead of 200,000, so a short soak on a
 * small fleet reaches the eviction it must tolerate. Undefined = the default.
 */
function testJobResultsBound(): number | undefined {
  const sw = (process.env.TENDHOST_TEST_SWITCHES ?? '').split(',').find((s) => s.startsWith('job-results:'));
  const n = sw ? Number(sw.slice('job-results:'.length)) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
