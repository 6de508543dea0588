// What a rollout is given (rollout.ts): the spec the operator asked for, and
// only the calls it makes on each part of the daemon, narrow so the fast
// tests can script them.
import type { Broadcaster } from '../events/broadcaster.js';
import type { JobStore } from '../jobs/job-store.js';
import type { ShardPool } from '../pool/shard-pool.js';
import type { ReadModel } from '../state/read-model.js';
import type { ResolvedHost } from '../../common/schemas/host.js';
import type { Threshold } from './threshold.js';

export interface RolloutSpec {
  batch_size: number;
  delay_ms: number;
  dry_run: boolean;
  canary: number;
  max_failures: Threshold | null;
  max_unreachable: Threshold | null;
  wait_for_window: boolean;
}

/** Only the calls a rollout makes on each part (tests script them). */
export interface RolloutDeps {
  /**
   * `room`: a host starts once its shard has room for it (shard-room.ts), its
   * command then sent `reserved`; a pool without it (a test's script) starts
   * every host of a batch at once.
   */
  pool: Pick<ShardPool, 'command'> & Partial<Pick<ShardPool, 'room' | 'releaseRoom'>>;
  jobs: Pick<JobStore, 'touch' | 'finish'>;
  model: Pick<ReadModel, 'get'>;
  broadcaster: Pick<Broadcaster, 'emit'>;
  hostConfig: (name: string) => ResolvedHost | undefined;
  /** Hosts held by any running rollout (shared by all of them): host → job id. */
  claims: Map<string, string>;
  now: () => Date;
  /** Waits ms, or less when `wake` is called (cancel). */
  sleep: (ms: number, wake: AbortSignal) => Promise<void>;
}
