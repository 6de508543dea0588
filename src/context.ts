// What route handlers and the WebSocket stream can reach: the running
// daemon's parts. Built once in daemon.ts.
import type { Logger } from 'pino';
import type { Config } from '../common/config-types.js';
import type { ReadModel } from './state/read-model.js';
import type { ShardPool } from './pool/shard-pool.js';
import type { JobStore } from './jobs/job-store.js';
import type { Broadcaster } from './events/broadcaster.js';
import type { UwsBuild } from '../common/schemas/http-build.js';
import type { ResolvedHost } from '../common/schemas/host.js';
import type { HostActions } from './hosts/host-actions.js';
import type { RequestOrderedAudit } from './audit/request-order.js';
import type { FleetUpdates } from './fleet/fleet-updates.js';
import type { StateStore } from './store/state-store.js';
import type { Metrics } from './metrics.js';

export interface DaemonContext {
  config: Config;
  log: Logger;
  model: ReadModel;
  pool: ShardPool;
  jobs: JobStore;
  broadcaster: Broadcaster;
  actions: HostActions;
  /** Every host's configuration (from the file and registered through the API). */
  hostConfigs: Map<string, ResolvedHost>;
  groups: Record<string, string[]>;
  /** Names of hosts registered through the API (not in the config file). */
  registered: Set<string>;
  /** `[defaults]` for hosts registered through the API. */
  defaults: { user?: string; port?: number; ssh_key?: string };
  audit: RequestOrderedAudit | null;
  fleet: FleetUpdates;
  store: StateStore;
  metrics: Metrics;
  version: string;
  startedAt: number;
  /** Which uWS build serves HTTP (reported on /health). */
  uws: UwsBuild;
}
