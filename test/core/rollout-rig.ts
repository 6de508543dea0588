// A rollout over a scripted shard pool, in this thread: each host answers its
// update command from a script (completes, fails with a code, is refused, the
// worker is gone, or it holds until the test releases it), and reports its
// result the way the job store hands it on (Rollout.hostResult). The clock is
// fake: a rollout's sleeps move it forward at once, or block until woken.
import { Rollout, type RolloutSpec } from '../../src/fleet/rollout.js';
import type { ErrorCode } from '../../common/errors.js';
import type { HostStatus, MaintenanceWindow, ResolvedHost } from '../../common/schemas/host.js';
import type { JobHostResult, JobRecord, JobState } from '../../common/schemas/job.js';
import type { CommandReply } from '../../common/thread-protocol.js';
import { hostStatus } from '../helpers/host-status.js';
import { HostRoom, OwnerWindows } from '../../src/cluster/dispatch-window.js';

export type HostScript =
  | 'ok'
  /** Updated, and now waits for a reboot (auto_reboot off). */
  | 'waiting_reboot'
  | { fail: ErrorCode }
  /** The actor refuses the command (it became busy after the rollout looked). */
  | { refuse: ErrorCode }
  /** The pool cannot reach the host's worker. */
  | 'reject'
  /** Runs until `release(host)`. */
  | 'hold';

export const SPEC: RolloutSpec = {
  batch_size: 2,
  delay_ms: 0,
  dry_run: false,
  canary: 0,
  max_failures: null,
  max_unreachable: null,
  wait_for_window: false,
};

export const START = Date.parse('2026-03-02T10:00:00Z');

export class RolloutRig {
  readonly model = new Map<string, HostStatus>();
  readonly windows = new Map<string, MaintenanceWindow>();
  readonly script = new Map<string, HostScript>();
  readonly events: { type: string; [k: string]: unknown }[] = [];
  /** Hosts in the order their command was sent. */
  readonly sent: string[] = [];
  readonly finished: { state: JobState; error: string | null }[] = [];
  readonly sleeps: number[] = [];
  /** The dry_run flag of each update command sent. */
  readonly dryRuns: boolean[] = [];
  /** `advance`: a sleep moves the clock and returns; `block`: it waits for the rollout's wake signal. */
  sleepMode: 'advance' | 'block' = 'advance';
  clock = START;
  inflight = 0;
  maxInflight = 0;
  touches = 0;
  readonly rollout: Rollout;
  readonly job: JobRecord;
  readonly #held = new Map<string, () => void>();
  /** Hosts each shard has room for at once (its room(): a host holds one from its start to its result); Infinity: a whole batch. */
  roomLimit = Infinity;
  /** The shard a host runs on (each has its own room). */
  shardOf: (host: string) => string = () => 'shard-0';
  readonly rooms = new OwnerWindows(() => this.roomLimit);
  readonly #room = new HostRoom(this.rooms, (host) => this.shardOf(host));
  /** Called with each host as its command is sent (tests change the world mid-run here). */
  onSend: (host: string) => void = () => {};

  /** Hosts held by running rollouts (shared between rigs to run two at once). */
  readonly claims: Map<string, string>;

  /** `prior`: change the job's host results before the rollout sees them (a job another coordinator started). */
  constructor(names: string[], spec: Partial<RolloutSpec> = {}, claims = new Map<string, string>(), id = 'job-1', prior: (hosts: JobHostResult[]) => void = () => {}) {
    this.claims = claims;
    for (const n of names) this.model.set(n, hostStatus(n));
    this.job = {
      id,
      kind: 'fleet_update',
      state: 'running',
      dry_run: spec.dry_run ?? false,
      created_at: new Date(START).toISOString(),
      started_at: new Date(START).toISOString(),
      finished_at: null,
      request_id: `req-${id}`,
      user: 'tester',
      error: null,
      hosts: names.map((host) => ({ host, state: 'pending', host_state: null, error: null, code: null, reason: null, finished_at: null })),
    };
    prior(this.job.hosts);
    this.rollout = new Rollout(this.job, { ...SPEC, ...spec }, {
      pool: {
        command: (host, cmd, trace) => {
          if (cmd.kind === 'update') this.dryRuns.push(cmd.dry_run);
          return this.#command(host, cmd.kind, trace.job_id);
        },
        room: (host, signal) => this.#room.take(host, signal),
        releaseRoom: (host) => this.#room.release(host),
      },
      jobs: {
        touch: () => void this.touches++,
        finish: (_id, state, error = null) => void this.finished.push({ state, error }),
      },
      model: { get: (name) => this.model.get(name) },
      broadcaster: {
        emit: (e) => {
          this.events.push(e as unknown as RolloutRig['events'][number]);
          return e as never;
        },
      },
      hostConfig: (name) => (this.model.has(name) ? config(name, this.windows.get(name) ?? null) : undefined),
      claims,
      now: () => new Date(this.clock),
      sleep: (ms, wake) => {
        this.sleeps.push(ms);
        if (this.sleepMode === 'advance') {
          this.clock += ms;
          return Promise.resolve();
        }
        return new Promise((resolve) => (wake.aborted ? resolve() : wake.addEventListener('abort', () => resolve())));
      },
    });
  }

  /** Claims and runs the rollout to its end. */
  run(): Promise<void> {
    this.rollout.claim();
    return this.rollout.run();
  }

  release(host: string): void {
    this.#held.get(host)?.();
  }

  held(): string[] {
    return [...this.#held.keys()];
  }

  result(host: string) {
    return this.job.hosts.find((h) => h.host === host);
  }

  eventsOf(type: string) {
    return this.events.filter((e) => e.type === type);
  }

  #command(host: string, kind: string, jobId: string | null): Promise<CommandReply> {
    if (kind !== 'update' || jobId !== this.job.id) throw new Error(`unexpected command ${kind} for ${jobId}`);
    this.sent.push(host);
    this.onSend(host);
    const s = this.script.get(host) ?? 'ok';
    if (s === 'reject' || (typeof s === 'object' && 'refuse' in s)) this.#room.release(host);
    if (s === 'reject') return Promise.reject(new Error(`worker for ${host} is gone`));
    if (typeof s === 'object' && 'refuse' in s) {
      return Promise.resolve({ ok: false, state: 'querying', error: { code: s.refuse, message: `${host} is busy (querying)` } });
    }
    this.inflight++;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    const report = () => {
      this.inflight--;
      this.#room.release(host);
      this.#held.delete(host);
      const failed = typeof s === 'object' && 'fail' in s ? s.fail : null;
      this.rollout.hostResult({
        kind: 'job_result',
        job_id: this.job.id,
        host,
        success: failed === null,
        state: failed ? 'failed' : s === 'waiting_reboot' ? 'waiting_reboot' : 'idle',
        error: failed ? `${host}: scripted ${failed}` : null,
        code: failed,
        finished_at: new Date(this.clock).toISOString(),
      });
    };
    // The reply comes first; the host's result follows when its operation rests.
    if (s === 'hold') this.#held.set(host, report);
    else setImmediate(report);
    return Promise.resolve({ ok: true, state: 'querying' });
  }
}

function config(name: string, window: MaintenanceWindow | null): ResolvedHost {
  return {
    name,
    addr: '192.0.2.1',
    port: 22,
    user: 'root',
    ssh_key: null,
    compose_paths: [],
    tags: [],
    policy: { auto_reboot: false, maintenance_window: window, verify_command: null },
    docker: { compose_version: null, pull_before_update: true },
  };
}

/** Waits until `cond` holds, turn by turn (the rollout's own work is all promises and setImmediate). */
export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never: ${what}`);
}

export const names = (n: number, prefix = 'h'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(2, '0')}`);
