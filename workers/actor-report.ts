// What a host actor tells its shard's port: its status, its events and logs
// stamped with the running operation's job and request, lifecycle facts, and
// each operation's result for its job. The actor decides when; this file
// knows the message shapes and that a removed host stays silent.
import type { PortMessage, Trace } from '../common/thread-protocol.js';
import type { HostState, HostStatus } from '../common/schemas/host.js';
import type { UnstampedEvent } from '../common/schemas/events.js';
import type { Lifecycle } from '../common/host-machine.js';

type LogLevel = Extract<PortMessage, { kind: 'log' }>['level'];

export class ActorReport {
  /** Gone from the fleet: an effect still finishing must not re-announce the host. */
  #silent = false;

  /** `trace`: the running operation's (read at each report, since it changes between operations). */
  constructor(
    private readonly host: string,
    private readonly emit: (msg: PortMessage) => void,
    private readonly trace: () => Trace,
  ) {}

  silence(): void {
    this.#silent = true;
  }

  status(status: HostStatus): void {
    if (this.#silent) return;
    this.emit({ kind: 'status', status });
  }

  event(body: UnstampedEvent): void {
    if (this.#silent) return;
    const trace = this.trace();
    const e = { ...body } as UnstampedEvent & { job_id?: string; request_id?: string };
    if (trace.job_id) e.job_id = trace.job_id;
    if (trace.request_id) e.request_id = trace.request_id;
    this.emit({ kind: 'event', event: e });
  }

  lifecycle(fact: Lifecycle): void {
    if (this.#silent) return;
    const { job_id, request_id } = this.trace();
    this.emit({ kind: 'lifecycle', host: this.host, fact, job_id, request_id });
  }

  /** The operation ended at `at` with the host resting in `state`; a failure carries its error and code. */
  jobResult(job_id: string, state: HostState, failure: { error: string | null; code: string | null } | null, at: Date): void {
    this.emit({
      kind: 'job_result',
      job_id,
      host: this.host,
      success: failure === null,
      state,
      error: failure?.error ?? null,
      code: failure?.code ?? null,
      finished_at: at.toISOString(),
    });
  }

  log(level: LogLevel, msg: string, fields: Record<string, unknown>): void {
    const { job_id, request_id } = this.trace();
    this.emit({ kind: 'log', level, msg, fields: { host: this.host, job_id, request_id, ...fields } });
  }
}
