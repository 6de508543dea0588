// A rollout's spec from the API's request body, with its defaults: one place
// for POST /fleet/update and for a cluster node continuing a rollout from the
// request recorded in the job log.
import type { FleetUpdateRequest } from '../../common/schemas/requests.js';
import type { RolloutSpec } from './rollout-deps.js';
import { parseThreshold } from './threshold.js';

export function rolloutSpec(b: FleetUpdateRequest): RolloutSpec {
  return {
    batch_size: b.batch_size ?? 10,
    delay_ms: b.delay_ms ?? 0,
    dry_run: b.dry_run ?? false,
    canary: b.canary ?? 0,
    max_failures: b.max_failures === undefined ? null : parseThreshold(b.max_failures),
    max_unreachable: b.max_unreachable === undefined ? null : parseThreshold(b.max_unreachable),
    wait_for_window: b.wait_for_window ?? false,
  };
}
