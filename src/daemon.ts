// Starts and stops the daemon: read model + jobs + broadcaster → shard pool
// (every shard attached with its hosts) → HTTP/WebSocket server. Each failure
// class has its own error type so main.ts can pick the exit code.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from './config/types.js';
import { groupsByHost } from './config/load.js';
import { ReadModel } from './state/read-model.js';
import { announceJobs, jobFinished } from './events/job-announcer.js';
import { JobStore } from './jobs/job-store.js';
import { Broadcaster } from './events/broadcaster.js';
import { ShardPool, type ShardHost } from './pool/shard-pool.js';
import { HostActions } from './hosts/host-actions.js';
import { loadUws, startServer, type RunningServer } from './http/uws.js';
import { createHttpHandlers } from './http/app.js';
import { EventStream } from './http/ws.js';
import { buildRoutes } from './http/routes.js';
import { openAudit } from './audit/open-audit.js';
import { attachActorAudit } from './audit/actor-audit.js';
import type { DaemonContext } from './context.js';
import { FleetUpdates } from './fleet/fleet-updates.js';
import { Metrics } from './metrics.js';
import { hostKeyPolicyWarning } from '../workers/exec/host-key-policy.js';
import { chooseSsh2 } from '../workers/exec/ssh2-module.js';
import { ConfigError } from './config/errors.js';
import { startLoadLog } from './load-log.js';
import { ConfigReloader, type ReloadResult } from './reload.js';
import { loadState, StateStore } from './store/state-store.js';
import { restoredStatus, wasInterrupted, type Interruption } from './recovery.js';

export { StoreError } from './store/store-error.js';
export class BindError extends Error {}
export class WorkerPoolError extends Error {}
/** No native uWS build loads and the fallback was not allowed. */
export class NoNativeHttpError extends Error {}

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export interface RunningDaemon {
  ctx: DaemonContext;
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
  const { build: uws, refused } = loadUws();
  if (uws.build !== 'native') {
    // Built for tens of thousands of hosts: the pure-JS server would not keep up, so it is opt-in.
    const why = `no native uWebSockets.js build loads on Node ${process.version} (ABI ${uws.abi}, ${process.platform}-${process.arch}): ${refused.join('; ')}`;
    if (!config.daemon.allow_slow_http) {
      throw new NoNativeHttpError(
        `${why}. Use Node 20, 22, 24 or 25 on glibc >= 2.38 (Debian 13, Ubuntu 24.04, RHEL 10), or Node 20 on older glibc; ` +
          'or set [daemon] allow_slow_http = true to serve on the slow pure-JS fallback',
      );
    }
    log.error({ uws }, `${why}; serving on the slow pure-JS fallback ([daemon] allow_slow_http = true). /health reports uws.build="fallback"; do not benchmark this process.`);
  }
  // Checked here so a bad value stops the start with one line, not in every worker.
  let ssh2Choice;
  try {
    ssh2Choice = chooseSsh2(process.env.TENDHOST_SSH2_PATCH);
  } catch (err) {
    throw new ConfigError('environment', null, (err as Error).message);
  }
  log.info({ ssh2_patched: ssh2Choice.patched }, `ssh2: ${ssh2Choice.why}`);
  const keyWarning = hostKeyPolicyWarning(config.workers.ssh.host_key_policy);
  if (keyWarning) log.warn({ host_key_policy: config.workers.ssh.host_key_policy }, keyWarning);

  // What the last run left behind (throws StoreError: locked, corrupted, too new).
  const { file: storeFile, state } = loadState(config.daemon.state_dir);

  const model = new ReadModel();
  const jobs = new JobStore(undefined, testJobResultsBound());
  const broadcaster = new Broadcaster(model, jobs, log, config.daemon.ws.replay_buffer);
  const audit = openAudit(config.audit, log);

  const hostConfigs = new Map(config.hosts.map((h) => [h.name, h]));
  const registered = new Set<string>();
  for (const h of state.registered) {
    if (hostConfigs.has(h.name)) {
      log.warn({ host: h.name }, 'a host registered through the API is now also in the config file; the file wins');
      continue;
    }
    hostConfigs.set(h.name, h);
    registered.add(h.name);
  }
  const groups = structuredClone(config.groups);
  let ctx!: DaemonContext;

  // Operations that were running when the daemon stopped are failures now, with an audit line each.
  const stopped: Interruption = { cause: 'daemon stopped', code: 'INTERRUPTED', at: new Date().toISOString() };
  const restored = new Map<string, ReturnType<typeof restoredStatus>>();
  for (const [name, prev] of state.statuses) {
    if (!hostConfigs.has(name)) continue;
    restored.set(name, restoredStatus(prev, stopped));
    if (wasInterrupted(prev)) {
      log.warn({ host: name, state: prev.state, job_id: prev.job_id }, `interrupted: daemon stopped during ${prev.state}`);
      audit?.record({ action: 'host.interrupted', host: name, user: null, source_ip: null, result: `interrupted during ${prev.state}`, job_id: prev.job_id });
    }
  }
  const interruptedJobs = jobs.restore(state.jobs, 'interrupted: daemon stopped');
  for (const job of interruptedJobs) {
    audit?.record({ action: 'job.interrupted', host: null, user: job.user, source_ip: null, result: 'interrupted', job_id: job.id, request_id: job.request_id });
  }
  broadcaster.restore(state.events, state.lastSeq);
  // A client resuming with ?since= learns that those jobs ended, and which hosts came back changed.
  for (const job of interruptedJobs) broadcaster.emit(jobFinished(job));
  announceJobs(jobs, broadcaster);
  broadcaster.startingFrom((name) => state.statuses.get(name), { announceNew: broadcaster.lastSeq > 0 });
  const store = await StateStore.start(storeFile, log, { eventRetention: Math.max(config.daemon.ws.replay_buffer, 1000), jobRetention: 10_000, nice: config.workers.nice }, (n) => model.json(n));
  broadcaster.setPersist({ status: (s) => store.status(s), removed: (n) => store.removeStatus(n), event: (seq, json) => store.event(seq, json) });
  jobs.setOnChange((j, host) => store.job(j, host));
  for (const j of jobs.list()) store.job(j);
  // A client resuming with ?since= sees the interrupted hosts go to failed.
  for (const [name, prev] of state.statuses) {
    if (hostConfigs.has(name) && wasInterrupted(prev)) {
      broadcaster.emit({ type: 'HostStateChanged', host: name, from: prev.state, to: 'failed', ...(prev.job_id ? { job_id: prev.job_id } : {}) });
    }
  }

  const pool = new ShardPool({
    workers: config.daemon.workers,
    settings: config.workers,
    onBatch: (shard, batch) => broadcaster.onBatch(shard, batch),
    onShardLost: (shard, reason, cause) => {
      log.error({ shard, reason }, 'shard worker died; rebuilding its actors on a new worker');
      ctx.metrics.workerReplaced(cause);
      void reattach(shard, reason, cause === 'silent' ? 'worker stopped answering' : 'worker died');
    },
    watchdogMs: config.daemon.worker_watchdog_ms,
    onShardSilent: (shard, silentMs) => {
      log.error({ shard, silent_ms: silentMs }, 'shard worker stopped answering; terminating it');
    },
  });

  /** A shard's hosts, each with the status its actor starts from. */
  const shardHosts = (shard: number, workerDied: Interruption | null): ShardHost[] => {
    const byHost = groupsByHost(groups);
    const out: ShardHost[] = [];
    for (const host of hostConfigs.values()) {
      if (pool.shardOf(host.name) !== shard) continue;
      const live = model.get(host.name);
      const restore = live ? restoredStatus(live, workerDied) : restored.get(host.name);
      out.push({ host, groups: byHost.get(host.name) ?? [], restore });
    }
    return out;
  };

  /** `what` says what happened to the worker, in the hosts' errors: "worker died" / "worker stopped answering". */
  const reattach = async (shard: number, reason: string, what: string) => {
    try {
      // Fail the shard's in-flight jobs: those operations died with the worker.
      for (const s of model.all()) {
        if (pool.shardOf(s.name) === shard && s.job_id) {
          jobs.hostResult({
            kind: 'job_result',
            job_id: s.job_id,
            host: s.name,
            success: false,
            state: 'failed',
            error: `interrupted: ${what} during ${s.state}`,
            code: 'WORKER_FAILED',
          });
        }
        // Clients see the interrupted host go to failed, in order with its other events.
        if (pool.shardOf(s.name) === shard && wasInterrupted(s)) {
          broadcaster.emit({ type: 'HostStateChanged', host: s.name, from: s.state, to: 'failed', ...(s.job_id ? { job_id: s.job_id } : {}) });
          audit?.record({ action: 'host.interrupted', host: s.name, user: null, source_ip: null, result: `interrupted: ${what} during ${s.state}`, job_id: s.job_id });
        }
      }
      await pool.attach(shard, shardHosts(shard, { cause: what, code: 'WORKER_FAILED', at: new Date().toISOString() }));
      log.info({ shard, reason }, 'shard re-attached');
    } catch (err) {
      log.error({ shard, err: (err as Error).message }, 'could not re-attach shard');
    }
  };

  try {
    const attached = await Promise.all(
      Array.from({ length: pool.size }, (_, shard) => pool.attach(shard, shardHosts(shard, null))),
    );
    log.debug({ attached }, 'shards attached');
  } catch (err) {
    await pool.destroy().catch(() => {});
    throw new WorkerPoolError(`worker pool failed to start: ${(err as Error).message}`);
  }
  // Statuses arrive on the shards' ports right after attach; wait for all.
  const t0 = Date.now();
  while (model.size < hostConfigs.size && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
  broadcaster.live();

  ctx = {
    config,
    log,
    model,
    pool,
    jobs,
    broadcaster,
    actions: new HostActions(pool, jobs, model),
    hostConfigs,
    groups,
    registered,
    store,
    defaults: config.defaults,
    audit,
    version: VERSION,
    startedAt: Date.now(),
    uws,
    fleet: null as unknown as FleetUpdates,
    metrics: null as unknown as Metrics,
  };
  ctx.fleet = new FleetUpdates(ctx);
  if (audit) attachActorAudit(broadcaster, jobs, model, { record: (r) => audit.recordAfterRequest(r) });
  let wsClients = () => 0;
  ctx.metrics = new Metrics(() => ctx, () => wsClients());
  broadcaster.setObserver(ctx.metrics);

  const routes = buildRoutes(ctx);
  const http = createHttpHandlers({
    routes,
    log,
    bodyLimit: config.daemon.http.body_limit_bytes,
    auth: config.daemon.auth,
    rateLimit: config.daemon.rate_limit,
    audit: audit && { record: (r) => audit.recordRequest(r) },
    onResponse: (route, method, status) => ctx.metrics.httpRequest(route, method, status),
  });
  const stream = new EventStream({
    model,
    broadcaster,
    log,
    auth: http.auth,
    maxBackpressure: config.daemon.ws.max_backpressure_bytes,
    idleTimeoutS: config.daemon.ws.idle_timeout_s,
    onDropped: () => ctx.metrics.wsDropped(),
  });
  wsClients = () => stream.clientCount;

  let server: RunningServer;
  try {
    server = await startServer({
      host: config.daemon.host,
      port: config.daemon.port,
      tls:
        config.daemon.tls.enabled && config.daemon.tls.cert_path && config.daemon.tls.key_path
          ? { cert_path: config.daemon.tls.cert_path, key_path: config.daemon.tls.key_path }
          : null,
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

  const reloader = new ConfigReloader(ctx);
  let stopping: Promise<void> | null = null;
  return {
    ctx,
    port: server.port,
    reload: () => reloader.reload(),
    crashShard: async (shard) => {
      await pool.run({ kind: 'crash', shard });
    },
    freezeShard: async (shard) => {
      await pool.run({ kind: 'freeze', shard });
    },
    stop() {
      stopping ??= (async () => {
        loadLog.stop();
        reloader.stop();
        server.stopListening();
        const deadline = Date.now() + config.daemon.http.shutdown_timeout_ms;
        while (server.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        stream.stop();
        server.closeAll();
        // Rollouts start no more hosts; what runs gets the grace period.
        const stopAt = Date.now();
        ctx.fleet.halt('daemon stopped');
        await pool.close(config.daemon.shutdown_grace_ms);
        // The shards' last statuses (interrupted operations) arrive on their ports; let them land.
        await new Promise((r) => setImmediate(r));
        for (const s of model.all()) {
          if (s.failed?.code !== 'INTERRUPTED' || s.failed.acknowledged || Date.parse(s.failed.failed_at) < stopAt) continue;
          audit?.record({ action: 'host.interrupted', host: s.name, user: null, source_ip: null, result: `interrupted during ${s.failed.previous_state}`, job_id: null });
        }
        for (const job of jobs.list({ state: 'interrupted' })) {
          if (job.finished_at && Date.parse(job.finished_at) >= stopAt) {
            audit?.record({ action: 'job.interrupted', host: null, user: job.user, source_ip: null, result: 'interrupted', job_id: job.id, request_id: job.request_id });
          }
        }
        await store.close();
        await audit?.close();
      })();
      return stopping;
    },
  };
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
