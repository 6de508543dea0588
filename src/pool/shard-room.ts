// Room on a shard for one more of a rollout's hosts. A rollout used to send
// every host of a batch at once: each moved to `querying` on the command and
// then waited inside its operation for a handshake slot, so a 10,000-host
// batch sent 20,000 events in its first second and clients' events queued
// behind them for seconds. Now a rollout asks for room first: a shard has
// room while fewer than `limit` of its operations wait for a connection
// (as its worker last told, workers/shard-backlog.ts) counting the commands
// sent to it that it has not handled yet and the rooms granted and not yet
// used. Hosts then start about as fast as they can connect, and a rollout's
// waiting hosts stay idle (a cancel still reaches them).
import type { BacklogMessage } from '../../common/thread-protocol.js';
import { WaitingLine } from './waiting-line.js';

class Shard {
  waiting = 0;
  handled = 0;
  sent = 0;
  /** Rooms granted whose command has not been sent yet. */
  reserved = 0;
  readonly line = new WaitingLine();

  load(): number {
    return this.waiting + Math.max(0, this.sent - this.handled) + this.reserved;
  }
}

export class ShardRoom {
  readonly #limit: number;
  readonly #shards = new Map<number, Shard>();

  /** `limit`: operations a shard may have waiting for a connection (its handshake slots: a queue as deep as the slots keeps them busy). */
  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /**
   * True: room now, reserved for one command (sent with `reserved`, or given
   * back with release()). Otherwise a promise: true once reserved, false if
   * `signal` aborts first. Waiters are served in order.
   */
  take(shard: number, signal?: AbortSignal): true | Promise<boolean> {
    const s = this.#shard(shard);
    if (s.line.length === 0 && s.load() < this.#limit) {
      s.reserved++;
      return true;
    }
    return s.line.wait(signal);
  }

  /** A command task goes to the shard; `reserved`: it uses a room take() granted. */
  sent(shard: number, reserved: boolean): void {
    const s = this.#shard(shard);
    s.sent++;
    if (reserved) s.reserved = Math.max(0, s.reserved - 1);
  }

  /** A granted room that will not be used. */
  release(shard: number): void {
    const s = this.#shard(shard);
    s.reserved = Math.max(0, s.reserved - 1);
    this.#serve(s);
  }

  /** What the shard's worker last told. */
  report(m: BacklogMessage): void {
    const s = this.#shard(m.shard);
    s.waiting = m.waiting;
    s.handled = m.handled;
    this.#serve(s);
  }

  /** The shard's worker was replaced: its counts start again, and whoever waits goes on. */
  reset(shard: number): void {
    const s = this.#shard(shard);
    s.waiting = 0;
    s.handled = 0;
    s.sent = 0;
    this.#serve(s);
  }

  #serve(s: Shard): void {
    s.line.serve(
      () => s.load() < this.#limit,
      () => s.reserved++,
    );
  }

  #shard(shard: number): Shard {
    let s = this.#shards.get(shard);
    if (!s) this.#shards.set(shard, (s = new Shard()));
    return s;
  }
}
