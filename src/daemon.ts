// Starts and stops the daemon: read model + jobs + broadcaster → shard pool
// (every shard attached with its hosts) → HTTP/WebSocket server. Each failure
// class has its own error type so main.ts can pick the exit code.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from './config/types.js';
import { groupsByHost } from './config/load.js';
import { ReadModel } from './state/read-model.js';
import { JobStore } from './jobs/job-store.js';
import { Broadcaster } from './events/broadcaster.js';
import { ShardPool, type ShardHost } from './pool/shard-pool.js';
import { HostActions } from './hosts/host-actions.js';
import { loadUws, startServer, type RunningServer } from './http/uws.js';
import { createHttpHandlers } from './http/app.js';
import { EventStream } from './http/ws.js';
import { buildRoutes } from './http/routes.js';
import { AuditLog } from './audit/audit-log.js';
import type { DaemonContext } from './context.js';
import { FleetUpdates } from './fleet/fleet-updates.js';
import type { HostStatus } from './schemas/host.js';
import { BUSY_STATES } from './schemas/host.js';

export class BindError extends Error {}
export class WorkerPoolError extends Error {}

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export interface RunningDaemon {
  ctx: DaemonContext;
  port: number;
  /** Graceful: stop accepting, finish in-flight requests, drain workers. */
  stop(): Promise<void>;
}

export async function startDaemon(config: Config, log: Logger): Promise<RunningDaemon> {
  const { mode } = loadUws();
  if (mode !== 'native') {
    log.error(
      'uWebSockets.js native binary did not load: serving on the slow pure-JS fallback. ' +
        '/health reports uws="fallback"; do not benchmark this process.',
    );
  }

  const model = new ReadModel();
  const jobs = new JobStore();
  const broadcaster = new Broadcaster(model, jobs, log, config.daemon.ws.replay_buffer);
  const audit = config.audit.enabled ? new AuditLog(config.audit.file, log) : null;

  const hostConfigs = new Map(config.hosts.map((h) => [h.name, h]));
  const groups = structuredClone(config.groups);
  let ctx!: DaemonContext;

  const pool = new ShardPool({
    workers: config.daemon.workers,
    settings: config.workers,
    onBatch: (shard, batch) => broadcaster.onBatch(shard, batch),
    onShardLost: (shard, reason) => {
      log.error({ shard, reason }, 'shard worker died; rebuilding its actors on a new worker');
      void reattach(shard, reason);
    },
  });

  const shardHosts = (shard: number, interrupted: string | null): ShardHost[] => {
    const byHost = groupsByHost(groups);
    const out: ShardHost[] = [];
    for (const host of hostConfigs.values()) {
      if (pool.shardOf(host.name) !== shard) continue;
      const prev = model.get(host.name);
      out.push({ host, groups: byHost.get(host.name) ?? [], restore: prev ? restoreFrom(prev, interrupted) : undefined });
    }
    return out;
  };

  const reattach = async (shard: number, reason: string) => {
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
            error: `interrupted: worker died during ${s.state}`,
            code: 'WORKER_FAILED',
          });
        }
      }
      await pool.attach(shard, shardHosts(shard, reason));
      log.info({ shard }, 'shard re-attached');
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
    registered: new Set(),
    defaults: {},
    audit,
    version: VERSION,
    startedAt: Date.now(),
    uwsMode: mode,
    fleet: null as unknown as FleetUpdates,
  };
  ctx.fleet = new FleetUpdates(ctx);

  const routes = buildRoutes(ctx);
  const http = createHttpHandlers({
    routes,
    log,
    bodyLimit: config.daemon.http.body_limit_bytes,
    auth: config.daemon.auth,
    rateLimit: config.daemon.rate_limit,
  });
  const stream = new EventStream({
    model,
    broadcaster,
    log,
    auth: http.auth,
    maxBackpressure: config.daemon.ws.max_backpressure_bytes,
    idleTimeoutS: config.daemon.ws.idle_timeout_s,
  });

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
      uws: mode,
      config: config.file,
    },
    'listening',
  );

  let stopping: Promise<void> | null = null;
  return {
    ctx,
    port: server.port,
    stop() {
      stopping ??= (async () => {
        server.stopListening();
        const deadline = Date.now() + config.daemon.http.shutdown_timeout_ms;
        while (server.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        stream.stop();
        server.closeAll();
        await pool.close(config.daemon.shutdown_grace_ms);
        await audit?.close();
      })();
      return stopping;
    },
  };
}

/** The status a re-created actor starts from; an operation cut short is a failure. */
function restoreFrom(prev: HostStatus, interrupted: string | null): Partial<HostStatus> {
  const restored: Partial<HostStatus> & Pick<HostStatus, 'state'> = {
    state: prev.state,
    pending_updates: prev.pending_updates,
    last_updated: prev.last_updated,
    error: prev.error,
    failed: prev.failed,
    package_manager: prev.package_manager,
    job_id: null,
  };
  if (interrupted && BUSY_STATES.has(prev.state)) {
    const error = `interrupted: worker died during ${prev.state}`;
    restored.state = 'failed';
    restored.error = error;
    restored.failed = {
      previous_state: prev.state,
      error,
      code: 'WORKER_FAILED',
      failed_at: new Date().toISOString(),
      retry_count: prev.failed?.retry_count ?? 0,
      acknowledged: false,
    };
  }
  return restored;
}
