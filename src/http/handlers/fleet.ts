// POST /fleet/update: a rolling update over a filtered set of hosts.
import { FleetUpdateRequest, JobAccepted } from '../../../common/schemas/requests.js';
import { ok, type Route, defineRoute } from '../route.js';

/**
 * Starts a rollout and says its job id: a single daemon runs it over its own
 * hosts (app/fleet-updates.ts), a cluster node coordinates it across the
 * cluster (app/cluster-jobs.ts).
 */
export interface FleetStarter {
  begin(request: FleetUpdateRequest, trace: { request_id: string | null; user: string | null }): { id: string } | Promise<{ id: string }>;
}

export function fleetRoutes(fleet: FleetStarter): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/fleet/update',
      summary: 'Rolling update of a filtered set of hosts (batches, canary, failure thresholds)',
      tag: 'fleet',
      body: FleetUpdateRequest,
      responses: { 202: { description: 'Accepted; follow the job and the Fleet* events', schema: JobAccepted } },
      clustered: true,
      async handler(r) {
        const job = await fleet.begin(r.body, { request_id: r.request_id, user: r.user });
        return ok({ job_id: job.id }, 202);
      },
    }),
  ];
}
