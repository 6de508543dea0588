// POST /fleet/update: a rolling update over a filtered set of hosts.
import type { FleetUpdates } from '../../app/fleet-updates.js';
import { FleetUpdateRequest, JobAccepted } from '../../../common/schemas/requests.js';
import { rolloutSpec } from '../../fleet/rollout-spec.js';
import { ok, type Route, defineRoute } from '../route.js';

export function fleetRoutes(fleet: Pick<FleetUpdates, 'start'>): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/fleet/update',
      summary: 'Rolling update of a filtered set of hosts (batches, canary, failure thresholds)',
      tag: 'fleet',
      body: FleetUpdateRequest,
      responses: { 202: { description: 'Accepted; follow the job and the Fleet* events', schema: JobAccepted } },
      handler(r) {
        const b = r.body;
        const job = fleet.start(
          rolloutSpec(b),
          b.filter ?? {},
          { request_id: r.request_id, user: r.user },
        );
        return ok({ job_id: job.id }, 202);
      },
    }),
  ];
}
