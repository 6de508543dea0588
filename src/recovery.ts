// What a host's actor starts from after a restart or a worker replacement:
// its last known status, except that an operation that was cut short becomes
// a failure with a reason, never a silent return to idle.
import type { ErrorCode } from '../common/errors.js';
import { BUSY_STATES, type HostStatus } from '../common/schemas/host.js';

export interface Interruption {
  /** "daemon stopped" / "worker died" / "worker stopped answering" */
  cause: string;
  code: ErrorCode;
  at: string;
}

export function restoredStatus(prev: HostStatus, interruption: Interruption | null): Partial<HostStatus> {
  const restored: Partial<HostStatus> & Pick<HostStatus, 'state'> = {
    state: prev.state,
    pending_updates: prev.pending_updates,
    last_updated: prev.last_updated,
    error: prev.error,
    failed: prev.failed,
    package_manager: prev.package_manager,
    job_id: null,
  };
  if (interruption && wasInterrupted(prev)) {
    const error = `interrupted: ${interruption.cause} during ${prev.state}`;
    restored.state = 'failed';
    restored.error = error;
    restored.failed = {
      previous_state: prev.state,
      error,
      code: interruption.code,
      failed_at: interruption.at,
      retry_count: prev.failed?.retry_count ?? 0,
      acknowledged: false,
    };
  }
  return restored;
}

/** Busy, or resting in the middle of an operation that had a job driving it. */
export function wasInterrupted(s: HostStatus): boolean {
  return BUSY_STATES.has(s.state) || (s.job_id !== null && s.state !== 'failed');
}
