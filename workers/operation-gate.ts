// At most `limit` hosts of a shard run an operation at once (the SSH session
// cap, max_sessions_per_worker); the others wait here as names in a FIFO. A
// host that waited for its session slot deep inside its operation held its
// whole suspended call chain — actor loop, effect, operation, executor, pool
// waiter and their promises, about 6 KB — and a dry run over 100,000 hosts
// behind a cap of 8,000 per worker kept 42,000 of them per worker. A name in
// an array costs a pointer.

export class OperationGate {
  readonly #limit: number;
  readonly #wake: (name: string) => boolean;
  /** Names waiting, oldest first from #head (a queue without per-shift copying). */
  #queue: string[] = [];
  #head = 0;
  #running = 0;

  /**
   * `wake(name)`: the named host may run now. It answers true when it starts
   * (and calls leave() once done), false when it no longer wants to (removed,
   * interrupted, or queued twice): the place goes on to the next name.
   */
  constructor(limit: number, wake: (name: string) => boolean) {
    this.#limit = Math.max(1, limit);
    this.#wake = wake;
  }

  /** True: run now (and leave() when done). False: queued; `wake(name)` comes later. */
  enter(name: string): boolean {
    if (this.#running < this.#limit && this.waiting === 0) {
      this.#running++;
      return true;
    }
    this.#queue.push(name);
    return false;
  }

  /** An admitted operation ended: its place goes to the oldest waiting host that still wants it. */
  leave(): void {
    while (this.waiting > 0) {
      const name = this.#queue[this.#head++] as string;
      this.#compact();
      // The place passes straight on: #running stays the same.
      if (this.#wake(name)) return;
    }
    this.#running = Math.max(0, this.#running - 1);
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  #compact(): void {
    if (this.#head < 1024 || this.#head * 2 < this.#queue.length) return;
    this.#queue = this.#queue.slice(this.#head);
    this.#head = 0;
  }
}
