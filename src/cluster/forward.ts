// A host command sent to whichever node owns the host's partition, by NATS
// request/reply, and answered as if it were local. The owner of partition p
// listens on `tendhost.cmd.<p>` only while it holds p's lease, so a request
// needs no directory of owners: during a handover nobody listens for a
// moment ("no responders"), and the sender retries for a short while before
// answering PARTITION_UNOWNED. The receiver checks its lease again before
// running the command (a late message for a partition it just lost is
// refused, and retried by the sender against the new owner).
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { TendhostError, asTendhostError } from '../../common/errors.js';
import { clientError } from '../http/error-response.js';
import { InboxRequester, NoRespondersError } from './inbox-requests.js';
import { trackLink, type Link } from './link.js';
import { partitionOf } from './partition.js';

export const COMMAND_SUBJECT_PREFIX = 'tendhost.cmd';
export const commandSubject = (partition: number) => `${COMMAND_SUBJECT_PREFIX}.${partition}`;

export const HostCommand = Type.Object({
  host: Type.String({ minLength: 1 }),
  /** What to do, as the daemon's own handlers name it (e.g. `update`, `reboot`, `retry`). */
  command: Type.String({ minLength: 1 }),
  body: Type.Unknown(),
  request_id: Type.Optional(Type.String()),
});
export type HostCommand = Static<typeof HostCommand>;
const checkCommand = Compile(HostCommand);

/** The answer, as the HTTP layer would send it. */
export interface CommandReply {
  status: number;
  body: unknown;
}

export interface ForwardedReply extends CommandReply {
  /** The node that ran the command. */
  node: string;
}

export interface ForwarderOptions {
  nodeId: string;
  partitions: number;
  /** Whether this node holds the partition's lease right now. */
  owns(partition: number): boolean;
  /** Runs a command for a host this node owns. */
  handle(cmd: HostCommand): Promise<CommandReply>;
  /** How long one forwarded command may take (default 30 s). */
  timeoutMs?: number;
  /** How long to keep retrying while nobody owns the partition (default 3 s). */
  unownedRetryMs?: number;
  /** A command that failed on this node with a server error (5xx): for the log, which keeps what the answer leaves out. */
  failed?(err: TendhostError, cmd: HostCommand): void;
}

interface Wire {
  ok: boolean;
  node: string;
  status: number;
  body: unknown;
}

const NOT_OWNER = 'not-owner';
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export class CommandForwarder {
  private readonly subs = new Map<number, Subscription>();
  private readonly o: Required<ForwarderOptions>;
  private readonly link: Link;
  private readonly requests: InboxRequester;

  constructor(
    private readonly nc: NatsConnection,
    o: ForwarderOptions,
    link?: Link,
  ) {
    this.o = { timeoutMs: 30_000, unownedRetryMs: 3000, failed: () => undefined, ...o };
    this.link = link ?? trackLink(nc);
    this.requests = new InboxRequester(nc);
  }

  /** Start answering for a partition (its lease was just acquired). */
  serve(partition: number): void {
    if (this.subs.has(partition)) return;
    const sub = this.nc.subscribe(commandSubject(partition), {
      // Nothing may throw out of this callback: nats.js would stop reading the
      // connection (every lease renewal, watch and reply of this node with it).
      callback: (err, msg) => {
        if (err) return;
        const cmd = decodeCommand(msg);
        if (typeof cmd === 'string') return this.respond(msg, this.errorWire(new TendhostError('VALIDATION_FAILED', `forwarded command ${cmd}`)));
        this.answer(partition, cmd).then(
          (w) => this.respond(msg, w),
          () => this.respond(msg, this.errorWire(new TendhostError('INTERNAL'))),
        );
      },
    });
    this.subs.set(partition, sub);
  }

  /** Stop answering for a partition (released or lost). */
  unserve(partition: number): void {
    this.subs.get(partition)?.unsubscribe();
    this.subs.delete(partition);
  }

  served(): number[] {
    return [...this.subs.keys()].sort((a, b) => a - b);
  }

  /**
   * Run a command for a host wherever it lives: here when this node owns
   * it, else on its owner. Throws TendhostError CLUSTER_UNAVAILABLE (NATS
   * unreachable) or PARTITION_UNOWNED (nobody owns it within the retry time).
   */
  async send(cmd: HostCommand): Promise<ForwardedReply> {
    const partition = partitionOf(cmd.host, this.o.partitions);
    const deadline = Date.now() + this.o.unownedRetryMs;
    for (let attempt = 0; ; attempt++) {
      if (this.o.owns(partition)) return { ...(await this.o.handle(cmd)), node: this.o.nodeId };
      if (!this.link.connected()) throw new TendhostError('CLUSTER_UNAVAILABLE');
      let wire: Wire | null = null;
      try {
        const reply = await this.requests.request(commandSubject(partition), JSON.stringify(cmd), this.o.timeoutMs);
        wire = reply.json<Wire>();
      } catch (err) {
        if (!isNoResponders(err)) {
          throw new TendhostError('CLUSTER_UNAVAILABLE', `forwarding to the owner of ${cmd.host} failed: ${(err as Error).message}`);
        }
      }
      if (wire && wire.ok) return { status: wire.status, body: wire.body, node: wire.node };
      if (Date.now() >= deadline) {
        throw new TendhostError('PARTITION_UNOWNED', `no cluster node owns ${cmd.host} (partition ${partition}) right now; retry`, { partition });
      }
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
    }
  }

  close(): void {
    for (const p of [...this.subs.keys()]) this.unserve(p);
    this.requests.close();
  }

  /**
   * nats.js throws on a message over the server's max_payload (1 MiB unless
   * configured): such an answer (an inventory of very many packages) goes
   * back as an error the sender can act on, not as a throw that would end
   * this process and leave the sender waiting for its timeout.
   */
  private respond(msg: Msg, w: Wire): void {
    let data = JSON.stringify(w);
    const bytes = Buffer.byteLength(data);
    const max = this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
    if (bytes > max) {
      data = JSON.stringify(this.errorWire(new TendhostError('CLUSTER_ANSWER_TOO_LARGE', `the answer is ${bytes} bytes, over the ${max} bytes of NATS's max_payload; ask node ${this.o.nodeId} directly`)));
    }
    try {
      msg.respond(data);
    } catch {
      // The connection closed meanwhile: the sender sees its timeout or the link down.
    }
  }

  /** An error as this node's answer (`ok`: the sender takes it, rather than retrying as for a non-owner). */
  private errorWire(e: TendhostError): Wire {
    return { ok: true, node: this.o.nodeId, status: e.status, body: { error: e.toWire() } };
  }

  private async answer(partition: number, cmd: HostCommand): Promise<Wire> {
    if (!this.o.owns(partition) || partitionOf(cmd.host, this.o.partitions) !== partition) {
      return { ok: false, node: this.o.nodeId, status: 503, body: NOT_OWNER };
    }
    try {
      const r = await this.o.handle(cmd);
      return { ok: true, node: this.o.nodeId, ...r };
    } catch (err) {
      // As the HTTP layer answers: the error table's code and status, and for an
      // unexpected exception only "internal error" and the request id (the log has the rest).
      const e = asTendhostError(err);
      if (e.status >= 500) this.o.failed(e, cmd);
      const shown = clientError(e, cmd.request_id ?? `forwarded to ${this.o.nodeId}`);
      return { ok: true, node: this.o.nodeId, status: shown.status, body: { error: shown.toWire() } };
    }
  }
}

/** The command in a message, or why it is none. */
function decodeCommand(msg: Msg): HostCommand | string {
  let value: unknown;
  try {
    value = msg.json();
  } catch {
    return 'is not JSON';
  }
  return checkCommand.Check(value) ? value : 'is not a host command ({host, command, body, request_id?})';
}

function isNoResponders(err: unknown): boolean {
  return err instanceof NoRespondersError;
}
