// Starts rollouts: selects hosts by filter, creates the job (listing every
// selected host up front), and runs the rollout in the background. Several
// rollouts may run at once; a host claimed by one is skipped by another.
import type { Logger } from 'pino';
import type { JobRecord } from '../../common/schemas/job.js';
import type { FleetUpdateRequest } from '../../common/schemas/requests.js';
import type { JobStore } from '../jobs/job-store.js';
import type { ReadModel } from '../state/read-model.js';
import { Rollout, type RolloutDeps, type RolloutSpec } from '../fleet/rollout.js';
import { now as clockNow } from '../../common/clock.js';
import { selectHosts, type RolloutFilter } from '../fleet/fleet-filter.js';
import { rolloutSpec } from '../fleet/rollout-spec.js';
import { abortableSleep } from '../fleet/abortable-sleep.js';

export type FleetFilter = RolloutFilter;

/** What every rollout shares, plus what starting one needs; the clock, the sleep and the claims are this service's own. */
export type FleetDeps = Pick<RolloutDeps, 'pool' | 'broadcaster' | 'hostConfig'> & {
  jobs: RolloutDeps['jobs'] & Pick<JobStore, 'create' | 'accept' | 'delegate'>;
  model: RolloutDeps['model'] & Pick<ReadModel, 'names'>;
  log: Logger;
};

export class FleetUpdates {
  readonly #claims = new Map<string, string>();
  readonly #running = new Map<string, Rollout>();

  constructor(private readonly deps: FleetDeps) {}

  /** tags: host has all; groups: host is in any; minus exclude_hosts; none = all. */
  select(filter: FleetFilter): string[] {
    return selectHosts(this.deps.model, filter);
  }

  /** POST /fleet/update as the API took it. */
  begin(request: FleetUpdateRequest, trace: { request_id: string | null; user: string | null }): JobRecord {
    return this.start(rolloutSpec(request), request.filter ?? {}, trace);
  }

  start(spec: RolloutSpec, filter: FleetFilter, trace: { request_id: string | null; user: string | null }): JobRecord {
    const { jobs, pool, model, broadcaster, hostConfig } = this.deps;
    const hosts = this.select(filter);
    const job = jobs.create({ kind: 'fleet_update', hosts, dry_run: spec.dry_run, request_id: trace.request_id, user: trace.user, pending: true });
    const rollout = new Rollout(job, spec, {
      pool,
      jobs,
      model,
      broadcaster,
      hostConfig,
      claims: this.#claims,
      now: clockNow,
      sleep: abortableSleep,
    });
    rollout.claim();
    jobs.accept(job);
    jobs.delegate(job.id, { hostResult: (m) => rollout.hostResult(m), cancel: () => rollout.cancel() });
    this.#running.set(job.id, rollout);
    rollout
      .run()
      .catch((err: Error) => {
        this.deps.log.error({ job_id: job.id, err: err.message }, 'rollout failed');
        jobs.finish(job.id, 'failed', err.message);
      })
      .finally(() => this.#running.delete(job.id));
    return job;
  }

  /** The daemon is stopping: running rollouts start no more hosts and end interrupted. */
  halt(reason: string): void {
    for (const r of this.#running.values()) r.halt(reason);
  }

  get running(): number {
    return this.#running.size;
  }
}
