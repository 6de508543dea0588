// The jobs of a daemon that is a cluster node (docs/cluster.md, "Jobs and
// rollouts"): the job side of src/cluster (node-jobs.ts) started once the
// node has joined, fed with this daemon's parts, and what the API asks of it —
// POST /fleet/update coordinated from here across the cluster, /jobs read
// from the shared job log (a rollout's and a host command's job alike, so
// every node answers the same), a cancel sent wherever the job runs.
import type { Logger } from 'pino';
import { TendhostError, fromWire } from '../../common/errors.js';
import type { ResolvedHost } from '../../common/schemas/host.js';
import type { Job, JobRecord } from '../../common/schemas/job.js';
import type { FleetUpdateRequest } from '../../common/schemas/requests.js';
import type { PortMessage } from '../../common/thread-protocol.js';
import type { CommandReply, HostCommand } from '../cluster/forward.js';
import { headerView, listJobs, readJob, readJobHosts, type CoordinatedHere } from '../cluster/job-reads.js';
import type { ClusterNode } from '../cluster/node.js';
import { startNodeJobs, type NodeJobs, type NodeJobsDeps } from '../cluster/node-jobs.js';
import { abortableSleep } from '../fleet/abortable-sleep.js';
import { selectHosts } from '../fleet/fleet-filter.js';
import type { FleetStarter } from '../http/handlers/fleet.js';
import { notFound, type JobListPage, type JobReads } from '../jobs/job-reads.js';
import type { JobStore } from '../jobs/job-store.js';
import type { JobHostsPage, JobHostsQuery } from '../jobs/job-view.js';
import type { ReadModel } from '../state/read-model.js';
import { CommandJobMirror } from './cluster-job-mirror.js';

/** Forwarded to a host command's owner: cancel that command's job (its job store has it). */
export const CANCEL_JOB_COMMAND = 'cancel_job';

export interface ClusterJobsParts extends Pick<NodeJobsDeps, 'pool' | 'broadcaster' | 'roomPerMember'> {
  /** The whole fleet (the cluster read model): what a rollout selects from and checks. */
  model: ReadModel;
  /** This node's own job store (its hosts' command jobs). */
  local: Pick<JobStore, 'onFinish'>;
  log: Logger;
}

export class ClusterJobs implements JobReads, FleetStarter {
  #node: ClusterNode | null = null;
  #jobs: NodeJobs | null = null;
  #mirror: CommandJobMirror | null = null;
  #ready!: (jobs: NodeJobs) => void;
  /** Resolves once the job side runs: a dispatch that reaches this node right after it joined waits for it. */
  readonly #started = new Promise<NodeJobs>((r) => (this.#ready = r));
  /** Host → the rollout holding it, for this node's rollouts (src/fleet/rollout.ts claims). */
  readonly #claims = new Map<string, string>();
  /** Every host's config (maintenance windows), from the shared registry. */
  readonly #configs = new Map<string, ResolvedHost>();

  constructor(private readonly p: ClusterJobsParts) {}

  knowHost(host: ResolvedHost): void {
    this.#configs.set(host.name, host);
  }

  /** After ClusterNode.start: open the job log and leases, start the runner and the rollouts loop. */
  async start(node: ClusterNode): Promise<void> {
    const warn = (err: Error) => this.p.log.warn({ err: err.message }, 'cluster jobs');
    const jobs = await startNodeJobs(node, {
      pool: this.p.pool,
      roomPerMember: this.p.roomPerMember,
      model: this.p.model,
      hostConfig: (name) => this.#configs.get(name),
      broadcaster: this.p.broadcaster,
      sleep: abortableSleep,
      claims: this.#claims,
      warn,
    });
    const mirror = new CommandJobMirror(jobs.log, { nodeId: node.settings.node_id, instance: node.instance }, warn);
    this.p.local.onFinish((job) => void (job.kind !== 'fleet_update' && mirror.record(job)));
    this.#node = node;
    this.#jobs = jobs;
    this.#mirror = mirror;
    this.#ready(jobs);
  }

  /** `job_update` from a rollout's coordinator, for a host this node owns. */
  async dispatched(cmd: HostCommand): Promise<CommandReply> {
    return (await this.#started).runner.handle(cmd);
  }

  /** A worker's job_result: true when it was a rollout's host running here (then the log gets it). */
  hostResult(msg: Extract<PortMessage, { kind: 'job_result' }>): boolean {
    return this.#jobs?.runner.hostResult(msg) ?? false;
  }

  /** This node stops running these hosts (their partition was lost): rollouts' hosts in flight end failed, interrupted. */
  async interrupt(hosts: (host: string) => boolean, reason: string): Promise<void> {
    await this.#jobs?.runner.interrupt(hosts, reason);
  }

  /** Hosts running here for rollouts (their partitions are busy). */
  runningHosts(): string[] {
    return this.#jobs?.runner.runningHosts() ?? [];
  }

  /** A host command's job accepted here: in the log before the answer goes back. */
  recordCommand(job: JobRecord): Promise<void> {
    return this.#mirror?.record(job) ?? Promise.resolve();
  }

  /**
   * A host restored failed after its node died mid-command: that command's
   * job ends interrupted (once the job side runs: partitions are taken as the node starts).
   */
  commandInterrupted(jobId: string, host: string, reason: string): Promise<void> {
    return this.#started.then(() => this.#mirror?.interrupted(jobId, host, reason));
  }

  /**
   * A rollout received here, coordinated from here. As on one daemon, the
   * hosts another unfinished rollout still holds (pending or running in it,
   * wherever it is coordinated) are skipped, with its id; two rollouts
   * started at the same moment on two nodes may not see each other yet —
   * then a host busy with one is refused by its actor and skipped by the other.
   */
  begin(request: FleetUpdateRequest, trace: { request_id: string | null; user: string | null }): Promise<{ id: string }> {
    return this.#shared(async (jobs) => {
      const hosts = selectHosts(this.p.model, request.filter ?? {});
      const foreign = await this.#claimForeign(jobs, new Set(hosts));
      if (foreign.size > 0) this.p.log.info({ hosts: foreign.size, rollouts: [...new Set(foreign.values())] }, 'rollout: hosts other rollouts hold are skipped');
      try {
        return { id: (await jobs.rollouts.begin(request, hosts, trace)).id };
      } finally {
        // The new rollout has claimed what it could (synchronously, as it started): the others' claims stay theirs.
        for (const [host, id] of foreign) if (this.#claims.get(host) === id) this.#claims.delete(host);
      }
    });
  }

  /** Hosts of this selection that unfinished rollouts coordinated elsewhere still hold, claimed in their name for the moment. */
  async #claimForeign(jobs: NodeJobs, selected: ReadonlySet<string>): Promise<Map<string, string>> {
    const added = new Map<string, string>();
    // The watch's view and a listing: the watch alone can lag under load (kv-read.ts: its consumer may stall).
    for (const id of new Set([...jobs.rollouts.activeIds(), ...(await jobs.log.active())])) {
      if (jobs.rollouts.get(id)) continue; // coordinated here: its claims are in the map already
      const job = await jobs.log.read(id);
      if (!job || job.finished_at !== null) continue;
      for (const h of job.hosts) {
        if ((h.state !== 'pending' && h.state !== 'running') || !selected.has(h.host) || this.#claims.has(h.host)) continue;
        this.#claims.set(h.host, id);
        added.set(h.host, id);
      }
    }
    return added;
  }

  list(filter: { host?: string; state?: Job['state'] }, page: number, perPage: number): Promise<JobListPage> {
    return this.#shared(async (jobs) => {
      const all = filter.host ? await this.#withHost(jobs, filter.host, filter.state) : await listJobs(jobs.log, { state: filter.state });
      return { data: all.slice((page - 1) * perPage, page * perPage), total_items: all.length };
    });
  }

  get(id: string): Promise<Job> {
    return this.#shared(async (jobs) => (await readJob(jobs.log, id, coordinatedHere(jobs))) ?? Promise.reject(notFound(id)));
  }

  hosts(id: string, q: JobHostsQuery): Promise<JobHostsPage> {
    return this.#shared(async (jobs) => (await readJobHosts(jobs.log, id, q, coordinatedHere(jobs))) ?? Promise.reject(notFound(id)));
  }

  /** A rollout: its coordinator, wherever it is (cluster-rollouts.ts); a host command: the host's owner, whose job store has it. */
  cancel(id: string): Promise<Job> {
    return this.#shared(async (jobs) => {
      const h = (await jobs.log.header(id))?.value;
      if (!h) throw notFound(id);
      if (h.finished_at !== null) throw new TendhostError('JOB_FINISHED', `job ${id} already ${h.state}`);
      if (h.kind === 'fleet_update') {
        if (!(await jobs.rollouts.cancel(id))) throw new TendhostError('JOB_FINISHED', `job ${id} already finished`);
      } else {
        const [host] = await jobs.log.selection(id, h.chunks);
        const reply = await this.#node!.send({ host, command: CANCEL_JOB_COMMAND, body: { user: null, job_id: id } }).catch((err: unknown) => {
          // Nobody owns the host's partition for a moment (a takeover): the cluster cannot act on it now.
          throw err instanceof TendhostError && err.code === 'PARTITION_UNOWNED' ? new TendhostError('CLUSTER_UNAVAILABLE', err.message) : err;
        });
        if (reply.status >= 400) throw fromWire((reply.body as { error?: unknown } | null)?.error);
      }
      return (await readJob(jobs.log, id, coordinatedHere(jobs))) ?? Promise.reject(notFound(id));
    });
  }

  /** Clean shutdown: the rollouts coordinated here are handed back (another node continues them at once). */
  async stop(): Promise<void> {
    await this.#jobs?.stop({ handBack: true });
  }

  /** Jobs with this host in their selection (the headers do not list hosts: each job's selection is read). */
  async #withHost(jobs: NodeJobs, host: string, state: Job['state'] | undefined): Promise<Job[]> {
    const headers = (await jobs.log.list()).filter((h) => !state || h.state === state);
    const has = await Promise.all(headers.map(async (h) => (await jobs.log.selection(h.id, h.chunks).catch((): string[] => [])).includes(host)));
    return headers.filter((_, i) => has[i]).map(headerView);
  }

  /** Reads and writes of the shared job log: NATS away (or not joined yet) is 503 CLUSTER_UNAVAILABLE, not an internal error. */
  async #shared<T>(fn: (jobs: NodeJobs) => Promise<T>): Promise<T> {
    const jobs = this.#joined();
    try {
      return await fn(jobs);
    } catch (err) {
      if (err instanceof TendhostError) throw err;
      throw new TendhostError('CLUSTER_UNAVAILABLE', undefined, undefined, { cause: err });
    }
  }

  #joined(): NodeJobs {
    if (!this.#jobs || !this.#node) throw new TendhostError('CLUSTER_UNAVAILABLE', 'this node has not joined the cluster yet');
    if (!this.#node.connected()) throw new TendhostError('CLUSTER_UNAVAILABLE');
    return this.#jobs;
  }
}

/** The in-memory record of a rollout this node coordinates (cluster/job-reads.ts). */
function coordinatedHere(jobs: NodeJobs): CoordinatedHere {
  return (id) => jobs.rollouts.get(id)?.job ?? null;
}
