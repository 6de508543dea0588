// Whether two statuses of a host say the same thing, field by field (cheaper
// than comparing their JSON, and this runs for every status a shard posts).
import type { FailedContext, HostStatus } from '../../common/schemas/host.js';

export function sameStatus(a: HostStatus, b: HostStatus): boolean {
  return (
    a.state === b.state &&
    a.pending_updates === b.pending_updates &&
    a.last_updated === b.last_updated &&
    a.error === b.error &&
    a.job_id === b.job_id &&
    a.addr === b.addr &&
    a.shard === b.shard &&
    a.package_manager === b.package_manager &&
    a.compose === b.compose &&
    sameList(a.tags, b.tags) &&
    sameList(a.groups, b.groups) &&
    sameFailure(a.failed, b.failed)
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameFailure(a: FailedContext | null, b: FailedContext | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (
    a.previous_state === b.previous_state &&
    a.error === b.error &&
    a.code === b.code &&
    a.failed_at === b.failed_at &&
    a.retry_count === b.retry_count &&
    a.acknowledged === b.acknowledged
  );
}
