// One inbox subscription for the replies to many messages: each message is
// sent with reply subject `<inbox>.<n>` and its reply routed back by the
// counter, as the Go client's PublishAsync does. A NATS request per message
// instead costs a promise, a timer, an inbox entry and `Error` objects each.
// Used for JetStream acks (acked-publish.ts) and forwarded commands
// (inbox-requests.ts).
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';

export class ReplyInbox<P> {
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #pending = new Map<number, P>();
  #n = 0;

  /** `onReply` gets what was registered for the reply's counter (a reply for one already taken is dropped). */
  constructor(nc: NatsConnection, onReply: (pending: P, err: Error | null, msg: Msg) => void) {
    this.#inbox = createInbox();
    this.#sub = nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => {
        if (!msg) return;
        const p = this.take(Number(msg.subject.slice(this.#inbox.length + 1)));
        if (p !== undefined) onReply(p, err, msg);
      },
    });
  }

  /** Register `pending`; its id and the reply subject to send with. */
  add(pending: P): { id: number; reply: string } {
    const id = ++this.#n;
    this.#pending.set(id, pending);
    return { id, reply: `${this.#inbox}.${id}` };
  }

  /** What was registered for `id`, removed; undefined when it was taken already. */
  take(id: number): P | undefined {
    const p = this.#pending.get(id);
    if (p !== undefined) this.#pending.delete(id);
    return p;
  }

  /** Stop listening; every id still pending, each taken. */
  close(): P[] {
    if (!this.#sub.isClosed()) this.#sub.unsubscribe();
    const left = [...this.#pending.values()];
    this.#pending.clear();
    return left;
  }
}
