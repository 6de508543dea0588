// Request/reply on one inbox subscription: every reply comes to
// `<inbox>.<n>` and is routed by the counter, as acked-publish.ts does for
// JetStream acks. nats.js's `request` builds an `Error` (with its stack) for
// every request it settles, even a successful one, plus its own promise
// machinery — on the coordinator of a cluster rollout that is one per host
// of the fleet (each host's dispatch to its owner, forward.ts).
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** Nobody listens on the subject (NATS answered with status 503). */
export class NoRespondersError extends Error {
  constructor(subject: string) {
    super(`no responders on ${subject}`);
    this.name = 'NoRespondersError';
  }
}

/** No reply within the time allowed (the message says "timeout", as nats.js's does). */
export class RequestTimeoutError extends Error {
  constructor(subject: string, ms: number) {
    super(`timeout: no reply on ${subject} within ${ms} ms`);
    this.name = 'RequestTimeoutError';
  }
}

interface Pending {
  subject: string;
  timer: NodeJS.Timeout;
  resolve(msg: Msg): void;
  reject(err: Error): void;
}

export class InboxRequester {
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #pending = new Map<number, Pending>();
  #n = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#inbox = createInbox();
    this.#sub = nc.subscribe(`${this.#inbox}.*`, { callback: (err, msg) => this.#reply(err, msg) });
  }

  /** The first reply to `data` sent on `subject`; rejects with NoRespondersError, RequestTimeoutError, or a closed connection's error. */
  request(subject: string, data: string, timeoutMs: number): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const id = ++this.#n;
      const timer = setTimeout(() => this.#settle(id)?.reject(new RequestTimeoutError(subject, timeoutMs)), timeoutMs);
      this.#pending.set(id, { subject, timer, resolve, reject });
      try {
        this.#nc.publish(subject, data, { reply: `${this.#inbox}.${id}` });
      } catch (err) {
        this.#settle(id)?.reject(err as Error);
      }
    });
  }

  close(): void {
    if (!this.#sub.isClosed()) this.#sub.unsubscribe();
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(new Error('requester closed'));
  }

  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    return p;
  }

  #reply(err: Error | null, msg: Msg): void {
    const p = msg ? this.#settle(Number(msg.subject.slice(this.#inbox.length + 1))) : undefined;
    if (!p) return; // timed out already
    if (err) return p.reject(err);
    // A status with no body: 503 when nobody subscribes to the subject.
    if (msg.data.length === 0 && msg.headers?.code === 503) return p.reject(new NoRespondersError(p.subject));
    p.resolve(msg);
  }
}
