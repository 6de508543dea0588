// Callers waiting in order for a place that frees later (a shard's room,
// shard-room.ts; a cluster rollout's dispatch window, dispatch-window.ts).
// One whose signal aborts leaves the line and is told false. A rollout puts
// every host of a batch in line at once (tens of thousands on one signal), so
// leaving costs O(1) per waiter: it is marked gone and skipped when its turn
// comes. And the line listens once per signal, not once per waiter: Node's
// EventTarget looks through a signal's listeners on every add, so 30,000
// waiters with a listener each cost the coordinator of a 30,000-host rollout
// seconds of its thread at the start (quadratic), holding up every event.
interface Waiter {
  grant: ((granted: boolean) => void) | null;
  signal: AbortSignal | undefined;
}

interface Watched {
  /** Waiters still in line with this signal. */
  waiting: number;
  onAbort: () => void;
}

export class WaitingLine {
  #line: Waiter[] = [];
  #head = 0;
  #waiting = 0;
  readonly #signals = new Map<AbortSignal, Watched>();

  /** Callers still waiting (not served, not aborted). */
  get length(): number {
    return this.#waiting;
  }

  /** True once served, false if `signal` aborts first. */
  wait(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      if (signal) this.#watch(signal);
      this.#line.push({ grant: resolve, signal });
      this.#waiting++;
    });
  }

  /** Serve the first in line while `free()` says there is a place; `take()` marks each place taken before it is granted. */
  serve(free: () => boolean, take: () => void): void {
    while (this.#waiting > 0 && free()) {
      const w = this.#line[this.#head++];
      if (!w.grant) continue;
      const grant = w.grant;
      w.grant = null;
      this.#waiting--;
      if (w.signal) this.#unwatch(w.signal);
      take();
      grant(true);
    }
    this.#compact();
  }

  #watch(signal: AbortSignal): void {
    const known = this.#signals.get(signal);
    if (known) {
      known.waiting++;
      return;
    }
    const onAbort = () => this.#abort(signal);
    signal.addEventListener('abort', onAbort, { once: true });
    this.#signals.set(signal, { waiting: 1, onAbort });
  }

  /** A waiter with `signal` was served: the last one takes the listener away. */
  #unwatch(signal: AbortSignal): void {
    const watched = this.#signals.get(signal);
    if (!watched || --watched.waiting > 0) return;
    this.#signals.delete(signal);
    signal.removeEventListener('abort', watched.onAbort);
  }

  /** Everyone waiting on `signal` leaves the line, in line order, told false. */
  #abort(signal: AbortSignal): void {
    this.#signals.delete(signal);
    for (let i = this.#head; i < this.#line.length; i++) {
      const w = this.#line[i];
      if (!w.grant || w.signal !== signal) continue;
      const grant = w.grant;
      w.grant = null;
      this.#waiting--;
      grant(false);
    }
    this.#compact();
  }

  /** Drop what has been served or has left, once it is most of the array. */
  #compact(): void {
    if (this.#waiting === 0) {
      this.#line = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#line.length) {
      this.#line = this.#line.slice(this.#head).filter((w) => w.grant !== null);
      this.#head = 0;
    }
  }
}
