// One node's events into the cluster stream, in order, none lost while NATS
// is away: events queue in this process and go out in windows (one
// connection keeps them in order; acked-publish.ts takes every ack on one inbox, not a
// request per event); a window with a failure is sent again from its first
// unacknowledged event, with the same message ids, so JetStream's duplicate
// window drops the copies that had landed.
import type { UnstampedStreamEvent } from '../../common/schemas/stream.js';
import type { AckedPublisher } from './acked-publish.js';

const WINDOW = 256;
/** Room kept in a message for its headers (message id) and the stream's seq spliced in by readers. */
const HEADER_ROOM = 1024;
const RETRY_MS = 500;
/** How long a window waits for its acks (js.publish's default timeout). */
const ACK_TIMEOUT_MS = 5000;

interface Queued {
  subject: string;
  data: string;
  msgID: string;
  resolve: (seq: number) => void;
}

export class EventPublisher {
  private readonly queue: Queued[] = [];
  private counter = 0;
  private pumping = false;
  private closed = false;
  private readonly subject: string;

  constructor(
    private readonly acks: AckedPublisher,
    private readonly nodeId: string,
    private readonly instance: string,
    subjectPrefix = 'tendhost.events',
  ) {
    this.subject = `${subjectPrefix}.${nodeId}`;
  }

  /**
   * Queue an event (stamped with `ts` now unless it has one); resolves with
   * its cluster-wide seq once the stream has stored it.
   */
  publish(event: UnstampedStreamEvent & { ts?: string }): Promise<number> {
    if (this.closed) return Promise.reject(new Error('event publisher is closed'));
    const body = event.ts ? event : { ...event, ts: new Date().toISOString() };
    const data = JSON.stringify(body);
    // Sent again and again, an event NATS cannot take would hold up every event after it.
    // (Counted only when it could be too big: UTF-8 takes at most 3 bytes per UTF-16 unit.)
    const max = this.acks.maxPayload() - HEADER_ROOM;
    const bytes = data.length * 3 > max ? Buffer.byteLength(data) : 0;
    if (bytes > max) return Promise.reject(new Error(`${event.type} event of ${bytes} bytes is over the ${max} bytes a NATS message can carry here (max_payload); not published`));
    return new Promise((resolve) => {
      this.queue.push({ subject: this.subject, data, msgID: `${this.nodeId}:${this.instance}:${++this.counter}`, resolve });
      if (!this.pumping) {
        this.pumping = true;
        // The rest of this turn's events join the first window: one write to the socket, not one each.
        setImmediate(() => void this.pump());
      }
    });
  }

  /** Events queued and not yet stored. */
  pending(): number {
    return this.queue.length;
  }

  /** Wait until every queued event is stored (or `timeoutMs` passes: false). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /** Stop sending; what is still queued stays unsent (flush first for a clean stop). */
  close(): void {
    this.closed = true;
    this.acks.close();
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.closed) {
        const window = this.queue.slice(0, WINDOW);
        const results = await this.acks.send(window, ACK_TIMEOUT_MS);
        let done = 0;
        for (const r of results) {
          if (typeof r !== 'number') break;
          window[done]!.resolve(r);
          done++;
        }
        this.queue.splice(0, done);
        if (done < window.length) await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    } finally {
      this.pumping = false;
    }
  }
}
