// Publishing to JetStream with an acknowledgement per message, without a
// request per message: `js.publish` (and a KV `put`) is a NATS request, which
// costs a promise, a timer, an inbox entry and error objects each time — the
// largest part of a cluster node's front thread in bench/cluster's query. Here
// one inbox subscription receives every ack (reply-inbox.ts), and a window of
// messages shares one timer.
import { headers, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { ReplyInbox } from './reply-inbox.js';

export interface Outgoing {
  subject: string;
  data: string | Uint8Array;
  /** JetStream's duplicate check: a message sent again with the same id is stored once. */
  msgID?: string;
  /** Compare-and-set: stored only if the subject's last message has this sequence (0: none yet). */
  expectedLastSubjectSeq?: number;
}

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** One result per message: its stream sequence, or why it was not stored (send it again). */
export type AckResult = number | Error;

function headersOf(item: Outgoing): MsgHdrs | null {
  if (item.msgID === undefined && item.expectedLastSubjectSeq === undefined) return null;
  const h = headers();
  if (item.msgID !== undefined) h.set('Nats-Msg-Id', item.msgID);
  if (item.expectedLastSubjectSeq !== undefined) h.set('Nats-Expected-Last-Subject-Sequence', String(item.expectedLastSubjectSeq));
  return h;
}

export class AckedPublisher {
  readonly #nc: NatsConnection;
  readonly #inbox: ReplyInbox<(r: AckResult) => void>;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#inbox = new ReplyInbox(nc, (settle, err, msg) => settle(err ?? ackResult(msg)));
  }

  /**
   * Send every message (in order, on this one connection) and resolve once
   * each is acknowledged or `timeoutMs` passed: results in the same order.
   */
  send(items: readonly Outgoing[], timeoutMs: number): Promise<AckResult[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const results: Array<AckResult | undefined> = new Array(items.length);
      const ids: number[] = [];
      let left = items.length;
      const timer = setTimeout(() => {
        for (const id of ids) this.#inbox.take(id);
        for (let i = 0; i < results.length; i++) results[i] ??= new Error(`no acknowledgement within ${timeoutMs} ms`);
        resolve(results as AckResult[]);
      }, timeoutMs);
      items.forEach((item, i) => {
        const { id, reply } = this.#inbox.add((r) => {
          results[i] = r;
          if (--left === 0) {
            clearTimeout(timer);
            resolve(results as AckResult[]);
          }
        });
        ids.push(id);
        try {
          const h = headersOf(item);
          this.#nc.publish(item.subject, item.data, h ? { reply, headers: h } : { reply });
        } catch (err) {
          // Closed connection: this one fails now, the window still ends.
          this.#inbox.take(id)?.(err as Error);
        }
      });
    });
  }

  /** The largest message the server takes (its `max_payload`, 1 MiB unless configured); nats.js refuses a bigger one. */
  maxPayload(): number {
    return this.#nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** The connection is closed for good (nothing sent from now on can be stored). */
  isClosed(): boolean {
    return this.#nc.isClosed();
  }

  close(): void {
    for (const settle of this.#inbox.close()) settle(new Error('publisher closed'));
  }
}

/** A JetStream ack: the stored sequence, or why nothing was stored. */
function ackResult(msg: Msg): AckResult {
  if (msg.data.length === 0) {
    // A status with no body: 503 when no stream listens on the subject.
    return new Error(`not stored: ${msg.headers?.code ?? ''} ${msg.headers?.description ?? 'no stream answered'}`.trim());
  }
  try {
    const ack = JSON.parse(msg.string()) as { seq?: number; error?: { description?: string; code?: number } };
    if (ack.error || typeof ack.seq !== 'number') return new Error(`not stored: ${ack.error?.description ?? 'no sequence in the ack'}`);
    return ack.seq;
  } catch (e) {
    return e as Error;
  }
}
