// A cluster node's job side put together: the job log, the job leases, the
// runner that runs dispatched hosts here, and the rollouts this node
// coordinates or takes over — from a started ClusterNode and the few things
// only the daemon has (its pool, its cluster-wide read model and host
// configs, its broadcaster), so wiring it is a few lines.
import type { JobRecord } from '../../common/schemas/job.js';
import { ClusterRollouts } from './cluster-rollouts.js';
import type { CoordinatorContext } from './job-coordinator.js';
import { JobLeases } from './job-lease.js';
import { JobLog } from './job-log.js';
import { ClusterJobRunner, type JobRunnerOptions } from './job-runner.js';
import type { ClusterNode } from './node.js';

export interface NodeJobsDeps extends Pick<CoordinatorContext, 'model' | 'hostConfig' | 'broadcaster' | 'sleep' | 'warn' | 'roomPerMember'> {
  /** The local shard pool: runs dispatched hosts this node owns. */
  pool: JobRunnerOptions['pool'];
  now?: () => Date;
  /** Host → the rollout holding it, shared by this node's rollouts (default: a map of their own). */
  claims?: Map<string, string>;
  onFinish?: (job: JobRecord) => void;
}

export interface NodeJobs {
  log: JobLog;
  runner: ClusterJobRunner;
  rollouts: ClusterRollouts;
  stop(opts?: { handBack?: boolean }): Promise<void>;
}

export async function startNodeJobs(node: ClusterNode, deps: NodeJobsDeps): Promise<NodeJobs> {
  const s = node.settings;
  const now = deps.now ?? (() => new Date());
  const log = await JobLog.open(node.nc, { maxAgeMs: s.jobs_retention.max_age_ms, maxBytes: s.jobs_retention.max_bytes }, (err) => deps.warn?.(err));
  const leases = await JobLeases.open(node.nc, { nodeId: s.node_id, instance: node.instance, ttlMs: s.lease_ttl_ms });
  const runner = new ClusterJobRunner(log, { nodeId: s.node_id, instance: node.instance, pool: deps.pool, serves: (host) => node.serves(host), now, warn: deps.warn });
  const rollouts = await new ClusterRollouts(
    {
      nodeId: s.node_id,
      instance: node.instance,
      log,
      leases,
      send: (cmd) => node.send(cmd),
      members: () => node.members(),
      ownerOf: (host) => node.ownerOf(host),
      roomPerMember: deps.roomPerMember,
      dispatchRetryMs: 2 * s.lease_ttl_ms + 5000,
      jobsMaxAgeMs: s.jobs_retention.max_age_ms,
      model: deps.model,
      hostConfig: deps.hostConfig,
      broadcaster: deps.broadcaster,
      claims: deps.claims ?? new Map(),
      now,
      sleep: deps.sleep,
      onFinish: deps.onFinish,
      warn: deps.warn,
    },
    { tickMs: Math.min(1000, Math.floor(s.lease_ttl_ms / 4)) },
  ).start();
  return { log, runner, rollouts, stop: (opts) => rollouts.stop(opts) };
}
