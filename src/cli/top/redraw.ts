// Redraws are batched: however many events arrive, the screen is drawn at most
// once per `minIntervalMs` (default 100 ms, ~10 frames/s). A key press asks
// for an immediate frame. The clock is injectable so tests are exact.
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class RedrawScheduler {
  #last = -Infinity;
  #timer: unknown = null;
  #closed = false;
  frames = 0;
  readonly #draw: () => void;
  readonly #minIntervalMs: number;
  readonly #timers: Timers;

  constructor(draw: () => void, opts: { minIntervalMs?: number; timers?: Timers } = {}) {
    this.#draw = draw;
    this.#minIntervalMs = opts.minIntervalMs ?? 100;
    this.#timers = opts.timers ?? realTimers;
  }

  /** Something changed: draw now if the last frame is old enough, else once when it is. */
  request(): void {
    if (this.#closed || this.#timer !== null) return;
    const wait = this.#last + this.#minIntervalMs - this.#timers.now();
    if (wait <= 0) return this.now();
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      this.now();
    }, wait);
  }

  /** Draw at once (a key press), cancelling a pending batched frame. */
  now(): void {
    if (this.#closed) return;
    if (this.#timer !== null) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#last = this.#timers.now();
    this.frames++;
    this.#draw();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
