// Starts rollouts: selects hosts by filter, creates the job (listing every
// selected host up front), and runs the rollout in the background. Several
// rollouts may run at once; a host claimed by one is skipped by another.
import type { DaemonContext } from '../context.js';
import type { JobRecord } from '../../common/schemas/job.js';
import { Rollout, type RolloutSpec } from './rollout.js';
import { now as clockNow } from '../../common/clock.js';
import { rolloutSelector, type RolloutFilter } from './fleet-filter.js';

export type FleetFilter = RolloutFilter;

export class FleetUpdates {
  readonly #ctx: DaemonContext;
  readonly #claims = new Map<string, string>();
  readonly #running = new Map<string, Rollout>();

  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
  }

  /** tags: host has all; groups: host is in any; minus exclude_hosts; none = all. */
  select(filter: FleetFilter): string[] {
    const selected = rolloutSelector(filter);
    const out: string[] = [];
    for (const name of this.#ctx.model.names()) {
      const s = this.#ctx.model.get(name);
      if (s && selected(s)) out.push(name);
    }
    return out;
  }

  start(spec: RolloutSpec, filter: FleetFilter, trace: { request_id: string | null; user: string | null }): JobRecord {
    const { jobs, pool, model, broadcaster, hostConfigs } = this.#ctx;
    const hosts = this.select(filter);
    const job = jobs.create({ kind: 'fleet_update', hosts, dry_run: spec.dry_run, request_id: trace.request_id, user: trace.user, pending: true });
    const rollout = new Rollout(job, spec, {
      pool,
      jobs,
      model,
      broadcaster,
      hostConfig: (n) => hostConfigs.get(n),
      claims: this.#claims,
      now: clockNow,
      sleep: (ms, wake) =>
        new Promise<void>((resolve) => {
          // Timers cap at 2^31-1 ms; the rollout re-checks the window after waking.
          const t = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
          function done() {
            clearTimeout(t);
            wake.removeEventListener('abort', done);
            resolve();
          }
          wake.addEventListener('abort', done);
        }),
    });
    rollout.claim();
    jobs.accept(job);
    jobs.delegate(job.id, { hostResult: (m) => rollout.hostResult(m), cancel: () => rollout.cancel() });
    this.#running.set(job.id, rollout);
    rollout
      .run()
      .catch((err: Error) => {
        this.#ctx.log.error({ job_id: job.id, err: err.message }, 'rollout failed');
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
