// The header a new cluster rollout is recorded with: the single-daemon job's
// fields, plus its coordinator and the request another node continues from.
import type { FleetUpdateRequest } from '../../common/schemas/requests.js';
import type { ClusterJobHeader } from './job-log-schema.js';

export function newJobHeader(id: string, coordinator: string, at: Date, request: FleetUpdateRequest, hosts: readonly string[], trace: { request_id: string | null; user: string | null }): ClusterJobHeader {
  const ts = at.toISOString();
  return {
    id,
    kind: 'fleet_update',
    state: 'running',
    dry_run: request.dry_run ?? false,
    created_at: ts,
    started_at: ts,
    finished_at: null,
    request_id: trace.request_id,
    user: trace.user,
    error: null,
    coordinator,
    request,
    chunks: 0,
    summary: { total: hosts.length, pending: hosts.length, running: 0, completed: 0, failed: 0, unreachable: 0, skipped: 0 },
  };
}
