// Updates completed and failures per minute over the last hour, counted from
// the stream since the page opened (the daemon keeps no such series).
export const MINUTES = 60;

export class History {
  readonly completed = new Array<number>(MINUTES).fill(0);
  readonly failed = new Array<number>(MINUTES).fill(0);
  /** The minute (epoch minutes) the last slot stands for. */
  #head = Math.floor(Date.now() / 60_000);

  add(kind: 'completed' | 'failed', ts: string): void {
    const minute = Math.floor(Date.parse(ts) / 60_000);
    this.advance(minute);
    const slot = MINUTES - 1 - (this.#head - minute);
    if (slot >= 0 && slot < MINUTES) this[kind][slot]++;
  }

  /** Shift the window so its last slot is `minute` (older slots fall off). */
  advance(minute = Math.floor(Date.now() / 60_000)): void {
    const shift = minute - this.#head;
    if (shift <= 0) return;
    for (const a of [this.completed, this.failed]) {
      a.splice(0, Math.min(shift, MINUTES));
      while (a.length < MINUTES) a.push(0);
    }
    this.#head = minute;
  }
}
