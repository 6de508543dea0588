// A bounded ring of the most recent stamped events, for `?since=<seq>`.
import type { StreamEvent, StreamEventType } from '../../common/schemas/stream.js';

export interface StampedEvent {
  seq: number;
  type: StreamEventType;
  host: string | null;
  event: StreamEvent;
  /** Serialized once, sent to every client as is. */
  json: string;
}

export class ReplayBuffer {
  readonly capacity: number;
  readonly #ring: Array<StampedEvent | undefined>;
  #next = 0;
  #count = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#ring = new Array(capacity);
  }

  push(e: StampedEvent): void {
    if (this.capacity === 0) return;
    this.#ring[this.#next] = e;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#count < this.capacity) this.#count++;
  }

  /** Oldest seq still held (0 when empty). */
  get oldestSeq(): number {
    if (this.#count === 0) return 0;
    const idx = (this.#next - this.#count + this.capacity) % this.capacity;
    return (this.#ring[idx] as StampedEvent).seq;
  }

  /**
   * Every event with seq > since, or null when the buffer no longer reaches
   * back that far, or has a seq missing on the way to lastSeq (a cluster
   * node skips a stream message that is no event): the caller must resync.
   */
  since(since: number, lastSeq: number): StampedEvent[] | null {
    if (since >= lastSeq) return [];
    if (this.#count === 0 || this.oldestSeq > since + 1) return null;
    const out: StampedEvent[] = [];
    let expected = since + 1;
    for (let i = 0; i < this.#count; i++) {
      const e = this.#ring[(this.#next - this.#count + i + this.capacity) % this.capacity] as StampedEvent;
      if (e.seq <= since) continue;
      if (e.seq !== expected) return null;
      out.push(e);
      expected++;
    }
    return expected === lastSeq + 1 ? out : null;
  }
}
