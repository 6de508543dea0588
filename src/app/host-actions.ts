// Sending an action to a host's actor with a job around it: the job exists
// before the command (so the worker's events carry its id) and is dropped
// again if the actor refuses, so a refused request leaves nothing behind.
import { TendhostError, fromWire } from '../../common/errors.js';
import type { HostCommand, Trace } from '../../common/thread-protocol.js';
import type { JobStore } from '../jobs/job-store.js';
import type { ShardPool } from '../pool/shard-pool.js';
import type { ReadModel } from '../state/read-model.js';
import { BUSY_STATES } from '../../common/schemas/host.js';
import type { JobRecord, JobKind } from '../../common/schemas/job.js';

export interface ActionRequest {
  host: string;
  command: HostCommand;
  kind: JobKind;
  request_id: string | null;
  user: string | null;
  dry_run?: boolean;
  /** Put the job under another job's control (a fleet rollout). */
  delegated?: boolean;
}

export class HostActions {
  constructor(
    private readonly pool: ShardPool,
    private readonly jobs: JobStore,
    private readonly model: ReadModel,
  ) {}

  async start(req: ActionRequest): Promise<JobRecord> {
    const status = this.model.get(req.host);
    if (!status) throw new TendhostError('HOST_NOT_FOUND', `host ${req.host} not found`);
    // A host the read model already shows busy is refused here, without a round
    // trip to its worker (automation polling a busy host is the common case).
    // The worker stays the authority: a host that only just became busy is refused there.
    if (BUSY_STATES.has(status.state) && (req.kind === 'update' || req.kind === 'reboot')) {
      throw new TendhostError('HOST_BUSY', `${req.host}: cannot ${req.kind}: host is busy (${status.state})`);
    }
    const job = this.jobs.create({
      kind: req.kind,
      hosts: [req.host],
      dry_run: req.dry_run,
      request_id: req.request_id,
      user: req.user,
    });
    const trace: Trace = { job_id: job.id, request_id: req.request_id, user: req.user };
    let reply;
    try {
      reply = await this.pool.command(req.host, req.command, trace);
    } catch (err) {
      this.jobs.discard(job.id);
      throw err;
    }
    if (!reply.ok) {
      this.jobs.discard(job.id);
      throw fromWire(reply.error);
    }
    this.jobs.accept(job);
    // Commands with no long-running work are done as soon as they are accepted.
    if (req.kind === 'retry' || req.kind === 'acknowledge') {
      this.jobs.hostResult({ kind: 'job_result', job_id: job.id, host: req.host, success: true, state: reply.state, error: null, code: null, finished_at: new Date().toISOString() });
    }
    return job;
  }

  /** A command whose answer is data (inventory), not a job. */
  async ask(host: string, command: HostCommand, trace: Trace): Promise<unknown> {
    if (!this.model.has(host)) throw new TendhostError('HOST_NOT_FOUND', `host ${host} not found`);
    const reply = await this.pool.command(host, command, trace);
    if (!reply.ok) throw fromWire(reply.error);
    return reply.data;
  }
}
