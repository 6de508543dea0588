// Callers waiting in order for a place that frees later (a shard's room,
// shard-room.ts; a cluster rollout's dispatch window, dispatch-window.ts).
// One whose signal aborts leaves the line and is told false. A rollout puts
// every host of a batch in line at once (tens of thousands on one signal), so
// leaving is O(1): the waiter is marked gone and skipped when its turn comes.
interface Waiter {
  grant: ((granted: boolean) => void) | null;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class WaitingLine {
  #line: Waiter[] = [];
  #head = 0;
  #waiting = 0;

  /** Callers still waiting (not served, not aborted). */
  get length(): number {
    return this.#waiting;
  }

  /** True once served, false if `signal` aborts first. */
  wait(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const w: Waiter = {
        grant: resolve,
        signal,
        onAbort: () => {
          if (!w.grant) return;
          w.grant = null;
          this.#waiting--;
          if (this.#waiting === 0) this.#compact();
          resolve(false);
        },
      };
      signal?.addEventListener('abort', w.onAbort, { once: true });
      this.#line.push(w);
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
      w.signal?.removeEventListener('abort', w.onAbort);
      take();
      grant(true);
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
