// The HTTP handlers' host commands on a cluster node: each goes through
// node.send, which runs it here when this node owns the host and otherwise
// on its owner (NATS request/reply), and the answer is turned back into what
// the local call would have returned or thrown. So a client gets the same
// answer from whichever node it asks; with NATS away it gets 503
// CLUSTER_UNAVAILABLE, during a handover 503 PARTITION_UNOWNED.
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { TendhostError, fromWire } from '../../common/errors.js';
import type { HostStatus } from '../../common/schemas/host.js';
import type { RegisterHostRequest } from '../../common/schemas/requests.js';
import type { HostCommand as ShardCommand, Trace } from '../../common/thread-protocol.js';
import type { ForwardedReply, HostCommand } from '../cluster/forward.js';
import { HostExistsError } from '../cluster/registry-kv.js';
import type { ClusterNode } from '../cluster/node.js';
import { resolveHost } from '../config/load.js';
import type { Defaults } from './host-registry.js';
import type { ActionRequest } from './host-actions.js';

/** What a forwarded command carries besides host and name (cluster-mode.ts reads it back). */
export const ForwardedBody = Type.Object(
  {
    user: Type.Union([Type.String(), Type.Null()]),
    dry_run: Type.Optional(Type.Boolean()),
    refresh: Type.Optional(Type.Boolean()),
    force: Type.Optional(Type.Boolean()),
    job_id: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type ForwardedBody = Static<typeof ForwardedBody>;
const check = Compile(ForwardedBody);

/** Another node wrote it: checked before use. */
export function checkForwarded(body: unknown): ForwardedBody {
  if (!check.Check(body)) throw new TendhostError('VALIDATION_FAILED', 'forwarded command body is malformed');
  return body;
}

export class ClusterCommands {
  #node: ClusterNode | null = null;

  constructor(
    /** The whole fleet (the cluster read model): unknown hosts are refused here without a round trip. */
    private readonly hosts: { has(name: string): boolean },
    private readonly defaults: Defaults,
  ) {}

  /** Commands are refused with CLUSTER_UNAVAILABLE until the node has joined. */
  connect(node: ClusterNode): void {
    this.#node = node;
  }

  async start(req: ActionRequest): Promise<{ id: string }> {
    const dry_run = req.command.kind === 'update' ? req.command.dry_run : undefined;
    const body = await this.#send(req.host, req.kind, { user: req.user, dry_run }, req.request_id);
    return { id: (body as { job_id: string }).job_id };
  }

  ask(host: string, command: ShardCommand, trace: Trace): Promise<unknown> {
    if (command.kind !== 'inventory' && command.kind !== 'accept_host_key') throw new TendhostError('VALIDATION_FAILED', `${command.kind} is not a question`);
    return this.#send(host, command.kind, { user: trace.user, refresh: command.kind === 'inventory' ? command.refresh : undefined }, trace.request_id);
  }

  /** POST /hosts: one name in the whole cluster (a create in the shared registry), then its owner starts its actor. */
  async register(request: RegisterHostRequest, known: (name: string) => boolean): Promise<HostStatus> {
    if (known(request.name)) throw new TendhostError('HOST_EXISTS', `host ${request.name} already exists`);
    const node = this.#joined();
    const host = resolveHost(request, this.defaults);
    try {
      await node.registry.register(host);
    } catch (err) {
      if (err instanceof HostExistsError) throw new TendhostError('HOST_EXISTS', `host ${request.name} already exists`);
      throw new TendhostError('CLUSTER_UNAVAILABLE', undefined, undefined, { cause: err });
    }
    return (await this.#send(host.name, 'adopt', { user: null }, null, false)) as HostStatus;
  }

  async remove(name: string, force: boolean): Promise<void> {
    await this.#send(name, 'remove', { user: null, force }, null);
  }

  async #send(host: string, command: string, body: ForwardedBody, requestId: string | null, mustExist = true): Promise<unknown> {
    if (mustExist && !this.hosts.has(host)) throw new TendhostError('HOST_NOT_FOUND', `host ${host} not found`);
    // Undefined fields left out: the owner may be this node (no JSON round trip) or another.
    const clean = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as ForwardedBody;
    const cmd: HostCommand = { host, command, body: clean, ...(requestId ? { request_id: requestId } : {}) };
    const reply: ForwardedReply = await this.#joined().send(cmd);
    if (reply.status >= 400) throw fromWire((reply.body as { error?: unknown } | null)?.error);
    return reply.body;
  }

  /**
   * Refused while NATS is away even for a host this node still holds the lease
   * of: the lease may lapse mid-command, and nothing it does would reach the
   * shared state or the other nodes until NATS is back.
   */
  #joined(): ClusterNode {
    if (!this.#node) throw new TendhostError('CLUSTER_UNAVAILABLE', 'this node has not joined the cluster yet');
    if (!this.#node.connected()) throw new TendhostError('CLUSTER_UNAVAILABLE');
    return this.#node;
  }
}
