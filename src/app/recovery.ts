// The one place that turns interrupted work into failures: after the daemon
// stopped (start-up), after a shard's worker died or stopped answering, and in
// the audit of a shutdown. A host whose operation was cut short never returns
// silently to idle: the host machine's INTERRUPTED input makes it failed, with
// the reason; its job gets a failed result; clients and the audit hear of it.
import type { Logger } from 'pino';
import type { ErrorCode } from '../../common/errors.js';
import { transition, type Intent } from '../../common/host-machine.js';
import { BUSY_STATES, type HostStatus } from '../../common/schemas/host.js';
import type { JobRecord } from '../../common/schemas/job.js';
import type { UnstampedStreamEvent } from '../../common/schemas/stream.js';
import type { AuditRecord } from '../audit/audit-log.js';
import { jobFinished } from '../events/job-announcer.js';
import type { LifecycleFeed } from '../events/lifecycle-feed.js';
import type { JobStore } from '../jobs/job-store.js';
import type { LoadedState } from '../store/state-store.js';
import type { RestoreFrom } from './host-registry.js';

export interface Interruption {
  /** "daemon stopped" / "worker died" / "worker stopped answering" */
  cause: string;
  code: ErrorCode;
  at: string;
}

/**
 * Running an operation. A host resting between steps (pending_updates,
 * waiting_reboot) keeps its state — it is still true — and only its job ends.
 */
export function wasInterrupted(s: HostStatus): boolean {
  return BUSY_STATES.has(s.state);
}

/** The machine's answer to an interruption of `prev`'s operation; `intent`: what that operation was doing, when known. */
function interrupt(prev: HostStatus, interruption: Interruption, intent: Intent | null = null) {
  const error = `interrupted: ${interruption.cause} during ${prev.state}`;
  const out = transition(
    { state: prev.state, intent, failed: prev.failed, retries: prev.failed?.retry_count ?? 0 },
    { type: 'INTERRUPTED', code: interruption.code, error, at: interruption.at },
  );
  return out.ok ? { ...out, error } : null;
}

/** What an actor starts from: `prev`, or — when an interruption cut its operation short — the machine's failed state. */
export function restoredStatus(prev: HostStatus, interruption: Interruption | null): Partial<HostStatus> {
  const restored: Partial<HostStatus> = {
    state: prev.state,
    pending_updates: prev.pending_updates,
    last_updated: prev.last_updated,
    error: prev.error,
    failed: prev.failed,
    package_manager: prev.package_manager,
    job_id: null,
  };
  if (!interruption || !wasInterrupted(prev)) return restored;
  const out = interrupt(prev, interruption);
  if (!out) return restored;
  return { ...restored, state: out.next.state, failed: out.next.failed, error: out.error };
}

/** The status of a host that has never been touched (what its actor starts as anyway). */
function isPristine(s: HostStatus): boolean {
  return s.state === 'idle' && s.pending_updates === null && s.last_updated === null && s.error === null && s.failed === null && s.package_manager === null && s.job_id === null;
}

export interface RecoveryDeps {
  hosts: { all(): Iterable<HostStatus>; get(name: string): HostStatus | undefined };
  jobs: Pick<JobStore, 'restore' | 'hostResult' | 'list'>;
  /** The broadcaster: clients resuming with ?since= see what recovery did. */
  emit(event: UnstampedStreamEvent): unknown;
  /** The broadcaster's lifecycle feed: which hosts had an update under way, and where its end is told. */
  lifecycle: Pick<LifecycleFeed, 'openUpdate' | 'report'>;
  audit: { record(r: AuditRecord): void } | null;
  log: Logger;
}

export class Recovery {
  /** Each host's status from the last run, as its actor starts from it. */
  readonly #fromLastRun = new Map<string, Partial<HostStatus>>();
  /** Hosts the last run left mid-operation: their state then. */
  readonly #interruptedAtStop: Array<{ name: string; prev: HostStatus }> = [];
  #interruptedJobs: JobRecord[] = [];

  constructor(private readonly deps: RecoveryDeps) {}

  /** Start-up, before any event is published: the last run's hosts and jobs, interrupted work failed. */
  restoreLastRun(state: LoadedState, isHost: (name: string) => boolean): RestoreFrom {
    const { audit, log } = this.deps;
    const stopped: Interruption = { cause: 'daemon stopped', code: 'INTERRUPTED', at: new Date().toISOString() };
    for (const [name, prev] of state.statuses) {
      if (!isHost(name)) continue;
      // A host that never did anything starts as a new actor would: nothing to carry over (or hold).
      if (!isPristine(prev)) this.#fromLastRun.set(name, restoredStatus(prev, stopped));
      if (!wasInterrupted(prev)) continue;
      this.#interruptedAtStop.push({ name, prev });
      log.warn({ host: name, state: prev.state, job_id: prev.job_id }, `interrupted: daemon stopped during ${prev.state}`);
      audit?.record({ action: 'host.interrupted', host: name, user: null, source_ip: null, result: `interrupted during ${prev.state}`, job_id: prev.job_id });
    }
    this.#interruptedJobs = this.deps.jobs.restore(state.jobs, 'interrupted: daemon stopped');
    for (const job of this.#interruptedJobs) {
      audit?.record({ action: 'job.interrupted', host: null, user: job.user, source_ip: null, result: 'interrupted', job_id: job.id, request_id: job.request_id });
    }
    return (name) => this.#fromLastRun.get(name);
  }

  /** Once the replay buffer holds the last run's events: clients resuming with ?since= learn that those jobs ended. */
  announceInterruptedJobs(): void {
    for (const job of this.#interruptedJobs) this.deps.emit(jobFinished(job));
  }

  /** Once events are persisted: clients see the interrupted hosts go to failed. */
  announceInterruptedHosts(): void {
    for (const { name, prev } of this.#interruptedAtStop) {
      const to = this.#fromLastRun.get(name)?.state ?? prev.state;
      this.deps.emit({ type: 'HostStateChanged', host: name, from: prev.state, to, ...(prev.job_id ? { job_id: prev.job_id } : {}) });
    }
  }

  /**
   * A shard's worker is gone (`what`: "worker died" / "worker stopped
   * answering"): its in-flight jobs get failed results, its interrupted hosts
   * go to failed. Returns what the replacement worker's actors start from.
   */
  shardLost(onShard: (name: string) => boolean, what: string): RestoreFrom {
    const { hosts, jobs, audit } = this.deps;
    const lost: Interruption = { cause: what, code: 'WORKER_FAILED', at: new Date().toISOString() };
    for (const s of hosts.all()) {
      if (!onShard(s.name)) continue;
      if (s.job_id) {
        jobs.hostResult({ kind: 'job_result', job_id: s.job_id, host: s.name, success: false, state: 'failed', error: `interrupted: ${what} during ${s.state}`, code: 'WORKER_FAILED', finished_at: lost.at });
      }
      if (!wasInterrupted(s)) continue;
      // The machine, given the update the host had under way (if any), fails it and ends that update.
      const open = this.deps.lifecycle.openUpdate(s.name);
      const out = interrupt(s, lost, open?.intent ?? null);
      // In order with the host's other events.
      this.deps.emit({ type: 'HostStateChanged', host: s.name, from: s.state, to: out?.next.state ?? s.state, ...(s.job_id ? { job_id: s.job_id } : {}) });
      if (open && out?.lifecycle) this.deps.lifecycle.report({ kind: 'lifecycle', host: s.name, fact: out.lifecycle, job_id: open.job_id, request_id: open.request_id });
      audit?.record({ action: 'host.interrupted', host: s.name, user: null, source_ip: null, result: `interrupted: ${what} during ${s.state}`, job_id: s.job_id });
    }
    return (name) => {
      const live = hosts.get(name);
      return live ? restoredStatus(live, lost) : this.#fromLastRun.get(name);
    };
  }

  /** After the workers drained at shutdown: an audit line per host and job the stop interrupted. */
  auditShutdown(stopAt: number): void {
    const { audit, hosts, jobs } = this.deps;
    if (!audit) return;
    for (const s of hosts.all()) {
      if (s.failed?.code !== 'INTERRUPTED' || s.failed.acknowledged || Date.parse(s.failed.failed_at) < stopAt) continue;
      audit.record({ action: 'host.interrupted', host: s.name, user: null, source_ip: null, result: `interrupted during ${s.failed.previous_state}`, job_id: null });
    }
    for (const job of jobs.list({ state: 'interrupted' })) {
      if (job.finished_at && Date.parse(job.finished_at) >= stopAt) {
        audit.record({ action: 'job.interrupted', host: null, user: job.user, source_ip: null, result: 'interrupted', job_id: job.id, request_id: job.request_id });
      }
    }
  }
}
