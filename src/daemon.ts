// Builds the daemon's parts and connects them; each part owns its concern:
//   recovery (app/recovery.ts)      the last run's interrupted work → failures
//   host registry (app/host-registry.ts)  which hosts exist and which shard runs them
//   broadcaster (events/)           the read model and the event stream
//   shard pool (pool/)              the worker threads
//   HTTP/WebSocket (http/)          routes that get only the parts they use
// Each failure class has its own error type so main.ts can pick the exit code.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../common/config-types.js';
import { HostRegistry } from './app/host-registry.js';
import { preflight } from './app/preflight.js';
import { Recovery } from './app/recovery.js';
import { ConfigReloader, type ReloadResult } from './app/reload.js';
import { attachActorAudit } from './audit/actor-audit.js';
import { openAudit } from './audit/open-audit.js';
import { Broadcaster } from './events/broadcaster.js';
import { announceJobs } from './events/job-announcer.js';
import { FleetUpdates } from './app/fleet-updates.js';
import { HostActions } from './app/host-actions.js';
import { createHttpHandlers } from './http/app.js';
import { buildRoutes } from './http/routes.js';
import { startServer, type RunningServer } from './http/uws.js';
import { EventStream } from './http/ws.js';
import { JobStore } from './jobs/job-store.js';
import { startLoadLog } from './load-log.js';
import { Metrics } from './metrics.js';
import { ShardPool } from './pool/shard-pool.js';
import { ReadModel } from './state/read-model.js';
import { loadState, StateStore } from './store/state-store.js';

export { StoreError } from './store/store-error.js';
export { NoNativeHttpError } from './app/preflight.js';
export class BindError extends Error {}
export class WorkerPoolError extends Error {}

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export interface RunningDaemon {
  port: number;
  /** Graceful: stop accepting, finish in-flight requests, drain workers. */
  stop(): Promise<void>;
  /** SIGHUP: re-read the config file and apply host/group changes. */
  reload(): Promise<ReloadResult>;
  /** Test-only switch (TENDHOST_TEST_SWITCHES=crash-worker): make one shard's worker die. */
  crashShard(shard: number): Promise<void>;
  /** Test-only switch (TENDHOST_TEST_SWITCHES=freeze-worker): block one shard's worker for good. */
  freezeShard(shard: number): Promise<void>;
}

export async function startDaemon(config: Config, log: Logger): Promise<RunningDaemon> {
  const uws = preflight(config, log);
  // What the last run left behind (throws StoreError: locked, corrupted, too new).
  const { file: storeFile, state } = loadState(config.daemon.state_dir);

  const model = new ReadModel();
  const jobs = new JobStore();
  const broadcaster = new Broadcaster(model, jobs, log, config.daemon.ws.replay_buffer);
  const audit = openAudit(config.audit, log);
  const metrics = new Metrics({
    hostsByState: () => model.countByState(),
    jobsByState: () => jobs.countByState(),
    shards: () => broadcaster.shardMetrics,
    lastSeq: () => broadcaster.lastSeq,
    storeRowsWritten: () => store.stats.rows,
    wsClients: () => stream.clientCount,
  });
  const pool = new ShardPool({
    workers: config.daemon.workers,
    settings: config.workers,
    onBatch: (shard, batch) => broadcaster.onBatch(shard, batch),
    onShardLost: (shard, reason, cause) => {
      log.error({ shard, reason }, 'shard worker died; rebuilding its actors on a new worker');
      metrics.workerReplaced(cause);
      const restore = recovery.shardLost((name) => pool.shardOf(name) === shard, cause === 'silent' ? 'worker stopped answering' : 'worker died');
      registry.reattach(shard, restore).then(
        () => log.info({ shard, reason }, 'shard re-attached'),
        (err: Error) => log.error({ shard, err: err.message }, 'could not re-attach shard'),
      );
    },
    watchdogMs: config.daemon.worker_watchdog_ms,
    onShardSilent: (shard, silentMs) => log.error({ shard, silent_ms: silentMs }, 'shard worker stopped answering; terminating it'),
  });
  const registry = new HostRegistry(config.hosts, config.groups, state.registered, config.defaults, pool, {
    applyStatus: (s) => broadcaster.applyStatus(s),
    removeHost: (name) => broadcaster.removeHost(name),
    register: (h) => store.register(h),
    unregister: (name) => store.unregister(name),
  }, log);
  const recovery = new Recovery({ hosts: model, jobs, emit: (e) => broadcaster.emit(e), audit, log });

  // The last run's state, in the order clients resuming with ?since= must see it.
  const restoreFrom = recovery.restoreLastRun(state, (name) => registry.has(name));
  broadcaster.restore(state.events, state.lastSeq);
  recovery.announceInterruptedJobs();
  announceJobs(jobs, broadcaster);
  broadcaster.startingFrom((name) => state.statuses.get(name), { announceNew: broadcaster.lastSeq > 0 });
  const store = await StateStore.start(storeFile, log, { eventRetention: Math.max(config.daemon.ws.replay_buffer, 1000), jobRetention: 10_000, nice: config.workers.nice }, (n) => model.json(n));
  broadcaster.setPersist({ status: (s) => store.status(s), removed: (n) => store.removeStatus(n), event: (seq, json) => store.event(seq, json) });
  jobs.setOnChange((j, host) => store.job(j, host));
  for (const j of jobs.list()) store.job(j);
  recovery.announceInterruptedHosts();

  try {
    await registry.attachAll(restoreFrom);
  } catch (err) {
    await pool.destroy().catch(() => {});
    throw new WorkerPoolError(`worker pool failed to start: ${(err as Error).message}`);
  }
  // Statuses arrive on the shards' ports right after attach; wait for all.
  const t0 = Date.now();
  while (model.size < registry.size && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
  broadcaster.live();

  const actions = new HostActions(pool, jobs, model);
  const fleet = new FleetUpdates({ pool, jobs, model, broadcaster, hostConfig: (n) => registry.config(n), log });
  if (audit) attachActorAudit(broadcaster, jobs, model, { record: (r) => audit.recordAfterRequest(r) });
  broadcaster.setObserver(metrics);

  const startedAt = Date.now();
  const routes = buildRoutes({
    system: { version: VERSION, startedAt, uws, workers: pool.size, hostCount: () => model.size, ready: () => ({ workers: pool.ready, store: store.open }), metrics: metrics.registry },
    hosts: { hosts: model, registry, actions, log },
    groups: { groups: () => registry.groups, hosts: model },
    fleet,
    jobs,
    authEnabled: config.daemon.auth.enabled,
  });
  const http = createHttpHandlers({
    routes,
    log,
    bodyLimit: config.daemon.http.body_limit_bytes,
    auth: config.daemon.auth,
    rateLimit: config.daemon.rate_limit,
    audit: audit && { record: (r) => audit.recordRequest(r) },
    onResponse: (route, method, status) => metrics.httpRequest(route, method, status),
  });
  const stream = new EventStream({
    model,
    broadcaster,
    log,
    auth: http.auth,
    maxBackpressure: config.daemon.ws.max_backpressure_bytes,
    idleTimeoutS: config.daemon.ws.idle_timeout_s,
    onDropped: () => metrics.wsDropped(),
  });

  let server: RunningServer;
  try {
    const { tls } = config.daemon;
    server = await startServer({
      host: config.daemon.host,
      port: config.daemon.port,
      tls: tls.enabled && tls.cert_path && tls.key_path ? { cert_path: tls.cert_path, key_path: tls.key_path } : null,
      http,
      ws: stream.handlers(),
    });
  } catch (err) {
    await pool.destroy().catch(() => {});
    throw new BindError((err as Error).message);
  }
  stream.attach(server.publish);
  broadcaster.setFanout(stream);

  log.info(
    {
      host: config.daemon.host,
      port: server.port,
      tls: config.daemon.tls.enabled,
      workers: pool.size,
      hosts: model.size,
      uws: `${uws.build} (${uws.package} ${uws.version}, ABI ${uws.abi})`,
      config: config.file,
    },
    'listening',
  );
  const loadLog = startLoadLog(log, broadcaster);
  const reloader = new ConfigReloader(config, registry, log, audit, (name) => model.get(name)?.state);

  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    loadLog.stop();
    reloader.stop();
    server.stopListening();
    const deadline = Date.now() + config.daemon.http.shutdown_timeout_ms;
    while (server.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    stream.stop();
    server.closeAll();
    // Rollouts start no more hosts; what runs gets the grace period.
    const stopAt = Date.now();
    fleet.halt('daemon stopped');
    await pool.close(config.daemon.shutdown_grace_ms);
    // The shards' last statuses (interrupted operations) arrive on their ports; let them land.
    await new Promise((r) => setImmediate(r));
    recovery.auditShutdown(stopAt);
    await store.close();
    await audit?.close();
  };
  return {
    port: server.port,
    reload: () => reloader.reload(),
    crashShard: async (shard) => void (await pool.run({ kind: 'crash', shard })),
    freezeShard: async (shard) => void (await pool.run({ kind: 'freeze', shard })),
    stop: () => (stopping ??= stop()),
  };
}
