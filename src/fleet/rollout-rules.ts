// A rollout's judgements, as pure functions of what it knows: whether a host
// of the batch may start, whether the failures so far stop the next batch,
// and how a rollout that stopped ends. The rollout (rollout.ts) drives the
// hosts and the clock; these only decide.
import { BUSY_STATES, type HostStatus } from '../../common/schemas/host.js';
import type { JobState } from '../../common/schemas/job.js';
import { exceeds } from './threshold.js';
import type { RolloutSpec } from './rollout-deps.js';

/** Where every selected host ends. */
export type Final = 'completed' | 'failed' | 'unreachable' | 'skipped';

/**
 * Why a host is skipped instead of started (null: it starts). `status`: the
 * read model's (undefined: removed); `owner`: the rollout that holds the host.
 */
export function skipReason(status: HostStatus | undefined, owner: string | undefined, jobId: string): string | null {
  if (!status) return 'host was removed';
  if (owner !== jobId) return `claimed by rollout ${owner ?? 'unknown'}`;
  if (BUSY_STATES.has(status.state) || status.job_id) return `busy (${status.state}${status.job_id ? `, job ${status.job_id}` : ''})`;
  if (status.state === 'failed') return 'host is failed (retry or acknowledge it first)';
  if (status.state === 'waiting_reboot') return 'host is waiting for a reboot';
  return null;
}

/** The abort reason once the failed or unreachable hosts so far cross their threshold (of `total` hosts). */
export function thresholdCrossed(c: Record<Final, number>, total: number, spec: Pick<RolloutSpec, 'max_failures' | 'max_unreachable'>): string | null {
  if (spec.max_failures && exceeds(c.failed, total, spec.max_failures)) {
    return `${c.failed} failed hosts crossed max_failures (${spec.max_failures.text})`;
  }
  if (spec.max_unreachable && exceeds(c.unreachable, total, spec.max_unreachable)) {
    return `${c.unreachable} unreachable hosts crossed max_unreachable (${spec.max_unreachable.text})`;
  }
  return null;
}

/** How a rollout ends: why its never-started hosts were skipped, the job's reason (null: none) and state. */
export interface Ending {
  skipped: string;
  reason: string | null;
  state: JobState;
}

/** `aborted`: a failed canary or a crossed threshold; `halted`: the daemon stopped under it; `cancelled`: by request (or halt). */
export function ending(aborted: string | null, halted: string | null, cancelled: boolean, c: Record<Final, number>): Ending {
  const skipped = aborted
    ? `rollout aborted: ${aborted}`
    : halted
      ? `interrupted: ${halted}`
      : cancelled
        ? 'job cancelled before this host started'
        : 'maintenance window never opens';
  const reason = aborted ?? (halted ? `interrupted: ${halted}` : cancelled ? 'job cancelled' : null);
  const state = halted ? 'interrupted' : cancelled ? 'cancelled' : aborted || c.failed + c.unreachable > 0 ? 'failed' : 'succeeded';
  return { skipped, reason, state };
}
