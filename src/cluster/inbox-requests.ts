// Request/reply on one inbox subscription (reply-inbox.ts), as
// acked-publish.ts does for JetStream acks. nats.js's `request` builds an
// `Error` (with its stack) for every request it settles, even a successful
// one, plus its own promise machinery — on the coordinator of a cluster rollout that is one per host
// of the fleet (each host's dispatch to its owner, forward.ts).
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { ReplyInbox } from './reply-inbox.js';

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
  /** Set right after the request is registered (its timeout needs the id). */
  timer?: NodeJS.Timeout;
  resolve(msg: Msg): void;
  reject(err: Error): void;
}

export class InboxRequester {
  readonly #nc: NatsConnection;
  readonly #inbox: ReplyInbox<Pending>;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#inbox = new ReplyInbox<Pending>(nc, (p, err, msg) => {
      clearTimeout(p.timer);
      if (err) return p.reject(err);
      // A status with no body: 503 when nobody subscribes to the subject.
      if (msg.data.length === 0 && msg.headers?.code === 503) return p.reject(new NoRespondersError(p.subject));
      p.resolve(msg);
    });
  }

  /** The first reply to `data` sent on `subject`; rejects with NoRespondersError, RequestTimeoutError, or a closed connection's error. */
  request(subject: string, data: string, timeoutMs: number): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const pending: Pending = { subject, resolve, reject };
      const { id, reply } = this.#inbox.add(pending);
      pending.timer = setTimeout(() => this.#inbox.take(id)?.reject(new RequestTimeoutError(subject, timeoutMs)), timeoutMs);
      try {
        this.#nc.publish(subject, data, { reply });
      } catch (err) {
        clearTimeout(pending.timer);
        this.#inbox.take(id)?.reject(err as Error);
      }
    });
  }

  close(): void {
    for (const p of this.#inbox.close()) {
      clearTimeout(p.timer);
      p.reject(new Error('requester closed'));
    }
  }
}
