// A daemon as a cluster node: what the node's hooks do with this daemon's
// parts (src/cluster/node.ts). Taking a partition starts its hosts' actors
// from the shared statuses; losing or handing it back stops them; a command
// that reaches this node for a host it owns runs through the same host
// actions as a local request. Everything the local broadcaster sees about the
// hosts it owns goes out: each status to the shared status bucket, each event
// to the cluster stream (which feeds every node's read model, cluster-feed.ts).
import type { Logger } from 'pino';
import { TendhostError } from '../../common/errors.js';
import { BUSY_STATES, type HostStatus, type ResolvedHost } from '../../common/schemas/host.js';
import type { ClusterSettings } from '../../common/config-types.js';
import type { ClusterNode, ClusterNodeHooks } from '../cluster/node.js';
import type { ClusterHostRecord } from '../cluster/registry-kv.js';
import type { CommandReply, HostCommand } from '../cluster/forward.js';
import { partitionOf } from '../cluster/partition.js';
import type { Broadcaster } from '../events/broadcaster.js';
import type { ReadModel } from '../state/read-model.js';
import { JOB_UPDATE_COMMAND } from '../cluster/job-runner.js';
import { jobView } from '../jobs/job-view.js';
import type { JobStore } from '../jobs/job-store.js';
import { checkForwarded, type ForwardedBody } from './cluster-commands.js';
import { CANCEL_JOB_COMMAND, type ClusterJobs } from './cluster-jobs.js';
import type { HostActions } from './host-actions.js';
import type { HostRegistry } from './host-registry.js';

const ARRIVED_KEEP_MS = 120_000;

export interface ClusterModeParts {
  settings: ClusterSettings;
  registry: HostRegistry;
  /** The hosts this node runs (fed by its shards). */
  local: ReadModel;
  broadcaster: Broadcaster;
  actions: HostActions;
  /** This node's job store (its hosts' command jobs). */
  jobStore: Pick<JobStore, 'get' | 'isFinal' | 'cancel'>;
  /** The job side: rollouts' hosts run here, command jobs recorded in the shared log. */
  jobs: ClusterJobs;
  /** The whole fleet (the cluster read model): a host's last status as the cluster saw it. */
  fleet: Pick<ReadModel, 'get'>;
  log: Logger;
  /** Another live node has this node's id: the process must end. */
  fatal(err: Error): void;
}

export class ClusterMode {
  #node: ClusterNode | null = null;
  /** Partitions whose hosts run here (from the start of their attach to their detach). */
  readonly #owned = new Set<number>();
  /**
   * Hosts written to the registry lately for partitions not attached here: a
   * partition taken meanwhile (listed before they were written) adds them.
   * Kept ARRIVED_KEEP_MS, far longer than listing a partition takes.
   */
  readonly #arrived = new Map<string, { host: ResolvedHost; at: number }>();
  /** Hosts being removed through the API: their HostRemoved goes out (a host that only moves to another node is not removed). */
  readonly #removing = new Set<string>();

  constructor(private readonly p: ClusterModeParts) {}

  /**
   * A host written to the registry (by any node) after this one started. A
   * partition's new owner lists its hosts once; this catches the ones written
   * after that list, whether they arrive before its attach (kept for it) or after.
   */
  hostArrived(record: ClusterHostRecord): void {
    const { host } = record;
    if (!this.#owned.has(this.#partition(host.name))) {
      const now = Date.now();
      this.#arrived.delete(host.name);
      this.#arrived.set(host.name, { host, at: now });
      // Oldest first (insertion order): drop what no attach can still need.
      for (const [name, a] of this.#arrived) {
        if (now - a.at < ARRIVED_KEEP_MS) break;
        this.#arrived.delete(name);
      }
      return;
    }
    // Known and unchanged: nothing to do; changed (a node's file reloaded): its actor takes the new config.
    const known = this.p.registry.config(host.name);
    if (known && JSON.stringify(known) === JSON.stringify(host)) return;
    this.p.registry.adopt(host).catch((err: Error) => this.p.log.warn({ host: host.name, err: err.message }, 'cluster: could not start the actor of a new host'));
  }

  #partition(name: string): number {
    return partitionOf(name, this.p.settings.partitions);
  }

  /** Once the node runs: what the local broadcaster sees about owned hosts goes to the cluster. */
  connect(node: ClusterNode): void {
    this.#node = node;
    const { broadcaster, log } = this.p;
    broadcaster.setPersist({
      status: (s) => {
        if (!node.owns(s.name)) return;
        node.registry.putStatus(s).catch((err: Error) => log.warn({ host: s.name, err: err.message }, 'cluster: could not record the host status'));
      },
      removed: () => undefined,
      event: () => undefined,
    });
    broadcaster.subscribe((e) => {
      if (e.type === 'HostRemoved' ? !this.#removing.delete(e.host as string) : e.host !== null && !node.owns(e.host)) return;
      const { seq: _local, ...event } = e.event;
      node.publisher.publish(event).catch((err: Error) => log.warn({ err: err.message }, 'cluster: event not published'));
    });
  }

  hooks(): ClusterNodeHooks {
    const { registry, log } = this.p;
    return {
      isBusy: (partition) =>
        this.#hostsOf(partition).some((n) => BUSY_STATES.has(this.p.local.get(n)?.state ?? 'idle')) || this.p.jobs.runningHosts().some((n) => this.#partition(n) === partition),
      attach: async (partition, restore) => {
        this.#owned.add(partition);
        const hosts = new Map(restore.hosts.map((h) => [h.name, h]));
        for (const [name, a] of this.#arrived) {
          if (this.#partition(name) !== partition) continue;
          this.#arrived.delete(name);
          if (!hosts.has(name)) hosts.set(name, a.host);
        }
        // The jobs of commands cut short, as the cluster last saw the hosts (before their new actors report).
        const cut = restore.interrupted.map((name) => ({ name, job: this.p.fleet.get(name)?.job_id ?? null, reason: restore.statuses.get(name)?.error ?? 'interrupted' }));
        await Promise.all([...hosts.values()].map((h) => registry.adopt(h, restore.statuses.get(h.name))));
        if (restore.interrupted.length) log.warn({ partition, hosts: restore.interrupted }, 'cluster: took over hosts whose operation was cut short; they are failed');
        for (const c of cut) if (c.job) void this.p.jobs.commandInterrupted(c.job, c.name, c.reason);
        log.info({ partition, hosts: hosts.size }, 'cluster: partition attached');
      },
      detach: async (partition, why) => {
        this.#owned.delete(partition);
        // Lost, not handed over (a handover waits for idle hosts): rollouts' hosts in flight here end interrupted, named.
        if (why !== 'handover') await this.p.jobs.interrupt((h) => this.#partition(h) === partition, `interrupted: cluster node ${this.p.settings.node_id} lost the host's partition`);
        await Promise.all(this.#hostsOf(partition).map((n) => registry.release(n)));
        log.info({ partition, why }, 'cluster: partition detached');
      },
      handle: (cmd) => this.#handle(cmd),
      fatal: (err) => this.p.fatal(err),
      warn: (err) => log.warn({ err: err.message }, 'cluster: retrying'),
      commandFailed: (err, cmd) => log.error({ host: cmd.host, command: cmd.command, req_id: cmd.request_id, err: err.message, stack: err.stack }, 'cluster: forwarded command failed'),
    };
  }

  #hostsOf(partition: number): string[] {
    return this.p.registry.names().filter((n) => this.#partition(n) === partition);
  }

  /** A command for a host this node owns, from this node's API or forwarded by another node. */
  async #handle(cmd: HostCommand): Promise<CommandReply> {
    // A rollout's host: its body is a job dispatch, not a forwarded command.
    if (cmd.command === JOB_UPDATE_COMMAND) return this.p.jobs.dispatched(cmd);
    const body: ForwardedBody = checkForwarded(cmd.body);
    const { actions, registry } = this.p;
    const request_id = cmd.request_id ?? null;
    const trace = { job_id: null, request_id, user: body.user };
    switch (cmd.command) {
      case 'update':
      case 'reboot':
      case 'retry':
      case 'acknowledge': {
        const command = cmd.command === 'update' ? { kind: 'update' as const, dry_run: body.dry_run ?? false } : { kind: cmd.command };
        const job = await actions.start({ host: cmd.host, command, kind: cmd.command, request_id, user: body.user, dry_run: command.kind === 'update' ? command.dry_run : undefined });
        // Readable from every node by the time the client has the id.
        await this.p.jobs.recordCommand(job);
        return { status: 202, body: { job_id: job.id } };
      }
      case CANCEL_JOB_COMMAND: {
        const job = this.p.jobStore.get(body.job_id ?? '');
        if (!job) throw new TendhostError('JOB_NOT_FOUND', `job ${body.job_id} not found`);
        if (this.p.jobStore.isFinal(job)) throw new TendhostError('JOB_FINISHED', `job ${job.id} already ${job.state}`);
        this.p.jobStore.cancel(job.id);
        await this.p.jobs.recordCommand(job);
        return { status: 200, body: jobView(job) };
      }
      case 'accept_host_key':
        await actions.ask(cmd.host, { kind: 'accept_host_key' }, trace);
        return { status: 200, body: this.p.local.get(cmd.host) ?? null };
      case 'inventory':
        return { status: 200, body: await actions.ask(cmd.host, { kind: 'inventory', refresh: body.refresh ?? false }, trace) };
      case 'adopt': {
        const record = await this.#requireNode().registry.get(cmd.host);
        if (!record) throw new TendhostError('HOST_NOT_FOUND', `host ${cmd.host} not found`);
        const status: HostStatus = await registry.adopt(record.host);
        return { status: 201, body: status };
      }
      case 'remove':
        if (!registry.has(cmd.host)) throw new TendhostError('HOST_NOT_FOUND', `host ${cmd.host} not found`);
        this.#removing.add(cmd.host);
        try {
          await registry.remove(cmd.host, body.force ?? false);
        } catch (err) {
          this.#removing.delete(cmd.host);
          throw err;
        }
        await this.#requireNode().registry.remove(cmd.host);
        return { status: 204, body: null };
      default:
        throw new TendhostError('VALIDATION_FAILED', `unknown cluster command "${cmd.command}"`);
    }
  }

  #requireNode(): ClusterNode {
    if (!this.#node) throw new TendhostError('CLUSTER_UNAVAILABLE', 'this node has not joined the cluster yet');
    return this.#node;
  }
}
