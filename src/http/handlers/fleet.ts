// POST /fleet/update: a rolling update over a filtered set of hosts.
import type { FleetUpdates } from '../../app/fleet-updates.js';
import { FleetUpdateRequest, JobAccepted } from '../../../common/schemas/requests.js';
import { parseThreshold } from '../../fleet/threshold.js';
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
          {
            batch_size: b.batch_size ?? 10,
            delay_ms: b.delay_ms ?? 0,
            dry_run: b.dry_run ?? false,
            canary: b.canary ?? 0,
            max_failures: b.max_failures === undefined ? null : parseThreshold(b.max_failures),
            max_unreachable: b.max_unreachable === undefined ? null : parseThreshold(b.max_unreachable),
            wait_for_window: b.wait_for_window ?? false,
          },
          b.filter ?? {},
          { request_id: r.request_id, user: r.user },
        );
        return ok({ job_id: job.id }, 202);
      },
    }),
  ];
}
