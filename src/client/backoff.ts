// Reconnect delays: exponential with full jitter, so a daemon restart does not
// bring every dashboard and CLI back in the same millisecond.
export interface BackoffOptions {
  minMs?: number;
  maxMs?: number;
  random?: () => number;
}

export class Backoff {
  readonly #min: number;
  readonly #max: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(o: BackoffOptions = {}) {
    this.#min = o.minMs ?? 250;
    this.#max = o.maxMs ?? 10_000;
    this.#random = o.random ?? Math.random;
  }

  /** The next delay: between min and min·2^attempt (capped at max). */
  next(): number {
    const ceiling = Math.min(this.#max, this.#min * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(this.#min + this.#random() * (ceiling - this.#min));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
