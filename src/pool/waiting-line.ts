// Callers waiting in order for a place that frees later (a shard's room,
// shard-room.ts; a cluster rollout's dispatch window, dispatch-window.ts).
// One whose signal aborts leaves the line and is told false.
interface Waiter {
  grant: (granted: boolean) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class WaitingLine {
  readonly #line: Waiter[] = [];

  get length(): number {
    return this.#line.length;
  }

  /** True once served, false if `signal` aborts first. */
  wait(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const w: Waiter = {
        grant: resolve,
        signal,
        onAbort: () => {
          const i = this.#line.indexOf(w);
          if (i >= 0) this.#line.splice(i, 1);
          resolve(false);
        },
      };
      signal?.addEventListener('abort', w.onAbort, { once: true });
      this.#line.push(w);
    });
  }

  /** Serve the first in line while `free()` says there is a place; `take()` marks each place taken before it is granted. */
  serve(free: () => boolean, take: () => void): void {
    while (this.#line.length > 0 && free()) {
      const w = this.#line.shift() as Waiter;
      w.signal?.removeEventListener('abort', w.onAbort);
      take();
      w.grant(true);
    }
  }
}
