// How many of this shard's operations wait for a connection (an SSH handshake
// slot, a session, the shard's session cap), and how many command tasks the
// shard has handled, told to the front with the batches it posts. The front
// starts a rollout's hosts only while the shard has room
// (src/pool/shard-room.ts): a host then moves to `querying` when it can
// connect, not all of a 10,000-host batch in the same second.
import type { BacklogMessage } from '../common/thread-protocol.js';

/** How soon the count is looked at again while operations wait (it falls as handshakes end, with nothing else to post). */
const RECHECK_MS = 10;

export class ShardBacklog {
  readonly #shard: number;
  readonly #waiting: () => number;
  readonly #changed: () => void;
  #handled = 0;
  #toldWaiting = 0;
  #toldHandled = 0;
  #recheck: NodeJS.Timeout | null = null;

  /** `waiting`: operations waiting for a connection now; `changed`: have a batch posted (it calls take()). */
  constructor(shard: number, waiting: () => number, changed: () => void) {
    this.#shard = shard;
    this.#waiting = waiting;
    this.#changed = changed;
  }

  /** A command task reached the shard (counted whatever its answer). */
  commandHandled(): void {
    this.#handled++;
    this.#changed();
  }

  /** The message for the batch going out now, when anything changed since the last one told. */
  take(): BacklogMessage | null {
    const waiting = this.#waiting();
    this.#watch(waiting);
    if (waiting === this.#toldWaiting && this.#handled === this.#toldHandled) return null;
    this.#toldWaiting = waiting;
    this.#toldHandled = this.#handled;
    return { kind: 'backlog', shard: this.#shard, waiting, handled: this.#handled };
  }

  stop(): void {
    if (this.#recheck) clearTimeout(this.#recheck);
    this.#recheck = null;
  }

  #watch(waiting: number): void {
    if (waiting === 0 || this.#recheck) return;
    this.#recheck = setTimeout(() => {
      this.#recheck = null;
      const now = this.#waiting();
      if (now !== this.#toldWaiting) this.#changed();
      else this.#watch(now);
    }, RECHECK_MS);
    this.#recheck.unref();
  }
}
