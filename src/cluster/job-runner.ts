// The owner's side of a cluster rollout: a coordinator sends `job_update`
// for one host (through forward.ts) to the node that owns it; this runs it
// there and records the outcome in the job log. A host is claimed in the log
// (create / compare-and-set to `running`, naming this node and process)
// before its update starts, so a second dispatch of the same host — a
// retried request, a coordinator that took over — finds the claim and runs
// nothing. If the actor refuses (busy), the claim is given back and the
// coordinator records the host skipped. The result is written when the
// worker reports it; the coordinator follows the log.
import { Compile } from 'typebox/compile';
import { TendhostError } from '../../common/errors.js';
import type { CommandReply as PoolReply, PortMessage, Trace } from '../../common/thread-protocol.js';
import type { HostState } from '../../common/schemas/host.js';
import { isUnreachable } from '../fleet/outcome.js';
import type { CommandReply, HostCommand } from './forward.js';
import { isWrongRevision } from './buckets.js';
import type { JobLog } from './job-log.js';
import { JobDispatch, type ClusterJobHostEntry } from './job-log-schema.js';

export const JOB_UPDATE_COMMAND = 'job_update';

type HostResultMsg = Extract<PortMessage, { kind: 'job_result' }>;

/** What the owner answers a dispatch with (the body of the forwarded reply). */
export type DispatchAnswer =
  | { outcome: 'started'; state: HostState }
  /** Claimed before (by this dispatch's earlier try or another coordinator): the log will say how it ends. */
  | { outcome: 'claimed'; by: string | null }
  | { outcome: 'refused'; state: HostState | null; error: { code: string; message: string } }
  /** Its partition moved to another node while it waited here for room: nothing ran; send it to the new owner. */
  | { outcome: 'moved' };

export interface JobRunnerOptions {
  nodeId: string;
  instance: string;
  /** The local shard pool: `room` (shard-room.ts), when it has it, before a host starts; then `command`, sent `reserved`. */
  pool: {
    command(host: string, cmd: { kind: 'update'; dry_run: boolean }, trace: Trace, opts: { readYourWrites: boolean; reserved?: boolean }): Promise<PoolReply>;
    room?(host: string): true | Promise<boolean>;
    releaseRoom?(host: string): void;
  };
  /** Whether the host still runs here (its partition may move while it waits for room); none: always. */
  serves?: (host: string) => boolean;
  now?: () => Date;
  warn?: (err: Error) => void;
}

interface InFlight {
  revision: number;
  dispatch: JobDispatch;
}

const checkDispatch = Compile(JobDispatch);
const flightKey = (jobId: string, host: string) => `${jobId}\u0000${host}`;

export class ClusterJobRunner {
  private readonly inflight = new Map<string, InFlight>();
  private readonly now: () => Date;

  constructor(
    private readonly log: JobLog,
    private readonly o: JobRunnerOptions,
  ) {
    this.now = o.now ?? (() => new Date());
  }

  /** The `handle` hook's answer to a `job_update` command for a host this node owns. */
  async handle(cmd: HostCommand): Promise<CommandReply> {
    if (cmd.command !== JOB_UPDATE_COMMAND) throw new TendhostError('INTERNAL', `not a ${JOB_UPDATE_COMMAND} command: ${cmd.command}`);
    if (!checkDispatch.Check(cmd.body)) throw new TendhostError('VALIDATION_FAILED', `${JOB_UPDATE_COMMAND} for ${cmd.host}: the body is not a job dispatch`);
    const d = cmd.body;
    const answer = await this.run(cmd.host, d);
    return { status: answer.outcome === 'refused' ? 409 : answer.outcome === 'moved' ? 503 : 202, body: answer };
  }

  private async run(host: string, d: JobDispatch): Promise<DispatchAnswer> {
    // The coordinator hears back once the host can start here (its dispatch window, dispatch-window.ts).
    const room = this.o.pool.room?.(host);
    if (room !== undefined && room !== true) await room;
    if (this.o.serves && !this.o.serves(host)) {
      // Handed to another node while it waited (a joining node's share): the coordinator sends it again, to the new owner.
      if (room !== undefined) this.o.pool.releaseRoom?.(host);
      return { outcome: 'moved' };
    }
    const running: ClusterJobHostEntry = {
      node: this.o.nodeId,
      instance: this.o.instance,
      result: { host, state: 'running', host_state: null, error: null, code: null, reason: null, finished_at: null, batch: d.batch },
    };
    let revision: number;
    try {
      // Created, or written over a released claim's delete marker; a claim there already refuses it.
      revision = await this.log.writeEntry(d.job_id, running, null);
    } catch (err) {
      this.o.pool.releaseRoom?.(host); // nothing starts here
      if (!isWrongRevision(err)) throw err;
      const now = await this.log.entry(d.job_id, host);
      return { outcome: 'claimed', by: now?.value?.node ?? null };
    }
    const key = flightKey(d.job_id, host);
    this.inflight.set(key, { revision, dispatch: d });
    let reply: PoolReply;
    try {
      reply = await this.o.pool.command(host, { kind: 'update', dry_run: d.dry_run }, { job_id: d.job_id, request_id: d.request_id, user: d.user }, { readYourWrites: false, reserved: room !== undefined });
    } catch (err) {
      // The worker is gone: the host failed here, recorded as such.
      const e = err instanceof TendhostError ? err : new TendhostError('WORKER_UNAVAILABLE', (err as Error).message);
      await this.record(key, host, { success: false, state: null, error: e.message, code: e.code, at: this.now().toISOString() });
      return { outcome: 'started', state: 'failed' };
    }
    if (!reply.ok) {
      this.inflight.delete(key);
      // Not started: give the claim back so the host counts as never run.
      await this.log.releaseEntry(d.job_id, host, revision).catch((err) => this.o.warn?.(err as Error));
      return { outcome: 'refused', state: reply.state ?? null, error: { code: reply.error.code, message: reply.error.message } };
    }
    return { outcome: 'started', state: reply.state };
  }

  /**
   * A worker's job_result: true when it belonged to a cluster job running
   * here (then it is recorded in the log), false otherwise (the daemon's own
   * job store handles it).
   */
  hostResult(msg: HostResultMsg): boolean {
    const key = flightKey(msg.job_id, msg.host);
    if (!this.inflight.has(key)) return false;
    void this.record(key, msg.host, { success: msg.success, state: msg.state, error: msg.error, code: msg.code, at: msg.finished_at });
    return true;
  }

  /**
   * This node stops running these hosts (their partition was lost): each one
   * in flight is recorded failed, interrupted, with the reason.
   */
  async interrupt(hosts: (host: string) => boolean, reason: string): Promise<void> {
    const cut = [...this.inflight].filter(([k]) => hosts(k.slice(k.indexOf('\u0000') + 1)));
    await Promise.all(cut.map(([k]) => this.record(k, k.slice(k.indexOf('\u0000') + 1), { success: false, state: null, error: reason, code: 'INTERRUPTED', at: this.now().toISOString() })));
  }

  /** Hosts this node is running for cluster jobs now. */
  get running(): number {
    return this.inflight.size;
  }

  /** Names of the hosts it is running (their partitions are busy: not to be handed over). */
  runningHosts(): string[] {
    return [...this.inflight.keys()].map((k) => k.slice(k.indexOf('\u0000') + 1));
  }

  /** `r.at`: when the host's operation ended (the worker's stamp), or when this node judged it over. */
  private async record(key: string, host: string, r: { success: boolean; state: HostState | null; error: string | null; code: string | null; at: string }): Promise<void> {
    const f = this.inflight.get(key);
    if (!f) return;
    this.inflight.delete(key);
    const entry: ClusterJobHostEntry = {
      node: this.o.nodeId,
      instance: this.o.instance,
      result: {
        host,
        state: r.success ? 'completed' : isUnreachable(r.code) ? 'unreachable' : 'failed',
        host_state: r.state,
        error: r.error,
        code: r.code,
        reason: null,
        finished_at: r.at,
        batch: f.dispatch.batch,
      },
    };
    try {
      await this.log.writeEntry(f.dispatch.job_id, entry, f.revision);
    } catch (err) {
      // A wrong revision: the coordinator already recorded the host (it judged this node gone).
      this.o.warn?.(err as Error);
    }
  }
}
