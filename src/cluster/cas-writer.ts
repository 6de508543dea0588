// Compare-and-set writes to a KV bucket (a rollout's host claims and
// results), as a KV update is on the wire: a message on `$KV.<bucket>.<key>`
// with `Nats-Expected-Last-Subject-Sequence`, sent through acked-publish.ts.
// The writes of one event-loop turn go out as one window with one timer, not
// a NATS request each (a promise, a timer, an inbox entry and an `Error` per
// request in nats.js: two per host of a rollout on its owner). Nothing is
// retried here: a write whose ack did not come may have landed, and only the
// caller knows whether writing again over the same revision is right.
import type { AckedPublisher, Outgoing } from './acked-publish.js';

const ACK_TIMEOUT_MS = 5000;

interface Queued {
  item: Outgoing;
  resolve(revision: number): void;
  reject(err: Error): void;
}

export class CasWriter {
  #queued: Queued[] = [];
  #scheduled = false;

  constructor(
    private readonly acks: AckedPublisher,
    /** `$KV.<bucket>.` */
    private readonly prefix: string,
    private readonly timeoutMs = ACK_TIMEOUT_MS,
  ) {}

  /**
   * Store `data` under `key` if the key's last revision is `expected` (0: the
   * key was never written). Resolves with the new revision; rejects with
   * "wrong last sequence" (buckets.ts isWrongRevision) when it is not.
   */
  write(key: string, data: string, expected: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ item: { subject: this.prefix + key, data, expectedLastSubjectSeq: expected }, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => this.#send());
    });
  }

  #send(): void {
    this.#scheduled = false;
    const window = this.#queued;
    this.#queued = [];
    void this.acks.send(window.map((q) => q.item), this.timeoutMs).then((results) => {
      results.forEach((r, i) => (typeof r === 'number' ? window[i]!.resolve(r) : window[i]!.reject(r)));
    });
  }
}
