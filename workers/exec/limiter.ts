// A FIFO counting semaphore. The SSH connection manager keeps two per worker:
// one for handshakes in flight (key exchange is the CPU-heavy part, and a
// burst of them also trips sshd's MaxStartups) and one for open connections.
// Waiters are served strictly in arrival order so a large rollout cannot
// starve the host that asked first.

/** Gives the slot back. Idempotent: calling it twice releases once. */
export type Release = () => void;

interface Waiter {
  resolve: (release: Release) => void;
  reject: (err: Error) => void;
}

export class FifoLimiter {
  #active = 0;
  readonly #queue: Waiter[] = [];
  #destroyed: Error | null = null;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be an integer >= 1, got ${limit}`);
  }

  /** Slots currently held. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a slot. */
  get pending(): number {
    return this.#queue.length;
  }

  get full(): boolean {
    return this.#active >= this.limit;
  }

  /** A slot now, or null when all are taken (does not queue). */
  tryAcquire(): Release | null {
    if (this.#destroyed || this.#active >= this.limit || this.#queue.length > 0) return null;
    this.#active++;
    return this.#releaser();
  }

  /** Wait (FIFO) for a slot. Rejects with the destroy error if the limiter is destroyed. */
  acquire(): Promise<Release> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (this.#destroyed) return Promise.reject(this.#destroyed);
    return new Promise((resolve, reject) => this.#queue.push({ resolve, reject }));
  }

  /** Fail every waiter; later acquires fail too. Held slots may still be released. */
  destroy(err: Error): void {
    this.#destroyed ??= err;
    for (const w of this.#queue.splice(0)) w.reject(err);
  }

  #releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      // Hand the slot straight to the next waiter (active count unchanged) so
      // a caller arriving between release and wake-up cannot jump the queue.
      const next = this.#queue.shift();
      if (next) next.resolve(this.#releaser());
      else this.#active--;
    };
  }
}
