// A rollout's host sent to the host's owner (command `job_update`, run there
// by job-runner.ts), retried for a bounded time while nobody can take it
// (partition unowned, NATS away), and the owner's answer given back as the
// shard pool would give it, so the single-daemon Rollout needs no change.
import { TendhostError } from '../../common/errors.js';
import type { CommandReply as PoolReply } from '../../common/thread-protocol.js';
import type { ForwardedReply, HostCommand } from './forward.js';
import type { JobDispatch } from './job-log-schema.js';
import { JOB_UPDATE_COMMAND, type DispatchAnswer } from './job-runner.js';

export interface DispatchDeps {
  send(cmd: HostCommand): Promise<ForwardedReply>;
  /** How long a dispatch nobody can take is retried before it fails. */
  dispatchRetryMs: number;
}

/** The owner's answer; null when `stopped()` turned true meanwhile; throws when nobody took it in time. */
export async function sendToOwner(deps: DispatchDeps, host: string, body: JobDispatch, requestId: string | null, stopped: () => boolean): Promise<PoolReply | null> {
  let deadline = Date.now() + deps.dispatchRetryMs;
  let timeouts = 0;
  for (;;) {
    if (stopped()) return null;
    try {
      const reply = await deps.send({ host, command: JOB_UPDATE_COMMAND, body, request_id: requestId ?? undefined });
      const a = reply.body as DispatchAnswer | { error: { code: string; message: string } };
      if ('outcome' in a) {
        // It waited there for room while its partition moved: sent again, to whoever owns it now.
        if (a.outcome === 'moved') throw new TendhostError('PARTITION_UNOWNED', `${host} moved off ${reply.node} while it waited there to start`);
        if (a.outcome === 'refused') return { ok: false, state: a.state ?? undefined, error: a.error as Extract<PoolReply, { ok: false }>['error'] };
        return { ok: true, state: a.outcome === 'started' ? a.state : 'updating' };
      }
      throw new TendhostError('WORKER_UNAVAILABLE', `${reply.node} answered ${reply.status}: ${a.error.code} ${a.error.message}`);
    } catch (err) {
      const retry = err instanceof TendhostError && (err.code === 'PARTITION_UNOWNED' || err.code === 'CLUSTER_UNAVAILABLE');
      // No answer at all (the owner died holding the request): the partition moves within a lease TTL, so wait that long again, twice at most.
      if (retry && /timeout/i.test(err.message) && ++timeouts <= 2) deadline = Math.max(deadline, Date.now() + deps.dispatchRetryMs);
      if (!retry || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
