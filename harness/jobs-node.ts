// A cluster node with its job side (src/cluster/node-jobs.ts) and a scripted
// "owner" in place of shard workers, for the tests and benchmarks of cluster
// rollouts, in this process or in one of its own (cluster-jobs-node.ts, so it
// can be SIGKILLed). Each host's update runs for `runMs`, then reports by its
// name: `fail-*` fails (PKG_COMMAND_FAILED), `down-*` is unreachable
// (SSH_UNREACHABLE), `busy-*` is refused by its actor (HOST_BUSY), the rest
// complete. Every host is idle in the read model.
import type { ClusterSettings } from '../common/config-types.js';
import type { HostStatus } from '../common/schemas/host.js';
import type { CommandReply, Trace } from '../common/thread-protocol.js';
import type { UnstampedStreamEvent } from '../common/schemas/stream.js';
import { ClusterNode } from '../src/cluster/node.js';
import { startNodeJobs, type NodeJobs } from '../src/cluster/node-jobs.js';
import { JOB_UPDATE_COMMAND } from '../src/cluster/job-runner.js';
import { DispatchWindow } from '../src/cluster/dispatch-window.js';
import { connect } from '@nats-io/transport-node';
import { JobLog } from '../src/cluster/job-log.js';
import { startNats, type NatsServer } from './nats.js';

export interface JobsNode {
  id: string;
  node: ClusterNode;
  jobs: NodeJobs;
  /** `job host` for every update this node's owner side started. */
  runs: string[];
  /** Hosts it started while it did not own them (must stay empty). */
  foreign: string[];
  /** Hosts it gave back because their partition moved while they waited for room. */
  moved: string[];
  events: Array<{ type: string; [k: string]: unknown }>;
  stop(opts?: { handBack?: boolean }): Promise<void>;
}

export function jobsSettings(natsUrl: string, id: string, partitions: number, ttlMs: number): ClusterSettings {
  return {
    enabled: true,
    servers: [natsUrl],
    auth: { kind: 'none' },
    tls_ca_file: null,
    node_id: id,
    partitions,
    lease_ttl_ms: ttlMs,
    events_retention: { max_age_ms: 3_600_000, max_msgs: 100_000, max_bytes: 64 * 1024 ** 2 },
    jobs_retention: { max_age_ms: 3_600_000, max_bytes: 64 * 1024 ** 2 },
  };
}

function idle(name: string): HostStatus {
  return { name, addr: '192.0.2.1', state: 'idle', tags: [], groups: [], pending_updates: null, last_updated: null, error: null, failed: null, shard: 0, package_manager: null, compose: false, job_id: null } as HostStatus;
}

/**
 * `room`: at most this many hosts run at once on the node (a daemon's shard
 * room, src/pool/shard-room.ts: the owner answers a dispatch once there is
 * room); none: every dispatch starts at once. `window`: the dispatches a
 * coordinator keeps unanswered per owner (default: `room`).
 */
export async function startJobsNode(settings: ClusterSettings, o: { runMs: number; room?: number; window?: number; onRun?: (job: string, host: string) => void }): Promise<JobsNode> {
  let jobs: NodeJobs | null = null;
  const runs: string[] = [];
  const foreign: string[] = [];
  const moved: string[] = [];
  const events: JobsNode['events'] = [];
  const node: ClusterNode = await ClusterNode.start(settings, {
    // A partition with a host mid-update is not handed over (as the daemon's busy actors keep theirs).
    isBusy: (p) => !!jobs && jobs.runner.runningHosts().some((h) => node.partitionOf(h) === p),
    attach: () => undefined,
    detach: () => undefined,
    handle: async (cmd) => {
      if (cmd.command !== JOB_UPDATE_COMMAND || !jobs) return { status: 503, body: { error: { code: 'WORKER_UNAVAILABLE', message: 'not ready' } } };
      const reply = await jobs.runner.handle(cmd);
      if ((reply.body as { outcome?: string }).outcome === 'moved') moved.push(cmd.host);
      return reply;
    },
  });
  const room = o.room === undefined ? null : new DispatchWindow(() => o.room as number);
  const pool = {
    ...(room ? { room: () => room.take(), releaseRoom: () => room.release() } : {}),
    command: async (host: string, _cmd: { kind: 'update'; dry_run: boolean }, trace: Trace): Promise<CommandReply> => {
      if (host.startsWith('busy-')) {
        room?.release();
        return { ok: false, state: 'querying', error: { code: 'HOST_BUSY', message: `${host} is busy (querying)` } };
      }
      runs.push(`${trace.job_id} ${host}`);
      if (!node.owns(host)) foreign.push(host);
      o.onRun?.(trace.job_id as string, host);
      setTimeout(() => {
        room?.release();
        const code = host.startsWith('fail-') ? 'PKG_COMMAND_FAILED' : host.startsWith('down-') ? 'SSH_UNREACHABLE' : null;
        jobs?.runner.hostResult({ kind: 'job_result', job_id: trace.job_id as string, host, success: code === null, state: code ? 'failed' : 'idle', error: code ? `${host}: scripted ${code}` : null, code, finished_at: new Date().toISOString() });
      }, o.runMs);
      return { ok: true, state: 'updating' };
    },
  };
  jobs = await startNodeJobs(node, {
    pool,
    // Without a room, a daemon's default (2 workers × 64 handshakes): this pool answers at once, so it only bounds dispatches in flight.
    roomPerMember: o.window ?? o.room ?? 128,
    model: { get: (name) => idle(name) },
    hostConfig: () => undefined,
    broadcaster: {
      emit: (e: UnstampedStreamEvent) => {
        events.push(e as unknown as JobsNode['events'][number]);
        return e as never;
      },
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  });
  return {
    id: settings.node_id,
    node,
    jobs,
    runs,
    foreign,
    moved,
    events,
    async stop(opts = {}) {
      await jobs!.stop(opts);
      await node.stop(opts);
    },
  };
}

/** A nats-server of the test's own, and its job log read as an outside client reads it; both gone at `teardown`. */
export async function natsWithJobLog(t: { teardown(fn: () => unknown): void }): Promise<{ nats: NatsServer; log: JobLog }> {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const admin = await connect({ servers: nats.url });
  t.teardown(() => admin.close());
  return { nats, log: await JobLog.open(admin, { maxAgeMs: 3_600_000, maxBytes: 64 * 1024 ** 2 }) };
}
